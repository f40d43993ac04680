// Each session feature, observed through the decisions' contributions.
#include <cmath>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

double Feature(const Decision& d, const std::string& name) {
  for (const Contribution& c : d.contributions()) {
    if (c.feature == name) return c.value;
  }
  ADD_FAILURE() << "no feature " << name;
  return NAN;
}

class Features : public ::testing::Test {
 protected:
  void View(int64_t t, const std::string& page, const std::string& ref = "") {
    MustObserve(*engine_, Event::PageView(t, "v", page, ref));
  }
  double At(int64_t t, const std::string& name) {
    return Feature(MustDecide(*engine_, "v", t), name);
  }
  std::unique_ptr<Engine> engine_ = MakeEngine(TestPolicy());
};

TEST_F(Features, DwellRatioGrowsWithTimeOnPageAndSaturates) {
  View(kT0, "/help/returns");  // Group /help/*: dwell threshold 45 s.
  EXPECT_DOUBLE_EQ(At(kT0, "dwell_ratio"), 0.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 22500, "dwell_ratio"), 0.5);
  EXPECT_DOUBLE_EQ(At(kT0 + 90 * kSec, "dwell_ratio"), 2.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 1000 * kSec, "dwell_ratio"), 4.0);
}

TEST_F(Features, DwellRestartsAtEveryOwnEventButNotAtOfferShown) {
  View(kT0, "/help/returns");
  MustObserve(*engine_, Event::Cart(kT0 + 20 * kSec, "v", "/help/returns", 5));
  EXPECT_DOUBLE_EQ(At(kT0 + 42500, "dwell_ratio"), 0.5);
  MustObserve(*engine_, Event::OfferShown(kT0 + 50 * kSec, "v",
                                          "/help/returns", Channel::kChat));
  EXPECT_DOUBLE_EQ(At(kT0 + 65 * kSec, "dwell_ratio"), 1.0);
}

TEST_F(Features, HelpHitsCountHelpPageViewsButNotReloads) {
  View(kT0, "/p/1");
  View(kT0 + 1 * kSec, "/help/returns");
  View(kT0 + 2 * kSec, "/help/returns");  // Reload.
  View(kT0 + 3 * kSec, "/faq/sizes");
  View(kT0 + 4 * kSec, "/c/shoes");
  EXPECT_DOUBLE_EQ(At(kT0 + 5 * kSec, "help_hits"), 2.0);
}

TEST_F(Features, SearchesAndZeroResultSearchesAreCounted) {
  MustObserve(*engine_, Event::Search(kT0, "v", "/search?q=a", 12));
  MustObserve(*engine_, Event::Search(kT0 + kSec, "v", "/search?q=b", 0));
  MustObserve(*engine_, Event::Search(kT0 + 2 * kSec, "v", "/search?q=c", 0));
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "searches"), 3.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "zero_result_searches"), 2.0);
}

TEST_F(Features, CountsSaturateAtTen) {
  for (int i = 0; i < 25; ++i) {
    MustObserve(*engine_, Event::Search(kT0 + i * kSec, "v", "/search", 0));
  }
  EXPECT_DOUBLE_EQ(At(kT0 + 30 * kSec, "zero_result_searches"), 10.0);
}

TEST_F(Features, ReturningToARecentPageIsALoop) {
  View(kT0, "/p/1");
  View(kT0 + 1 * kSec, "/p/2");
  View(kT0 + 2 * kSec, "/p/3");
  View(kT0 + 3 * kSec, "/p/1");  // Seen three pages ago.
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "loops"), 1.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "back_and_forth"), 0.0);
}

TEST_F(Features, ABAIsBackAndForthNotALoop) {
  View(kT0, "/p/1");
  View(kT0 + 1 * kSec, "/p/2");
  View(kT0 + 2 * kSec, "/p/1");
  View(kT0 + 3 * kSec, "/p/2");
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "back_and_forth"), 2.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "loops"), 0.0);
}

