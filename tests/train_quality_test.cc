// The trainer's quality on simulated shops, judged on days it did not see:
// thresholds against the simulator's ground truth, the learned policy and
// the chosen timing rules against the fixed-dwell rule, and (issue 13,
// learned granularity) the varied shop whose page groups do not coincide
// with the default policy's URL rules. Several weeks of traffic trained
// many times: label "slow", run by the release build, not the sanitizers
// (the trainer's memory safety is what train_test checks there).
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "beckon/curve.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "beckon/train.h"
#include "gtest/gtest.h"
#include "lib/page_matcher.h"
#include "lib/policy_internal.h"
#include "tests/simulated_log.h"

namespace beckon {
namespace {

using testing_util::Days;
using testing_util::Simulated;

const GroupChange* Split(const TrainResult& r, const std::string& pattern) {
  for (const GroupChange& c : r.group_changes) {
    if (c.kind == "split" && c.pattern == pattern) return &c;
  }
  return nullptr;
}

bool HasGroup(const Policy& p, const std::string& pattern) {
  for (const proto::PageGroup& g :
       internal::PolicyInternal::Message(p).groups()) {
    if (g.pattern() == pattern) return true;
  }
  return false;
}

// Ground truth: each simulated group's stuck dwell. Learned thresholds must
// fall inside its 10th-90th percentile and keep the order of groups whose
// true medians differ clearly (by 25% or more; closer ones are within the
// sampling noise of two weeks of traffic). The quantile rule's thresholds:
// the timing rule "auto" keeps is the one with the most hits, and with
// early offers its thresholds are where the score starts to count dwell,
// not a waiting time (on this log it keeps a rule whose thresholds sit
// below the stuck dwell's 10th percentile).
TEST(TrainQuality, ThresholdsFollowTheSimulatedStuckDwell) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.days = 14;
  o.seed = 11;
  const std::vector<LogEvent> log = Simulated(o);
  TrainOptions quantile;
  quantile.dwell_rule = "quantile";
  quantile.early_offers = "no";
  absl::StatusOr<TrainResult> r = Train(log, quantile);
  ASSERT_TRUE(r.ok()) << r.status();
  const proto::Policy& p = internal::PolicyInternal::Message(r->policy);
  std::map<std::string, double> learned;
  for (const proto::PageGroup& g : p.groups()) {
    learned[g.pattern()] = g.dwell_threshold_s();
  }
  struct Truth {
    std::string pattern;
    LogNormalSeconds stuck;
  };
  std::vector<Truth> truth;
  for (const SimulatedGroup& g : o.groups) {
    if (g.stuck_weight <= 0) continue;
    ASSERT_TRUE(learned.count(g.pattern)) << g.pattern;
    truth.push_back(Truth{g.pattern, g.stuck_dwell});
  }
  ASSERT_GE(truth.size(), 6u);
  for (const Truth& t : truth) {
    const double th = learned[t.pattern];
    EXPECT_GE(th, t.stuck.Quantile(0.1)) << t.pattern;
    EXPECT_LE(th, t.stuck.Quantile(0.9)) << t.pattern;
  }
  int pairs = 0;
  for (const Truth& a : truth) {
    for (const Truth& b : truth) {
      if (a.stuck.median_s < 1.25 * b.stuck.median_s) continue;
      ++pairs;
      EXPECT_GT(learned[a.pattern], learned[b.pattern])
          << a.pattern << " (true median " << a.stuck.median_s
          << " s) should wait longer than " << b.pattern << " ("
          << b.stuck.median_s << " s)";
    }
  }
  EXPECT_GE(pairs, 10);
}

// The claim of the README's demo: on simulated traffic whose groups overlap
// and whose stuck visitors often ask quickly, the learned policy beats the
// fixed rule "offer once after T s on any page" at the same offer rate.
TEST(TrainQuality, LearnedPolicyBeatsTheFixedDwellBaseline) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.days = 7;
  o.seed = 5;
  const std::vector<LogEvent> log = Simulated(o);
  TrainOptions t;
  t.target_offer_rate = 0.05;
  absl::StatusOr<TrainResult> r = Train(Days(log, o.start_ms, 1, 6), t);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<LogEvent> day7 = Days(log, o.start_ms, 7, 7);
  absl::StatusOr<ReplayMetrics> learned = Replay(r->policy, day7);
  ASSERT_TRUE(learned.ok()) << learned.status();
  ASSERT_GT(learned->offered_sessions, 50u);
  absl::StatusOr<Calibration> base =
      CalibrateFixedDwell(r->policy, day7, learned->offer_rate);
  ASSERT_TRUE(base.ok()) << base.status();
  const ReplayMetrics& b = base->metrics;
  EXPECT_NEAR(b.offer_rate, learned->offer_rate, 0.002);
  std::cout << "learned: offer rate " << learned->offer_rate << ", precision "
            << learned->precision << ", recall " << learned->recall
            << "\nbaseline (T = " << base->setting << " s): offer rate "
            << b.offer_rate << ", precision " << b.precision << ", recall "
            << b.recall << "\n";
  EXPECT_GE(learned->precision, 1.2 * b.precision);
  EXPECT_GE(learned->recall, 1.2 * b.recall);
  const ReplayMetrics* both[] = {&*learned, &b};
  for (const ReplayMetrics* m : both) {
    EXPECT_EQ(m->offers_after_decline, 0u);
    EXPECT_EQ(m->offers_without_agents, 0u);
  }
  // The log holds declines and night hours without agents: the zeros above
  // are the gates at work, not an empty test.
  uint64_t declines = 0, zero_agents = 0;
  for (const LogEvent& e : day7) {
    declines += e.type == EventType::kOfferDeclined;
    zero_agents += e.type == EventType::kAgents && e.count == 0;
  }
  EXPECT_GT(declines, 0u);
  EXPECT_GT(zero_agents, 0u);
}

