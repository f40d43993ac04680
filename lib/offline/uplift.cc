// Uplift targeting by the transformed outcome (docs/uplift.md).
#include "beckon/uplift.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "beckon/train.h"
#include "lib/model_features.h"
#include "lib/offline/lift.h"
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
  // The logged action at the moment: offered (past the score, not held
  // out), with its propensity (the holdout's, times exploration's share in
  // its zone). Each arm is weighted by the inverse of its propensity.
  collect.lift_sample = [&](const LiftSample& s) {
    const bool offered = s.past_score && !s.holdout;
    const double p = s.offer_probability;
    if (!(p > 0 && p < 1)) return;  // Not randomized: nothing to learn.
    x.insert(x.end(), s.features, s.features + kDecisionFeatureCount);
    // Z = 1: offered and bought, or not offered and did not.
    z.push_back(offered == s.purchased ? 1.0 : 0.0);
    w.push_back(offered ? 1 / (2 * p) : 1 / (2 * (1 - p)));
    ++(offered ? r.offered_arm : r.holdout_arm);
    if (s.purchased) ++(offered ? r.purchased_offered : r.purchased_holdout);
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
  // By value: the score's range is the uplift's times the largest order at
  // stake (a cart at a moment, or the mean order).
  double lowest = kLowestUplift, highest = kHighestUplift;
  if (options.by_value) {
    internal::MeanVar orders;
    for (const LogEvent& e : events) {
      if (e.type == EventType::kPurchase) orders.Add(e.value);
    }
    if (!(orders.mean > 0)) {
      return absl::InvalidArgumentError(
          "uplift: by_value needs purchases with a value in the log");
    }
    r.mean_order_value = orders.mean;
    double largest = orders.mean;
    for (size_t i = 0; i < z.size(); ++i) {
      largest = std::max(
          largest,
          std::expm1(x[i * kDecisionFeatureCount + internal::kCartValue]));
    }
    u->set_by_value(true);
    u->set_mean_order_value(orders.mean);
    lowest = -largest;
    highest = largest;
  }
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
  double lo = lowest, hi = highest;
  for (int step = 0; step < 30; ++step) {
    const double mid = step == 0 ? lowest : (lo + hi) / 2;
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
  (*prov->mutable_options())["uplift_by_value"] =
      options.by_value ? "true" : "false";
  for (const std::string& warning : r.warnings) prov->add_warnings(warning);
  absl::StatusOr<Policy> out = Policy::FromBytes(p.SerializeAsString());
  if (!out.ok()) return out.status();
  r.policy = *std::move(out);
  return r;
}

}  // namespace beckon

