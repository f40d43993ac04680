// Tests for the visitor simulator (beckon/simulate.h): reproducibility, the
// pages it writes and their groups under the default policy, rows the engine
// accepts, the ground truth in the log (help-contact share, stuck dwell,
// quick askers, the legacy widget, agents), validation, and the log-normal
// quantiles.
#include "beckon/simulate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "beckon/engine.h"
#include "beckon/event.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/page_matcher.h"
#include "lib/policy_internal.h"

namespace beckon {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kSessionTimeoutMs = 1'800'000;

std::vector<LogEvent> SimulateAll(const SimulatorOptions& options,
                                  SimulationStats* stats = nullptr) {
  std::vector<LogEvent> rows;
  absl::Status s = Simulate(
      options,
      [&](const LogEvent& e) {
        rows.push_back(e);
        return absl::OkStatus();
      },
      stats);
  EXPECT_TRUE(s.ok()) << s;
  return rows;
}

SimulatorOptions Small(uint64_t seed) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = seed;
  o.days = 2;
  o.visitors_per_day = 1500;
  return o;
}

// The default policy's page groups, by URL.
class Groups {
 public:
  Groups()
      : policy_(Policy::Default()),
        matcher_(internal::PolicyInternal::Message(policy_)) {}
  // The pattern of `url`'s group, or "" if it is unlisted.
  std::string PatternOf(const std::string& url) const {
    const uint16_t g = matcher_.Classify(url).group;
    if (g == internal::kUnlistedGroup) return "";
    return internal::PolicyInternal::Message(policy_).groups(g).pattern();
  }

 private:
  Policy policy_;
  internal::PageMatcher matcher_;
};

// Sessions of the log (a visitor's rows with no gap over 30 minutes).
struct Session {
  std::vector<const LogEvent*> rows;
};

std::vector<Session> Sessionize(const std::vector<LogEvent>& rows) {
  std::vector<Session> sessions;
  absl::flat_hash_map<std::string, std::pair<int64_t, size_t>> open;
  for (const LogEvent& e : rows) {
    if (e.type == EventType::kAgents) continue;
    auto it = open.find(e.visitor);
    if (it == open.end() || e.ts_ms - it->second.first > kSessionTimeoutMs) {
      sessions.emplace_back();
      open[e.visitor] = {e.ts_ms, sessions.size() - 1};
      it = open.find(e.visitor);
    }
    it->second.first = e.ts_ms;
    sessions[it->second.second].rows.push_back(&e);
  }
  return sessions;
}

bool IsPage(const LogEvent& e) {
  return e.type == EventType::kPageView || e.type == EventType::kSearch;
}

