/* beckon: the C ABI. Decides when an online shop should proactively offer
 * help to a visitor, for hosts that are not C++ (C, PHP FFI, Node.js, Go,
 * Java). Implemented over the C++ API in the shared library beckon_c.
 *
 *   beckon_engine_t* engine = NULL;
 *   beckon_decision_t* decision = NULL;
 *   char* err = NULL;
 *   if (beckon_engine_create_default(NULL, &engine, &err) != BECKON_OK) {
 *     fprintf(stderr, "%s\n", err);  beckon_free(err);  return 1;
 *   }
 *   beckon_decision_create(&decision, NULL);
 *   beckon_engine_observe_page_view(engine, now_ms, "v1", "/checkout", NULL,
 *                                   &err);
 *   beckon_engine_decide(engine, "v1", now_ms, decision, &err);
 *   beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
 *   beckon_decision_get_info(decision, &info, &err);
 *   // info.action is BECKON_ACTION_OFFER, _WAIT or _SUPPRESS.
 *   beckon_decision_destroy(decision);
 *   beckon_engine_destroy(engine);
 *
 * The rules of this header:
 *  - Objects are opaque handles made by a beckon_<noun>_create* (or _from_*)
 *    function and released by beckon_<noun>_destroy, which accepts NULL.
 *  - Every function that can fail returns a status code (beckon_status_code,
 *    Abseil's numbering: 0 is BECKON_OK) and takes a last parameter
 *    `char** errptr`. If errptr is not NULL, the function always stores to
 *    *errptr: NULL on success, and on failure a NUL-terminated message that
 *    the caller releases with beckon_free(). It never reads the old value.
 *  - Memory the library allocates (messages, byte buffers) is released only
 *    with beckon_free(). Pointers a function hands out as `const char**` are
 *    borrowed from a handle and stay valid as the function's comment says.
 *  - No exception and no abort crosses this interface. NULL handles or
 *    pointers (where not documented as optional) and impossible sizes are
 *    BECKON_INVALID_ARGUMENT errors whose message names the parameter.
 *    Running out of memory is BECKON_RESOURCE_EXHAUSTED.
 *  - A rejected call changes nothing. It leaves out-parameters for handles,
 *    buffers and strings NULL (sizes 0); structs and decisions untouched.
 *  - Integers are fixed-width, booleans are uint8_t (0 or 1), bytes are a
 *    pointer plus a size (at most 2^31 - 1; NULL only with size 0), text
 *    parameters are NUL-terminated UTF-8.
 *  - Structs that may grow start with `uint32_t struct_size`, set by the
 *    caller to sizeof (the *_INIT macros do). Fields are only ever appended,
 *    so a host built against an older header keeps working.
 *  - Thread safety is stated per function below. In short: an engine may be
 *    used from any number of threads at once; policies are immutable and may
 *    be shared; options and decisions belong to one thread at a time; no
 *    handle may be destroyed while another thread uses it.
 *
 * Time is an input: every call carries its timestamp (milliseconds since the
 * Unix epoch) and the engine never reads a clock. The semantics of events,
 * decisions, gates and recheck times are those of the C++ API
 * (docs/concepts.md); docs/c-api.md is the reference for this header.
 *
 * This header is valid C99 and C++. */
#ifndef BECKON_BECKON_H_
#define BECKON_BECKON_H_

#include <stddef.h>
#include <stdint.h>

#include "beckon/version.h"

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(BECKON_C_BUILDING)
#define BECKON_EXPORT __declspec(dllexport)
#else
#define BECKON_EXPORT __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define BECKON_EXPORT __attribute__((visibility("default")))
#else
#define BECKON_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Constants                                                                 */

