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

// The C declarations. Out-parameters for pointers (errptr, new handles,
// library-allocated buffers and their sizes) and the growable structs are
// declared void* and passed as preallocated Buffers that index.js reads
// itself: koffi then passes a pointer without converting anything, which
// is several times cheaper than its _Out_/_Inout_ conversions (a struct
// conversion costs more than the decision it carries). Messages come back
// as raw pointers so that they can be read and then released with
// beckon_free; borrowed strings (names, reasons) as const char*, copied
// to JS strings by koffi.
const PROTOTYPES = [
  'const char* beckon_version(void)',
  'int32_t beckon_abi_version(void)',
  'const char* beckon_status_name(int32_t status)',
  'const char* beckon_action_name(int32_t action)',
  'const char* beckon_reason_name(int32_t reason)',
  'void beckon_free(void* ptr)',

  'int beckon_policy_default(void* policy_out, ' +
      'void* errptr)',
  'int beckon_policy_from_bytes(const void* data, size_t size, ' +
      'void* policy_out, void* errptr)',
  'int beckon_policy_from_text(const void* text, size_t size, ' +
      'void* policy_out, void* errptr)',
  'int beckon_policy_from_file(const char* path, ' +
      'void* policy_out, void* errptr)',
  'void beckon_policy_destroy(beckon_policy_t* policy)',
  'int beckon_policy_to_bytes(const beckon_policy_t* policy, ' +
      'void* data_out, void* size_out, void* errptr)',
  'int beckon_policy_to_text(const beckon_policy_t* policy, ' +
      'void* text_out, void* size_out, void* errptr)',
  'int beckon_policy_to_file(const beckon_policy_t* policy, ' +
      'const char* path, void* errptr)',
  'int beckon_policy_name(const beckon_policy_t* policy, ' +
      '_Out_ const char** name, void* errptr)',

  'int beckon_engine_options_create(' +
      'void* options_out, void* errptr)',
  'void beckon_engine_options_destroy(beckon_engine_options_t* options)',
  'int beckon_engine_options_set_max_sessions(' +
      'beckon_engine_options_t* options, uint64_t n, void* errptr)',
  'int beckon_engine_options_set_max_memory_records(' +
      'beckon_engine_options_t* options, uint64_t n, void* errptr)',
  'int beckon_engine_options_set_shards(' +
      'beckon_engine_options_t* options, uint32_t n, void* errptr)',
  'int beckon_engine_options_set_visitor_key(' +
      'beckon_engine_options_t* options, uint64_t key0, uint64_t key1, ' +
      'void* errptr)',
  'int beckon_engine_options_set_visitor_key_file(' +
      'beckon_engine_options_t* options, const char* path, ' +
      'void* errptr)',
  'int beckon_engine_options_set_redis_url(' +
      'beckon_engine_options_t* options, const char* url, ' +
      'void* errptr)',
  'int beckon_engine_options_set_max_url_bytes(' +
      'beckon_engine_options_t* options, uint32_t n, void* errptr)',
  'int beckon_engine_options_set_max_referrer_bytes(' +
      'beckon_engine_options_t* options, uint32_t n, void* errptr)',

  'int beckon_engine_create(const beckon_policy_t* policy, ' +
      'const beckon_engine_options_t* options, ' +
      'void* engine_out, void* errptr)',
  'int beckon_engine_create_from_policy_file(const char* path, ' +
      'const beckon_engine_options_t* options, ' +
      'void* engine_out, void* errptr)',
  'void beckon_engine_destroy(beckon_engine_t* engine)',
  'int beckon_engine_policy(const beckon_engine_t* engine, ' +
      'void* policy_out, void* errptr)',
  'int beckon_engine_observe_page_view(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'const char* referrer, void* errptr)',
  'int beckon_engine_observe_search(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int64_t results, void* errptr)',
  'int beckon_engine_observe_cart(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'double cart_value, void* errptr)',
  'int beckon_engine_observe_help_contact(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int32_t channel, void* errptr)',
  'int beckon_engine_observe_offer_shown(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int32_t channel, void* errptr)',
  'int beckon_engine_observe_offer_accepted(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int32_t channel, void* errptr)',
  'int beckon_engine_observe_offer_declined(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int32_t channel, void* errptr)',
  'int beckon_engine_observe_offer_ignored(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'int32_t channel, void* errptr)',
  'int beckon_engine_observe_purchase(beckon_engine_t* engine, ' +
      'int64_t ts_ms, const char* visitor, const char* page, ' +
      'double order_value, void* errptr)',
  'int beckon_engine_observe_agents(beckon_engine_t* engine, ' +
      'int64_t ts_ms, int64_t free_agents, void* errptr)',
  'int beckon_engine_decide(beckon_engine_t* engine, ' +
      'const char* visitor, int64_t now_ms, ' +
      'beckon_decision_t* decision, void* errptr)',
  'int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms, ' +
      'void* errptr)',
  'int beckon_engine_snapshot(const beckon_engine_t* engine, ' +
      'void* data_out, void* size_out, void* errptr)',
  'int beckon_engine_snapshot_to_file(const beckon_engine_t* engine, ' +
      'const char* path, void* errptr)',
  'int beckon_engine_restore(beckon_engine_t* engine, ' +
      'const void* data, size_t size, void* errptr)',
  'int beckon_engine_restore_from_file(beckon_engine_t* engine, ' +
      'const char* path, void* errptr)',
  'int beckon_engine_stats(const beckon_engine_t* engine, ' +
      'void* stats, void* errptr)',
  'int beckon_engine_set_policy(beckon_engine_t* engine, ' +
      'const beckon_policy_t* policy, void* errptr)',
  'int beckon_engine_metrics_text(const beckon_engine_t* engine, ' +
      'void* text_out, void* size_out, void* errptr)',
  'int beckon_engine_options_set_decision_log(' +
      'beckon_engine_options_t* options, const char* path, void* errptr)',

  'int beckon_decision_create(void* decision_out, ' +
      'void* errptr)',
  'void beckon_decision_destroy(beckon_decision_t* decision)',
  'int beckon_decision_get_info(const beckon_decision_t* decision, ' +
      'void* info, void* errptr)',
  'int beckon_decision_get_reason(const beckon_decision_t* decision, ' +
      'uint32_t index, _Out_ const char** text, void* errptr)',
  'int beckon_decision_get_policy(const beckon_decision_t* decision, ' +
      '_Out_ const char** name, _Out_ const char** version, void* errptr)',
  'int beckon_decision_get_contribution(' +
      'const beckon_decision_t* decision, uint32_t index, ' +
      '_Out_ const char** feature, _Out_ double* value, ' +
      '_Out_ double* contribution, void* errptr)',
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
  if (k.sizeof('void*') !== 8 || k.sizeof('size_t') !== 8) {
    // index.js reads pointers and sizes from out-parameters as 64 bits.
    const err = new Error('beckon: the Node.js package needs a 64-bit ' +
                          'platform');
    err.code = 'BECKON_UNSUPPORTED_PLATFORM';
    throw err;
  }
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
    offer_probability: 'double',
    uplift: 'double',
    explored: 'uint8_t',
    has_uplift: 'uint8_t',
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
  // Where the fields of the structs are, for reading them from Buffers.
  const offsets = (type) => Object.fromEntries(
      Object.keys(type.members).map((m) => [m, k.offsetof(type, m)]));
  loaded = {
    koffi: k,
    infoOffsets: offsets(DecisionInfo),
    statsOffsets: offsets(Stats),
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
