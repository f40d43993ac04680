// beckon for Node.js: the engine, policies and decisions of beckon's C ABI
// (libbeckon_c, include/beckon/beckon.h) through the koffi FFI package.
//
//   const beckon = require('beckon');
//   const engine = new beckon.Engine({maxSessions: 100000, shards: 16});
//   engine.pageView(Date.now(), 'v1', '/checkout');
//   const d = engine.decide('v1', Date.now());
//   if (d.action === 'offer') showChat();
//   engine.close();
//
// docs/node.md is the guide; index.d.ts has every type.
'use strict';

const native = require('./lib/native');

// --- Errors --------------------------------------------------------------------

// The status codes of the C ABI (beckon_status_code), by number.
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED',
  'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];
const Status = Object.freeze(Object.fromEntries(
    STATUS_NAMES.map((name, i) => [name, i])));

// Every failure of a beckon call: `code` is the status name
// ('INVALID_ARGUMENT', ...), `status` its number, `message` the library's.
class BeckonError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status === undefined ? Status[code] : status;
  }
  get name() {
    return this.constructor.name;
  }
}

// One subclass per status code: InvalidArgumentError, NotFoundError, ...
const errorClasses = {};
const ERROR_BY_STATUS = [];
for (const [i, code] of STATUS_NAMES.entries()) {
  if (i === 0) {
    ERROR_BY_STATUS.push(null);
    continue;
  }
  const className = code.toLowerCase().replace(/(^|_)(\w)/g,
                                               (m, s, c) => c.toUpperCase()) +
                    'Error';
  const cls = {
    [className]: class extends BeckonError {
      constructor(message) {
        super(code, message, i);
      }
    },
  }[className];
  errorClasses[className] = cls;
  ERROR_BY_STATUS.push(cls);
}

function errorFor(status, message) {
  const cls = ERROR_BY_STATUS[status];
  if (cls === undefined) return new BeckonError('UNKNOWN', message, status);
  return new cls(message);
}

function invalid(message) {
  return new errorClasses.InvalidArgumentError(message);
}

// --- Calling the library ----------------------------------------------------------

// The library, loaded at the first use (or by load()).
let N = null;
function lib() {
  if (N === null) loaded(native.load());
  return N;
}

function loaded(n) {
  if (N === null) {
    infoBuf = Buffer.alloc(n.decisionInfoSize);
    setU32(infoBuf, n.decisionInfoSize);
    statsBuf = Buffer.alloc(n.statsSize);
    setU32(statsBuf, n.statsSize);
  }
  N = n;
}

// Loads libbeckon_c from `library` (a path, or a name the dynamic loader
// finds). Without one: $BECKON_LIBRARY, else the source tree's build/
// directory, else libbeckon_c.so.0 from the system's library path. Done
// by the first use when not called; a process loads one library.
function load(library) {
  loaded(native.load(library));
  return {path: N.path, version: N.fn.version(), abiVersion: N.fn.abi_version()};
}

// Out-parameters, reused: JavaScript runs one call at a time per thread,
// and every worker thread has its own copy of this module. Each is a
// Buffer passed as void* (lib/native.js says why) and read here.
const LE = require('node:os').endianness() === 'LE';
const errOut = Buffer.alloc(8);   // char* *errptr
const ptrOut = Buffer.alloc(8);   // a new handle, or a buffer's data
const sizeOut = Buffer.alloc(8);  // size_t
let infoBuf = null;               // beckon_decision_info_t
let statsBuf = null;              // beckon_stats_t

function u64(buf, offset) {
  return LE ? buf.readBigUInt64LE(offset) : buf.readBigUInt64BE(offset);
}
function i64(buf, offset) {
  return LE ? buf.readBigInt64LE(offset) : buf.readBigInt64BE(offset);
}
function u32(buf, offset) {
  return LE ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
}
function i32(buf, offset) {
  return LE ? buf.readInt32LE(offset) : buf.readInt32BE(offset);
}
function f64(buf, offset) {
  return LE ? buf.readDoubleLE(offset) : buf.readDoubleBE(offset);
}
function setU32(buf, value) {
  if (LE) buf.writeUInt32LE(value, 0);
  else buf.writeUInt32BE(value, 0);
}