/* Status codes, numbered as absl::StatusCode. */
typedef enum beckon_status_code {
  BECKON_OK = 0,
  BECKON_CANCELLED = 1,
  BECKON_UNKNOWN = 2,
  BECKON_INVALID_ARGUMENT = 3,
  BECKON_DEADLINE_EXCEEDED = 4,
  BECKON_NOT_FOUND = 5,
  BECKON_ALREADY_EXISTS = 6,
  BECKON_PERMISSION_DENIED = 7,
  BECKON_RESOURCE_EXHAUSTED = 8,
  BECKON_FAILED_PRECONDITION = 9,
  BECKON_ABORTED = 10,
  BECKON_OUT_OF_RANGE = 11,
  BECKON_UNIMPLEMENTED = 12,
  BECKON_INTERNAL = 13,
  BECKON_UNAVAILABLE = 14,
  BECKON_DATA_LOSS = 15,
  BECKON_UNAUTHENTICATED = 16
} beckon_status_code;

/* What the engine answers (beckon::Action). */
typedef enum beckon_action {
  BECKON_ACTION_OFFER = 0,   /* Offer help now; the offer is recorded. */
  BECKON_ACTION_WAIT = 1,    /* Not yet. */
  BECKON_ACTION_SUPPRESS = 2 /* A gate forbids an offer. */
} beckon_action;

/* Why (beckon::Reason; docs/concepts.md, "Reason codes"). */
typedef enum beckon_reason {
  BECKON_REASON_SCORE = 0,
  BECKON_REASON_NO_SESSION = 1,
  BECKON_REASON_DWELL = 2,
  BECKON_REASON_BELOW_THRESHOLD = 3,
  BECKON_REASON_DECLINED = 4,
  BECKON_REASON_IGNORED = 5,
  BECKON_REASON_ENGAGED = 6,
  BECKON_REASON_SESSION_CAP = 7,
  BECKON_REASON_MIN_GAP = 8,
  BECKON_REASON_HOLDOUT = 9,
  BECKON_REASON_NO_AGENTS = 10,
  BECKON_REASON_RATE_CAP = 11,
  /* The visitor store (Redis) could not be read or written: never an offer
   * (suppress), so a decline that cannot be checked is never overridden. */
  BECKON_REASON_STORE_UNAVAILABLE = 12,
  /* Site-wide offers at the policy's share of sessions started in the rate
   * window (gates.max_offer_share); needs no agent counts. */
  BECKON_REASON_OFFER_RATE_CAP = 13
} beckon_reason;

/* Help channels of help_contact and offer_* events (beckon::Channel). */
typedef enum beckon_channel {
  BECKON_CHANNEL_UNSPECIFIED = 0,
  BECKON_CHANNEL_CHAT = 1,
  BECKON_CHANNEL_CALL = 2,
  BECKON_CHANNEL_EMAIL = 3,
  BECKON_CHANNEL_FORM = 4
} beckon_channel;

/* The number of actions and reasons this version of the library knows. */
#define BECKON_ACTION_COUNT 3
#define BECKON_REASON_COUNT 14

/* Capacity of the per-action and per-reason arrays of beckon_stats_t. Larger
 * than the counts above so that new codes fit without a layout change. */
#define BECKON_STATS_MAX_ACTIONS 8
#define BECKON_STATS_MAX_REASONS 32

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */

typedef struct beckon_policy_t beckon_policy_t;
typedef struct beckon_engine_options_t beckon_engine_options_t;
typedef struct beckon_engine_t beckon_engine_t;
typedef struct beckon_decision_t beckon_decision_t;

/* ------------------------------------------------------------------------ */
/* Growable structs                                                          */

