// Engine behaviour across features and gates: recheck_at promises, holdout
// stability, input validation that leaves state unchanged, options.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/page_matcher.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

TEST(Engine, UnknownVisitorWaitsWithNoSession) {
  auto e = MakeEngine(TestPolicy());
  const Decision d = MustDecide(*e, "nobody", kT0);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_EQ(d.reason, Reason::kNoSession);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
  EXPECT_TRUE(d.contributions().empty());
}

TEST(Engine, WaitNamesTheDwellItIsWaitingFor) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::PageView(kT0, "v", "/checkout/payment"));
  const Decision d = MustDecide(*e, "v", kT0 + 10 * kSec);
  EXPECT_EQ(d.reason, Reason::kDwell);
  EXPECT_EQ(d.reasons()[0], "dwell 10 s, below the page's threshold 35 s");
}

TEST(Engine, OfferReasonsListTheLargestContributionsFirst) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  const Decision d = MustDecide(*e, "v", kT0 + kStuckOfferAfter);
  ASSERT_EQ(d.action, Action::kOffer);
  ASSERT_GE(d.reasons().size(), 4u);
  EXPECT_THAT(d.reasons()[0], HasSubstr("reached threshold 0.50"));
  EXPECT_EQ(d.reasons()[1], "2 searches with no results");  // 0.7 * 2.
  EXPECT_EQ(d.reasons()[2], "path: search engine, site search, help");  // 1.0.
}

// Plays a random session and checks every recheck_at promise: deciding just
// before it gives no offer, deciding at it gives the offer, and nothing in
// between changes the answer.
TEST(Engine, RecheckAtIsTheEarliestTimeTheOfferComes) {
  std::mt19937_64 rng(20261123);
  const char* pages[] = {"/", "/c/shoes", "/p/1", "/p/2", "/help/returns",
                         "/faq", "/checkout/address", "/checkout/payment",
                         "/cart", "/about", "/contact"};
  // Every third engine has odd thresholds and weights, so that the dwell cap
  // falls between milliseconds and the stall feature matters.
  const Policy odd = TestPolicy([](proto::Policy& p) {
    for (auto& g : *p.mutable_groups()) {
      g.set_dwell_threshold_s(g.dwell_threshold_s() / 3.7 + 0.0001);
    }
    p.mutable_model()->set_bias(-4.005);
    for (auto& w : *p.mutable_model()->mutable_weights()) {
      if (w.feature() == "checkout_stall_min") w.set_weight(0.001);
      if (w.feature() == "dwell_ratio") w.set_weight(0.6180339);
    }
  });
  int promises = 0, kept = 0;
  for (int round = 0; round < 600; ++round) {
    auto e = MakeEngine(round % 3 == 2 ? odd : TestPolicy());
    if (round % 3 == 1) MustObserve(*e, Event::Agents(kT0, 1 + round % 5));
    const std::string v = "v" + std::to_string(round);
    int64_t t = kT0;
    const int steps = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < steps; ++i) {
      t += static_cast<int64_t>(rng() % 20) * kSec;
      if (rng() % 4 == 0) {
        MustObserve(*e, Event::Search(t, v, "/search", rng() % 3));
      } else {
        MustObserve(*e, Event::PageView(t, v, pages[rng() % 11]));
      }
    }
    const Decision first = MustDecide(*e, v, t);
    if (first.action != Action::kWait || !first.recheck_at_ms) continue;
    ++promises;
    const int64_t at = *first.recheck_at_ms;
    ASSERT_GT(at, t);
    // Before it: still waiting (sampled, plus the millisecond before).
    for (int64_t probe : {t + (at - t) / 3, t + (at - t) / 2, at - 1}) {
      const Decision d = MustDecide(*e, v, probe);
      ASSERT_EQ(d.action, Action::kWait) << "round " << round;
    }
    const Decision then = MustDecide(*e, v, at);
    EXPECT_EQ(then.action, Action::kOffer)
        << "round " << round << ": " << ReasonName(then.reason);
    if (then.action == Action::kOffer) ++kept;
  }
  EXPECT_GT(promises, 100);  // The property was exercised.
  EXPECT_EQ(kept, promises);
}

