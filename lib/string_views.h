// Debian's Abseil keeps its own string_view type; beckon's API uses
// std::string_view. This converts at the boundary, for free.
#ifndef BECKON_LIB_STRING_VIEWS_H_
#define BECKON_LIB_STRING_VIEWS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace beckon::internal {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view StdView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace beckon::internal

#endif  // BECKON_LIB_STRING_VIEWS_H_
