// What beckon costs from Node.js through koffi: creating an engine (small
// and default options) and the per-call cost of observe and decide.
//
//   node bindings/node/bench/bench.js [--quick] [REDIS_URL]
//
// The library is found as the package finds it ($BECKON_LIBRARY, the
// source tree's build/, or libbeckon_c.so.0). With a Redis URL (use a key
// prefix nobody else writes under: ?prefix=bench:) the observe and decide
// rows are measured over Redis too. The figures are in docs/node.md.
'use strict';

const beckon = require('..');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const redisUrl = args.find((a) => !a.startsWith('--')) || null;
const scale = quick ? 0.02 : 1;

beckon.load();
const T0 = 1700000000000;

// Runs f(i) for i in [0, n) after a warm-up; returns microseconds per call
// (the median of `rounds` rounds).
function measure(n, f, rounds = 5) {
  n = Math.max(1, Math.round(n * scale));
  for (let i = 0; i < Math.min(n, 1000); ++i) f(i);
  const per = [];
  let base = 1000;
  for (let r = 0; r < rounds; ++r) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; ++i) f(base + i);
    per.push(Number(process.hrtime.bigint() - t) / 1000 / n);
    base += n;
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const rows = [];
function row(what, us) {
  rows.push([what, us]);
  const text = us < 10 ? us.toFixed(2) : us < 1000 ? us.toFixed(1)
                                                   : us.toFixed(0);
  console.log(`${what.padEnd(72)} ${text.padStart(9)} µs`);
}

console.log(`beckon ${beckon.version()} from ${beckon.libraryPath()}, ` +
            `node ${process.version}, koffi ` +
            `${require('koffi').version}`);

// The cost of a koffi call itself: a function that does nothing.
row('koffi call of beckon_abi_version() (FFI overhead)',
    measure(1e6, () => beckon.abiVersion()));

const policy = beckon.Policy.default();
const policyBytes = policy.toBytes();
row('Policy.fromBytes(default policy) + close',
    measure(2e4, () => beckon.Policy.fromBytes(policyBytes).close()));

const smallOptions = {maxSessions: 16, maxMemoryRecords: 16, shards: 1,
                      policy};
// The same count for each size, so that the garbage collector's share is
// the same.
row('new Engine({maxSessions: 16, maxMemoryRecords: 16, shards: 1}) + close',
    measure(5000, () => new beckon.Engine(smallOptions).close()));
row('new Engine({maxSessions: 100000, shards: 16}) + close',
    measure(5000, () => new beckon.Engine({maxSessions: 100000, shards: 16,
                                           policy}).close()));
row('new Engine() (defaults: 1M sessions, 64 shards) + close',
    measure(5000, () => new beckon.Engine({policy}).close()));

// An engine per request: created, one event and one decision, closed.
function perRequest(options) {
  return (i) => {
    const e = new beckon.Engine(options);
    const t = T0 + i;
    e.pageView(t, `visitor-${i % 1000}`, '/checkout/address');
    e.decide(`visitor-${i % 1000}`, t);
    e.close();
  };
}
row('per request, small: new Engine + pageView + decide + close',
    measure(5000, perRequest(smallOptions)));
row('per request, defaults: new Engine + pageView + decide + close',
    measure(5000, perRequest({policy})));
if (redisUrl) {
  row('per request, redis: new Engine + pageView + decide + close',
      measure(2000, perRequest({store: {redis: redisUrl}, policy})));
}

// `calls` scales the number of calls (fewer over Redis: round trips).
function hotPath(label, options, calls = 1) {
  const engine = new beckon.Engine(options);
  engine.agents(T0, 3);
  const visitors = 10000;
  const ids = Array.from({length: visitors}, (_, i) => `visitor-${i}`);
  let clock = T0;
  // Time moves forward one millisecond per call: no event is rejected.
  row(`${label}pageView (10,000 visitors)`,
      measure(calls * 2e5, (i) => engine.pageView(++clock, ids[i % visitors],
                                          '/p/4711')));
  row(`${label}decide (scalars only)`,
      measure(calls * 2e5, (i) => engine.decide(ids[i % visitors], ++clock)));
  row(`${label}decide + reasons()`,
      measure(calls * 1e5,
              (i) => engine.decide(ids[i % visitors], ++clock).reasons()));
  row(`${label}pageView + decide (one request)`,
      measure(calls * 1e5, (i) => {
        const v = ids[i % visitors];
        const t = ++clock;
        engine.pageView(t, v, '/checkout/address');
        return engine.decide(v, t);
      }));
  const s = engine.stats();
  if (s.eventsRejected !== 0) throw new Error('events were rejected');
  engine.close();
}

hotPath('memory: ', {maxSessions: 100000, shards: 16, policy});
if (redisUrl) {
  hotPath('redis:  ', {store: {redis: redisUrl}, policy, visitorKey: [1, 2]},
          0.02);
}
policy.close();
