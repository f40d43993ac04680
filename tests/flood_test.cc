// A bot flood: 10M fresh visitor ids into an engine with modest caps. Memory
// stays within a bound computed from the caps, every decline made before the
// flood still holds, and the sessions and ignore-only records are what the
// capacity limits evicted. Label "slow" (about 10 s in RelWithDebInfo); it
// prints its figures on one line starting "flood:".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "engine_test_util.h"
#include "gtest/gtest.h"
#include "lib/visitor_store.h"

namespace beckon::testing {
namespace {

constexpr uint64_t kIds = 10'000'000;
constexpr uint64_t kIgnoreEvery = 5;  // One fresh id in 5 ignores an offer.
constexpr int kDeclines = 2000;
constexpr uint64_t kMaxSessions = 100'000;
constexpr uint64_t kMaxMemory = 50'000;
constexpr uint32_t kShards = 64;

// The process's resident set now, in bytes (VmRSS), or its peak (VmHWM).
uint64_t StatusBytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::stoull(line.substr(n + 1)) * 1024;  // "  1234 kB".
    }
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0;
}

// What the caps allow a table to hold in memory: per record its slab node
// (the record, its key, two list links) and its index slot (a key and a
// slot number, 16 bytes, plus a control byte, at a load of at least 7/16
// after growth), times 2 because a vector or a hash table can hold up to
// twice what it uses after its last doubling, and the heap may keep what
// the doublings freed.
template <typename Record>
uint64_t TableBound(uint64_t capacity) {
  const double node = sizeof(Record) + sizeof(uint64_t) + 2 * sizeof(uint32_t);
  const double index = 17.0 * 16.0 / 7.0;
  return static_cast<uint64_t>(2.0 * capacity * (node + index));
}

TEST(Flood, TenMillionFreshIdsStayWithinTheCapsAndEvictNoDecline) {
  const uint64_t rss_before = StatusBytes("VmRSS");
  Engine::Options o;
  o.shards = kShards;
  o.max_sessions = kMaxSessions;
  o.max_memory_records = kMaxMemory;
  auto e = MakeEngine(TestPolicy(), o);
  ASSERT_NE(e, nullptr);

  // Real declines early, spread over the shards.
  auto declined = [](int i) { return "declined-" + std::to_string(i); };
  for (int i = 0; i < kDeclines; ++i) {
    MustObserve(*e, Event::OfferDeclined(kT0 + i, declined(i), "/help",
                                         Channel::kChat));
  }

  // The flood: page views of fresh ids, ten per millisecond, some of which
  // ignore an offer. (Event points at `id`; Observe copies nothing.)
  const auto start = std::chrono::steady_clock::now();
  const int64_t t0 = kT0 + kMin;
  char id[32];
  uint64_t ignored = 0, failed = 0;
  for (uint64_t i = 0; i < kIds; ++i) {
    const int n = std::snprintf(id, sizeof(id), "bot-%llu",
                                static_cast<unsigned long long>(i));
    const std::string_view v(id, static_cast<size_t>(n));
    const int64_t t = t0 + static_cast<int64_t>(i / 10);
    if (!e->Observe(Event::PageView(t, v, "/p/1")).ok()) ++failed;
    if (i % kIgnoreEvery == 0) {
      if (!e->Observe(Event::OfferIgnored(t, v, "/p/1", Channel::kChat)).ok()) {
        ++failed;
      }
      ++ignored;
    }
  }
  const double flood_s = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  EXPECT_EQ(failed, 0u);
  const EngineStats s = e->Stats();
  const uint64_t rss_after = StatusBytes("VmRSS");
  const uint64_t peak = StatusBytes("VmHWM");

  // Within the caps, every shard full; the flood's records were evicted.
  const uint64_t session_cap = (kMaxSessions + kShards - 1) / kShards * kShards;
  const uint64_t memory_cap = (kMaxMemory + kShards - 1) / kShards * kShards;
  EXPECT_LE(s.live_sessions, session_cap);
  EXPECT_EQ(s.memory_records, memory_cap);
  EXPECT_EQ(s.sessions_started, kIds + kDeclines);
  EXPECT_EQ(s.sessions_evicted + s.sessions_expired + s.live_sessions,
            s.sessions_started);
  EXPECT_EQ(s.declines_evicted, 0u);
  EXPECT_EQ(s.memory_evicted, ignored + kDeclines - s.memory_records);

  // Memory grew by no more than the caps allow (plus 16 MiB for the heap's
  // own bookkeeping and the test), not with the 10M ids.
  const uint64_t bound = TableBound<internal::SessionRecord>(session_cap) +
                         TableBound<internal::MemoryRecord>(memory_cap) +
                         (16u << 20);
  const uint64_t growth = rss_after > rss_before ? rss_after - rss_before : 0;
  EXPECT_LE(growth, bound);

  // Every decline still suppresses a visitor who would be offered: the
  // control visitors, stuck the same way at the same time, are.
  const int64_t t_end = t0 + kIds / 10 + kMin;
  int still_declined = 0;
  for (int i = 0; i < kDeclines; ++i) {
    StuckVisitor(*e, declined(i), t_end);
    if (MustDecide(*e, declined(i), t_end + kStuckOfferAfter).reason ==
        Reason::kDeclined) {
      ++still_declined;
    }
  }
  EXPECT_EQ(still_declined, kDeclines);
  for (int i = 0; i < 3; ++i) {
    const std::string c = "control-" + std::to_string(i);
    StuckVisitor(*e, c, t_end);
    EXPECT_EQ(MustDecide(*e, c, t_end + kStuckOfferAfter).action,
              Action::kOffer)
        << c;
  }

  std::printf(
      "flood: ids_flooded=%llu ignored=%llu declines_checked=%d "
      "declines_kept=%d sessions_evicted=%llu sessions_expired=%llu "
      "memory_evicted=%llu declines_evicted=%llu live_sessions=%llu "
      "memory_records=%llu rss_growth_mib=%.1f bound_mib=%.1f "
      "peak_rss_mib=%.1f flood_s=%.1f\n",
      static_cast<unsigned long long>(kIds),
      static_cast<unsigned long long>(ignored), kDeclines, still_declined,
      static_cast<unsigned long long>(s.sessions_evicted),
      static_cast<unsigned long long>(s.sessions_expired),
      static_cast<unsigned long long>(s.memory_evicted),
      static_cast<unsigned long long>(s.declines_evicted),
      static_cast<unsigned long long>(s.live_sessions),
      static_cast<unsigned long long>(s.memory_records), growth / 1048576.0,
      bound / 1048576.0, peak / 1048576.0, flood_s);
  std::fflush(stdout);
}

}  // namespace
}  // namespace beckon::testing
