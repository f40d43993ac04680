// internal::ReadFile and internal::WriteFileAtomically: permissions, planted
// symlinks, failures that leave nothing behind, stale temporaries, fsync of
// the file and the directory, and reads that neither block nor run away.
// Tests run as root in CI, so no test relies on permission bits to fail.
#include "lib/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  ASSERT_TRUE(out) << "cannot write " << path;
}

// Names in `dir`, without "." and "..".
std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.insert(n);
  }
  ::closedir(d);
  return names;
}

int OpenFds() { return static_cast<int>(List("/proc/self/fd").size()); }

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

// Sets the mtime (and atime) of `path`, not following a symlink, to
// `seconds_ago` before now.
void Age(const std::string& path, int seconds_ago) {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  struct timespec times[2] = {now, now};
  times[0].tv_sec -= seconds_ago;
  times[1].tv_sec -= seconds_ago;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0)
      << path << ": " << std::strerror(errno);
}

WriteOptions WithMode(mode_t mode) {
  WriteOptions o;
  o.mode = mode;
  return o;
}

WriteOptions With(const WriteHooks& hooks) {
  WriteOptions o;
  o.hooks = &hooks;
  return o;
}

class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// A fresh, empty directory for one test.
class FileUtil : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "beckon_file_util_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

// --- Permissions -------------------------------------------------------------

TEST_F(FileUtil, NewFileIsMode0600WhateverTheUmask) {
  const std::string path = Path("state.snap");
  for (mode_t mask : {mode_t{022}, mode_t{0}, mode_t{002}}) {
    ScopedUmask umask(mask);
    ASSERT_TRUE(WriteFileAtomically(path, "data").ok());
    EXPECT_EQ(ModeOf(path) & 07777, 0600u) << "umask " << mask;
  }
}

TEST_F(FileUtil, ReplacingAWorldReadableFileDoesNotKeepItsMode) {
  const std::string path = Path("state.snap");
  WriteAll(path, "old");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ScopedUmask umask(022);
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(ModeOf(path) & 07777, 0600u);
  EXPECT_EQ(ReadAll(path), "new");
}

TEST_F(FileUtil, ModeOptionIsSubjectToTheUmask) {
  const std::string path = Path("policy.bin");
  {
    ScopedUmask umask(022);
    ASSERT_TRUE(WriteFileAtomically(path, "x", WithMode(0644)).ok());
    EXPECT_EQ(ModeOf(path) & 07777, 0644u);
  }
  {
    ScopedUmask umask(027);
    ASSERT_TRUE(WriteFileAtomically(path, "x", WithMode(0666)).ok());
    EXPECT_EQ(ModeOf(path) & 07777, 0640u);
  }
  {
    ScopedUmask umask(007);
    ASSERT_TRUE(WriteFileAtomically(path, "x", WithMode(0660)).ok());
    EXPECT_EQ(ModeOf(path) & 07777, 0660u);
  }
}

// --- Success leaves only the target ------------------------------------------

TEST_F(FileUtil, WritesAndReplacesLeavingOnlyTheTarget) {
  const std::string path = Path("state.snap");
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100000, 'x')).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "short").ok());
  EXPECT_EQ(ReadAll(path), "short");
  EXPECT_THAT(List(dir_), ElementsAre("state.snap"));
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadAll(path), "");
}

TEST_F(FileUtil, RelativePathWritesIntoTheCurrentDirectory) {
  char cwd[PATH_MAX];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  const absl::Status s = WriteFileAtomically("rel.snap", "here");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(Path("rel.snap")), "here");
  EXPECT_THAT(List(dir_), ElementsAre("rel.snap"));
}

TEST_F(FileUtil, LongestFileNameGetsAShortenedTemporary) {
  // A temporary named "<name>" plus a suffix would exceed NAME_MAX.
  const std::string name(NAME_MAX, 'n');
  const absl::Status s = WriteFileAtomically(Path(name), "long");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(Path(name)), "long");
  EXPECT_THAT(List(dir_), ElementsAre(name));
}

TEST_F(FileUtil, PathWithoutAFileNameIsInvalid) {
  for (const std::string& path : {std::string(), dir_ + "/"}) {
    const absl::Status s = WriteFileAtomically(path, "x");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << path;
  }
  EXPECT_TRUE(List(dir_).empty());
}

