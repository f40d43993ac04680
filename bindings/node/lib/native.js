// The C ABI (include/beckon/beckon.h) declared for koffi, and the loading
// of libbeckon_c. Internal to the package: index.js is the API.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// The ABI this package is written against (BECKON_ABI_VERSION): a library
// that reports another one is refused.
const ABI_VERSION = 0;

let koffi = null;
function requireKoffi() {
  if (koffi === null) {
    try {
      koffi = require('koffi');
    } catch (e) {
      const err = new Error(
          'beckon needs the koffi package: run "npm install" in ' +
          `${path.dirname(__dirname)} (${e.message})`);
      err.code = 'MODULE_NOT_FOUND';
      throw err;
    }
  }
  return koffi;
}

// The file names tried, in order, when no path is given.
function defaultCandidates() {
  const names = [];
  if (process.env.BECKON_LIBRARY) names.push(process.env.BECKON_LIBRARY);
  // A source checkout: the build directory scripts/build.sh makes.
  const build = path.resolve(__dirname, '..', '..', '..', 'build', 'bindings',
                             'c');
  let file;
  if (process.platform === 'darwin') {
    file = 'libbeckon_c.0.dylib';
  } else if (process.platform === 'win32') {
    file = 'beckon_c.dll';
  } else {
    file = 'libbeckon_c.so.0';
  }
  const built = path.join(build, file);
  if (fs.existsSync(built)) names.push(built);
  names.push(file);  // Found by the dynamic loader: an installed library.
  return names;
}

// The C declarations. Messages and library-allocated buffers come back as
// raw pointers (void*) so that they can be read and then released with
// beckon_free; borrowed strings come back as const char* (copied to JS
// strings by koffi).
const PROTOTYPES = [
  'const char* beckon_version(void)',
  'int32_t beckon_abi_version(void)',
  'const char* beckon_status_name(int32_t status)',
  'const char* beckon_action_name(int32_t action)',
  'const char* beckon_reason_name(int32_t reason)',
  'void beckon_free(void* ptr)',

  'int beckon_policy_default(_Out_ beckon_policy_t** policy, ' +
      '_Out_ void** errptr)',
  'int beckon_policy_from_bytes(const void* data, size_t size, ' +
      '_Out_ beckon_policy_t** policy, _Out_ void** errptr)',
  'int beckon_policy_from_text(const void* text, size_t size, ' +
      '_Out_ beckon_policy_t** policy, _Out_ void** errptr)',
  'int beckon_policy_from_file(const char* path, ' +
      '_Out_ beckon_policy_t** policy, _Out_ void** errptr)',
  'void beckon_policy_destroy(beckon_policy_t* policy)',
  'int beckon_policy_to_bytes(const beckon_policy_t* policy, ' +
      '_Out_ void** data, _Out_ size_t* size, _Out_ void** errptr)',
  'int beckon_policy_to_text(const beckon_policy_t* policy, ' +
      '_Out_ void** text, _Out_ size_t* size, _Out_ void** errptr)',
  'int beckon_policy_to_file(const beckon_policy_t* policy, ' +
      'const char* path, _Out_ void** errptr)',
  'int beckon_policy_name(const beckon_policy_t* policy, ' +
      '_Out_ const char** name, _Out_ void** errptr)',

  'int beckon_engine_options_create(' +
      '_Out_ beckon_engine_options_t** options, _Out_ void** errptr)',
  'void beckon_engine_options_destroy(beckon_engine_options_t* options)',
  'int beckon_engine_options_set_max_sessions(' +
      'beckon_engine_options_t* options, uint64_t n, _Out_ void** errptr)',
  'int beckon_engine_options_set_max_memory_records(' +
      'beckon_engine_options_t* options, uint64_t n, _Out_ void** errptr)',
  'int beckon_engine_options_set_shards(' +
      'beckon_engine_options_t* options, uint32_t n, _Out_ void** errptr)',
  'int beckon_engine_options_set_visitor_key(' +
      'beckon_engine_options_t* options, uint64_t key0, uint64_t key1, ' +
      '_Out_ void** errptr)',
  'int beckon_engine_options_set_visitor_key_file(' +
      'beckon_engine_options_t* options, const char* path, ' +
      '_Out_ void** errptr)',
  'int beckon_engine_options_set_redis_url(' +
      'beckon_engine_options_t* options, const char* url, ' +
      '_Out_ void** errptr)',
  'int beckon_engine_options_set_max_url_bytes(' +
      'beckon_engine_options_t* options, uint32_t n, _Out_ void** errptr)',
  'int beckon_engine_options_set_max_referrer_bytes(' +
      'beckon_engine_options_t* options, uint32_t n, _Out_ void** errptr)',

  'int beckon_engine_create(const beckon_policy_t* policy, ' +
      'const beckon_engine_options_t* options, ' +
      '_Out_ beckon_engine_t** engine, _Out_ void** errptr)',
  'int beckon_engine_create_from_policy_file(const char* path, ' +
      'const beckon_engine_options_t* options, ' +
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
  'int beckon_engine_snapshot_to_file(const beckon_engine_t* engine, ' +
      'const char* path, _Out_ void** errptr)',
  'int beckon_engine_restore(beckon_engine_t* engine, ' +
      'const void* data, size_t size, _Out_ void** errptr)',
  'int beckon_engine_restore_from_file(beckon_engine_t* engine, ' +
      'const char* path, _Out_ void** errptr)',
  'int beckon_engine_stats(const beckon_engine_t* engine, ' +
      '_Inout_ beckon_stats_t* stats, _Out_ void** errptr)',

  'int beckon_decision_create(_Out_ beckon_decision_t** decision, ' +
      '_Out_ void** errptr)',
  'void beckon_decision_destroy(beckon_decision_t* decision)',
  'int beckon_decision_get_info(const beckon_decision_t* decision, ' +
      '_Inout_ beckon_decision_info_t* info, _Out_ void** errptr)',
  'int beckon_decision_get_reason(const beckon_decision_t* decision, ' +
      'uint32_t index, _Out_ const char** text, _Out_ void** errptr)',
  'int beckon_decision_get_contribution(' +
      'const beckon_decision_t* decision, uint32_t index, ' +
      '_Out_ const char** feature, _Out_ double* value, ' +
      '_Out_ double* contribution, _Out_ void** errptr)',
];

