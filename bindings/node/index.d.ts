// Type declarations of the beckon package (index.js), written by hand and
// checked by test/types.test.js (tsc --strict on test/usage.ts, and the
// exported names against the module's).

/// <reference types="node" />

/** Milliseconds since the Unix epoch, an integer (or a bigint). */
export type Timestamp = number | bigint;

/** What the engine answers. */
export type Action = 'offer' | 'wait' | 'suppress';

/** Why (docs/concepts.md, "Reason codes"). */
export type Reason =
  | 'score'
  | 'no_session'
  | 'dwell'
  | 'below_threshold'
  | 'declined'
  | 'ignored'
  | 'engaged'
  | 'session_cap'
  | 'min_gap'
  | 'holdout'
  | 'no_agents'
  | 'rate_cap'
  | 'store_unavailable'
  | 'offer_rate_cap';

/** A help channel, by name or by its beckon_channel number. */
export type Channel = 'unspecified' | 'chat' | 'call' | 'email' | 'form' | number;

/** The status names of the C ABI (beckon_status_code). */
export type StatusCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/** The event types of the event log, for Engine.observe(). */
export type EventType =
  | 'page_view'
  | 'search'
  | 'cart'
  | 'purchase'
  | 'help_contact'
  | 'offer_shown'
  | 'offer_accepted'
  | 'offer_declined'
  | 'offer_ignored'
  | 'agents';

/** Loads libbeckon_c (see load()). */
export interface LoadedLibrary {
  path: string;
  version: string;
  abiVersion: number;
}

/**
 * Loads libbeckon_c from `library` (a path, or a name the dynamic loader
 * finds). Without one: $BECKON_LIBRARY, else the source tree's
 * build/bindings/c/, else libbeckon_c.so.0 from the library path. The
 * first use loads it when this is not called; a process loads one library.
 */
export function load(library?: string): LoadedLibrary;
/** The release version of the loaded library ("MAJOR.MINOR.PATCH"). */
export function version(): string;
/** The ABI version of the loaded library (its SOVERSION). */
export function abiVersion(): number;
/** The path or name the library was loaded from. */
export function libraryPath(): string;

/** The C ABI's status numbers by name (OK is 0). */
export const Status: Readonly<Record<'OK' | StatusCode, number>>;
export const CHANNELS: readonly ['unspecified', 'chat', 'call', 'email', 'form'];
export const EVENT_TYPES: readonly EventType[];
/** The library's actions, by number. */
export const ACTIONS: readonly Action[];
/** The library's reasons, by number. */
export const REASONS: readonly Reason[];

/** Every failure of a beckon call. */
export class BeckonError extends Error {
  constructor(code: StatusCode, message: string, status?: number);
  /** The status name, e.g. 'INVALID_ARGUMENT'. */
  readonly code: StatusCode;
  /** The status number (Abseil's numbering). */
  readonly status: number;
}
/** Rejected input: a bad timestamp, id, value, option or policy. */
export class InvalidArgumentError extends BeckonError { constructor(message: string); readonly code: 'INVALID_ARGUMENT'; }
/** A file that cannot be opened. */
export class NotFoundError extends BeckonError { constructor(message: string); readonly code: 'NOT_FOUND'; }
/** A file that cannot be written; credentials Redis refuses. */
export class PermissionDeniedError extends BeckonError { constructor(message: string); readonly code: 'PERMISSION_DENIED'; }
/** A closed handle; a snapshot of another visitor key or version. */
export class FailedPreconditionError extends BeckonError { constructor(message: string); readonly code: 'FAILED_PRECONDITION'; }
/** Redis is down or too slow: report the event again. */
export class UnavailableError extends BeckonError { constructor(message: string); readonly code: 'UNAVAILABLE'; }
/** Other processes kept changing the visitor (Redis): report it again. */
export class AbortedError extends BeckonError { constructor(message: string); readonly code: 'ABORTED'; }
/** A malformed snapshot, a file that cannot be read. */
export class DataLossError extends BeckonError { constructor(message: string); readonly code: 'DATA_LOSS'; }
/** A library built without the Redis store. */
export class UnimplementedError extends BeckonError { constructor(message: string); readonly code: 'UNIMPLEMENTED'; }
/** Out of memory. */
export class ResourceExhaustedError extends BeckonError { constructor(message: string); readonly code: 'RESOURCE_EXHAUSTED'; }
export class OutOfRangeError extends BeckonError { constructor(message: string); readonly code: 'OUT_OF_RANGE'; }
export class CancelledError extends BeckonError { constructor(message: string); readonly code: 'CANCELLED'; }
export class UnknownError extends BeckonError { constructor(message: string); readonly code: 'UNKNOWN'; }
export class DeadlineExceededError extends BeckonError { constructor(message: string); readonly code: 'DEADLINE_EXCEEDED'; }
export class AlreadyExistsError extends BeckonError { constructor(message: string); readonly code: 'ALREADY_EXISTS'; }
export class InternalError extends BeckonError { constructor(message: string); readonly code: 'INTERNAL'; }
export class UnauthenticatedError extends BeckonError { constructor(message: string); readonly code: 'UNAUTHENTICATED'; }

