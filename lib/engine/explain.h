// Readable reasons, made from a decision's numbers on request: the hot path
// builds no text (DecisionDetail carries what the text needs), and hosts that
// never read the reasons never pay for them.
#ifndef BECKON_LIB_ENGINE_EXPLAIN_H_
#define BECKON_LIB_ENGINE_EXPLAIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "beckon/decision.h"
#include "engine/compiled_policy.h"
#include "model_features.h"

namespace beckon::internal {

static_assert(kDecisionFeatureCount == kFeatureCount,
              "decision.h's feature count");

// What the text needs from the policy: names and the gates' settings.
// Immutable; the engine keeps it alive as long as itself.
class Explainer {
 public:
  // `name` and `version`: the policy's (Decision::policy_name/version).
  Explainer(const CompiledPolicy& p, std::string name, std::string version);

  const std::string& policy_name() const { return name_; }
  const std::string& policy_version() const { return version_; }

  // The reasons of `d` (made by an engine with this explainer), and their
  // number without making them.
  std::vector<std::string> Reasons(const Decision& d,
                                   std::string_view note) const;
  size_t ReasonCount(const Decision& d) const;
  std::vector<Contribution> Contributions(const Decision& d) const;

 private:
  // The features worth words, largest contribution first: at most 3.
  int TopFeatures(const DecisionDetail& d, int out[3]) const;
  std::string MainReason(const Decision& d, std::string_view note) const;
  std::string FeatureReason(const DecisionDetail& d, int feature) const;
  // "an unlisted page" or the group's pattern.
  std::string Page(uint16_t group) const;

  std::vector<std::string> patterns_;  // Policy groups, then unlisted ("").
  std::vector<double> help_rates_;
  std::vector<std::string> path_names_;
  double weights_[kFeatureCount];
  CompiledGates gates_;
  std::string name_, version_;
};

// The engine's access to a decision's private parts.
struct DecisionAccess {
  static void SetExplainer(Decision& d, const Explainer* e) {
    d.explainer_ = e;
  }
  static const Explainer* ExplainerOf(const Decision& d) {
    return d.explainer_;
  }
  static void SetNote(Decision& d, std::string note) {
    d.note_ = std::move(note);
  }
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_EXPLAIN_H_
