// The trainer's threshold calibration, for tests.
#ifndef BECKON_LIB_TRAIN_INTERNAL_H_
#define BECKON_LIB_TRAIN_INTERNAL_H_

#include "absl/status/statusor.h"
#include "beckon/policy.h"
#include "beckon/replay.h"
#include "lib/offline/replay_internal.h"

namespace beckon::internal {

// The calibration Train runs: the decision points of `log` collected once
// (features from the engine, with a model that never offers), the offer
// rate at each threshold the bisection tries counted from them with
// `policy`'s model, then the replay at the threshold found (see
// FastCalibrateThreshold in train.cc). Gives the same threshold as
// CalibrateThreshold (a replay per step) when the counted rates are the
// replayed ones.
absl::StatusOr<Calibration> CalibrateFromDecisionPoints(
    const Policy& policy, const PreparedLog& log, double target,
    const ReplayOptions& options);

}  // namespace beckon::internal

#endif  // BECKON_LIB_TRAIN_INTERNAL_H_