TEST(Engine, RecheckAfterAGateIncludesTheWaitForTheScore) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offers_per_session(2);
    p.mutable_gates()->set_min_gap_s(60);
  }));
  StuckVisitor(*e, "v", kT0);
  const int64_t offered = kT0 + kStuckOfferAfter;
  ASSERT_EQ(MustDecide(*e, "v", offered).action, Action::kOffer);
  // The visitor moves to a product page right away: when the gap ends, the
  // dwell there (90 s) is not reached yet, so the promise is later.
  MustObserve(*e, Event::PageView(offered + 10 * kSec, "v", "/p/5"));
  const Decision d = MustDecide(*e, "v", offered + 20 * kSec);
  EXPECT_EQ(d.reason, Reason::kMinGap);
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  EXPECT_GE(*d.recheck_at_ms, offered + 100 * kSec);
  EXPECT_NE(MustDecide(*e, "v", *d.recheck_at_ms - 1).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "v", *d.recheck_at_ms).action, Action::kOffer);
}

TEST(Engine, NoRecheckPastTheEndOfTheSession) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_session()->set_timeout_s(60);  // Gone before 90 s of dwell.
  }));
  MustObserve(*e, Event::PageView(kT0, "v", "/p/1"));
  const Decision d = MustDecide(*e, "v", kT0 + kSec);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
}

TEST(Engine, NoRecheckWhenTheScoreCanNeverGetThere) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_model()->set_bias(-20);
  }));
  MustObserve(*e, Event::PageView(kT0, "v", "/help"));
  EXPECT_FALSE(MustDecide(*e, "v", kT0).recheck_at_ms.has_value());
}

TEST(Engine, AllowBeforeDwellThresholdLetsAStrongScoreOfferEarly) {
  auto strict = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_model()->set_bias(0);
  }));
  auto early = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_model()->set_bias(0);
    p.mutable_model()->set_allow_before_dwell_threshold(true);
  }));
  for (Engine* e : {strict.get(), early.get()}) {
    MustObserve(*e, Event::PageView(kT0, "v", "/help"));
  }
  EXPECT_EQ(MustDecide(*strict, "v", kT0 + kSec).reason, Reason::kDwell);
  EXPECT_EQ(MustDecide(*early, "v", kT0 + kSec).action, Action::kOffer);
}

TEST(Engine, HoldoutIsStableAndItsFractionIsAccurate) {
  const Policy policy = TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_holdout_fraction(0.05);
  });
  auto a = MakeEngine(policy);
  Engine::Options other_key;
  other_key.visitor_key = {1, 2};
  other_key.shards = 4;
  auto b = MakeEngine(policy, other_key);  // Another engine, key, sharding.
  int held = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const std::string v = "cookie-" + std::to_string(i * 7919);
    StuckVisitor(*a, v, kT0);
    StuckVisitor(*b, v, kT0);
    const Decision da = MustDecide(*a, v, kT0 + kStuckOfferAfter);
    const Decision db = MustDecide(*b, v, kT0 + kStuckOfferAfter);
    ASSERT_EQ(da.reason == Reason::kHoldout, db.reason == Reason::kHoldout)
        << v;
    held += da.reason == Reason::kHoldout;
  }
  EXPECT_NEAR(static_cast<double>(held) / n, 0.05, 0.01);
}

TEST(Engine, HoldoutSaltDrawsANewGroup) {
  auto with_salt = [](const std::string& salt) {
    return MakeEngine(TestPolicy([&](proto::Policy& p) {
      p.mutable_gates()->set_holdout_fraction(0.5);
      p.mutable_gates()->set_holdout_salt(salt);
    }));
  };
  auto a = with_salt("one"), b = with_salt("two");
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string v = "v" + std::to_string(i);
    StuckVisitor(*a, v, kT0);
    StuckVisitor(*b, v, kT0);
    differ += (MustDecide(*a, v, kT0 + kStuckOfferAfter).reason ==
               Reason::kHoldout) !=
              (MustDecide(*b, v, kT0 + kStuckOfferAfter).reason ==
               Reason::kHoldout);
  }
  EXPECT_GT(differ, 60);  // About half of them, if independent.
}