// --- Planted symlinks --------------------------------------------------------

TEST_F(FileUtil, SymlinksAtGuessableTemporaryNamesAreNotFollowed) {
  // The names a guessable scheme would use ("<path>.tmp.<pid>.<n>") all
  // point at a file the writer must never touch.
  const std::string victim = Path("victim");
  WriteAll(victim, "precious");
  const std::string path = Path("state.snap");
  for (int i = 0; i < 1000; ++i) {
    const std::string link = absl::StrCat(path, ".tmp.", ::getpid(), ".", i);
    ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  }
  const absl::Status s = WriteFileAtomically(path, "snapshot");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(victim), "precious");
  EXPECT_EQ(ReadAll(path), "snapshot");
  EXPECT_TRUE(S_ISREG(ModeOf(path)));
}

TEST_F(FileUtil, SymlinkPlantedAtTheTemporaryNameIsNeverOpened) {
  // The random part is fixed by the hook, so the attacker "guesses" right:
  // O_EXCL|O_NOFOLLOW refuses the name and the next one is used.
  const std::string victim = Path("victim");
  WriteAll(victim, "precious");
  const std::string path = Path("state.snap");
  const std::string planted =
      absl::StrCat(path, kTemporaryInfix, "aaaaaaaaaaaa");
  const std::string dangling =
      absl::StrCat(path, kTemporaryInfix, "bbbbbbbbbbbb");
  const std::string occupied =
      absl::StrCat(path, kTemporaryInfix, "cccccccccccc");
  ASSERT_EQ(::symlink(victim.c_str(), planted.c_str()), 0);
  ASSERT_EQ(::symlink(Path("nowhere").c_str(), dangling.c_str()), 0);
  WriteAll(occupied, "attacker's");  // A file the attacker can read later.
  std::vector<std::string> names = {"aaaaaaaaaaaa", "bbbbbbbbbbbb",
                                    "cccccccccccc", "dddddddddddd"};
  size_t calls = 0;
  WriteHooks hooks;
  hooks.random_name = [&] { return names.at(calls++); };
  const absl::Status s = WriteFileAtomically(path, "snapshot", With(hooks));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(ReadAll(victim), "precious");
  EXPECT_EQ(ReadAll(occupied), "attacker's");
  EXPECT_TRUE(S_ISLNK(ModeOf(planted)));
  EXPECT_TRUE(S_ISLNK(ModeOf(dangling)));
  EXPECT_EQ(ModeOf(Path("nowhere")), 0u);  // The dangling link made nothing.
  EXPECT_EQ(ReadAll(path), "snapshot");
  EXPECT_EQ(ModeOf(path) & 07777, 0600u);
}

TEST_F(FileUtil, SymlinkAtTheTargetIsReplacedNotFollowed) {
  const std::string victim = Path("victim");
  WriteAll(victim, "precious");
  ASSERT_EQ(::chmod(victim.c_str(), 0644), 0);
  const std::string path = Path("state.snap");
  ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);
  const absl::Status s = WriteFileAtomically(path, "snapshot");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(victim), "precious");
  EXPECT_EQ(ModeOf(victim) & 07777, 0644u);
  EXPECT_TRUE(S_ISREG(ModeOf(path)));
  EXPECT_EQ(ModeOf(path) & 07777, 0600u);
  EXPECT_EQ(ReadAll(path), "snapshot");
}

// --- Failures leave the old file and no temporary ----------------------------
// Each fails for root too: no reliance on permission bits.

