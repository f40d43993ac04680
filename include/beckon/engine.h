// Engine: feed it a visitor's events, ask it whether to offer help.
//
//   beckon::Engine::Options options;            // documented defaults
//   absl::StatusOr<std::unique_ptr<beckon::Engine>> engine =
//       beckon::Engine::Create(beckon::Policy::Default(), options);
//   (*engine)->Observe(beckon::Event::PageView(now_ms, "v1", "/checkout"));
//   absl::StatusOr<beckon::Decision> d = (*engine)->Decide("v1", now_ms);
//   // d->action is kOffer, kWait or kSuppress, with recheck_at_ms;
  // d->reasons() says why in words.
//
// Time is an input: every call carries its timestamp and the engine never
// reads a clock, so replaying a log runs the production code path exactly.
//
// Thread safety: all methods may be called concurrently from any number of
// threads. Visitors live in shards, each under its own lock; calls for
// different visitors rarely contend. Per visitor, timestamps must not go
// backwards (a call that does is rejected and changes nothing). The engine
// is neither copyable nor movable: hosts share it by pointer.
#ifndef BECKON_ENGINE_H_
#define BECKON_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/decision.h"
#include "beckon/event.h"
#include "beckon/policy.h"

namespace beckon {

class EngineImpl;
namespace internal {
struct EngineInternal;
}  // namespace internal

// Where an engine keeps its visitor state (sessions, decline memory, free
// agents, the site-wide rate window). The rules are the same over both.
enum class StoreKind : uint8_t {
  kMemory = 0,  // In this process (sharded, capacity-bounded); the default.
  kRedis = 1,   // In Redis, shared by every process and server that uses it.
};

// How to reach Redis (a single server, or a Redis Cluster through one seed
// node). docs/operations.md describes the key schema and failure behaviour.
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;               // 1..65535.
  std::string unix_socket;       // If set, used instead of host and port.
  std::string user;              // ACL user (Redis >= 6); empty: "default".
  std::string password;          // Sent with AUTH if not empty.
  int database = 0;              // SELECT; must be 0 with a cluster.
  bool cluster = false;          // host:port is a node of a Redis Cluster.
  // Prepended to every key, so several shops or policies share one Redis.
  // 1..64 bytes, no '{' or '}'.
  std::string key_prefix = "beckon:";
  int connect_timeout_ms = 200;  // 1..60000.
  int command_timeout_ms = 200;  // 1..60000; a reply later than this fails.
  // Optimistic updates retried at most this often when another process
  // changed the same visitor meanwhile (then the call fails, Aborted).
  int max_conflict_retries = 32;
  // After a failure the store is not tried again for a backoff that doubles
  // from min to max (calls answer store_unavailable meanwhile); a success
  // resets it.
  int backoff_min_ms = 50;
  int backoff_max_ms = 2000;

  // Parses "redis://[user[:password]@]host[:port][/db][?option=value&...]"
  // or "unix:///path/to/redis.sock[?option=value&...]". Options: db,
  // cluster (0/1), prefix, connect_timeout_ms, command_timeout_ms,
  // max_conflict_retries, backoff_min_ms, backoff_max_ms, user, password.
  // User and password may be percent-encoded. Rejects anything else, naming
  // it.
  static absl::StatusOr<RedisOptions> FromUrl(std::string_view url);
};

// One decision as the decision log receives it (Engine::Options::
// decision_sink, decision_log_path; docs/operations.md#the-decision-log).
// The views are valid during the call only.
struct LoggedDecision {
  int64_t ts_ms = 0;            // The decision's now_ms.
  // The visitor's id hashed with the engine's visitor key (what the store
  // keys on): the log holds no raw id. ReadDecisionLog's readers join it
  // with an event log's ids through the same key.
  uint64_t visitor_hash = 0;
  Action action = Action::kWait;
  Reason reason = Reason::kNoSession;
  double probability = 0;
  double threshold = 0;
  bool would_offer = false;     // A holdout decision that would have offered.
  double offer_probability = 0;  // Decision::offer_probability.
  std::optional<int64_t> recheck_at_ms;
  std::string_view group;       // The current page's group ("" unlisted or
                                // no session).
  std::string_view policy_name;
  std::string_view policy_version;
};

