#include "file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
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
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

namespace {

// Opens `path` for reading if it is a regular file; fills `st`.
absl::StatusOr<int> OpenRegular(const std::string& path, struct stat& st) {
  // Checked before opening, so that a device is never opened at all; then
  // again on the descriptor, which is what is read.
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
  return fd.Release();
}

}  // namespace

absl::StatusOr<FileReader> FileReader::Open(const std::string& path) {
  struct stat st;
  absl::StatusOr<int> fd = OpenRegular(path, st);
  if (!fd.ok()) return fd.status();
  return FileReader(*fd, path);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<size_t> FileReader::Read(char* out, size_t n) {
  while (true) {
    const ssize_t got = ::read(fd_, out, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    return absl::DataLossError(
        absl::StrCat("cannot read ", path_, ": ", ErrnoText(errno)));
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     uint64_t max_bytes) {
  struct stat st;
  absl::StatusOr<int> opened = OpenRegular(path, st);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
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

namespace {

constexpr size_t kInfixSize = sizeof(kTemporaryInfix) - 1;
constexpr char kNameAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr size_t kAlphabetSize = sizeof(kNameAlphabet) - 1;

// kTemporaryRandomChars characters of kNameAlphabet from the OS's random
// source. O_EXCL keeps the write safe whatever the name; an unguessable one
// just keeps anyone from occupying it in advance.
std::string RandomName() {
  unsigned char bytes[kTemporaryRandomChars];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n =
        ::getrandom(bytes + got, sizeof(bytes) - got, GRND_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < sizeof(bytes)) {
    // No getrandom (an old kernel, a seccomp filter, an entropy pool not yet
    // ready at boot): a name from the clock, pid and a counter instead,
    // harder to guess, and O_EXCL keeps the write safe.
    static std::atomic<uint64_t> counter{0};
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = static_cast<uint64_t>(ts.tv_nsec) ^
                 (static_cast<uint64_t>(ts.tv_sec) << 20) ^
                 (static_cast<uint64_t>(::getpid()) << 40) ^
                 (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
    for (unsigned char& b : bytes) {
      x ^= x >> 31;
      x *= 0xbf58476d1ce4e5b9ULL;
      x ^= x >> 29;
      b = static_cast<unsigned char>(x);
    }
  }
  std::string name(kTemporaryRandomChars, 'a');
  for (size_t i = 0; i < kTemporaryRandomChars; ++i) {
    name[i] = kNameAlphabet[bytes[i] % kAlphabetSize];
  }
  return name;
}

// "<name>.tmp-beckon-<random>" (any <name>): a temporary of this code.
bool IsTemporaryName(std::string_view entry) {
  const size_t tail = kInfixSize + kTemporaryRandomChars;
  if (entry.size() <= tail) return false;
  const std::string_view infix = entry.substr(entry.size() - tail, kInfixSize);
  if (infix != kTemporaryInfix) return false;
  for (char c : entry.substr(entry.size() - kTemporaryRandomChars)) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c)) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// "<target>.tmp.<pid>.<n>": what earlier versions named their temporaries.
bool IsLegacyTemporaryName(std::string_view entry, std::string_view target) {
  if (entry.substr(0, target.size()) != target) return false;
  entry.remove_prefix(target.size());
  constexpr std::string_view kTmp = ".tmp.";
  if (entry.substr(0, kTmp.size()) != kTmp) return false;
  entry.remove_prefix(kTmp.size());
  const size_t dot = entry.find('.');
  return dot != std::string_view::npos && AllDigits(entry.substr(0, dot)) &&
         AllDigits(entry.substr(dot + 1));
}

// Removes temporaries of interrupted saves from the directory `dir_fd`: a
// regular file with a temporary's name, last modified at least
// kStaleTemporaryAgeSeconds ago, that no writer holds locked. Best effort:
// errors only mean that a file stays.
void RemoveStaleTemporaries(int dir_fd, std::string_view target) {
  const int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list_fd < 0) return;
  DIR* dir = ::fdopendir(list_fd);
  if (dir == nullptr) {
    ::close(list_fd);
    return;
  }
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  std::vector<std::string> candidates;
  size_t scanned = 0;
  while (scanned < kStaleScanEntries &&
         candidates.size() < kStaleRemovedPerWrite) {
    errno = 0;
    const struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    ++scanned;
    const std::string_view name = entry->d_name;
    if (!IsTemporaryName(name) && !IsLegacyTemporaryName(name, target)) {
      continue;
    }
    struct stat st;
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) ||
        now.tv_sec - st.st_mtim.tv_sec < kStaleTemporaryAgeSeconds) {
      continue;
    }
    candidates.emplace_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : candidates) {
    // Opened (never following a symlink, never blocking) to take its lock:
    // a writer holds one on its temporary until it is renamed, so a save
    // still in progress after a long stall is left alone. A crashed
    // writer's lock went with its process.
    Fd fd(::openat(dir_fd, name.c_str(),
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        now.tv_sec - st.st_mtim.tv_sec < kStaleTemporaryAgeSeconds) {
      continue;
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
      continue;
    }
    ::unlinkat(dir_fd, name.c_str(), 0);
  }
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view data,
                                 const WriteOptions& options) {
  return WriteFileAtomicallyStreamed(
      path, [data](const ChunkWriter& write) { return write(data); }, options);
}

absl::Status WriteFileAtomicallyStreamed(
    const std::string& path,
    const std::function<absl::Status(const ChunkWriter&)>& produce,
    const WriteOptions& options) {
  const WriteHooks no_hooks;
  const WriteHooks& hooks = options.hooks ? *options.hooks : no_hooks;
  auto write_fn = [&](int fd, const char* p, size_t n) {
    return hooks.write ? hooks.write(fd, p, n) : ::write(fd, p, n);
  };
  auto fsync_fn = [&](int fd) {
    return hooks.fsync ? hooks.fsync(fd) : ::fsync(fd);
  };

  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write \"", path, "\": not a file name"));
  }

  // Everything below happens in this directory, even if its path is
  // renamed meanwhile: the temporary, the rename and the directory's fsync.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": cannot open its directory ", dir,
                     ": ", ErrnoText(errno)));
  }
  RemoveStaleTemporaries(dir_fd.get(), name);

  // The temporary: "<name>.tmp-beckon-<random>", <name> shortened to fit.
  const size_t tail = kInfixSize + kTemporaryRandomChars;
  const std::string stem = name.substr(0, NAME_MAX - tail);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = absl::StrCat(stem, kTemporaryInfix,
                       hooks.random_name ? hooks.random_name() : RandomName());
    fd = ::openat(dir_fd.get(), tmp.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  options.mode);
    if (fd < 0 && errno != EEXIST) break;  // EEXIST: taken; another name.
  }
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": cannot create a temporary in ",
                     dir, ": ", ErrnoText(errno)));
  }
  Fd file(fd);
  // Marks the save as in progress for RemoveStaleTemporaries in other
  // processes; held until the temporary is renamed. Unsupported (ENOLCK on
  // some network file systems): the age rule alone applies.
  ::flock(file.get(), LOCK_EX | LOCK_NB);

  auto fail = [&](absl::StatusCode code, const char* what, int err) {
    file.Close();
    ::unlinkat(dir_fd.get(), tmp.c_str(), 0);
    return absl::Status(
        code, absl::StrCat("cannot write ", path, ": ", what, ErrnoText(err)));
  };
  int write_errno = 0;  // Set when a write fails.
  const ChunkWriter write_all = [&](std::string_view data) -> absl::Status {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = write_fn(file.get(), p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        write_errno = n < 0 ? errno : EIO;
        return absl::DataLossError(ErrnoText(write_errno));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  };
  if (absl::Status s = produce(write_all); !s.ok()) {
    if (write_errno != 0) {
      return fail(absl::StatusCode::kDataLoss, "", write_errno);
    }
    file.Close();
    ::unlinkat(dir_fd.get(), tmp.c_str(), 0);
    return s;
  }
  if (fsync_fn(file.get()) != 0) {
    return fail(absl::StatusCode::kDataLoss, "cannot sync it: ", errno);
  }
  if (::renameat(dir_fd.get(), tmp.c_str(), dir_fd.get(), name.c_str()) != 0) {
    return fail(absl::StatusCode::kPermissionDenied,
                "cannot rename the temporary over it: ", errno);
  }
  // The data was synced, so close has nothing left to report.
  file.Close();
  // The rename itself is durable only once the directory is synced.
  if (fsync_fn(dir_fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return absl::DataLossError(absl::StrCat(
        "cannot write ", path, ": it was replaced, but its directory ", dir,
        " cannot be synced, so the new file might not survive a crash: ",
        ErrnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace beckon::internal
