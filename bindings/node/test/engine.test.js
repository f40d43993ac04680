// Engine: every event kind, decisions through the gates, options, expiry,
// snapshot and restore, and the counters.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {beckon, T0, SEC, MIN, DAY, stuck, tempDir, editedPolicy} =
    require('./helpers');
const {Engine} = beckon;

const small = {maxSessions: 1000, maxMemoryRecords: 1000, shards: 1};

test('every event kind is observed and counted', () => {
  const e = new Engine(small);
  e.agents(T0, 2);
  e.pageView(T0, 'v', '/', 'https://example.org/');
  e.pageView(T0 + SEC, 'v', '/p/1', null);
  e.search(T0 + 2 * SEC, 'v', '/search?q=x', 5);
  e.cart(T0 + 3 * SEC, 'v', '/p/1', 19.5);
  e.helpContact(T0 + 4 * SEC, 'v', '/help', 'email');
  e.offerShown(T0 + 5 * SEC, 'v', '/p/1');
  e.offerAccepted(T0 + 6 * SEC, 'v', '/p/1', 'chat');
  e.offerIgnored(T0 + 7 * SEC, 'v', '/p/1', 2);  // A channel by number.
  e.offerDeclined(T0 + 8 * SEC, 'v', '/p/1', 'call');
  e.purchase(T0 + 9 * SEC, 'v', '/checkout/done', 19.5);
  // The same through observe(), with the event log's type names.
  e.observe({type: 'agents', tsMs: T0 + 10 * SEC, freeAgents: 1});
  e.observe({type: 'page_view', tsMs: T0 + 10 * SEC, visitor: 'w', page: '/'});
  e.observe({type: 'search', tsMs: T0 + 11 * SEC, visitor: 'w',
             page: '/search?q=y', results: 0});
  e.observe({type: 'cart', tsMs: T0 + 12 * SEC, visitor: 'w', cartValue: 5});
  e.observe({type: 'purchase', tsMs: T0 + 13 * SEC, visitor: 'w',
             orderValue: 5});
  e.observe({type: 'help_contact', tsMs: T0 + 14 * SEC, visitor: 'w',
             channel: 'form'});
  for (const type of ['offer_shown', 'offer_accepted', 'offer_ignored',
                      'offer_declined']) {
    e.observe({type, tsMs: T0 + 15 * SEC, visitor: 'w'});
  }
  assert.throws(() => e.observe({type: 'click', tsMs: T0, visitor: 'w'}),
                {code: 'INVALID_ARGUMENT', message: /unknown event type/});
  const s = e.stats();
  assert.equal(s.eventsObserved, 19);  // Visitor events: agents are not.
  assert.equal(s.eventsRejected, 0);
  assert.equal(s.sessionsStarted, 2);
  assert.equal(s.liveSessions, 2);
  e.close();
});

test('a stuck visitor is offered help, once; a decline is remembered', () => {
  const e = new Engine(small);
  const {decision, at} = stuck(e, 'anna');
  assert.equal(decision.action, 'offer');
  assert.equal(decision.offer, true);
  assert.equal(decision.reason, 'score');
  assert.ok(decision.probability >= decision.threshold);
  // The offer is recorded: at most one per session (the default policy).
  const again = e.decide('anna', at + MIN);
  assert.equal(again.action, 'suppress');
  e.offerShown(at + SEC, 'anna', '/help/returns');
  e.offerDeclined(at + 5 * SEC, 'anna', '/help/returns');
  const after = e.decide('anna', at + 10 * SEC);
  assert.equal(after.action, 'suppress');
  assert.equal(after.reason, 'declined');
  // A week later, a new session: still the decline cooldown (30 days).
  e.pageView(at + 7 * DAY, 'anna', '/checkout/payment');
  const week = e.decide('anna', at + 7 * DAY + 10 * MIN);
  assert.equal(week.action, 'suppress');
  assert.equal(week.reason, 'declined');
  assert.match(week.reasons().join('\n'), /declined an offer 7 d ago/);
  e.close();
});

test('no free agent suppresses; an unknown visitor waits', () => {
  const e = new Engine(small);
  e.agents(T0, 0);
  e.pageView(T0, 'carl', '/checkout/address');
  e.pageView(T0 + SEC, 'carl', '/checkout/address');
  const d = e.decide('carl', T0 + 13 * MIN);
  assert.equal(d.action, 'suppress');
  assert.equal(d.reason, 'no_agents');
  const u = e.decide('nobody', T0);
  assert.equal(u.action, 'wait');
  assert.equal(u.reason, 'no_session');
  assert.equal(u.recheckAtMs, null);
  e.close();
});

test('a holdout visitor is suppressed with wouldOffer', () => {
  const p = editedPolicy((t) => t.replace(/holdout_fraction: [0-9.]+/,
                                          'holdout_fraction: 0.999'));
  const e = new Engine({policy: p, ...small});
  const {decision} = stuck(e, 'anna');
  assert.equal(decision.action, 'suppress');
  assert.equal(decision.reason, 'holdout');
  assert.equal(decision.wouldOffer, true);
  e.close();
});

