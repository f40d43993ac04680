// internal::ReadFile: reads that neither block nor run away.
#include "lib/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::internal {
namespace {

using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

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
