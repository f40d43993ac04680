// The seam between the engine's rules and where visitor state lives.
//
// The engine (lib/engine.cc) owns every rule: features, gates, decline
// memory, recheck times. A VisitorStore only loads a visitor's records,
// hands copies to the rules, and stores what the rules changed, atomically
// per visitor: under a shard lock in memory, by an optimistic
// compare-and-set in Redis (re-running the rules on a conflict). So the same
// rule code runs unchanged over either store.
#ifndef BECKON_LIB_STATE_STORE_H_
#define BECKON_LIB_STATE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/decision.h"
#include "beckon/engine.h"
#include "visitor_store.h"

namespace beckon::internal {

// What one update adds to the counters (small: it is made on every call).
struct StoreDelta {
  uint8_t sessions_started = 0;
  uint8_t sessions_expired = 0;
  uint8_t sessions_evicted = 0;
  uint8_t memory_evicted = 0;
  uint8_t declines_evicted = 0;  // Of memory_evicted: records with a decline.
  uint8_t events_observed = 0;
  bool decided = false;
  Action action = Action::kWait;
  Reason reason = Reason::kNoSession;

  void CountDecision(Action a, Reason r) {
    decided = true;
    action = a;
    reason = r;
  }
};

// Counters a store keeps (per shard in memory, per process for Redis).
struct StoreCounters {
  uint64_t sessions_started = 0;
  uint64_t sessions_expired = 0;
  uint64_t sessions_evicted = 0;
  uint64_t memory_evicted = 0;
  uint64_t declines_evicted = 0;  // Of memory_evicted: records with a decline.
  uint64_t events_observed = 0;
  uint64_t by_action[kActionCount] = {};
  uint64_t by_reason[kReasonCount] = {};

  void Add(const StoreCounters& o) {
    sessions_started += o.sessions_started;
    sessions_expired += o.sessions_expired;
    sessions_evicted += o.sessions_evicted;
    memory_evicted += o.memory_evicted;
    declines_evicted += o.declines_evicted;
    events_observed += o.events_observed;
    for (int i = 0; i < kActionCount; ++i) by_action[i] += o.by_action[i];
    for (int i = 0; i < kReasonCount; ++i) by_reason[i] += o.by_reason[i];
  }
  void Add(const StoreDelta& d) {
    sessions_started += d.sessions_started;
    sessions_expired += d.sessions_expired;
    sessions_evicted += d.sessions_evicted;
    memory_evicted += d.memory_evicted;
    declines_evicted += d.declines_evicted;
    events_observed += d.events_observed;
    if (d.decided) {
      ++by_action[static_cast<int>(d.action)];
      ++by_reason[static_cast<int>(d.reason)];
    }
  }
};

// One visitor's state as the rules see it: copies of the stored records,
// and what the rules ask the store to write back.
struct VisitorState {
  bool has_session = false;
  bool has_memory = false;
  SessionRecord session{};
  MemoryRecord memory{};
  // Redis: the layout (CompiledPolicy::layout()) the session's group
  // indices are of, and if that is not the one the store was last told of
  // (PublishLayout), its group patterns, read from Redis, so the rules can
  // map the record onto their policy by pattern. The rules set
  // session_layout to their policy's; the session is written under it.
  uint64_t session_layout = 0;
  std::shared_ptr<const std::vector<std::string>> session_groups;
  // Free agents site-wide (-1: never reported); loaded if asked for.
  int64_t free_agents = -1;

