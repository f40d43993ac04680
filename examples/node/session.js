// A Node.js host of beckon through the koffi FFI package: plays the same
// visitor sessions as examples/c/session.c and prints the same lines.
//
//   npm install --prefix examples/node        # koffi, once
//   node examples/node/session.js [path/to/libbeckon_c.so [REDIS_URL]]
//
// The library is found as the first argument, else $BECKON_LIB, else by the
// dynamic loader as libbeckon_c.so.0 (an installed library). With a Redis
// URL (the second argument, else $BECKON_REDIS_URL) the engine keeps its
// visitors in Redis, e.g. redis://127.0.0.1:6379/0?prefix=demo: (a prefix
// nobody else writes under: the session's restart restores a snapshot,
// which replaces every visitor under it).
//
// The Beckon class below is the part a service would keep: it declares the
// C functions it uses (from include/beckon/beckon.h), turns each failed call
// into a BeckonError carrying the status code and message, and frees every
// library-allocated message and buffer with beckon_free. Handles must be
// destroyed explicitly (close()): JavaScript has no destructors to rely on.
'use strict';

let koffi;
try {
  koffi = require('koffi');
} catch (e) {
  console.error('session.js needs the koffi package: run ' +
                `"npm install --prefix ${__dirname}" (${e.message})`);
  process.exit(1);
}

class BeckonError extends Error {
  constructor(status, message) {
    super(`${status}: ${message}`);
    this.status = status;
  }
}

const ACTION_OFFER = 0;
const ACTION_WAIT = 1;
const ACTION_SUPPRESS = 2;
const CHANNEL_CHAT = 1;

