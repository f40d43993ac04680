// Where the visitor key comes from (lib/visitor_key.h): never a public
// constant, a key file for restarts and fleets, errors that say what to do.
#include "lib/visitor_key.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/file_util.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

// The key every engine used by default before issue 12 (item 5).
constexpr std::array<uint64_t, 2> kOldPublicKey = {0x6265636b6f6e2d31ULL,
                                                  0x76697369746f7273ULL};

std::string TempPath(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/beckon_key_" + name;
  std::remove(p.c_str());
  return p;
}

void Decline(Engine& e, std::string_view v, int64_t t) {
  StuckVisitor(e, v, t);
  ASSERT_EQ(MustDecide(e, v, t + kStuckOfferAfter).action, Action::kOffer);
  MustObserve(e, Event::OfferDeclined(t + kStuckOfferAfter + kSec, v, "/help",
                                      Channel::kChat));
}

TEST(VisitorKey, TheDefaultIsNotThePublicConstant) {
  auto e = MakeEngine(TestPolicy());
  Decline(*e, "someone@example.com", kT0);
  Engine::Options o;
  o.visitor_key = kOldPublicKey;
  const absl::Status s = MakeEngine(TestPolicy(), o)->Restore(e->Snapshot());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("visitor_key_file"));
}

TEST(VisitorKey, EnginesOfOneProcessShareItsRandomKey) {
  auto a = MakeEngine(TestPolicy());
  Decline(*a, "anna", kT0);
  auto b = MakeEngine(TestPolicy());
  ASSERT_TRUE(b->Restore(a->Snapshot()).ok());
  EXPECT_EQ(internal::ProcessVisitorKey(), internal::ProcessVisitorKey());
  EXPECT_NE(internal::ProcessVisitorKey(), kOldPublicKey);
}

// Runs `body` in a child process; returns its exit status.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST(VisitorKey, AnotherProcessDrawsAnotherKey) {
  const std::string path = TempPath("other_process.snap");
  ASSERT_EQ(InChild([&] {
              auto e = Engine::Create(TestPolicy());
              if (!e.ok()) return 1;
              return (*e)->SnapshotToFile(path).ok() ? 0 : 2;
            }),
            0);
  const absl::Status s = MakeEngine(TestPolicy())->RestoreFromFile(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST(VisitorKey, AKeyFileIsCreatedPrivateAndCarriesStateAcrossProcesses) {
  const std::string key = TempPath("shop.key");
  const std::string snap = TempPath("shop.snap");
  Engine::Options o;
  o.visitor_key_file = key;
  // The "old process": declines, saves, exits.
  ASSERT_EQ(InChild([&] {
              auto e = Engine::Create(TestPolicy(), o);
              if (!e.ok()) return 1;
              StuckVisitor(**e, "anna", kT0);
              (void)(*e)->Decide("anna", kT0 + kStuckOfferAfter);
              if (!(*e)->Observe(Event::OfferDeclined(
                                     kT0 + kStuckOfferAfter + kSec, "anna",
                                     "/help", Channel::kChat))
                       .ok()) {
                return 2;
              }
              return (*e)->SnapshotToFile(snap).ok() ? 0 : 3;
            }),
            0);
  struct stat st;
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 33);
  // The "restarted process" reads the same file.
  auto e = MakeEngine(TestPolicy(), o);
  ASSERT_TRUE(e->RestoreFromFile(snap).ok());
  StuckVisitor(*e, "anna", kT0 + 10 * kMin);
  EXPECT_EQ(MustDecide(*e, "anna", kT0 + 10 * kMin + kStuckOfferAfter).reason,
            Reason::kDeclined);
  // And the file is the key: the same as given directly.
  absl::StatusOr<std::string> text = internal::ReadFile(key);
  ASSERT_TRUE(text.ok());
  absl::StatusOr<internal::VisitorKey> k =
      internal::ParseVisitorKey(*text, "the file");
  ASSERT_TRUE(k.ok()) << k.status();
  Engine::Options direct;
  direct.visitor_key = *k;
  EXPECT_TRUE(MakeEngine(TestPolicy(), direct)->RestoreFromFile(snap).ok());
}

TEST(VisitorKey, ProcessesRacingToCreateTheFileAgreeOnOneKey) {
  const std::string key = TempPath("race.key");
  std::vector<pid_t> kids;
  for (int i = 0; i < 6; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(internal::LoadOrCreateKeyFile(key).ok() ? 0 : 1);
    kids.push_back(pid);
  }
  absl::StatusOr<internal::VisitorKey> mine = internal::LoadOrCreateKeyFile(key);
  ASSERT_TRUE(mine.ok()) << mine.status();
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  absl::StatusOr<internal::VisitorKey> again =
      internal::LoadOrCreateKeyFile(key);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *mine);
}

TEST(VisitorKey, BadKeyFilesAndOptionsAreClearErrors) {
  const std::string key = TempPath("bad.key");
  {
    std::ofstream(key) << "0123456789abcdef0123456789abcdef\n";
  }
  chmod(key.c_str(), 0644);
  Engine::Options o;
  o.visitor_key_file = key;
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Create(TestPolicy(), o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(e.status().message(), HasSubstr("chmod 600"));
  chmod(key.c_str(), 0600);
  EXPECT_TRUE(Engine::Create(TestPolicy(), o).ok());

  {
    std::ofstream(key) << "not a key\n";
  }
  e = Engine::Create(TestPolicy(), o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr(key));
  {
    std::ofstream(key) << std::string(32, '0') << "\n";
  }
  e = Engine::Create(TestPolicy(), o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("all-zero"));

  o.visitor_key = {1, 2};
  e = Engine::Create(TestPolicy(), o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("not both"));

  o = Engine::Options();
  o.visitor_key_file = ::testing::TempDir() + "/no-such-dir/x.key";
  e = Engine::Create(TestPolicy(), o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(e.status().message(), HasSubstr("no-such-dir"));
}

TEST(VisitorKey, FormatAndParseRoundTrip) {
  const internal::VisitorKey k = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(internal::FormatVisitorKey(k),
            "0123456789abcdeffedcba9876543210\n");
  absl::StatusOr<internal::VisitorKey> back =
      internal::ParseVisitorKey(internal::FormatVisitorKey(k), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, k);
  EXPECT_FALSE(internal::ParseVisitorKey("0123", "x").ok());
  EXPECT_FALSE(
      internal::ParseVisitorKey("g123456789abcdeffedcba9876543210", "x").ok());
  for (int i = 0; i < 8; ++i) {
    const internal::VisitorKey r = internal::RandomVisitorKey();
    EXPECT_FALSE(r[0] == 0 && r[1] == 0);
    EXPECT_NE(r, internal::RandomVisitorKey());
  }
}

}  // namespace
}  // namespace beckon::testing
