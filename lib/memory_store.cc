// The in-memory visitor store: shards, each a pair of flat tables
// (flat_table.h) under its own lock (sessions; decline/ignore memory,
// ignore-only records evicted first), plus the site-wide agents and rate
// window.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "flat_table.h"
#include "packed_session.h"
#include "rate_window.h"
#include "state_store.h"

namespace beckon::internal {
namespace {

using SessionTable =
    FlatTable<SessionRecord, OneClass<SessionRecord>, SessionCodec>;
using MemoryTable = FlatTable<MemoryRecord, DeclinesLast>;

// A std::mutex the thread-safety annotations know. Not absl::Mutex: the
// Abseil Debian ships runs its deadlock detection on every lock (~14% of an
// Observe). ThreadSanitizer understands std::mutex.
class ABSL_LOCKABLE Lock {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE Locked {
 public:
  explicit Locked(Lock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_->lock();
  }
  ~Locked() ABSL_UNLOCK_FUNCTION() { lock_->unlock(); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  Lock* const lock_;
};

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// A fresh seed for each table (splitmix64 of a counter): a table refilled
// from another's contents must not map keys to the same slots. The counter
// is the store's own, so that two engines given the same calls place, sweep
// and evict alike: a replay is deterministic.
uint64_t NextSeed(std::atomic<uint64_t>& counter) {
  uint64_t z = counter.fetch_add(0x9E3779B97F4A7C15ull,
                                 std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct alignas(64) Shard {
  Shard(uint64_t session_cap, uint64_t memory_cap,
        std::atomic<uint64_t>& seeds)
      : sessions(session_cap, NextSeed(seeds)),
        memory(memory_cap, NextSeed(seeds)) {}
  mutable Lock mu;
  SessionTable sessions ABSL_GUARDED_BY(mu);
  MemoryTable memory ABSL_GUARDED_BY(mu);
  StoreCounters counters ABSL_GUARDED_BY(mu);
  // For incremental expiry: no session's last_event_ms is below idle_floor
  // (as far as the sweep can tell: a lower bound, so ExpireSome skips the
  // sweep while no session can be idle), and turn_min is the least
  // last_event_ms the sweep kept or a Put wrote since the sweep's hand last
  // completed a turn (the next floor).
  int64_t idle_floor ABSL_GUARDED_BY(mu) = kNever;
  int64_t turn_min ABSL_GUARDED_BY(mu) = kNever;
};

// Stores `rec` as `key`'s session, counting an eviction it made room by.
template <typename Count>
void PutSession(SessionTable& table, uint64_t key, const SessionRecord& rec,
                Count& evicted) {
  if (table.Put(key, rec).evicted_class >= 0) ++evicted;
}

// Stores `rec` as `key`'s memory record, counting an eviction it made room
// by (or its own, if it was not kept), and a decline's apart.
template <typename Count>
void PutMemory(MemoryTable& table, uint64_t key, const MemoryRecord& rec,
               Count& memory_evicted, Count& declines_evicted) {
  const int evicted = table.Put(key, rec).evicted_class;
  if (evicted >= 0) ++memory_evicted;
  if (evicted == DeclinesLast::kDeclines) ++declines_evicted;
}

class MemoryStore final : public VisitorStore, private RateGate {
 public:
  MemoryStore(const Engine::Options& options, int64_t timeout_ms,
              int64_t rate_window_ms)
      : timeout_ms_(timeout_ms),
        shard_mask_(options.shards - 1),
        per_session_((options.max_sessions + options.shards - 1) /
                     options.shards),
        per_memory_((options.max_memory_records + options.shards - 1) /
                    options.shards),
        rate_(rate_window_ms),
        sessions_(rate_window_ms) {
    const uint64_t n = options.shards;
    for (uint64_t i = 0; i < n; ++i) {
      shards_.push_back(
          std::make_unique<Shard>(per_session_, per_memory_, seeds_));
    }
  }

  absl::Status Update(uint64_t key, bool want_agents, Rules rules) override {
    Shard& s = *shards_[key & shard_mask_];
    Locked lock(&s.mu);
    // Both tables' lines in flight at once.
    s.sessions.Prefetch(key);
    s.memory.Prefetch(key);
    VisitorState v;
    v.has_session = s.sessions.Get(key, &v.session);
    v.has_memory = s.memory.Get(key, &v.memory);
    if (want_agents) v.free_agents = free_agents_.load(std::memory_order_relaxed);
    if (absl::Status st = rules(v, *this); !st.ok()) return st;
    if (v.expire_some) ExpireSome(s, key, v.now_ms, 2);
    if (v.write_session) {
      PutSession(s.sessions, key, v.session, v.delta.sessions_evicted);
      s.idle_floor = std::min(s.idle_floor, v.session.last_event_ms);
      s.turn_min = std::min(s.turn_min, v.session.last_event_ms);
    }
    if (v.write_memory) {
      PutMemory(s.memory, key, v.memory, v.delta.memory_evicted,
                v.delta.declines_evicted);
    }
    if (v.session_started_ms >= 0) {
      Locked rate_lock(&rate_mu_);
      sessions_.Add(v.session_started_ms);
    }
    s.counters.Add(v.delta);
    return absl::OkStatus();
  }

  absl::Status SetAgents(int64_t ts_ms, int64_t count) override {
    Locked lock(&agents_mu_);
    if (ts_ms < agents_ts_ms_) {
      return absl::InvalidArgumentError(
          absl::StrCat("time went backwards for agents: ", ts_ms,
                       " < last ", agents_ts_ms_));
    }
    agents_ts_ms_ = ts_ms;
    free_agents_.store(count, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  absl::Status Expire(SessionPredicate session_over,
                      MemoryPredicate memory_over) override {
    for (auto& s : shards_) {
      Locked lock(&s->mu);
      int64_t floor = kNever;  // Exact now: every session is looked at.
      s->counters.sessions_expired +=
          s->sessions.EraseIf([&](uint64_t, const SessionRecord& r) {
            if (session_over(r)) return true;
            floor = std::min(floor, r.last_event_ms);
            return false;
          });
      s->idle_floor = floor;
      s->memory.EraseIf(
          [&](uint64_t, const MemoryRecord& m) { return memory_over(m); });
    }
    return absl::OkStatus();
  }

  absl::StatusOr<StoreContents> Contents() const override {
    StoreContents c;
    {
      Locked lock(&agents_mu_);
      c.free_agents = free_agents_.load();
      c.agents_ts_ms = agents_ts_ms_;
    }
    for (const auto& s : shards_) {
      Locked lock(&s->mu);
      s->sessions.ForEachOldestFirst([&](uint64_t key, const SessionRecord& r) {
        c.sessions.emplace_back(key, r);
      });
      s->memory.ForEachOldestFirst([&](uint64_t key, const MemoryRecord& m) {
        c.memory.emplace_back(key, m);
      });
    }
    return c;
  }

  // Builds each shard's new tables outside every lock, then swaps them in
  // under that shard's lock alone: atomic per shard (as Contents is
  // consistent per shard), never holding two shard locks. A call for a
  // visitor sees its shard wholly before or wholly after the restore.
  absl::Status Replace(const StoreContents& c) override {
    const size_t n = shards_.size();
    std::vector<std::vector<size_t>> sessions_of(n), memory_of(n);
    for (size_t i = 0; i < c.sessions.size(); ++i) {
      sessions_of[c.sessions[i].first & shard_mask_].push_back(i);
    }
    for (size_t i = 0; i < c.memory.size(); ++i) {
      memory_of[c.memory[i].first & shard_mask_].push_back(i);
    }
    for (size_t i = 0; i < n; ++i) {
      SessionTable sessions(per_session_, NextSeed(seeds_));
      MemoryTable memory(per_memory_, NextSeed(seeds_));
      StoreCounters evicted;
      int64_t floor = kNever;
      const std::vector<size_t>& mine = sessions_of[i];
      if (mine.size() <= per_session_) {  // Nothing to evict: in bulk.
        sessions.BulkLoad(mine.size(),
                          [&](size_t j) -> const auto& { return c.sessions[mine[j]]; });
        for (size_t j : mine) {
          floor = std::min(floor, c.sessions[j].second.last_event_ms);
        }
      } else {
        sessions.Reserve(mine.size());
        for (size_t j : mine) {
          const auto& [key, rec] = c.sessions[j];
          if (sessions.Contains(key)) continue;  // Duplicate.
          PutSession(sessions, key, rec, evicted.sessions_evicted);
          floor = std::min(floor, rec.last_event_ms);
        }
      }
      const std::vector<size_t>& theirs = memory_of[i];
      if (theirs.size() <= per_memory_) {
        memory.BulkLoad(theirs.size(),
                        [&](size_t j) -> const auto& { return c.memory[theirs[j]]; });
      } else {
        memory.Reserve(theirs.size());
        for (size_t j : theirs) {
          const auto& [key, rec] = c.memory[j];
          if (memory.Contains(key)) continue;
          PutMemory(memory, key, rec, evicted.memory_evicted,
                    evicted.declines_evicted);
        }
      }
      Shard& s = *shards_[i];
      {
        Locked lock(&s.mu);
        s.sessions.Swap(sessions);
        s.memory.Swap(memory);
        s.counters.Add(evicted);
        s.idle_floor = floor;
        s.turn_min = floor;
      }
      // `sessions` and `memory` hold the old contents: freed unlocked.
    }
    {
      // The newer agents report wins: a count reported while the snapshot
      // was on disk is not set back to the snapshot's.
      Locked lock(&agents_mu_);
      if (c.agents_ts_ms >= agents_ts_ms_) {
        agents_ts_ms_ = c.agents_ts_ms;
        free_agents_.store(c.free_agents);
      }
    }
    return absl::OkStatus();
  }

  // Sessions carry the policy generation instead (lib/engine.cc).
  absl::Status PublishLayout(uint64_t, std::string_view) override {
    return absl::OkStatus();
  }

  absl::Status ForEachSession(SessionMutator fn) override {
    for (auto& s : shards_) {
      Locked lock(&s->mu);
      s->sessions.ForEachMutable([&](uint64_t, SessionRecord& r) { fn(r); });
    }
    return absl::OkStatus();
  }

  void Count(const StoreDelta& delta) override {
    Locked lock(&shards_[0]->mu);
    shards_[0]->counters.Add(delta);
  }

  StoreStats Stats() const override {
    StoreStats st;
    for (const auto& s : shards_) {
      Locked lock(&s->mu);
      st.live_sessions += s->sessions.size();
      st.memory_records += s->memory.size();
      st.counters.Add(s->counters);
    }
    return st;
  }

 private:
  // Taken inside a shard lock (the rules run under it), never around one.
  absl::StatusOr<RateCheck> Admit(int64_t now_ms, int64_t cap) override {
    Locked lock(&rate_mu_);
    RateCheck c;
    c.in_window = rate_.Count(now_ms);
    if (c.in_window >= cap) {
      c.time_below = rate_.TimeBelow(now_ms, cap);
      return c;
    }
    c.admitted = true;
    rate_.Add(now_ms);
    return c;
  }

  absl::StatusOr<int64_t> SessionsInWindow(int64_t now_ms) override {
    Locked lock(&rate_mu_);
    return sessions_.Count(now_ms);
  }

  // Slots the expiry sweep looks at per call, at most.
  static constexpr uint64_t kExpireScan = 16;

  // Drops up to `budget` idle sessions found by the shard's sweep (a CLOCK
  // hand that goes round the session table kExpireScan slots per call, so
  // every session is looked at once per turn), never the visitor being
  // updated (the rules restart its session themselves). Nothing to do, at
  // no cost, while the shard's floor says no session can be idle. Best
  // effort: Expire() is the exact pass. Memory records are left to Expire()
  // and the capacity limit: one visitor's clock running ahead must never
  // cost another visitor their decline.
  void ExpireSome(Shard& s, uint64_t self, int64_t now, int budget)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    if (s.idle_floor >= now - timeout_ms_) return;
    int left = budget;
    using Step = SessionTable::SweepStep;
    const bool turned = s.sessions.Sweep(
        kExpireScan, [&](uint64_t key, const SessionRecord& r)
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
          if (key != self && now - r.last_event_ms > timeout_ms_) {
            if (left == 0) return Step::kStop;
            --left;
            ++s.counters.sessions_expired;
            return Step::kErase;
          }
          s.turn_min = std::min(s.turn_min, r.last_event_ms);
          return Step::kKeep;
        });
    if (turned) {
      s.idle_floor = s.turn_min;
      s.turn_min = kNever;
    }
  }

  const int64_t timeout_ms_;
  const uint64_t shard_mask_;
  const uint64_t per_session_;  // Capacity of each shard's tables.
  const uint64_t per_memory_;
  std::atomic<uint64_t> seeds_{0x5eed};  // For NextSeed.
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int64_t> free_agents_{-1};  // -1: never reported.
  mutable Lock agents_mu_;
  int64_t agents_ts_ms_ ABSL_GUARDED_BY(agents_mu_) = -1;
  Lock rate_mu_;
  RateWindow rate_ ABSL_GUARDED_BY(rate_mu_);
  // Sessions started, for the offer-share cap (same window as rate_).
  RateWindow sessions_ ABSL_GUARDED_BY(rate_mu_);
};

}  // namespace

std::unique_ptr<VisitorStore> NewMemoryStore(const Engine::Options& options,
                                             int64_t session_timeout_ms,
                                             int64_t rate_window_ms) {
  return std::make_unique<MemoryStore>(options, session_timeout_ms,
                                       rate_window_ms);
}

}  // namespace beckon::internal
