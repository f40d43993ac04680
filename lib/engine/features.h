// The features the model scores and the score itself, for one session at
// one instant (docs/concepts.md lists the features and their caps).
//
// Time moves two features only, dwell and checkout stall; SessionScore works
// out the others once per decision, so that scoring the same session at many
// instants (the recheck solver does) costs a few multiplications each.
#ifndef BECKON_LIB_ENGINE_FEATURES_H_
#define BECKON_LIB_ENGINE_FEATURES_H_

#include <cstdint>

#include "engine/compiled_policy.h"
#include "model_features.h"
#include "visitor_store.h"

namespace beckon::internal {

// What the model sees at one instant.
struct Evaluation {
  double x[kFeatureCount];
  double logit;
  double probability;
  double dwell_s;
  double dwell_threshold_s;
};

double Sigmoid(double z);

class SessionScore {
 public:
  // `p` and `r` must outlive the score.
  SessionScore(const CompiledPolicy& p, const SessionRecord& r);

  const SessionRecord& record() const { return r_; }
  const GroupInfo& group() const { return g_; }

  // Every feature, the logit and the probability at `t`.
  void Evaluate(int64_t t, Evaluation& ev) const;
  // The logit at `t` (no probability worked out).
  double LogitAt(int64_t t) const;
  // True if deciding at `t` passes the score: the dwell gate (unless the
  // policy allows offers before the dwell threshold) and probability >=
  // `threshold`. `threshold_logit` is CompiledPolicy::LogitOf(threshold):
  // far from it the logit alone answers, near it the probability does.
  bool Ready(int64_t t, double threshold, double threshold_logit) const;

 private:
  double Dwell(int64_t t) const;
  double Stall(int64_t t) const;
  double Sum(double dwell_ratio, double stall_min) const;

  const CompiledPolicy& p_;
  const SessionRecord& r_;
  const GroupInfo& g_;
  double x_[kFeatureCount];  // The features time does not move.
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_FEATURES_H_
