// Offer-rate curves: how a policy, and the fixed-rule baseline matched to
// it, do at several offer rates, which rates the policy cannot reach, and
// why. `beckon compare` prints one; Python: beckon.offer_rate_curve and
// beckon.sweep(policy, events, rates=...). See docs/replay.md, section 7.
#ifndef BECKON_CURVE_H_
#define BECKON_CURVE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "beckon/replay.h"

namespace beckon {

// The offer rates a curve is drawn at unless told: 1, 2, 5, 10 and 20% of
// sessions.
inline const std::vector<double>& DefaultCurveRates() {
  static const std::vector<double>* rates =
      new std::vector<double>{0.01, 0.02, 0.05, 0.10, 0.20};
  return *rates;
}

struct CurvePoint {
  double target_offer_rate = 0;
  // Whether the policy can reach the target: it is at most its highest
  // rate (OfferRateCurve::max_offer_rate) plus max(0.001, 5% of the
  // target). Above that, its dwell thresholds and gates hold offers back
  // whatever the score. (The rate reached is policy.metrics.offer_rate: a
  // small log may give a reachable target only to within a few sessions.)
  bool reachable = false;
  // The policy with its decision threshold set to reach the target (as near
  // as the log allows), and the fixed-dwell baseline set to the offer rate
  // the policy reached, each with its replay.
  Calibration policy;
  Calibration baseline;
};

struct OfferRateCurve {
  std::vector<CurvePoint> points;  // In the order of the rates asked for.
  // The policy's offer rate at the lowest decision threshold: the most it
  // can offer on this log.
  double max_offer_rate = 0;
  // At that lowest threshold, the sessions never offered, counted by the
  // reason of the last decision the replay asked for in each (sessions cut
  // by the policy's session timeout), most first: "dwell" (the visitor
  // left before the page's threshold), "session_cap", "holdout", ...
  std::vector<std::pair<std::string, uint64_t>> unoffered_by_reason;
  // Recall averaged over offer rates from 0 to the highest rate the policy
  // reached among the points (the area under recall against offer rate,
  // with (0, 0) added, divided by that rate), for the policy and for the
  // baseline over the same range: one number per curve.
  double recall_area = 0;
  double baseline_recall_area = 0;

  // {"max_offer_rate":..., "recall_area":..., "baseline_recall_area":...,
  //  "unoffered_by_reason": {...}, "points": [{"target_offer_rate":...,
  //  "reachable":..., "decision_threshold":..., "policy": {metrics},
  //  "baseline_seconds":..., "baseline": {metrics}}, ...]}
  std::string ToJson() const;
  // Its parts: the "points" list and the "unoffered_by_reason" object.
  std::string PointsJson() const;
  std::string ReasonsJson() const;
};

// Draws the curve of `policy` on `events` at `rates` (each in (0, 1);
// empty: DefaultCurveRates()). Replays the log about 45 times per rate.
absl::StatusOr<OfferRateCurve> ComputeOfferRateCurve(
    const Policy& policy, const std::vector<LogEvent>& events,
    const std::vector<double>& rates = {}, const ReplayOptions& options = {});

}  // namespace beckon

#endif  // BECKON_CURVE_H_
