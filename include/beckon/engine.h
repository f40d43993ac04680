// Engine: feed it a visitor's events, ask it whether to offer help.
//
//   beckon::Engine::Options options;            // documented defaults
//   absl::StatusOr<std::unique_ptr<beckon::Engine>> engine =
//       beckon::Engine::Create(beckon::Policy::Default(), options);
//   (*engine)->Observe(beckon::Event::PageView(now_ms, "v1", "/checkout"));
//   absl::StatusOr<beckon::Decision> d = (*engine)->Decide("v1", now_ms);
//   // d->action is kOffer, kWait or kSuppress, with reasons and recheck_at_ms.
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
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/decision.h"
#include "beckon/event.h"
#include "beckon/policy.h"

namespace beckon {

class EngineImpl;

// Counters, summed over shards at the time of the call.
struct EngineStats {
  uint64_t live_sessions = 0;    // Visitors with a session record now.
  uint64_t memory_records = 0;   // Visitors with decline/ignore memory now.
  uint64_t sessions_started = 0;
  uint64_t sessions_expired = 0;   // Ended by inactivity.
  uint64_t sessions_evicted = 0;   // Dropped by the capacity limit.
  uint64_t memory_evicted = 0;     // Memory records dropped by their limit.
  uint64_t events_observed = 0;
  uint64_t events_rejected = 0;
  uint64_t decisions_by_action[kActionCount] = {};
  uint64_t decisions_by_reason[kReasonCount] = {};
};

class Engine {
 public:
  struct Options {
    // Sessions kept at most, split evenly over the shards (each keeps
    // ceil(max_sessions / shards)); beyond it the least recently seen visitor
    // of a shard is evicted (counted in sessions_evicted). Default:
    // 1,000,000. REQUIRES: >= 1.
    uint64_t max_sessions = 1'000'000;
    // Decline/ignore memory records kept at most, split over the shards like
    // max_sessions; beyond it the least recently touched of a shard is
    // dropped (counted in memory_evicted). Default: 4,000,000.
    // REQUIRES: >= 1.
    uint64_t max_memory_records = 4'000'000;
    // Number of shards (each with its own lock). Default: 64.
    // REQUIRES: a power of two in [1, 4096].
    uint32_t shards = 64;
    // Key of the hash that replaces visitor ids (SipHash-2-4): raw ids are
    // never stored. Set your own secret to keep snapshots pseudonymous; a
    // snapshot restores only into an engine with the same key.
    // Default: a fixed public key.
    std::array<uint64_t, 2> visitor_key = {0x6265636b6f6e2d31ULL,
                                           0x76697369746f7273ULL};
  };

  // Creates an engine that decides by `policy`. Fails on invalid options.
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
  // negative result counts, free agents outside [0, 1000000], and money
  // values that are not finite, negative, or >= 1e15. Exception: a late
  // kOfferDeclined or kOfferIgnored is accepted into the visitor's
  // do-not-re-offer memory as of its own time, without moving the visitor's
  // clock, so a delayed report is never lost.
  absl::Status Observe(const Event& event);

  // Decides for `visitor` at `now_ms`. An kOffer is recorded as made (it
  // counts toward the session cap, the minimum gap and the site-wide rate); a
  // later kOfferShown event for it is not counted twice. Rejects a bad id and
  // a `now_ms` before the visitor's last event or last offer.
  absl::StatusOr<Decision> Decide(std::string_view visitor, int64_t now_ms);

  // Drops sessions idle longer than the policy's timeout at `now_ms` and
  // memory records whose cooldowns have all passed. Observe expires idle
  // sessions incrementally (never memory records); call this periodically,
  // with the current time, to reclaim memory. Rejects a `now_ms` outside
  // [0, end of year 9999].
  absl::Status Expire(int64_t now_ms);

  // Serializes every live session and every memory record (versioned,
  // keyed ids only). Consistent per shard.
  std::string Snapshot() const;
  absl::Status SnapshotToFile(const std::string& path) const;

  // Replaces the engine's visitor state with a snapshot's. Rejects a
  // malformed snapshot, an unknown version or another visitor key, changing
  // nothing. Sessions are mapped onto this engine's policy by group pattern.
  absl::Status Restore(std::string_view snapshot);
  absl::Status RestoreFromFile(const std::string& path);

  EngineStats Stats() const;
  const Policy& policy() const;

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace beckon

#endif  // BECKON_ENGINE_H_
