#include "engine/explain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "string_views.h"

namespace beckon {
namespace internal {
namespace {

// "48 s", "12 min", "5 h", "3 d".
std::string Duration(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 120) return absl::StrCat(s, " s");
  if (s < 2 * 3600) return absl::StrCat(s / 60, " min");
  if (s < 2 * 86400) return absl::StrCat(s / 3600, " h");
  return absl::StrCat(s / 86400, " d");
}

// "1 page", "2 pages".
std::string Count(uint64_t n, std::string_view one, std::string_view many) {
  return absl::StrCat(n, " ", AbslView(n == 1 ? one : many));
}

// A contribution too small to be worth words.
constexpr double kWorthWords = 0.05;

// The uplift stage's text, whether the uplift (or, by value, the added
// revenue) is `verb` ("below" or "reached") its floor; the probability
// reached its threshold either way.
std::string UpliftReason(const Decision& d, std::string_view verb) {
  const DecisionDetail& x = d.detail;
  if (x.order_value > 0) {
    return absl::StrFormat(
        "expected added revenue %.2f %s %.2f (purchase uplift %+.3f of an "
        "order worth %.2f; probability %.2f reached threshold %.2f)",
        x.uplift_score, verb, x.min_uplift, x.uplift, x.order_value,
        d.probability, d.threshold);
  }
  return absl::StrFormat(
      "expected purchase uplift %+.3f %s %+.3f (probability %.2f reached "
      "threshold %.2f)",
      x.uplift, verb, x.min_uplift, d.probability, d.threshold);
}

}  // namespace

Explainer::Explainer(const CompiledPolicy& p, std::string name,
                     std::string version)
    : gates_(p.gates()), name_(std::move(name)), version_(std::move(version)) {
  for (const GroupInfo& g : p.groups()) {
    patterns_.push_back(g.pattern);
    help_rates_.push_back(g.help_rate);
  }
  for (const CompiledPathRule& r : p.path_rules()) {
    path_names_.push_back(r.name);
  }
  for (int i = 0; i < kFeatureCount; ++i) weights_[i] = p.weight(i);
}

std::string Explainer::Page(uint16_t group) const {
  const size_t g = group == kUnlistedGroup ? patterns_.size() - 1 : group;
  return patterns_[g].empty() ? std::string("an unlisted page")
                              : patterns_[g];
}

int Explainer::TopFeatures(const DecisionDetail& d, int out[3]) const {
  int order[kFeatureCount];
  double c[kFeatureCount];
  for (int i = 0; i < kFeatureCount; ++i) {
    order[i] = i;
    c[i] = weights_[i] * d.features[i];
  }
  // Insertion sort: stable, in place, for eleven numbers.
  for (int i = 1; i < kFeatureCount; ++i) {
    const int f = order[i];
    int j = i;
    for (; j > 0 && c[f] > c[order[j - 1]]; --j) order[j] = order[j - 1];
    order[j] = f;
  }
  int n = 0;
  for (int k = 0; k < 3; ++k) {
    if (c[order[k]] < kWorthWords) break;
    out[n++] = order[k];
  }
  return n;
}

size_t Explainer::ReasonCount(const Decision& d) const {
  if (!d.detail.has_session || d.action == Action::kSuppress) return 1;
  int top[3];
  return 1 + static_cast<size_t>(TopFeatures(d.detail, top));
}

std::string Explainer::MainReason(const Decision& d,
                                  std::string_view note) const {
  const DecisionDetail& x = d.detail;
  const CompiledGates& g = gates_;
  switch (d.reason) {
    case Reason::kNoSession:
      return "no live session for this visitor";
    case Reason::kStoreUnavailable:
      return absl::StrCat("visitor store unavailable: ", AbslView(note));
    case Reason::kDeclined:
      if (g.decline_forever) {
        return "declined an offer before (never re-offered)";
      }
      return absl::StrCat("declined an offer ", Duration(x.since_ms),
                          " ago (cooldown ",
                          Duration(g.decline_cooldown_s * 1000), ")");
    case Reason::kIgnored:
      return absl::StrCat("left ", Count(x.ignored, "offer", "offers"),
                          " unanswered, the last ", Duration(x.since_ms),
                          " ago (cap ", g.ignored_cap, ", cooldown ",
                          Duration(g.ignored_cooldown_ms), ")");
    case Reason::kEngaged:
      return "in a conversation or asked for help this session";
    case Reason::kSessionCap:
      return absl::StrCat(Count(x.offers, "offer", "offers"),
                          " this session (cap ", g.max_offers_per_session,
                          ")");
    case Reason::kMinGap:
      return absl::StrCat("last offer ", Duration(x.since_ms),
                          " ago (minimum gap ", Duration(g.min_gap_ms), ")");
    case Reason::kDwell:
      return absl::StrFormat("dwell %.0f s, below the page's threshold %.0f s",
                             x.dwell_s, x.dwell_threshold_s);
    case Reason::kBelowThreshold:
      if (x.has_uplift) return UpliftReason(d, "below");
      return absl::StrFormat("probability %.2f below threshold %.2f",
                             d.probability, d.threshold);
    case Reason::kHoldout:
      return absl::StrFormat(
          "in the holdout group (%.0f%% of visitors); would have offered",
          100.0 * g.holdout_fraction);
    case Reason::kNoAgents:
      return "no free agent";
    case Reason::kRateCap:
      return absl::StrCat(x.in_window, " offers in the last ", g.rate_window_s,
                          " s; ", x.free_agents, " free agents answer about ",
                          x.rate_cap);
    case Reason::kOfferRateCap:
      return absl::StrFormat(
          "%d offers in the last %d s reach the cap %d (%.1f%% of %d sessions "
          "started)",
          x.in_window, g.rate_window_s, x.rate_cap,
          100.0 * g.max_offer_share, x.sessions_in_window);
    case Reason::kScore:
      if (x.explored) {
        return absl::StrFormat(
            "exploring: probability %.2f below threshold %.2f, offered at "
            "random (chance %.0f%%)",
            d.probability, d.threshold,
            100.0 * d.offer_probability / (1 - g.holdout_fraction));
      }
      if (x.has_uplift) return UpliftReason(d, "reached");
      return absl::StrFormat("probability %.2f reached threshold %.2f",
                             d.probability, d.threshold);
  }
  return std::string(ReasonName(d.reason));
}

std::string Explainer::FeatureReason(const DecisionDetail& x,
                                     int feature) const {
  switch (feature) {
    case kDwellRatio:
      return absl::StrFormat("dwell %.0f s on %s (threshold %.0f s)",
                             x.dwell_s, Page(x.group), x.dwell_threshold_s);
    case kHelpHits:
      return Count(x.help_hits, "help-page view", "help-page views");
    case kSearches:
      return Count(x.searches, "site search", "site searches");
    case kZeroResultSearches:
      return Count(x.zero_result_searches, "search with no results",
                   "searches with no results");
    case kLoops:
      return absl::StrCat("returned to recently seen pages ", x.loops,
                          " times");
    case kBackAndForth:
      return absl::StrCat("went back and forth ", x.back_and_forth, " times");
    case kPath:
      return absl::StrCat("path: ", path_names_[x.path_rule - 1]);
    case kCheckoutStallMin:
      return absl::StrFormat("%.0f min in checkout without progress",
                             x.features[kCheckoutStallMin]);
    case kPagesViewed:
      return Count(x.pages_viewed, "page viewed", "pages viewed");
    case kCartValue:
      return absl::StrFormat("cart worth %.2f", x.cart_value);
    case kGroupHelpRate: {
      const size_t g =
          x.group == kUnlistedGroup ? help_rates_.size() - 1 : x.group;
      return absl::StrFormat("%s leads to help requests in %.0f%% of views",
                             Page(x.group), 100.0 * help_rates_[g]);
    }
    case kDwellHelpRate: {
      const size_t g =
          x.group == kUnlistedGroup ? help_rates_.size() - 1 : x.group;
      return absl::StrFormat(
          "dwell %.0f s on %s (threshold %.0f s), where %.0f%% of views lead "
          "to help requests",
          x.dwell_s, Page(x.group), x.dwell_threshold_s,
          100.0 * help_rates_[g]);
    }
  }
  return std::string(FeatureName(feature));
}

std::vector<std::string> Explainer::Reasons(const Decision& d,
                                            std::string_view note) const {
  std::vector<std::string> out;
  out.reserve(ReasonCount(d));
  out.push_back(MainReason(d, note));
  if (!d.detail.has_session || d.action == Action::kSuppress) return out;
  int top[3];
  const int n = TopFeatures(d.detail, top);
  for (int k = 0; k < n; ++k) out.push_back(FeatureReason(d.detail, top[k]));
  return out;
}

std::vector<Contribution> Explainer::Contributions(const Decision& d) const {
  std::vector<Contribution> out;
  if (!d.detail.has_session) return out;
  out.reserve(kFeatureCount);
  for (int i = 0; i < kFeatureCount; ++i) {
    out.push_back(Contribution{std::string(FeatureName(i)), d.detail.features[i],
                               weights_[i] * d.detail.features[i]});
  }
  return out;
}

}  // namespace internal

std::vector<std::string> Decision::reasons() const {
  if (explainer_ == nullptr) return {};
  return explainer_->Reasons(*this, note_);
}

size_t Decision::reason_count() const {
  if (explainer_ == nullptr) return 0;
  return explainer_->ReasonCount(*this);
}

std::vector<Contribution> Decision::contributions() const {
  if (explainer_ == nullptr) return {};
  return explainer_->Contributions(*this);
}

std::string_view Decision::policy_name() const {
  return explainer_ == nullptr ? std::string_view()
                               : std::string_view(explainer_->policy_name());
}

std::string_view Decision::policy_version() const {
  return explainer_ == nullptr ? std::string_view()
                               : std::string_view(explainer_->policy_version());
}

}  // namespace beckon