// Counters, summed over shards at the time of the call.
struct EngineStats {
  uint64_t live_sessions = 0;    // Visitors with a session record now.
  uint64_t memory_records = 0;   // Visitors with decline/ignore memory now.
  uint64_t sessions_started = 0;
  uint64_t sessions_expired = 0;   // Ended by inactivity.
  uint64_t sessions_evicted = 0;   // Dropped by the capacity limit.
  uint64_t memory_evicted = 0;     // Memory records dropped by their limit.
  // Of memory_evicted, the records that held a decline. Ignore-only records
  // are evicted first, so this stays 0 unless a shard's declines alone
  // exceed its share of max_memory_records (kMemory; always 0 for kRedis).
  uint64_t declines_evicted = 0;
  uint64_t events_observed = 0;
  uint64_t events_rejected = 0;
  uint64_t decisions_by_action[kActionCount] = {};
  uint64_t decisions_by_reason[kReasonCount] = {};
  // The store (kRedis; zero for kMemory). Counted by this engine only.
  uint64_t store_errors = 0;      // Calls failed for the store (down, timeout).
  uint64_t store_conflicts = 0;   // Optimistic updates retried.
  uint64_t store_round_trips = 0; // Request/reply exchanges with Redis.
};

class Engine {
 public:
  struct Options {
    // Sessions kept at most, split evenly over the shards (each keeps
    // ceil(max_sessions / shards)); beyond it a shard evicts the least
    // recently seen of 8 sessions it samples (the exact least recently seen
    // while it holds 8 or fewer; counted in sessions_evicted). Memory grows
    // with the sessions held, not with this cap. Default: 1,000,000.
    // REQUIRES: >= 1.
    uint64_t max_sessions = 1'000'000;
    // Decline/ignore memory records kept at most, split over the shards like
    // max_sessions; beyond it a shard drops an ignore-only record (the least
    // recently touched of 8 it samples), and a decline only when it holds
    // nothing but declines (the least recently touched of 8 sampled declines
    // then; a new ignore-only record is not kept). Counted in
    // memory_evicted, declines also in declines_evicted. Default: 4,000,000.
    // REQUIRES: >= 1.
    uint64_t max_memory_records = 4'000'000;
    // Number of shards (each with its own lock). Default: 64.
    // REQUIRES: a power of two in [1, 4096].
    uint32_t shards = 64;
    // Key of the hash that replaces visitor ids (SipHash-2-4): raw ids are
    // never stored, and the key is what keeps stored state and snapshots
    // pseudonymous (whoever has it can test candidate ids against a
    // snapshot, or pick ids that crowd one shard). A snapshot restores only
    // into an engine with the same key; snapshots hold a fingerprint of
    // it, never the key. Where the key comes from:
    //   - `visitor_key`, if not all zero (the default is all zero);
    //   - else `visitor_key_file`: read, or created with a random key (mode
    //     0600) if absent; a file others may read is refused;
    //   - else, with StoreKind::kRedis, the fleet's key kept in Redis under
    //     "<prefix>{site}:key", created at random by the first engine
    //     (Create fails Unavailable if Redis cannot be reached then);
    //   - else the process's key: random from the OS, drawn once per
    //     process, so a snapshot restores into another engine of the same
    //     process but, after a restart, only with a configured key.
    // Giving both a key and a key file is InvalidArgument.
    std::array<uint64_t, 2> visitor_key = {0, 0};
    std::string visitor_key_file;
    // Longest page URL accepted on a kPageView or kSearch event, and
    // longest referrer on a kPageView, in bytes. Checked before the
    // visitor's shard is locked: a longer one rejects the event
    // (InvalidArgument naming the field, its length and the cap; nothing
    // changes, and it counts in events_rejected). Other events do not read
    // page or referrer and accept them at any length, so a decline or an
    // ignore is never lost to a long URL field. The URL and referrer are
    // classified (page group, search-engine referrer) before the lock too,
    // so no work proportional to their length runs under it. Default: 8192
    // (8 KiB) each: the request line and header size web servers accept by
    // default (Apache's LimitRequestLine and LimitRequestFieldSize are 8190,
    // nginx's large_client_header_buffers 8k; longer requests get a 414 or
    // 400), so every URL a shop actually served fits, tracking parameters
    // (utm_*, gclid, fbclid: a few hundred bytes) included. REQUIRES: >= 1.
    uint32_t max_url_bytes = 8192;
    uint32_t max_referrer_bytes = 8192;
    // Where visitor state lives. With kRedis, max_sessions,
    // max_memory_records and shards do not apply (Redis bounds memory by
    // expiry; see docs/operations.md), and every engine sharing the Redis
    // keys must use the same policy groups and visitor_key.
    StoreKind store = StoreKind::kMemory;
    RedisOptions redis;  // With kRedis.
    // The decision log: if set, called with every decision Decide returns
    // (not with rejected calls), on the deciding thread, after the
    // visitor's state is stored and outside every lock; it must be
    // thread-safe and should be quick (hand the record to a queue).
    std::function<void(const LoggedDecision&)> decision_sink;
    // The decision log as a file of JSON Lines, one object per decision,
    // appended to (created if absent, mode 0600); docs/operations.md gives
    // the fields. Create fails if it cannot be opened. A line that cannot
    // be written is counted (metrics: beckon_decision_log_errors_total),
    // never an error of Decide. With decision_sink, both receive every
    // decision.
    std::string decision_log_path;
    // The event log: if set, every event Observe accepts is appended to
    // this file as a row of the event log format (EVENT-LOG.md: the header
    // row first if the file is empty; created with mode 0600), visitor ids
    // as given. With the decision log it is a shop's production log, which
    // the trainer and the replay read (docs/operations.md). Create fails if
    // it cannot be opened; a row that cannot be written is counted (the
    // same errors metric), never an error of Observe.
    std::string event_log_path;
    // Whether Observe and Decide feed the latency histograms of
    // MetricsText (one call in 64 per thread is timed: two clock reads).
    // Off, the histograms stay empty. Default: on.
    bool latency_histograms = true;
  };