/* The scalar parts of a decision (beckon_decision_get_info). */
typedef struct beckon_decision_info_t {
  uint32_t struct_size; /* In: sizeof(beckon_decision_info_t). */
  int32_t action;       /* A beckon_action. */
  int32_t reason;       /* A beckon_reason. */
  uint8_t would_offer;  /* 1 for a holdout suppress that would have offered. */
  uint8_t has_recheck_at;      /* 1 if recheck_at_ms holds a time. */
  double probability;          /* The model's probability, in [0, 1]. */
  double threshold;            /* The threshold it was held against. */
  int64_t recheck_at_ms;       /* When the answer could change; 0 if none. */
  uint32_t reason_count;       /* Readable reasons: get them by index. */
  uint32_t contribution_count; /* Feature contributions: get them by index. */
  /* Appended after the first version: a struct_size of the first version
   * (up to contribution_count) gets the fields above only. The chance,
   * over the engine's random draws (the holdout's and exploration's), that
   * this decision goes past the score and the holdout: the decision log's
   * offer_probability (docs/uplift.md "Exploration"), the propensity a host
   * logs for off-policy evaluation. */
  double offer_probability;
  /* The expected purchase uplift (model.uplift), if has_uplift. */
  double uplift;
  uint8_t explored;   /* 1 for an exploration offer (below the threshold). */
  uint8_t has_uplift; /* 1 if the policy's uplift stage scored it. */
} beckon_decision_info_t;

#define BECKON_DECISION_INFO_INIT                                            \
  {                                                                          \
    sizeof(beckon_decision_info_t), 0, 0, 0, 0, 0.0, 0.0, 0, 0, 0, 0.0, 0.0, \
        0, 0                                                                 \
  }

/* The engine's counters (beckon::EngineStats; docs/concepts.md,
 * "Statistics"). */
typedef struct beckon_stats_t {
  uint32_t struct_size;  /* In: sizeof(beckon_stats_t). */
  uint32_t action_count; /* Entries used in decisions_by_action. */
  uint32_t reason_count; /* Entries used in decisions_by_reason. */
  uint64_t live_sessions;
  uint64_t memory_records;
  uint64_t sessions_started;
  uint64_t sessions_expired;
  uint64_t sessions_evicted;
  uint64_t memory_evicted;
  uint64_t events_observed;
  uint64_t events_rejected;
  /* Successful decisions by beckon_action and by beckon_reason. */
  uint64_t decisions_by_action[BECKON_STATS_MAX_ACTIONS];
  uint64_t decisions_by_reason[BECKON_STATS_MAX_REASONS];
  /* Appended with the Redis store: the store's counters, for this engine
   * only (0 with the in-memory store). Filled only if struct_size has room
   * for them, so a host built against the older struct is not overrun. */
  uint64_t store_errors;      /* Calls failed for the store (down, timeout). */
  uint64_t store_conflicts;   /* Optimistic updates retried. */
  uint64_t store_round_trips; /* Request/reply exchanges with Redis. */
  /* Appended later: of memory_evicted, the records that held a decline
   * (ignore-only records are evicted first; 0 with Redis). */
  uint64_t declines_evicted;
} beckon_stats_t;

/* clang-format off */
#define BECKON_STATS_INIT \
  { sizeof(beckon_stats_t), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0}, {0}, 0, 0, 0, 0 }
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Library                                                                   */

/* Returns the release version of the loaded library, "MAJOR.MINOR.PATCH"
 * (a static string). Compare with BECKON_VERSION_STRING to detect a header
 * and library mismatch. Cannot fail; thread-safe. */
BECKON_EXPORT const char* beckon_version(void);

/* Returns the ABI version of the loaded library (its SOVERSION). A host
 * built against BECKON_ABI_VERSION works with a library that returns the
 * same number. Cannot fail; thread-safe. */
BECKON_EXPORT int32_t beckon_abi_version(void);

/* Returns the name of a status code ("OK", "INVALID_ARGUMENT", ...), or NULL
 * for a number that is not one. A static string. Thread-safe. */
BECKON_EXPORT const char* beckon_status_name(int32_t status);

/* Returns "offer", "wait" or "suppress", or NULL for a number that is not a
 * beckon_action. A static string. Thread-safe. */
BECKON_EXPORT const char* beckon_action_name(int32_t action);