class Beckon {
  constructor(library) {
    const lib = koffi.load(library);
    this.lib = lib;  // For declarations of one's own (tests/bench/node).
    for (const name of ['beckon_policy_t', 'beckon_engine_options_t',
                        'beckon_engine_t', 'beckon_decision_t']) {
      koffi.opaque(name);
    }
    this.DecisionInfo = koffi.struct('beckon_decision_info_t', {
      struct_size: 'uint32_t',
      action: 'int32_t',
      reason: 'int32_t',
      would_offer: 'uint8_t',
      has_recheck_at: 'uint8_t',
      probability: 'double',
      threshold: 'double',
      recheck_at_ms: 'int64_t',
      reason_count: 'uint32_t',
      contribution_count: 'uint32_t',
    });
    this.Stats = koffi.struct('beckon_stats_t', {
      struct_size: 'uint32_t',
      action_count: 'uint32_t',
      reason_count: 'uint32_t',
      live_sessions: 'uint64_t',
      memory_records: 'uint64_t',
      sessions_started: 'uint64_t',
      sessions_expired: 'uint64_t',
      sessions_evicted: 'uint64_t',
      memory_evicted: 'uint64_t',
      events_observed: 'uint64_t',
      events_rejected: 'uint64_t',
      decisions_by_action: koffi.array('uint64_t', 8),
      decisions_by_reason: koffi.array('uint64_t', 32),
      store_errors: 'uint64_t',
      store_conflicts: 'uint64_t',
      store_round_trips: 'uint64_t',
    });
    // Messages and buffers come back as raw pointers (void*), so that they
    // can be read and then released with beckon_free.
    const protos = [
      'const char* beckon_version(void)',
      'int32_t beckon_abi_version(void)',
      'const char* beckon_status_name(int32_t status)',
      'const char* beckon_action_name(int32_t action)',
      'const char* beckon_reason_name(int32_t reason)',
      'void beckon_free(void* ptr)',
      'void beckon_policy_destroy(beckon_policy_t* policy)',
      'int beckon_policy_to_bytes(const beckon_policy_t* policy, ' +
          '_Out_ void** data, _Out_ size_t* size, _Out_ void** errptr)',
      'int beckon_policy_name(const beckon_policy_t* policy, ' +
          '_Out_ const char** name, _Out_ void** errptr)',
      'int beckon_engine_options_create(' +
          '_Out_ beckon_engine_options_t** options, _Out_ void** errptr)',
      'void beckon_engine_options_destroy(beckon_engine_options_t* options)',
      'int beckon_engine_options_set_max_sessions(' +
          'beckon_engine_options_t* options, uint64_t max_sessions, ' +
          '_Out_ void** errptr)',
      'int beckon_engine_options_set_redis_url(' +
          'beckon_engine_options_t* options, const char* url, ' +
          '_Out_ void** errptr)',
      'int beckon_engine_create_default(' +
          'const beckon_engine_options_t* options, ' +
          '_Out_ beckon_engine_t** engine, _Out_ void** errptr)',
      'int beckon_engine_create_from_policy_bytes(const void* data, ' +
          'size_t size, const beckon_engine_options_t* options, ' +
          '_Out_ beckon_engine_t** engine, _Out_ void** errptr)',
      'void beckon_engine_destroy(beckon_engine_t* engine)',
      'int beckon_engine_policy(const beckon_engine_t* engine, ' +
          '_Out_ beckon_policy_t** policy, _Out_ void** errptr)',
      'int beckon_engine_observe_page_view(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'const char* referrer, _Out_ void** errptr)',
      'int beckon_engine_observe_search(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int64_t results, _Out_ void** errptr)',
      'int beckon_engine_observe_cart(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'double cart_value, _Out_ void** errptr)',
      'int beckon_engine_observe_help_contact(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int32_t channel, _Out_ void** errptr)',
      'int beckon_engine_observe_offer_shown(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int32_t channel, _Out_ void** errptr)',
      'int beckon_engine_observe_offer_accepted(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int32_t channel, _Out_ void** errptr)',
      'int beckon_engine_observe_offer_declined(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int32_t channel, _Out_ void** errptr)',
      'int beckon_engine_observe_offer_ignored(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'int32_t channel, _Out_ void** errptr)',
      'int beckon_engine_observe_purchase(beckon_engine_t* engine, ' +
          'int64_t ts_ms, const char* visitor, const char* page, ' +
          'double order_value, _Out_ void** errptr)',
      'int beckon_engine_observe_agents(beckon_engine_t* engine, ' +
          'int64_t ts_ms, int64_t free_agents, _Out_ void** errptr)',
      'int beckon_engine_decide(beckon_engine_t* engine, ' +
          'const char* visitor, int64_t now_ms, ' +
          'beckon_decision_t* decision, _Out_ void** errptr)',
      'int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms, ' +
          '_Out_ void** errptr)',
      'int beckon_engine_snapshot(const beckon_engine_t* engine, ' +
          '_Out_ void** data, _Out_ size_t* size, _Out_ void** errptr)',
      'int beckon_engine_restore(beckon_engine_t* engine, ' +
          'const void* data, size_t size, _Out_ void** errptr)',
      'int beckon_engine_stats(const beckon_engine_t* engine, ' +
          '_Inout_ beckon_stats_t* stats, _Out_ void** errptr)',
      'int beckon_decision_create(_Out_ beckon_decision_t** decision, ' +
          '_Out_ void** errptr)',
      'void beckon_decision_destroy(beckon_decision_t* decision)',
      'int beckon_decision_get_info(const beckon_decision_t* decision, ' +
          '_Inout_ beckon_decision_info_t* info, _Out_ void** errptr)',
      'int beckon_decision_get_reason(const beckon_decision_t* decision, ' +
          'uint32_t index, _Out_ const char** text, _Out_ void** errptr)',
    ];
    this.fn = {};
    for (const proto of protos) {
      const f = lib.func(proto);
      this.fn[proto.match(/beckon_(\w+)\(/)[1]] = f;
    }
  }

  // Calls beckon_<name>(...args, &err); throws a BeckonError on failure.
  call(name, ...args) {
    const err = [null];
    const status = this.fn[name](...args, err);
    if (status !== 0) {
      let message = '(no message)';
      if (err[0] !== null) {
        message = koffi.decode(err[0], 'char', -1);
        this.fn.free(err[0]);
      }
      throw new BeckonError(this.fn.status_name(status) ?? `status ${status}`,
                            message);
    }
  }

  // Returns the handle that beckon_<name>(...args, &handle, &err) creates.
  make(name, ...args) {
    const out = [null];
    this.call(name, ...args, out);
    return out[0];
  }

  // Returns a copy of the library-allocated buffer of beckon_<name>(...args,
  // &data, &size, &err), and frees the buffer.
  bytes(name, ...args) {
    const data = [null];
    const size = [0];
    this.call(name, ...args, data, size);
    try {
      const n = Number(size[0]);
      return n === 0 ? Buffer.alloc(0)
                     : Buffer.from(new Uint8Array(koffi.view(data[0], n)));
    } finally {
      this.fn.free(data[0]);
    }
  }
}

