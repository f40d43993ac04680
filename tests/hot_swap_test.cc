// Engine::SetPolicy: a live engine's policy replaced, keeping every
// visitor's state, the counters and the rate window; under concurrent load
// no event and no decline is lost.
#include <algorithm>
#include <functional>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

// The default policy otherwise built: groups in reverse order, no
// /help/returns group (nor its URL rule), /help/* waiting 20 s, and a
// name of its own.
Policy Rebuilt(const std::function<void(proto::Policy&)>& also = nullptr) {
  return TestPolicy([&](proto::Policy& p) {
    p.set_name("rebuilt");
    proto::Policy q = p;
    p.clear_groups();
    for (int i = q.groups_size() - 1; i >= 0; --i) {
      if (q.groups(i).pattern() == "/help/returns") continue;
      proto::PageGroup* g = p.add_groups();
      *g = q.groups(i);
      if (g->pattern() == "/help/*") g->set_dwell_threshold_s(20);
    }
    p.clear_url_rules();
    for (const auto& r : q.url_rules()) {
      if (r.group() != "/help/returns") *p.add_url_rules() = r;
    }
    if (also) also(p);
  });
}

TEST(HotSwap, KeepsSessionsRemappedByPattern) {
  auto e = MakeEngine(TestPolicy());
  // On /help/*: the page a rebuilt policy still has, at another index.
  MustObserve(*e, Event::PageView(kT0, "a", "/", "https://www.google.com/"));
  MustObserve(*e, Event::Search(kT0 + 10 * kSec, "a", "/search?q=x", 0));
  MustObserve(*e, Event::PageView(kT0 + 20 * kSec, "a", "/help/faq"));
  // On /help/returns (the /returns pages): a group the rebuilt policy lacks.
  MustObserve(*e, Event::PageView(kT0, "b", "/c/shoes"));
  MustObserve(*e, Event::PageView(kT0 + 30 * kSec, "b", "/returns/policy"));
  const EngineStats before = e->Stats();
  const Decision old = MustDecide(*e, "a", kT0 + 25 * kSec);
  EXPECT_EQ(old.reason, Reason::kDwell);  // 5 s of 45.
  EXPECT_EQ(old.policy_name(), "beckon-default");

  ASSERT_TRUE(e->SetPolicy(Rebuilt()).ok());
  EXPECT_EQ(e->policy().name(), "rebuilt");
  // Same sessions, same counters.
  EXPECT_EQ(e->Stats().live_sessions, before.live_sessions);
  EXPECT_EQ(e->Stats().events_observed, before.events_observed);
  // "a" is still on /help/* (threshold now 20 s), its path rule (search
  // engine, site search, help) matched again.
  const Decision d = MustDecide(*e, "a", kT0 + 40 * kSec);
  EXPECT_EQ(d.policy_name(), "rebuilt");
  EXPECT_NE(d.policy_version(), old.policy_version());
  EXPECT_THAT(d.reasons(),
              ::testing::Contains("dwell 20 s on /help/* (threshold 20 s)"));
  EXPECT_THAT(d.reasons(),
              ::testing::Contains("path: search engine, site search, help"));
  // "b" was on /help/returns (40 s): now an unlisted page (60 s).
  const Decision u = MustDecide(*e, "b", kT0 + 30 * kSec + 50 * kSec);
  EXPECT_EQ(u.reason, Reason::kDwell) << ::testing::PrintToString(u.reasons());
  EXPECT_EQ(u.reasons()[0], "dwell 50 s, below the page's threshold 60 s");
  // A decision made before the swap still reads its own policy.
  EXPECT_THAT(old.reasons()[0], HasSubstr("threshold 45 s"));
}

TEST(HotSwap, KeepsDeclinesAgentsAndTheRateWindow) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(1.0);  // Cap = free agents.
    p.mutable_gates()->set_plenty_agents(1);  // No raised threshold.
  }));
  MustObserve(*e, Event::Agents(kT0, 1));
  StuckVisitor(*e, "declined", kT0);
  ASSERT_EQ(MustDecide(*e, "declined", kT0 + kStuckOfferAfter).action,
            Action::kOffer);  // The one offer the window allows.
  MustObserve(*e, Event::OfferDeclined(kT0 + kStuckOfferAfter + kSec,
                                       "declined", "/help", Channel::kChat));
  StuckVisitor(*e, "next", kT0);
  ASSERT_TRUE(e->SetPolicy(Rebuilt([](proto::Policy& p) {
                p.mutable_gates()->set_expected_accept_rate(1.0);
                p.mutable_gates()->set_plenty_agents(1);
              })).ok());
  // The window still holds the offer made before the swap: with one free
  // agent, the next stuck visitor waits for it to pass.
  const Decision capped = MustDecide(*e, "next", kT0 + kStuckOfferAfter + 2 * kSec);
  EXPECT_EQ(capped.reason, Reason::kRateCap);
  // The decline holds across the swap and across sessions.
  StuckVisitor(*e, "declined", kT0 + kDay);
  const Decision again = MustDecide(*e, "declined", kT0 + kDay + kStuckOfferAfter);
  EXPECT_EQ(again.reason, Reason::kDeclined);
  EXPECT_EQ(again.policy_name(), "rebuilt");
}