/* Returns the reason code ("score", "declined", "session_cap", ...), or NULL
 * for a number that is not a beckon_reason. A static string. Thread-safe. */
BECKON_EXPORT const char* beckon_reason_name(int32_t reason);

/* Releases memory the library allocated: error messages and the buffers of
 * beckon_policy_to_bytes, beckon_policy_to_text and beckon_engine_snapshot.
 * Accepts NULL. Thread-safe. */
BECKON_EXPORT void beckon_free(void* ptr);

/* ------------------------------------------------------------------------ */
/* Policy: the learned thresholds, model and gates, immutable and validated. */
/* A policy handle may be used from any number of threads at once.          */

/* Creates the built-in default policy (named "beckon-default"). */
BECKON_EXPORT int beckon_policy_default(beckon_policy_t** policy,
                                        char** errptr);

/* Parses and validates a binary protobuf policy of `size` bytes at `data`
 * (`data` may be NULL only if `size` is 0). On an invalid policy, returns
 * BECKON_INVALID_ARGUMENT with a message naming the offending field. */
BECKON_EXPORT int beckon_policy_from_bytes(const char* data, size_t size,
                                           beckon_policy_t** policy,
                                           char** errptr);

/* Parses and validates a policy in protobuf text format (`size` bytes at
 * `text`, which need not be NUL-terminated). */
BECKON_EXPORT int beckon_policy_from_text(const char* text, size_t size,
                                          beckon_policy_t** policy,
                                          char** errptr);

/* Reads a policy file: binary protobuf, or text format if the file is not
 * valid binary. BECKON_NOT_FOUND if it cannot be opened. Use it to validate
 * a policy file before deploying it. */
BECKON_EXPORT int beckon_policy_from_file(const char* path,
                                          beckon_policy_t** policy,
                                          char** errptr);

/* Destroys a policy. Engines created from it keep their own copy. Accepts
 * NULL. */
BECKON_EXPORT void beckon_policy_destroy(beckon_policy_t* policy);

/* Serializes to binary protobuf: stores a library-allocated buffer in *data
 * (release it with beckon_free) and its length in *size. The buffer is also
 * NUL-terminated, one byte past *size. */
BECKON_EXPORT int beckon_policy_to_bytes(const beckon_policy_t* policy,
                                         char** data, size_t* size,
                                         char** errptr);

/* Serializes to protobuf text format, like beckon_policy_to_bytes. */
BECKON_EXPORT int beckon_policy_to_text(const beckon_policy_t* policy,
                                        char** text, size_t* size,
                                        char** errptr);

/* Writes the binary encoding to `path`, replacing it atomically.
 * BECKON_PERMISSION_DENIED if it cannot be written. */
BECKON_EXPORT int beckon_policy_to_file(const beckon_policy_t* policy,
                                        const char* path, char** errptr);

/* Stores the policy's name (possibly "") in *name. The string is borrowed:
 * it stays valid until the policy handle is destroyed. */
BECKON_EXPORT int beckon_policy_name(const beckon_policy_t* policy,
                                     const char** name, char** errptr);

/* ------------------------------------------------------------------------ */
/* Engine options (beckon::Engine::Options). Values are checked when an      */
/* engine is created. An options handle is not thread-safe: set it from one  */
/* thread; once set, creating engines from it in several threads is safe.   */

/* Creates options holding the defaults: the in-memory store,
 * max_sessions 1,000,000, max_memory_records 4,000,000, shards 64, no
 * visitor key (the process's random key, or with Redis the fleet's),
 * max_url_bytes and max_referrer_bytes 8192. */
BECKON_EXPORT int beckon_engine_options_create(
    beckon_engine_options_t** options, char** errptr);

/* Destroys options. Accepts NULL. */
BECKON_EXPORT void beckon_engine_options_destroy(
    beckon_engine_options_t* options);

/* Sessions kept at most (>= 1), split over the shards. */
BECKON_EXPORT int beckon_engine_options_set_max_sessions(
    beckon_engine_options_t* options, uint64_t max_sessions, char** errptr);

