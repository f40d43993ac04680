// Whole-file reads and atomic writes, with errors that name the path.
#ifndef BECKON_LIB_FILE_UTIL_H_
#define BECKON_LIB_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
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

// System calls WriteFileAtomically makes, replaceable by tests (to inject
// failures, short writes or EINTR, or to pick the temporary's name). Unset
// members are the real calls.
struct WriteHooks {
  std::function<ssize_t(int fd, const void* data, size_t size)> write;
  std::function<int(int fd)> fsync;  // Of the temporary, then the directory.
  // Returns the random part of the temporary's name:
  // kTemporaryRandomChars characters of [a-z0-9].
  std::function<std::string()> random_name;
};

struct WriteOptions {
  // Permissions of the new file, as given to open(2): the process umask
  // still applies. 0600 by default, since snapshots and policies are the
  // shop's business; the file replacing an existing one does not inherit
  // its mode.
  mode_t mode = 0600;
  const WriteHooks* hooks = nullptr;  // Tests only.
};

// Temporaries are named "<name>.tmp-beckon-" and 12 random characters of
// [a-z0-9], in the target's directory (<name> shortened if the whole would
// exceed NAME_MAX).
inline constexpr char kTemporaryInfix[] = ".tmp-beckon-";
inline constexpr size_t kTemporaryRandomChars = 12;
// A temporary whose mtime is this old, and which no writer holds (flock), is
// left over from an interrupted save: the next write into its directory
// removes it, examining at most kStaleScanEntries directory entries and
// removing at most kStaleRemovedPerWrite files. Also removed, under the same
// rules: "<name>.tmp.<pid>.<n>", the temporaries earlier versions made, for the
// file being written.
inline constexpr int64_t kStaleTemporaryAgeSeconds = 60;
inline constexpr size_t kStaleScanEntries = 10000;
inline constexpr size_t kStaleRemovedPerWrite = 100;

// Writes `data` to `path` atomically and durably: readers see the old file
// or the new one, never a partial one, and after an OK a crash keeps the
// new one. Steps: remove stale temporaries (above); create a temporary in
// the target's directory with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and
// `options.mode` (a planted file or symlink at its name is never opened: a
// fresh random name is tried instead); write all of `data` (short writes and
// EINTR are retried); fsync it; rename it over `path`; fsync the directory.
// A symlink at `path` is replaced, not followed. On any failure before the
// rename the temporary is removed and the old file is untouched. Errors name
// `path` and the errno text:
//   INVALID_ARGUMENT   `path` has no file name ("", "dir/");
//   PERMISSION_DENIED  the directory cannot be opened, the temporary cannot
//                      be created, or the rename fails;
//   DATA_LOSS          a write or the file's fsync fails; or the fsync of the
//                      directory fails after the rename (the new file is in
//                      place but might not survive a crash). A file system
//                      that cannot sync directories (EINVAL) is not an error.
absl::Status WriteFileAtomically(const std::string& path, std::string_view data,
                                 const WriteOptions& options = {});

// As above, for data produced piece by piece: `produce` is called once with
// a writer that appends to the temporary; an error it returns (its own or
// the writer's) fails the save as above, leaving the old file untouched.
using ChunkWriter = std::function<absl::Status(std::string_view)>;
absl::Status WriteFileAtomicallyStreamed(
    const std::string& path,
    const std::function<absl::Status(const ChunkWriter&)>& produce,
    const WriteOptions& options = {});

// A regular file open for reading in pieces, with ReadFile's checks (never a
// directory, FIFO, device or socket; never blocks on open).
class FileReader {
 public:
  // Errors as ReadFile's.
  static absl::StatusOr<FileReader> Open(const std::string& path);
  FileReader(FileReader&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) {
    o.fd_ = -1;
  }
  FileReader& operator=(FileReader&&) = delete;
  ~FileReader();
  // Up to `n` bytes; 0 at the end. DATA_LOSS naming the path if a read fails.
  absl::StatusOr<size_t> Read(char* out, size_t n);

 private:
  FileReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_FILE_UTIL_H_