// Issue 13, waiting times chosen by what they achieve: on held-out days
// of seeds other than the demo's, the policy whose timing rule validation
// chose finds more of the visitors who will ask than the one fixed rule
// the trainer used before (quantile 0.6 floored, no early offers), at the
// same offer rate; and it can reach a 20% offer rate, which the fixed rule
// could not (it waits for thresholds most sessions never reach).
TEST(TrainQuality, ChosenTimingBeatsTheFixedRuleAndReachesTwentyPercent) {
  for (uint64_t seed : {2, 3}) {
    SCOPED_TRACE(seed);
    SimulatorOptions o = SimulatorOptions::Default();
    o.days = 7;
    o.seed = seed;
    const std::vector<LogEvent> log = Simulated(o);
    const std::vector<LogEvent> days = Days(log, o.start_ms, 1, 6);
    const std::vector<LogEvent> day7 = Days(log, o.start_ms, 7, 7);
    // Both with the base's raised bar for scarce agents, as the trainer
    // kept it before scarce_agents, so that only the timing differs. (With
    // the flat bar, the default now, the fixed rule's policy reaches 19% of
    // day 7's sessions when calibrated for 20%: the raised bar, not only
    // its thresholds, held it below 18%.)
    TrainOptions chosen;
    chosen.scarce_agents = "raise";
    TrainOptions fixed = chosen;
    fixed.dwell_rule = "quantile";
    fixed.early_offers = "no";
    absl::StatusOr<TrainResult> a = Train(days, chosen);
    absl::StatusOr<TrainResult> f = Train(days, fixed);
    ASSERT_TRUE(a.ok() && f.ok()) << a.status() << f.status();
    ASSERT_EQ(f->timing_candidates.size(), 1u);
    EXPECT_EQ(f->timing_candidates[0].name, "quantile 0.60");
    // At a matched 5% on day 7 (each recalibrated there, as compare does).
    absl::StatusOr<Calibration> ca =
        CalibrateDecisionThreshold(a->policy, day7, 0.05);
    absl::StatusOr<Calibration> cf =
        CalibrateDecisionThreshold(f->policy, day7, 0.05);
    ASSERT_TRUE(ca.ok() && cf.ok()) << ca.status() << cf.status();
    std::cout << "seed " << seed << ": chosen timing recall "
              << ca->metrics.recall << " at offer rate "
              << ca->metrics.offer_rate << "; fixed rule recall "
              << cf->metrics.recall << " at " << cf->metrics.offer_rate << "\n";
    EXPECT_NEAR(ca->metrics.offer_rate, cf->metrics.offer_rate, 0.003);
    EXPECT_GE(ca->metrics.recall, 1.15 * cf->metrics.recall);
    // 20%: reachable with the chosen timing, not with the fixed rule.
    TrainOptions wide = chosen;
    wide.target_offer_rate = 0.2;
    absl::StatusOr<TrainResult> w = Train(days, wide);
    ASSERT_TRUE(w.ok()) << w.status();
    // Reached (the counted calibration of an early-offer policy can land
    // above its target at high rates: 0.218 for seed 3, see
    // docs/trainer.md "Waiting times").
    EXPECT_GE(w->validation.offer_rate, 0.195);
    EXPECT_LE(w->validation.offer_rate, 0.23);
    absl::StatusOr<Calibration> cw =
        CalibrateDecisionThreshold(f->policy, day7, 0.2);
    ASSERT_TRUE(cw.ok()) << cw.status();
    EXPECT_LT(cw->metrics.offer_rate, 0.18);
  }
}

