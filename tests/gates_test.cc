// Each gate, its reason code, and the order in which they apply.
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

// Plays StuckVisitor from `t` and returns the decision at its offer time.
Decision StuckAt(Engine& e, std::string_view v, int64_t t) {
  StuckVisitor(e, v, t);
  return MustDecide(e, v, t + kStuckOfferAfter);
}

TEST(Gates, StuckVisitorIsOfferedOnceDwellIsReached) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  EXPECT_EQ(MustDecide(*e, "v", kT0 + kStuckOfferAfter - 1).action,
            Action::kWait);
  const Decision d = MustDecide(*e, "v", kT0 + kStuckOfferAfter);
  EXPECT_EQ(d.action, Action::kOffer);
  EXPECT_EQ(d.reason, Reason::kScore);
  EXPECT_THAT(d.reasons(),
              ::testing::Contains("dwell 45 s on /help/* (threshold 45 s)"));
}

TEST(Gates, DeclinedVisitorIsNeverReOfferedWithinTheCooldown) {
  auto e = MakeEngine(TestPolicy());
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferDeclined(kT0 + kStuckOfferAfter + kSec, "v",
                                       "/help/returns", Channel::kChat));
  // New sessions on later days, each as stuck as the first: the 30-day
  // cooldown holds across all of them.
  for (int day : {1, 2, 10, 29}) {
    const Decision d = StuckAt(*e, "v", kT0 + day * kDay);
    EXPECT_EQ(d.action, Action::kSuppress) << "day " << day;
    EXPECT_EQ(d.reason, Reason::kDeclined) << "day " << day;
    EXPECT_THAT(d.reasons()[0], HasSubstr("cooldown 30 d"));
  }
  // After it, the visitor may be offered again.
  EXPECT_EQ(StuckAt(*e, "v", kT0 + 31 * kDay).action, Action::kOffer);
}

TEST(Gates, DeclineForeverMeansNever) {
  auto e = MakeEngine(TestPolicy(
      [](proto::Policy& p) { p.mutable_gates()->set_decline_forever(true); }));
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferDeclined(kT0 + 80 * kSec, "v", "/help",
                                       Channel::kChat));
  const Decision d = StuckAt(*e, "v", kT0 + 400 * kDay);
  EXPECT_EQ(d.reason, Reason::kDeclined);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
}

TEST(Gates, IgnoredOffersAreNotDeclines) {
  auto e = MakeEngine(TestPolicy());
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferIgnored(kT0 + 80 * kSec, "v", "/help",
                                      Channel::kChat));
  // One ignore is under the cap of two: the next session may be offered.
  EXPECT_EQ(StuckAt(*e, "v", kT0 + kDay).action, Action::kOffer);
}

TEST(Gates, IgnoredOffersHaveTheirOwnCapAndShorterCooldown) {
  auto e = MakeEngine(TestPolicy());
  for (int day : {0, 1}) {
    const int64_t t = kT0 + day * kDay;
    ASSERT_EQ(StuckAt(*e, "v", t).action, Action::kOffer) << day;
    MustObserve(*e, Event::OfferIgnored(t + 80 * kSec, "v", "/help",
                                        Channel::kChat));
  }
  const Decision d = StuckAt(*e, "v", kT0 + 2 * kDay);
  EXPECT_EQ(d.action, Action::kSuppress);
  EXPECT_EQ(d.reason, Reason::kIgnored);
  EXPECT_THAT(d.reasons()[0], HasSubstr("cap 2, cooldown 7 d"));
  // Seven days after the last ignore, the count is forgiven.
  EXPECT_EQ(StuckAt(*e, "v", kT0 + kDay + 80 * kSec + 7 * kDay).action,
            Action::kOffer);
}

TEST(Gates, HelpContactMakesTheVisitorEngaged) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  MustObserve(*e, Event::HelpContact(kT0 + 40 * kSec, "v", "/help/returns",
                                     Channel::kEmail));
  const Decision d = MustDecide(*e, "v", kT0 + 10 * kMin);
  EXPECT_EQ(d.reason, Reason::kEngaged);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
}

