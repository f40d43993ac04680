// The Redis store: engines in several processes (a Node cluster's
// workers) sharing their visitors through one Redis. Needs the private
// redis-server of tests/redis/with_redis.sh (BECKON_TEST_REDIS_URL); the
// live cases say skipped without it. The cases that need no server (URL
// parsing, an unreachable Redis) always run when the library has the Redis
// store.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {fork} = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const {beckon, T0, SEC, MIN, DAY, stuck, redisUrl, REDIS_SKIP} =
    require('./helpers');
const {Engine} = beckon;

// Whether this libbeckon_c has the Redis store (BECKON_TEST_HAVE_REDIS from
// ctest; else found out: a library without it answers UNIMPLEMENTED).
function libraryHasRedis() {
  if (process.env.BECKON_TEST_HAVE_REDIS !== undefined) {
    return process.env.BECKON_TEST_HAVE_REDIS === '1';
  }
  try {
    new Engine({store: {redis: 'redis://127.0.0.1:1/0?connect_timeout_ms=10'}})
        .close();
    return true;
  } catch (e) {
    // UNAVAILABLE (nothing listens there) means the store exists.
    return e.code !== 'UNIMPLEMENTED';
  }
}
const HAVE_REDIS = libraryHasRedis();
const NO_STORE = HAVE_REDIS ? false
    : 'this libbeckon_c was built without the Redis store (no hiredis)';
const live = NO_STORE || (redisUrl('x') === null ? REDIS_SKIP : false);

test('a library without the Redis store says UNIMPLEMENTED',
     {skip: HAVE_REDIS && 'the library has the Redis store'}, () => {
  assert.throws(() => new Engine({store: {redis: 'redis://127.0.0.1/0'}}),
                beckon.UnimplementedError);
});

test('bad Redis URLs are InvalidArgumentError naming the problem',
     {skip: NO_STORE}, () => {
  for (const [url, message] of [
    ['http://127.0.0.1/', /redis/i],
    ['redis://127.0.0.1:99999/0', /port/i],
    ['redis://127.0.0.1/0?nonsense=1', /nonsense/],
    ['redis://127.0.0.1/0?command_timeout_ms=abc', /command_timeout_ms/],
  ]) {
    assert.throws(() => new Engine({store: {redis: url}}),
                  (e) => e instanceof beckon.InvalidArgumentError &&
                         message.test(e.message), url);
  }
});

// A loopback port nothing listens on.
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('an unreachable Redis: never an offer, events are UnavailableError',
     {skip: NO_STORE}, async () => {
  const port = await closedPort();
  const redis = `redis://127.0.0.1:${port}/0?connect_timeout_ms=50&` +
                'command_timeout_ms=50';
  // Without a visitor key the engine needs the fleet's, kept in Redis.
  assert.throws(() => new Engine({store: {redis}}),
                {code: 'UNAVAILABLE', message: /visitor key/});
  // With one it is created, and answers as Redis is down.
  const e = new Engine({store: {redis}, visitorKey: [1, 2]});
  assert.ok(e.usesRedis);
  const d = e.decide('v', T0);
  assert.equal(d.action, 'suppress');
  assert.equal(d.reason, 'store_unavailable');
  assert.throws(() => e.pageView(T0, 'v', '/'), beckon.UnavailableError);
  assert.throws(() => e.offerDeclined(T0, 'v', '/'), {code: 'UNAVAILABLE'});
  assert.throws(() => e.snapshot(), {code: 'UNAVAILABLE'});
  assert.ok(e.stats().storeErrors >= 1);
  e.close();
});

test('two engines over one Redis share their visitors', {skip: live}, () => {
  const url = redisUrl('shared');
  const a = new Engine({store: {redis: url}});
  const b = new Engine({store: {redis: url}});
  const {decision, at} = stuck(a, 'anna');
  assert.equal(decision.action, 'offer');
  // b sees the offer a made (one per session) ...
  assert.equal(b.decide('anna', at + SEC).action, 'suppress');
  // ... and a decline reported to b suppresses in a, for weeks.
  b.offerDeclined(at + 2 * SEC, 'anna', '/help/returns');
  a.pageView(at + 7 * DAY, 'anna', '/checkout/payment');
  const d = a.decide('anna', at + 7 * DAY + 10 * MIN);
  assert.equal(d.action, 'suppress');
  assert.equal(d.reason, 'declined');
  // Time order holds across engines.
  assert.throws(() => b.pageView(at, 'anna', '/'), {code: 'INVALID_ARGUMENT'});
  const s = a.stats();
  assert.ok(s.storeRoundTrips > 0);
  assert.equal(s.storeErrors, 0);
  a.close();
  b.close();
  // The state is in Redis: a new engine (a restarted process) sees it.
  const c = new Engine({store: {redis: url}});
  assert.equal(c.decide('anna', at + 7 * DAY + 11 * MIN).reason, 'declined');
  c.close();
});