/* Decline/ignore memory records kept at most (>= 1). */
BECKON_EXPORT int beckon_engine_options_set_max_memory_records(
    beckon_engine_options_t* options, uint64_t max_memory_records,
    char** errptr);

/* Number of shards: a power of two in [1, 4096]. */
BECKON_EXPORT int beckon_engine_options_set_shards(
    beckon_engine_options_t* options, uint32_t shards, char** errptr);

/* The secret key (two 64-bit halves, not both zero) of the hash that
 * replaces visitor ids. A snapshot restores only into an engine with the
 * same key. Without a key (or key file) an engine uses its process's random
 * key, or with Redis the fleet's key kept in Redis (docs/operations.md). */
BECKON_EXPORT int beckon_engine_options_set_visitor_key(
    beckon_engine_options_t* options, uint64_t key0, uint64_t key1,
    char** errptr);

/* Reads the visitor key from the file at `path` (32 hex digits), creating
 * it with a random key, mode 0600, if it does not exist; at Create, a file
 * other users may read is refused. "" clears it. For restarts and for a
 * fleet of processes sharing one disk. Not together with a visitor key. */
BECKON_EXPORT int beckon_engine_options_set_visitor_key_file(
    beckon_engine_options_t* options, const char* path, char** errptr);

/* Appends every decision to the file at `path` as one line of JSON (the
 * decision log, docs/operations.md: time, visitor hash, action, reason,
 * probability, threshold, recheck time, page group, policy name and
 * version), creating it with mode 0600; at Create, a file that cannot be
 * opened is BECKON_INVALID_ARGUMENT. "" clears it. */
BECKON_EXPORT int beckon_engine_options_set_decision_log(
    beckon_engine_options_t* options, const char* path, char** errptr);

/* Appends every event the engine accepts to the file at `path` as a row of
 * the event log format (EVENT-LOG.md; the header first if the file is
 * empty), visitor ids as given: with the decision log, the production log
 * the trainer reads. "" clears it. */
BECKON_EXPORT int beckon_engine_options_set_event_log(
    beckon_engine_options_t* options, const char* path, char** errptr);

/* Keeps the visitor state in Redis, shared by every process and server
 * whose engine uses the same Redis and key prefix, instead of in this
 * process's memory. `url` is
 *   redis://[user[:password]@]host[:port][/db][?option=value&...]
 *   unix:///path/to/redis.sock[?option=value&...]
 * with the options db, cluster (0/1), prefix, connect_timeout_ms,
 * command_timeout_ms, max_conflict_retries, backoff_min_ms, backoff_max_ms,
 * user, password (docs/c-api.md). It is parsed now: a bad URL is
 * BECKON_INVALID_ARGUMENT naming the problem, and the options keep their
 * store. NULL or "" switches back to the in-memory store. With Redis the
 * size and shard options do not apply, and every engine sharing the keys
 * must use the same policy groups and visitor key. */
BECKON_EXPORT int beckon_engine_options_set_redis_url(
    beckon_engine_options_t* options, const char* url, char** errptr);

/* Longest page URL accepted on a page view or search, in bytes (>= 1;
 * default 8192). A longer one is BECKON_INVALID_ARGUMENT naming the field,
 * its length and the cap, and changes nothing; it is checked before any
 * lock is taken. The other events do not read `page` and accept it at any
 * length: a decline is never lost to a long URL. */
BECKON_EXPORT int beckon_engine_options_set_max_url_bytes(
    beckon_engine_options_t* options, uint32_t max_url_bytes, char** errptr);

/* Longest referrer accepted on a page view, in bytes (>= 1; default 8192),
 * as beckon_engine_options_set_max_url_bytes. */
BECKON_EXPORT int beckon_engine_options_set_max_referrer_bytes(
    beckon_engine_options_t* options, uint32_t max_referrer_bytes,
    char** errptr);