namespace beckon {

absl::StatusOr<OffPolicyEstimate> EvaluateOffPolicy(
    const Policy& logged, const Policy& target,
    const std::vector<LogEvent>& events, const OffPolicyOptions& options) {
  const proto::Policy& lp = internal::PolicyInternal::Message(logged);
  const double h = lp.gates().holdout_fraction();
  if (!(h > 0)) {
    return absl::FailedPreconditionError(
        "off-policy: the logged policy keeps no holdout (gates."
        "holdout_fraction is 0): its offers were not randomized, so another "
        "policy's value cannot be estimated from its log");
  }
  if (!(std::isfinite(options.l2) && options.l2 >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("off-policy: l2 must be >= 0, got ", options.l2));
  }
  OffPolicyEstimate est;
  // The logged visitors at their scored moments.
  std::vector<double> x;
  // Keyed by views into `events` (which outlive the call).
  absl::flat_hash_map<std::string_view, size_t> index;
  ReplayOptions collect = options.replay;
  collect.trace = nullptr;
  collect.lift_sample = [&](const LiftSample& s) {
    OffPolicyVisitor v;
    v.visitor = std::string(s.visitor);
    v.session_start_ms = s.session_start_ms;
    v.moment_ms = s.moment_ms;
    v.logged_offer = s.past_score && !s.holdout;
    v.propensity =
        v.logged_offer ? s.offer_probability : 1 - s.offer_probability;
    v.purchased = s.purchased;
    index.emplace(s.visitor, est.rows.size());
    est.rows.push_back(std::move(v));
    x.insert(x.end(), s.features, s.features + kDecisionFeatureCount);
  };
  absl::StatusOr<ReplayMetrics> logged_run = Replay(logged, events, collect);
  if (!logged_run.ok()) return logged_run.status();

  // The target's decisions at those moments, nobody held out.
  proto::Policy tp = internal::PolicyInternal::Message(target);
  tp.mutable_gates()->set_holdout_fraction(0);
  absl::StatusOr<Policy> rule = Policy::FromBytes(tp.SerializeAsString());
  if (!rule.ok()) return rule.status();
  ReplayOptions replay = options.replay;
  replay.lift_sample = nullptr;
  replay.save_state_path.clear();
  replay.trace = [&](const TraceRecord& rec) {
    auto it = index.find(rec.visitor);
    if (it == index.end()) return;
    OffPolicyVisitor& v = est.rows[it->second];
    if (rec.ts_ms < v.session_start_ms || rec.ts_ms > v.moment_ms) return;
    const Decision& d = *rec.decision;
    if (rec.ts_ms < v.moment_ms) {
      if (d.action == Action::kOffer) v.supported = false;
    } else if (internal::EligibleDecision(d)) {
      v.target_offer = true;
    }
  };
  absl::StatusOr<ReplayMetrics> target_run = Replay(*rule, events, replay);
  if (!target_run.ok()) return target_run.status();

  // Outcome models per logged arm, two folds crossed: q[a][i] is P(buy |
  // x_i, arm a) from the fold that does not hold row i.
  const size_t n = est.rows.size();
  std::vector<double> q[2] = {std::vector<double>(n), std::vector<double>(n)};
  for (int arm = 0; arm < 2; ++arm) {
    for (size_t fold = 0; fold < 2; ++fold) {
      std::vector<double> fx, fy;
      internal::MeanVar mean;
      for (size_t i = 0; i < n; ++i) {
        const OffPolicyVisitor& v = est.rows[i];
        if (i % 2 == fold || v.logged_offer != (arm == 1)) continue;
        fx.insert(fx.end(), x.begin() + i * kDecisionFeatureCount,
                  x.begin() + (i + 1) * kDecisionFeatureCount);
        fy.push_back(v.purchased ? 1 : 0);
        mean.Add(fy.back());
      }
      std::optional<LogisticModel> model;
      if (fy.size() >= 20 && mean.mean > 0 && mean.mean < 1) {
        LogisticOptions lo;
        lo.l2 = options.l2;
        absl::StatusOr<LogisticModel> fit =
            FitLogistic(fx, kDecisionFeatureCount, fy, {}, lo);
        if (fit.ok()) model = *std::move(fit);
      }
      for (size_t i = fold; i < n; i += 2) {
        q[arm][i] =
            model ? model->Predict(&x[i * kDecisionFeatureCount]) : mean.mean;
      }
    }
  }

  est.visitors = n;
  est.min_propensity = 1;
  for (const OffPolicyVisitor& v : est.rows) {
    est.min_propensity = std::min(est.min_propensity, v.propensity);
  }
  if (n == 0) est.min_propensity = 0;
  std::vector<internal::OffPolicyRow> supported;
  internal::MeanVar logged_value, offer_share;
  for (size_t i = 0; i < n; ++i) {
    const OffPolicyVisitor& v = est.rows[i];
    logged_value.Add(v.purchased ? 1 : 0);
    if (!v.supported) {
      ++est.unsupported;
      continue;
    }
    offer_share.Add(v.target_offer ? 1 : 0);
    internal::OffPolicyRow r;
    r.logged_offer = v.logged_offer;
    r.target_offer = v.target_offer;
    r.propensity = v.propensity;
    r.y = v.purchased ? 1 : 0;
    r.q_offer = q[1][i];
    r.q_not = q[0][i];
    supported.push_back(r);
  }
  est.logged_value = logged_value.mean;
  est.target_offer_share = offer_share.mean;
  const internal::OffPolicyValues values =
      internal::EstimateOffPolicy(supported);
  est.ips = values.ips;
  est.snips = values.snips;
  est.doubly_robust = values.doubly_robust;
  est.matched = values.matched;
  est.effective_sample_size = values.effective_sample_size;
  const double unsupported_share =
      n ? static_cast<double>(est.unsupported) / static_cast<double>(n) : 1;
  if (n == 0) {
    est.why = "no logged visitor reached a scored moment";
  } else if (unsupported_share > options.max_unsupported_share) {
    est.why = absl::StrFormat(
        "the target offered earlier than the logged moment for %.1f%% of "
        "visitors (at most %.1f%%): the log has no outcome for offers that "
        "early",
        100 * unsupported_share, 100 * options.max_unsupported_share);
  } else if (est.matched < 30) {
    est.why = absl::StrCat("only ", est.matched,
                           " logged actions match the target's (at least 30)");
  }
  est.supported = est.why.empty();
  return est;
}

}  // namespace beckon