// --- Bad input: a clear error, and the engine unchanged. ---------------------

struct BadEvent {
  const char* name;
  Event event;
  const char* message;
};

class BadInput : public ::testing::TestWithParam<BadEvent> {};

TEST_P(BadInput, IsRejectedWithAClearErrorAndChangesNothing) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::Agents(kT0, 3));
  StuckVisitor(*e, "v", kT0);
  MustObserve(*e, Event::OfferIgnored(kT0 + 31 * kSec, "v", "/h",
                                      Channel::kChat));
  const std::string before = e->Snapshot();
  const EngineStats stats_before = e->Stats();

  const absl::Status s = e->Observe(GetParam().event);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Str(s.message()), HasSubstr(GetParam().message));
  EXPECT_EQ(e->Snapshot(), before);
  EXPECT_EQ(e->Stats().events_observed, stats_before.events_observed);
  EXPECT_EQ(e->Stats().events_rejected, stats_before.events_rejected + 1);
  EXPECT_EQ(e->Stats().live_sessions, stats_before.live_sessions);
  // And the visitor decides exactly as before.
  auto twin = MakeEngine(TestPolicy());
  ASSERT_TRUE(twin->Restore(before).ok());
  const Decision d1 = MustDecide(*e, "v", kT0 + kStuckOfferAfter);
  const Decision d2 = MustDecide(*twin, "v", kT0 + kStuckOfferAfter);
  EXPECT_EQ(d1.action, d2.action);
  EXPECT_EQ(d1.probability, d2.probability);
}

const std::string kLongId(129, 'x');
// One byte over the default caps (Engine::Options::max_url_bytes and
// max_referrer_bytes, 8192).
const std::string kLongUrl = "/p/" + std::string(8190, 'u');
const std::string kLongReferrer =
    "https://www.google.com/search?q=" + std::string(8161, 'r');
Event WithType(Event e, int type) {
  e.type = static_cast<EventType>(type);
  return e;
}
Event WithChannel(Event e, int channel) {
  e.channel = static_cast<Channel>(channel);
  return e;
}

INSTANTIATE_TEST_SUITE_P(
    Engine, BadInput,
    ::testing::Values(
        BadEvent{"EmptyVisitor", Event::PageView(kT0 + kMin, "", "/"),
                 "visitor id is empty"},
        BadEvent{"OverLongVisitor", Event::PageView(kT0 + kMin, kLongId, "/"),
                 "visitor id is 129 bytes; at most 128"},
        BadEvent{"TimeGoesBackwards",
                 Event::PageView(kT0 + 29 * kSec, "v", "/"),
                 "time went backwards for visitor"},
        BadEvent{"NegativeTimestamp", Event::PageView(-5, "v", "/"),
                 "ts_ms -5 is out of range"},
        BadEvent{"HugeTimestamp",
                 Event::PageView(std::numeric_limits<int64_t>::max(), "v", "/"),
                 "is out of range"},
        BadEvent{"NaNCartValue",
                 Event::Cart(kT0 + kMin, "v", "/", std::nan("")),
                 "cart value must be finite, >= 0 and < 1e15, got nan"},
        BadEvent{"InfinitePurchase",
                 Event::Purchase(kT0 + kMin, "v", "/", HUGE_VAL),
                 "purchase value must be finite"},
        BadEvent{"NegativeCart", Event::Cart(kT0 + kMin, "v", "/", -1),
                 "must be finite, >= 0 and < 1e15"},
        BadEvent{"NegativeSearchResults",
                 Event::Search(kT0 + kMin, "v", "/s", -1),
                 "search results must be >= 0, got -1"},
        BadEvent{"UnknownEventType",
                 WithType(Event::PageView(kT0 + kMin, "v", "/"), 42),
                 "unknown event type 42"},
        BadEvent{"UnknownChannel",
                 WithChannel(Event::HelpContact(kT0 + kMin, "v", "/",
                                                Channel::kChat),
                             9),
                 "unknown channel 9"},
        BadEvent{"AgentsWithVisitor",
                 [] {
                   Event a = Event::Agents(kT0 + kMin, 2);
                   a.visitor = "v";
                   return a;
                 }(),
                 "agents event must have no visitor"},
        BadEvent{"NegativeAgents", Event::Agents(kT0 + kMin, -1),
                 "free agents must be in [0, 1000000], got -1"},
        BadEvent{"AgentsGoBackwards", Event::Agents(kT0 - 1, 2),
                 "time went backwards for agents"},
        BadEvent{"OverLongUrl", Event::PageView(kT0 + kMin, "v", kLongUrl),
                 "page_view page is 8193 bytes; at most 8192 "
                 "(Engine::Options.max_url_bytes)"},
        BadEvent{"OverLongSearchPage",
                 Event::Search(kT0 + kMin, "v", kLongUrl, 0),
                 "search page is 8193 bytes; at most 8192 "
                 "(Engine::Options.max_url_bytes)"},
        BadEvent{"OverLongReferrer",
                 Event::PageView(kT0 + kMin, "v", "/", kLongReferrer),
                 "page_view referrer is 8193 bytes; at most 8192 "
                 "(Engine::Options.max_referrer_bytes)"},
        BadEvent{"OverLongUrlForANewVisitor",
                 Event::PageView(kT0 + kMin, "new", kLongUrl),
                 "page_view page is 8193 bytes"}),
    [](const ::testing::TestParamInfo<BadEvent>& info) {
      return std::string(info.param.name);
    });