/* ------------------------------------------------------------------------ */
/* Engine. Every function in this section may be called concurrently from   */
/* any number of threads on the same engine (visitors live in shards, each   */
/* under its own lock), except beckon_engine_destroy.                        */

/* Creates an engine that decides by `policy` (copied; the policy handle may
 * be destroyed afterwards). `options` may be NULL for the defaults. Returns
 * BECKON_INVALID_ARGUMENT for invalid options. With the Redis store it
 * connects at once; an unreachable Redis does not fail the call (the engine
 * answers store_unavailable until Redis is back, and reconnects by itself),
 * but credentials Redis refuses are BECKON_PERMISSION_DENIED, and a library
 * built without Redis support returns BECKON_UNIMPLEMENTED. */
BECKON_EXPORT int beckon_engine_create(const beckon_policy_t* policy,
                                       const beckon_engine_options_t* options,
                                       beckon_engine_t** engine, char** errptr);

/* Creates an engine on the built-in default policy. `options` may be NULL. */
BECKON_EXPORT int beckon_engine_create_default(
    const beckon_engine_options_t* options, beckon_engine_t** engine,
    char** errptr);

/* Creates an engine on a binary protobuf policy (see
 * beckon_policy_from_bytes). `options` may be NULL. */
BECKON_EXPORT int beckon_engine_create_from_policy_bytes(
    const char* data, size_t size, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr);

/* Creates an engine on a policy file (see beckon_policy_from_file).
 * `options` may be NULL. */
BECKON_EXPORT int beckon_engine_create_from_policy_file(
    const char* path, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr);

/* Destroys an engine and its visitor state. Accepts NULL. No other call on
 * the engine may be running or follow. */
BECKON_EXPORT void beckon_engine_destroy(beckon_engine_t* engine);

/* Creates a new handle to the engine's policy (destroy it when done). */
BECKON_EXPORT int beckon_engine_policy(const beckon_engine_t* engine,
                                       beckon_policy_t** policy, char** errptr);

/* Events. One function per event kind of the event log; each records one
 * event at `ts_ms`. `visitor` is the visitor's id (1 to 128 bytes) and
 * `page` the URL or path ("" if none); neither may be NULL. Rejected with
 * BECKON_INVALID_ARGUMENT, changing nothing: a timestamp out of range or
 * before the visitor's last event (late declines and ignores excepted), a
 * bad id, a negative result count, a money value that is negative, not
 * finite or >= 1e15, a channel that is not a beckon_channel, a page or
 * referrer of a page view or search longer than the options' max_url_bytes
 * or max_referrer_bytes (8192 by default). With the Redis
 * store, an event that cannot be stored is BECKON_UNAVAILABLE (Redis down
 * or too slow) or BECKON_ABORTED (other processes kept changing the visitor
 * for max_conflict_retries tries), and changes nothing: report it again, a
 * decline above all. */

/* A page view. `referrer` is the referrer URL, or NULL or "" for none. */
BECKON_EXPORT int beckon_engine_observe_page_view(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, const char* referrer, char** errptr);

/* A site search with `results` results (0: none found). */
BECKON_EXPORT int beckon_engine_observe_search(beckon_engine_t* engine,
                                               int64_t ts_ms,
                                               const char* visitor,
                                               const char* page,
                                               int64_t results, char** errptr);

/* A cart change; `cart_value` is the cart's value after it. */
BECKON_EXPORT int beckon_engine_observe_cart(beckon_engine_t* engine,
                                             int64_t ts_ms, const char* visitor,
                                             const char* page,
                                             double cart_value, char** errptr);

/* The visitor asked for help unprompted, on `channel` (a beckon_channel). */
BECKON_EXPORT int beckon_engine_observe_help_contact(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, int32_t channel, char** errptr);

/* An offer was shown (by beckon's decision or otherwise). An offer the
 * engine decided is already counted; reporting it is not counted twice. */