test('timestamps may be bigints', () => {
  const e = new Engine(small);
  e.pageView(BigInt(T0), 'v', '/');
  const d = e.decide('v', BigInt(T0 + SEC));
  assert.equal(d.action, 'wait');
  e.close();
});

test('options: sizes, shards and URL caps are the C ABI\'s', () => {
  new Engine({maxSessions: 1, maxMemoryRecords: 1, shards: 1}).close();
  new Engine({maxSessions: 2n ** 20n, shards: 4096}).close();
  new Engine({store: 'memory'}).close();
  assert.throws(() => new Engine({shards: 3}),
                {code: 'INVALID_ARGUMENT', message: /shards/});
  assert.throws(() => new Engine({maxSessions: 0}),
                {code: 'INVALID_ARGUMENT', message: /max_sessions/});
  assert.throws(() => new Engine({maxSessions: -1}),
                {code: 'INVALID_ARGUMENT', message: /maxSessions/});
  assert.throws(() => new Engine({maxSesions: 10}),
                {code: 'INVALID_ARGUMENT', message: /unknown engine option/});
  assert.throws(() => new Engine({store: 'redis'}),
                {code: 'INVALID_ARGUMENT', message: /store/});
  assert.throws(() => new Engine({store: {redis: 'http://x'}}),
                beckon.InvalidArgumentError);
  assert.throws(() => new Engine(null), {code: 'INVALID_ARGUMENT'});

  const e = new Engine({...small, maxUrlBytes: 20, maxReferrerBytes: 10});
  e.pageView(T0, 'v', '/p/12345678901234');  // 17 bytes.
  assert.throws(() => e.pageView(T0, 'v', '/p/123456789012345678901'),
                {code: 'INVALID_ARGUMENT', message: /at most 20/});
  assert.throws(() => e.pageView(T0, 'v', '/', 'https://example.org/'),
                {code: 'INVALID_ARGUMENT', message: /referrer/});
  // A decline is never lost to a long URL.
  e.offerDeclined(T0, 'v', '/p/' + 'x'.repeat(100));
  e.close();
});

test('sessions beyond maxSessions are evicted', () => {
  const e = new Engine({maxSessions: 4, shards: 1});
  for (let i = 0; i < 10; ++i) e.pageView(T0 + i, `v${i}`, '/');
  const s = e.stats();
  assert.ok(s.liveSessions <= 4, `${s.liveSessions} live`);
  assert.ok(s.sessionsEvicted >= 6);
  e.close();
});

test('expire drops idle sessions', () => {
  const e = new Engine(small);
  e.pageView(T0, 'a', '/');
  e.pageView(T0, 'b', '/');
  assert.equal(e.stats().liveSessions, 2);
  e.expire(T0 + DAY);
  const s = e.stats();
  assert.equal(s.liveSessions, 0);
  assert.equal(s.sessionsExpired, 2);
  e.close();
});

test('snapshot and restore carry sessions and declines', () => {
  const key = [0x0123456789abcdefn, 42];
  const a = new Engine({...small, visitorKey: key});
  const {at} = stuck(a, 'anna');
  a.offerDeclined(at + SEC, 'anna', '/help/returns');
  a.pageView(at, 'ben', '/c/shoes');
  const snap = a.snapshot();
  assert.ok(Buffer.isBuffer(snap) && snap.length > 0);
  a.close();

  const b = new Engine({...small, visitorKey: key});
  b.restore(snap);
  let s = b.stats();
  assert.equal(s.liveSessions, 2);
  assert.equal(s.memoryRecords, 1);
  assert.equal(b.decide('anna', at + 2 * SEC).reason, 'declined');

  // Through a file.
  const file = path.join(tempDir(), 'state.snapshot');
  b.snapshotToFile(file);
  assert.deepEqual(fs.readFileSync(file), b.snapshot());
  const c = new Engine({...small, visitorKey: key});
  c.restoreFromFile(file);
  assert.equal(c.stats().liveSessions, 2);
  b.close();
  c.close();
});

test('a snapshot restores only with the same visitor key', () => {
  const a = new Engine({...small, visitorKey: [1, 2]});
  a.pageView(T0, 'v', '/');
  const snap = a.snapshot();
  const other = new Engine({...small, visitorKey: [3, 4]});
  assert.throws(() => other.restore(snap), beckon.FailedPreconditionError);
  assert.equal(other.stats().liveSessions, 0, 'nothing changed');
  // Malformed snapshots are DataLossError; nothing changes.
  const same = new Engine({...small, visitorKey: [1, 2]});
  same.pageView(T0, 'w', '/');
  const cut = snap.subarray(0, snap.length - 3);
  assert.throws(() => same.restore(cut), {code: 'DATA_LOSS'});
  assert.throws(() => same.restore(Buffer.from('garbage')),
                beckon.DataLossError);
  assert.equal(same.stats().liveSessions, 1);
  assert.throws(() => same.restore('not bytes'), {code: 'INVALID_ARGUMENT'});
  assert.throws(() => same.restoreFromFile('/nonexistent/snap'),
                {code: 'NOT_FOUND'});
  assert.throws(() => new Engine({visitorKey: 'abc'}),
                {code: 'INVALID_ARGUMENT', message: /visitorKey/});
  for (const e of [a, other, same]) e.close();
});