// For each help_contact: its group and the dwell before it (from the
// visitor's last page view or search), in seconds.
std::map<std::string, std::vector<double>> DwellBeforeHelp(
    const std::vector<LogEvent>& rows) {
  const Groups groups;
  std::map<std::string, std::vector<double>> out;
  for (const Session& s : Sessionize(rows)) {
    const LogEvent* page = nullptr;
    for (const LogEvent* e : s.rows) {
      if (IsPage(*e)) page = e;
      if (e->type == EventType::kHelpContact && page != nullptr) {
        out[groups.PatternOf(e->page)].push_back((e->ts_ms - page->ts_ms) /
                                                 1000.0);
      }
    }
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const SimulatedGroup& GroupNamed(const SimulatorOptions& o,
                                 const std::string& pattern) {
  for (const SimulatedGroup& g : o.groups) {
    if (g.pattern == pattern) return g;
  }
  ADD_FAILURE() << "no group " << pattern;
  return o.groups.front();
}

TEST(SimulateTest, SameSeedGivesIdenticalRows) {
  const std::vector<LogEvent> a = SimulateAll(Small(7));
  const std::vector<LogEvent> b = SimulateAll(Small(7));
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 1000u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(FormatLogRow(a[i]), FormatLogRow(b[i])) << "row " << i;
    ASSERT_EQ(a[i].count, b[i].count);
    ASSERT_EQ(a[i].value, b[i].value);
    ASSERT_EQ(a[i].channel, b[i].channel);
  }
}

TEST(SimulateTest, DifferentSeedGivesDifferentRows) {
  const std::vector<LogEvent> a = SimulateAll(Small(7));
  const std::vector<LogEvent> b = SimulateAll(Small(8));
  size_t same = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    same += FormatLogRow(a[i]) == FormatLogRow(b[i]);
  // Only some agents rows at midnight can coincide.
  EXPECT_LT(same, n / 100);
}

TEST(SimulateTest, EveryPageLandsInItsDeclaredGroupUnderTheDefaultPolicy) {
  const SimulatorOptions o = Small(3);
  const Groups groups;
  std::set<std::string> seen;
  for (const LogEvent& e : SimulateAll(o)) {
    if (e.type == EventType::kAgents) {
      EXPECT_EQ(e.page, "");
      continue;
    }
    // The simulated group that wrote the page: the longest url_prefix.
    const SimulatedGroup* declared = nullptr;
    for (const SimulatedGroup& g : o.groups) {
      if (e.page.rfind(g.url_prefix, 0) == 0 &&
          (declared == nullptr ||
           g.url_prefix.size() > declared->url_prefix.size())) {
        declared = &g;
      }
    }
    ASSERT_NE(declared, nullptr) << e.page;
    ASSERT_EQ(groups.PatternOf(e.page), declared->pattern)
        << e.page << " (" << EventTypeName(e.type) << ")";
    if (e.type == EventType::kSearch) {
      EXPECT_EQ(declared->kind, SimulatedKind::kSearch) << e.page;
    }
    seen.insert(declared->pattern);
  }
  for (const SimulatedGroup& g : o.groups) {
    EXPECT_TRUE(seen.count(g.pattern)) << "no page of " << g.pattern;
  }
}

TEST(SimulateTest, RowsAreInTimeOrderWellFormedAndAcceptedByTheEngine) {
  SimulatorOptions o = Small(11);
  o.days = 3;
  const std::vector<LogEvent> rows = SimulateAll(o);
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(Policy::Default());
  ASSERT_TRUE(engine.ok()) << engine.status();
  int64_t last = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const LogEvent& e = rows[i];
    ASSERT_GE(e.ts_ms, last) << "row " << i;
    last = e.ts_ms;
    ASSERT_GE(e.ts_ms, o.start_ms);
    if (e.type == EventType::kAgents) {
      ASSERT_TRUE(e.visitor.empty());
      ASSERT_EQ(e.detail, std::to_string(e.count));
    } else {
      ASSERT_FALSE(e.visitor.empty());
      ASSERT_LE(e.visitor.size(), kMaxVisitorIdBytes);
      ASSERT_FALSE(e.page.empty());
    }
    switch (e.type) {
      case EventType::kSearch:
        ASSERT_GE(e.count, 0);
        ASSERT_EQ(e.detail, std::to_string(e.count));
        break;
      case EventType::kCart:
      case EventType::kPurchase:
        ASSERT_TRUE(std::isfinite(e.value));
        ASSERT_GT(e.value, 0);
        ASSERT_EQ(std::strtod(e.detail.c_str(), nullptr), e.value) << e.detail;
        break;
      case EventType::kHelpContact:
      case EventType::kOfferShown:
      case EventType::kOfferAccepted:
      case EventType::kOfferDeclined:
      case EventType::kOfferIgnored:
        ASSERT_NE(e.channel, Channel::kUnspecified);
        ASSERT_EQ(e.detail, ChannelName(e.channel));
        break;
      default:
        break;
    }
    const absl::Status s = (*engine)->Observe(e.ToEvent());
    ASSERT_TRUE(s.ok()) << "row " << i << ": " << FormatLogRow(e) << ": " << s;
  }
  EXPECT_EQ((*engine)->Stats().events_rejected, 0u);
}

