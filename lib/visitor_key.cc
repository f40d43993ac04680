#include "visitor_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "file_util.h"
#include "string_views.h"

namespace beckon::internal {

VisitorKey RandomVisitorKey() {
  VisitorKey key = {0, 0};
  while (key[0] == 0 && key[1] == 0) {
    char* p = reinterpret_cast<char*>(key.data());
    size_t got = 0;
    while (got < sizeof(key)) {
      const ssize_t n = ::getrandom(p + got, sizeof(key) - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (errno != EINTR) {
        // No getrandom (very old kernel): /dev/urandom.
        const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0) std::abort();  // No source of randomness at all.
        while (got < sizeof(key)) {
          const ssize_t m = ::read(fd, p + got, sizeof(key) - got);
          if (m <= 0 && errno != EINTR) std::abort();
          if (m > 0) got += static_cast<size_t>(m);
        }
        ::close(fd);
      }
    }
  }
  return key;
}

VisitorKey ProcessVisitorKey() {
  // Drawn again in a forked child (a new pid): each process has its own.
  static std::mutex mu;
  static VisitorKey key = {0, 0};
  static pid_t owner = -1;
  std::lock_guard<std::mutex> lock(mu);
  if (owner != ::getpid()) {
    key = RandomVisitorKey();
    owner = ::getpid();
  }
  return key;
}

std::string FormatVisitorKey(const VisitorKey& key) {
  return absl::StrFormat("%016x%016x\n", key[0], key[1]);
}

absl::StatusOr<VisitorKey> ParseVisitorKey(std::string_view text,
                                           std::string_view where) {
  const std::string_view t = StdView(absl::StripTrailingAsciiWhitespace(
      AbslView(text)));
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        AbslView(where),
        " does not hold a visitor key (32 hexadecimal digits)"));
  };
  if (t.size() != 32) return bad();
  VisitorKey key = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const char c = t[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return bad();
    }
    key[i / 16] = (key[i / 16] << 4) | static_cast<uint64_t>(v);
  }
  if (key[0] == 0 && key[1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(where), " holds the all-zero key"));
  }
  return key;
}

namespace {

absl::StatusOr<VisitorKey> ReadKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      (st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "visitor key file %s may be read or written by other users (mode "
        "%04o): chmod 600 it",
        path, st.st_mode & 07777));
  }
  absl::StatusOr<std::string> text = ReadFile(path, 4096);
  if (!text.ok()) return text.status();
  return ParseVisitorKey(*text, absl::StrCat("visitor key file ", path));
}

}  // namespace

absl::StatusOr<VisitorKey> LoadOrCreateKeyFile(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("visitor key file: empty path");
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 || errno != ENOENT) {
    return ReadKeyFile(path);
  }
  // Written whole to a private temporary, then linked into place: link
  // fails if another process got there first, and then its key is read.
  const std::string tmp =
      absl::StrCat(path, ".tmp-beckon-key-", ::getpid(), "-",
                   absl::StrFormat("%016x", RandomVisitorKey()[0]));
  const int fd = ::open(tmp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create visitor key file ", path, ": ",
                     std::strerror(errno)));
  }
  const std::string text = FormatVisitorKey(RandomVisitorKey());
  const bool written =
      ::write(fd, text.data(), text.size()) ==
          static_cast<ssize_t>(text.size()) &&
      ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(
        "cannot write visitor key file ", path, ": ",
        std::strerror(write_errno)));
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create visitor key file ", path, ": ",
        std::strerror(link_errno)));
  }
  return ReadKeyFile(path);
}

absl::StatusOr<VisitorKey> ResolveLocalVisitorKey(
    const Engine::Options& options) {
  const bool given = options.visitor_key[0] != 0 || options.visitor_key[1] != 0;
  if (given && !options.visitor_key_file.empty()) {
    return absl::InvalidArgumentError(
        "Engine::Options: give visitor_key or visitor_key_file, not both");
  }
  if (given) return options.visitor_key;
  if (!options.visitor_key_file.empty()) {
    return LoadOrCreateKeyFile(options.visitor_key_file);
  }
  return ProcessVisitorKey();
}

}  // namespace beckon::internal
