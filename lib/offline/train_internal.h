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
// A page's dwell as the engine measures it: from a page_view or search row
// to the visitor's next row in the session that restarts dwell
// (RestartsDwell: every row but offer_shown), which is `next` (-1 if the
// session ends on the page: no dwell to measure then).
struct PageDwell {
  int64_t next = -1;  // Row index in the log's order, or -1.
  double dwell_s = 0;
  // An offer was shown during it: the visitor's stay after it is the
  // offer's doing too, so it is no sample of a normal dwell.
  bool offer_shown = false;
};
// The dwell of row `i` of `log` (a page_view or search of a visitor).
PageDwell PageDwellOf(const PreparedLog& log, size_t i);

absl::StatusOr<Calibration> CalibrateFromDecisionPoints(
    const Policy& policy, const PreparedLog& log, double target,
    const ReplayOptions& options);

}  // namespace beckon::internal

#endif  // BECKON_LIB_TRAIN_INTERNAL_H_