TEST(SimulateTest, HelpContactShareOfSessionsMatchesTheOptions) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 5;
  o.legacy_offer_share = 0;  // Accepted offers would replace some contacts.
  const std::vector<LogEvent> rows = SimulateAll(o);
  const std::vector<Session> sessions = Sessionize(rows);
  size_t with_help = 0;
  for (const Session& s : sessions) {
    with_help += std::any_of(
        s.rows.begin(), s.rows.end(),
        [](const LogEvent* e) { return e->type == EventType::kHelpContact; });
  }
  const double expected_sessions = 1.0 * o.visitors_per_day * o.days;
  EXPECT_NEAR(sessions.size(), expected_sessions, 0.03 * expected_sessions);
  const double stuck = o.stuck_on_page_share + o.stuck_after_path_share +
                       o.stuck_after_search_share;
  const double expected =
      stuck * (1 - o.give_up_share) + (1 - stuck) * o.casual_contact_share;
  const double share = 1.0 * with_help / sessions.size();
  EXPECT_NEAR(share, expected, 0.1 * expected);
}

TEST(SimulateTest, StuckDwellBeforeHelpContactFollowsEachGroupsStuckDwell) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 9;
  o.days = 14;
  o.quick_ask_share = 0;       // Every asker waits their group's stuck dwell.
  o.casual_contact_share = 0;  // No contacts after a normal dwell.
  o.legacy_offer_share = 0;
  const auto dwell = DwellBeforeHelp(SimulateAll(o));
  ASSERT_GE(dwell.count("/p/*"), 1u);
  ASSERT_GE(dwell.at("/p/*").size(), 300u);
  int checked = 0;
  for (const auto& [pattern, v] : dwell) {
    if (v.size() < 150) continue;
    ++checked;
    const LogNormalSeconds& truth = GroupNamed(o, pattern).stuck_dwell;
    EXPECT_NEAR(Median(v), truth.median_s, 0.15 * truth.median_s)
        << pattern << " (" << v.size() << " contacts)";
  }
  EXPECT_GE(checked, 3);
}

TEST(SimulateTest, ForShopNamesTheBuiltInShops) {
  absl::StatusOr<SimulatorOptions> d = SimulatorOptions::ForShop("default");
  absl::StatusOr<SimulatorOptions> v = SimulatorOptions::ForShop("varied");
  ASSERT_TRUE(d.ok() && v.ok());
  EXPECT_EQ(d->groups.size(), SimulatorOptions::Default().groups.size());
  EXPECT_EQ(v->groups.size(), SimulatorOptions::VariedShop().groups.size());
  EXPECT_EQ(v->give_up_share, SimulatorOptions::VariedShop().give_up_share);
  EXPECT_NE(d->groups[1].pattern, v->groups[1].pattern);
  absl::StatusOr<SimulatorOptions> bad = SimulatorOptions::ForShop("Varied");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "shop must be \"default\" or \"varied\", got \"Varied\"");
}

// The varied shop's checkout steps: visitors get stuck where
// page_stuck_weight puts them (most on the payment step, none on the
// confirmation) and wait each step's own stuck dwell before asking.
TEST(SimulateTest, VariedShopCheckoutStepsFollowTheirOwnDwellAndWeights) {
  SimulatorOptions o = SimulatorOptions::VariedShop();
  ASSERT_TRUE(o.Validate().ok()) << o.Validate();
  o.seed = 9;
  o.days = 14;
  o.quick_ask_share = 0;
  o.casual_contact_share = 0;
  o.legacy_offer_share = 0;
  std::map<std::string, std::vector<double>> dwell;  // Per page.
  std::map<std::string, std::vector<double>> normal;
  const std::vector<LogEvent> rows = SimulateAll(o);
  for (const Session& s : Sessionize(rows)) {
    const LogEvent* page = nullptr;
    bool asks = false;
    for (const LogEvent* e : s.rows) asks |= e->type == EventType::kHelpContact;
    for (const LogEvent* e : s.rows) {
      if (!asks && page != nullptr) {
        normal[page->page].push_back((e->ts_ms - page->ts_ms) / 1000.0);
      }
      if (IsPage(*e)) page = e;
      if (e->type == EventType::kHelpContact && page != nullptr) {
        dwell[page->page].push_back((e->ts_ms - page->ts_ms) / 1000.0);
      }
    }
  }
  const SimulatedGroup& checkout = GroupNamed(o, "/checkout/*");
  ASSERT_EQ(checkout.page_names.size(), 5u);
  EXPECT_EQ(dwell.count("/checkout/done"), 0u);  // Weight 0.
  const size_t pay = dwell["/checkout/payment"].size();
  EXPECT_GT(pay, 2 * dwell["/checkout/delivery"].size());
  EXPECT_GT(pay, 2 * dwell["/checkout/review"].size());
  EXPECT_GT(pay, 5 * dwell["/checkout/address"].size());
  for (int k : {1, 2, 3}) {
    const std::string url = "/checkout/" + checkout.page_names[k];
    SCOPED_TRACE(url);
    ASSERT_GE(dwell[url].size(), 40u);
    const double truth = checkout.page_stuck_dwell[k].median_s;
    EXPECT_NEAR(Median(dwell[url]), truth, 0.2 * truth);
  }
  // Normal dwell (sessions without a contact) differs per step too: the
  // address form is read for about 80 s, the delivery step for 12 s.
  ASSERT_GE(normal["/checkout/address"].size(), 300u);
  ASSERT_GE(normal["/checkout/delivery"].size(), 300u);
  EXPECT_NEAR(Median(normal["/checkout/address"]), 80, 12);
  EXPECT_NEAR(Median(normal["/checkout/delivery"]), 12, 3);
}