TEST(Gates, AcceptedOfferMakesTheVisitorEngaged) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offers_per_session(5);
    p.mutable_gates()->set_min_gap_s(0);
  }));
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferAccepted(kT0 + 80 * kSec, "v", "/help",
                                       Channel::kChat));
  EXPECT_EQ(MustDecide(*e, "v", kT0 + 10 * kMin).reason, Reason::kEngaged);
}

TEST(Gates, SessionCapStopsFurtherOffersThisSessionOnly) {
  auto e = MakeEngine(TestPolicy());
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  const Decision d = MustDecide(*e, "v", kT0 + 20 * kMin);
  EXPECT_EQ(d.reason, Reason::kSessionCap);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
  // A new session (gap > 30 min) starts a new count.
  EXPECT_EQ(StuckAt(*e, "v", kT0 + 2 * 60 * kMin).action, Action::kOffer);
}

TEST(Gates, MinGapHoldsUntilItEndsAndRecheckSaysWhen) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offers_per_session(3);
    p.mutable_gates()->set_min_gap_s(300);
  }));
  const int64_t offered = kT0 + kStuckOfferAfter;
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  const Decision d = MustDecide(*e, "v", offered + 60 * kSec);
  EXPECT_EQ(d.action, Action::kSuppress);
  EXPECT_EQ(d.reason, Reason::kMinGap);
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  EXPECT_EQ(*d.recheck_at_ms, offered + 300 * kSec);
  EXPECT_EQ(MustDecide(*e, "v", *d.recheck_at_ms - 1).reason, Reason::kMinGap);
  EXPECT_EQ(MustDecide(*e, "v", *d.recheck_at_ms).action, Action::kOffer);
}

TEST(Gates, OfferShownForBeckonsOwnOfferIsNotCountedTwice) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offers_per_session(2);
    p.mutable_gates()->set_min_gap_s(60);
  }));
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferShown(kT0 + kStuckOfferAfter, "v",
                                    "/help/returns", Channel::kChat));
  EXPECT_EQ(MustDecide(*e, "v", kT0 + kStuckOfferAfter + 61 * kSec).action,
            Action::kOffer);
}

TEST(Gates, OfferShownByAnotherSystemCountsTowardTheCap) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  MustObserve(*e, Event::OfferShown(kT0 + 40 * kSec, "v", "/help/returns",
                                    Channel::kChat));
  EXPECT_EQ(MustDecide(*e, "v", kT0 + 10 * kMin).reason, Reason::kSessionCap);
}

TEST(Gates, HoldoutVisitorsAreNeverOfferedButRecordedAsWouldOffer) {
  auto e = MakeEngine(TestPolicy(
      [](proto::Policy& p) { p.mutable_gates()->set_holdout_fraction(0.5); }));
  int held = 0, offered = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string v = "visitor-" + std::to_string(i);
    const Decision d = StuckAt(*e, v, kT0 + i * kSec);
    if (d.reason == Reason::kHoldout) {
      ++held;
      EXPECT_EQ(d.action, Action::kSuppress);
      EXPECT_TRUE(d.would_offer);
      EXPECT_THAT(d.reasons()[0], HasSubstr("would have offered"));
    } else {
      ++offered;
      EXPECT_EQ(d.action, Action::kOffer);
      EXPECT_FALSE(d.would_offer);
    }
  }
  EXPECT_GT(held, 5);
  EXPECT_GT(offered, 5);
}

TEST(Gates, NoOfferIsEverMadeWithZeroFreeAgents) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::Agents(kT0, 0));
  for (int i = 0; i < 20; ++i) {
    const std::string v = "v" + std::to_string(i);
    StuckVisitor(*e, v, kT0 + i * kSec);
    for (int64_t dt = 30 * kSec; dt <= 20 * kMin; dt += 15 * kSec) {
      const Decision d = MustDecide(*e, v, kT0 + i * kSec + dt);
      ASSERT_NE(d.action, Action::kOffer) << v << " at +" << dt;
      if (d.action == Action::kSuppress) {
        EXPECT_EQ(d.reason, Reason::kNoAgents);
        EXPECT_FALSE(d.recheck_at_ms.has_value());
      }
    }
  }
  EXPECT_EQ(e->Stats().decisions_by_action[0], 0u);
  // An agent frees up: the stuck visitors can be helped.
  MustObserve(*e, Event::Agents(kT0 + 21 * kMin, 2));
  EXPECT_EQ(MustDecide(*e, "v0", kT0 + 21 * kMin).action, Action::kOffer);
}