test('a snapshot of an in-memory engine restores into Redis and back',
     {skip: live}, () => {
  const key = [7, 11];
  const mem = new Engine({maxSessions: 100, shards: 1, visitorKey: key});
  const {at} = stuck(mem, 'anna');
  mem.offerDeclined(at + SEC, 'anna', '/help/returns');
  const snap = mem.snapshot();
  mem.close();
  const url = redisUrl('migrate');
  const r = new Engine({store: {redis: url}, visitorKey: key});
  r.restore(snap);
  assert.equal(r.decide('anna', at + 2 * SEC).reason, 'declined');
  const back = new Engine({maxSessions: 100, shards: 1, visitorKey: key});
  back.restore(r.snapshot());
  assert.equal(back.decide('anna', at + 3 * SEC).reason, 'declined');
  r.close();
  back.close();
});

test('a worker thread\'s engine sees the main thread\'s visitors',
     {skip: live}, async () => {
  const {Worker} = require('node:worker_threads');
  const url = redisUrl('threads');
  const main = new Engine({store: {redis: url}});
  const {at} = stuck(main, 'anna');
  main.offerDeclined(at + SEC, 'anna', '/help/returns');
  const script = `
    const {workerData, parentPort} = require('node:worker_threads');
    const beckon = require(workerData.pkg);
    beckon.load(workerData.lib);
    const e = new beckon.Engine({store: {redis: workerData.url}});
    parentPort.postMessage(e.decide('anna', workerData.at).reason);
    e.close();`;
  const reason = await new Promise((resolve, reject) => {
    const w = new Worker(script, {eval: true, workerData: {
      pkg: path.join(__dirname, '..'), lib: beckon.libraryPath(), url,
      at: at + 2 * SEC}});
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(reason, 'declined');
  main.close();
});

// A worker process and a way to ask it.
function startWorker(url) {
  const child = fork(path.join(__dirname, 'redis_worker.js'), [url],
                     {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  let next = 0;
  const waiting = new Map();
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    child.on('message', (m) => {
      if (m.ready) return resolve();
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.decision);
      else w.reject(Object.assign(new Error(m.message), {code: m.code}));
    });
  });
  const ask = (m) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, {resolve, reject});
    child.send({...m, id});
  });
  return {
    ready,
    event: (event) => ask({op: 'event', event}),
    decide: (visitor, nowMs) => ask({op: 'decide', visitor, nowMs}),
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({op: 'exit'});
    }),
  };
}

test('cluster workers (separate processes) decide as one engine does',
     {skip: live, timeout: 60000}, async () => {
  const url = redisUrl('cluster');
  const workers = [startWorker(url), startWorker(url), startWorker(url)];
  await Promise.all(workers.map((w) => w.ready));
  // The reference: the same requests on one in-memory engine.
  const ref = new Engine({maxSessions: 1000, shards: 1});
  let round = 0;
  const pick = () => workers[round++ % workers.length];  // Round robin.
  const both = async (event) => {
    ref.observe(event);
    await pick().event(event);
  };
  const ask = async (visitor, nowMs) => {
    const want = ref.decide(visitor, nowMs).toJSON();
    const got = await pick().decide(visitor, nowMs);
    assert.deepEqual(got, want, `${visitor} at ${nowMs - T0} ms`);
    return got;
  };
  await both({type: 'agents', tsMs: T0, freeAgents: 3});
  for (let v = 0; v < 12; ++v) {
    const visitor = `visitor-${v}`;
    const t = T0 + v * SEC;
    await both({type: 'page_view', tsMs: t, visitor, page: '/',
                referrer: 'https://www.google.com/search?q=shop'});
    await both({type: 'search', tsMs: t + 60 * SEC, visitor,
                page: '/search?q=returns', results: 0});
    await both({type: 'page_view', tsMs: t + 90 * SEC, visitor,
                page: v % 2 ? '/help/returns' : '/c/shoes'});
    let d = await ask(visitor, t + 100 * SEC);
    let at = t + 100 * SEC;
    while (d.action === 'wait' && d.recheckAtMs !== null) {
      at = d.recheckAtMs;
      d = await ask(visitor, at);
    }
    if (d.action === 'offer') {
      await both({type: 'offer_shown', tsMs: at + SEC, visitor});
      await both({type: v % 4 === 1 ? 'offer_declined' : 'offer_ignored',
                  tsMs: at + 5 * SEC, visitor});
      await ask(visitor, at + 10 * SEC);
    }
  }
  // A week later, every visitor once more: the declines are remembered.
  for (let v = 0; v < 12; ++v) {
    const visitor = `visitor-${v}`;
    await both({type: 'agents', tsMs: T0 + 7 * DAY + v, freeAgents: 3});
    await both({type: 'page_view', tsMs: T0 + 7 * DAY + v, visitor,
                page: '/checkout/payment'});
    await ask(visitor, T0 + 7 * DAY + 20 * MIN);
  }
  const s = ref.stats();
  assert.ok(s.decisionsByAction.offer >= 3, JSON.stringify(s));
  assert.ok(s.decisionsByReason.declined >= 3, JSON.stringify(s));
  ref.close();
  await Promise.all(workers.map((w) => w.stop()));
});