TEST(SimulateTest, QuickAskersAskBeforeTheStuckDwellInTheirShare) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 10;
  o.days = 14;
  o.legacy_offer_share = 0;
  const auto dwell = DwellBeforeHelp(SimulateAll(o));
  ASSERT_TRUE(dwell.count("/p/*"));
  const std::vector<double>& v = dwell.at("/p/*");
  ASSERT_GE(v.size(), 300u);
  // Quick askers (median 8 s) against stuck askers (median 110 s): 25 s
  // separates them but for a few in a thousand.
  std::vector<double> quick;
  for (double d : v) {
    if (d < 25) quick.push_back(d);
  }
  EXPECT_NEAR(1.0 * quick.size() / v.size(), o.quick_ask_share, 0.07);
  EXPECT_NEAR(Median(quick), o.quick_ask_dwell.median_s,
              0.15 * o.quick_ask_dwell.median_s);
}

TEST(SimulateTest, StatsCountWhatTheLogHolds) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 12;
  SimulationStats stats;
  const std::vector<LogEvent> rows = SimulateAll(o, &stats);
  std::map<EventType, uint64_t> by_type;
  for (const LogEvent& e : rows) ++by_type[e.type];
  EXPECT_EQ(stats.events, rows.size());
  EXPECT_EQ(stats.agents_rows, by_type[EventType::kAgents]);
  EXPECT_EQ(stats.stuck_asked + stats.casual_contacts,
            by_type[EventType::kHelpContact]);
  EXPECT_EQ(stats.offers_shown, by_type[EventType::kOfferShown]);
  EXPECT_EQ(stats.offers_accepted, by_type[EventType::kOfferAccepted]);
  EXPECT_EQ(stats.offers_declined, by_type[EventType::kOfferDeclined]);
  EXPECT_EQ(stats.offers_ignored, by_type[EventType::kOfferIgnored]);
  EXPECT_EQ(stats.offers_shown, stats.offers_accepted + stats.offers_declined +
                                    stats.offers_ignored);
  EXPECT_EQ(stats.purchases, by_type[EventType::kPurchase]);
  EXPECT_EQ(stats.sessions, Sessionize(rows).size());
  // Stuck visitors ask, give up, or are helped by an offer.
  const uint64_t stuck =
      stats.stuck_on_page + stats.stuck_after_path + stats.stuck_after_search;
  EXPECT_EQ(stuck, stats.stuck_asked + stats.stuck_gave_up +
                       stats.stuck_helped_by_offer);
  EXPECT_NEAR(1.0 * stats.stuck_gave_up / stuck, o.give_up_share, 0.05);
  EXPECT_NEAR(1.0 * stats.offers_declined / stats.offers_shown, o.decline_share,
              0.06);
}

