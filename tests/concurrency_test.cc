// Observe and Decide from several threads on shared visitors.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

TEST(Concurrency, SharedVisitorsFromManyThreadsStayConsistent) {
  Engine::Options o;
  o.shards = 8;
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offers_per_session(1);
  }), o);
  constexpr int kThreads = 6;
  constexpr int kVisitors = 40;
  constexpr int kSteps = 3000;
  // One clock for all threads; per visitor, calls can still arrive out of
  // order across threads, and those must be rejected whole.
  // Odd visitors are stuck before the threads start and are only asked
  // afterwards: the threads race to offer them, and exactly one must win.
  for (int vi = 1; vi < kVisitors; vi += 2) {
    StuckVisitor(*e, "shared-" + std::to_string(vi), kT0);
  }
  std::atomic<int64_t> clock{kT0 + 2 * kMin};
  std::atomic<uint64_t> accepted{0}, rejected{0};
  absl::Mutex mu;
  std::map<std::string, int> offers;  // Per visitor; one session each.
  std::atomic<int> offers_after_decline{0};
  std::vector<std::atomic<bool>> declined(kVisitors);
  const char* pages[] = {"/", "/help/returns", "/search", "/checkout/a",
                         "/p/1", "/faq"};

  auto work = [&](int seed) {
    uint64_t x = 0x9e3779b97f4a7c15ULL * (seed + 1);
    auto next = [&] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    for (int i = 0; i < kSteps; ++i) {
      const int vi = static_cast<int>(next() % kVisitors);
      const std::string v = "shared-" + std::to_string(vi);
      const int64_t t = clock.fetch_add(50);  // 50 ms per call, site-wide.
      const int what = vi % 2 ? 9 : static_cast<int>(next() % 10);
      absl::Status s;
      if (what < 5) {
        s = e->Observe(Event::PageView(t, v, pages[next() % 6]));
      } else if (what < 6) {
        s = e->Observe(Event::Search(t, v, "/search", next() % 2));
      } else if (what < 7 && vi % 4 == 0) {
        s = e->Observe(Event::OfferDeclined(t, v, "/", Channel::kChat));
        if (s.ok()) declined[vi] = true;
      } else {
        const bool was_declined = declined[vi];
        absl::StatusOr<Decision> d = e->Decide(v, t);
        s = d.status();
        if (d.ok() && d->action == Action::kOffer) {
          if (was_declined) ++offers_after_decline;
          absl::MutexLock lock(&mu);
          ++offers[v];
        }
      }
      (s.ok() ? accepted : rejected)++;
      if (!s.ok()) {
        EXPECT_NE(std::string(s.message()).find("time went backwards"),
                  std::string::npos)
            << s;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(work, i);
  for (auto& t : threads) t.join();

  EXPECT_EQ(accepted + rejected, uint64_t{kThreads} * kSteps);
  const EngineStats st = e->Stats();
  uint64_t decisions = 0;
  for (uint64_t n : st.decisions_by_action) decisions += n;
  EXPECT_EQ(st.events_observed + decisions,
            accepted.load() + uint64_t{kVisitors / 2} * 4);
  EXPECT_EQ(st.live_sessions, static_cast<uint64_t>(kVisitors));
  // The whole run spans 17 minutes: one session per visitor, so the cap of
  // one offer per session holds per visitor, whatever the interleaving.
  ASSERT_LT(clock.load() - kT0, 30 * kMin);
  for (const auto& [v, n] : offers) EXPECT_LE(n, 1) << v;
  for (int vi = 1; vi < kVisitors; vi += 2) {
    EXPECT_EQ(offers["shared-" + std::to_string(vi)], 1) << vi;
  }
  EXPECT_EQ(offers_after_decline.load(), 0);
}

TEST(Concurrency, DistinctVisitorsNeverInterfere) {
  auto e = MakeEngine(TestPolicy());
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> offered{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 500; ++j) {
        const std::string v = "t" + std::to_string(i) + "-" + std::to_string(j);
        StuckVisitor(*e, v, kT0 + j * kSec);
        offered += MustDecide(*e, v, kT0 + j * kSec + kStuckOfferAfter)
                       .action == Action::kOffer;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(offered.load(), kThreads * 500);
  EXPECT_EQ(e->Stats().events_observed, uint64_t{kThreads} * 500 * 4);
}

}  // namespace
}  // namespace beckon::testing