/** An immutable, validated policy. Engines copy it. */
export class Policy {
  private constructor();
  /** The built-in default policy ("beckon-default"). */
  static default(): Policy;
  /** A binary or text-format policy file. */
  static fromFile(path: string): Policy;
  /** Protobuf text format (a string or its UTF-8 bytes). */
  static fromText(text: string | Uint8Array): Policy;
  /** Binary protobuf. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): Policy;
  /** The policy's name (possibly ""). */
  readonly name: string;
  readonly closed: boolean;
  toBytes(): Buffer;
  toText(): string;
  /** Writes the binary encoding to `path`, atomically. */
  save(path: string): void;
  /** Frees the policy now (else when it is collected). */
  close(): void;
  [Symbol.dispose](): void;
}

/** The store of visitor state: this process's memory, or a Redis. */
export type Store = 'memory' | { redis: string };

/** Engine options; every one may be left out (the C ABI's defaults). */
export interface EngineOptions {
  /** The policy (or its binary bytes); default: the built-in one. */
  policy?: Policy | Uint8Array;
  /** A policy file instead of `policy`. */
  policyFile?: string;
  /** Sessions kept at most (>= 1; default 1,000,000). */
  maxSessions?: number | bigint;
  /** Decline/ignore records kept at most (>= 1; default 4,000,000). */
  maxMemoryRecords?: number | bigint;
  /** A power of two in [1, 4096] (default 64). */
  shards?: number;
  /** The visitor-id hash's secret key, two 64-bit halves ([0, 0]: none). */
  visitorKey?: [number | bigint, number | bigint];
  /** A file holding the key (created at random, mode 0600, if missing). */
  visitorKeyFile?: string;
  /** Appends every decision to this file as a line of JSON (the decision log, docs/operations.md). */
  decisionLog?: string;
  /** Default 'memory'. {redis: 'redis://host:port/db?prefix=shop:'}. */
  store?: Store;
  /** Longest page URL accepted, in bytes (default 8192). */
  maxUrlBytes?: number;
  /** Longest referrer accepted, in bytes (default 8192). */
  maxReferrerBytes?: number;
}

/** The answer of Engine.decide. */
export class Decision {
  private constructor();
  readonly action: Action;
  readonly reason: Reason;
  /** The model's probability, in [0, 1]. */
  readonly probability: number;
  /** The threshold it was held against. */
  readonly threshold: number;
  /** True for a holdout suppress that would have offered. */
  readonly wouldOffer: boolean;
  /** When the answer could change (ms), or null. */
  readonly recheckAtMs: number | null;
  /**
   * The chance, over the engine's random draws (holdout, exploration),
   * that this decision goes past the score and the holdout: the propensity
   * to log for off-policy evaluation (docs/uplift.md).
   */
  readonly offerProbability: number;
  /** True for an exploration offer, made below the threshold. */
  readonly explored: boolean;
  /** The expected purchase uplift (a policy with model.uplift), or null. */
  readonly uplift: number|null;
  /** action === 'offer'. */
  readonly offer: boolean;
  /** The readable reasons, read from the library when first asked for. */
  reasons(): string[];
  /** The name of the policy the decision was made under. */
  readonly policyName: string;
  /** That policy's version: 16 hex digits of a hash of its encoding. */
  readonly policyVersion: string;
  /** Each feature's value and contribution to the log-odds. */
  contributions(): Contribution[];
  /** Frees the library's copy now; what was read stays readable. */
  close(): void;
  toJSON(): DecisionJSON;
  [Symbol.dispose](): void;
}