TEST(SimulateTest, DefaultWorldHasARealisticShape) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 4;
  const std::vector<LogEvent> rows = SimulateAll(o);
  const std::vector<Session> sessions = Sessionize(rows);
  const Groups groups;
  size_t events = 0, views = 0, help_views = 0, searches = 0, zero = 0;
  std::set<std::string> earlier_days, today;
  int day = -1;
  size_t sessions_after_day_one = 0, returning = 0;
  for (const Session& s : sessions) {
    const LogEvent& first = *s.rows.front();
    const int d = static_cast<int>((first.ts_ms - o.start_ms) / kDayMs);
    if (d != day) {
      earlier_days.insert(today.begin(), today.end());
      today.clear();
      day = d;
    }
    if (d > 0) {
      ++sessions_after_day_one;
      returning += earlier_days.count(first.visitor);
    }
    today.insert(first.visitor);
    events += s.rows.size();
    for (const LogEvent* e : s.rows) {
      if (e->type == EventType::kPageView) {
        ++views;
        const std::string pattern = groups.PatternOf(e->page);
        help_views += pattern.rfind("/help", 0) == 0 || pattern == "/contact";
      } else if (e->type == EventType::kSearch) {
        ++searches;
        zero += e->count == 0;
      }
    }
  }
  const double per_session = 1.0 * events / sessions.size();
  EXPECT_GE(per_session, 7);
  EXPECT_LE(per_session, 13);
  EXPECT_NEAR(1.0 * help_views / views, 0.06, 0.03);
  EXPECT_GT(searches, sessions.size() / 2);
  // 10% of ordinary searches find nothing, and stuck searchers add their
  // two or three each.
  EXPECT_NEAR(1.0 * zero / searches, 0.15, 0.04);
  EXPECT_NEAR(1.0 * returning / sessions_after_day_one, o.returning_share,
              0.05);
}

TEST(SimulateTest, TrafficFollowsTheDayQuietAtNight) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 6;
  std::vector<size_t> by_hour(24);
  const std::vector<LogEvent> rows = SimulateAll(o);
  for (const Session& s : Sessionize(rows)) {
    ++by_hour[((s.rows.front()->ts_ms - o.start_ms) % kDayMs) / kHourMs];
  }
  EXPECT_GT(by_hour[3], 0u);               // Some at night,
  EXPECT_GT(by_hour[20], 8 * by_hour[3]);  // far more in the evening.
}

TEST(SimulateTest, AgentsAreFreeOnlyInStaffedHours) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 2;
  size_t rows = 0, staffed = 0, staffed_free = 0;
  for (const LogEvent& e : SimulateAll(o)) {
    if (e.type != EventType::kAgents) continue;
    ++rows;
    EXPECT_EQ((e.ts_ms - o.start_ms) % (int64_t{o.agents_every_s} * 1000), 0);
    const int64_t hour = ((e.ts_ms - o.start_ms) % kDayMs) / kHourMs;
    if (hour < o.staffed_from_hour || hour >= o.staffed_to_hour) {
      EXPECT_EQ(e.count, 0) << "hour " << hour;
    } else {
      ++staffed;
      staffed_free += e.count;
    }
  }
  EXPECT_EQ(rows, static_cast<size_t>(o.days * 86400 / o.agents_every_s));
  ASSERT_GT(staffed, 0u);
  EXPECT_NEAR(1.0 * staffed_free / staffed, o.agents_staffed,
              0.2 * o.agents_staffed);
}

TEST(SimulateTest, LegacyWidgetOffersOnceAtItsDelayAndNeverAfterHelp) {
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 13;
  o.days = 3;
  const int64_t after_ms = std::llround(o.legacy_offer_after_s * 1000);
  size_t offered_sessions = 0;
  const std::vector<LogEvent> rows = SimulateAll(o);
  const std::vector<Session> sessions = Sessionize(rows);
  for (const Session& s : sessions) {
    const LogEvent* page = nullptr;
    bool engaged = false;
    int offers = 0;
    for (const LogEvent* e : s.rows) {
      if (IsPage(*e)) page = e;
      if (e->type == EventType::kOfferShown) {
        ++offers;
        EXPECT_FALSE(engaged) << e->visitor << " at " << e->ts_ms;
        ASSERT_NE(page, nullptr);
        EXPECT_EQ(e->ts_ms - page->ts_ms, after_ms);
        EXPECT_EQ(e->page, page->page);
        const int64_t hour = ((e->ts_ms - o.start_ms) % kDayMs) / kHourMs;
        EXPECT_GE(hour, o.staffed_from_hour);
        EXPECT_LE(hour, o.staffed_to_hour);  // Sessions may run over.
      }
      if (e->type == EventType::kHelpContact) {
        EXPECT_FALSE(engaged) << "asked again after help: " << e->visitor;
      }
      if (e->type == EventType::kHelpContact ||
          e->type == EventType::kOfferAccepted) {
        engaged = true;
      }
    }
    EXPECT_LE(offers, 1);
    offered_sessions += offers;
  }
  // The widget is on in 15% of sessions, offers in staffed hours to those
  // who stay 45 s somewhere.
  EXPECT_GT(offered_sessions, sessions.size() / 40);
  EXPECT_LT(offered_sessions, sessions.size() * o.legacy_offer_share);
}

