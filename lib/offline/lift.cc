#include "lib/offline/lift.h"

#include <cmath>

namespace beckon::internal {

LiftEstimate Difference(const MeanVar& offered, const MeanVar& holdout,
                        double z) {
  LiftEstimate e;
  e.offered = offered.mean;
  e.holdout = holdout.mean;
  e.lift = offered.mean - holdout.mean;
  if (offered.n < 2 || holdout.n < 2) return e;
  e.estimable = true;
  e.standard_error =
      std::sqrt(offered.Variance() / static_cast<double>(offered.n) +
                holdout.Variance() / static_cast<double>(holdout.n));
  e.ci_low = e.lift - z * e.standard_error;
  e.ci_high = e.lift + z * e.standard_error;
  return e;
}

}  // namespace beckon::internal