TEST_F(FileUtil, ParentThatIsAFileFailsAndNamesPathAndErrno) {
  WriteAll(Path("plain"), "a file, not a directory");
  const std::string path = Path("plain/state.snap");
  const int fds = OpenFds();
  const absl::Status s = WriteFileAtomically(path, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(s), HasSubstr(path));
  EXPECT_THAT(Msg(s), HasSubstr(std::strerror(ENOTDIR)));
  EXPECT_THAT(Msg(s), Not(HasSubstr("state.snap.tmp")));  // Not a temporary.
  EXPECT_THAT(List(dir_), ElementsAre("plain"));
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(FileUtil, FailedRenameRemovesTheTemporary) {
  // The target is a non-empty directory: the temporary is written and
  // synced, and then the rename fails (EISDIR), for root as for anyone.
  const std::string path = Path("state.snap");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  WriteAll(path + "/inside", "kept");
  const int fds = OpenFds();
  const absl::Status s = WriteFileAtomically(path, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(s), HasSubstr(path));
  EXPECT_THAT(Msg(s), HasSubstr(std::strerror(EISDIR)));
  EXPECT_THAT(Msg(s), Not(HasSubstr("state.snap.tmp")));  // Not a temporary.
  EXPECT_THAT(List(dir_), ElementsAre("state.snap"));
  EXPECT_THAT(List(path), ElementsAre("inside"));
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(FileUtil, FileSizeLimitMidWriteRemovesTheTemporary) {
  // A real short write and then a failing one: RLIMIT_FSIZE binds root
  // too (EFBIG instead of the signal, which is ignored here).
  const std::string path = Path("state.snap");
  WriteAll(path, "old");
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore = {}, old_action;
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const int fds = OpenFds();
  const absl::Status s = WriteFileAtomically(path, std::string(1 << 20, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Msg(s), HasSubstr(path));
  EXPECT_THAT(Msg(s), HasSubstr(std::strerror(EFBIG)));
  EXPECT_THAT(Msg(s), Not(HasSubstr("state.snap.tmp")));  // Not a temporary.
  EXPECT_EQ(ReadAll(path), "old");
  EXPECT_THAT(List(dir_), ElementsAre("state.snap"));
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(FileUtil, InjectedWriteAndSyncFailuresRemoveTheTemporary) {
  const std::string path = Path("state.snap");
  WriteAll(path, "old");
  struct Case {
    const char* what;
    int err;
    bool fail_write;  // Else the file's fsync fails.
  };
  for (const Case& c :
       {Case{"disk full", ENOSPC, true}, Case{"I/O error", EIO, true},
        Case{"fsync", EIO, false}}) {
    SCOPED_TRACE(c.what);
    std::string tmp_seen;
    WriteHooks hooks;
    int writes = 0;
    hooks.write = [&](int fd, const void* p, size_t n) -> ssize_t {
      char link[PATH_MAX] = {};
      const std::string proc = absl::StrCat("/proc/self/fd/", fd);
      if (::readlink(proc.c_str(), link, sizeof(link) - 1) > 0) tmp_seen = link;
      if (c.fail_write && writes++ > 0) {  // One short write, then failure.
        errno = c.err;
        return -1;
      }
      return ::write(fd, p, std::min<size_t>(n, 10));
    };
    hooks.fsync = [&](int fd) {
      struct stat st;
      if (!c.fail_write && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        errno = c.err;
        return -1;
      }
      return ::fsync(fd);
    };
    const int fds = OpenFds();
    const absl::Status s =
        WriteFileAtomically(path, "new contents", With(hooks));
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Msg(s), HasSubstr(path));
    EXPECT_THAT(Msg(s), HasSubstr(std::strerror(c.err)));
    EXPECT_THAT(Msg(s), Not(HasSubstr("state.snap.tmp")));  // Not a temporary.
    // The temporary was where it should be, and is gone.
    EXPECT_THAT(tmp_seen, MatchesRegex(".*/state\\.snap\\.tmp-beckon-"
                                       "[a-z0-9]{12}"));
    EXPECT_EQ(ModeOf(tmp_seen), 0u);
    EXPECT_EQ(ReadAll(path), "old");
    EXPECT_THAT(List(dir_), ElementsAre("state.snap"));
    EXPECT_EQ(OpenFds(), fds);
  }
}

TEST_F(FileUtil, ShortWritesAndEintrAreRetried) {
  const std::string path = Path("state.snap");
  std::string data;
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&data, i, ",");
  WriteHooks hooks;
  int calls = 0;
  hooks.write = [&](int fd, const void* p, size_t n) -> ssize_t {
    if (calls++ % 2 == 0) {
      errno = EINTR;
      return -1;
    }
    return ::write(fd, p, std::min<size_t>(n, 7));
  };
  const absl::Status s = WriteFileAtomically(path, data, With(hooks));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(path), data);
  EXPECT_GT(calls, static_cast<int>(data.size() / 7));
}

// --- fsync of the file, then of the directory --------------------------------

TEST_F(FileUtil, SyncsTheTemporaryThenTheDirectoryAfterTheRename) {
  const std::string path = Path("state.snap");
  WriteAll(path, "old");
  struct stat dir_st;
  ASSERT_EQ(::stat(dir_.c_str(), &dir_st), 0);
  struct Sync {
    bool is_dir;
    bool same_dir;
    mode_t mode;
    bool cloexec;
    std::string target_then;
    std::string name;
  };
  std::vector<Sync> syncs;
  WriteHooks hooks;
  hooks.fsync = [&](int fd) {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    char link[PATH_MAX] = {};
    const std::string proc = absl::StrCat("/proc/self/fd/", fd);
    EXPECT_GT(::readlink(proc.c_str(), link, sizeof(link) - 1), 0);
    syncs.push_back({S_ISDIR(st.st_mode),
                     st.st_dev == dir_st.st_dev && st.st_ino == dir_st.st_ino,
                     st.st_mode, (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
                     ReadAll(path), link});
    return ::fsync(fd);
  };
  const absl::Status s = WriteFileAtomically(path, "new", With(hooks));
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(syncs.size(), 2u);
  // The temporary, before the rename: the target is still the old file.
  EXPECT_FALSE(syncs[0].is_dir);
  EXPECT_EQ(syncs[0].mode & 07777, 0600u);
  EXPECT_TRUE(syncs[0].cloexec);
  EXPECT_EQ(syncs[0].target_then, "old");
  EXPECT_THAT(syncs[0].name,
              MatchesRegex(".*/state\\.snap\\.tmp-beckon-[a-z0-9]{12}"));
  // The directory, after the rename.
  EXPECT_TRUE(syncs[1].is_dir);
  EXPECT_TRUE(syncs[1].same_dir);
  EXPECT_TRUE(syncs[1].cloexec);
  EXPECT_EQ(syncs[1].target_then, "new");
}

TEST_F(FileUtil, DirectorySyncFailureIsReportedButUnsupportedIsNot) {
  const std::string path = Path("state.snap");
  WriteAll(path, "old");
  int dir_errno = EIO;
  WriteHooks hooks;
  hooks.fsync = [&](int fd) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      errno = dir_errno;
      return -1;
    }
    return ::fsync(fd);
  };
  absl::Status s = WriteFileAtomically(path, "new", With(hooks));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Msg(s), HasSubstr(path));
  EXPECT_THAT(Msg(s), HasSubstr("directory " + dir_));
  EXPECT_THAT(Msg(s), HasSubstr(std::strerror(EIO)));
  EXPECT_EQ(ReadAll(path), "new");  // Renamed; only its durability is unsure.
  EXPECT_THAT(List(dir_), ElementsAre("state.snap"));

  dir_errno = EINVAL;  // A file system that cannot sync directories.
  s = WriteFileAtomically(path, "newer", With(hooks));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(path), "newer");
}