TEST(SimulateTest, SinkErrorStopsTheSimulationAndIsReturned) {
  int calls = 0;
  const absl::Status s = Simulate(Small(1), [&](const LogEvent&) {
    return ++calls == 10 ? absl::DataLossError("disk full") : absl::OkStatus();
  });
  EXPECT_EQ(s, absl::DataLossError("disk full"));
  EXPECT_EQ(calls, 10);
}

TEST(SimulateTest, ValidateAcceptsTheDefaults) {
  EXPECT_TRUE(SimulatorOptions::Default().Validate().ok());
}

TEST(SimulateTest, ValidateRejectsBadOptionsNamingTheField) {
  struct Case {
    void (*mutate)(SimulatorOptions&);
    const char* message;
  };
  const Case cases[] = {
      {[](SimulatorOptions& o) { o.days = 0; },
       "simulator: days must be in [1, 3650], got 0"},
      {[](SimulatorOptions& o) { o.visitors_per_day = -5; },
       "visitors_per_day must be in [1, 200000], got -5"},
      {[](SimulatorOptions& o) { o.start_ms = -1; }, "start_ms"},
      {[](SimulatorOptions& o) { o.returning_share = 1.5; },
       "returning_share must be in [0, 1], got 1.5"},
      {[](SimulatorOptions& o) { o.search_engine_entry_share = NAN; },
       "search_engine_entry_share"},
      {[](SimulatorOptions& o) { o.groups.clear(); },
       "groups must not be empty"},
      {[](SimulatorOptions& o) { o.groups[2].normal_dwell.median_s = 0; },
       "groups[2].normal_dwell.median_s must be in (0, 3600], got 0"},
      {[](SimulatorOptions& o) { o.groups[1].stuck_dwell.sigma = -1; },
       "groups[1].stuck_dwell.sigma"},
      {[](SimulatorOptions& o) { o.groups[3].url_prefix = "search"; },
       "groups[3].url_prefix must start with '/'"},
      {[](SimulatorOptions& o) { o.groups[4].distinct_pages = 0; },
       "groups[4].distinct_pages"},
      {[](SimulatorOptions& o) { o.groups[9].page_names.pop_back(); },
       "groups[9].page_names"},
      {[](SimulatorOptions& o) { o.groups[0].stuck_weight = -1; },
       "groups[0].stuck_weight"},
      {[](SimulatorOptions& o) {
         o.groups[9].page_stuck_weight = {1, 2};
       },
       "groups[9].page_stuck_weight must be empty or hold distinct_pages (4) "
       "entries, got 2"},
      {[](SimulatorOptions& o) {
         o.groups[9].page_normal_dwell.assign(4, {30, 0.5});
         o.groups[9].page_normal_dwell[2].median_s = 0;
       },
       "groups[9].page_normal_dwell[2].median_s must be in (0, 3600]"},
      {[](SimulatorOptions& o) { o.groups[9].page_stuck_dwell.assign(3, {}); },
       "groups[9].page_stuck_dwell must be empty or hold"},
      {[](SimulatorOptions& o) {
         o.groups[9].page_stuck_weight = {0, 0, 0, 5};
       },
       "groups[9].page_stuck_weight must be positive for some step before "
       "the last"},
      {[](SimulatorOptions& o) { o.groups[4].page_stuck_weight.assign(30, 0); },
       "groups[4].page_stuck_weight must be positive for some page"},
      {[](SimulatorOptions& o) {
         o.groups[4].page_stuck_weight.assign(30, 1);
         o.groups[4].page_stuck_weight[7] = NAN;
       },
       "groups[4].page_stuck_weight[7] must be in [0, 1e6]"},
      {[](SimulatorOptions& o) {
         for (SimulatedGroup& g : o.groups) g.stuck_weight = 0;
       },
       "stuck_weight"},
      {[](SimulatorOptions& o) { o.stuck_on_page_share = 0.99; },
       "stuck_on_page_share + stuck_after_path_share + "
       "stuck_after_search_share must be at most 1"},
      {[](SimulatorOptions& o) { o.quick_ask_dwell.median_s = -3; },
       "quick_ask_dwell.median_s"},
      {[](SimulatorOptions& o) { o.give_up_share = -0.1; }, "give_up_share"},
      {[](SimulatorOptions& o) { o.mean_pages = 0.5; },
       "mean_pages must be in [1, 100], got 0.5"},
      {[](SimulatorOptions& o) { o.legacy_offer_after_s = 0; },
       "legacy_offer_after_s"},
      {[](SimulatorOptions& o) { o.decline_share = 0.7; },
       "decline_share + ignore_share must be at most 1"},
      {[](SimulatorOptions& o) { o.agents_every_s = 0; }, "agents_every_s"},
      {[](SimulatorOptions& o) { o.staffed_to_hour = 8; }, "staffed_to_hour"},
      {[](SimulatorOptions& o) {
         o.groups.erase(o.groups.begin() + 3);  // No search group left.
       },
       "stuck_after_path_share must be 0 unless"},
  };
  for (const Case& c : cases) {
    SimulatorOptions o = SimulatorOptions::Default();
    c.mutate(o);
    const absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message));
    int calls = 0;
    EXPECT_EQ(Simulate(o,
                       [&](const LogEvent&) {
                         ++calls;
                         return absl::OkStatus();
                       })
                  .code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(calls, 0);
  }
}

