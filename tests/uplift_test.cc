// Uplift targeting (docs/uplift.md): the transformed outcome's fit, the
// Qini curve on hand-computed cases, the engine's uplift stage and its
// reasons, and, on the treatment-effect simulator with seeds not used while
// building it, incremental purchases per offer against propensity targeting
// at the same offer rate.
#include "beckon/uplift.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "beckon/engine.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"
#include "lib/offline/lift.h"
#include "lib/policy_internal.h"
#include "uplift_test_util.h"

namespace beckon {
namespace {

using internal::QiniVisitor;
using testing::ShopRun;
using testing::Simulate;
using testing::WithDecisions;
using testing::WithGates;

TEST(Qini, HandComputedCurveAndArea) {
  // Ranked: an offered buyer, a holdout non-buyer, an offered non-buyer, a
  // holdout buyer. Q(1) = 1; Q(2) = 1 - 0 * 1/1 = 1; Q(3) = 1 - 0 * 2/1 =
  // 1; Q(4) = 1 - 1 * 2/2 = 0. Area = (1/4) sum_k (Q(k) - k/4 Q(4)) / 4 =
  // (1 + 1 + 1 + 0) / 16.
  const Qini q = internal::QiniOf({{0.9, false, true},
                                   {0.5, true, false},
                                   {0.4, false, false},
                                   {0.1, true, true}},
                                  "uplift");
  EXPECT_EQ(q.ranked_by, "uplift");
  EXPECT_EQ(q.visitors, 4u);
  EXPECT_DOUBLE_EQ(q.area, 3.0 / 16);
  ASSERT_EQ(q.curve.size(), 21u);
  EXPECT_DOUBLE_EQ(q.curve[0], 0);
  EXPECT_DOUBLE_EQ(q.curve[5], 0.25);  // k = 1: Q = 1, over N = 4.
  EXPECT_DOUBLE_EQ(q.curve[20], 0);    // k = 4.
  EXPECT_GT(q.random_sd, 0);
  // The reverse ranking is as far below chance: Q = 0, -1, -1, 0... its
  // area is negative.
  const Qini reverse = internal::QiniOf({{0.1, false, true},
                                         {0.4, true, false},
                                         {0.5, false, false},
                                         {0.9, true, true}},
                                        "uplift");
  EXPECT_LT(reverse.area, 0);
  EXPECT_EQ(internal::QiniOf({}, "probability").visitors, 0u);
}

Policy WithUplift(const Policy& base, double bias, double min_uplift) {
  proto::Policy m = internal::PolicyInternal::Message(base);
  proto::UpliftModel* u = m.mutable_model()->mutable_uplift();
  u->set_outcome("purchase");
  u->set_bias(bias);
  u->set_min_uplift(min_uplift);
  absl::StatusOr<Policy> p = Policy::FromBytes(m.SerializeAsString());
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

constexpr int64_t kT0 = 1'700'000'000'000;

TEST(UpliftStage, BlocksOffersBelowTheFloorAndSaysSo) {
  // A constant uplift model: bias 0 gives uplift 0 everywhere.
  const Policy base = WithGates(0, 0);
  for (const double floor : {0.1, -0.1}) {
    std::unique_ptr<Engine> e = *Engine::Create(WithUplift(base, 0, floor));
    const std::string v = "stuck";
    testing::StuckVisitor(*e, v, kT0);
    const Decision d = *e->Decide(v, kT0 + 300'000);
    ASSERT_TRUE(d.detail.has_uplift);
    EXPECT_DOUBLE_EQ(d.detail.uplift, 0);
    EXPECT_DOUBLE_EQ(d.detail.min_uplift, floor);
    EXPECT_GE(d.probability, d.threshold);
    if (floor > 0) {
      EXPECT_EQ(d.action, Action::kWait);
      EXPECT_EQ(d.reason, Reason::kBelowThreshold);
      EXPECT_FALSE(d.recheck_at_ms.has_value());
      EXPECT_EQ(d.reasons()[0].rfind("expected purchase uplift +0.000 below "
                                     "+0.100 (probability ",
                                     0),
                0u)
          << d.reasons()[0];
      EXPECT_NE(d.reasons()[0].find("reached threshold 0.50)"),
                std::string::npos)
          << d.reasons()[0];
    } else {
      EXPECT_EQ(d.action, Action::kOffer);
      EXPECT_NE(d.reasons()[0].find("expected purchase uplift +0.000 reached "
                                    "-0.100"),
                std::string::npos)
          << d.reasons()[0];
    }
  }
  // A policy without an uplift model scores as before.
  std::unique_ptr<Engine> plain = *Engine::Create(base);
  ASSERT_TRUE(plain->Observe(Event::PageView(kT0, "a", "/p/1")).ok());
  EXPECT_FALSE(plain->Decide("a", kT0 + 1000)->detail.has_uplift);
}

TEST(UpliftStage, ByValueWeighsTheUpliftByTheOrderAtStake) {
  // uplift = 2 sigmoid(ln 1.5) - 1 = 0.2 everywhere; an empty cart stands
  // for the mean order, 50: the score is 10.
  proto::Policy m = internal::PolicyInternal::Message(WithGates(0, 0));
  proto::UpliftModel* u = m.mutable_model()->mutable_uplift();
  u->set_outcome("purchase");
  u->set_bias(std::log(1.5));
  u->set_by_value(true);
  u->set_mean_order_value(50);
  for (const double floor : {5.0, 15.0}) {
    u->set_min_uplift(floor);
    std::unique_ptr<Engine> e =
        *Engine::Create(*Policy::FromBytes(m.SerializeAsString()));
    const std::string v = "stuck";
    testing::StuckVisitor(*e, v, kT0);
    const Decision d = *e->Decide(v, kT0 + 300'000);
    EXPECT_NEAR(d.detail.uplift, 0.2, 1e-12);
    EXPECT_DOUBLE_EQ(d.detail.order_value, 50);
    EXPECT_NEAR(d.detail.uplift_score, 10, 1e-9);
    EXPECT_EQ(d.action, floor < 10 ? Action::kOffer : Action::kWait);
    const std::string want = floor < 10
                                 ? "expected added revenue 10.00 reached 5.00"
                                 : "expected added revenue 10.00 below 15.00";
    EXPECT_EQ(d.reasons()[0].rfind(want + " (purchase uplift +0.200 of an "
                                          "order worth 50.00; probability ",
                                   0),
              0u)
        << d.reasons()[0];
  }
  // A cart of 120 is the order at stake: 24 reaches 15.
  std::unique_ptr<Engine> e =
      *Engine::Create(*Policy::FromBytes(m.SerializeAsString()));
  ASSERT_TRUE(
      e->Observe(Event::PageView(kT0, "d", "/", "https://www.google.com/"))
          .ok());
  ASSERT_TRUE(
      e->Observe(Event::Search(kT0 + 10'000, "d", "/search?q=a", 0)).ok());
  ASSERT_TRUE(
      e->Observe(Event::Search(kT0 + 20'000, "d", "/search?q=b", 0)).ok());
  ASSERT_TRUE(
      e->Observe(Event::Cart(kT0 + 25'000, "d", "/help/returns", 120)).ok());
  ASSERT_TRUE(
      e->Observe(Event::PageView(kT0 + 30'000, "d", "/help/returns")).ok());
  const Decision d = *e->Decide("d", kT0 + 300'000);
  ASSERT_TRUE(d.detail.has_uplift);
  EXPECT_DOUBLE_EQ(d.detail.order_value, 120);
  EXPECT_NEAR(d.detail.uplift_score, 24, 1e-5);
  EXPECT_EQ(d.action, Action::kOffer);
  // by_value needs its mean order, and takes a floor in money.
  u->set_mean_order_value(0);
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.mean_order_value"),
            std::string::npos);
  u->set_mean_order_value(50);
  u->set_min_uplift(3);
  EXPECT_TRUE(Policy::FromBytes(m.SerializeAsString()).ok());
  u->set_by_value(false);
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.min_uplift"),
            std::string::npos);
}

TEST(UpliftTraining, ByValueSetsTheMeanOrderAndAFloorInMoney) {
  const ShopRun r = Simulate(WithGates(0.5, 0.2), 9, 3);
  UpliftOptions o;
  o.replay = WithDecisions(r);
  o.target_offer_rate = 0.05;
  o.by_value = true;
  absl::StatusOr<UpliftResult> up = TrainUplift(WithGates(0.5, 0.2), r.log, o);
  ASSERT_TRUE(up.ok()) << up.status();
  double sum = 0, n = 0;
  for (const LogEvent& e : r.log) {
    if (e.type == EventType::kPurchase) {
      sum += e.value;
      n += 1;
    }
  }
  EXPECT_NEAR(up->mean_order_value, sum / n, 1e-9);
  const proto::UpliftModel& u =
      internal::PolicyInternal::Message(up->policy).model().uplift();
  EXPECT_TRUE(u.by_value());
  EXPECT_DOUBLE_EQ(u.mean_order_value(), up->mean_order_value);
  EXPECT_DOUBLE_EQ(u.min_uplift(), up->min_uplift);
  EXPECT_NEAR(up->offer_rate, 0.05, 0.003);
  absl::StatusOr<ReplayMetrics> m = Replay(up->policy, r.log, WithDecisions(r));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->lift->qini.ranked_by, "uplift x value");
}

TEST(UpliftStage, BadModelsAreRefusedNamingTheField) {
  proto::Policy m = internal::PolicyInternal::Message(Policy::Default());
  proto::UpliftModel* u = m.mutable_model()->mutable_uplift();
  u->set_outcome("purchase");
  u->set_min_uplift(1.0);
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.min_uplift"),
            std::string::npos);
  u->set_min_uplift(0.1);
  u->set_outcome("contact");
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.outcome"),
            std::string::npos);
  u->set_outcome("purchase");
  u->add_weights()->set_feature("no_such_feature");
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.weights[0].feature"),
            std::string::npos);
  u->mutable_weights(0)->set_feature("cart_value");
  u->mutable_weights(0)->set_weight(std::nan(""));
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.uplift.weights[0].weight"),
            std::string::npos);
  u->mutable_weights(0)->set_weight(0.5);
  EXPECT_TRUE(Policy::FromBytes(m.SerializeAsString()).ok());
}

TEST(UpliftTraining, RefusesWhatItCannotLearnFrom) {
  const ShopRun r = Simulate(WithGates(0.5, 0.2), 5, 1);
  UpliftOptions o;
  o.replay = WithDecisions(r);
  EXPECT_EQ(TrainUplift(WithGates(0, 0.2), r.log, o).status().code(),
            absl::StatusCode::kFailedPrecondition);
  o.target_offer_rate = 1.5;
  EXPECT_NE(TrainUplift(WithGates(0.5, 0.2), r.log, o)
                .status()
                .message()
                .find("target_offer_rate must be in (0, 1)"),
            std::string::npos);
  o.target_offer_rate = 0.05;
  o.min_visitors_per_arm = 100000;
  EXPECT_NE(TrainUplift(WithGates(0.5, 0.2), r.log, o)
                .status()
                .message()
                .find("too few eligible visitors"),
            std::string::npos);
  // A target above what the policy that ran offers: a warning, not an
  // error, and the policy offers what it can.
  o.min_visitors_per_arm = 10;
  o.target_offer_rate = 0.9;
  absl::StatusOr<UpliftResult> high =
      TrainUplift(WithGates(0.5, 0.2), r.log, o);
  ASSERT_TRUE(high.ok()) << high.status();
  ASSERT_EQ(high->warnings.size(), 1u);
  EXPECT_NE(high->warnings[0].find("only chooses among its moments"),
            std::string::npos);
  EXPECT_EQ(internal::PolicyInternal::Message(high->policy)
                .provenance()
                .warnings_size(),
            1);
}

TEST(OffPolicy, EstimatorsAreHandComputed) {
  using internal::OffPolicyRow;
  // Half held out (propensity 0.5 either way). The target offers to rows
  // 0-1 and not to rows 2-3.
  //   row  logged  target  y  q_offer q_not   w   w y   q(t) + w (y - q(t))
  //   0    offer   offer   1  0.6     0.2     2   2     0.6 + 2 * 0.4 = 1.4
  //   1    not     offer   1  0.6     0.2     0   0     0.6
  //   2    not     not     0  0.5     0.1     2   0     0.1 + 2 * -0.1 = -0.1
  //   3    offer   not     1  0.5     0.1     0   0     0.1
  const std::vector<OffPolicyRow> rows = {{true, true, 0.5, 1, 0.6, 0.2},
                                          {false, true, 0.5, 1, 0.6, 0.2},
                                          {false, false, 0.5, 0, 0.5, 0.1},
                                          {true, false, 0.5, 1, 0.5, 0.1}};
  const internal::OffPolicyValues v = internal::EstimateOffPolicy(rows);
  EXPECT_EQ(v.matched, 2u);
  // IPS: (2 + 0 + 0 + 0) / 4. Terms {2, 0, 0, 0}: variance 1, se 1/2.
  EXPECT_DOUBLE_EQ(v.ips.value, 0.5);
  EXPECT_DOUBLE_EQ(v.ips.standard_error, 0.5);
  EXPECT_DOUBLE_EQ(v.ips.ci_low, 0.5 - internal::kZ95 * 0.5);
  // SNIPS: sum w y / sum w = 2 / 4.
  EXPECT_DOUBLE_EQ(v.snips.value, 0.5);
  // Doubly robust: (1.4 + 0.6 - 0.1 + 0.1) / 4.
  EXPECT_DOUBLE_EQ(v.doubly_robust.value, 0.5);
  // ESS: (sum w)^2 / sum w^2 = 16 / 8.
  EXPECT_DOUBLE_EQ(v.effective_sample_size, 2);
  // SNIPS's standard error (delta method): terms w (y - 0.5) / mean w
  // with mean w = 1: {1, 0, -1, 0}, variance 2/3, se sqrt(2/3) / 2.
  EXPECT_NEAR(v.snips.standard_error, std::sqrt(2.0 / 3) / 2, 1e-15);
  // Unequal propensities weigh by their inverse.
  const internal::OffPolicyValues u = internal::EstimateOffPolicy(
      {{true, true, 0.8, 1, 0.5, 0.5}, {false, false, 0.2, 1, 0.5, 0.5}});
  EXPECT_DOUBLE_EQ(u.ips.value, (1 / 0.8 + 1 / 0.2) / 2);
  EXPECT_DOUBLE_EQ(u.snips.value, 1);
}

TEST(OffPolicy, SaysWhenTheLogCannotSupportTheEstimate) {
  const Policy ran = WithGates(0.5, 0.2);
  const ShopRun day = Simulate(ran, 6, 1);
  OffPolicyOptions o;
  o.replay = WithDecisions(day);
  EXPECT_EQ(
      EvaluateOffPolicy(WithGates(0, 0.2), ran, day.log, o).status().code(),
      absl::StatusCode::kFailedPrecondition);
  // A target that offers at once on every page (its dwell thresholds
  // gone, a threshold it always reaches) offers before the logged moments.
  proto::Policy eager = internal::PolicyInternal::Message(ran);
  eager.mutable_model()->set_allow_before_dwell_threshold(true);
  eager.mutable_model()->set_decision_threshold(1e-6);
  eager.mutable_gates()->set_threshold_at_one_agent(0.5);
  absl::StatusOr<OffPolicyEstimate> e = EvaluateOffPolicy(
      ran, *Policy::FromBytes(eager.SerializeAsString()), day.log, o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->supported);
  EXPECT_GT(e->unsupported, e->visitors / 2);
  EXPECT_NE(e->why.find("offered earlier than the logged moment"),
            std::string::npos)
      << e->why;
}

Policy WithExploration(const Policy& base, double share, double floor) {
  proto::Policy m = internal::PolicyInternal::Message(base);
  proto::Exploration* x = m.mutable_model()->mutable_exploration();
  x->set_share(share);
  x->set_floor(floor);
  x->set_salt("test");
  absl::StatusOr<Policy> p = Policy::FromBytes(m.SerializeAsString());
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

TEST(Exploration, OffersBelowTheThresholdAtRandomWithinTheGates) {
  // The default policy (threshold 0.5), a quarter held out; in [0.05, 0.5)
  // 30% of decisions go on at random.
  const Policy p = WithExploration(WithGates(0.25, 0), 0.3, 0.05);
  std::unique_ptr<Engine> e = *Engine::Create(p);
  int explored = 0, held = 0;
  std::string an_explored;
  for (int i = 0; i < 4000; ++i) {
    const std::string v = "v" + std::to_string(i);
    // A product page read past its dwell threshold: probability in the
    // zone, below the threshold.
    ASSERT_TRUE(e->Observe(Event::PageView(kT0, v, "/p/1")).ok());
    const Decision d = *e->Decide(v, kT0 + 200'000);
    ASSERT_LT(d.probability, d.threshold);
    ASSERT_GE(d.probability, 0.05);
    if (d.action == Action::kOffer) {
      ++explored;
      an_explored = v;
      EXPECT_EQ(d.reason, Reason::kScore);
      EXPECT_TRUE(d.detail.explored);
      EXPECT_EQ(d.reasons()[0].rfind("exploring: probability ", 0), 0u)
          << d.reasons()[0];
    } else if (d.reason == Reason::kHoldout) {
      ++held;
      EXPECT_TRUE(d.would_offer);
      EXPECT_TRUE(e->InHoldout(v));
    } else {
      EXPECT_EQ(d.reason, Reason::kBelowThreshold);
      EXPECT_FALSE(d.detail.explored);
    }
    // The same chance for every decision in the zone, drawn or not.
    EXPECT_DOUBLE_EQ(d.offer_probability, 0.3 * 0.75);
  }
  // 30% of the three quarters not held out: 900 of 4000 (sd about 26);
  // the holdout's would-offers, 30% of a quarter: 300 (sd about 17).
  EXPECT_NEAR(explored, 900, 110);
  EXPECT_NEAR(held, 300, 70);
  // The same draw for the same decision: deciding again at the same
  // moment gives the same answer (here the session cap, after the offer,
  // with chance 0).
  ASSERT_FALSE(an_explored.empty());
  const Decision again = *e->Decide(an_explored, kT0 + 200'000);
  EXPECT_EQ(again.reason, Reason::kSessionCap);
  EXPECT_DOUBLE_EQ(again.offer_probability, 0);
  // Past the threshold the chance is the holdout's alone.
  const std::string s = "stuck";
  ASSERT_TRUE(
      e->Observe(Event::PageView(kT0, s, "/", "https://www.google.com/")).ok());
  ASSERT_TRUE(
      e->Observe(Event::Search(kT0 + 10'000, s, "/search?q=a", 0)).ok());
  ASSERT_TRUE(
      e->Observe(Event::Search(kT0 + 20'000, s, "/search?q=b", 0)).ok());
  ASSERT_TRUE(
      e->Observe(Event::PageView(kT0 + 30'000, s, "/help/returns")).ok());
  const Decision high = *e->Decide(s, kT0 + 300'000);
  ASSERT_GE(high.probability, high.threshold);
  EXPECT_DOUBLE_EQ(high.offer_probability, 0.75);
  EXPECT_FALSE(high.detail.explored);
  // Before the page's dwell threshold nothing is drawn.
  ASSERT_TRUE(e->Observe(Event::PageView(kT0, "early", "/p/1")).ok());
  const Decision early = *e->Decide("early", kT0 + 1000);
  EXPECT_EQ(early.reason, Reason::kDwell);
  EXPECT_DOUBLE_EQ(early.offer_probability, 0);
}

TEST(Exploration, NeverAgainstADecline) {
  const Policy p = WithExploration(WithGates(0, 0), 0.99, 0.01);
  std::unique_ptr<Engine> e = *Engine::Create(p);
  ASSERT_TRUE(e->Observe(Event::PageView(kT0, "d", "/p/1")).ok());
  ASSERT_TRUE(
      e->Observe(Event::OfferShown(kT0 + 1000, "d", "/p/1", Channel::kChat))
          .ok());
  ASSERT_TRUE(
      e->Observe(Event::OfferDeclined(kT0 + 2000, "d", "/p/1", Channel::kChat))
          .ok());
  for (int k = 0; k < 50; ++k) {
    const Decision d = *e->Decide("d", kT0 + 200'000 + k * 1000);
    EXPECT_EQ(d.reason, Reason::kDeclined);
    EXPECT_DOUBLE_EQ(d.offer_probability, 0);
  }
}

TEST(Exploration, BadSettingsAreRefused) {
  proto::Policy m = internal::PolicyInternal::Message(Policy::Default());
  m.mutable_model()->mutable_exploration()->set_share(1.0);
  m.mutable_model()->mutable_exploration()->set_floor(0.1);
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.exploration.share"),
            std::string::npos);
  m.mutable_model()->mutable_exploration()->set_share(0.1);
  m.mutable_model()->mutable_exploration()->set_floor(0.6);  // >= 0.5.
  EXPECT_NE(Policy::FromBytes(m.SerializeAsString())
                .status()
                .message()
                .find("model.exploration.floor"),
            std::string::npos);
}

}  // namespace
}  // namespace beckon