// Seeds 4, 5 and 6: not the demo's (1) nor those the other tests use.
TEST(TrainQuality, VariedShopSplitsCheckoutAndBeatsTheFixedRule) {
  for (uint64_t seed : {4, 5, 6}) {
    SCOPED_TRACE(seed);
    SimulatorOptions o = SimulatorOptions::VariedShop();
    o.days = 7;
    o.seed = seed;
    const std::vector<LogEvent> log = Simulated(o);
    const std::vector<LogEvent> days = Days(log, o.start_ms, 1, 6);
    const std::vector<LogEvent> day7 = Days(log, o.start_ms, 7, 7);
    TrainOptions options;
    options.split_groups = "yes";
    absl::StatusOr<TrainResult> r = Train(days, options);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const GroupChange& c : r->group_changes) {
      std::cout << "seed " << seed << ": " << c.kind << " " << c.pattern
                << " from " << c.from << ": " << c.reason << "\n";
    }
    // The checkout steps, one URL rule (/checkout) in the base policy, are
    // told apart: the engine now matches the payment step (where this
    // shop's visitors get stuck) and the address form (read slowly, rarely
    // a problem) to different groups, by URL rules the trainer wrote ahead
    // of the base's; each split says why.
    const proto::Policy& learned = internal::PolicyInternal::Message(r->policy);
    const internal::PageMatcher matcher(learned);
    const uint16_t pay = matcher.Classify("/checkout/payment").group;
    const uint16_t address = matcher.Classify("/checkout/address").group;
    ASSERT_NE(pay, internal::kUnlistedGroup);
    ASSERT_NE(address, internal::kUnlistedGroup);
    ASSERT_NE(pay, address);
    const GroupChange* split = Split(*r, "/checkout/address");
    ASSERT_NE(split, nullptr);
    EXPECT_EQ(split->from, "/checkout/*");
    EXPECT_NE(split->reason.find("normal dwell"), std::string::npos);
    // Product pages under /item/, which no default rule names, are learned
    // as a group of their own.
    EXPECT_TRUE(HasGroup(r->policy, "/item/*"));

    absl::StatusOr<OfferRateCurve> c =
        ComputeOfferRateCurve(r->policy, day7, {0.01, 0.02, 0.05, 0.10});
    ASSERT_TRUE(c.ok()) << c.status();
    const CurvePoint& at5 = c->points[2];
    const CurvePoint& at10 = c->points[3];
    ASSERT_TRUE(at5.reachable && at10.reachable);
    const double p = at5.policy.metrics.precision;
    const double p_fixed = at5.baseline.metrics.precision;
    const double wasted_avoided = (p - p_fixed) / (1 - p_fixed);
    const double recall_ratio =
        at10.policy.metrics.recall / at10.baseline.metrics.recall;
    std::cout << "seed " << seed << ": at 5% precision " << p << " vs "
              << p_fixed << " (W " << wasted_avoided << "); at 10% recall "
              << at10.policy.metrics.recall << " vs "
              << at10.baseline.metrics.recall << " (x" << recall_ratio
              << "); area " << c->recall_area << " vs "
              << c->baseline_recall_area << "\n";
    // Issue 13 asks for 0.6; this trainer reaches 0.49-0.59 here, and no
    // model tried on these signals reaches 0.6 on seeds 5 and 6 (boosted
    // trees with the page context, each session at its best moment in
    // hindsight: docs/trainer.md "How far a model on these signals can
    // go", scripts/probe_precision_bound.py).
    EXPECT_GE(wasted_avoided, 0.45);
    EXPECT_GE(recall_ratio, 1.3);
    EXPECT_GT(c->recall_area, c->baseline_recall_area);
  }
}

}  // namespace
}  // namespace beckon