// --- Stale temporaries -------------------------------------------------------

TEST_F(FileUtil, NextSaveRemovesStaleTemporariesOnly) {
  const std::string victim = Path("victim");
  WriteAll(victim, "precious");
  const std::string t = std::string(kTemporaryInfix);
  const std::vector<std::string> stale = {
      "state.snap" + t + "abcdefghijkl",  // Of this target.
      "other.snap" + t + "0123456789ab",  // Of another file here.
      "state.snap.tmp.4242.7",            // Of earlier versions.
  };
  const std::vector<std::string> kept = {
      "state.snap" + t + "freshfreshfr",  // Too recent: may be in progress.
      "state.snap" + t + "lockedlocked",  // Old but locked by a writer.
      "notes" + t + "short",              // Not the pattern.
      "notes" + t + "UPPERCASE123",       // Not the pattern.
      "other.snap.tmp.1.2",               // Earlier versions', another file.
      "state.snap.tmp.x.2",               // Not the pattern.
      "link" + t + "symlinksymli",        // A symlink, to the victim.
      "dir" + t + "directorydir",         // A directory.
      "fifo" + t + "fifofifofifo",        // A FIFO: never opened.
      "victim",
  };
  for (const std::string& n : stale) WriteAll(Path(n), "junk");
  for (const std::string& n : kept) {
    if (n == "victim") continue;
    if (n.rfind("link", 0) == 0) {
      ASSERT_EQ(::symlink(victim.c_str(), Path(n).c_str()), 0);
    } else if (n.rfind("dir", 0) == 0) {
      ASSERT_EQ(::mkdir(Path(n).c_str(), 0700), 0);
    } else if (n.rfind("fifo", 0) == 0) {
      ASSERT_EQ(::mkfifo(Path(n).c_str(), 0600), 0);
    } else {
      WriteAll(Path(n), "junk");
    }
  }
  for (const std::string& n : stale) Age(Path(n), 120);
  for (const std::string& n : kept) {
    if (n.find("fresh") == std::string::npos) Age(Path(n), 120);
  }
  // A writer in progress holds its temporary locked (any process; here a
  // descriptor of our own, which flock treats as another holder).
  const std::string locked = Path("state.snap" + t + "lockedlocked");
  const int lock_fd = ::open(locked.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(lock_fd, 0);
  ASSERT_EQ(::flock(lock_fd, LOCK_EX), 0);

  ASSERT_TRUE(WriteFileAtomically(Path("state.snap"), "snapshot").ok());
  std::vector<std::string> expected = kept;
  expected.push_back("state.snap");
  EXPECT_THAT(List(dir_), UnorderedElementsAreArray(expected));
  EXPECT_EQ(ReadAll(victim), "precious");

  // Once its writer is gone, the old locked one goes too.
  ::close(lock_fd);
  ASSERT_TRUE(WriteFileAtomically(Path("state.snap"), "snapshot").ok());
  EXPECT_EQ(List(dir_).count("state.snap" + t + "lockedlocked"), 0u);
  EXPECT_EQ(List(dir_).count("state.snap" + t + "freshfreshfr"), 1u);
}

TEST_F(FileUtil, StaleCleanupIsBoundedPerSave) {
  const size_t extra = 50;
  for (size_t i = 0; i < kStaleRemovedPerWrite + extra; ++i) {
    std::string suffix = absl::StrCat(100000000000 + i);  // 12 digits.
    const std::string p =
        Path(absl::StrCat("state.snap", kTemporaryInfix, suffix));
    WriteAll(p, "junk");
    Age(p, 600);
  }
  ASSERT_TRUE(WriteFileAtomically(Path("state.snap"), "1").ok());
  EXPECT_EQ(List(dir_).size(), extra + 1);
  ASSERT_TRUE(WriteFileAtomically(Path("state.snap"), "2").ok());
  EXPECT_THAT(List(dir_), ElementsAre("state.snap"));
}

TEST_F(FileUtil, TemporaryOfAKilledWriterIsKeptWhileItLivesRemovedAfter) {
  // A child process stops in the middle of its save and is SIGKILLed: its
  // temporary is left. While the child lives, its lock protects the
  // temporary even when old; once it is dead, the next save removes it.
  const std::string path = Path("state.snap");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    WriteHooks hooks;
    hooks.write = [&](int fd, const void* p, size_t n) -> ssize_t {
      const ssize_t w = ::write(fd, p, std::min<size_t>(n, 100));
      (void)!::write(ready[1], "r", 1);
      while (true) ::pause();
      return w;
    };
    (void)WriteFileAtomically(path, std::string(1000, 's'), With(hooks));
    ::_exit(1);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child died early";
  ::close(ready[0]);
  std::set<std::string> names = List(dir_);
  ASSERT_EQ(names.size(), 1u);
  const std::string tmp = *names.begin();
  ASSERT_THAT(tmp, MatchesRegex("state\\.snap\\.tmp-beckon-[a-z0-9]{12}"));
  Age(Path(tmp), 3600);

  // Alive and locked: kept.
  ASSERT_TRUE(WriteFileAtomically(Path("other.snap"), "x").ok());
  EXPECT_THAT(List(dir_), UnorderedElementsAre(tmp, "other.snap"));

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  // Dead: a stale temporary, removed by the next save in the directory.
  EXPECT_THAT(List(dir_), UnorderedElementsAre(tmp, "other.snap"));
  ASSERT_TRUE(WriteFileAtomically(Path("other.snap"), "y").ok());
  EXPECT_THAT(List(dir_), ElementsAre("other.snap"));
}

// --- ReadFile ----------------------------------------------------------------

TEST_F(FileUtil, ReadsARegularFileAndFollowsASymlink) {
  const std::string data = std::string("bin\0ary", 7) + std::string(70000, 'z');
  WriteAll(Path("f"), data);
  ASSERT_EQ(::symlink(Path("f").c_str(), Path("link").c_str()), 0);
  for (const std::string& p : {Path("f"), Path("link")}) {
    absl::StatusOr<std::string> r = ReadFile(p);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, data);
  }
  WriteAll(Path("empty"), "");
  absl::StatusOr<std::string> r = ReadFile(Path("empty"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "");
}

TEST_F(FileUtil, ReadMissingIsNotFoundNamingPathAndErrno) {
  const std::string p = Path("absent");
  absl::StatusOr<std::string> r = ReadFile(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(r.status()),
            absl::StrCat("cannot open ", p, ": ", std::strerror(ENOENT)));
}

TEST_F(FileUtil, ReadDirectoryIsRejected) {
  absl::StatusOr<std::string> r = ReadFile(dir_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(r.status()),
            absl::StrCat("cannot read ", dir_, ": it is a directory"));
}

TEST_F(FileUtil, ReadFifoIsRejectedWithoutBlocking) {
  // No writer ever opens the FIFO: a reader that opened it without
  // O_NONBLOCK would wait forever. Should one, the test unblocks it (by
  // opening and closing a write end) and fails, rather than hanging.
  const std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(fifo.c_str(), Path("link").c_str()), 0);
  const int fds = OpenFds();
  for (const std::string& p : {fifo, Path("link")}) {
    std::future<absl::StatusOr<std::string>> r =
        std::async(std::launch::async, [p] { return ReadFile(p); });
    if (r.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "ReadFile blocked on a FIFO";
      const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (w >= 0) ::close(w);
    }
    const absl::StatusOr<std::string> got = r.get();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << p;
    EXPECT_THAT(Msg(got.status()), HasSubstr(p));
    EXPECT_THAT(Msg(got.status()), HasSubstr("FIFO"));
  }
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(FileUtil, ReadDevicesAreRejectedWithoutReading) {
  // /dev/null first: on a reader without the check it returns "" at once,
  // so the test fails there before /dev/zero could run for ever.
  absl::StatusOr<std::string> r = ReadFile("/dev/null");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr("/dev/null: it is a character device"));
  r = ReadFile("/dev/zero");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr("/dev/zero"));
}

