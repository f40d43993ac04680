// The replay: metric definitions, rechecks, logged outcomes, agents, state
// carried between days, the trace, the fixed-dwell baseline, calibration.
#include "beckon/replay.h"

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "beckon/beckon.hpp"
#include "beckon/event_log.h"
#include "beckon/simulate.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"
#include "lib/offline/replay_internal.h"
#include "lib/policy_internal.h"
#include "tests/simulated_log.h"

namespace beckon {
namespace {

using testing::kMin;
using testing::kSec;
using testing::kT0;
using testing::TestPolicy;

class Log {
 public:
  Log& Add(const Event& e) {
    events_.push_back(LogEvent::FromEvent(e));
    events_.back().line = events_.size() + 1;
    return *this;
  }
  // The stuck visitor of engine_test_util.h: under the test policy an offer
  // is due 75 s after `t`.
  Log& Stuck(const std::string& v, int64_t t) {
    Add(Event::PageView(t, v, "/", "https://www.google.com/"));
    Add(Event::Search(t + 10 * kSec, v, "/search?q=a", 0));
    Add(Event::Search(t + 20 * kSec, v, "/search?q=b", 0));
    return Add(Event::PageView(t + 30 * kSec, v, "/help/returns"));
  }
  const std::vector<LogEvent>& events() const { return events_; }

