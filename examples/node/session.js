// A Node.js host of beckon through its npm package (bindings/node): plays
// the same visitor sessions as examples/c/session.c and prints the same
// lines.
//
//   scripts/setup-node.sh     # once: koffi into bindings/node/node_modules,
//                             # the package linked into examples/node
//   node examples/node/session.js [path/to/libbeckon_c.so [REDIS_URL]]
//
// The library is found as the first argument, else $BECKON_LIB, else as
// the package finds it ($BECKON_LIBRARY, the source tree's build/, or
// libbeckon_c.so.0 installed). With a Redis URL (the second argument, else
// $BECKON_REDIS_URL) the engine keeps its visitors in Redis, e.g.
// redis://127.0.0.1:6379/0?prefix=demo: (a prefix nobody else writes
// under: the session's restart restores a snapshot, which replaces every
// visitor under it).
//
// Everything a service needs is the package's: Engine, Policy, Decision and
// the BeckonError classes (docs/node.md).
'use strict';

let beckon;
try {
  beckon = require('beckon');  // Installed: npm install --prefix examples/node
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
  beckon = require('../../bindings/node');  // The package in this checkout.
}
const {Engine, BeckonError} = beckon;

// --- The session ---------------------------------------------------------------

const T0 = 1700000000000;  // A Tuesday in November 2023.
const SEC = 1000;

function clockText(tsMs) {
  const s = Math.floor((tsMs - T0) / 1000);
  const two = (n) => String(n).padStart(2, '0');
  if (s >= 86400) {
    return `+${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 60)}:` +
           two(s % 60);
  }
  return `+${Math.floor(s / 60)}:${two(s % 60)}`;
}

// x with four decimals, as C's printf("%.4f") writes it: toFixed rounds
// exact ties (odd multiples of 1/32 here) up, printf rounds them to even.
function fixed4(x) {
  if (Number.isInteger(x * 32) && !Number.isInteger(x * 16) && x >= 0) {
    let n = Math.floor(x * 10000);
    if (n % 2 !== 0) n += 1;
    return `${Math.floor(n / 10000)}.${String(n % 10000).padStart(4, '0')}`;
  }
  return x.toFixed(4);
}

function line(ts, who, what) {
  console.log(`${clockText(ts).padStart(7)}  ${who.padEnd(10)} ${what}`);
}

class Host {
  constructor(engine) {
    this.engine = engine;
  }

  // Observes one event and prints it; asks after an accepted visitor event
  // unless ask is false.
  event(ts, who, what, kind, args, ask = true) {
    line(ts, who, what);
    try {
      this.engine[kind](ts, ...args);
    } catch (e) {
      if (!(e instanceof BeckonError)) throw e;
      console.log(`    rejected: ${e.code}: ${e.message}`);
      return;
    }
    if (ask && kind !== 'agents') this.ask(who, ts);
  }

  ask(visitor, now) {
    const d = this.engine.decide(visitor, now);
    let out = `    ${d.action.padEnd(8)} p=${fixed4(d.probability)} ` +
              `(threshold ${fixed4(d.threshold)}) [${d.reason}]`;
    if (d.recheckAtMs !== null) out += `  recheck at ${clockText(d.recheckAtMs)}`;
    console.log(out);
    for (const r of d.reasons()) console.log(`      - ${r}`);
    return d;
  }

  followTimer(visitor, d) {
    while (d.action === 'wait' && d.recheckAtMs !== null) {
      const t = d.recheckAtMs;
      line(t, visitor, '(timer fires; nothing else happened)');
      d = this.ask(visitor, t);
    }
  }
}

