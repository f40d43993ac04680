// A policy flattened for the hot path: every number the rules read, in
// plain fields, and every per-policy constant worked out once (the matcher,
// the holdout keys, the decision threshold's log-odds), so that deciding is
// arithmetic. Built once per engine; immutable after.
#ifndef BECKON_LIB_ENGINE_COMPILED_POLICY_H_
#define BECKON_LIB_ENGINE_COMPILED_POLICY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beckon/policy.pb.h"
#include "model_features.h"
#include "page_matcher.h"

namespace beckon::internal {

// A group's settings.
struct GroupInfo {
  std::string pattern;  // Empty for the unlisted group.
  proto::Role role;
  double dwell_threshold_s;
  double dwell_threshold_ms;  // dwell_threshold_s * 1000.
  double help_rate;
};

struct CompiledStep {
  uint16_t group;  // kUnlistedGroup when matching by role.
  bool by_role;
  proto::Role role;
};

struct CompiledPathRule {
  std::string name;
  bool from_search_engine;
  bool not_from_search_engine;
  double strength;
  std::vector<CompiledStep> steps;
};

// The gates' settings (docs/policy-format.md), times in ms.
struct CompiledGates {
  bool decline_forever;
  int64_t decline_cooldown_ms;
  int64_t decline_cooldown_s;
  int64_t ignored_cap;
  int64_t ignored_cooldown_ms;
  int64_t max_offers_per_session;
  int64_t min_gap_ms;
  double holdout_fraction;
  int64_t rate_window_s;
  double expected_accept_rate;
  int64_t plenty_agents;
  double threshold_at_one_agent;
  double max_offer_share;  // 0: the offer-share cap is off.
};

// The fingerprint of a layout text (CompiledPolicy::layout_text()).
uint64_t LayoutFingerprint(std::string_view layout_text);

// The group patterns of a layout text (the unlisted group's empty one
// last), or false if `text` is not one whose fingerprint is `layout`.
bool ParseLayoutText(std::string_view text, uint64_t layout,
                     std::vector<std::string>* group_patterns);

class CompiledPolicy {
 public:
  explicit CompiledPolicy(const proto::Policy& p);

  const PageMatcher& matcher() const { return matcher_; }
  // Policy groups, then the unlisted group.
  const std::vector<GroupInfo>& groups() const { return groups_; }
  const GroupInfo& Group(uint16_t g) const {
    return groups_[g == kUnlistedGroup ? groups_.size() - 1 : g];
  }
  const std::vector<CompiledPathRule>& path_rules() const {
    return path_rules_;
  }
  const CompiledGates& gates() const { return gates_; }
  double weight(int feature) const { return weights_[feature]; }
  const double* weights() const { return weights_; }
  double bias() const { return bias_; }
  bool allow_before_dwell_threshold() const { return allow_before_dwell_; }
  // Exploration (model.exploration): share 0 if off.
  double explore_share() const { return explore_share_; }
  double explore_floor() const { return explore_floor_; }
  // The exploration draw of a decision, uniform in [0, 1).
  double ExploreDraw(std::string_view visitor, int64_t now_ms) const;
  // The uplift model (model.uplift), if the policy has one.
  bool has_uplift() const { return has_uplift_; }
  double min_uplift() const { return min_uplift_; }
  // model.uplift.by_value: the score is the uplift times the order at
  // stake (the cart, or mean_order_value while it is empty).
  bool uplift_by_value() const { return uplift_by_value_; }
  double mean_order_value() const { return mean_order_value_; }
  // The expected uplift for features `x` (kFeatureCount values).
  double Uplift(const double* x) const;
  int64_t timeout_ms() const { return timeout_ms_; }
  int64_t rate_window_ms() const { return gates_.rate_window_s * 1000; }
  double base_threshold() const { return base_threshold_; }
  // The threshold the probability is held against with `free_agents` free
  // (-1: never reported): raised linearly toward threshold_at_one_agent as
  // agents become scarce.
  double ThresholdFor(int64_t free_agents) const;
  // log(threshold / (1 - threshold)), from a cache for the base threshold.
  double LogitOf(double threshold) const;
  // True if `visitor` is in the stable holdout group.
  bool InHoldout(std::string_view visitor) const;
  // What group and path-rule indices mean: records stored under another
  // layout cannot be read index for index.
  uint64_t layout() const { return layout_; }
  // What layout() is a hash of: "beckon layout 1", then each group's
  // pattern after a 0x1f byte (policy groups, then the unlisted group's
  // empty one), then each path rule's name after a 0x1e byte. Published in
  // Redis so that engines of other layouts can read this one's records.
  const std::string& layout_text() const { return layout_text_; }

 private:
  PageMatcher matcher_;
  std::vector<GroupInfo> groups_;
  std::vector<CompiledPathRule> path_rules_;
  CompiledGates gates_;
  double weights_[kFeatureCount] = {};
  double bias_;
  bool allow_before_dwell_;
  double explore_share_ = 0;
  double explore_floor_ = 0;
  uint64_t explore_k0_ = 0, explore_k1_ = 0;
  bool has_uplift_ = false;
  double uplift_bias_ = 0;
  double uplift_weights_[kFeatureCount] = {};
  double min_uplift_ = 0;
  bool uplift_by_value_ = false;
  double mean_order_value_ = 0;
  int64_t timeout_ms_;
  double base_threshold_;
  double base_logit_;
  uint64_t holdout_k0_, holdout_k1_;
  uint64_t layout_;
  std::string layout_text_;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_COMPILED_POLICY_H_