 private:
  std::vector<LogEvent> events_;
};

constexpr int64_t kOfferAfter = 75 * kSec;

ReplayMetrics MustReplay(const Policy& p, const Log& log,
                         const ReplayOptions& o = {}) {
  absl::StatusOr<ReplayMetrics> m = Replay(p, log.events(), o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : ReplayMetrics();
}

struct Traced {
  int64_t ts;
  std::string visitor;
  Action action;
  Reason reason;
  bool recheck;
};

ReplayOptions Tracing(std::vector<Traced>& out) {
  ReplayOptions o;
  o.trace = [&out](const TraceRecord& r) {
    out.push_back(Traced{r.ts_ms, std::string(r.visitor), r.decision->action,
                         r.decision->reason, r.recheck});
  };
  return o;
}

TEST(Replay, MetricsFollowTheirDefinitions) {
  Log log;
  // a: stuck, offered at +75 s by a recheck, asks for help at +150 s: a hit
  // with a 75 s lead.
  log.Stuck("a", kT0);
  log.Add(Event::HelpContact(kT0 + 150 * kSec, "a", "/help/returns",
                             Channel::kChat));
  // b: the same path, but the help page is b's last event: dwell unknown,
  // no recheck fires after it, no offer.
  log.Stuck("b", kT0 + 1 * kSec);
  // c: asks for help 5 s in; never offered.
  log.Add(Event::PageView(kT0 + 2 * kSec, "c", "/"));
  log.Add(Event::HelpContact(kT0 + 7 * kSec, "c", "/contact", Channel::kCall));
  // d: browses briefly.
  log.Add(Event::PageView(kT0 + 3 * kSec, "d", "/p/1"));
  log.Add(Event::PageView(kT0 + 13 * kSec, "d", "/p/2"));

  std::vector<Traced> trace;
  const ReplayMetrics m = MustReplay(TestPolicy(), log, Tracing(trace));
  EXPECT_EQ(m.sessions, 4u);
  EXPECT_EQ(m.offered_sessions, 1u);
  EXPECT_EQ(m.offers, 1u);
  EXPECT_EQ(m.help_sessions, 2u);
  EXPECT_EQ(m.hits, 1u);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.offer_rate, 0.25);
  EXPECT_DOUBLE_EQ(m.median_lead_s, 75.0);
  EXPECT_DOUBLE_EQ(m.median_offer_after_start_s, 75.0);
  EXPECT_DOUBLE_EQ(m.median_offer_page_index, 2.0);  // "/" and the help page.
  EXPECT_EQ(m.offers_after_decline, 0u);
  EXPECT_EQ(m.offers_without_agents, 0u);
  EXPECT_EQ(m.events, log.events().size());

  int offers = 0;
  for (const Traced& t : trace) {
    if (t.action != Action::kOffer) continue;
    ++offers;
    EXPECT_EQ(t.visitor, "a");
    EXPECT_EQ(t.ts, kT0 + kOfferAfter);
    EXPECT_TRUE(t.recheck);
  }
  EXPECT_EQ(offers, 1);
  // One decision after every event, plus the rechecks.
  EXPECT_EQ(m.decisions, log.events().size() + m.rechecks);
  EXPECT_GE(m.rechecks, 1u);

  // Per group: the offer and the hit came on /help/* (returns pages).
  bool found = false;
  for (const GroupReplayCounts& g : m.groups) {
    if (g.pattern != "/help/*") continue;
    found = true;
    EXPECT_EQ(g.sessions, 2u);  // a and b viewed it.
    EXPECT_EQ(g.offered_sessions, 1u);
    EXPECT_EQ(g.hits, 1u);
    EXPECT_EQ(g.help_sessions, 1u);  // a asked there; c on /contact.
  }
  EXPECT_TRUE(found);
}

// One set of session rules (issue 13): the sessions the replay counts
// (PreparedLog numbers them: sessions, help sessions, offered sessions,
// hits) start at exactly the rows where the engine starts one. The log: the
// varied shop's, whose legacy widget shows offers in the middle of visits,
// plus hand-made corners around the timeout: a gap of exactly the timeout
// (one session), a millisecond more (two), a host's offer_shown inside the
// gap (the engine counts it as the visitor's last event, so it keeps the
// session alive), and an offer_shown after the timeout (a new session).
TEST(Replay, SessionsAreTheEnginesSessions) {
  SimulatorOptions o = SimulatorOptions::VariedShop();
  o.days = 2;
  o.seed = 9;
  o.visitors_per_day = 1500;
  std::vector<LogEvent> log = testing_util::Simulated(o);
  const Policy policy = Policy::Default();
  const int64_t timeout =
      internal::PolicyInternal::Message(policy).session().timeout_s() * 1000;
  const int64_t t = o.start_ms + 3600 * kSec;
  for (const Event& e : {
           Event::PageView(t, "edge", "/"),
           Event::PageView(t + timeout, "edge", "/c/shoes"),
           Event::PageView(t + 2 * timeout + 1, "edge", "/c/boots"),
           Event::PageView(t, "kept", "/"),
           Event::OfferShown(t + timeout - 5 * kSec, "kept", "/",
                             Channel::kChat),
           Event::PageView(t + 2 * timeout - 5 * kSec, "kept", "/cart"),
           Event::PageView(t, "late", "/"),
           Event::OfferShown(t + timeout + 1, "late", "/", Channel::kChat),
       }) {
    log.push_back(LogEvent::FromEvent(e));
  }
  const internal::PreparedLog prepared(log, timeout);
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(policy);
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::vector<int64_t> last_row(prepared.visitor_ids.size(), -1);
  uint64_t started = 0, rows = 0, mismatches = 0;
  for (size_t i = 0; i < prepared.order.size(); ++i) {
    const LogEvent& e = *prepared.order[i];
    ASSERT_TRUE((*engine)->Observe(e.ToEvent()).ok()) << "row " << i;
    const uint64_t now = (*engine)->Stats().sessions_started;
    const bool engine_new = now > started;
    started = now;
    if (prepared.visitor[i] == internal::kNoVisitor) {
      EXPECT_FALSE(engine_new) << "row " << i;
      continue;
    }
    int64_t& prev = last_row[prepared.visitor[i]];
    const bool log_new =
        prev < 0 ||
        prepared.session[i] != prepared.session[static_cast<size_t>(prev)];
    prev = static_cast<int64_t>(i);
    ++rows;
    if (engine_new != log_new && mismatches++ < 5) {
      ADD_FAILURE() << "row " << i << " (" << e.visitor << " at " << e.ts_ms
                    << "): engine " << (engine_new ? "starts" : "continues")
                    << " a session, the replay's log "
                    << (log_new ? "starts" : "continues") << " one";
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << rows << " rows";
  EXPECT_EQ(started, prepared.sessions);
  // The corners: edge has two sessions, kept one, late two.
  auto sessions_of = [&](std::string_view v) {
    std::set<uint32_t> s;
    for (size_t i = 0; i < prepared.order.size(); ++i) {
      if (prepared.order[i]->visitor == v) s.insert(prepared.session[i]);
    }
    return s.size();
  };
  EXPECT_EQ(sessions_of("edge"), 2u);
  EXPECT_EQ(sessions_of("kept"), 1u);
  EXPECT_EQ(sessions_of("late"), 2u);
  // And the replay reports the engine's count.
  absl::StatusOr<ReplayMetrics> m = Replay(policy, log);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->sessions, started);
}

TEST(Replay, OfferAfterTheContactIsNotAHit) {
  Log log;
  log.Stuck("a", kT0);
  log.Add(Event::HelpContact(kT0 + 40 * kSec, "a", "/help/returns",
                             Channel::kChat));
  log.Add(Event::PageView(kT0 + 200 * kSec, "a", "/p/1"));
  const ReplayMetrics m = MustReplay(TestPolicy(), log);
  EXPECT_EQ(m.help_sessions, 1u);
  EXPECT_EQ(m.offered_sessions, 0u);  // Engaged after asking: no offer.
  EXPECT_EQ(m.hits, 0u);
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
}

TEST(Replay, LoggedDeclineStopsReOffers) {
  Log log;
  log.Add(Event::PageView(kT0, "v", "/p/1"));
  log.Add(Event::OfferShown(kT0 + 5 * kSec, "v", "/p/1", Channel::kChat));
  log.Add(Event::OfferDeclined(kT0 + 8 * kSec, "v", "/p/1", Channel::kChat));
  // A new session an hour later, stuck: would be offered without the
  // decline.
  log.Stuck("v", kT0 + 60 * kMin);
  log.Add(Event::PageView(kT0 + 60 * kMin + 300 * kSec, "v", "/"));
  std::vector<Traced> trace;
  const ReplayMetrics m = MustReplay(TestPolicy(), log, Tracing(trace));
  EXPECT_EQ(m.offers, 0u);
  EXPECT_EQ(m.offers_after_decline, 0u);
  bool declined = false;
  for (const Traced& t : trace) declined |= t.reason == Reason::kDeclined;
  EXPECT_TRUE(declined);

  // The same stuck session without the decline is offered: the gate, not
  // the path, stopped it.
  Log fresh;
  fresh.Stuck("v", kT0 + 60 * kMin);
  fresh.Add(Event::PageView(kT0 + 60 * kMin + 300 * kSec, "v", "/"));
  EXPECT_EQ(MustReplay(TestPolicy(), fresh).offers, 1u);
}

TEST(Replay, NoOfferWhileNoAgentIsFree) {
  Log log;
  log.Add(Event::Agents(kT0 - kSec, 0));
  log.Stuck("a", kT0);
  log.Add(Event::PageView(kT0 + 300 * kSec, "a", "/"));
  std::vector<Traced> trace;
  ReplayMetrics m = MustReplay(TestPolicy(), log, Tracing(trace));
  EXPECT_EQ(m.offers, 0u);
  EXPECT_EQ(m.offers_without_agents, 0u);
  bool gated = false;
  for (const Traced& t : trace) gated |= t.reason == Reason::kNoAgents;
  EXPECT_TRUE(gated);

  // An agent frees up before the offer is due: the offer comes.
  log.Add(Event::Agents(kT0 + 40 * kSec, 3));
  m = MustReplay(TestPolicy(), log);
  EXPECT_EQ(m.offers, 1u);
  EXPECT_EQ(m.offers_without_agents, 0u);
}

TEST(Replay, SavedStateCarriesDeclinesToTheNextDay) {
  const std::string state = ::testing::TempDir() + "/replay_state.bin";
  Log day1;
  day1.Add(Event::PageView(kT0, "v", "/p/1"));
  day1.Add(Event::OfferShown(kT0 + 5 * kSec, "v", "/p/1", Channel::kChat));
  day1.Add(Event::OfferDeclined(kT0 + 8 * kSec, "v", "/p/1", Channel::kChat));
  ReplayOptions save;
  save.save_state_path = state;
  MustReplay(TestPolicy(), day1, save);

  Log day2;
  day2.Stuck("v", kT0 + testing::kDay);
  day2.Add(Event::PageView(kT0 + testing::kDay + 300 * kSec, "v", "/"));
  EXPECT_EQ(MustReplay(TestPolicy(), day2).offers, 1u);  // Forgotten.
  ReplayOptions load;
  load.load_state_path = state;
  const ReplayMetrics m = MustReplay(TestPolicy(), day2, load);
  EXPECT_EQ(m.offers, 0u);  // Remembered.
  EXPECT_EQ(m.offers_after_decline, 0u);
  std::remove(state.c_str());
}

TEST(Replay, MissingStateFileIsAnError) {
  Log log;
  log.Add(Event::PageView(kT0, "v", "/"));
  ReplayOptions o;
  o.load_state_path = ::testing::TempDir() + "/no/such/state.bin";
  absl::StatusOr<ReplayMetrics> m = Replay(TestPolicy(), log.events(), o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("state.bin"),
            std::string::npos)
      << m.status();
}

TEST(Replay, RejectedEventIsAnErrorNamingItsLine) {
  Log log;
  log.Add(Event::PageView(kT0, "v", "/"));
  LogEvent bad = LogEvent::FromEvent(Event::Cart(kT0 + kSec, "v", "/cart", 1));
  bad.value = -5;  // The reader would refuse this; the engine does too.
  bad.line = 7;
  std::vector<LogEvent> events = log.events();
  events.push_back(bad);
  absl::StatusOr<ReplayMetrics> m = Replay(TestPolicy(), events);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("line 7"),
            std::string::npos)
      << m.status();
}

TEST(Replay, UnsortedLogIsReplayedInTimeOrder) {
  Log log;
  log.Stuck("a", kT0);
  log.Add(Event::HelpContact(kT0 + 150 * kSec, "a", "/help/returns",
                             Channel::kChat));
  std::vector<LogEvent> reversed(log.events().rbegin(), log.events().rend());
  const ReplayMetrics m = MustReplay(TestPolicy(), log);
  absl::StatusOr<ReplayMetrics> r = Replay(TestPolicy(), reversed);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ToJson(), m.ToJson());
}

TEST(Replay, InterruptStopsWithCancelled) {
  Log log;
  log.Add(Event::PageView(kT0, "v", "/"));
  ReplayOptions o;
  o.interrupted = [] { return true; };
  absl::StatusOr<ReplayMetrics> m = Replay(TestPolicy(), log.events(), o);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kCancelled);
}

