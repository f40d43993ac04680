#include "beckon/decision.h"

#include <array>

#include "beckon/beckon.hpp"

namespace beckon {
namespace {
constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "offer", "wait", "suppress"};
constexpr std::array<std::string_view, kReasonCount> kReasonNames = {
    "score",    "no_session", "dwell",       "below_threshold",
    "declined", "ignored",    "engaged",     "session_cap",
    "min_gap",  "holdout",    "no_agents",   "rate_cap",
    "store_unavailable", "offer_rate_cap"};
}  // namespace

std::string_view ActionName(Action action) {
  const auto i = static_cast<size_t>(action);
  return i < kActionNames.size() ? kActionNames[i] : std::string_view("?");
}

std::string_view ReasonName(Reason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kReasonNames.size() ? kReasonNames[i] : std::string_view("?");
}

const char* Version() { return BECKON_VERSION_STRING; }

}  // namespace beckon