// An engine and the decision handle this host reuses (Node runs the host's
// JavaScript on one thread, so one decision handle is enough). With a Redis
// URL the visitors live in Redis, shared by every process that uses the
// same Redis and key prefix; without one in this process's memory.
class Engine {
  constructor(b, policyBytes = null, redisUrl = null) {
    this.b = b;
    const options = redisUrl ? b.make('engine_options_create') : null;
    try {
      if (options !== null) {
        b.call('engine_options_set_redis_url', options, redisUrl);
      }
      this.engine = policyBytes === null
          ? b.make('engine_create_default', options)
          : b.make('engine_create_from_policy_bytes', policyBytes,
                   policyBytes.length, options);
    } finally {
      if (options !== null) b.fn.engine_options_destroy(options);
    }
    try {
      this.decision = b.make('decision_create');
    } catch (e) {
      b.fn.engine_destroy(this.engine);
      throw e;
    }
  }

  close() {
    this.b.fn.decision_destroy(this.decision);
    this.b.fn.engine_destroy(this.engine);
    this.engine = this.decision = null;
  }

  observe(kind, ...args) {
    this.b.call(`engine_observe_${kind}`, this.engine, ...args);
  }

  decide(visitor, nowMs) {
    const b = this.b;
    b.call('engine_decide', this.engine, visitor, nowMs, this.decision);
    const info = {struct_size: koffi.sizeof(b.DecisionInfo)};
    b.call('decision_get_info', this.decision, info);
    const reasons = [];
    for (let i = 0; i < info.reason_count; ++i) {
      const text = [null];
      b.call('decision_get_reason', this.decision, i, text);
      reasons.push(text[0]);
    }
    return {
      action: b.fn.action_name(info.action),
      reason: b.fn.reason_name(info.reason),
      probability: info.probability,
      threshold: info.threshold,
      recheckAtMs: info.has_recheck_at ? Number(info.recheck_at_ms) : null,
      reasons,
    };
  }

  expire(nowMs) {
    this.b.call('engine_expire', this.engine, nowMs);
  }

  snapshot() {
    return this.b.bytes('engine_snapshot', this.engine);
  }

  restore(snapshot) {
    this.b.call('engine_restore', this.engine, snapshot, snapshot.length);
  }

  // The binary policy the engine runs, and its name.
  policy() {
    const policy = this.b.make('engine_policy', this.engine);
    try {
      const name = [null];
      this.b.call('policy_name', policy, name);
      return [name[0], this.b.bytes('policy_to_bytes', policy)];
    } finally {
      this.b.fn.policy_destroy(policy);
    }
  }

