#include "engine/features.h"

#include <cmath>

namespace beckon::internal {
namespace {

double Clamp(double v, double hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

// Below this distance from the threshold's logit, Ready compares
// probabilities as the rounding of the sigmoid makes them, not logits.
constexpr double kLogitMargin = 1e-7;

}  // namespace

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

SessionScore::SessionScore(const CompiledPolicy& p, const SessionRecord& r)
    : p_(p), r_(r), g_(p.Group(r.current_group)) {
  x_[kDwellRatio] = 0;
  x_[kHelpHits] = Clamp(r.help_hits, kMaxCount);
  x_[kSearches] = Clamp(r.searches, kMaxCount);
  x_[kZeroResultSearches] = Clamp(r.zero_result_searches, kMaxCount);
  x_[kLoops] = Clamp(r.loops, kMaxCount);
  x_[kBackAndForth] = Clamp(r.back_and_forth, kMaxCount);
  x_[kPath] = r.path_rule ? p.path_rules()[r.path_rule - 1].strength : 0.0;
  x_[kCheckoutStallMin] = 0;
  x_[kPagesViewed] = std::log1p(static_cast<double>(r.pages_viewed));
  x_[kCartValue] = std::log1p(static_cast<double>(r.cart_value));
  x_[kGroupHelpRate] = g_.help_rate;
  x_[kDwellHelpRate] = 0;
}

double SessionScore::Dwell(int64_t t) const {
  return static_cast<double>(t - r_.last_activity_ms) / 1000.0;
}

double SessionScore::Stall(int64_t t) const {
  return (r_.flags & kInCheckout)
             ? Clamp(static_cast<double>(t - r_.checkout_since_ms) / 60000.0,
                     kMaxStallMin)
             : 0.0;
}

// In feature order, from the bias: the same sum, to the last bit, whoever
// asks.
double SessionScore::Sum(double dwell_ratio, double stall_min) const {
  const double* w = p_.weights();
  double z = p_.bias();
  for (int i = 0; i < kFeatureCount; ++i) {
    const double x = i == kDwellRatio         ? dwell_ratio
                     : i == kCheckoutStallMin ? stall_min
                     : i == kDwellHelpRate    ? dwell_ratio * g_.help_rate
                                              : x_[i];
    z += w[i] * x;
  }
  return z;
}

void SessionScore::Evaluate(int64_t t, Evaluation& ev) const {
  for (int i = 0; i < kFeatureCount; ++i) ev.x[i] = x_[i];
  ev.dwell_s = Dwell(t);
  ev.dwell_threshold_s = g_.dwell_threshold_s;
  ev.x[kDwellRatio] = Clamp(ev.dwell_s / g_.dwell_threshold_s, kMaxDwellRatio);
  ev.x[kCheckoutStallMin] = Stall(t);
  ev.x[kDwellHelpRate] = ev.x[kDwellRatio] * g_.help_rate;
  ev.logit = Sum(ev.x[kDwellRatio], ev.x[kCheckoutStallMin]);
  ev.probability = Sigmoid(ev.logit);
}

double SessionScore::LogitAt(int64_t t) const {
  return Sum(Clamp(Dwell(t) / g_.dwell_threshold_s, kMaxDwellRatio),
             Stall(t));
}

bool SessionScore::Ready(int64_t t, double threshold,
                         double threshold_logit) const {
  const double dwell_s = Dwell(t);
  if (!p_.allow_before_dwell_threshold() && dwell_s < g_.dwell_threshold_s) {
    return false;
  }
  const double z =
      Sum(Clamp(dwell_s / g_.dwell_threshold_s, kMaxDwellRatio), Stall(t));
  // The sigmoid is increasing: far from the threshold's logit the logit
  // decides; near it (or for thresholds so close to 0 or 1 that rounding
  // could matter) the probability as computed does.
  if (threshold > 1e-6 && threshold < 1 - 1e-6) {
    if (z < threshold_logit - kLogitMargin) return false;
    if (z > threshold_logit + kLogitMargin) return true;
  }
  return Sigmoid(z) >= threshold;
}

}  // namespace beckon::internal