export interface Contribution {
  feature: string;
  value: number;
  contribution: number;
}

export interface DecisionJSON {
  action: Action;
  reason: Reason;
  probability: number;
  threshold: number;
  wouldOffer: boolean;
  recheckAtMs: number | null;
  offerProbability: number;
  explored: boolean;
  uplift: number|null;
  reasons?: string[];
}

/** The engine's counters (docs/concepts.md, "Statistics"). */
export interface Stats {
  liveSessions: number;
  memoryRecords: number;
  sessionsStarted: number;
  sessionsExpired: number;
  sessionsEvicted: number;
  memoryEvicted: number;
  declinesEvicted: number;
  eventsObserved: number;
  eventsRejected: number;
  decisionsByAction: Record<Action, number>;
  decisionsByReason: Record<Reason, number>;
  storeErrors: number;
  storeConflicts: number;
  storeRoundTrips: number;
}

/** One event, with the event log's type names (Engine.observe). */
export type Event =
  | { type: 'page_view'; tsMs: Timestamp; visitor: string; page?: string; referrer?: string | null }
  | { type: 'search'; tsMs: Timestamp; visitor: string; page?: string; results: number | bigint }
  | { type: 'cart'; tsMs: Timestamp; visitor: string; page?: string; cartValue: number }
  | { type: 'purchase'; tsMs: Timestamp; visitor: string; page?: string; orderValue: number }
  | {
      type: 'help_contact' | 'offer_shown' | 'offer_accepted' | 'offer_declined' | 'offer_ignored';
      tsMs: Timestamp;
      visitor: string;
      page?: string;
      channel?: Channel;
    }
  | { type: 'agents'; tsMs: Timestamp; freeAgents: number | bigint };

/**
 * An engine: visitors' sessions and memory (in this process or in Redis)
 * and the policy it decides by. Calls are synchronous. A rejected call
 * throws a BeckonError and changes nothing.
 */
export class Engine {
  constructor(options?: EngineOptions);
  readonly closed: boolean;
  /** True if the visitors live in Redis. */
  readonly usesRedis: boolean;
  /** Destroys the engine; later calls throw FailedPreconditionError. */
  close(): void;
  [Symbol.dispose](): void;
  /** A new handle to the policy the engine decides by. */
  policy(): Policy;

  pageView(tsMs: Timestamp, visitor: string, page: string, referrer?: string | null): void;
  search(tsMs: Timestamp, visitor: string, page: string, results: number | bigint): void;
  cart(tsMs: Timestamp, visitor: string, page: string, cartValue: number): void;
  purchase(tsMs: Timestamp, visitor: string, page: string, orderValue: number): void;
  /** Channel default: 'chat'. */
  helpContact(tsMs: Timestamp, visitor: string, page: string, channel?: Channel): void;
  offerShown(tsMs: Timestamp, visitor: string, page: string, channel?: Channel): void;
  offerAccepted(tsMs: Timestamp, visitor: string, page: string, channel?: Channel): void;
  /** Accepted even when late; not offered again for the decline cooldown. */
  offerDeclined(tsMs: Timestamp, visitor: string, page: string, channel?: Channel): void;
  offerIgnored(tsMs: Timestamp, visitor: string, page: string, channel?: Channel): void;
  /** Site-wide: freeAgents agents are free now. */
  agents(tsMs: Timestamp, freeAgents: number | bigint): void;
  observe(event: Event): void;

  /** Decides for `visitor` at nowMs; an offer is recorded as made. */
  decide(visitor: string, nowMs: Timestamp): Decision;
  /** Drops idle sessions and memory whose cooldowns have passed. */
  expire(nowMs: Timestamp): void;
  snapshot(): Buffer;
  snapshotToFile(path: string): void;
  restore(snapshot: Uint8Array): void;
  restoreFromFile(path: string): void;
  stats(): Stats;
  /** Replaces the live engine's policy, keeping every visitor's state, the counters and the rate window. */
  setPolicy(policy: Policy): void;
  /** The metrics in the Prometheus text exposition format. */
  metricsText(): string;
}
