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
  std::string name = "beckon-uplift";
};

struct UpliftResult {
  Policy policy = Policy::Default();
  uint64_t offered_arm = 0;  // Visitors fitted on, by arm,
  uint64_t holdout_arm = 0;
  uint64_t purchased_offered = 0;  // and of them those who bought.
  uint64_t purchased_holdout = 0;
  // The fitted uplift model: bias and weights by feature name.
  double bias = 0;
  std::vector<std::pair<std::string, double>> weights;
  double min_uplift = 0;
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

}  // namespace beckon

#endif  // BECKON_UPLIFT_H_