TEST(Replay, MetricsJsonHasTheContractKeys) {
  Log log;
  log.Stuck("a", kT0);
  log.Add(Event::HelpContact(kT0 + 150 * kSec, "a", "/help/returns",
                             Channel::kChat));
  const std::string json = MustReplay(TestPolicy(), log).ToJson();
  for (const char* key :
       {"\"sessions\":1", "\"offered_sessions\":1", "\"offers\":1",
        "\"help_sessions\":1", "\"hits\":1", "\"precision\":1",
        "\"recall\":1", "\"offer_rate\":1", "\"median_lead_s\":75",
        "\"offers_after_decline\":0", "\"offers_without_agents\":0",
        "\"groups\":[{\"pattern\":"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
}

TEST(Replay, TraceLinesCarryTheContractFields) {
  Log log;
  log.Stuck("a\"b", kT0);  // A quote in the id must be escaped.
  log.Add(Event::PageView(kT0 + 200 * kSec, "a\"b", "/"));
  std::vector<std::string> lines;
  ReplayOptions o;
  o.trace = [&](const TraceRecord& r) { lines.push_back(TraceToJson(r)); };
  MustReplay(TestPolicy(), log, o);
  ASSERT_FALSE(lines.empty());
  bool offer = false;
  for (const std::string& l : lines) {
    EXPECT_EQ(l.front(), '{');
    EXPECT_EQ(l.back(), '}');
    for (const char* key : {"\"ts_ms\":", "\"visitor\":\"a\\\"b\"",
                            "\"action\":", "\"probability\":",
                            "\"reasons\":["}) {
      EXPECT_NE(l.find(key), std::string::npos) << key << " in " << l;
    }
    offer |= l.find("\"action\":\"offer\"") != std::string::npos;
  }
  EXPECT_TRUE(offer);
}

// Two stuck visitors offered at +75 s (by a recheck; the host shows the
// offer 100 ms later): "a" accepts, "b" declines; "c" browses.
Log ProductionLog() {
  Log log;
  log.Stuck("a", kT0);
  log.Add(Event::OfferShown(kT0 + kOfferAfter + 100, "a", "/help/returns",
                            Channel::kChat));
  log.Add(Event::OfferAccepted(kT0 + kOfferAfter + 5 * kSec, "a",
                               "/help/returns", Channel::kChat));
  log.Add(Event::PageView(kT0 + 300 * kSec, "a", "/"));
  log.Stuck("b", kT0 + kSec);
  log.Add(Event::OfferShown(kT0 + kSec + kOfferAfter + 100, "b",
                            "/help/returns", Channel::kChat));
  log.Add(Event::OfferDeclined(kT0 + kSec + kOfferAfter + 3 * kSec, "b",
                               "/help/returns", Channel::kChat));
  log.Add(Event::PageView(kT0 + 300 * kSec, "b", "/"));
  log.Add(Event::PageView(kT0 + 2 * kSec, "c", "/p/1"));
  log.Add(Event::PageView(kT0 + 12 * kSec, "c", "/p/2"));
  return log;
}

TEST(ReplayDecisions, JoinsProductionDecisionsAtTheSameMoments) {
  const Log log = ProductionLog();
  // Production: an engine with a visitor key, logging every decision to a
  // file and a sink (the replay drives it as a host would).
  const std::string path = ::testing::TempDir() + "/replay_decisions.jsonl";
  std::remove(path.c_str());
  std::vector<LoggedDecisionRecord> sunk;
  ReplayOptions prod;
  prod.engine.visitor_key = {11, 13};
  prod.engine.decision_log_path = path;
  prod.engine.decision_sink = [&](const LoggedDecision& d) {
    LoggedDecisionRecord r;
    r.ts_ms = d.ts_ms;
    r.visitor_hash = d.visitor_hash;
    r.action = d.action;
    r.reason = d.reason;
    r.policy_version = std::string(d.policy_version);
    sunk.push_back(r);
  };
  const ReplayMetrics pm = MustReplay(TestPolicy(), log, prod);
  ASSERT_EQ(pm.offers, 2u);
  // The file reads back as the sink saw it.
  absl::StatusOr<std::vector<LoggedDecisionRecord>> read =
      ReadDecisionLog(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), sunk.size());
  for (size_t i = 0; i < sunk.size(); ++i) {
    EXPECT_EQ((*read)[i].ts_ms, sunk[i].ts_ms);
    EXPECT_EQ((*read)[i].visitor_hash, sunk[i].visitor_hash);
    EXPECT_EQ((*read)[i].action, sunk[i].action);
    EXPECT_EQ((*read)[i].reason, sunk[i].reason);
    EXPECT_EQ((*read)[i].policy_version, sunk[i].policy_version);
    EXPECT_EQ((*read)[i].line, i + 1);
  }

  // The same policy under the same key agrees everywhere.
  ReplayOptions o;
  o.engine.visitor_key = {11, 13};
  o.production_decisions = &*read;
  const ReplayMetrics same = MustReplay(TestPolicy(), log, o);
  ASSERT_TRUE(same.production.has_value());
  const DecisionAgreement& a = *same.production;
  EXPECT_EQ(a.production_decisions, read->size());
  EXPECT_EQ(a.unknown_visitors, 0u);
  EXPECT_EQ(a.matched, read->size());
  EXPECT_EQ(a.same_action, read->size());
  EXPECT_DOUBLE_EQ(a.agreement, 1.0);
  EXPECT_EQ(a.offers_both, 2u);
  EXPECT_EQ(a.offers_production_only + a.offers_replay_only, 0u);
  EXPECT_EQ(a.offered_sessions_both, 2u);
  // How production's offers were answered, from the event log.
  EXPECT_EQ(a.production_offers, 2u);
  EXPECT_EQ(a.production_offers_accepted, 1u);
  EXPECT_EQ(a.production_offers_declined, 1u);
  EXPECT_EQ(a.production_offers_ignored + a.production_offers_unanswered, 0u);
  const std::string json = same.ToJson();
  for (const char* k :
       {"\"production\":{", "\"matched\":", "\"agreement\":1",
        "\"offers_production_only\":0", "\"production_offers_accepted\":1"}) {
    EXPECT_NE(json.find(k), std::string::npos) << k << " in " << json;
  }
  // Without production decisions the key is absent.
  EXPECT_EQ(MustReplay(TestPolicy(), log).ToJson().find("\"production\""),
            std::string::npos);

  // A policy that never offers: production's offers are its own.
  absl::StatusOr<Policy> never = WithDecisionThreshold(TestPolicy(), 1 - 1e-9);
  ASSERT_TRUE(never.ok());
  const ReplayMetrics other = MustReplay(*never, log, o);
  ASSERT_TRUE(other.production.has_value());
  EXPECT_EQ(other.offers, 0u);
  EXPECT_EQ(other.production->offers_both, 0u);
  EXPECT_EQ(other.production->offers_production_only, 2u);
  EXPECT_EQ(other.production->offered_sessions_production_only, 2u);
  EXPECT_LT(other.production->agreement, 1.0);

  // Another visitor key finds none of production's visitors: an error that
  // says what to do.
  o.engine.visitor_key = {1, 2};
  absl::StatusOr<ReplayMetrics> wrong = Replay(TestPolicy(), log.events(), o);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(wrong.status().message()).find("visitor key"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(ReplayDecisions, BadDecisionLogLinesNameTheFileAndLine) {
  const std::string good =
      "{\"ts_ms\":1700000000000,\"visitor_hash\":\"00000000000000ff\","
      "\"action\":\"offer\",\"reason\":\"score\",\"probability\":0.5,"
      "\"threshold\":0.4,\"would_offer\":false,\"recheck_at_ms\":null,"
      "\"group\":\"/help/*\",\"policy\":\"p\",\"policy_version\":\"abc\","
      "\"added_later\":\"skipped\"}";
  absl::StatusOr<std::vector<LoggedDecisionRecord>> ok =
      ParseDecisionLog(good + "\r\n" + good + "\n", "d.jsonl");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].visitor_hash, 255u);
  EXPECT_EQ((*ok)[1].action, Action::kOffer);
  EXPECT_EQ((*ok)[1].reason, Reason::kScore);
  EXPECT_EQ((*ok)[1].group, "/help/*");
  EXPECT_EQ((*ok)[1].line, 2u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[1]", "not a JSON object"},
      {"{\"ts_ms\":1}", "missing visitor_hash, action, reason"},
      {"{\"ts_ms\":1,\"visitor_hash\":\"xyz\",\"action\":\"offer\","
       "\"reason\":\"score\"}",
       "visitor_hash must be 16 hex digits"},
      {"{\"ts_ms\":1,\"visitor_hash\":\"00000000000000ff\",\"action\":"
       "\"maybe\",\"reason\":\"score\"}",
       "unknown action \"maybe\""},
      {"{\"ts_ms\":1.5}", "ts_ms must be a whole number"},
      {"{\"ts_ms\":1} x", "text after the object"},
      {"{\"ts_ms\":1,\"group\":{}}", "nested"},
      {"", "empty line"},
      {"ts_ms,visitor,event,page,detail", "not a JSON object"},
  };
  for (const auto& [line, what] : bad) {
    absl::StatusOr<std::vector<LoggedDecisionRecord>> r =
        ParseDecisionLog(good + "\n" + line + "\n" + good + "\n", "d.jsonl");
    ASSERT_FALSE(r.ok()) << line;
    const std::string m(r.status().message());
    EXPECT_NE(m.find("d.jsonl: line 2: "), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
  absl::StatusOr<std::vector<LoggedDecisionRecord>> missing =
      ReadDecisionLog("/nonexistent/decisions.jsonl");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("/nonexistent"),
            std::string::npos);
}

// Issue 13: on a log where every session is stuck (uncapped, nearly all are
// offered), the offer-rate cap holds the policy's offer rate near its share,
// with no agent counts in the log: the case of a policy taken to a site
// whose visitors score higher than those it was trained on.
TEST(Replay, TheOfferRateCapHoldsTheOfferRateNearItsShare) {
  Log log;
  // 600 stuck sessions, one every 2 s for 20 minutes, each leaving after
  // 400 s: about 150 sessions start in any 300 s window.
  for (int i = 0; i < 600; ++i) {
    const std::string v = "s" + std::to_string(i);
    const int64_t t = kT0 + i * 2 * kSec;
    log.Stuck(v, t);
    log.Add(Event::PageView(t + 400 * kSec, v, "/"));
  }
  const ReplayMetrics open = MustReplay(TestPolicy(), log);
  EXPECT_GT(open.offer_rate, 0.9);
  std::vector<Traced> trace;
  const ReplayMetrics capped =
      MustReplay(TestPolicy([](proto::Policy& p) {
                   p.mutable_gates()->set_max_offer_share(0.1);
                 }),
                 log, Tracing(trace));
  EXPECT_EQ(capped.sessions, open.sessions);
  EXPECT_NEAR(capped.offer_rate, 0.1, 0.025);
  uint64_t held = 0;
  for (const Traced& t : trace) held += t.reason == Reason::kOfferRateCap;
  EXPECT_GT(held, 100u);
}

TEST(FixedDwell, OffersOnceAfterTSecondsOnAnyPage) {
  absl::StatusOr<Policy> p = FixedDwellPolicy(TestPolicy(), 30);
  ASSERT_TRUE(p.ok()) << p.status();
  Log log;
  log.Add(Event::PageView(kT0, "v", "/anything/at/all"));
  log.Add(Event::PageView(kT0 + 100 * kSec, "v", "/p/9"));
  log.Add(Event::PageView(kT0 + 200 * kSec, "v", "/"));
  log.Add(Event::PageView(kT0, "w", "/c/1"));
  log.Add(Event::PageView(kT0 + 20 * kSec, "w", "/c/2"));  // Too short.
  std::vector<Traced> trace;
  const ReplayMetrics m = MustReplay(*p, log, Tracing(trace));
  EXPECT_EQ(m.offers, 1u);
  for (const Traced& t : trace) {
    if (t.action == Action::kOffer) {
      EXPECT_EQ(t.visitor, "v");
      EXPECT_EQ(t.ts, kT0 + 30 * kSec);
    }
  }
}

TEST(FixedDwell, RejectsBadSeconds) {
  for (double s : {0.0, -1.0, 1e9, std::nan("")}) {
    absl::StatusOr<Policy> p = FixedDwellPolicy(TestPolicy(), s);
    EXPECT_FALSE(p.ok()) << s;
  }
}

// 100 visitors who stay 1..100 s on a page before moving on.
Log Dwellers() {
  Log log;
  for (int i = 1; i <= 100; ++i) {
    const std::string v = "v" + std::to_string(i);
    log.Add(Event::PageView(kT0 + i, v, "/p/1"));
    log.Add(Event::PageView(kT0 + i + i * kSec, v, "/p/2"));
  }
  return log;
}

TEST(Calibrate, FixedDwellReachesTheTargetRate) {
  absl::StatusOr<Calibration> c =
      CalibrateFixedDwell(TestPolicy(), Dwellers().events(), 0.3);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NEAR(c->metrics.offer_rate, 0.3, 0.011);
  // Visitors staying longer than T are offered: about 70 s.
  EXPECT_NEAR(c->setting, 70, 1.5);
}

TEST(Calibrate, DecisionThresholdMovesTheOfferRate) {
  Log log;
  for (int i = 0; i < 40; ++i) {
    const std::string v = "s" + std::to_string(i);
    const int64_t t = kT0 + i * kSec;
    if (i % 2 == 0) {
      log.Stuck(v, t);  // Clearly stuck.
    } else {
      log.Add(Event::PageView(t, v, "/help/returns"));  // Just reading.
    }
    log.Add(Event::PageView(t + 400 * kSec, v, "/"));
  }
  absl::StatusOr<Calibration> low =
      CalibrateDecisionThreshold(TestPolicy(), log.events(), 0.5);
  ASSERT_TRUE(low.ok()) << low.status();
  EXPECT_NEAR(low->metrics.offer_rate, 0.5, 0.03);
  absl::StatusOr<Calibration> high =
      CalibrateDecisionThreshold(TestPolicy(), log.events(), 0.9);
  ASSERT_TRUE(high.ok()) << high.status();
  EXPECT_LT(high->setting, low->setting);
  EXPECT_GT(high->metrics.offer_rate, low->metrics.offer_rate);
  EXPECT_FALSE(CalibrateDecisionThreshold(TestPolicy(), log.events(), 1.5).ok());
}

TEST(WithDecisionThreshold, KeepsTheScarceAgentRaiseInProportion) {
  // Default: threshold 0.5, 0.75 at one agent: halfway to 1.
  absl::StatusOr<Policy> p = WithDecisionThreshold(Policy::Default(), 0.2);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_DOUBLE_EQ(
      internal::PolicyInternal::Message(*p).model().decision_threshold(), 0.2);
  EXPECT_DOUBLE_EQ(
      internal::PolicyInternal::Message(*p).gates().threshold_at_one_agent(),
      0.6);
  EXPECT_FALSE(WithDecisionThreshold(Policy::Default(), 1.0).ok());
  EXPECT_FALSE(WithDecisionThreshold(Policy::Default(), 0.0).ok());
}

}  // namespace
}  // namespace beckon