BECKON_EXPORT int beckon_engine_observe_offer_shown(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, int32_t channel, char** errptr);

/* The visitor accepted an offer: they are in a conversation. */
BECKON_EXPORT int beckon_engine_observe_offer_accepted(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, int32_t channel, char** errptr);

/* The visitor refused an offer ("no thanks"): not offered again for the
 * policy's decline cooldown, across sessions (and restarts, with snapshots).
 * Accepted even when it arrives late. */
BECKON_EXPORT int beckon_engine_observe_offer_declined(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, int32_t channel, char** errptr);

/* An offer was closed or timed out unanswered: not a refusal. */
BECKON_EXPORT int beckon_engine_observe_offer_ignored(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, int32_t channel, char** errptr);

/* A purchase of `order_value`. */
BECKON_EXPORT int beckon_engine_observe_purchase(
    beckon_engine_t* engine, int64_t ts_ms, const char* visitor,
    const char* page, double order_value, char** errptr);

/* Site-wide: `free_agents` agents (in [0, 1000000]) are free now. Has no
 * visitor. Before the first such event the engine assumes agents are free. */
BECKON_EXPORT int beckon_engine_observe_agents(beckon_engine_t* engine,
                                               int64_t ts_ms,
                                               int64_t free_agents,
                                               char** errptr);

/* Decides for `visitor` at `now_ms` and stores the answer in `decision` (a
 * handle from beckon_decision_create, owned by the calling thread). An offer
 * is recorded as made. An unknown visitor is not an error (wait,
 * no_session). Rejects a bad id and a `now_ms` out of range or before the
 * visitor's last event; on any failure `decision` keeps its old contents.
 * When the store cannot be read or written the call succeeds with
 * "suppress, store_unavailable" (never an offer). */
BECKON_EXPORT int beckon_engine_decide(beckon_engine_t* engine,
                                       const char* visitor, int64_t now_ms,
                                       beckon_decision_t* decision,
                                       char** errptr);

/* beckon_engine_decide and beckon_decision_get_info in one call, for hosts
 * whose every crossing of the FFI costs (PHP, Node.js): decides and fills
 * `info` (whose struct_size the caller sets). `decision` may be NULL when
 * the reasons are not wanted; if given, it is filled as by
 * beckon_engine_decide. On failure neither changes. */
BECKON_EXPORT int beckon_engine_decide_info(beckon_engine_t* engine,
                                            const char* visitor,
                                            int64_t now_ms,
                                            beckon_decision_t* decision,
                                            beckon_decision_info_t* info,
                                            char** errptr);

/* Drops sessions idle longer than the policy's timeout at `now_ms` and
 * memory records whose cooldowns have all passed. Call it periodically.
 * With the Redis store, keys expire by their TTLs and this only checks
 * `now_ms`. */
BECKON_EXPORT int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms,
                                       char** errptr);

/* Serializes the visitor state (sessions and do-not-re-offer memory; keyed
 * ids only) into a library-allocated buffer: *data (release it with
 * beckon_free) of *size bytes. Consistent per shard. With the Redis store:
 * every visitor under the key prefix (not a point-in-time view while other
 * processes write); BECKON_UNAVAILABLE if Redis cannot be read. */
BECKON_EXPORT int beckon_engine_snapshot(const beckon_engine_t* engine,
                                         char** data, size_t* size,
                                         char** errptr);

/* Writes a snapshot to `path` atomically. */
BECKON_EXPORT int beckon_engine_snapshot_to_file(const beckon_engine_t* engine,
                                                 const char* path,
                                                 char** errptr);

/* Replaces the visitor state with a snapshot's (`size` bytes at `data`).
 * Checks everything first: BECKON_DATA_LOSS for a malformed snapshot,
 * BECKON_FAILED_PRECONDITION for an unknown version or another visitor key;
 * either way nothing changes. With the Redis store it replaces every
 * visitor under the key prefix, for every process using it (migrate while
 * no other engine writes); a snapshot of an in-memory engine restores into
 * Redis and back. */
