// Whole-file reads and atomic writes, with errors that name the path.
#ifndef BECKON_LIB_FILE_UTIL_H_
#define BECKON_LIB_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beckon::internal {

// ReadFile's default size limit: 2 GiB, protobuf's limit for one message and
// so the largest snapshot or policy the library can write today. (A lower
// default would make RestoreFromFile reject snapshots SnapshotToFile saved.)
inline constexpr uint64_t kDefaultMaxFileBytes = uint64_t{2} << 30;

// Reads the whole regular file at `path` (symlinks are followed), at most
// `max_bytes` of it. Never blocks and never reads endlessly: the path is
// checked and opened with O_NONBLOCK, and anything but a regular file (a
// directory, FIFO, device or socket) is rejected before a byte is read.
// Errors name the path:
//   NOT_FOUND           it cannot be opened (with the errno text);
//   INVALID_ARGUMENT    it is not a regular file ("it is a directory", ...);
//   RESOURCE_EXHAUSTED  it is larger than `max_bytes`, or grows past it while
//                       being read;
//   DATA_LOSS           a read fails.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     uint64_t max_bytes = kDefaultMaxFileBytes);

// Writes `data` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the new one, never a partial one.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view data);

}  // namespace beckon::internal

#endif  // BECKON_LIB_FILE_UTIL_H_