test('a visitor key file is created (0600) and shared by engines', () => {
  const file = path.join(tempDir(), 'visitor.key');
  const a = new Engine({...small, visitorKeyFile: file});
  assert.match(fs.readFileSync(file, 'utf8').trim(), /^[0-9a-f]{32}$/);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  a.pageView(T0, 'v', '/');
  const b = new Engine({...small, visitorKeyFile: file});
  b.restore(a.snapshot());  // The same key: accepted.
  assert.equal(b.stats().liveSessions, 1);
  fs.chmodSync(file, 0o644);
  assert.throws(() => new Engine({visitorKeyFile: file}),
                beckon.BeckonError);
  assert.throws(() => new Engine({visitorKeyFile: file,
                                  visitorKey: [1, 2]}),
                {code: 'INVALID_ARGUMENT'});
  a.close();
  b.close();
});

test('stats count decisions by action and reason', () => {
  const e = new Engine(small);
  stuck(e, 'anna');
  e.decide('nobody', T0);
  const s = e.stats();
  assert.equal(s.decisionsByAction.offer, 1);
  assert.ok(s.decisionsByAction.wait >= 2);
  assert.equal(s.decisionsByAction.suppress, 0);
  assert.equal(s.decisionsByReason.score, 1);
  assert.equal(s.decisionsByReason.no_session, 1);
  assert.deepEqual(Object.keys(s.decisionsByReason), beckon.REASONS);
  assert.equal(s.storeRoundTrips, 0);
  assert.equal(s.storeErrors, 0);
  e.close();
});

test('engines that are never closed are freed when collected', async () => {
  // Many default-size engines would hold gigabytes if they leaked.
  const {setFlagsFromString} = require('node:v8');
  const {runInNewContext} = require('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  for (let i = 0; i < 200; ++i) {
    const e = new Engine({maxSessions: 100000, shards: 16});
    e.pageView(T0, 'v', '/');
    e.decide('v', T0);
  }
  for (let i = 0; i < 5; ++i) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(process.memoryUsage().rss < 2 * 1024 ** 3);
});

test('worker threads load the package and run engines of their own',
     async () => {
  const {Worker} = require('node:worker_threads');
  const script = `
    const {workerData, parentPort} = require('node:worker_threads');
    const beckon = require(workerData.pkg);
    beckon.load(workerData.lib);
    const e = new beckon.Engine({maxSessions: 100, shards: 1});
    e.pageView(workerData.t, 'v', '/help/returns');
    const d = e.decide('v', workerData.t + 1000);
    parentPort.postMessage({reason: d.reason, live: e.stats().liveSessions,
                            text: d.reasons()[0]});
    e.close();`;
  const runs = [1, 2, 3].map(() => new Promise((resolve, reject) => {
    const w = new Worker(script, {eval: true, workerData: {
      pkg: path.join(__dirname, '..'), lib: beckon.libraryPath(), t: T0}});
    w.once('message', resolve);
    w.once('error', reject);
  }));
  for (const r of await Promise.all(runs)) {
    assert.equal(r.reason, 'dwell');
    assert.equal(r.live, 1);
    assert.match(r.text, /dwell 1 s/);
  }
});

test('setPolicy keeps the visitors; decisions and metrics name the policy', () => {
  const e = new Engine(small);
  const {at} = stuck(e, 'v', T0);
  const before = e.decide('v', at + SEC);
  assert.equal(before.policyName, 'beckon-default');
  assert.match(before.policyVersion, /^[0-9a-f]{16}$/);
  const swapped = editedPolicy(
      (t) => t.replace('name: "beckon-default"', 'name: "swapped"'));
  e.setPolicy(swapped);
  const after = e.decide('v', at + 2 * SEC);
  assert.equal(after.policyName, 'swapped');
  assert.notEqual(after.policyVersion, before.policyVersion);
  assert.equal(e.stats().liveSessions, 1);
  const bad = editedPolicy((t) => t.replace('timeout_s: 1800', 'timeout_s: 900'));
  assert.throws(() => e.setPolicy(bad),
                (err) => err.code === 'FAILED_PRECONDITION' &&
                         /timeout_s/.test(err.message));
  assert.throws(() => e.setPolicy('default'), /setPolicy takes a Policy/);
  const metrics = e.metricsText();
  assert.match(metrics, /# TYPE beckon_decisions_total counter\n/);
  assert.match(metrics, /policy="swapped"/);
  e.close();
});

test('the decision log gets one JSON line per decision', () => {
  const file = path.join(tempDir(), 'decisions.jsonl');
  const e = new Engine({...small, decisionLog: file});
  e.decide('nobody', T0);
  e.decide('nobody', T0 + 1);
  e.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[0]).reason, 'no_session');
  assert.equal(JSON.parse(lines[1]).ts_ms, T0 + 1);
});