// The pointer an out-parameter holds (koffi takes pointers as bigints), or
// null.
function pointerIn(buf) {
  const p = u64(buf, 0);
  return p === 0n ? null : p;
}

// Throws the error of a failed call, freeing its message.
function fail(status) {
  let message = '(no message)';
  const p = pointerIn(errOut);
  if (p !== null) {
    message = N.koffi.decode(p, 'char', -1);
    N.fn.free(p);
  }
  throw errorFor(status, message);
}

// Returns a copy of the buffer in ptrOut/sizeOut and frees the library's.
function takeBuffer() {
  const p = pointerIn(ptrOut);
  const n = Number(u64(sizeOut, 0));
  try {
    return n === 0 ? Buffer.alloc(0)
                   : Buffer.from(new Uint8Array(N.koffi.view(p, n)));
  } finally {
    N.fn.free(p);
  }
}

// Frees handles that were never closed when their object is collected.
const finalizers = new FinalizationRegistry(({destroy, handle}) => {
  N.fn[destroy](handle);
});

// --- Argument checks -----------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkInt64(value, what) {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalid(`${what} must be an integer (got ${value})`);
    }
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw invalid(`${what} is out of the 64-bit range (got ${value})`);
    }
    return value;
  }
  throw invalid(`${what} must be a number or a bigint (got ${typeof value})`);
}

function checkUnsigned(value, what, bits) {
  const max = bits === 32 ? 0xffffffff : 2n ** 64n - 1n;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 &&
      value <= Number(max)) {
    return value;
  }
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(max)) {
    return value;
  }
  throw invalid(`${what} must be an integer in [0, ${max}] (got ${value})`);
}

// Text passed as a NUL-terminated C string: an embedded NUL would cut it.
function checkText(value, what) {
  if (typeof value !== 'string') {
    throw invalid(`${what} must be a string (got ${value === null ? 'null'
                                                                  : typeof value})`);
  }
  if (value.includes('\0')) throw invalid(`${what} contains a NUL character`);
  return value;
}

function checkBytes(value, what) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw invalid(`${what} must be a Buffer, Uint8Array or string`);
}

function checkNumber(value, what) {
  if (typeof value !== 'number') {
    throw invalid(`${what} must be a number (got ${typeof value})`);
  }
  return value;
}

// Help channels (beckon_channel).
const CHANNELS = ['unspecified', 'chat', 'call', 'email', 'form'];
function channelOf(channel) {
  if (channel === undefined) return 1;  // chat
  if (typeof channel === 'string') {
    const i = CHANNELS.indexOf(channel);
    if (i >= 0) return i;
    throw invalid(`unknown channel "${channel}" (one of ${CHANNELS.join(', ')})`);
  }
  if (Number.isInteger(channel) && channel >= -0x80000000 &&
      channel <= 0x7fffffff) {
    return channel;  // Numbers are checked by the library.
  }
  throw invalid(`channel must be a channel name or number (got ${channel})`);
}

// --- Policy ----------------------------------------------------------------------------

const CONSTRUCT = Symbol('beckon.construct');

// An immutable, validated policy (thresholds, model, gates). Engines copy
// it: a policy may be closed once its engines are created.
class Policy {
  constructor(token, handle) {
    if (token !== CONSTRUCT) {
      throw new TypeError(
          'use Policy.default(), Policy.fromFile(), Policy.fromText() or ' +
          'Policy.fromBytes()');
    }
    this._h = handle;
    this._name = undefined;
    finalizers.register(this, {destroy: 'policy_destroy', handle}, this);
  }

  static _make(status) {
    if (status !== 0) fail(status);
    return new Policy(CONSTRUCT, pointerIn(ptrOut));
  }