TEST(Engine, DecideRejectsBadInputAndChangesNothing) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  const std::string before = e->Snapshot();
  EXPECT_THAT(Str(e->Decide("", kT0).status().message()),
              HasSubstr("visitor id is empty"));
  EXPECT_THAT(Str(e->Decide(std::string(500, 'a'), kT0).status().message()),
              HasSubstr("at most 128"));
  EXPECT_THAT(Str(e->Decide("v", kT0 + 29 * kSec).status().message()),
              HasSubstr("time went backwards for visitor"));
  EXPECT_THAT(Str(e->Decide("v", -1).status().message()),
              HasSubstr("now_ms -1 is out of range"));
  EXPECT_EQ(e->Snapshot(), before);
  // Deciding at an offer is recorded; deciding before the offer is then an
  // error, as time for this visitor went backwards.
  ASSERT_EQ(MustDecide(*e, "v", kT0 + kStuckOfferAfter).action,
            Action::kOffer);
  EXPECT_THAT(
      Str(e->Decide("v", kT0 + kStuckOfferAfter - 1).status().message()),
      HasSubstr("time went backwards"));
}

TEST(Engine, UrlAndReferrerCapsAreOptionsAndInclusive) {
  Engine::Options o;
  o.max_url_bytes = 100;
  o.max_referrer_bytes = 50;
  auto e = MakeEngine(TestPolicy(), o);
  MustObserve(*e, Event::PageView(kT0, "v", std::string(100, '/'),
                                  std::string(50, 'r')));
  const absl::Status url =
      e->Observe(Event::PageView(kT0 + 1, "v", std::string(101, '/')));
  EXPECT_EQ(url.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Str(url.message()),
              HasSubstr("page is 101 bytes; at most 100"));
  const absl::Status ref =
      e->Observe(Event::PageView(kT0 + 1, "v", "/", std::string(51, 'r')));
  EXPECT_THAT(Str(ref.message()),
              HasSubstr("referrer is 51 bytes; at most 50"));
  EXPECT_EQ(e->Stats().events_observed, 1u);
  EXPECT_EQ(e->Stats().events_rejected, 2u);
  // The default caps take a URL of 8 KiB and a referrer of 8 KiB.
  auto d = MakeEngine(TestPolicy());
  MustObserve(*d, Event::PageView(kT0, "v", kLongUrl.substr(1),
                                  kLongReferrer.substr(1)));
}