TEST_F(FileUtil, ReadSocketIsRejected) {
  const std::string p = Path("sock");
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(p.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  absl::StatusOr<std::string> r = ReadFile(p);
  ::close(s);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr(p + ": it is a socket"));
}

TEST_F(FileUtil, ReadLargerThanTheLimitIsRejectedBeforeReading) {
  const std::string p = Path("big");
  WriteAll(p, std::string(1000, 'b'));
  absl::StatusOr<std::string> r = ReadFile(p, 999);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Msg(r.status()), HasSubstr(p));
  EXPECT_THAT(Msg(r.status()), HasSubstr("1000 bytes"));
  EXPECT_THAT(Msg(r.status()), HasSubstr("limit of 999 bytes"));
  r = ReadFile(p, 1000);  // Exactly the limit is fine.
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 1000u);
}

TEST_F(FileUtil, ReadSparseFileOverTheDefaultLimitIsRejectedAtOnce) {
  // 3 GiB that take no disk: the default limit refuses it from its size,
  // without allocating or reading.
  const std::string p = Path("sparse");
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t{3} << 30), 0);
  ::close(fd);
  absl::StatusOr<std::string> r = ReadFile(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr(absl::StrCat("limit of ", kDefaultMaxFileBytes)));
}

TEST_F(FileUtil, ReadOfAFileGrowingPastTheLimitIsReported) {
  // A /proc file says st_size 0 and holds more: what a file growing while
  // it is read looks like to the reader.
  const std::string p = "/proc/self/status";
  struct stat st;
  if (::stat(p.c_str(), &st) != 0 || st.st_size != 0) {
    GTEST_SKIP() << p << " is not a zero-sized /proc file here";
  }
  absl::StatusOr<std::string> whole = ReadFile(p);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_GT(whole->size(), 64u);
  EXPECT_THAT(*whole, HasSubstr("Name:"));
  absl::StatusOr<std::string> r = ReadFile(p, 64);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Msg(r.status()), HasSubstr(p));
  EXPECT_THAT(Msg(r.status()),
              HasSubstr("grew past the limit of 64 bytes while being read"));
}

}  // namespace
}  // namespace beckon::internal
