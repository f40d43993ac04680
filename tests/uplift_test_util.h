// Helpers of the uplift tests: policies with a holdout, and a simulated
// shop whose widget is a policy, with treatment effects.
#ifndef BECKON_TESTS_UPLIFT_TEST_UTIL_H_
#define BECKON_TESTS_UPLIFT_TEST_UTIL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "beckon/engine.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"

namespace beckon::testing {

// The default policy with this holdout and (if > 0) decision threshold.
inline Policy WithGates(double holdout, double threshold) {
  proto::Policy m = internal::PolicyInternal::Message(Policy::Default());
  m.mutable_gates()->set_holdout_fraction(holdout);
  if (threshold > 0) {
    m.mutable_model()->set_decision_threshold(threshold);
    m.mutable_gates()->set_threshold_at_one_agent(
        std::max(threshold, m.gates().threshold_at_one_agent()));
  }
  absl::StatusOr<Policy> p = Policy::FromBytes(m.SerializeAsString());
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

// A simulated shop whose widget is `policy`, with treatment effects.
struct ShopRun {
  std::vector<LogEvent> log;
  std::vector<SessionTruth> truth;
  std::vector<LoggedDecisionRecord> decisions;
  SimulationStats stats;
};

inline constexpr std::array<uint64_t, 2> kKey = {0xabc, 0xdef};

// The default shop for `days` days (about `visitors_per_day` sessions a
// day) whose widget is `policy`, with treatment effects; the widget's
// decisions kept as its decision log would hold them.
inline ShopRun Simulate(const Policy& policy, uint64_t seed, int days,
                        int visitors_per_day = 4000) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = seed;
  o.days = days;
  o.visitors_per_day = visitors_per_day;
  o.widget_policy = std::make_shared<const Policy>(policy);
  o.treatment_effects = true;
  o.widget_engine.visitor_key = kKey;
  ShopRun r;
  o.widget_engine.decision_sink = [&r](const LoggedDecision& d) {
    LoggedDecisionRecord x;
    x.ts_ms = d.ts_ms;
    x.visitor_hash = d.visitor_hash;
    x.action = d.action;
    x.reason = d.reason;
    x.would_offer = d.would_offer;
    x.offer_probability = d.offer_probability;
    r.decisions.push_back(x);
  };
  const absl::Status s = beckon::Simulate(
      o,
      [&r](const LogEvent& e) {
        r.log.push_back(e);
        return absl::OkStatus();
      },
      &r.stats,
      [&r](const SessionTruth& t) {
        r.truth.push_back(t);
        return absl::OkStatus();
      });
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

inline ReplayOptions WithDecisions(const ShopRun& r) {
  ReplayOptions o;
  o.engine.visitor_key = kKey;
  o.production_decisions = &r.decisions;
  return o;
}

}  // namespace beckon::testing

#endif  // BECKON_TESTS_UPLIFT_TEST_UTIL_H_
