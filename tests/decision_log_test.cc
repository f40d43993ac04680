// The decision log: a sink that receives every decision Decide returns,
// and a file of JSON Lines that can be read back.
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

// A fresh directory under the test's temporary directory.
std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DecisionLog, SinkReceivesEveryDecisionWithItsPolicyAndGroup) {
  std::vector<LoggedDecision> got;
  std::vector<std::string> groups;
  Engine::Options o;
  o.decision_sink = [&](const LoggedDecision& d) {
    got.push_back(d);
    groups.emplace_back(d.group);
    EXPECT_EQ(d.policy_version.size(), 16u);
  };
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) { p.set_name("shop"); }),
                      o);
  StuckVisitor(*e, "v", kT0);
  const Decision wait = MustDecide(*e, "v", kT0 + kStuckOfferAfter - 1);
  const Decision offer = MustDecide(*e, "v", kT0 + kStuckOfferAfter);
  MustDecide(*e, "nobody", kT0);
  EXPECT_FALSE(e->Decide("", kT0).ok());  // Rejected calls are not logged.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].action, Action::kWait);
  EXPECT_EQ(got[0].reason, Reason::kDwell);
  EXPECT_EQ(got[0].ts_ms, kT0 + kStuckOfferAfter - 1);
  EXPECT_EQ(got[0].recheck_at_ms, wait.recheck_at_ms);
  EXPECT_EQ(got[1].action, Action::kOffer);
  EXPECT_EQ(got[1].probability, offer.probability);
  EXPECT_EQ(got[1].threshold, offer.threshold);
  EXPECT_EQ(groups[1], "/help/*");
  EXPECT_EQ(got[1].visitor_hash, e->VisitorHash("v"));
  EXPECT_EQ(got[1].policy_version, offer.policy_version());
  EXPECT_EQ(got[2].reason, Reason::kNoSession);
  EXPECT_EQ(groups[2], "");
  EXPECT_EQ(got[2].visitor_hash, e->VisitorHash("nobody"));
}

TEST(DecisionLog, FileHasOneJsonLinePerDecisionFromEveryThread) {
  const std::string path = TempDir("decision_log") + "/decisions.jsonl";
  Engine::Options o;
  o.decision_log_path = path;
  o.visitor_key = {1, 2};
  {
    auto e = MakeEngine(TestPolicy(), o);
    StuckVisitor(*e, "v", kT0);
    MustDecide(*e, "v", kT0 + kStuckOfferAfter);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {
          (void)e->Decide(absl::StrFormat("t%d-%d", t, i), kT0);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 1001u);
  auto probe = MakeEngine(TestPolicy(), o);
  EXPECT_THAT(lines[0], HasSubstr(absl::StrFormat(
                            "\"visitor_hash\":\"%016x\"", probe->VisitorHash("v"))));
  EXPECT_THAT(lines[0], HasSubstr("\"action\":\"offer\",\"reason\":\"score\""));
  EXPECT_THAT(lines[0], HasSubstr("\"group\":\"/help/*\""));
  EXPECT_THAT(lines[0], HasSubstr("\"recheck_at_ms\":null"));
  for (const std::string& l : lines) {
    ASSERT_EQ(l.front(), '{') << l;
    ASSERT_EQ(l.back(), '}') << l;  // Whole lines: never interleaved.
  }
  // Appended to, not replaced: a second engine adds its lines.
  {
    auto e = MakeEngine(TestPolicy(), o);
    MustDecide(*e, "x", kT0);
  }
  EXPECT_EQ(Lines(path).size(), 1002u);
}

TEST(DecisionLog, AFileThatCannotBeOpenedFailsCreate) {
  Engine::Options o;
  o.decision_log_path = "/nonexistent-dir/decisions.jsonl";
  absl::StatusOr<std::unique_ptr<Engine>> e =
      Engine::Create(TestPolicy(), o);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(e.status()));
  EXPECT_THAT(e.status().message(), HasSubstr("decision_log_path"));
  EXPECT_THAT(e.status().message(), HasSubstr("/nonexistent-dir"));
}

}  // namespace
}  // namespace beckon::testing
