// The replay's view of a log, prepared once and replayed many times (the
// trainer calibrates its decision threshold by replaying the validation
// days at several thresholds).
#ifndef BECKON_LIB_REPLAY_INTERNAL_H_
#define BECKON_LIB_REPLAY_INTERNAL_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "beckon/replay.h"

namespace beckon::internal {

inline constexpr uint32_t kNoVisitor = 0xFFFFFFFF;

// A log sorted by time (stably), with visitors numbered and sessions cut
// by a session timeout. Points into the events it was built from: they must
// outlive it.
struct PreparedLog {
  PreparedLog(const std::vector<LogEvent>& events, int64_t timeout_ms);
  // From rows already in time order (as another PreparedLog's `order`, or
  // a part of it): no copy of the events, no sort.
  PreparedLog(std::vector<const LogEvent*> sorted_rows, int64_t timeout_ms);

  int64_t timeout_ms;
  std::vector<const LogEvent*> order;  // Time order.
  std::vector<uint32_t> visitor;       // Per row: visitor number, or
                                       // kNoVisitor (agents rows).
  std::vector<uint32_t> session;       // Per row: session number.
  std::vector<int64_t> next_ts;        // Per row: the visitor's next event
                                       // in the same session, or -1...
  std::vector<int64_t> next_row;       // ...and its row, or -1.
  std::vector<std::string_view> visitor_ids;
  std::vector<int64_t> session_start;  // Per session.
  uint32_t sessions = 0;

 private:
  void Number();  // Fills everything but `order` from it.
};

// Offer rates within this of the target are taken as met (calibration).
inline constexpr double kRateTolerance = 0.0005;

// The decision threshold at log-odds `z`, as the threshold calibration's
// bisection tries it (kept within [1e-6, 1 - 1e-6]).
double ThresholdOfLogOdds(double z);

// The q-quantile of `v` (q in [0, 1]), linear between ranks; 0 if empty.
double Quantile(std::vector<double> v, double q);

// A decision past the visitor gates and the score: an offer, or a suppress
// by a site gate (holdout, no_agents, rate_cap, offer_rate_cap). The lift's
// eligible moment (replay.h).
bool EligibleDecision(const Decision& d);

// Replays a prepared log (see beckon::Replay). The log's timeout must be
// the policy's session timeout.
absl::StatusOr<ReplayMetrics> RunReplay(const Policy& policy,
                                        const PreparedLog& log,
                                        const ReplayOptions& options);

// CalibrateDecisionThreshold and CalibrateFixedDwell over a prepared log.
absl::StatusOr<Calibration> CalibrateThreshold(const Policy& policy,
                                               const PreparedLog& log,
                                               double target_offer_rate,
                                               const ReplayOptions& options);
absl::StatusOr<Calibration> CalibrateDwell(const Policy& base,
                                           const PreparedLog& log,
                                           double target_offer_rate,
                                           const ReplayOptions& options);

}  // namespace beckon::internal

#endif  // BECKON_LIB_REPLAY_INTERNAL_H_