TEST_F(Features, ReloadIsNeitherLoopNorBackAndForth) {
  View(kT0, "/p/1");
  View(kT0 + 1 * kSec, "/p/1?ref=x");  // Same page, other query.
  View(kT0 + 2 * kSec, "/P/1");        // Same page, other case.
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "loops"), 0.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "back_and_forth"), 0.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "pages_viewed"), std::log1p(3.0));
}

TEST_F(Features, LoopsForgetPagesOlderThanTheLastSix) {
  for (int i = 1; i <= 7; ++i) View(kT0 + i * kSec, "/p/" + std::to_string(i));
  View(kT0 + 8 * kSec, "/p/1");  // Seven pages ago: forgotten.
  EXPECT_DOUBLE_EQ(At(kT0 + 9 * kSec, "loops"), 0.0);
}

TEST_F(Features, PathRuleMatchesTheStepsThatLedToThisPage) {
  // Default rules: "search engine, site search, help" (1.0) and
  // "search, then help" (0.6).
  View(kT0, "/", "https://www.google.com/search?q=returns");
  MustObserve(*engine_, Event::Search(kT0 + kSec, "v", "/search?q=r", 3));
  EXPECT_DOUBLE_EQ(At(kT0 + 2 * kSec, "path"), 0.0);
  View(kT0 + 3 * kSec, "/help/returns");
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "path"), 1.0);
  View(kT0 + 5 * kSec, "/p/7");  // Moved on: the path no longer leads here.
  EXPECT_DOUBLE_EQ(At(kT0 + 6 * kSec, "path"), 0.0);
}

TEST_F(Features, PathRuleNeedsTheSearchEngineEntryWhenItSaysSo) {
  View(kT0, "/", "https://notgoogle.example/");
  MustObserve(*engine_, Event::Search(kT0 + kSec, "v", "/search?q=r", 3));
  View(kT0 + 3 * kSec, "/help/returns");
  EXPECT_DOUBLE_EQ(At(kT0 + 4 * kSec, "path"), 0.6);  // The weaker rule.
}

TEST_F(Features, PathRuleReasonNamesTheRule) {
  View(kT0, "/", "https://www.bing.com/search?q=x");
  MustObserve(*engine_, Event::Search(kT0 + kSec, "v", "/search?q=r", 0));
  View(kT0 + 3 * kSec, "/help/returns");
  const Decision d = MustDecide(*engine_, "v", kT0 + 60 * kSec);
  EXPECT_THAT(d.reasons(), ::testing::Contains(
                             "path: search engine, site search, help"));
}

TEST_F(Features, CheckoutStallGrowsWithoutProgress) {
  View(kT0, "/checkout/address");
  View(kT0 + 1 * kMin, "/checkout/address");  // Reload: no progress.
  EXPECT_DOUBLE_EQ(At(kT0 + 5 * kMin, "checkout_stall_min"), 5.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 90 * kMin / 3, "checkout_stall_min"), 30.0);
}

TEST_F(Features, CheckoutStallRestartsOnProgressAndEndsOutsideCheckout) {
  View(kT0, "/checkout/address");
  View(kT0 + 4 * kMin, "/checkout/payment");  // Progress.
  EXPECT_DOUBLE_EQ(At(kT0 + 5 * kMin, "checkout_stall_min"), 1.0);
  MustObserve(*engine_, Event::Cart(kT0 + 6 * kMin, "v", "/checkout", 20));
  EXPECT_DOUBLE_EQ(At(kT0 + 8 * kMin, "checkout_stall_min"), 2.0);
  View(kT0 + 9 * kMin, "/p/1");
  EXPECT_DOUBLE_EQ(At(kT0 + 10 * kMin, "checkout_stall_min"), 0.0);
}

