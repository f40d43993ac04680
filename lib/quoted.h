// Quoting a piece of input inside an error message.
#ifndef BECKON_LIB_QUOTED_H_
#define BECKON_LIB_QUOTED_H_

#include <string>
#include <string_view>

namespace beckon::internal {

// Returns `s` in double quotes, cut to its first 40 bytes and "..." if it is
// longer, for error messages ("unknown event \"page_veiw\"").
inline std::string Quoted(std::string_view s) {
  constexpr size_t kShown = 40;
  std::string out = "\"";
  out.append(s.substr(0, kShown));
  if (s.size() > kShown) out.append("...");
  out.append("\"");
  return out;
}

}  // namespace beckon::internal

#endif  // BECKON_LIB_QUOTED_H_