TEST(HotSwap, ABadPolicyChangesNothing) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  const std::string version(
      MustDecide(*e, "v", kT0 + 31 * kSec).policy_version());
  const absl::Status timeout = e->SetPolicy(TestPolicy([](proto::Policy& p) {
    p.mutable_session()->set_timeout_s(600);
  }));
  EXPECT_TRUE(absl::IsFailedPrecondition(timeout)) << timeout;
  EXPECT_THAT(timeout.message(), HasSubstr("session.timeout_s"));
  const absl::Status window = e->SetPolicy(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_rate_window_s(60);
  }));
  EXPECT_TRUE(absl::IsFailedPrecondition(window)) << window;
  EXPECT_THAT(window.message(), HasSubstr("rate_window_s"));
  EXPECT_EQ(MustDecide(*e, "v", kT0 + 32 * kSec).policy_version(), version);
}

// Two threads play sessions for their own visitors (page views, searches,
// declines) while the main thread swaps between two policies with other
// groups; every event is counted, every visitor that declined is
// suppressed by its decline afterwards, and every decision came from one
// of the two policies.
TEST(HotSwap, UnderConcurrentLoadNoEventOrDeclineIsLost) {
  const Policy a = TestPolicy([](proto::Policy& p) { p.set_name("a"); });
  const Policy b = Rebuilt();
  auto e = MakeEngine(a);
  constexpr int kThreads = 2;
  constexpr int kVisitors = 3000;
  std::atomic<int> running{kThreads};
  std::atomic<uint64_t> sent{0};
  std::atomic<int> bad_policy{0};
  const std::vector<std::string> pages = {"/help/returns", "/help/faq", "/p/1",
                                          "/c/shoes", "/checkout/pay", "/"};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kVisitors; ++i) {
        const std::string v = absl::StrCat("t", t, "-", i);
        int64_t ts = kT0 + i;
        for (int k = 0; k < 6; ++k, ts += 7 * kSec) {
          if (e->Observe(Event::PageView(ts, v, pages[(i + k) % 6])).ok()) {
            sent.fetch_add(1);
          }
          const absl::StatusOr<Decision> d = e->Decide(v, ts + 3 * kSec);
          if (!d.ok() ||
              (d->policy_name() != "a" && d->policy_name() != "rebuilt")) {
            bad_policy.fetch_add(1);
          }
        }
        if (i % 2 == 0 &&
            e->Observe(Event::OfferDeclined(ts, v, "/", Channel::kChat)).ok()) {
          sent.fetch_add(1);
        }
      }
      running.fetch_sub(1);
    });
  }
  int swaps = 0, swaps_under_load = 0;
  while (running.load() > 0 || swaps < 10) {
    const bool loaded = running.load() > 0;
    ASSERT_TRUE(e->SetPolicy(swaps % 2 == 0 ? b : a).ok());
    ++swaps;
    if (loaded && running.load() > 0) ++swaps_under_load;
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_policy.load(), 0);
  EXPECT_EQ(e->Stats().events_observed, sent.load());
  EXPECT_EQ(sent.load(), kThreads * kVisitors * 6u + kThreads * kVisitors / 2);
  EXPECT_EQ(e->Stats().live_sessions, static_cast<uint64_t>(kThreads * kVisitors));
  // Every decline held: a new session of each stuck visitor is gated.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kVisitors; i += 2) {
      const std::string v = absl::StrCat("t", t, "-", i);
      StuckVisitor(*e, v, kT0 + kDay);
      EXPECT_EQ(MustDecide(*e, v, kT0 + kDay + kStuckOfferAfter).reason,
                Reason::kDeclined)
          << v;
    }
  }
  // The swaps overlapped the load (each one whole while both threads ran).
  EXPECT_GE(swaps_under_load, 5);
}

}  // namespace
}  // namespace beckon::testing
