// Uplift targeting: learn where an offer changes the outcome, from a log
// with a randomized holdout (docs/uplift.md).
//
//   beckon::UpliftOptions o;
//   o.replay.production_decisions = &decisions;   // the decision log
//   o.replay.engine.visitor_key_file = "production.key";
//   o.target_offer_rate = 0.05;
//   absl::StatusOr<beckon::UpliftResult> r =
//       beckon::TrainUplift(ran, events, o);
//   r->policy.Save("uplift.policy");
//
// The log must come from the policy `ran`, with its holdout kept
// (gates.holdout_fraction > 0): at each visitor's scored moment (their
// first decision past the visitor gates whose probability reached the
// threshold) the holdout's hash alone decided who was offered. The trainer
// fits, over the engine's features at that moment, the transformed
// outcome Z (1 for an offered visitor who bought or a holdout visitor who
// did not), each arm weighted by the inverse of its share, so that
// 2 P(Z = 1 | x) - 1 is the uplift: P(buy | offered, x) - P(buy | not, x).
// The returned policy is `ran` with that model as model.uplift, and its
// min_uplift set so that it offers to target_offer_rate of sessions: it
// offers at ran's moments where the uplift is highest. The rate is
// measured by replaying the holdout's sessions with nobody held out (no
// offer of ran touched them), times the share not held out.
#ifndef BECKON_UPLIFT_H_
#define BECKON_UPLIFT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "beckon/replay.h"

namespace beckon {

struct UpliftOptions {
  // How the log is replayed: production's decision log and its engine's
  // visitor key (without them, holdout visitors' moments on their last
  // page are missing; docs/uplift.md section 3).
  ReplayOptions replay;
  // The offer rate to set min_uplift for, in (0, 1). At most the rate ran
  // offers at: the uplift model only chooses among ran's moments.
  double target_offer_rate = 0.05;
  double l2 = 1.0;  // The fit's L2 penalty (LogisticOptions::l2).
  // Fewer eligible visitors than this in either arm is an error.
  uint64_t min_visitors_per_arm = 100;
  // Score by the uplift times the order at stake (model.uplift.by_value:
  // the cart, or the log's mean order value while it is empty), so that
  // min_uplift is the expected added revenue. The log must hold purchases.
  bool by_value = false;
  std::string name = "beckon-uplift";
};

struct UpliftResult {
  Policy policy = Policy::Default();
  uint64_t offered_arm = 0;        // Visitors fitted on, by logged action
  uint64_t holdout_arm = 0;        // (offered, or not: held out or, with
                                   // exploration, not drawn),
  uint64_t purchased_offered = 0;  // and of them those who bought.
  uint64_t purchased_holdout = 0;
  // The fitted uplift model: bias and weights by feature name.
  double bias = 0;
  std::vector<std::pair<std::string, double>> weights;
  double min_uplift = 0;
  double mean_order_value = 0;  // With by_value: the log's mean purchase.
  double offer_rate = 0;       // The rate `policy` offers at (measured
                               // on the holdout's sessions, above),
  double base_offer_rate = 0;  // and ran's, replaying the log.
  // The Qini of ranking the log's visitors by the fitted uplift (in
  // sample: the same log).
  Qini qini;
  // What the trainer warns of (the target above ran's offer rate, ...);
  // also in the policy's provenance.
  std::vector<std::string> warnings;
};

// Fails with FailedPrecondition if `ran` keeps no holdout, InvalidArgument
// for options out of range or an arm below min_visitors_per_arm (naming
// the counts), and with the replay's errors.
absl::StatusOr<UpliftResult> TrainUplift(const Policy& ran,
                                         const std::vector<LogEvent>& events,
                                         const UpliftOptions& options);

// Off-policy evaluation (docs/uplift.md): what another policy's decisions
// at the logged moments would have given, estimated from a log whose
// offers were randomized (the holdout of the policy that ran: at each
// visitor's scored moment the offer came with probability 1 -
// holdout_fraction).
struct OffPolicyOptions {
  // How the log is replayed (production's decision log and visitor key;
  // the target is replayed with them too, so that it decides at the
  // logged moments).
  ReplayOptions replay;
  double l2 = 1.0;  // The outcome models' L2 penalty (doubly robust).
  // The estimate is said to be unsupported when more than this share of
  // the logged visitors cannot be evaluated (below).
  double max_unsupported_share = 0.05;
};

// One estimator's value: the target's purchase rate among the logged
// visitors, with a 95% interval (normal approximation).
struct OffPolicyValue {
  double value = 0;
  double standard_error = 0;
  double ci_low = 0;
  double ci_high = 0;
};

// One logged visitor as the estimate saw them.
struct OffPolicyVisitor {
  std::string visitor;
  int64_t session_start_ms = 0;
  int64_t moment_ms = 0;
  // Offered at the moment: not held out, and past the score (not an
  // exploration decision that did not explore).
  bool logged_offer = false;
  double propensity = 0;      // P(the logged action) at the moment.
  bool target_offer = false;  // What the target decides at the moment.
  // False when the target cannot be evaluated here: it offered earlier in
  // the session than the logged moment, where the log has no outcome.
  bool supported = true;
  bool purchased = false;
};

struct OffPolicyEstimate {
  uint64_t visitors = 0;          // Logged visitors (scored moments).
  uint64_t unsupported = 0;       // Of them, where the target offered earlier.
  uint64_t matched = 0;           // Supported, logged action = target's.
  double target_offer_share = 0;  // Of supported, the target offers.
  double min_propensity = 0;
  // Effective sample size of the importance weights: (sum w)^2 / sum w^2.
  double effective_sample_size = 0;
  // Whether the log supports the estimate: enough visitors matched, and
  // at most max_unsupported_share unsupported. `why` says what fails.
  bool supported = false;
  std::string why;
  // Inverse propensity scoring, its self-normalized form, and doubly
  // robust (outcome models fitted per arm on the engine's features, two
  // folds crossed), over the supported visitors.
  OffPolicyValue ips, snips, doubly_robust;
  // The logging policy's own value (the mean outcome of the logged
  // visitors, offered and held out as they were).
  double logged_value = 0;
  std::vector<OffPolicyVisitor> rows;
};

// Estimates `target`'s value on the log of `logged` (which must keep a
// holdout). The target is replayed with its holdout off: the value is its
// decision rule's, for everyone. FailedPrecondition if `logged` keeps no
// holdout; the replays' errors otherwise.
absl::StatusOr<OffPolicyEstimate> EvaluateOffPolicy(
    const Policy& logged, const Policy& target,
    const std::vector<LogEvent>& events, const OffPolicyOptions& options);

}  // namespace beckon

#endif  // BECKON_UPLIFT_H_
