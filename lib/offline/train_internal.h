// Parts of the trainer, for tests: page dwell, the split statistics and
// the threshold calibration.
#ifndef BECKON_LIB_TRAIN_INTERNAL_H_
#define BECKON_LIB_TRAIN_INTERNAL_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "lib/offline/replay_internal.h"

namespace beckon::internal {

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

// A step of a session as the path mining counts it, and the engine keeps
// it: a page view that is no reload (the same page as the visitor's last
// view or search), or a search (each one a step).
struct SessionStep {
  uint16_t group;  // The page group (kUnlistedGroup for none).
  int64_t ts;
  size_t row;  // Its row in the log's order.
};
struct SessionSteps {
  std::vector<std::vector<SessionStep>> steps;  // Per session, in order.
  // Per session: its first page view came from a search engine.
  std::vector<uint8_t> from_search_engine;
};
// The steps of every session of `log` under `policy`'s page groups, as the
// trainer mines path rules from them.
SessionSteps StepsForPathRules(const PreparedLog& log,
                               const proto::Policy& policy);

// The Mann-Whitney U statistic of `a` against `b` as a z score (normal
// approximation, ties given their mean rank): > 0 when `a` tends larger.
// 0 if either is empty.
double MannWhitneyZ(const std::vector<double>& a, const std::vector<double>& b);

// The samples of several parts (a base group's templates, when the trainer
// looks for splits), pooled and sorted once, to compare each part with the
// rest of them without copying the rest: O(N log N) to build, O(N) per
// part asked about. Each answer is the one MannWhitneyZ and Quantile give
// on the part and the rest, to the last bit. The samples are copied: the
// parts need not outlive it.
class PooledSamples {
 public:
  explicit PooledSamples(const std::vector<const std::vector<double>*>& parts);
  // The number of samples in the parts other than `t`.
  size_t RestSize(size_t t) const { return sorted_.size() - n_[t]; }
  // MannWhitneyZ(part t, the other parts' samples).
  double ZOf(size_t t) const;
  // Quantile(the other parts' samples, 0.5); 0 if there are none.
  double RestMedian(size_t t) const;

 private:
  std::vector<std::pair<double, uint32_t>> sorted_;  // (sample, part).
  std::vector<double> rank_sum_;                     // Per part.
  std::vector<size_t> n_;                            // Per part.
};

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