TEST(Gates, AHostThatNeverReportsAgentsIsNotGated) {
  auto e = MakeEngine(TestPolicy());
  EXPECT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
}

// Issue 12, item 4: the rate cap reached within the first window after the
// epoch once read the window's buckets at a negative index (UBSan's bounds
// check reports it in the sanitizer leg). It must answer like anywhere else.
TEST(Gates, RateCapJustAfterTheEpochReadsOnlyItsOwnBuckets) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(0.5);
    p.mutable_gates()->set_threshold_at_one_agent(0.5);
  }));
  const int64_t t0 = 1000;  // One second after 1970-01-01T00:00:00Z.
  MustObserve(*e, Event::Agents(t0, 1));
  EXPECT_EQ(StuckAt(*e, "a", t0).action, Action::kOffer);
  EXPECT_EQ(StuckAt(*e, "b", t0 + kSec).action, Action::kOffer);
  const Decision d = StuckAt(*e, "c", t0 + 2 * kSec);
  EXPECT_EQ(d.reason, Reason::kRateCap);
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  EXPECT_GT(*d.recheck_at_ms, t0 + kStuckOfferAfter + 290 * kSec);
  EXPECT_LE(*d.recheck_at_ms, t0 + kStuckOfferAfter + 306 * kSec);
}

TEST(Gates, RateCapHoldsOffersToWhatFreeAgentsCanAnswer) {
  // One agent, half of offers accepted: at most 2 offers per 5 minutes.
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(0.5);
    p.mutable_gates()->set_threshold_at_one_agent(0.5);
  }));
  MustObserve(*e, Event::Agents(kT0, 1));
  EXPECT_EQ(StuckAt(*e, "a", kT0).action, Action::kOffer);
  EXPECT_EQ(StuckAt(*e, "b", kT0 + kSec).action, Action::kOffer);
  const Decision d = StuckAt(*e, "c", kT0 + 2 * kSec);
  EXPECT_EQ(d.action, Action::kSuppress);
  EXPECT_EQ(d.reason, Reason::kRateCap);
  EXPECT_THAT(d.reasons()[0], HasSubstr("1 free agents answer about 2"));
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  // When the window has slid past the first offer, c may be offered.
  EXPECT_GT(*d.recheck_at_ms, kT0 + kStuckOfferAfter + 290 * kSec);
  EXPECT_LE(*d.recheck_at_ms, kT0 + kStuckOfferAfter + 306 * kSec);
  // c keeps browsing the help page, so the session is still live then.
  MustObserve(*e, Event::PageView(kT0 + 5 * kMin, "c", "/help/returns"));
  MustObserve(*e, Event::PageView(kT0 + 6 * kMin, "c", "/help/returns"));
  const Decision later = MustDecide(*e, "c", kT0 + 7 * kMin);
  EXPECT_EQ(later.action, Action::kOffer);
}

TEST(Gates, ScarceAgentsRaiseTheBarSoTheNeediestAreOfferedFirst) {
  auto e = MakeEngine(TestPolicy());
  // "mild": on a help page, nothing else; "stuck": StuckVisitor.
  auto play = [&](std::string_view v, int64_t t) {
    MustObserve(*e, Event::PageView(t, v, "/help/returns"));
  };
  MustObserve(*e, Event::Agents(kT0, 4));  // Plenty: base threshold 0.5.
  play("mild", kT0);
  const Decision plenty = MustDecide(*e, "mild", kT0 + 4 * kMin);
  EXPECT_DOUBLE_EQ(plenty.threshold, 0.5);

  auto e1 = MakeEngine(TestPolicy());
  e = std::move(e1);
  MustObserve(*e, Event::Agents(kT0, 1));  // Last agent: threshold 0.75.
  play("mild", kT0);
  StuckVisitor(*e, "stuck", kT0);
  const Decision mild = MustDecide(*e, "mild", kT0 + 4 * kMin);
  EXPECT_DOUBLE_EQ(mild.threshold, 0.75);
  EXPECT_GT(mild.probability, plenty.threshold);  // Would pass with plenty.
  EXPECT_EQ(mild.action, Action::kWait);
  EXPECT_EQ(mild.reason, Reason::kBelowThreshold);
  const Decision stuck = MustDecide(*e, "stuck", kT0 + 4 * kMin);
  EXPECT_EQ(stuck.action, Action::kOffer);
  EXPECT_GE(stuck.probability, 0.75);
}

