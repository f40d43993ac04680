#include "engine/compiled_policy.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "siphash.h"

namespace beckon::internal {

namespace {
constexpr std::string_view kLayoutMagic = "beckon layout 1";
}  // namespace

uint64_t LayoutFingerprint(std::string_view layout_text) {
  return SipHash24(0x6c61796f75743031ULL, 7, layout_text);
}

bool ParseLayoutText(std::string_view text, uint64_t layout,
                     std::vector<std::string>* group_patterns) {
  if (text.substr(0, kLayoutMagic.size()) != kLayoutMagic ||
      LayoutFingerprint(text) != layout) {
    return false;
  }
  std::vector<std::string> groups;
  std::string_view rest = text.substr(kLayoutMagic.size());
  // Groups come first; the first 0x1e byte starts the path-rule names.
  rest = rest.substr(0, rest.find('\x1e'));
  while (!rest.empty()) {
    if (rest[0] != '\x1f') return false;
    rest.remove_prefix(1);
    const size_t end = rest.find('\x1f');
    groups.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  // At least the unlisted group, whose pattern is empty, and it last.
  if (groups.empty() || !groups.back().empty()) return false;
  *group_patterns = std::move(groups);
  return true;
}

CompiledPolicy::CompiledPolicy(const proto::Policy& p)
    : matcher_(p),
      bias_(p.model().bias()),
      allow_before_dwell_(p.model().allow_before_dwell_threshold()),
      timeout_ms_(p.session().timeout_s() * 1000),
      base_threshold_(p.model().decision_threshold()) {
  for (const auto& g : p.groups()) {
    groups_.push_back(GroupInfo{g.pattern(), g.role(), g.dwell_threshold_s(),
                                g.dwell_threshold_s() * 1000.0,
                                g.help_rate()});
  }
  const auto& u = p.unlisted();
  groups_.push_back(GroupInfo{"", u.role(), u.dwell_threshold_s(),
                              u.dwell_threshold_s() * 1000.0, u.help_rate()});
  for (const auto& r : p.path_rules()) {
    CompiledPathRule c{r.name(),
                       r.from_search_engine(),
                       r.not_from_search_engine(),
                       r.strength(),
                       {}};
    for (const auto& s : r.steps()) {
      if (!s.group().empty()) {
        c.steps.push_back({matcher_.GroupByPattern(s.group()), false,
                           proto::ROLE_UNSPECIFIED});
      } else {
        c.steps.push_back({kUnlistedGroup, true, s.role()});
      }
    }
    path_rules_.push_back(std::move(c));
  }
  for (const auto& w : p.model().weights()) {
    weights_[*ParseFeature(w.feature())] = w.weight();
  }
  if (p.model().has_exploration()) {
    const auto& x = p.model().exploration();
    explore_share_ = x.share();
    explore_floor_ = x.floor();
    explore_k0_ = SipHash24(0x6578706c6f726530ULL, 3, x.salt());
    explore_k1_ = SipHash24(0x6578706c6f726531ULL, 4, x.salt());
  }
  if (p.model().has_uplift()) {
    const auto& u = p.model().uplift();
    has_uplift_ = true;
    uplift_bias_ = u.bias();
    min_uplift_ = u.min_uplift();
    uplift_by_value_ = u.by_value();
    mean_order_value_ = u.mean_order_value();
    for (const auto& w : u.weights()) {
      uplift_weights_[*ParseFeature(w.feature())] = w.weight();
    }
  }
  const auto& g = p.gates();
  gates_.decline_forever = g.decline_forever();
  gates_.decline_cooldown_s = g.decline_cooldown_s();
  gates_.decline_cooldown_ms = g.decline_cooldown_s() * 1000;
  gates_.ignored_cap = g.ignored_cap();
  gates_.ignored_cooldown_ms = g.ignored_cooldown_s() * 1000;
  gates_.max_offers_per_session = g.max_offers_per_session();
  gates_.min_gap_ms = g.min_gap_s() * 1000;
  gates_.holdout_fraction = g.holdout_fraction();
  gates_.rate_window_s = g.rate_window_s();
  gates_.expected_accept_rate = g.expected_accept_rate();
  gates_.plenty_agents = g.plenty_agents();
  gates_.max_offer_share = g.max_offer_share();
  gates_.threshold_at_one_agent = g.threshold_at_one_agent();
  base_logit_ = std::log(base_threshold_ / (1.0 - base_threshold_));

  const std::string& salt = g.holdout_salt();
  holdout_k0_ = SipHash24(0x686f6c646f757430ULL, 1, salt);
  holdout_k1_ = SipHash24(0x686f6c646f757431ULL, 2, salt);
  // Group patterns and path-rule names, in order.
  std::string layout = "beckon layout 1";
  for (const GroupInfo& gi : groups_) {
    absl::StrAppend(&layout, "\x1f", gi.pattern);
  }
  for (const CompiledPathRule& r : path_rules_) {
    absl::StrAppend(&layout, "\x1e", r.name);
  }
  layout_ = LayoutFingerprint(layout);
  layout_text_ = std::move(layout);
}

double CompiledPolicy::ThresholdFor(int64_t free_agents) const {
  const CompiledGates& g = gates_;
  if (free_agents < 1 || free_agents >= g.plenty_agents ||
      g.plenty_agents <= 1) {
    return base_threshold_;
  }
  // Linear from threshold_at_one_agent (1 agent) to base (plenty_agents).
  const double scarcity = static_cast<double>(g.plenty_agents - free_agents) /
                          static_cast<double>(g.plenty_agents - 1);
  return base_threshold_ +
         (g.threshold_at_one_agent - base_threshold_) * scarcity;
}

double CompiledPolicy::LogitOf(double threshold) const {
  if (threshold == base_threshold_) return base_logit_;
  return std::log(threshold / (1.0 - threshold));
}

double CompiledPolicy::ExploreDraw(std::string_view visitor,
                                   int64_t now_ms) const {
  // The time first (8 bytes, little-endian), then the id: one hash.
  char buf[8 + 128];
  const size_t n = std::min(visitor.size(), sizeof buf - 8);
  for (int i = 0; i < 8; ++i) {
    buf[i] =
        static_cast<char>((static_cast<uint64_t>(now_ms) >> (8 * i)) & 0xff);
  }
  std::memcpy(buf + 8, visitor.data(), n);
  const uint64_t h =
      SipHash24(explore_k0_, explore_k1_, std::string_view(buf, 8 + n));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

double CompiledPolicy::Uplift(const double* x) const {
  double z = uplift_bias_;
  for (int i = 0; i < kFeatureCount; ++i) z += uplift_weights_[i] * x[i];
  return 2.0 / (1.0 + std::exp(-z)) - 1.0;
}

bool CompiledPolicy::InHoldout(std::string_view id) const {
  const double f = gates_.holdout_fraction;
  if (f <= 0) return false;
  const uint64_t h = SipHash24(holdout_k0_, holdout_k1_, id);
  return static_cast<double>(h >> 11) * 0x1.0p-53 < f;
}

}  // namespace beckon::internal
