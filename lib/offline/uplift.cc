// Uplift targeting by the transformed outcome (docs/uplift.md).
#include "beckon/uplift.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "beckon/train.h"
#include "lib/model_features.h"
#include "lib/offline/replay_internal.h"
#include "policy_internal.h"

namespace beckon {
namespace {

// min_uplift is searched within this (the model's range is (-1, 1)).
constexpr double kLowestUplift = -0.999;
constexpr double kHighestUplift = 0.999;

absl::StatusOr<Policy> WithMinUplift(const proto::Policy& base, double u) {
  proto::Policy p = base;
  p.mutable_model()->mutable_uplift()->set_min_uplift(u);
  return Policy::FromBytes(p.SerializeAsString());
}

}  // namespace

absl::StatusOr<UpliftResult> TrainUplift(const Policy& ran,
                                         const std::vector<LogEvent>& events,
                                         const UpliftOptions& options) {
  const proto::Policy& base = internal::PolicyInternal::Message(ran);
  const double holdout = base.gates().holdout_fraction();
  if (!(holdout > 0)) {
    return absl::FailedPreconditionError(
        "uplift: the policy keeps no holdout (gates.holdout_fraction is 0): "
        "learning what an offer changes needs visitors held out at random");
  }
  const double target = options.target_offer_rate;
  if (!(std::isfinite(target) && target > 0 && target < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "uplift: target_offer_rate must be in (0, 1), got ", target));
  }
  if (!(std::isfinite(options.l2) && options.l2 >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("uplift: l2 must be >= 0, got ", options.l2));
  }
  const internal::PreparedLog log(events, base.session().timeout_s() * 1000);

  // The visitors at their scored moments, as the policy that ran met them.
  std::vector<double> x, z, w;
  UpliftResult r;
  ReplayOptions collect = options.replay;
  collect.trace = nullptr;
  const double w_offered = 1.0 / (2.0 * (1.0 - holdout));
  const double w_holdout = 1.0 / (2.0 * holdout);
  collect.lift_sample = [&](const LiftSample& s) {
    x.insert(x.end(), s.features, s.features + kDecisionFeatureCount);
    // Z = 1: offered and bought, or held out and did not.
    z.push_back(s.holdout != s.purchased ? 1.0 : 0.0);
    w.push_back(s.holdout ? w_holdout : w_offered);
    ++(s.holdout ? r.holdout_arm : r.offered_arm);
    if (s.purchased) ++(s.holdout ? r.purchased_holdout : r.purchased_offered);
  };
  absl::StatusOr<ReplayMetrics> ran_metrics =
      internal::RunReplay(ran, log, collect);
  if (!ran_metrics.ok()) return ran_metrics.status();
  r.base_offer_rate = ran_metrics->offer_rate;
  if (r.offered_arm < options.min_visitors_per_arm ||
      r.holdout_arm < options.min_visitors_per_arm) {
    return absl::InvalidArgumentError(absl::StrCat(
        "uplift: too few eligible visitors to learn from: ", r.offered_arm,
        " offered and ", r.holdout_arm, " held out (min_visitors_per_arm ",
        options.min_visitors_per_arm, ")"));
  }
  LogisticOptions fit_options;
  fit_options.l2 = options.l2;
  fit_options.interrupted = options.replay.interrupted;
  absl::StatusOr<LogisticModel> fit =
      FitLogistic(x, kDecisionFeatureCount, z, w, fit_options);
  if (!fit.ok()) return fit.status();

  proto::Policy p = base;
  p.set_name(options.name);
  proto::UpliftModel* u = p.mutable_model()->mutable_uplift();
  u->Clear();
  u->set_outcome("purchase");
  u->set_bias(fit->bias);
  r.bias = fit->bias;
  for (int f = 0; f < internal::kFeatureCount; ++f) {
    const double weight = fit->weights[static_cast<size_t>(f)];
    if (weight == 0) continue;
    proto::FeatureWeight* fw = u->add_weights();
    fw->set_feature(std::string(internal::FeatureName(f)));
    fw->set_weight(weight);
    r.weights.emplace_back(std::string(internal::FeatureName(f)), weight);
  }

