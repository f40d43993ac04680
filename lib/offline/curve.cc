#include "beckon/curve.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "beckon/decision.h"
#include "beckon/policy.pb.h"
#include "lib/json.h"
#include "lib/offline/replay_internal.h"
#include "policy_internal.h"

namespace beckon {
namespace {

// The lowest decision threshold the calibration's bisection tries (log-odds
// -15): below any score a model gives in practice.
const double kLowestThreshold = 1.0 / (1.0 + std::exp(15.0));

// Area under recall against offer rate, (0, 0) added, over [0, x_max]
// (linear between points, flat after the last), divided by x_max.
double RecallArea(std::vector<std::pair<double, double>> pts, double x_max) {
  if (!(x_max > 0)) return 0;
  pts.emplace_back(0.0, 0.0);
  std::sort(pts.begin(), pts.end());
  double area = 0;
  for (size_t i = 1; i < pts.size(); ++i) {
    const double x0 = std::min(pts[i - 1].first, x_max);
    const double x1 = std::min(pts[i].first, x_max);
    area += (x1 - x0) * (pts[i - 1].second + pts[i].second) / 2;
  }
  if (pts.back().first < x_max) {
    area += (x_max - pts.back().first) * pts.back().second;
  }
  return area / x_max;
}

}  // namespace

absl::StatusOr<OfferRateCurve> ComputeOfferRateCurve(
    const Policy& policy, const std::vector<LogEvent>& events,
    const std::vector<double>& rates_given, const ReplayOptions& options) {
  const std::vector<double>& rates =
      rates_given.empty() ? DefaultCurveRates() : rates_given;
  for (double r : rates) {
    if (!(r > 0 && r < 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("offer rates must be in (0, 1), got ", r));
    }
  }
  OfferRateCurve curve;

  // The most the policy can offer, and why the rest are not offered: one
  // replay at the lowest threshold, with each session's last decision.
  absl::StatusOr<Policy> lowest =
      WithDecisionThreshold(policy, kLowestThreshold);
  if (!lowest.ok()) return lowest.status();
  const int64_t timeout_ms =
      static_cast<int64_t>(
          internal::PolicyInternal::Message(policy).session().timeout_s()) *
      1000;
  struct Open {
    int64_t last_ms = 0;
    Reason reason = Reason::kNoSession;
    bool offered = false;
  };
  absl::flat_hash_map<std::string, Open> open;
  absl::flat_hash_map<std::string, uint64_t> by_reason;
  auto close = [&](const Open& s) {
    if (!s.offered) ++by_reason[std::string(ReasonName(s.reason))];
  };
  ReplayOptions ro = options;
  ro.trace = [&](const TraceRecord& t) {
    auto [it, fresh] = open.try_emplace(std::string(t.visitor));
    Open& s = it->second;
    if (!fresh && t.ts_ms - s.last_ms > timeout_ms) {
      close(s);
      s = Open();
    }
    s.last_ms = t.ts_ms;
    s.reason = t.decision->reason;
    s.offered = s.offered || t.decision->action == Action::kOffer;
  };
  // One sorted log for every replay (the baseline keeps the policy's
  // session settings, so the same session timeout).
  const internal::PreparedLog log(events, timeout_ms);
  absl::StatusOr<ReplayMetrics> most = internal::RunReplay(*lowest, log, ro);
  if (!most.ok()) return most.status();
  for (const auto& [visitor, s] : open) close(s);
  curve.max_offer_rate = most->offer_rate;
  curve.unoffered_by_reason.assign(by_reason.begin(), by_reason.end());
  std::sort(curve.unoffered_by_reason.begin(), curve.unoffered_by_reason.end(),
            [](const auto& a, const auto& b) {
              return a.second != b.second ? a.second > b.second
                                          : a.first < b.first;
            });

  ReplayOptions plain = options;
  plain.trace = nullptr;
  std::vector<std::pair<double, double>> own, base;
  double x_max = 0;
  for (double rate : rates) {
    absl::StatusOr<Calibration> l =
        internal::CalibrateThreshold(policy, log, rate, plain);
    if (!l.ok()) return l.status();
    const double reached =
        l->metrics.offer_rate > 0 ? l->metrics.offer_rate : rate;
    absl::StatusOr<Calibration> b =
        internal::CalibrateDwell(policy, log, reached, plain);
    if (!b.ok()) return b.status();
    CurvePoint p{rate,
                 rate <= curve.max_offer_rate + std::max(0.001, 0.05 * rate),
                 *std::move(l), *std::move(b)};
    own.emplace_back(p.policy.metrics.offer_rate, p.policy.metrics.recall);
    base.emplace_back(p.baseline.metrics.offer_rate, p.baseline.metrics.recall);
    x_max = std::max(x_max, p.policy.metrics.offer_rate);
    curve.points.push_back(std::move(p));
  }
  curve.recall_area = RecallArea(own, x_max);
  curve.baseline_recall_area = RecallArea(base, x_max);
  return curve;
}

std::string OfferRateCurve::ReasonsJson() const {
  internal::JsonObject reasons;
  for (const auto& [reason, n] : unoffered_by_reason) reasons.UInt(reason, n);
  return reasons.Finish();
}

std::string OfferRateCurve::PointsJson() const {
  std::string pts = "[";
  for (size_t i = 0; i < points.size(); ++i) {
    const CurvePoint& p = points[i];
    internal::JsonObject o;
    o.Num("target_offer_rate", p.target_offer_rate)
        .Bool("reachable", p.reachable)
        .Num("decision_threshold", p.policy.setting)
        .Raw("policy", p.policy.metrics.ToJson())
        .Num("baseline_seconds", p.baseline.setting)
        .Raw("baseline", p.baseline.metrics.ToJson());
    if (i > 0) pts.push_back(',');
    pts += o.Finish();
  }
  pts.push_back(']');
  return pts;
}

std::string OfferRateCurve::ToJson() const {
  internal::JsonObject o;
  o.Num("max_offer_rate", max_offer_rate)
      .Num("recall_area", recall_area)
      .Num("baseline_recall_area", baseline_recall_area)
      .Raw("unoffered_by_reason", ReasonsJson())
      .Raw("points", PointsJson());
  return o.Finish();
}

}  // namespace beckon
