// Deciding allocates nothing in steady state: every operator new of this
// test binary is counted, and a pass of decisions over visitors already in
// the engine (waiting, below the threshold, offered, gated, without a
// session, rate-capped) must count none. Observing a page for a visitor
// already in the engine must not allocate either.
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

// GCC takes malloc/free inside a replaced operator new/delete for a
// mismatch once they are inlined into their callers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace beckon::testing {
namespace {

template <typename Fn>
int64_t AllocationsIn(Fn fn) {
  const int64_t before = g_allocations.load();
  fn();
  return g_allocations.load() - before;
}

// Long ids (beyond any small-string buffer), as hosts send them.
std::string Id(int i) {
  return "visitor-" + std::to_string(i) + "-0123456789abcdef0123456789";
}

TEST(DecideAllocations, NoneInSteadyState) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_min_gap_s(1);
    p.mutable_gates()->set_max_offers_per_session(200);
  }));
  constexpr int kVisitors = 64;
  std::vector<std::string> ids;
  for (int i = 0; i < kVisitors; ++i) ids.push_back(Id(i));
  MustObserve(*e, Event::Agents(kT0, 3));
  for (int i = 0; i < kVisitors; ++i) {
    switch (i % 5) {
      case 0:  // Stuck: offered once the dwell is reached.
        StuckVisitor(*e, ids[i], kT0);
        break;
      case 1:  // Browsing: waits (below the threshold, or the dwell).
        MustObserve(*e, Event::PageView(kT0 - (i % 8) * kMin, ids[i],
                                        "/c/shoes"));
        MustObserve(*e, Event::PageView(kT0 + kSec, ids[i], "/"));
        break;
      case 2:  // Stuck but declined before: gated.
        StuckVisitor(*e, ids[i], kT0);
        MustObserve(*e, Event::OfferDeclined(kT0 + 31 * kSec, ids[i], "/help",
                                             Channel::kChat));
        break;
      case 3:  // Never seen: no session.
        break;
      case 4:  // Just arrived (every pass): the dwell is short.
        break;
    }
  }
  auto arrive = [&](int64_t t) {
    for (int i = 4; i < kVisitors; i += 5) {
      MustObserve(*e, Event::PageView(t, ids[i], "/p/123"));
    }
  };
  // Warm-up: one pass over every visitor and every kind of answer.
  std::vector<int> seen(kReasonCount, 0);
  int64_t t = kT0 + kStuckOfferAfter;
  arrive(t);
  for (const std::string& id : ids) {
    seen[static_cast<int>(MustDecide(*e, id, t).reason)]++;
  }
  // The counted passes: later, the same visitors (offers again after the
  // minimum gap, then the rate cap of 3 agents kicks in).
  int64_t allocations = 0;
  for (int pass = 1; pass <= 3; ++pass) {
    t += 2 * kSec;
    arrive(t);
    allocations += AllocationsIn([&] {
      for (const std::string& id : ids) {
        absl::StatusOr<Decision> d = e->Decide(id, t);
        if (d.ok()) seen[static_cast<int>(d->reason)]++;
      }
    });
  }
  EXPECT_EQ(allocations, 0);
  // The passes covered the answers they were meant to.
  for (Reason r : {Reason::kScore, Reason::kNoSession, Reason::kDeclined,
                   Reason::kDwell, Reason::kBelowThreshold,
                   Reason::kRateCap}) {
    EXPECT_GT(seen[static_cast<int>(r)], 0) << ReasonName(r);
  }
}

TEST(DecideAllocations, ReasonsAreMadeOnlyWhenAsked) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, Id(1), kT0);
  const Decision d = MustDecide(*e, Id(1), kT0 + kStuckOfferAfter);
  ASSERT_EQ(d.action, Action::kOffer);
  // Reading the reasons is where text is made.
  EXPECT_GT(AllocationsIn([&] { EXPECT_EQ(d.reasons().size(), 4u); }), 0);
  EXPECT_EQ(AllocationsIn([&] { EXPECT_EQ(d.reason_count(), 4u); }), 0);
}

TEST(ObserveAllocations, NoneForAKnownVisitor) {
  auto e = MakeEngine(TestPolicy());
  std::vector<std::string> ids;
  for (int i = 0; i < 64; ++i) ids.push_back(Id(i));
  const char* const pages[] = {"/c/shoes", "/p/123456", "/help/returns",
                               "/search?q=boots", "/checkout/payment",
                               "https://shop.example/cart?utm_source=x"};
  for (size_t i = 0; i < ids.size(); ++i) {
    MustObserve(*e, Event::PageView(kT0, ids[i], pages[i % 6],
                                    "https://www.google.com/"));
  }
  int64_t allocations = 0;
  for (int pass = 1; pass <= 3; ++pass) {
    allocations += AllocationsIn([&] {
      for (size_t i = 0; i < ids.size(); ++i) {
        const absl::Status s = e->Observe(
            Event::PageView(kT0 + pass * kSec, ids[i], pages[(i + pass) % 6]));
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace beckon::testing