let loaded = null;

// Loads the library (once per process; koffi keeps it loaded) and declares
// its functions. `library` is a path or a name for the dynamic loader;
// without one, the default candidates are tried in order.
function load(library) {
  if (loaded !== null) {
    if (library !== undefined && library !== null &&
        path.resolve(library) !== loaded.path &&
        library !== loaded.path) {
      const err = new Error(
          `beckon: the library is already loaded from ${loaded.path}; ` +
          `cannot load ${library} as well`);
      err.code = 'BECKON_ALREADY_LOADED';
      throw err;
    }
    return loaded;
  }
  const k = requireKoffi();
  const candidates = library === undefined || library === null
                         ? defaultCandidates() : [library];
  let lib = null;
  let from = null;
  const failures = [];
  for (const candidate of candidates) {
    try {
      lib = k.load(candidate);
      from = candidate;
      break;
    } catch (e) {
      failures.push(`${candidate}: ${e.message}`);
    }
  }
  if (lib === null) {
    const err = new Error(
        'beckon: cannot load libbeckon_c (give its path to load(), or set ' +
        'BECKON_LIBRARY); tried ' + failures.join('; '));
    err.code = 'BECKON_LIBRARY_NOT_FOUND';
    throw err;
  }

  for (const name of ['beckon_policy_t', 'beckon_engine_options_t',
                      'beckon_engine_t', 'beckon_decision_t']) {
    k.opaque(name);
  }
  const DecisionInfo = k.struct('beckon_decision_info_t', {
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
  const Stats = k.struct('beckon_stats_t', {
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
    decisions_by_action: k.array('uint64_t', 8),
    decisions_by_reason: k.array('uint64_t', 32),
    store_errors: 'uint64_t',
    store_conflicts: 'uint64_t',
    store_round_trips: 'uint64_t',
    declines_evicted: 'uint64_t',
  });

  const fn = {};
  for (const proto of PROTOTYPES) {
    fn[proto.match(/beckon_(\w+)\(/)[1]] = lib.func(proto);
  }
  const abi = fn.abi_version();
  if (abi !== ABI_VERSION) {
    const err = new Error(
        `beckon: ${from} has ABI version ${abi}; this package needs ` +
        `${ABI_VERSION}`);
    err.code = 'BECKON_ABI_MISMATCH';
    throw err;
  }

  // The names of the library's actions and reasons, by number.
  const names = (get) => {
    const out = [];
    for (let i = 0; ; ++i) {
      const name = get(i);
      if (name === null) return out;
      out.push(name);
    }
  };
  loaded = {
    koffi: k,
    lib,
    fn,
    path: from,
    DecisionInfo,
    Stats,
    decisionInfoSize: k.sizeof(DecisionInfo),
    statsSize: k.sizeof(Stats),
    actions: names(fn.action_name),
    reasons: names(fn.reason_name),
  };
  return loaded;
}

function isLoaded() {
  return loaded !== null;
}

module.exports = {ABI_VERSION, load, isLoaded, requireKoffi, defaultCandidates};
