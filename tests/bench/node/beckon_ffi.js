// beckon's C ABI declared for koffi directly, as a host without the npm
// package would (the package, bindings/node, does the same with more
// checks): the Beckon class declares the C functions from
// include/beckon/beckon.h, turns a failed call into a BeckonError and frees
// library-allocated messages with beckon_free. compare.js uses it to time
// the C ABI through koffi with nothing in between.
'use strict';

let koffi;
try {
  koffi = require('koffi');
} catch (e) {
  console.error('beckon_ffi.js needs the koffi package: run ' +
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

module.exports = {Beckon, BeckonError, ACTION_OFFER, ACTION_WAIT,
                  ACTION_SUPPRESS, CHANNEL_CHAT};
