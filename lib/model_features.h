// The session features the model scores, in a fixed order.
#ifndef BECKON_LIB_MODEL_FEATURES_H_
#define BECKON_LIB_MODEL_FEATURES_H_

#include <optional>
#include <string_view>

namespace beckon::internal {

enum Feature : int {
  kDwellRatio = 0,          // Dwell / the group's dwell threshold, <= 4.
  kHelpHits = 1,            // Help-page views this session, <= 10.
  kSearches = 2,            // Site searches, <= 10.
  kZeroResultSearches = 3,  // Searches with no results, <= 10.
  kLoops = 4,               // Returns to a page among the last few, <= 10.
  kBackAndForth = 5,        // A -> B -> A moves, <= 10.
  kPath = 6,                // Strength of the best matching path rule.
  kCheckoutStallMin = 7,    // Minutes in checkout without progress, <= 30.
  kPagesViewed = 8,         // log(1 + pages viewed).
  kCartValue = 9,           // log(1 + cart value).
  kGroupHelpRate = 10,      // The current page group's help rate.
  kDwellHelpRate = 11,      // kDwellRatio x kGroupHelpRate: dwell counts
                            // for more on pages that lead to help.
  kFeatureCount = 12,
};

// Caps: features saturate here so one runaway signal cannot dominate.
inline constexpr double kMaxDwellRatio = 4.0;
inline constexpr double kMaxCount = 10.0;
inline constexpr double kMaxStallMin = 30.0;

std::string_view FeatureName(int feature);
std::optional<int> ParseFeature(std::string_view name);

}  // namespace beckon::internal

#endif  // BECKON_LIB_MODEL_FEATURES_H_
