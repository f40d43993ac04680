// The memory store's flat table alone (lib/flat_table.h): lookups through
// colliding clusters, backward-shift deletion against a model, sampled
// eviction, declines last, the expiry sweep, and no allocation once grown.
#include "lib/flat_table.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/numeric/int128.h"
#include "gtest/gtest.h"
#include "lib/packed_session.h"
#include "lib/visitor_store.h"

// Every operator new of this test binary is counted, so a test can check
// that a stretch of table operations allocates nothing.
namespace {
std::atomic<int64_t> g_news{0};
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace beckon::internal {
namespace {

struct Rec {
  uint64_t value = 0;
  uint32_t cls = 0;  // For the two-class tables.
};
struct RecClasses {
  static constexpr int kClasses = 2;
  static int Of(const Rec& r) { return static_cast<int>(r.cls); }
};
using Table = FlatTable<Rec>;
using TwoClassTable = FlatTable<Rec, RecClasses>;

Rec R(uint64_t v, uint32_t cls = 0) { return Rec{v, cls}; }

uint64_t ValueOf(const Table& t, uint64_t key) {
  Rec r;
  return t.Get(key, &r) ? r.value : ~uint64_t{0};
}

// The home slot of `key` in a table of `slots` slots (the table's own mix).
uint64_t HomeOf(uint64_t key, uint64_t slots) {
  return absl::Uint128High64(absl::uint128(key * 0x9E3779B97F4A7C15ull) *
                             slots);
}

// `n` keys whose home is `home` in a table of `slots` slots.
std::vector<uint64_t> KeysAt(uint64_t home, uint64_t slots, int n,
                             uint64_t from = 1) {
  std::vector<uint64_t> keys;
  for (uint64_t k = from; static_cast<int>(keys.size()) < n; ++k) {
    if (HomeOf(k, slots) == home) keys.push_back(k);
  }
  return keys;
}

TEST(FlatTable, StartsEmptyAndAllocatesNothingUntilTheFirstPut) {
  const int64_t before = g_news.load();
  Table t(1'000'000);
  EXPECT_EQ(g_news.load(), before);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.slot_count(), 0u);
  EXPECT_EQ(t.max_slot_count(), 1'142'864u);  // 1M at 7/8, a multiple of 8.
  EXPECT_FALSE(t.Contains(42));
  EXPECT_FALSE(t.Erase(42));
  t.Put(42, R(1));
  EXPECT_EQ(t.slot_count(), 8u);
  EXPECT_EQ(ValueOf(t, 42), 1u);
}

TEST(FlatTable, FindsAndErasesThroughCollidingKeysAndTheWrapAround) {
  Table t(7);  // 8 slots, never grown.
  ASSERT_EQ(t.max_slot_count(), 8u);
  // Five keys homed at slot 6: the cluster runs 6, 7, 0, 1, 2.
  const std::vector<uint64_t> keys = KeysAt(6, 8, 5);
  for (size_t i = 0; i < keys.size(); ++i) t.Put(keys[i], R(i));
  // And one homed at 1, pushed behind the cluster.
  const uint64_t other = KeysAt(1, 8, 1)[0];
  t.Put(other, R(99));
  EXPECT_EQ(t.slot_count(), 8u);
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(ValueOf(t, keys[i]), i);
  EXPECT_EQ(ValueOf(t, other), 99u);

  // Erase from the middle and the head: every other key still found.
  EXPECT_TRUE(t.Erase(keys[2]));
  EXPECT_TRUE(t.Erase(keys[0]));
  EXPECT_FALSE(t.Erase(keys[0]));
  EXPECT_FALSE(t.Contains(keys[0]));
  EXPECT_FALSE(t.Contains(keys[2]));
  for (size_t i : {1, 3, 4}) EXPECT_EQ(ValueOf(t, keys[i]), i);
  EXPECT_EQ(ValueOf(t, other), 99u);
  EXPECT_EQ(t.size(), 4u);
  // Updating in place keeps one record.
  t.Put(keys[3], R(33));
  EXPECT_EQ(ValueOf(t, keys[3]), 33u);
  EXPECT_EQ(t.size(), 4u);
  // Erase all; the table is empty again and reusable.
  for (uint64_t k : {keys[1], keys[3], keys[4], other}) EXPECT_TRUE(t.Erase(k));
  EXPECT_EQ(t.size(), 0u);
  for (uint64_t k : keys) EXPECT_FALSE(t.Contains(k));
  t.Put(keys[4], R(4));
  EXPECT_EQ(ValueOf(t, keys[4]), 4u);
}

TEST(FlatTable, RandomOperationsMatchAModel) {
  // No eviction (the capacity exceeds the keys), so the table must behave
  // exactly as a map. Half the keys crowd a few home slots (only the top
  // bits of key * mix differ for keys i << 58), making long clusters that
  // backward-shift deletion must keep findable; it grows on the way.
  Table t(4096);
  std::unordered_map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(11);
  auto random_key = [&]() -> uint64_t {
    const uint64_t i = rng() % 1500;
    return (rng() & 1) ? (i % 64 + 1) << 58 | (i / 64) : i + 1;
  };
  for (int op = 0; op < 100'000; ++op) {
    const uint64_t key = random_key();
    switch (rng() % 3) {
      case 0: {
        const uint64_t v = rng();
        const auto res = t.Put(key, R(v));
        ASSERT_TRUE(res.stored);
        ASSERT_EQ(res.evicted_class, -1);
        model[key] = v;
        break;
      }
      case 1:
        ASSERT_EQ(t.Erase(key), model.erase(key) == 1) << op;
        break;
      default: {
        Rec r;
        const auto it = model.find(key);
        ASSERT_EQ(t.Get(key, &r), it != model.end()) << op;
        if (it != model.end()) {
          ASSERT_EQ(r.value, it->second) << op;
        }
      }
    }
    ASSERT_EQ(t.size(), model.size());
    if (op % 10'000 == 0) {
      for (const auto& [k, v] : model) ASSERT_EQ(ValueOf(t, k), v) << op;
    }
  }
  size_t seen = 0;
  t.ForEach([&](uint64_t k, const Rec& r, int, uint32_t) {
    ++seen;
    ASSERT_EQ(model.at(k), r.value);
  });
  EXPECT_EQ(seen, model.size());
}

TEST(FlatTable, EvictingPutsLoseOnlyTheVictim) {
  // At capacity, a new key takes its victim's slot when that lies in its
  // probe run, else the victim is shifted out: either way exactly one
  // record goes and every other stays findable, with its value. Keys crowd
  // a few home slots half the time, as above.
  TwoClassTable t(300);
  std::unordered_map<uint64_t, Rec> model;
  std::mt19937_64 rng(13);
  for (int op = 0; op < 20'000; ++op) {
    const uint64_t i = rng() % 5000;
    const uint64_t key = (rng() & 1) ? (i % 32 + 1) << 59 | (i / 32) : i + 1;
    if (rng() % 4 == 0) {
      ASSERT_EQ(t.Erase(key), model.erase(key) == 1);
      continue;
    }
    const Rec r = R(rng(), rng() % 3 == 0 ? 1 : 0);
    const bool present = model.count(key) == 1;
    const auto res = t.Put(key, r);
    if (present || res.evicted_class < 0) {
      ASSERT_TRUE(res.stored);
      model[key] = r;
    } else if (res.stored) {
      model[key] = r;
    }
    if (res.evicted_class >= 0 && !present) {
      // Exactly one record of model (or the new one) went.
      uint64_t gone = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (!t.Contains(it->first)) {
          ++gone;
          ASSERT_EQ(static_cast<int>(it->second.cls), res.evicted_class);
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      ASSERT_EQ(gone, res.stored ? 1u : 0u) << op;
    }
    ASSERT_EQ(t.size(), model.size()) << op;
    ASSERT_LE(t.size(), 300u);
    for (const auto& [k, v] : model) {
      Rec got;
      ASSERT_TRUE(t.Get(k, &got)) << op;
      ASSERT_EQ(got.value, v.value) << op;
    }
  }
}

TEST(FlatTable, ReserveMakesRoomOnceAndKeepsTheRecords) {
  Table t(1000);
  for (uint64_t k = 1; k <= 10; ++k) t.Put(k, R(k));
  t.Reserve(700);
  const uint64_t slots = t.slot_count();
  EXPECT_GE(slots * 7 / 8, 700u);
  for (uint64_t k = 1; k <= 10; ++k) EXPECT_EQ(ValueOf(t, k), k);
  const int64_t before = g_news.load();
  for (uint64_t k = 11; k <= 700; ++k) t.Put(k, R(k));
  EXPECT_EQ(g_news.load(), before);  // No growth.
  EXPECT_EQ(t.slot_count(), slots);
  t.Reserve(5000);  // Capped at the capacity.
  EXPECT_EQ(t.slot_count(), t.max_slot_count());
  for (uint64_t k = 1; k <= 700; ++k) ASSERT_EQ(ValueOf(t, k), k);
}

TEST(FlatTable, BulkLoadKeepsTheOrderAndTheFirstOfEqualKeys) {
  std::vector<std::pair<uint64_t, Rec>> recs;
  std::mt19937_64 rng(17);
  for (uint64_t j = 0; j < 3000; ++j) {
    recs.emplace_back(rng(), R(j, j % 4 == 0 ? 1 : 0));
  }
  recs.emplace_back(recs[10].first, R(777, 0));  // A later duplicate.
  TwoClassTable t(5000);
  EXPECT_EQ(t.BulkLoad(recs.size(), [&](size_t j) -> const auto& {
    return recs[j];
  }), 3000u);
  EXPECT_EQ(t.size(), 3000u);
  EXPECT_EQ(t.size_of_class(1), 750u);
  Rec r;
  ASSERT_TRUE(t.Get(recs[10].first, &r));
  EXPECT_EQ(r.value, 10u);
  // Oldest first: class 0 in the given order, then class 1.
  std::vector<uint64_t> order, want;
  t.ForEachOldestFirst([&](uint64_t k, const Rec&) { order.push_back(k); });
  for (int cls = 0; cls < 2; ++cls) {
    for (uint64_t j = 0; j < 3000; ++j) {
      if (static_cast<int>(recs[j].second.cls) == cls) {
        want.push_back(recs[j].first);
      }
    }
  }
  EXPECT_EQ(order, want);
  // Later Puts are younger than everything loaded.
  t.Put(recs[1].first, R(1, 0));
  order.clear();
  t.ForEachOldestFirst([&](uint64_t k, const Rec&) { order.push_back(k); });
  EXPECT_EQ(order[2249], recs[1].first);  // Last of class 0.
}

TEST(FlatTable, AtCapacityEvictsTheLeastRecentlyTouchedWhileItCanSeeAll) {
  // Up to kSample records, the sample is the whole table: exact LRU.
  Table t(4);
  for (uint64_t k = 1; k <= 4; ++k) EXPECT_EQ(t.Put(k, R(k)).evicted_class, -1);
  t.Put(1, R(10));  // Touch 1: 2 is now the oldest.
  Table::PutResult res = t.Put(5, R(5));
  EXPECT_TRUE(res.stored);
  EXPECT_EQ(res.evicted_class, 0);
  EXPECT_FALSE(t.Contains(2));
  res = t.Put(6, R(6));
  EXPECT_FALSE(t.Contains(3));
  EXPECT_EQ(t.size(), 4u);
  for (uint64_t k : {1, 4, 5, 6}) EXPECT_TRUE(t.Contains(k)) << k;
}

TEST(FlatTable, AtCapacityEvictsAmongTheOldest) {
  constexpr uint64_t kCap = 10'000;
  constexpr uint64_t kNew = 2'000;
  Table t(kCap);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> keys;  // In touch order.
  for (uint64_t i = 0; i < kCap; ++i) keys.push_back(rng());
  for (uint64_t k : keys) ASSERT_EQ(t.Put(k, R(0)).evicted_class, -1);
  ASSERT_EQ(t.size(), kCap);
  // Each new record evicts one; the victim is the oldest of kSample drawn
  // at random: its age rank is below the median with probability 2^-8.
  std::unordered_set<uint64_t> live(keys.begin(), keys.end());
  double rank_sum = 0;  // Of victims: 0 the oldest, 1 the newest.
  int younger_half = 0;
  for (uint64_t n = 0; n < kNew; ++n) {
    const uint64_t k = rng();
    ASSERT_EQ(t.Put(k, R(1)).evicted_class, 0);
    keys.push_back(k);
    live.insert(k);
    // Find the victim: the one live key no longer in the table.
    uint64_t victim_index = keys.size();
    for (uint64_t i = 0; i < keys.size(); ++i) {
      if (live.count(keys[i]) && !t.Contains(keys[i])) {
        victim_index = i;
        break;
      }
    }
    ASSERT_LT(victim_index, keys.size());
    live.erase(keys[victim_index]);
    // The victim's rank among the records live before this Put.
    uint64_t older = 0;
    for (uint64_t i = 0; i < victim_index; ++i) older += live.count(keys[i]);
    const double rank = static_cast<double>(older) / kCap;
    rank_sum += rank;
    if (rank >= 0.5) ++younger_half;
  }
  EXPECT_EQ(t.size(), kCap);
  std::printf("flat_table eviction: mean victim rank %.3f (0 oldest), %d of %d "
              "from the younger half\n",
              rank_sum / kNew, younger_half, static_cast<int>(kNew));
  // For the oldest of 8 drawn independently: mean rank 1/9, 0.4% from the
  // younger half. The 8 are neighbours in a table 7/8 full, where later
  // records sit later in their cluster: measured 0.137 and 2.4%.
  EXPECT_LT(rank_sum / kNew, 0.15);
  EXPECT_LT(younger_half, static_cast<int>(kNew / 20));
  // The newest records are never evicted.
  for (uint64_t i = keys.size() - 100; i < keys.size(); ++i) {
    EXPECT_TRUE(t.Contains(keys[i]));
  }
}

TEST(FlatTable, TheLowerClassGoesFirstAndAFullUpperClassKeepsNoLowerRecord) {
  // Class 1 plays the declines, class 0 the ignore-only records.
  TwoClassTable t(100);
  for (uint64_t k = 1; k <= 60; ++k) t.Put(k, R(k, 1));
  int evicted_lower = 0;
  for (uint64_t k = 1000; k < 2000; ++k) {
    const auto res = t.Put(k, R(k, 0));
    ASSERT_TRUE(res.stored);
    ASSERT_NE(res.evicted_class, 1);
    evicted_lower += res.evicted_class == 0;
  }
  EXPECT_EQ(evicted_lower, 1000 - 40);
  for (uint64_t k = 1; k <= 60; ++k) EXPECT_TRUE(t.Contains(k)) << k;
  EXPECT_EQ(t.size_of_class(1), 60u);
  EXPECT_EQ(t.size_of_class(0), 40u);
  // A lower record that gets an upper one changes class in place.
  t.Put(1999, R(1999, 1));
  EXPECT_EQ(t.size_of_class(1), 61u);
  // New upper records push every lower one out, then evict each other.
  for (uint64_t k = 100; k < 139; ++k) {
    EXPECT_EQ(t.Put(k, R(k, 1)).evicted_class, 0);
  }
  EXPECT_EQ(t.size_of_class(0), 0u);
  EXPECT_EQ(t.Put(200, R(200, 1)).evicted_class, 1);
  // Full of upper records: a new lower one is not kept.
  const auto res = t.Put(300, R(300, 0));
  EXPECT_FALSE(res.stored);
  EXPECT_EQ(res.evicted_class, 0);
  EXPECT_FALSE(t.Contains(300));
  EXPECT_EQ(t.size(), 100u);
}

TEST(FlatTable, DeclinesLastOnMemoryRecords) {
  FlatTable<MemoryRecord, DeclinesLast> t(3);
  MemoryRecord ignore{}, decline{};
  ignore.flags = kHasIgnore;
  decline.flags = kHasDecline;
  t.Put(1, ignore);
  for (uint64_t k = 10; k < 15; ++k) t.Put(k, decline);
  // The ignore went first, then the two oldest declines.
  EXPECT_FALSE(t.Contains(1));
  EXPECT_FALSE(t.Contains(10));
  EXPECT_FALSE(t.Contains(11));
  for (uint64_t k = 12; k < 15; ++k) EXPECT_TRUE(t.Contains(k));
  EXPECT_FALSE(t.Put(2, ignore).stored);
}

TEST(FlatTable, OldestFirstOrderRebuildsTheOrder) {
  TwoClassTable t(64);
  for (uint64_t k = 1; k <= 40; ++k) t.Put(k, R(k, k % 3 == 0 ? 1 : 0));
  t.Put(5, R(5, 0));  // Touched: youngest of class 0.
  t.Put(3, R(3, 1));  // Youngest of class 1.
  std::vector<uint64_t> order;
  t.ForEachOldestFirst([&](uint64_t k, const Rec&) { order.push_back(k); });
  ASSERT_EQ(order.size(), 40u);
  std::vector<uint64_t> want;
  for (uint64_t k = 1; k <= 40; ++k) {
    if (k % 3 != 0 && k != 5) want.push_back(k);
  }
  want.push_back(5);
  for (uint64_t k = 6; k <= 39; k += 3) want.push_back(k);
  want.push_back(3);
  EXPECT_EQ(order, want);
  TwoClassTable copy(64);
  for (uint64_t k : order) {
    Rec r;
    ASSERT_TRUE(t.Get(k, &r));
    copy.Put(k, r);
  }
  std::vector<uint64_t> again;
  copy.ForEachOldestFirst([&](uint64_t k, const Rec&) { again.push_back(k); });
  EXPECT_EQ(again, order);
}

TEST(FlatTable, SweepVisitsEveryRecordOncePerTurnAndErasesOnRequest) {
  Table t(1000);
  for (uint64_t k = 1; k <= 800; ++k) t.Put(k, R(k));
  const uint64_t slots = t.slot_count();
  std::unordered_map<uint64_t, int> visits;
  uint64_t steps = 0;
  bool turned = false;
  while (!turned) {
    turned = t.Sweep(16, [&](uint64_t k, const Rec& r) {
      ++visits[k];
      // Erase the even ones: the record shifted into the slot is still
      // visited.
      return r.value % 2 == 0 ? Table::SweepStep::kErase
                              : Table::SweepStep::kKeep;
    });
    ASSERT_LE(++steps, (slots + 800) / 16 + 1);  // Erases take steps too.
  }
  EXPECT_EQ(t.size(), 400u);
  for (uint64_t k = 1; k <= 800; ++k) {
    EXPECT_EQ(t.Contains(k), k % 2 == 1) << k;
  }
  // Every record was looked at; at most once, but for one the shift across
  // the end of the array carried back to slot 0's side.
  EXPECT_EQ(visits.size(), 800u);
  int twice = 0;
  for (const auto& [k, n] : visits) twice += n > 1;
  EXPECT_LE(twice, 16);
  // kStop leaves the hand on the record.
  uint64_t first = 0;
  t.Sweep(16, [&](uint64_t k, const Rec&) {
    first = k;
    return Table::SweepStep::kStop;
  });
  uint64_t again = 0;
  t.Sweep(1, [&](uint64_t k, const Rec&) {
    again = k;
    return Table::SweepStep::kKeep;
  });
  EXPECT_EQ(first, again);
}

TEST(FlatTable, NoAllocationInSteadyState) {
  constexpr uint64_t kCap = 50'000;
  Table sessions(kCap);
  TwoClassTable memory(kCap);
  std::mt19937_64 rng(3);
  // Warm up: grow both to their largest size.
  for (uint64_t i = 0; i < kCap; ++i) {
    sessions.Put(rng(), R(i));
    memory.Put(rng(), R(i, i % 2));
  }
  ASSERT_EQ(sessions.slot_count(), sessions.max_slot_count());
  ASSERT_EQ(memory.slot_count(), memory.max_slot_count());
  std::vector<uint64_t> recent(1024);
  for (auto& k : recent) k = rng();
  const int64_t before = g_news.load();
  Rec r;
  uint64_t found = 0;
  for (int n = 0; n < 200'000; ++n) {
    const uint64_t k = recent[n % recent.size()];
    found += sessions.Get(k, &r);
    sessions.Put(k, R(n));  // Inserts (evicting) or updates.
    memory.Put(k, R(n, n % 3 == 0));
    found += memory.Get(k, &r);
    if (n % 7 == 0) {
      sessions.Erase(k);
      memory.Erase(k);
    }
    if (n % 5 == 0) recent[n % recent.size()] = rng();
    sessions.Sweep(16, [](uint64_t, const Rec& x) {
      return x.value % 97 == 0 ? Table::SweepStep::kErase
                               : Table::SweepStep::kKeep;
    });
  }
  EXPECT_EQ(g_news.load() - before, 0);
  EXPECT_GT(found, 0u);
  EXPECT_LE(sessions.size(), kCap);
  // Clear and Swap keep the arrays: still nothing allocated.
  Table other(kCap);
  sessions.Swap(other);
  other.Clear();
  EXPECT_EQ(g_news.load() - before, 0);
}

void ExpectSameSession(const SessionRecord& a, const SessionRecord& b) {
  EXPECT_EQ(a.session_start_ms, b.session_start_ms);
  EXPECT_EQ(a.last_event_ms, b.last_event_ms);
  EXPECT_EQ(a.last_activity_ms, b.last_activity_ms);
  EXPECT_EQ(a.checkout_since_ms, b.checkout_since_ms);
  EXPECT_EQ(a.last_offer_ms, b.last_offer_ms);
  EXPECT_EQ(std::memcmp(&a.cart_value, &b.cart_value, sizeof(float)), 0);
  for (int i = 0; i < kRecentPages; ++i) {
    EXPECT_EQ(a.recent_pages[i], b.recent_pages[i]);
  }
  for (int i = 0; i < kRecentSteps; ++i) {
    EXPECT_EQ(a.recent_steps[i], b.recent_steps[i]);
  }
  EXPECT_EQ(a.current_group, b.current_group);
  EXPECT_EQ(a.pages_viewed, b.pages_viewed);
  EXPECT_EQ(a.help_hits, b.help_hits);
  EXPECT_EQ(a.searches, b.searches);
  EXPECT_EQ(a.zero_result_searches, b.zero_result_searches);
  EXPECT_EQ(a.loops, b.loops);
  EXPECT_EQ(a.back_and_forth, b.back_and_forth);
  EXPECT_EQ(a.offers, b.offers);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.n_pages, b.n_pages);
  EXPECT_EQ(a.n_steps, b.n_steps);
  EXPECT_EQ(a.path_rule, b.path_rule);
  EXPECT_EQ(a.generation, b.generation);
}

SessionRecord RandomSession(std::mt19937_64& rng) {
  SessionRecord r{};
  r.session_start_ms = 1'700'000'000'000 + static_cast<int64_t>(rng() % 1'000'000'000);
  r.last_event_ms = r.session_start_ms + static_cast<int64_t>(rng() % 7'200'000);
  r.last_activity_ms = rng() % 4 ? r.last_event_ms - 5 : r.session_start_ms;
  r.checkout_since_ms = rng() % 2 ? 0 : r.session_start_ms + 1000;
  r.last_offer_ms = rng() % 2 ? 0 : r.last_event_ms;
  r.cart_value = static_cast<float>(rng() % 100'000) / 100.0f;
  for (auto& p : r.recent_pages) p = static_cast<uint32_t>(rng());
  for (auto& g : r.recent_steps) {
    g = rng() % 5 ? static_cast<uint16_t>(rng() % 255) : uint16_t{0xFFFF};
  }
  r.current_group = static_cast<uint16_t>(rng());
  r.pages_viewed = static_cast<uint16_t>(rng());
  r.help_hits = static_cast<uint16_t>(rng());
  r.searches = static_cast<uint16_t>(rng());
  r.zero_result_searches = static_cast<uint16_t>(rng());
  r.loops = static_cast<uint16_t>(rng());
  r.back_and_forth = static_cast<uint16_t>(rng());
  r.offers = static_cast<uint8_t>(rng());
  r.flags = static_cast<uint8_t>(rng());
  r.n_pages = static_cast<uint8_t>(rng() % 7);
  r.n_steps = static_cast<uint8_t>(rng() % 9);
  r.path_rule = static_cast<uint8_t>(rng());
  r.generation = static_cast<uint8_t>(rng());
  return r;
}

using SessionTable =
    FlatTable<SessionRecord, OneClass<SessionRecord>, SessionCodec>;

TEST(PackedSession, SessionsRoundTripThroughTheirSlot) {
  EXPECT_LE(sizeof(PackedSession), 80u);
  SessionTable t(2000);
  std::mt19937_64 rng(5);
  std::unordered_map<uint64_t, SessionRecord> model;
  for (uint64_t k = 1; k <= 1000; ++k) {
    model[k] = RandomSession(rng);
    t.Put(k, model[k]);
  }
  EXPECT_EQ(t.overflow_count(), 0u);
  for (const auto& [k, want] : model) {
    SessionRecord got;
    ASSERT_TRUE(t.Get(k, &got));
    ExpectSameSession(got, want);
  }
}

TEST(PackedSession, WhatDoesNotPackIsKeptWhole) {
  SessionTable t(100);
  std::mt19937_64 rng(6);
  SessionRecord long_session = RandomSession(rng);
  long_session.last_event_ms = long_session.session_start_ms + 30LL * 86'400'000;
  SessionRecord many_groups = RandomSession(rng);
  many_groups.recent_steps[3] = 300;
  SessionRecord before_start = RandomSession(rng);
  before_start.last_offer_ms = 5;  // Not 0, far before the session.
  SessionRecord at_limit = RandomSession(rng);  // Just fits.
  at_limit.last_event_ms = at_limit.session_start_ms + 2'147'483'647;
  t.Put(1, long_session);
  t.Put(2, many_groups);
  t.Put(3, before_start);
  t.Put(4, at_limit);
  EXPECT_EQ(t.overflow_count(), 3u);
  SessionRecord got;
  ASSERT_TRUE(t.Get(1, &got));
  ExpectSameSession(got, long_session);
  ASSERT_TRUE(t.Get(2, &got));
  ExpectSameSession(got, many_groups);
  ASSERT_TRUE(t.Get(3, &got));
  ExpectSameSession(got, before_start);
  ASSERT_TRUE(t.Get(4, &got));
  ExpectSameSession(got, at_limit);
  // Rewritten so that it fits: packed again, the side copy dropped.
  many_groups.recent_steps[3] = 7;
  t.Put(2, many_groups);
  EXPECT_EQ(t.overflow_count(), 2u);
  ASSERT_TRUE(t.Get(2, &got));
  ExpectSameSession(got, many_groups);
  // Erased (directly, by the sweep, by eviction): the side copy goes too.
  EXPECT_TRUE(t.Erase(1));
  EXPECT_EQ(t.overflow_count(), 1u);
  while (t.Contains(3)) {
    t.Sweep(8, [](uint64_t k, const SessionRecord&) {
      return k == 3 ? SessionTable::SweepStep::kErase
                    : SessionTable::SweepStep::kKeep;
    });
  }
  EXPECT_EQ(t.overflow_count(), 0u);
  SessionTable small(1);
  small.Put(9, long_session);
  EXPECT_EQ(small.overflow_count(), 1u);
  small.Put(10, at_limit);  // Evicts 9.
  EXPECT_FALSE(small.Contains(9));
  EXPECT_EQ(small.overflow_count(), 0u);
  // Many that do not fit, through growth and backward shifts.
  SessionTable grown(5000);
  for (uint64_t k = 1; k <= 3000; ++k) {
    grown.Put(k, k % 2 ? long_session : at_limit);
    if (k % 3 == 0) grown.Erase(k - 1);
  }
  for (uint64_t k = 1; k <= 3000; ++k) {
    const bool present = !(k % 3 == 2 && k < 3000);
    ASSERT_EQ(grown.Get(k, &got), present) << k;
    if (present) {
      ASSERT_EQ(got.last_event_ms, (k % 2 ? long_session : at_limit).last_event_ms);
    }
  }
  size_t odd_present = 0;
  for (uint64_t k = 1; k <= 3000; k += 2) odd_present += grown.Contains(k);
  EXPECT_EQ(grown.overflow_count(), odd_present);
}

TEST(PackedSession, ForEachMutableRewritesInPlaceKeepingTheOrder) {
  SessionTable t(100);
  std::mt19937_64 rng(21);
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; k <= 50; ++k) {
    t.Put(k, RandomSession(rng));
    keys.push_back(k);
  }
  t.ForEachMutable([](uint64_t k, SessionRecord& r) {
    r.pages_viewed = static_cast<uint16_t>(k);
    if (k == 7) r.recent_steps[0] = 1000;  // No longer packs.
  });
  EXPECT_EQ(t.overflow_count(), 1u);
  std::vector<uint64_t> order;
  t.ForEachOldestFirst([&](uint64_t k, const SessionRecord& r) {
    order.push_back(k);
    EXPECT_EQ(r.pages_viewed, k);
  });
  EXPECT_EQ(order, keys);
  SessionRecord got;
  ASSERT_TRUE(t.Get(7, &got));
  EXPECT_EQ(got.recent_steps[0], 1000);
}

}  // namespace
}  // namespace beckon::internal
