#include "model_features.h"

#include <array>

namespace beckon::internal {
namespace {
constexpr std::array<std::string_view, kFeatureCount> kNames = {
    "dwell_ratio",
    "help_hits",
    "searches",
    "zero_result_searches",
    "loops",
    "back_and_forth",
    "path",
    "checkout_stall_min",
    "pages_viewed",
    "cart_value",
    "group_help_rate",
    "dwell_x_help_rate"};
}  // namespace

std::string_view FeatureName(int feature) {
  return feature >= 0 && feature < kFeatureCount ? kNames[feature]
                                                 : std::string_view("?");
}

std::optional<int> ParseFeature(std::string_view name) {
  for (int i = 0; i < kFeatureCount; ++i) {
    if (kNames[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace beckon::internal
