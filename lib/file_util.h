// Whole-file reads and atomic writes, with errors that name the path.
#ifndef BECKON_LIB_FILE_UTIL_H_
#define BECKON_LIB_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beckon::internal {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the new one, never a partial one.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view data);

}  // namespace beckon::internal

#endif  // BECKON_LIB_FILE_UTIL_H_
