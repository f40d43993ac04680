#include "file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace beckon::internal {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// What a non-regular file is, for the error message.
const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

absl::Status NotRegular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) {  // Worded as before (docs/policy-format.md).
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": it is a directory"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot read ", path, ": it is ", KindOf(mode), ", not a regular file"));
}

// Closes `fd` on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     uint64_t max_bytes) {
  // Checked before opening, so that a device is never opened at all; then
  // again on the descriptor, which is what is read.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode);
  // O_NONBLOCK: should a FIFO be swapped in after the stat, open returns
  // at once instead of waiting for a writer.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", ErrnoText(errno)));
  }
  if (::fstat(fd.get(), &st) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot read ", path, ": ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode);
  const uint64_t limit =
      std::min<uint64_t>(max_bytes, std::numeric_limits<size_t>::max() - 1);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot read ", path, ": it is ", size,
                     " bytes, more than the limit of ", limit, " bytes"));
  }
  // One byte more than fstat says, so that the end is usually found by the
  // first read; files may hold more than st_size says (/proc) or grow.
  std::string out(static_cast<size_t>(size) + 1, '\0');
  size_t got = 0;
  while (true) {
    if (got == out.size()) {
      if (got > limit) break;
      out.resize(static_cast<size_t>(std::min<uint64_t>(
          limit + 1, std::max<uint64_t>(uint64_t{4096}, 2 * uint64_t{got}))));
    }
    const ssize_t n = ::read(fd.get(), &out[got], out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::DataLossError(
          absl::StrCat("cannot read ", path, ": ", ErrnoText(errno)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot read ", path, ": it grew past the limit of ",
                     limit, " bytes while being read"));
  }
  out.resize(got);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view data) {
  // A unique temporary name, so concurrent writers of one path never share
  // it; fsync before the rename, so a crash leaves the old file or the new.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".",
                                       counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::DataLossError(
          absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::DataLossError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot replace ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace beckon::internal