TEST(SimulateTest, LogNormalQuantilesMatchTheClosedForm) {
  const LogNormalSeconds d{110, 0.5};
  EXPECT_EQ(d.Quantile(0.5), 110);
  EXPECT_NEAR(d.Quantile(0.9), std::exp(std::log(110.0) + 1.2816 * 0.5),
              1e-3 * 110);
  EXPECT_NEAR(d.Quantile(0.1), std::exp(std::log(110.0) - 1.2816 * 0.5),
              1e-3 * 110);
  // z(0.975) = 1.959964, z(0.001) = -3.090232 (the tails).
  EXPECT_NEAR(d.Quantile(0.975), 110 * std::exp(0.5 * 1.959964), 1e-4);
  EXPECT_NEAR(d.Quantile(0.001), 110 * std::exp(-0.5 * 3.090232), 1e-4);
  EXPECT_EQ(LogNormalSeconds({30, 0}).Quantile(0.99), 30);
  EXPECT_EQ(d.Quantile(0), 0);
  EXPECT_TRUE(std::isinf(d.Quantile(1)));
}

TEST(SimulateTest, SampledDwellMatchesItsQuantiles) {
  // The share of a group's normal dwell (measured from the rows: page view
  // to the visitor's next event) below the option's 90th percentile is near
  // 90%, for pages that are neither last in a session nor interrupted.
  SimulatorOptions o = SimulatorOptions::Default();
  o.seed = 21;
  o.legacy_offer_share = 0;
  const SimulatedGroup& category = GroupNamed(o, "/c/*");
  const double q90 = category.normal_dwell.Quantile(0.9);
  const Groups groups;
  size_t n = 0, below = 0;
  const std::vector<LogEvent> rows = SimulateAll(o);
  for (const Session& s : Sessionize(rows)) {
    for (size_t i = 0; i + 1 < s.rows.size(); ++i) {
      const LogEvent& e = *s.rows[i];
      if (e.type != EventType::kPageView ||
          groups.PatternOf(e.page) != "/c/*") {
        continue;
      }
      ++n;
      below += (s.rows[i + 1]->ts_ms - e.ts_ms) / 1000.0 < q90;
    }
  }
  ASSERT_GT(n, 5000u);
  EXPECT_NEAR(1.0 * below / n, 0.9, 0.02);
}

}  // namespace
}  // namespace beckon