  // The built-in default policy ("beckon-default").
  static default() {
    const n = lib();
    return Policy._make(n.fn.policy_default(ptrOut, errOut));
  }

  // A binary protobuf policy file, or a text-format one (NotFoundError if
  // it cannot be opened; InvalidArgumentError naming the bad field).
  static fromFile(path) {
    const n = lib();
    return Policy._make(
        n.fn.policy_from_file(checkText(path, 'path'), ptrOut, errOut));
  }

  // A policy in protobuf text format (a string or its UTF-8 bytes).
  static fromText(text) {
    const n = lib();
    const b = checkBytes(text, 'text');
    return Policy._make(n.fn.policy_from_text(b, b.length, ptrOut, errOut));
  }

  // A binary protobuf policy.
  static fromBytes(bytes) {
    const n = lib();
    if (typeof bytes === 'string') {
      throw invalid('fromBytes takes a Buffer or Uint8Array (fromText reads ' +
                    'text)');
    }
    const b = checkBytes(bytes, 'bytes');
    return Policy._make(n.fn.policy_from_bytes(b, b.length, ptrOut, errOut));
  }

  _handle() {
    if (this._h === null) {
      throw new errorClasses.FailedPreconditionError('the policy is closed');
    }
    return this._h;
  }

  // The policy's name (possibly "").
  get name() {
    if (this._name === undefined) {
      const h = this._handle();
      const out = [null];
      const status = N.fn.policy_name(h, out, errOut);
      if (status !== 0) fail(status);
      this._name = out[0];
    }
    return this._name;
  }

  // The binary protobuf encoding.
  toBytes() {
    const status = N.fn.policy_to_bytes(this._handle(), ptrOut, sizeOut, errOut);
    if (status !== 0) fail(status);
    return takeBuffer();
  }

  // The protobuf text format.
  toText() {
    const status = N.fn.policy_to_text(this._handle(), ptrOut, sizeOut, errOut);
    if (status !== 0) fail(status);
    return takeBuffer().toString('utf8');
  }

  // Writes the binary encoding to `path`, replacing it atomically.
  save(path) {
    const status = N.fn.policy_to_file(this._handle(), checkText(path, 'path'),
                                       errOut);
    if (status !== 0) fail(status);
  }

  get closed() {
    return this._h === null;
  }

  // Frees the policy now (else it is freed when collected).
  close() {
    if (this._h === null) return;
    finalizers.unregister(this);
    N.fn.policy_destroy(this._h);
    this._h = null;
  }
}

// --- Decision ----------------------------------------------------------------------------

// The answer of Engine.decide. The scalar parts are plain properties; the
// readable reasons and the feature contributions are read from the
// library when first asked for (decisions are made without text).
class Decision {
  #reasonCount;
  #contributionCount;
  #reasons = null;
  #contributions = null;
  #policy = null;
  #h;

  constructor(token, handle, info) {
    if (token !== CONSTRUCT) throw new TypeError('decisions come from Engine.decide()');
    const o = N.infoOffsets;
    this.action = N.actions[i32(info, o.action)];
    this.reason = N.reasons[i32(info, o.reason)];
    this.probability = f64(info, o.probability);
    this.threshold = f64(info, o.threshold);
    this.wouldOffer = info[o.would_offer] !== 0;
    this.recheckAtMs = info[o.has_recheck_at] !== 0
                           ? Number(i64(info, o.recheck_at_ms)) : null;
    this.#reasonCount = u32(info, o.reason_count);
    this.#contributionCount = u32(info, o.contribution_count);
    this.offerProbability = f64(info, o.offer_probability);
    this.explored = info[o.explored] !== 0;
    this.uplift = info[o.has_uplift] !== 0 ? f64(info, o.uplift) : null;
    this.#h = handle;
    finalizers.register(this, {destroy: 'decision_destroy', handle}, this);
  }