TEST_F(Features, PagesViewedAndCartValueAreLogScaled) {
  View(kT0, "/p/1");
  View(kT0 + kSec, "/p/2");
  MustObserve(*engine_, Event::Cart(kT0 + 2 * kSec, "v", "/p/2", 99.0));
  EXPECT_DOUBLE_EQ(At(kT0 + 3 * kSec, "pages_viewed"), std::log1p(2.0));
  EXPECT_NEAR(At(kT0 + 3 * kSec, "cart_value"), std::log1p(99.0), 1e-6);
  MustObserve(*engine_, Event::Purchase(kT0 + 4 * kSec, "v", "/thanks", 99));
  EXPECT_DOUBLE_EQ(At(kT0 + 5 * kSec, "cart_value"), 0.0);
}

TEST_F(Features, GroupHelpRateIsTheCurrentGroupsRate) {
  View(kT0, "/contact");
  EXPECT_DOUBLE_EQ(At(kT0, "group_help_rate"), 0.30);
  View(kT0 + kSec, "/no/such/section");  // Unlisted.
  EXPECT_DOUBLE_EQ(At(kT0 + kSec, "group_help_rate"), 0.03);
}

// Feature 11: the dwell ratio times the current group's help rate, moving
// with time as the dwell ratio does and saturating with it.
TEST_F(Features, DwellTimesHelpRateIsTheDwellRatioScaledByTheGroupsRate) {
  View(kT0, "/contact");  // Group /contact: threshold 20 s, help rate 0.30.
  EXPECT_DOUBLE_EQ(At(kT0, "dwell_x_help_rate"), 0.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 10 * kSec, "dwell_x_help_rate"),
                   At(kT0 + 10 * kSec, "dwell_ratio") * 0.30);
  EXPECT_DOUBLE_EQ(At(kT0 + 10 * kSec, "dwell_x_help_rate"), 0.5 * 0.30);
  EXPECT_DOUBLE_EQ(At(kT0 + 1000 * kSec, "dwell_x_help_rate"), 4.0 * 0.30);
  View(kT0 + 1001 * kSec, "/no/such/section");  // Unlisted: rate 0.03.
  EXPECT_DOUBLE_EQ(At(kT0 + 1001 * kSec, "dwell_x_help_rate"), 0.0);
}

TEST_F(Features, ContributionIsWeightTimesValue) {
  View(kT0, "/help/returns");
  const Decision d = MustDecide(*engine_, "v", kT0 + 90 * kSec);
  ASSERT_EQ(d.contributions().size(), 12u);
  for (const Contribution& c : d.contributions()) {
    if (c.feature == "dwell_ratio") {
      EXPECT_DOUBLE_EQ(c.contribution, 0.9 * 2);
    }
  }
  double z = -4.2;
  for (const Contribution& c : d.contributions()) z += c.contribution;
  EXPECT_NEAR(d.probability, 1 / (1 + std::exp(-z)), 1e-12);
}

TEST_F(Features, AnIdleGapLongerThanTheTimeoutStartsAFreshSession) {
  View(kT0, "/help/returns");
  MustObserve(*engine_, Event::Search(kT0 + kSec, "v", "/search", 0));
  // 30 minutes is the default timeout; a gap of exactly that continues.
  MustObserve(*engine_, Event::PageView(kT0 + kSec + 30 * kMin, "v", "/p/1"));
  EXPECT_DOUBLE_EQ(At(kT0 + 31 * kMin, "zero_result_searches"), 1.0);
  MustObserve(*engine_, Event::PageView(kT0 + 62 * kMin, "v", "/p/1"));
  EXPECT_DOUBLE_EQ(At(kT0 + 62 * kMin, "zero_result_searches"), 0.0);
  EXPECT_DOUBLE_EQ(At(kT0 + 62 * kMin, "pages_viewed"), std::log1p(1.0));
  const EngineStats st = engine_->Stats();
  EXPECT_EQ(st.sessions_started, 2u);
  EXPECT_EQ(st.sessions_expired, 1u);
}

TEST_F(Features, DecideAfterTheTimeoutSeesNoSession) {
  View(kT0, "/help/returns");
  const Decision d = MustDecide(*engine_, "v", kT0 + 30 * kMin + 1);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_EQ(d.reason, Reason::kNoSession);
  EXPECT_FALSE(d.recheck_at_ms.has_value());
}

}  // namespace
}  // namespace beckon::testing