TEST(Gates, ThresholdFallsLinearlyFromOneAgentToPlenty) {
  for (auto [agents, want] : std::vector<std::pair<int, double>>{
           {1, 0.75}, {2, 0.5 + 0.25 * 2 / 3}, {3, 0.5 + 0.25 / 3},
           {4, 0.5}, {40, 0.5}}) {
    auto e = MakeEngine(TestPolicy());
    MustObserve(*e, Event::Agents(kT0, agents));
    MustObserve(*e, Event::PageView(kT0, "v", "/"));
    EXPECT_NEAR(MustDecide(*e, "v", kT0).threshold, want, 1e-12) << agents;
  }
}

TEST(Gates, ALateDeclineReportDoesNotShortenTheCooldown) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::OfferDeclined(kT0 + 10 * kDay, "v", "/",
                                       Channel::kChat));
  // The session is long gone; a delayed report of an older decline arrives
  // for a new session that starts at that older time.
  ASSERT_TRUE(e->Expire(kT0 + 11 * kDay).ok());
  MustObserve(*e, Event::OfferDeclined(kT0, "v", "/", Channel::kChat));
  const Decision d = StuckAt(*e, "v", kT0 + 31 * kDay);
  EXPECT_EQ(d.reason, Reason::kDeclined);  // 30 days from day 10, not day 0.
}

TEST(Gates, ADeclineReportedLateWithinTheSessionStillCounts) {
  auto e = MakeEngine(TestPolicy());
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  // The page view after the offer reaches the engine before the decline.
  MustObserve(*e, Event::PageView(kT0 + 80 * kSec, "v", "/p/1"));
  MustObserve(*e, Event::OfferDeclined(kT0 + 77 * kSec, "v", "/help",
                                       Channel::kChat));
  EXPECT_EQ(StuckAt(*e, "v", kT0 + kDay).reason, Reason::kDeclined);
  // Other kinds of event may not go back in time.
  EXPECT_FALSE(e->Observe(Event::PageView(kT0 + 78 * kSec, "v", "/")).ok());
}

TEST(Gates, RateCapHoldsWhenDecisionsArriveSlightlyOutOfOrder) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(1.0);  // 1 agent: 1 offer.
    p.mutable_gates()->set_threshold_at_one_agent(0.5);
    p.mutable_gates()->set_rate_window_s(300);
  }));
  MustObserve(*e, Event::Agents(kT0, 1));
  // 300 s / 60 buckets: 5 s each; the two decisions straddle a boundary.
  const int64_t t = kT0 + 1000 * 5 * kSec;
  StuckVisitor(*e, "a", t - kStuckOfferAfter);
  StuckVisitor(*e, "b", t - kStuckOfferAfter - kSec);
  EXPECT_EQ(MustDecide(*e, "a", t).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "b", t - 1).reason, Reason::kRateCap);
}

TEST(Gates, DeclineIsCheckedBeforeTheOtherGates) {
  auto e = MakeEngine(TestPolicy());
  ASSERT_EQ(StuckAt(*e, "v", kT0).action, Action::kOffer);
  MustObserve(*e, Event::OfferDeclined(kT0 + 80 * kSec, "v", "/help",
                                       Channel::kChat));
  MustObserve(*e, Event::HelpContact(kT0 + 90 * kSec, "v", "/help",
                                     Channel::kChat));
  // Declined, engaged and at the session cap at once: declined wins.
  EXPECT_EQ(MustDecide(*e, "v", kT0 + 100 * kSec).reason, Reason::kDeclined);
}