  // Set by the rules.
  bool write_session = false;
  bool write_memory = false;
  bool expire_some = false;    // Memory store: drop a few idle sessions.
  int64_t now_ms = 0;          // The call's time, for expiry of others.
  int64_t memory_ttl_ms = 0;   // How long the memory record matters; 0: ever.
  // If >= 0: a session started at this time, counted in the site's session
  // window when the update commits (set only while the policy's offer-share
  // cap is on, so stores without it do no extra work).
  int64_t session_started_ms = -1;
  StoreDelta delta;            // Counted if the update commits.
};

// The site-wide rate window, consulted by the rules for the rate cap.
struct RateCheck {
  int64_t in_window = 0;   // Offers in the window ending now.
  bool admitted = false;   // in_window < cap: one offer is counted for now.
  int64_t time_below = 0;  // If not admitted: when the window drops below.
};

class RateGate {
 public:
  virtual ~RateGate() = default;
  // Counts offers in the window ending at `now_ms`; if fewer than `cap`,
  // counts one more at `now_ms` (committed with the visitor's update).
  virtual absl::StatusOr<RateCheck> Admit(int64_t now_ms, int64_t cap) = 0;
  // Sessions started in the window ending at `now_ms` (counted by the store
  // for updates that set VisitorState::session_started_ms), for the
  // offer-share cap.
  virtual absl::StatusOr<int64_t> SessionsInWindow(int64_t now_ms) = 0;
};

// Everything a snapshot holds.
struct StoreContents {
  std::vector<std::pair<uint64_t, SessionRecord>> sessions;  // Oldest first.
  std::vector<std::pair<uint64_t, MemoryRecord>> memory;
  // For Replace into Redis: how long each memory record matters, in ms
  // (0: forever), parallel to `memory`. Contents() leaves it empty.
  std::vector<int64_t> memory_ttl_ms;
  int64_t free_agents = -1;
  int64_t agents_ts_ms = -1;
};

struct StoreStats {
  uint64_t live_sessions = 0;
  uint64_t memory_records = 0;
  StoreCounters counters;
  uint64_t errors = 0;
  uint64_t conflicts = 0;
  uint64_t round_trips = 0;
};

class VisitorStore {
 public:
  using Rules = absl::FunctionRef<absl::Status(VisitorState&, RateGate&)>;
  using MemoryPredicate = absl::FunctionRef<bool(const MemoryRecord&)>;
  using SessionPredicate = absl::FunctionRef<bool(const SessionRecord&)>;

  virtual ~VisitorStore() = default;

  // Loads `key`'s records (and the free agents if `want_agents`), runs
  // `rules` on copies and, if it returns OK, stores what it asked for,
  // atomically per visitor. Returns the rules' error unchanged (nothing
  // stored), or Unavailable / Aborted when the store fails.
  virtual absl::Status Update(uint64_t key, bool want_agents,
                              Rules rules) = 0;

  // Sets the free agents as of `ts_ms`; InvalidArgument if an agents report
  // with a later time is already stored.
  virtual absl::Status SetAgents(int64_t ts_ms, int64_t count) = 0;

  // Drops sessions and memory records the predicates say are over.
  virtual absl::Status Expire(SessionPredicate session_over,
                              MemoryPredicate memory_over) = 0;

  virtual absl::StatusOr<StoreContents> Contents() const = 0;
  // Replaces all visitor state with `contents` (already checked).
  virtual absl::Status Replace(const StoreContents& contents) = 0;

  // Calls `fn` on every stored session record, each under the lock that
  // guards it (shard by shard, never two locks at once), and keeps what it
  // changed; for the in-memory store only (Redis: Unimplemented).
  using SessionMutator = absl::FunctionRef<void(SessionRecord&)>;
  virtual absl::Status ForEachSession(SessionMutator fn) = 0;

  // Makes the layout `layout` (with the text it is a fingerprint of,
  // CompiledPolicy::layout_text()) the one sessions are written under, and
  // publishes it to other engines sharing the store (Redis: SET NX of
  // <prefix>{site}:layout:<16 hex>). Unavailable if it could not be
  // published (it is then published with the first session written).
  // The memory store holds no layout: OK.
  virtual absl::Status PublishLayout(uint64_t layout,
                                     std::string_view layout_text) = 0;

  // Counts a decision made without a visitor update (a store failure).
  virtual void Count(const StoreDelta& delta) = 0;
  virtual StoreStats Stats() const = 0;
};

// In this process: shards of capacity-bounded flat tables (flat_table.h);
// in each, ignore-only memory records are evicted before declines.
std::unique_ptr<VisitorStore> NewMemoryStore(const Engine::Options& options,
                                             int64_t session_timeout_ms,
                                             int64_t rate_window_ms);

// In Redis (lib/redis_store.cc). Sessions are stored with the layout they
// were written under (PublishLayout); one of another layout is handed to
// the rules with that layout's group patterns, read from Redis, or read as
// no session if those cannot be read (counted as a store error). Decline
// memory is read whatever the layout.
absl::StatusOr<std::unique_ptr<VisitorStore>> NewRedisStore(
    const RedisOptions& options, int64_t session_timeout_ms,
    int64_t rate_window_ms);

}  // namespace beckon::internal

#endif  // BECKON_LIB_STATE_STORE_H_