  // Creates an engine that decides by `policy`. Fails on invalid options.
  // With StoreKind::kRedis it connects at once; if Redis cannot be reached
  // the engine is still created (calls answer store_unavailable and it
  // reconnects by itself), unless the options are invalid or Redis refuses
  // the credentials (PermissionDenied). Without Redis support built in,
  // kRedis is Unimplemented.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      Policy policy, const Options& options);
  static absl::StatusOr<std::unique_ptr<Engine>> Create(Policy policy);

  ~Engine();
  Engine(const Engine&) = delete;             // Owns shards and locks.
  Engine& operator=(const Engine&) = delete;

  // Records one event. Rejects, changing nothing: an unknown type or
  // channel, an empty or over-long visitor id (or any id on kAgents), a
  // timestamp outside [0, end of year 9999], a timestamp before the
  // visitor's last event (or, for kAgents, before the last agents event),
  // negative result counts, free agents outside [0, 1000000], money
  // values that are not finite, negative, or >= 1e15, and a page or
  // referrer longer than Options::max_url_bytes / max_referrer_bytes on
  // the events that read them (kPageView, kSearch). Exception: a late
  // kOfferDeclined or kOfferIgnored is accepted into the visitor's
  // do-not-re-offer memory as of its own time, without moving the visitor's
  // clock, so a delayed report is never lost.
  //
  // With Redis: an event that cannot be stored (Redis down) returns
  // Unavailable and changes nothing; report it again (a decline above all).
  // Concurrent updates of one visitor from several processes are
  // serialized by an optimistic compare-and-set; none is lost.
  absl::Status Observe(const Event& event);