TEST(Gates, VisitorGatesComeBeforeTheScoreAndSiteGatesAfter) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::Agents(kT0, 0));
  MustObserve(*e, Event::PageView(kT0, "v", "/p/1"));
  // Not ready: the answer is wait, not no_agents.
  EXPECT_EQ(MustDecide(*e, "v", kT0 + kSec).reason, Reason::kDwell);
  MustObserve(*e, Event::HelpContact(kT0 + 2 * kSec, "v", "/p/1",
                                     Channel::kChat));
  // Engaged is a visitor gate: it comes before the score.
  EXPECT_EQ(MustDecide(*e, "v", kT0 + 3 * kSec).reason, Reason::kEngaged);
}

// Issue 13: the offer-share cap, which needs no agent counts. Ten sessions
// start in the window and a quarter of them may be offered: ceil(2.5) = 3.
TEST(Gates, OfferRateCapHoldsOffersToAShareOfSessionsStarted) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offer_share(0.25);
  }));
  for (int i = 0; i < 10; ++i) {
    StuckVisitor(*e, absl::StrCat("v", i), kT0 + i * kSec);
  }
  const int64_t t = kT0 + 9 * kSec + kStuckOfferAfter;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(MustDecide(*e, absl::StrCat("v", i), t).action, Action::kOffer)
        << i;
  }
  const Decision d = MustDecide(*e, "v3", t);
  EXPECT_EQ(d.action, Action::kSuppress);
  EXPECT_EQ(d.reason, Reason::kOfferRateCap);
  EXPECT_EQ(ReasonName(d.reason), "offer_rate_cap");
  EXPECT_THAT(d.reasons()[0],
              HasSubstr("3 offers in the last 300 s reach the cap 3 "
                        "(25.0% of 10 sessions started)"));
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  // Two more sessions start: ceil(0.25 * 12) = 3 still; a third makes 4.
  StuckVisitor(*e, "w0", t);
  StuckVisitor(*e, "w1", t);
  EXPECT_EQ(MustDecide(*e, "v3", t + kSec).reason, Reason::kOfferRateCap);
  StuckVisitor(*e, "w2", t + kSec);
  EXPECT_EQ(MustDecide(*e, "v3", t + 2 * kSec).action, Action::kOffer);
}

TEST(Gates, OfferRateCapIsOffWhenUnset) {
  auto e = MakeEngine(TestPolicy());
  for (int i = 0; i < 10; ++i) {
    StuckVisitor(*e, absl::StrCat("v", i), kT0);
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(MustDecide(*e, absl::StrCat("v", i), kT0 + kStuckOfferAfter)
                  .action,
              Action::kOffer)
        << i;
  }
}

TEST(Gates, OfferRateCapAndAgentRateCapTheSmallerBinds) {
  // One agent, half accepted: agent cap 2; share 0.5 of 10 sessions: 5.
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(0.5);
    p.mutable_gates()->set_threshold_at_one_agent(0.5);
    p.mutable_gates()->set_max_offer_share(0.5);
  }));
  MustObserve(*e, Event::Agents(kT0, 1));
  for (int i = 0; i < 10; ++i) {
    StuckVisitor(*e, absl::StrCat("v", i), kT0);
  }
  const int64_t t = kT0 + kStuckOfferAfter;
  EXPECT_EQ(MustDecide(*e, "v0", t).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "v1", t).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "v2", t).reason, Reason::kRateCap);
}

