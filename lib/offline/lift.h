// The measured lift's statistics (docs/uplift.md): a mean and variance kept
// one value at a time, and the difference of two means with a confidence
// interval from Welch's standard error.
#ifndef BECKON_LIB_OFFLINE_LIFT_H_
#define BECKON_LIB_OFFLINE_LIFT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "beckon/replay.h"
#include "beckon/uplift.h"

namespace beckon::internal {

// z of a two-sided 95% normal interval.
inline constexpr double kZ95 = 1.959963984540054;

// Mean and sum of squared deviations (Welford's update: no cancellation
// when the values are large, as order values can be).
struct MeanVar {
  uint64_t n = 0;
  double mean = 0;
  double m2 = 0;
  void Add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
  }
  // The sample variance (n - 1 in the denominator); 0 below two values.
  double Variance() const {
    return n >= 2 ? m2 / static_cast<double>(n - 1) : 0.0;
  }
};

// offered.mean - holdout.mean, and its interval: the difference +- z times
// sqrt(var_offered / n_offered + var_holdout / n_holdout). Estimable only
// when both arms have at least two values; otherwise the means are given
// (0 for an empty arm) and the interval is left at 0.
LiftEstimate Difference(const MeanVar& offered, const MeanVar& holdout,
                        double z = kZ95);

// One visitor for the Qini curve: the score it is ranked by, its arm, and
// whether it bought.
struct QiniVisitor {
  double score = 0;
  bool holdout = false;
  bool purchased = false;
};

// The Qini curve and area of ranking `visitors` by score, highest first
// (ties in the given order); see beckon::Qini. random_sd from 200
// Fisher-Yates shuffles with a fixed seed.
Qini QiniOf(std::vector<QiniVisitor> visitors, std::string ranked_by);

// One logged visitor for the off-policy estimators: the logged and the
// target's action at the moment, the logged action's propensity, the
// outcome, and the outcome models' predictions for either action.
struct OffPolicyRow {
  bool logged_offer = false;
  bool target_offer = false;
  double propensity = 1;
  double y = 0;
  double q_offer = 0;  // P(y | x, offered), from the other fold.
  double q_not = 0;    // P(y | x, not offered).
};

struct OffPolicyValues {
  OffPolicyValue ips, snips, doubly_robust;
  uint64_t matched = 0;
  double effective_sample_size = 0;
};

// IPS: mean of w y, w = [logged = target] / propensity. SNIPS: sum w y /
// sum w, its standard error by the delta method. Doubly robust: mean of
// q(target) + w (y - q(target)). Intervals: +- 1.96 standard errors of the
// terms' mean.
OffPolicyValues EstimateOffPolicy(const std::vector<OffPolicyRow>& rows);

}  // namespace beckon::internal

#endif  // BECKON_LIB_OFFLINE_LIFT_H_
