// Engine::MetricsText: the Prometheus text format's shape, and that its
// figures are the engine's (a real parser reads it in
// tests/python/test_metrics.py).
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

// Sample lines ("name{labels} value") of the text, by name with labels.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v)) << line;
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

TEST(Metrics, CountersAreTheEnginesOwn) {
  auto e = MakeEngine(TestPolicy());
  StuckVisitor(*e, "v", kT0);
  MustDecide(*e, "v", kT0 + kStuckOfferAfter - 1);   // wait: dwell
  MustDecide(*e, "v", kT0 + kStuckOfferAfter);       // offer on /help/*
  MustDecide(*e, "nobody", kT0);                     // wait: no_session
  EXPECT_FALSE(e->Observe(Event::PageView(kT0, "", "/")).ok());  // rejected
  const std::map<std::string, double> s = Samples(e->MetricsText());
  EXPECT_EQ(s.at("beckon_decisions_total{action=\"offer\",reason=\"score\"}"),
            1);
  EXPECT_EQ(s.at("beckon_decisions_total{action=\"wait\",reason=\"dwell\"}"),
            1);
  EXPECT_EQ(
      s.at("beckon_decisions_total{action=\"wait\",reason=\"no_session\"}"), 1);
  EXPECT_EQ(s.at("beckon_decisions_total{action=\"suppress\",reason="
                 "\"declined\"}"),
            0);
  EXPECT_EQ(s.at("beckon_offers_total{group=\"/help/*\"}"), 1);
  EXPECT_EQ(s.at("beckon_offers_total{group=\"(unlisted)\"}"), 0);
  EXPECT_EQ(s.at("beckon_events_observed_total"), 4);
  EXPECT_EQ(s.at("beckon_events_rejected_total"), 1);
  EXPECT_EQ(s.at("beckon_sessions_live"), 1);
  EXPECT_EQ(s.at("beckon_sessions_started_total"), 1);
}

TEST(Metrics, HistogramsAreCumulativeAndSampled) {
  auto e = MakeEngine(TestPolicy());
  constexpr int kCalls = 64 * 40;
  // On a thread of its own, whose count of calls starts at zero.
  std::thread([&] {
    for (int i = 0; i < kCalls; ++i) {
      MustObserve(*e, Event::PageView(kT0 + i, "v", "/p/1"));
    }
  }).join();
  const std::map<std::string, double> s = Samples(e->MetricsText());
  // One call in 64 on the thread is timed.
  const double count = s.at("beckon_observe_duration_seconds_count");
  EXPECT_EQ(count, kCalls / 64);
  EXPECT_EQ(s.at("beckon_observe_duration_seconds_bucket{le=\"+Inf\"}"),
            count);
  double last = 0;
  for (const auto& [name, v] : s) {
    if (name.rfind("beckon_observe_duration_seconds_bucket", 0) != 0) continue;
    EXPECT_GE(v, 0);
    last = std::max(last, v);
  }
  EXPECT_EQ(last, count);
  EXPECT_GT(s.at("beckon_observe_duration_seconds_sum"), 0);
  EXPECT_EQ(s.at("beckon_decide_duration_seconds_count"), 0);
}

TEST(Metrics, HistogramsCanBeTurnedOff) {
  Engine::Options o;
  o.latency_histograms = false;
  auto e = MakeEngine(TestPolicy(), o);
  for (int i = 0; i < 640; ++i) {
    MustObserve(*e, Event::PageView(kT0 + i, "v", "/p/1"));
  }
  EXPECT_EQ(Samples(e->MetricsText()).at("beckon_observe_duration_seconds_count"),
            0);
}

TEST(Metrics, LabelValuesAreEscaped) {
  auto e = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.set_name("shop \"north\"\\eu");
  }));
  const std::string text = e->MetricsText();
  EXPECT_THAT(text, HasSubstr("policy=\"shop \\\"north\\\"\\\\eu\""));
  EXPECT_THAT(text, HasSubstr("store=\"memory\""));
}

TEST(Metrics, DecisionsCarryThePolicyTheyWereMadeUnder) {
  auto a = MakeEngine(TestPolicy([](proto::Policy& p) { p.set_name("a"); }));
  auto b = MakeEngine(TestPolicy([](proto::Policy& p) {
    p.set_name("a");
    p.mutable_gates()->set_min_gap_s(301);
  }));
  const Decision da = MustDecide(*a, "v", kT0);
  const Decision db = MustDecide(*b, "v", kT0);
  EXPECT_EQ(da.policy_name(), "a");
  EXPECT_EQ(da.policy_version().size(), 16u);
  // Same name, different contents: different versions; the same policy
  // twice: the same version.
  EXPECT_NE(da.policy_version(), db.policy_version());
  auto a2 = MakeEngine(TestPolicy([](proto::Policy& p) { p.set_name("a"); }));
  EXPECT_EQ(MustDecide(*a2, "v", kT0).policy_version(), da.policy_version());
  EXPECT_EQ(Decision().policy_name(), "");
  EXPECT_THAT(a->MetricsText(),
              HasSubstr("policy_version=\"" + std::string(da.policy_version())));
}

}  // namespace
}  // namespace beckon::testing