TEST(Gates, OfferRateCapCountsOnlySessionsInTheWindow) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_max_offer_share(0.1);
  }));
  // Forty sessions long before: outside the 300 s window, they allow none.
  for (int i = 0; i < 40; ++i) StuckVisitor(*e, absl::StrCat("old", i), kT0);
  // Ten minutes on, no session has started in the window: the cap is 0,
  // and only new sessions lift it (no recheck).
  const Decision none = MustDecide(*e, "old0", kT0 + 10 * kMin);
  EXPECT_EQ(none.reason, Reason::kOfferRateCap);
  EXPECT_EQ(none.detail.rate_cap, 0);
  EXPECT_EQ(none.detail.sessions_in_window, 0);
  EXPECT_FALSE(none.recheck_at_ms.has_value());
  StuckVisitor(*e, "a", kT0 + 20 * kMin);
  StuckVisitor(*e, "b", kT0 + 20 * kMin);
  const int64_t t = kT0 + 20 * kMin + kStuckOfferAfter;
  // Two sessions in the window: ceil(0.2) = 1 offer.
  EXPECT_EQ(MustDecide(*e, "a", t).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "b", t).reason, Reason::kOfferRateCap);
}

TEST(Gates, OfferRateCapShareZeroIsOff) {
  auto e = MakeEngine(TestPolicy(
      [](proto::Policy& p) { p.mutable_gates()->set_max_offer_share(0); }));
  StuckVisitor(*e, "a", kT0);
  StuckVisitor(*e, "b", kT0);
  EXPECT_EQ(MustDecide(*e, "a", kT0 + kStuckOfferAfter).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "b", kT0 + kStuckOfferAfter).action, Action::kOffer);
}

TEST(Gates, OfferRateCapBindsWhenSmallerThanTheAgentsCap) {
  // Ten free agents, half accepted: agent cap 20; share 0.2 of 10: 2.
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.mutable_gates()->set_expected_accept_rate(0.5);
    p.mutable_gates()->set_max_offer_share(0.2);
  }));
  MustObserve(*e, Event::Agents(kT0, 10));
  for (int i = 0; i < 10; ++i) StuckVisitor(*e, absl::StrCat("v", i), kT0);
  const int64_t t = kT0 + kStuckOfferAfter;
  EXPECT_EQ(MustDecide(*e, "v0", t).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "v1", t).action, Action::kOffer);
  const Decision d = MustDecide(*e, "v2", t);
  EXPECT_EQ(d.reason, Reason::kOfferRateCap);
  EXPECT_EQ(d.detail.rate_cap, 2);
  EXPECT_EQ(d.detail.sessions_in_window, 10);
}

// The window slides: offers and sessions older than rate_window_s count no
// more, so a later window has its own cap from its own sessions.
TEST(Gates, OfferRateCapWindowSlides) {
  auto e = MakeEngine(TestPolicy(
      [](proto::Policy& p) { p.mutable_gates()->set_max_offer_share(0.5); }));
  for (int i = 0; i < 4; ++i) StuckVisitor(*e, absl::StrCat("a", i), kT0);
  const int64_t t1 = kT0 + kStuckOfferAfter;
  EXPECT_EQ(MustDecide(*e, "a0", t1).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "a1", t1).action, Action::kOffer);
  const Decision d = MustDecide(*e, "a2", t1);
  EXPECT_EQ(d.reason, Reason::kOfferRateCap);
  // It may change when the window has slid past the first offers.
  ASSERT_TRUE(d.recheck_at_ms.has_value());
  EXPECT_GT(*d.recheck_at_ms, t1 + 290 * kSec);
  EXPECT_LE(*d.recheck_at_ms, t1 + 306 * kSec);
  // Ten minutes on, four other sessions start: the first window's offers
  // and sessions are out of it, and the new window allows ceil(0.5 x 4) = 2.
  const int64_t t2 = kT0 + 10 * kMin;
  for (int i = 0; i < 4; ++i) StuckVisitor(*e, absl::StrCat("b", i), t2);
  const int64_t t3 = t2 + kStuckOfferAfter;
  EXPECT_EQ(MustDecide(*e, "b0", t3).action, Action::kOffer);
  EXPECT_EQ(MustDecide(*e, "b1", t3).action, Action::kOffer);
  const Decision d2 = MustDecide(*e, "b2", t3);
  EXPECT_EQ(d2.reason, Reason::kOfferRateCap);
  EXPECT_EQ(d2.detail.sessions_in_window, 4);
  EXPECT_EQ(d2.detail.in_window, 2);
}

}  // namespace
}  // namespace beckon::testing
