// The measured lift (docs/uplift.md): the difference of means and its
// interval on hand-computed cases, the replay's arms and outcomes on a
// hand-made log, the simulated shop whose widget is a beckon policy
// (reproduced decision for decision by the replay), and the intervals'
// coverage of the true lift the simulator knows.
#include "lib/offline/lift.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "beckon/engine.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"
#include "uplift_test_util.h"

namespace beckon {
namespace {

using testing::ShopRun;
using testing::Simulate;
using testing::WithDecisions;

constexpr int64_t kSec = 1000;
constexpr int64_t kT0 = 1'700'000'000'000;

internal::MeanVar Of(const std::vector<double>& xs) {
  internal::MeanVar m;
  for (double x : xs) m.Add(x);
  return m;
}

TEST(Lift, DifferenceOfMeansIsHandComputed) {
  // Offered {1, 0, 1, 1}: mean 3/4, sample variance (3 * 1/16 + 9/16) / 3
  // = 1/4. Holdout {0, 0, 1}: mean 1/3, variance (2/9 + 2/9 + 4/9) / 2 =
  // 1/3. Standard error sqrt(1/16 + 1/9) = sqrt(25/144) = 5/12.
  const LiftEstimate e = internal::Difference(Of({1, 0, 1, 1}), Of({0, 0, 1}));
  ASSERT_TRUE(e.estimable);
  EXPECT_DOUBLE_EQ(e.offered, 0.75);
  EXPECT_DOUBLE_EQ(e.holdout, 1.0 / 3);
  EXPECT_DOUBLE_EQ(e.lift, 0.75 - 1.0 / 3);
  EXPECT_NEAR(e.standard_error, 5.0 / 12, 1e-15);
  EXPECT_NEAR(e.ci_low, 5.0 / 12 - internal::kZ95 * 5.0 / 12, 1e-15);
  EXPECT_NEAR(e.ci_high, 5.0 / 12 + internal::kZ95 * 5.0 / 12, 1e-15);
}

TEST(Lift, LargeValuesKeepTheirVariance) {
  // Order values near 1e9 differing by cents: a sum-of-squares formula
  // loses them, Welford's update does not (variance of {0, 0.01, 0.02} is
  // 1e-4).
  const internal::MeanVar m = Of({1e9, 1e9 + 0.01, 1e9 + 0.02});
  EXPECT_NEAR(m.Variance(), 1e-4, 1e-9);
  EXPECT_NEAR(m.mean, 1e9 + 0.01, 1e-6);
}

TEST(Lift, TooFewVisitorsGiveNoInterval) {
  const LiftEstimate one = internal::Difference(Of({1}), Of({0, 1, 0}));
  EXPECT_FALSE(one.estimable);
  EXPECT_DOUBLE_EQ(one.offered, 1);
  EXPECT_DOUBLE_EQ(one.holdout, 1.0 / 3);
  EXPECT_DOUBLE_EQ(one.standard_error, 0);
  const LiftEstimate none = internal::Difference(Of({}), Of({0, 1}));
  EXPECT_FALSE(none.estimable);
  EXPECT_DOUBLE_EQ(none.offered, 0);
}

Policy WithHoldout(const Policy& p, double fraction) {
  proto::Policy m = internal::PolicyInternal::Message(p);
  m.mutable_gates()->set_holdout_fraction(fraction);
  absl::StatusOr<Policy> out = Policy::FromBytes(m.SerializeAsString());
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

// The offer once 10 s into any page, with half the visitors held out.
Policy TenSecondsHalfHeldOut() {
  absl::StatusOr<Policy> p =
      FixedDwellPolicy(WithHoldout(Policy::Default(), 0.5), 10);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

// Visitor ids in (true) or out of the policy's holdout, found by asking an
// engine with it.
std::vector<std::string> Visitors(const Policy& policy, bool holdout, int n) {
  std::unique_ptr<Engine> engine = *Engine::Create(policy);
  std::vector<std::string> out;
  for (int i = 0; out.size() < static_cast<size_t>(n) && i < 1000; ++i) {
    const std::string v = "v" + std::to_string(i);
    EXPECT_TRUE(engine->Observe(Event::PageView(kT0, v, "/p/1")).ok());
    const Decision d = *engine->Decide(v, kT0 + 11 * kSec);
    if ((d.reason == Reason::kHoldout) == holdout) out.push_back(v);
  }
  EXPECT_EQ(out.size(), static_cast<size_t>(n));
  return out;
}

void Add(std::vector<LogEvent>& log, const Event& e) {
  log.push_back(LogEvent::FromEvent(e));
  log.back().line = log.size() + 1;
}

Event Purchase(int64_t ts, const std::string& v, double value) {
  return Event::Purchase(ts, v, "/checkout/pay", value);
}

TEST(Lift, ReplayArmsAndOutcomesFollowTheDefinitions) {
  const Policy policy = TenSecondsHalfHeldOut();
  const std::vector<std::string> off = Visitors(policy, false, 3);
  const std::vector<std::string> held = Visitors(policy, true, 2);
  std::vector<LogEvent> log;
  // Each visitor reads /p/1 for 20 s: eligible at +10 s (a recheck), an
  // offer or a holdout's would-offer, then goes to the cart.
  auto visit = [&](const std::string& v, int64_t t) {
    Add(log, Event::PageView(t, v, "/p/1"));
    Add(log, Event::PageView(t + 20 * kSec, v, "/cart"));
  };
  // off[0] buys for 40 after the moment, and again in a later session
  // (not counted: a visitor counts at their first eligible session).
  visit(off[0], kT0);
  Add(log, Purchase(kT0 + 30 * kSec, off[0], 40));
  visit(off[0], kT0 + 3600 * kSec);
  Add(log, Purchase(kT0 + 3630 * kSec, off[0], 500));
  // off[1] buys nothing.
  visit(off[1], kT0 + 1 * kSec);
  // off[2] bought before the moment (at +5 s, on the page): not counted.
  Add(log, Event::PageView(kT0 + 2 * kSec, off[2], "/p/1"));
  Add(log, Purchase(kT0 + 7 * kSec, off[2], 70));
  Add(log, Event::PageView(kT0 + 8 * kSec, off[2], "/p/2"));
  Add(log, Event::PageView(kT0 + 40 * kSec, off[2], "/cart"));
  // held[0] buys for 10; held[1] asks for help instead.
  visit(held[0], kT0 + 3 * kSec);
  Add(log, Purchase(kT0 + 33 * kSec, held[0], 10));
  visit(held[1], kT0 + 4 * kSec);
  Add(log,
      Event::HelpContact(kT0 + 29 * kSec, held[1], "/cart", Channel::kChat));

  absl::StatusOr<ReplayMetrics> m = Replay(policy, log);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->lift.has_value());
  const ReplayLift& l = *m->lift;
  EXPECT_FALSE(l.from_decision_log);
  EXPECT_EQ(l.offered_arm, 3u);
  EXPECT_EQ(l.offered, 3u);
  EXPECT_EQ(l.holdout_arm, 2u);
  EXPECT_DOUBLE_EQ(l.purchase_rate.offered, 1.0 / 3);
  EXPECT_DOUBLE_EQ(l.purchase_rate.holdout, 0.5);
  EXPECT_DOUBLE_EQ(l.revenue_per_session.offered, 40.0 / 3);
  EXPECT_DOUBLE_EQ(l.revenue_per_session.holdout, 5);
  EXPECT_DOUBLE_EQ(l.contact_rate.offered, 0);
  EXPECT_DOUBLE_EQ(l.contact_rate.holdout, 0.5);
  EXPECT_TRUE(l.purchase_rate.estimable);
  // The fixed rule has no page groups of its own: every moment is on an
  // unlisted page.
  ASSERT_EQ(l.groups.size(), 1u);
  EXPECT_EQ(l.groups[0].pattern, "(unlisted)");
  EXPECT_EQ(l.groups[0].offered_arm, 3u);
  EXPECT_EQ(l.groups[0].holdout_arm, 2u);
  const std::string json = m->ToJson();
  EXPECT_NE(json.find("\"lift\":{\"offered_arm\":3,\"offered\":3,"
                      "\"holdout_arm\":2,"),
            std::string::npos)
      << json;

  // A policy without a holdout measures no lift.
  absl::StatusOr<ReplayMetrics> none =
      Replay(*FixedDwellPolicy(WithHoldout(Policy::Default(), 0), 10), log);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->lift.has_value());
  EXPECT_EQ(none->ToJson().find("\"lift\""), std::string::npos);
}

// Each visitor's first session with an eligible moment (as the lift counts
// them).
std::vector<SessionTruth> FirstPerVisitor(std::vector<SessionTruth> truth) {
  std::stable_sort(truth.begin(), truth.end(),
                   [](const SessionTruth& a, const SessionTruth& b) {
                     return a.session_start_ms < b.session_start_ms;
                   });
  std::set<std::string> seen;
  std::vector<SessionTruth> out;
  for (SessionTruth& t : truth) {
    if (seen.insert(t.visitor).second) out.push_back(std::move(t));
  }
  return out;
}

TEST(Lift, ShopRunWidgetIsReproducedByTheReplay) {
  const Policy policy = WithHoldout(Policy::Default(), 0.5);
  const ShopRun s = Simulate(policy, 7, 1, 4000);
  ASSERT_GT(s.truth.size(), 300u);
  // The widget's log: no agents rows; holdout visitors never offered; each
  // session's truth is one of its potential outcomes.
  std::set<std::string> held;
  for (const SessionTruth& t : s.truth) {
    if (t.holdout) held.insert(t.visitor);
    EXPECT_EQ(t.purchased,
              t.holdout ? t.purchase_if_not : t.purchase_if_offered)
        << t.visitor;
    EXPECT_EQ(t.purchase_if_offered, t.type == VisitorType::kSureThing ||
                                         t.type == VisitorType::kPersuadable);
    EXPECT_EQ(t.purchase_if_not, t.type == VisitorType::kSureThing ||
                                     t.type == VisitorType::kSleepingDog);
    EXPECT_EQ(t.purchased, t.revenue > 0);
  }
  for (const LogEvent& e : s.log) {
    EXPECT_NE(e.type, EventType::kAgents);
    if (e.type == EventType::kOfferShown) {
      EXPECT_EQ(held.count(e.visitor), 0u) << e.visitor;
    }
  }
  EXPECT_EQ(s.stats.eligible_sessions, s.truth.size());
  EXPECT_EQ(
      s.stats.types[0] + s.stats.types[1] + s.stats.types[2] + s.stats.types[3],
      s.truth.size());

  absl::StatusOr<ReplayMetrics> m = Replay(policy, s.log, WithDecisions(s));
  ASSERT_TRUE(m.ok()) << m.status();
  // Every widget decision is met by the same decision of the replay.
  ASSERT_TRUE(m->production.has_value());
  EXPECT_EQ(m->production->unknown_visitors, 0u);
  EXPECT_EQ(m->production->matched, s.decisions.size());
  EXPECT_EQ(m->production->same_action, s.decisions.size());
  // The arms are the truth's first eligible sessions, with their outcomes.
  const std::vector<SessionTruth> first = FirstPerVisitor(s.truth);
  uint64_t n[2] = {0, 0};
  double bought[2] = {0, 0};
  for (const SessionTruth& t : first) {
    ++n[t.holdout];
    bought[t.holdout] += t.purchased;
  }
  ASSERT_TRUE(m->lift.has_value());
  EXPECT_TRUE(m->lift->from_decision_log);
  EXPECT_EQ(m->lift->offered_arm, n[0]);
  EXPECT_EQ(m->lift->offered, n[0]);
  EXPECT_EQ(m->lift->holdout_arm, n[1]);
  EXPECT_NEAR(m->lift->purchase_rate.offered, bought[0] / n[0], 1e-12);
  EXPECT_NEAR(m->lift->purchase_rate.holdout, bought[1] / n[1], 1e-12);

  // Without the decision log the holdout's would-offers on a visitor's
  // last page are not seen: fewer holdout visitors (the reason the lift
  // wants the decision log).
  absl::StatusOr<ReplayMetrics> bare = Replay(policy, s.log);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->lift->offered_arm, n[0]);
  EXPECT_LT(bare->lift->holdout_arm, n[1]);
}

TEST(Lift, IntervalsCoverTheTrueLift) {
  // Seeds 101-140, none used while building this. The true lift of each
  // run is the mean over its eligible visitors of purchase_if_offered -
  // purchase_if_not (the simulator's potential outcomes).
  const Policy policy = WithHoldout(Policy::Default(), 0.5);
  int covered = 0, runs = 0;
  double bias = 0, width = 0;
  for (uint64_t seed = 101; seed <= 140; ++seed) {
    const ShopRun s = Simulate(policy, seed, 1, 5000);
    absl::StatusOr<ReplayMetrics> m = Replay(policy, s.log, WithDecisions(s));
    ASSERT_TRUE(m.ok()) << m.status();
    const LiftEstimate& e = m->lift->purchase_rate;
    ASSERT_TRUE(e.estimable);
    double effect = 0;
    const std::vector<SessionTruth> first = FirstPerVisitor(s.truth);
    for (const SessionTruth& t : first) {
      effect += static_cast<double>(t.purchase_if_offered) -
                static_cast<double>(t.purchase_if_not);
    }
    effect /= static_cast<double>(first.size());
    ++runs;
    covered += e.ci_low <= effect && effect <= e.ci_high;
    bias += e.lift - effect;
    width += e.ci_high - e.ci_low;
  }
  const double coverage = static_cast<double>(covered) / runs;
  std::printf(
      "lift coverage: %d of %d runs (%.2f), mean error %+.4f, "
      "mean interval width %.4f\n",
      covered, runs, coverage, bias / runs, width / runs);
  // Nominal 95%: 40 runs at a true 95% fall below 0.85 with probability
  // under 1%.
  EXPECT_GE(coverage, 0.85);
  // Unbiased, and the intervals are not so wide that covering is easy.
  EXPECT_LT(std::fabs(bias / runs), 0.01);
  EXPECT_LT(width / runs, 0.15);
}

TEST(Lift, SimulatorRefusesWhatItCannotSimulate) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.treatment_effects = true;
  EXPECT_EQ(o.Validate().message(),
            "simulator: treatment_effects must come with a widget_policy, got "
            "none");
  proto::Policy m = internal::PolicyInternal::Message(Policy::Default());
  m.mutable_gates()->set_max_offer_share(0.05);
  o.widget_policy =
      std::make_shared<const Policy>(*Policy::FromBytes(m.SerializeAsString()));
  EXPECT_NE(o.Validate().message().find("max_offer_share 0"), std::string::npos)
      << o.Validate();
  o.widget_policy = std::make_shared<const Policy>(Policy::Default());
  EXPECT_TRUE(o.Validate().ok());
  o.effects.sure_thing[7] = 0.9;  // Checkout: 0.9 + 0.25 + 0.03 > 1.
  EXPECT_NE(o.Validate().message().find("effects[7] must have shares "
                                        "summing to at most 1"),
            std::string::npos)
      << o.Validate();
  o.effects = TreatmentEffects::Default();
  o.effects.persuadable[2] = -0.1;
  EXPECT_NE(o.Validate().message().find("effects.persuadable[2]"),
            std::string::npos);
}

}  // namespace
}  // namespace beckon