  stats() {
    const stats = {struct_size: koffi.sizeof(this.b.Stats)};
    this.b.call('engine_stats', this.engine, stats);
    return stats;
  }
}

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
      this.engine.observe(kind, ts, ...args);
    } catch (e) {
      if (!(e instanceof BeckonError)) throw e;
      console.log(`    rejected: ${e.message}`);
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
    for (const r of d.reasons) console.log(`      - ${r}`);
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
  const library = argv[2] || process.env.BECKON_LIB || 'libbeckon_c.so.0';
  const redisUrl = argv[3] || process.env.BECKON_REDIS_URL || null;
  const b = new Beckon(library);
  const host = new Host(new Engine(b, null, redisUrl));
  const week = 7 * 86400 * SEC;
  const chat = CHANNEL_CHAT;

  const [policyName, policyBytes] = host.engine.policy();
  console.log(`beckon ${b.fn.version()} (ABI ${b.fn.abi_version()}) ` +
              `on the policy "${policyName}"`);

  console.log('\n1. A visitor gets stuck looking for how to return an item\n');
  host.event(T0, '(site)', '3 agents free', 'agents', [3]);
  host.event(T0, 'anna', 'lands on / from a search engine', 'page_view',
             ['anna', '/', 'https://www.google.com/search?q=shop+returns']);
  host.event(T0 + 20 * SEC, 'anna', 'views /p/4711', 'page_view',
             ['anna', '/p/4711', null]);
  host.event(T0 + 70 * SEC, 'anna', 'searches "return label": no results',
             'search', ['anna', '/search?q=return+label', 0]);
  host.event(T0 + 85 * SEC, 'anna', 'searches "returns": no results',
             'search', ['anna', '/search?q=returns', 0]);
  host.event(T0 + 100 * SEC, 'anna', 'opens /help/returns', 'page_view',
             ['anna', '/help/returns', null]);
  host.followTimer('anna', host.ask('anna', T0 + 110 * SEC));

  console.log('\n2. She says "no thanks"; a late page view is rejected\n');
  host.event(T0 + 146 * SEC, 'anna', 'the chat invitation is shown',
             'offer_shown', ['anna', '/help/returns', chat], false);
  host.event(T0 + 150 * SEC, 'anna', 'declines it', 'offer_declined',
             ['anna', '/help/returns', chat], false);
  host.event(T0 + 140 * SEC, 'anna', 'a page view reported late, out of order',
             'page_view', ['anna', '/help/returns', null]);

  console.log('\n3. A browsing visitor buys; nobody interrupts\n');
  host.event(T0 + 200 * SEC, 'ben', 'views /c/shoes', 'page_view',
             ['ben', '/c/shoes', null]);
  host.event(T0 + 230 * SEC, 'ben', 'views /p/1001', 'page_view',
             ['ben', '/p/1001', null]);
  host.event(T0 + 260 * SEC, 'ben', 'adds to cart (59.90)', 'cart',
             ['ben', '/p/1001', 59.90]);
  host.event(T0 + 290 * SEC, 'ben', 'buys (59.90)', 'purchase',
             ['ben', '/checkout/done', 59.90]);

  console.log('\n4. No agent is free: nobody is invited\n');
  host.event(T0 + 300 * SEC, '(site)', '0 agents free', 'agents', [0]);
  host.event(T0 + 300 * SEC, 'carl', 'views /checkout/address', 'page_view',
             ['carl', '/checkout/address', null]);
  host.event(T0 + 301 * SEC, 'carl', 'reloads it (form error?)', 'page_view',
             ['carl', '/checkout/address', null]);
  host.ask('carl', T0 + 301 * SEC + 12 * 60 * SEC);

  console.log('\n5. The shop restarts: snapshot, a new engine, restore\n');
  const snapshot = host.engine.snapshot();
  host.engine.close();
  host.engine = new Engine(b, policyBytes, redisUrl);  // The same store.
  host.engine.restore(snapshot);
  console.log(`    restored a snapshot of ${snapshot.length} bytes`);

  console.log('\n6. A week later she is back: beckon still leaves her alone\n');
  host.event(T0 + week, '(site)', '2 agents free', 'agents', [2]);
  host.event(T0 + week, 'anna', 'a new session, stuck in checkout',
             'page_view', ['anna', '/checkout/payment', null]);
  const later = T0 + week + 10 * 60 * SEC;
  host.ask('anna', later);
  line(later, '(site)', "the host's periodic expiry of idle sessions");
  host.engine.expire(later);

  const s = host.engine.stats();
  const by = s.decisions_by_action;
  console.log(`\nstats since the restart: ${s.sessions_started} sessions ` +
              `started, ${s.live_sessions} live, ${s.memory_records} memory ` +
              `records, ${s.events_observed} events observed, ` +
              `${s.events_rejected} rejected; decisions: ${by[ACTION_OFFER]} ` +
              `offer, ${by[ACTION_WAIT]} wait, ${by[ACTION_SUPPRESS]} suppress`);
  host.engine.close();
  return 0;
}

// The declarations are shared with tests/bench/node/compare.js, which
// requires this file as a module.
module.exports = {Beckon, BeckonError, ACTION_OFFER, ACTION_WAIT,
                  ACTION_SUPPRESS, CHANNEL_CHAT};

if (require.main === module) {
  try {
    process.exitCode = main(process.argv);
  } catch (e) {
    if (!(e instanceof BeckonError)) throw e;
    console.error(`beckon: ${e.message}`);
    process.exitCode = 1;
  }
}