BECKON_EXPORT int beckon_engine_restore(beckon_engine_t* engine,
                                        const char* data, size_t size,
                                        char** errptr);

/* Restores from a snapshot file, like beckon_engine_restore. */
BECKON_EXPORT int beckon_engine_restore_from_file(beckon_engine_t* engine,
                                                  const char* path,
                                                  char** errptr);

/* Fills `stats` (whose struct_size the caller sets; BECKON_STATS_INIT does)
 * with the counters, summed over shards. Unused array entries are 0. */
BECKON_EXPORT int beckon_engine_stats(const beckon_engine_t* engine,
                                      beckon_stats_t* stats, char** errptr);

/* Replaces the live engine's policy with a copy of `policy`, keeping every
 * visitor's state (sessions mapped onto the new groups by pattern), the
 * counters and the rate window; concurrent calls go on meanwhile
 * (beckon::Engine::SetPolicy). BECKON_FAILED_PRECONDITION, changing
 * nothing, if its session timeout or rate window differ from the engine's
 * or, with the Redis store, its page groups or path rules. */
BECKON_EXPORT int beckon_engine_set_policy(beckon_engine_t* engine,
                                           const beckon_policy_t* policy,
                                           char** errptr);

/* The engine's metrics in the Prometheus text exposition format (the stats,
 * offers by page group, Observe/Decide latency histograms; docs/
 * operations.md), as a NUL-terminated library-allocated buffer: *text
 * (release it with beckon_free) of *size bytes. */
BECKON_EXPORT int beckon_engine_metrics_text(const beckon_engine_t* engine,
                                             char** text, size_t* size,
                                             char** errptr);

/* ------------------------------------------------------------------------ */
/* Decision: the answer of beckon_engine_decide. A decision handle may be    */
/* reused for any number of calls; it belongs to one thread at a time.      */

/* Creates a decision holding "wait, no_session" with no reasons. */
BECKON_EXPORT int beckon_decision_create(beckon_decision_t** decision,
                                         char** errptr);

/* Destroys a decision. Accepts NULL. */
BECKON_EXPORT void beckon_decision_destroy(beckon_decision_t* decision);

/* Fills `info` (whose struct_size the caller sets; BECKON_DECISION_INFO_INIT
 * does) with the action, reason, probability, threshold, recheck time and
 * the numbers of reasons and contributions. */
BECKON_EXPORT int beckon_decision_get_info(const beckon_decision_t* decision,
                                           beckon_decision_info_t* info,
                                           char** errptr);

/* Stores readable reason number `index` (0 first; fewer than reason_count)
 * in *text, e.g. "declined an offer 2 d ago (cooldown 30 d)". Borrowed: valid
 * until the decision is next filled or destroyed. BECKON_OUT_OF_RANGE for an
 * index past the end. */
BECKON_EXPORT int beckon_decision_get_reason(const beckon_decision_t* decision,
                                             uint32_t index, const char** text,
                                             char** errptr);

/* Stores feature contribution number `index` (in feature order; fewer than
 * contribution_count): the feature's name in *feature (borrowed, like
 * beckon_decision_get_reason), its value in *value and its contribution to
 * the log-odds in *contribution. BECKON_OUT_OF_RANGE past the end. */
BECKON_EXPORT int beckon_decision_get_contribution(
    const beckon_decision_t* decision, uint32_t index, const char** feature,
    double* value, double* contribution, char** errptr);

/* Stores the name and the version (16 hex digits of a hash of its encoding)
 * of the policy the decision was made under, borrowed like the reasons ("" for
 * a decision never filled). */
BECKON_EXPORT int beckon_decision_get_policy(const beckon_decision_t* decision,
                                             const char** name,
                                             const char** version,
                                             char** errptr);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BECKON_BECKON_H_ */