  // True for an offer ("offer now").
  get offer() {
    return this.action === 'offer';
  }

  #handle() {
    if (this.#h === null) {
      throw new errorClasses.FailedPreconditionError('the decision is closed');
    }
    return this.#h;
  }

  // The readable reasons, e.g. "declined an offer 2 d ago (cooldown 30 d)".
  reasons() {
    if (this.#reasons === null) {
      const h = this.#handle();
      const out = [];
      const text = [null];
      for (let i = 0; i < this.#reasonCount; ++i) {
        const status = N.fn.decision_get_reason(h, i, text, errOut);
        if (status !== 0) fail(status);
        out.push(text[0]);
      }
      this.#reasons = out;
      this.#freeIfRead();
    }
    return this.#reasons.slice();
  }

  // Each feature's value and its contribution to the log-odds, in feature
  // order.
  contributions() {
    if (this.#contributions === null) {
      const h = this.#handle();
      const out = [];
      const feature = [null];
      const value = [0];
      const contribution = [0];
      for (let i = 0; i < this.#contributionCount; ++i) {
        const status = N.fn.decision_get_contribution(h, i, feature, value,
                                                      contribution, errOut);
        if (status !== 0) fail(status);
        out.push({feature: feature[0], value: value[0],
                  contribution: contribution[0]});
      }
      this.#contributions = out;
      this.#freeIfRead();
    }
    return this.#contributions.map((c) => ({...c}));
  }

  // Once both texts are read, the library's copy is no longer needed.
  #freeIfRead() {
    if (this.#reasons !== null && this.#contributions !== null &&
        this.#policy !== null) {
      this.close();
    }
  }

  // The name and version (16 hex digits of a hash of its encoding) of the
  // policy the decision was made under.
  get policyName() {
    return this.#readPolicy()[0];
  }

  get policyVersion() {
    return this.#readPolicy()[1];
  }

  #readPolicy() {
    if (this.#policy === null) {
      const name = [null];
      const version = [null];
      const status = N.fn.decision_get_policy(this.#handle(), name, version,
                                              errOut);
      if (status !== 0) fail(status);
      this.#policy = [name[0], version[0]];
      this.#freeIfRead();
    }
    return this.#policy;
  }

  // Frees the library's copy now (else when collected). Reasons and
  // contributions read before stay readable.
  close() {
    if (this.#h === null) return;
    finalizers.unregister(this);
    N.fn.decision_destroy(this.#h);
    this.#h = null;
  }

  toJSON() {
    const out = {
      action: this.action,
      reason: this.reason,
      probability: this.probability,
      threshold: this.threshold,
      wouldOffer: this.wouldOffer,
      recheckAtMs: this.recheckAtMs,
      offerProbability: this.offerProbability,
      explored: this.explored,
      uplift: this.uplift,
    };
    if (this.#h !== null || this.#reasons !== null) out.reasons = this.reasons();
    return out;
  }
}

// --- Engine ------------------------------------------------------------------------------

const OPTION_KEYS = new Set([
  'policy', 'policyFile', 'maxSessions', 'maxMemoryRecords', 'shards',
  'visitorKey', 'visitorKeyFile', 'store', 'maxUrlBytes', 'maxReferrerBytes',
  'decisionLog',
]);

// Builds a beckon_engine_options_t from `opts` (null when all are defaults).
function makeOptions(opts) {
  const n = N;
  const set = [];
  if (opts.maxSessions !== undefined) {
    const v = checkUnsigned(opts.maxSessions, 'maxSessions', 64);
    set.push((o) => n.fn.engine_options_set_max_sessions(o, v, errOut));
  }
  if (opts.maxMemoryRecords !== undefined) {
    const v = checkUnsigned(opts.maxMemoryRecords, 'maxMemoryRecords', 64);
    set.push((o) => n.fn.engine_options_set_max_memory_records(o, v, errOut));
  }
  if (opts.shards !== undefined) {
    const v = checkUnsigned(opts.shards, 'shards', 32);
    set.push((o) => n.fn.engine_options_set_shards(o, v, errOut));
  }
  if (opts.visitorKey !== undefined) {
    const k = opts.visitorKey;
    if (!Array.isArray(k) || k.length !== 2) {
      throw invalid('visitorKey must be [key0, key1], two 64-bit unsigned ' +
                    'integers (numbers or bigints)');
    }
    const k0 = checkUnsigned(k[0], 'visitorKey[0]', 64);
    const k1 = checkUnsigned(k[1], 'visitorKey[1]', 64);
    set.push((o) => n.fn.engine_options_set_visitor_key(o, k0, k1, errOut));
  }
  if (opts.visitorKeyFile !== undefined) {
    const v = checkText(opts.visitorKeyFile, 'visitorKeyFile');
    set.push((o) => n.fn.engine_options_set_visitor_key_file(o, v, errOut));
  }
  if (opts.decisionLog !== undefined) {
    const v = checkText(opts.decisionLog, 'decisionLog');
    set.push((o) => n.fn.engine_options_set_decision_log(o, v, errOut));
  }
  if (opts.store !== undefined && opts.store !== 'memory') {
    const s = opts.store;
    if (s === null || typeof s !== 'object' || typeof s.redis !== 'string' ||
        Object.keys(s).length !== 1) {
      throw invalid("store must be 'memory' or {redis: 'redis://...'}");
    }
    const url = checkText(s.redis, 'store.redis');
    set.push((o) => n.fn.engine_options_set_redis_url(o, url, errOut));
  }
  if (opts.maxUrlBytes !== undefined) {
    const v = checkUnsigned(opts.maxUrlBytes, 'maxUrlBytes', 32);
    set.push((o) => n.fn.engine_options_set_max_url_bytes(o, v, errOut));
  }
  if (opts.maxReferrerBytes !== undefined) {
    const v = checkUnsigned(opts.maxReferrerBytes, 'maxReferrerBytes', 32);
    set.push((o) => n.fn.engine_options_set_max_referrer_bytes(o, v, errOut));
  }
  if (set.length === 0) return null;
  let status = n.fn.engine_options_create(ptrOut, errOut);
  if (status !== 0) fail(status);
  const o = pointerIn(ptrOut);
  try {
    for (const f of set) {
      status = f(o);
      if (status !== 0) fail(status);
    }
  } catch (e) {
    n.fn.engine_options_destroy(o);
    throw e;
  }
  return o;
}

// Event types of the event log (docs/event-log.md), for Engine.observe().
const EVENT_TYPES = [
  'page_view', 'search', 'cart', 'purchase', 'help_contact', 'offer_shown',
  'offer_accepted', 'offer_declined', 'offer_ignored', 'agents',
];

// An engine: the visitors' sessions and memory, in this process or in
// Redis, and the policy it decides by. Its calls are synchronous and take
// microseconds in memory (a Redis round trip or two with Redis).
class Engine {
  #h;
  #redis;

  constructor(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw invalid('Engine options must be an object');
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) {
        throw invalid(`unknown engine option "${key}" (one of ` +
                      `${[...OPTION_KEYS].join(', ')})`);
      }
    }
    const n = lib();
    let policy = options.policy;
    if (policy !== undefined && options.policyFile !== undefined) {
      throw invalid('give policy or policyFile, not both');
    }
    let ownPolicy = null;
    if (policy !== undefined && !(policy instanceof Policy)) {
      ownPolicy = Policy.fromBytes(policy);
      policy = ownPolicy;
    }
    const path = options.policyFile === undefined
                     ? undefined : checkText(options.policyFile, 'policyFile');
    let o = null;
    try {
      o = makeOptions(options);
      let status;
      if (path !== undefined) {
        status = n.fn.engine_create_from_policy_file(path, o, ptrOut, errOut);
      } else if (policy !== undefined) {
        status = n.fn.engine_create(policy._handle(), o, ptrOut, errOut);
      } else {
        // The default policy, made once per process.
        if (defaultPolicy === null) defaultPolicy = Policy.default();
        status = n.fn.engine_create(defaultPolicy._handle(), o, ptrOut, errOut);
      }
      if (status !== 0) fail(status);
    } finally {
      if (o !== null) n.fn.engine_options_destroy(o);
      if (ownPolicy !== null) ownPolicy.close();
    }
    this.#h = pointerIn(ptrOut);
    this.#redis = options.store !== undefined && options.store !== 'memory';
    finalizers.register(this, {destroy: 'engine_destroy', handle: this.#h},
                        this);
  }

  #handle() {
    if (this.#h === null) {
      throw new errorClasses.FailedPreconditionError('the engine is closed');
    }
    return this.#h;
  }

  // True if the visitors live in Redis.
  get usesRedis() {
    return this.#redis;
  }

  get closed() {
    return this.#h === null;
  }

  // Destroys the engine and its in-memory visitor state (with Redis, the
  // state stays in Redis). Further calls throw FailedPreconditionError.
  // Decisions made by it stay readable.
  close() {
    if (this.#h === null) return;
    finalizers.unregister(this);
    N.fn.engine_destroy(this.#h);
    this.#h = null;
  }

  // A new handle to the policy the engine decides by.
  policy() {
    const status = N.fn.engine_policy(this.#handle(), ptrOut, errOut);
    return Policy._make(status);
  }

  // --- Events: one method per event kind; each records one event at tsMs
  // (milliseconds since the Unix epoch). A rejected event throws
  // InvalidArgumentError (with Redis: UnavailableError or AbortedError) and
  // changes nothing.

  pageView(tsMs, visitor, page, referrer) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    checkText(visitor, 'visitor');
    checkText(page, 'page');
    const ref = referrer === undefined || referrer === null
                    ? null : checkText(referrer, 'referrer');
    const status = N.fn.engine_observe_page_view(h, ts, visitor, page, ref,
                                                 errOut);
    if (status !== 0) fail(status);
  }

  search(tsMs, visitor, page, results) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    checkText(visitor, 'visitor');
    checkText(page, 'page');
    const r = checkInt64(results, 'results');
    const status = N.fn.engine_observe_search(h, ts, visitor, page, r, errOut);
    if (status !== 0) fail(status);
  }

  cart(tsMs, visitor, page, cartValue) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    checkText(visitor, 'visitor');
    checkText(page, 'page');
    checkNumber(cartValue, 'cartValue');
    const status = N.fn.engine_observe_cart(h, ts, visitor, page, cartValue,
                                            errOut);
    if (status !== 0) fail(status);
  }

  purchase(tsMs, visitor, page, orderValue) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    checkText(visitor, 'visitor');
    checkText(page, 'page');
    checkNumber(orderValue, 'orderValue');
    const status = N.fn.engine_observe_purchase(h, ts, visitor, page,
                                                orderValue, errOut);
    if (status !== 0) fail(status);
  }

  #channelEvent(f, tsMs, visitor, page, channel) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    checkText(visitor, 'visitor');
    checkText(page, 'page');
    const status = f(h, ts, visitor, page, channelOf(channel), errOut);
    if (status !== 0) fail(status);
  }

  helpContact(tsMs, visitor, page, channel) {
    this.#channelEvent(N.fn.engine_observe_help_contact, tsMs, visitor, page,
                       channel);
  }

  offerShown(tsMs, visitor, page, channel) {
    this.#channelEvent(N.fn.engine_observe_offer_shown, tsMs, visitor, page,
                       channel);
  }

  offerAccepted(tsMs, visitor, page, channel) {
    this.#channelEvent(N.fn.engine_observe_offer_accepted, tsMs, visitor,
                       page, channel);
  }

  offerDeclined(tsMs, visitor, page, channel) {
    this.#channelEvent(N.fn.engine_observe_offer_declined, tsMs, visitor,
                       page, channel);
  }

  offerIgnored(tsMs, visitor, page, channel) {
    this.#channelEvent(N.fn.engine_observe_offer_ignored, tsMs, visitor, page,
                       channel);
  }

  // Site-wide: freeAgents agents are free now.
  agents(tsMs, freeAgents) {
    const h = this.#handle();
    const ts = checkInt64(tsMs, 'tsMs');
    const a = checkInt64(freeAgents, 'freeAgents');
    const status = N.fn.engine_observe_agents(h, ts, a, errOut);
    if (status !== 0) fail(status);
  }

  // One event as an object with the event log's type names:
  //   {type: 'page_view', tsMs, visitor, page, referrer}
  //   {type: 'search', ..., results}  {type: 'cart', ..., cartValue}
  //   {type: 'purchase', ..., orderValue}  {type: 'offer_declined', ...,
  //   channel}  {type: 'agents', tsMs, freeAgents}
  observe(event) {
    if (event === null || typeof event !== 'object') {
      throw invalid('observe takes an event object');
    }
    const {tsMs, visitor} = event;
    const page = event.page === undefined ? '' : event.page;
    switch (event.type) {
      case 'page_view': return this.pageView(tsMs, visitor, page, event.referrer);
      case 'search': return this.search(tsMs, visitor, page, event.results);
      case 'cart': return this.cart(tsMs, visitor, page, event.cartValue);
      case 'purchase': return this.purchase(tsMs, visitor, page, event.orderValue);
      case 'help_contact': return this.helpContact(tsMs, visitor, page, event.channel);
      case 'offer_shown': return this.offerShown(tsMs, visitor, page, event.channel);
      case 'offer_accepted': return this.offerAccepted(tsMs, visitor, page, event.channel);
      case 'offer_declined': return this.offerDeclined(tsMs, visitor, page, event.channel);
      case 'offer_ignored': return this.offerIgnored(tsMs, visitor, page, event.channel);
      case 'agents': return this.agents(tsMs, event.freeAgents);
      default:
        throw invalid(`unknown event type "${event.type}" (one of ` +
                      `${EVENT_TYPES.join(', ')})`);
    }
  }

  // Decides for `visitor` at nowMs. An offer is recorded as made. An
  // unknown visitor is not an error (wait, no_session).
  decide(visitor, nowMs) {
    const h = this.#handle();
    checkText(visitor, 'visitor');
    const now = checkInt64(nowMs, 'nowMs');
    const n = N;
    let status = n.fn.decision_create(ptrOut, errOut);
    if (status !== 0) fail(status);
    const d = pointerIn(ptrOut);
    try {
      status = n.fn.engine_decide(h, visitor, now, d, errOut);
      if (status !== 0) fail(status);
      status = n.fn.decision_get_info(d, infoBuf, errOut);
      if (status !== 0) fail(status);
    } catch (e) {
      n.fn.decision_destroy(d);
      throw e;
    }
    return new Decision(CONSTRUCT, d, infoBuf);
  }

  // Drops idle sessions and memory whose cooldowns have passed; call it
  // periodically (with Redis, keys expire by their TTLs).
  expire(nowMs) {
    const h = this.#handle();
    const status = N.fn.engine_expire(h, checkInt64(nowMs, 'nowMs'), errOut);
    if (status !== 0) fail(status);
  }

  // The visitor state as bytes, for restore() (in this or a new engine
  // with the same visitor key).
  snapshot() {
    const status = N.fn.engine_snapshot(this.#handle(), ptrOut, sizeOut, errOut);
    if (status !== 0) fail(status);
    return takeBuffer();
  }

  snapshotToFile(path) {
    const status = N.fn.engine_snapshot_to_file(this.#handle(),
                                                checkText(path, 'path'), errOut);
    if (status !== 0) fail(status);
  }

  // Replaces the visitor state with a snapshot's: DataLossError for a
  // malformed one, FailedPreconditionError for another visitor key or an
  // unknown version; either way nothing changes.
  restore(snapshot) {
    const h = this.#handle();
    if (!(snapshot instanceof Uint8Array)) {
      throw invalid('restore takes the Buffer of snapshot()');
    }
    const status = N.fn.engine_restore(h, snapshot, snapshot.length, errOut);
    if (status !== 0) fail(status);
  }

  restoreFromFile(path) {
    const status = N.fn.engine_restore_from_file(this.#handle(),
                                                 checkText(path, 'path'), errOut);
    if (status !== 0) fail(status);
  }

  // Replaces the live engine's policy, keeping every visitor's state
  // (sessions mapped onto the new page groups by pattern), the counters and
  // the rate window. FailedPreconditionError, changing nothing, for another
  // session timeout or rate window (or, with Redis, other page groups).
  setPolicy(policy) {
    if (!(policy instanceof Policy)) {
      throw invalid('setPolicy takes a Policy');
    }
    const status = N.fn.engine_set_policy(this.#handle(), policy._handle(),
                                          errOut);
    if (status !== 0) fail(status);
  }

  // The metrics in the Prometheus text exposition format, for a /metrics
  // endpoint (docs/operations.md#metrics).
  metricsText() {
    const status = N.fn.engine_metrics_text(this.#handle(), ptrOut, sizeOut,
                                            errOut);
    if (status !== 0) fail(status);
    return takeBuffer().toString('utf8');
  }

  // The counters, summed over shards.
  stats() {
    const h = this.#handle();
    const status = N.fn.engine_stats(h, statsBuf, errOut);
    if (status !== 0) fail(status);
    const o = N.statsOffsets;
    const get = (field) => Number(u64(statsBuf, o[field]));
    const byAction = {};
    for (const [i, name] of N.actions.entries()) {
      byAction[name] = Number(u64(statsBuf, o.decisions_by_action + 8 * i));
    }
    const byReason = {};
    for (const [i, name] of N.reasons.entries()) {
      byReason[name] = Number(u64(statsBuf, o.decisions_by_reason + 8 * i));
    }
    return {
      liveSessions: get('live_sessions'),
      memoryRecords: get('memory_records'),
      sessionsStarted: get('sessions_started'),
      sessionsExpired: get('sessions_expired'),
      sessionsEvicted: get('sessions_evicted'),
      memoryEvicted: get('memory_evicted'),
      declinesEvicted: get('declines_evicted'),
      eventsObserved: get('events_observed'),
      eventsRejected: get('events_rejected'),
      decisionsByAction: byAction,
      decisionsByReason: byReason,
      storeErrors: get('store_errors'),
      storeConflicts: get('store_conflicts'),
      storeRoundTrips: get('store_round_trips'),
    };
  }
}
if (typeof Symbol.dispose === 'symbol') {
  for (const cls of [Engine, Policy, Decision]) {
    cls.prototype[Symbol.dispose] = function() {
      this.close();
    };
  }
}

let defaultPolicy = null;

// --- Library -----------------------------------------------------------------------------

// The release version of the loaded library ("MAJOR.MINOR.PATCH").
function version() {
  return lib().fn.version();
}

// The ABI version of the loaded library (its SOVERSION).
function abiVersion() {
  return lib().fn.abi_version();
}

// The path or name the library was loaded from.
function libraryPath() {
  return lib().path;
}

module.exports = {
  load,
  version,
  abiVersion,
  libraryPath,
  Policy,
  Engine,
  Decision,
  BeckonError,
  ...errorClasses,
  Status,
  CHANNELS: Object.freeze(CHANNELS.slice()),
  EVENT_TYPES: Object.freeze(EVENT_TYPES.slice()),
  get ACTIONS() {
    return Object.freeze(lib().actions.slice());
  },
  get REASONS() {
    return Object.freeze(lib().reasons.slice());
  },
};