  // min_uplift for the target rate: the offer rate falls as it rises. It
  // is measured on the holdout's sessions, which no offer touched (a
  // replay of the other visitors would meet the offers of the policy that
  // ran, and each would count against the session cap), with nobody held
  // out: the rate there, times the share not held out, is the rate the
  // policy will offer at.
  std::unique_ptr<Engine> hasher;
  {
    absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Create(ran);
    if (!e.ok()) return e.status();
    hasher = *std::move(e);
  }
  std::vector<const LogEvent*> untouched;
  for (const LogEvent* e : log.order) {
    if (e->type == EventType::kAgents || hasher->InHoldout(e->visitor)) {
      untouched.push_back(e);
    }
  }
  const internal::PreparedLog holdout_log(std::move(untouched), log.timeout_ms);
  p.mutable_gates()->set_holdout_fraction(0);
  const double untouched_target = target / (1 - holdout);
  ReplayOptions calibrate = options.replay;
  calibrate.trace = nullptr;
  calibrate.lift_sample = nullptr;
  calibrate.progress = nullptr;
  calibrate.load_state_path.clear();
  calibrate.save_state_path.clear();
  std::optional<std::pair<double, ReplayMetrics>> best;
  double best_gap = 2;
  double lo = kLowestUplift, hi = kHighestUplift;
  for (int step = 0; step < 22; ++step) {
    const double mid = step == 0 ? kLowestUplift : (lo + hi) / 2;
    absl::StatusOr<Policy> candidate = WithMinUplift(p, mid);
    if (!candidate.ok()) return candidate.status();
    absl::StatusOr<ReplayMetrics> m =
        internal::RunReplay(*candidate, holdout_log, calibrate);
    if (!m.ok()) return m.status();
    const double rate = m->offer_rate;
    const double gap = std::fabs(rate - untouched_target);
    if (gap < best_gap) {
      best_gap = gap;
      best = std::make_pair(mid, *std::move(m));
    }
    // With every uplift let through, the rate is the most there is.
    if (step == 0 && rate <= untouched_target) break;
    if (gap <= internal::kRateTolerance) break;
    (rate > untouched_target ? lo : hi) = mid;
  }
  p.mutable_gates()->set_holdout_fraction(holdout);
  r.min_uplift = best->first;
  r.offer_rate = best->second.offer_rate * (1 - holdout);
  if (r.offer_rate + std::max(0.001, 0.05 * target) < target) {
    r.warnings.push_back(absl::StrFormat(
        "target offer rate %.4f is above what the policy that ran offers at "
        "(%.4f with every uplift): the uplift model only chooses among its "
        "moments; run it at a higher offer rate to learn from",
        target, r.offer_rate));
  }
  u->set_min_uplift(r.min_uplift);
  // The Qini of the fitted uplift over the log's visitors, in sample.
  {
    absl::StatusOr<Policy> fitted = Policy::FromBytes(p.SerializeAsString());
    if (!fitted.ok()) return fitted.status();
    ReplayOptions rank = calibrate;
    rank.load_state_path = options.replay.load_state_path;
    absl::StatusOr<ReplayMetrics> m = internal::RunReplay(*fitted, log, rank);
    if (!m.ok()) return m.status();
    if (m->lift) r.qini = m->lift->qini;
  }

  proto::Provenance* prov = p.mutable_provenance();
  prov->set_created_by("beckon train-uplift");
  prov->set_notes(absl::StrCat("uplift of purchase, transformed outcome over ",
                               r.offered_arm, " offered and ", r.holdout_arm,
                               " holdout visitors of policy \"", base.name(),
                               "\""));
  (*prov->mutable_validation())["uplift_offered_arm"] =
      static_cast<double>(r.offered_arm);
  (*prov->mutable_validation())["uplift_holdout_arm"] =
      static_cast<double>(r.holdout_arm);
  (*prov->mutable_validation())["uplift_offer_rate"] = r.offer_rate;
  (*prov->mutable_validation())["uplift_base_offer_rate"] = r.base_offer_rate;
  (*prov->mutable_validation())["uplift_qini_area"] = r.qini.area;
  (*prov->mutable_validation())["uplift_qini_random_sd"] = r.qini.random_sd;
  (*prov->mutable_options())["uplift_target_offer_rate"] = absl::StrCat(target);
  (*prov->mutable_options())["uplift_l2"] = absl::StrCat(options.l2);
  for (const std::string& warning : r.warnings) prov->add_warnings(warning);
  absl::StatusOr<Policy> out = Policy::FromBytes(p.SerializeAsString());
  if (!out.ok()) return out.status();
  r.policy = *std::move(out);
  return r;
}

}  // namespace beckon