function main(argv) {
  beckon.load(argv[2] || process.env.BECKON_LIB || undefined);
  const redisUrl = argv[3] || process.env.BECKON_REDIS_URL || null;
  // With a Redis URL the visitors live in Redis, shared by every process
  // that uses the same Redis and key prefix; without one in this process.
  const store = redisUrl ? {redis: redisUrl} : 'memory';
  const host = new Host(new Engine({store}));
  const week = 7 * 86400 * SEC;
  const chat = 'chat';

  const policy = host.engine.policy();
  console.log(`beckon ${beckon.version()} (ABI ${beckon.abiVersion()}) ` +
              `on the policy "${policy.name}"`);

  console.log('\n1. A visitor gets stuck looking for how to return an item\n');
  host.event(T0, '(site)', '3 agents free', 'agents', [3]);
  host.event(T0, 'anna', 'lands on / from a search engine', 'pageView',
             ['anna', '/', 'https://www.google.com/search?q=shop+returns']);
  host.event(T0 + 20 * SEC, 'anna', 'views /p/4711', 'pageView',
             ['anna', '/p/4711', null]);
  host.event(T0 + 70 * SEC, 'anna', 'searches "return label": no results',
             'search', ['anna', '/search?q=return+label', 0]);
  host.event(T0 + 85 * SEC, 'anna', 'searches "returns": no results',
             'search', ['anna', '/search?q=returns', 0]);
  host.event(T0 + 100 * SEC, 'anna', 'opens /help/returns', 'pageView',
             ['anna', '/help/returns', null]);
  host.followTimer('anna', host.ask('anna', T0 + 110 * SEC));

  console.log('\n2. She says "no thanks"; a late page view is rejected\n');
  host.event(T0 + 146 * SEC, 'anna', 'the chat invitation is shown',
             'offerShown', ['anna', '/help/returns', chat], false);
  host.event(T0 + 150 * SEC, 'anna', 'declines it', 'offerDeclined',
             ['anna', '/help/returns', chat], false);
  host.event(T0 + 140 * SEC, 'anna', 'a page view reported late, out of order',
             'pageView', ['anna', '/help/returns', null]);

  console.log('\n3. A browsing visitor buys; nobody interrupts\n');
  host.event(T0 + 200 * SEC, 'ben', 'views /c/shoes', 'pageView',
             ['ben', '/c/shoes', null]);
  host.event(T0 + 230 * SEC, 'ben', 'views /p/1001', 'pageView',
             ['ben', '/p/1001', null]);
  host.event(T0 + 260 * SEC, 'ben', 'adds to cart (59.90)', 'cart',
             ['ben', '/p/1001', 59.90]);
  host.event(T0 + 290 * SEC, 'ben', 'buys (59.90)', 'purchase',
             ['ben', '/checkout/done', 59.90]);

  console.log('\n4. No agent is free: nobody is invited\n');
  host.event(T0 + 300 * SEC, '(site)', '0 agents free', 'agents', [0]);
  host.event(T0 + 300 * SEC, 'carl', 'views /checkout/address', 'pageView',
             ['carl', '/checkout/address', null]);
  host.event(T0 + 301 * SEC, 'carl', 'reloads it (form error?)', 'pageView',
             ['carl', '/checkout/address', null]);
  host.ask('carl', T0 + 301 * SEC + 12 * 60 * SEC);

  console.log('\n5. The shop restarts: snapshot, a new engine, restore\n');
  const snapshot = host.engine.snapshot();
  host.engine.close();
  host.engine = new Engine({policy, store});  // The same store.
  host.engine.restore(snapshot);
  console.log(`    restored a snapshot of ${snapshot.length} bytes`);

  console.log('\n6. A week later she is back: beckon still leaves her alone\n');
  host.event(T0 + week, '(site)', '2 agents free', 'agents', [2]);
  host.event(T0 + week, 'anna', 'a new session, stuck in checkout',
             'pageView', ['anna', '/checkout/payment', null]);
  const later = T0 + week + 10 * 60 * SEC;
  host.ask('anna', later);
  line(later, '(site)', "the host's periodic expiry of idle sessions");
  host.engine.expire(later);

  const s = host.engine.stats();
  const by = s.decisionsByAction;
  console.log(`\nstats since the restart: ${s.sessionsStarted} sessions ` +
              `started, ${s.liveSessions} live, ${s.memoryRecords} memory ` +
              `records, ${s.eventsObserved} events observed, ` +
              `${s.eventsRejected} rejected; decisions: ${by.offer} ` +
              `offer, ${by.wait} wait, ${by.suppress} suppress`);
  host.engine.close();
  policy.close();
  return 0;
}

try {
  process.exitCode = main(process.argv);
} catch (e) {
  // A failed call, or a library (or koffi) that cannot be loaded.
  const loading = /^(BECKON_|MODULE_NOT_FOUND)/.test(String(e.code));
  if (!(e instanceof BeckonError) && !loading) throw e;
  console.error(`beckon: ${e.code}: ${e.message}`);
  process.exitCode = 1;
}