// Events that do not read page or referrer take them at any length: a
// decline, above all, is never lost to a long URL field.
TEST(Engine, OverLongPageNeverLosesADeclineOrAnIgnore) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::Agents(kT0, 3));
  StuckVisitor(*e, "v", kT0);
  StuckVisitor(*e, "w", kT0);
  const std::string huge(1 << 20, 'x');
  MustObserve(*e, Event::OfferDeclined(kT0 + 31 * kSec, "v", huge,
                                       Channel::kChat));
  MustObserve(*e, Event::OfferIgnored(kT0 + 31 * kSec, "w", huge,
                                      Channel::kChat));
  // Late reports too.
  MustObserve(*e, Event::OfferDeclined(kT0, "w", huge, Channel::kChat));
  EXPECT_EQ(MustDecide(*e, "v", kT0 + kStuckOfferAfter).reason,
            Reason::kDeclined);
  EXPECT_EQ(MustDecide(*e, "w", kT0 + kStuckOfferAfter).reason,
            Reason::kDeclined);
  MustObserve(*e, Event::Cart(kT0 + kMin, "v", huge, 10));
  MustObserve(*e, Event::HelpContact(kT0 + kMin, "v", huge, Channel::kChat));
}

// Classification of a URL or referrer takes time proportional to its
// length; it must run before the visitor's shard is locked. The hook holds
// the classification of one marked URL still: meanwhile another visitor of
// the same (only) shard must be served. The timeout bounds only the failure
// (the lock held for the whole classification), never the pass.
struct ClassifyGate {
  std::string marker;
  absl::Notification entered;
  absl::Notification release;
};
ClassifyGate* g_classify_gate = nullptr;

void HoldTheMarkedUrl(std::string_view url) {
  ClassifyGate* g = g_classify_gate;
  if (g != nullptr && url == g->marker) {
    g->entered.Notify();
    g->release.WaitForNotification();
  }
}

void ExpectOthersServedWhileClassifying(const Event& attack,
                                        const std::string& marker) {
  Engine::Options o;
  o.shards = 1;  // Every visitor shares the one lock.
  auto e = MakeEngine(TestPolicy(), o);
  MustObserve(*e, Event::Agents(kT0, 3));
  StuckVisitor(*e, "other", kT0);
  ClassifyGate gate;
  gate.marker = marker;
  g_classify_gate = &gate;
  internal::SetClassifyHookForTest(&HoldTheMarkedUrl);
  std::thread attacker([&] { EXPECT_TRUE(e->Observe(attack).ok()); });
  gate.entered.WaitForNotification();
  absl::Notification served;
  Decision d;
  absl::Status third;
  std::thread other([&] {
    d = MustDecide(*e, "other", kT0 + kStuckOfferAfter);
    third = e->Observe(Event::PageView(kT0, "third", "/help/returns"));
    served.Notify();
  });
  const bool in_time = served.WaitForNotificationWithTimeout(absl::Seconds(20));
  gate.release.Notify();
  attacker.join();
  other.join();
  internal::SetClassifyHookForTest(nullptr);
  g_classify_gate = nullptr;
  EXPECT_TRUE(in_time) << "another visitor of the shard waited while a URL "
                          "was classified: classification ran under the lock";
  EXPECT_EQ(d.action, Action::kOffer);
  EXPECT_TRUE(third.ok()) << third;
  EXPECT_EQ(e->Stats().events_observed, 4u + 1 + 1);  // Agents: not a visitor event.
}

TEST(Engine, UrlIsClassifiedOutsideTheShardLock) {
  const std::string url = "/p/" + std::string(4000, 'u');
  ExpectOthersServedWhileClassifying(Event::PageView(kT0, "attacker", url),
                                     url);
}

TEST(Engine, SearchPageIsClassifiedOutsideTheShardLock) {
  const std::string url = "/search?q=" + std::string(4000, 'q');
  ExpectOthersServedWhileClassifying(Event::Search(kT0, "attacker", url, 0),
                                     url);
}

TEST(Engine, ReferrerIsCheckedOutsideTheShardLock) {
  const std::string ref = "https://www.google.com/?q=" + std::string(4000, 'r');
  ExpectOthersServedWhileClassifying(
      Event::PageView(kT0, "attacker", "/", ref), ref);
}