  // Decides for `visitor` at `now_ms`. An kOffer is recorded as made (it
  // counts toward the session cap, the minimum gap and the site-wide rate); a
  // later kOfferShown event for it is not counted twice. Rejects a bad id and
  // a `now_ms` before the visitor's last event or last offer. When the store
  // cannot be read or written, the decision is kSuppress with
  // Reason::kStoreUnavailable (never an offer), not an error.
  absl::StatusOr<Decision> Decide(std::string_view visitor, int64_t now_ms);

  // Drops sessions idle longer than the policy's timeout at `now_ms` and
  // memory records whose cooldowns have all passed. Observe expires idle
  // sessions incrementally (never memory records); call this periodically,
  // with the current time, to reclaim memory. Rejects a `now_ms` outside
  // [0, end of year 9999]. With Redis, keys expire by their TTLs and this
  // only checks `now_ms`.
  absl::Status Expire(int64_t now_ms);

  // Serializes every live session and every memory record (versioned,
  // keyed ids only). Consistent per shard. With Redis: every visitor key
  // under the prefix (scanned on every master; not a point-in-time view
  // while other processes write). Empty if Redis cannot be read: use
  // SnapshotOrError to tell.
  std::string Snapshot() const;
  absl::StatusOr<std::string> SnapshotOrError() const;
  absl::Status SnapshotToFile(const std::string& path) const;

  // Replaces the engine's visitor state with a snapshot's. Rejects a
  // malformed snapshot, an unknown version or another visitor key, changing
  // nothing. Sessions are mapped onto this engine's policy by group pattern.
  // Atomic per shard, as Snapshot is consistent per shard: a concurrent call
  // sees a visitor's shard wholly before or wholly after. The free agents
  // are taken from the snapshot only if its report is not older than the
  // engine's (by report time).
  // With Redis it replaces every visitor key under the prefix (not atomic
  // for other processes: migrate while no other engine writes); a
  // snapshot from an in-memory engine restores into Redis and back.
  absl::Status Restore(std::string_view snapshot);
  absl::Status RestoreFromFile(const std::string& path);

  EngineStats Stats() const;

  // Replaces the policy of the live engine, keeping every visitor's state:
  // sessions (mapped onto the new policy's page groups by pattern, as
  // Restore does: a group the new policy lacks becomes the unlisted group;
  // path rules matched again), decline and ignore memory, the free agents,
  // the site-wide rate window and the counters. Concurrent Observe and
  // Decide calls go on during the swap; each runs wholly under the old or
  // the new policy, and decisions say which (Decision::policy_version).
  // Changes nothing and fails FailedPrecondition if the new policy's
  // session.timeout_s or gates.rate_window_s differ from the engine's
  // (both are fixed at Create), or, with the Redis store, if its page
  // groups or path rules differ (every process reads the shared sessions by
  // group index: roll out such a policy with new engines; docs/
  // operations.md). The engine keeps the policies it has had (a few KB
  // each) until it is destroyed, so that decisions made under them stay
  // readable. Thread-safe; swaps are serialized.
  absl::Status SetPolicy(Policy policy);

  // The stats, offers by page group and latency histograms of Observe and
  // Decide (one call in 64 per thread timed), in the Prometheus text
  // exposition format (version 0.0.4), for a /metrics endpoint. With Redis,
  // decisions and offers are this engine's own; docs/operations.md lists
  // the metrics and what to alert on.
  std::string MetricsText() const;

  // The current policy (valid as long as the engine).
  const Policy& policy() const;
  // The visitor key in use, as resolved at Create (see
  // Options::visitor_key). A secret: whoever has it and a snapshot can test
  // visitor ids. For handing an engine's state to another process whole.
  std::array<uint64_t, 2> visitor_key() const;
  // `visitor`'s id hashed with the visitor key: how the store, snapshots
  // and the decision log (LoggedDecision::visitor_hash) name the visitor.
  uint64_t VisitorHash(std::string_view visitor) const;
  // True if `visitor` is in the current policy's holdout group (a hash of
  // the id and gates.holdout_salt below gates.holdout_fraction): never
  // offered, their would-offers suppressed with reason holdout.
  bool InHoldout(std::string_view visitor) const;

 private:
  friend struct internal::EngineInternal;
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace beckon

#endif  // BECKON_ENGINE_H_