TEST(Engine, VisitorIdsOfAnyBytesWork) {
  auto e = MakeEngine(TestPolicy());
  const std::string binary("a\0b\xff\n,\"", 7);
  MustObserve(*e, Event::PageView(kT0, binary, "/"));
  MustObserve(*e, Event::PageView(kT0, std::string(128, 'z'), "/"));
  EXPECT_EQ(MustDecide(*e, binary, kT0).reason, Reason::kDwell);
  EXPECT_EQ(MustDecide(*e, std::string("a\0b", 3), kT0).reason,
            Reason::kNoSession);  // A different id.
}

TEST(Engine, CreateRejectsBadOptions) {
  Engine::Options o;
  o.shards = 3;
  EXPECT_THAT(Str(Engine::Create(TestPolicy(), o).status().message()),
              HasSubstr("shards must be a power of two"));
  o = Engine::Options();
  o.max_sessions = 0;
  EXPECT_THAT(Str(Engine::Create(TestPolicy(), o).status().message()),
              HasSubstr("max_sessions must be >= 1"));
  o = Engine::Options();
  o.max_memory_records = 0;
  EXPECT_FALSE(Engine::Create(TestPolicy(), o).ok());
  o = Engine::Options();
  o.max_url_bytes = 0;
  EXPECT_THAT(Str(Engine::Create(TestPolicy(), o).status().message()),
              HasSubstr("max_url_bytes must be >= 1"));
  o = Engine::Options();
  o.max_referrer_bytes = 0;
  EXPECT_THAT(Str(Engine::Create(TestPolicy(), o).status().message()),
              HasSubstr("max_referrer_bytes must be >= 1"));
}

TEST(Engine, StatsCountDecisionsByActionAndReason) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  MustDecide(*e, "v", kT0 + 31 * kSec);              // wait: dwell
  MustDecide(*e, "v", kT0 + kStuckOfferAfter);       // offer
  MustDecide(*e, "v", kT0 + kStuckOfferAfter + 1);   // suppress: session cap
  MustDecide(*e, "w", kT0);                          // wait: no session
  const EngineStats s = e->Stats();
  EXPECT_EQ(s.decisions_by_action[static_cast<int>(Action::kOffer)], 1u);
  EXPECT_EQ(s.decisions_by_action[static_cast<int>(Action::kWait)], 2u);
  EXPECT_EQ(s.decisions_by_action[static_cast<int>(Action::kSuppress)], 1u);
  EXPECT_EQ(s.decisions_by_reason[static_cast<int>(Reason::kDwell)], 1u);
  EXPECT_EQ(s.decisions_by_reason[static_cast<int>(Reason::kSessionCap)], 1u);
  EXPECT_EQ(s.decisions_by_reason[static_cast<int>(Reason::kNoSession)], 1u);
  EXPECT_EQ(s.events_observed, 4u);
  EXPECT_EQ(s.live_sessions, 1u);
}

TEST(Engine, NamesOfActionsReasonsEventsAndChannelsRoundTrip) {
  EXPECT_EQ(ActionName(Action::kSuppress), "suppress");
  EXPECT_EQ(ReasonName(Reason::kSessionCap), "session_cap");
  EXPECT_EQ(ReasonName(Reason::kRateCap), "rate_cap");
  EXPECT_EQ(ReasonName(Reason::kOfferRateCap), "offer_rate_cap");
  for (int i = 0; i < kEventTypeCount; ++i) {
    const auto t = static_cast<EventType>(i);
    EXPECT_EQ(ParseEventType(EventTypeName(t)), t);
  }
  EXPECT_EQ(ParseEventType("offer_declined"), EventType::kOfferDeclined);
  EXPECT_FALSE(ParseEventType("offer_rejected").has_value());
  EXPECT_EQ(ParseChannel("call"), Channel::kCall);
  EXPECT_EQ(ParseChannel(""), Channel::kUnspecified);
  EXPECT_FALSE(ParseChannel("fax").has_value());
  EXPECT_STREQ(Version(), BECKON_VERSION_STRING);
}

}  // namespace
}  // namespace beckon::testing
