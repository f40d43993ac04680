#include "beckon/replay.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "lib/file_util.h"
#include "lib/json.h"
#include "lib/offline/lift.h"
#include "lib/offline/replay_internal.h"
#include "lib/page_matcher.h"
#include "lib/string_views.h"
#include "policy_internal.h"

namespace beckon {
namespace internal {

PreparedLog::PreparedLog(const std::vector<LogEvent>& events,
                         int64_t timeout)
    : timeout_ms(timeout) {
  order.reserve(events.size());
  for (const LogEvent& e : events) order.push_back(&e);
  auto earlier = [](const LogEvent* a, const LogEvent* b) {
    return a->ts_ms < b->ts_ms;
  };
  // Logs are mostly written in time order: then there is nothing to sort.
  if (!std::is_sorted(order.begin(), order.end(), earlier)) {
    std::stable_sort(order.begin(), order.end(), earlier);
  }
  Number();
}

PreparedLog::PreparedLog(std::vector<const LogEvent*> sorted_rows,
                         int64_t timeout)
    : timeout_ms(timeout), order(std::move(sorted_rows)) {
  Number();
}

void PreparedLog::Number() {
  const size_t n = order.size();
  visitor.assign(n, kNoVisitor);
  session.assign(n, 0);
  next_ts.assign(n, -1);
  next_row.assign(n, -1);
  absl::flat_hash_map<std::string_view, uint32_t> ids;
  std::vector<size_t> last_row;  // Per visitor: index of their last row.
  for (size_t i = 0; i < n; ++i) {
    const LogEvent& e = *order[i];
    if (e.type == EventType::kAgents) continue;
    auto [it, added] =
        ids.try_emplace(e.visitor, static_cast<uint32_t>(visitor_ids.size()));
    const uint32_t v = it->second;
    visitor[i] = v;
    if (added) {
      visitor_ids.push_back(e.visitor);
      last_row.push_back(i);
    } else {
      const size_t prev = last_row[v];
      if (e.ts_ms - order[prev]->ts_ms <= timeout_ms) {
        session[i] = session[prev];
        next_ts[prev] = e.ts_ms;
        next_row[prev] = static_cast<int64_t>(i);
        last_row[v] = i;
        continue;
      }
      last_row[v] = i;
    }
    session[i] = sessions++;
    session_start.push_back(e.ts_ms);
  }
}

double ThresholdOfLogOdds(double z) {
  return std::clamp(1.0 / (1.0 + std::exp(-z)), 1e-6, 1 - 1e-6);
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  // The two order statistics, without sorting everything.
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double at_lo = v[lo];
  const double at_hi =
      hi == lo ? at_lo : *std::min_element(v.begin() + hi, v.end());
  return at_lo + (at_hi - at_lo) * (pos - static_cast<double>(lo));
}

namespace {

constexpr uint16_t kUnlisted = kUnlistedGroup;
constexpr uint32_t kNoLiftSession = 0xFFFFFFFF;

void Finish(ReplayCounts& c, std::vector<double> leads) {
  c.precision = c.offered_sessions
                    ? static_cast<double>(c.hits) / c.offered_sessions
                    : 0.0;
  c.recall =
      c.help_sessions ? static_cast<double>(c.hits) / c.help_sessions : 0.0;
  c.offer_rate = c.sessions
                     ? static_cast<double>(c.offered_sessions) / c.sessions
                     : 0.0;
  c.median_lead_s = Quantile(std::move(leads), 0.5);
}

struct SessionState {
  int64_t first_offer = -1;
  int64_t first_help = -1;
  uint16_t offer_group = kUnlisted;
  uint16_t help_group = kUnlisted;
  uint32_t pages = 0;
  uint32_t offer_page_index = 0;
};

// A visitor's moment for the lift: its session (kNoLiftSession before it)
// and what happened after it there.
struct LiftMoment {
  uint32_t session = kNoLiftSession;
  uint16_t group = kUnlisted;
  bool holdout = false;
  bool offered = false;
  bool purchased = false;
  bool contacted = false;
  double revenue = 0;
  double score = 0;
  bool past_score = false;
  double offer_probability = 0;
  int64_t at = 0;
  void Outcome(const LogEvent& e, uint32_t in_session) {
    if (session != in_session) return;
    if (e.type == EventType::kPurchase) {
      purchased = true;
      revenue += e.value;
    } else if (e.type == EventType::kHelpContact) {
      contacted = true;
    }
  }
};

struct VisitorState {
  uint32_t session = 0xFFFFFFFF;
  uint16_t group = kUnlisted;  // Group of the current page.
  uint32_t generation = 0;     // Bumped by each event: stale rechecks die.
  int64_t declined_at = -1;    // Last logged decline.
  std::vector<uint16_t> groups_seen;  // This session's groups.
  // The measured lift: the visitor's first eligible moment, and their
  // scored moment (replay.h, LiftSample).
  LiftMoment lift, scored;
};

}  // namespace

bool EligibleDecision(const Decision& d) {
  switch (d.reason) {
    case Reason::kScore:
      return d.action == Action::kOffer;
    case Reason::kHoldout:
    case Reason::kNoAgents:
    case Reason::kRateCap:
    case Reason::kOfferRateCap:
      return true;
    default:
      return false;
  }
}

namespace {

// Rechecks after row `i` fire before this time: the visitor's next event,
// or just after it if that is an offer_shown (a host shows an offer in the
// millisecond it was decided: a recheck then is the decision that made
// it). -1 if the visitor is gone after row `i`.
int64_t RecheckLimit(const PreparedLog& log, size_t i) {
  const int64_t next = log.next_ts[i];
  if (next < 0) return next;
  const EventType t = log.order[static_cast<size_t>(log.next_row[i])]->type;
  return t == EventType::kOfferShown ? next + 1 : next;
}

// A Recheck of this generation fires whatever the visitor did since.
constexpr uint32_t kAnyGeneration = 0xFFFFFFFF;

struct Recheck {
  int64_t at;
  uint64_t seq;
  uint32_t visitor;
  uint32_t generation;
  int64_t next_ts;  // The visitor's next event: rechecks stop before it.
  bool operator>(const Recheck& o) const {
    return at != o.at ? at > o.at : seq > o.seq;
  }
};

// The lift's arms, overall and by the eligible moment's group.
struct LiftArms {
  uint64_t offered_arm = 0, offered = 0, holdout_arm = 0;
  MeanVar purchase[2], contact[2], revenue[2];  // [0] offered, [1] holdout.
  void Add(const LiftMoment& m) {
    const int arm = m.holdout ? 1 : 0;
    ++(arm ? holdout_arm : offered_arm);
    if (m.offered) ++offered;
    purchase[arm].Add(m.purchased ? 1 : 0);
    contact[arm].Add(m.contacted ? 1 : 0);
    revenue[arm].Add(m.revenue);
  }
  void To(LiftCounts& c) const {
    c.offered_arm = offered_arm;
    c.offered = offered;
    c.holdout_arm = holdout_arm;
    c.purchase_rate = Difference(purchase[0], purchase[1]);
    c.contact_rate = Difference(contact[0], contact[1]);
    c.revenue_per_session = Difference(revenue[0], revenue[1]);
  }
};

ReplayLift LiftOf(const std::vector<VisitorState>& visitors,
                  const proto::Policy& p, size_t n_groups) {
  LiftArms all;
  std::vector<LiftArms> by_group(n_groups);
  std::vector<QiniVisitor> ranked;
  for (const VisitorState& vs : visitors) {
    if (vs.scored.session != kNoLiftSession) {
      ranked.push_back(
          {vs.scored.score, vs.scored.holdout, vs.scored.purchased});
    }
    const LiftMoment& m = vs.lift;
    if (m.session == kNoLiftSession) continue;
    all.Add(m);
    by_group[m.group == kUnlisted ? n_groups - 1 : m.group].Add(m);
  }
  ReplayLift lift;
  all.To(lift);
  lift.qini = QiniOf(std::move(ranked), !p.model().has_uplift() ? "probability"
                                        : p.model().uplift().by_value()
                                            ? "uplift x value"
                                            : "uplift");
  for (size_t g = 0; g < n_groups; ++g) {
    const LiftArms& a = by_group[g];
    if (a.offered_arm + a.holdout_arm == 0) continue;
    GroupLift out;
    a.To(out);
    out.pattern = g == n_groups - 1 ? "(unlisted)"
                                    : p.groups(static_cast<int>(g)).pattern();
    lift.groups.push_back(std::move(out));
  }
  std::stable_sort(lift.groups.begin(), lift.groups.end(),
                   [](const GroupLift& a, const GroupLift& b) {
                     return a.offered_arm + a.holdout_arm >
                            b.offered_arm + b.holdout_arm;
                   });
  return lift;
}

}  // namespace

absl::StatusOr<ReplayMetrics> RunReplay(const Policy& policy,
                                        const PreparedLog& log,
                                        const ReplayOptions& options) {
  // State files carry only a fingerprint of the visitor key: unless one is
  // given, the key lives in a key file beside the state ("<state>.key").
  Engine::Options engine_options = options.engine;
  const bool key_given = engine_options.visitor_key[0] != 0 ||
                         engine_options.visitor_key[1] != 0 ||
                         !engine_options.visitor_key_file.empty();
  std::string copy_key_to;  // The saved state's key file, if another.
  if (!key_given && !options.load_state_path.empty()) {
    const std::string key_path = options.load_state_path + ".key";
    if (::access(key_path.c_str(), F_OK) != 0 &&
        ::access(options.load_state_path.c_str(), F_OK) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state file ", options.load_state_path, " has no key file ",
          key_path, " beside it (saved with another visitor key: give that "
          "key in the engine options)"));
    }
    engine_options.visitor_key_file = key_path;
    if (!options.save_state_path.empty() &&
        options.save_state_path != options.load_state_path) {
      copy_key_to = options.save_state_path + ".key";
    }
  } else if (!key_given && !options.save_state_path.empty()) {
    engine_options.visitor_key_file = options.save_state_path + ".key";
  }
  absl::StatusOr<std::unique_ptr<Engine>> created =
      Engine::Create(policy, engine_options);
  if (!created.ok()) return created.status();
  Engine& engine = **created;
  if (!options.load_state_path.empty()) {
    if (absl::Status s = engine.RestoreFromFile(options.load_state_path);
        !s.ok()) {
      return s;
    }
  }
  const proto::Policy& p = internal::PolicyInternal::Message(policy);
  const PageMatcher matcher(p);
  // Pages repeat: each distinct one is classified once (the first 64k
  // distinct pages; the rest each time, so memory stays bounded).
  absl::flat_hash_map<std::string_view, uint16_t> group_of_page;
  auto group_of = [&](std::string_view page) -> uint16_t {
    if (auto it = group_of_page.find(page); it != group_of_page.end()) {
      return it->second;
    }
    const uint16_t g = matcher.Classify(page).group;
    if (group_of_page.size() < (size_t{1} << 16)) group_of_page.emplace(page, g);
    return g;
  };
  const size_t n_groups = static_cast<size_t>(p.groups_size()) + 1;
  auto slot = [&](uint16_t g) -> size_t {
    return g == kUnlisted ? n_groups - 1 : g;
  };
  const int64_t decline_ms = p.gates().decline_cooldown_s() * 1000;
  const bool decline_forever = p.gates().decline_forever();

  // Production's decisions, by visitor (the event log's ids hashed with
  // this engine's visitor key) and time: the first of each moment's
  // decisions (file order) in prod_head, the next through prod_next.
  const std::vector<LoggedDecisionRecord>* prod = options.production_decisions;
  constexpr uint32_t kNone = 0xFFFFFFFF;
  DecisionAgreement agree;
  absl::flat_hash_map<std::pair<uint32_t, int64_t>, uint32_t> prod_head;
  std::vector<uint32_t> prod_next, prod_visitor;
  std::vector<uint8_t> prod_used;
  std::vector<std::vector<uint32_t>> rows_of;  // Per visitor, in time order.
  if (prod != nullptr) {
    rows_of.resize(log.visitor_ids.size());
    for (size_t i = 0; i < log.order.size(); ++i) {
      if (log.visitor[i] != kNoVisitor) {
        rows_of[log.visitor[i]].push_back(static_cast<uint32_t>(i));
      }
    }
    if (prod->size() >= kNone) {
      return absl::InvalidArgumentError(
          "replay: too many production decisions");
    }
    absl::flat_hash_map<uint64_t, uint32_t> by_hash;
    by_hash.reserve(log.visitor_ids.size());
    for (size_t v = 0; v < log.visitor_ids.size(); ++v) {
      by_hash.emplace(engine.VisitorHash(log.visitor_ids[v]),
                      static_cast<uint32_t>(v));
    }
    agree.production_decisions = prod->size();
    prod_next.assign(prod->size(), kNone);
    prod_visitor.assign(prod->size(), kNone);
    prod_used.assign(prod->size(), 0);
    absl::flat_hash_map<std::pair<uint32_t, int64_t>, uint32_t> prod_tail;
    for (size_t j = 0; j < prod->size(); ++j) {
      const LoggedDecisionRecord& r = (*prod)[j];
      auto it = by_hash.find(r.visitor_hash);
      if (it == by_hash.end()) {
        ++agree.unknown_visitors;
        continue;
      }
      prod_visitor[j] = it->second;
      const std::pair<uint32_t, int64_t> key(it->second, r.ts_ms);
      const uint32_t idx = static_cast<uint32_t>(j);
      auto [t, added] = prod_tail.try_emplace(key, idx);
      if (added) {
        prod_head.emplace(key, idx);
      } else {
        prod_next[t->second] = idx;
        t->second = idx;
      }
    }
    if (!prod->empty() && agree.unknown_visitors == prod->size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "replay: none of the ", prod->size(),
          " production decisions names a visitor of the event log: the "
          "replay must hash visitor ids with the production engine's "
          "visitor key (give it in the engine options: CLI "
          "--visitor-key-file, Python visitor_key=)"));
    }
  }

  ReplayMetrics m;
  std::vector<ReplayCounts> by_group(n_groups);
  std::vector<std::vector<double>> group_leads(n_groups);
  std::vector<SessionState> sessions(log.sessions);
  std::vector<VisitorState> visitors(log.visitor_ids.size());
  std::priority_queue<Recheck, std::vector<Recheck>, std::greater<Recheck>>
      rechecks;
  uint64_t seq = 0;
  const bool lift_on = p.gates().holdout_fraction() > 0;
  const bool uplift_on = p.model().has_uplift();
  std::vector<std::vector<double>> scored_features;
  if (lift_on && options.lift_sample) {
    scored_features.resize(log.visitor_ids.size());
  }
  bool agents_known = false;
  int64_t free_agents = 0;

  auto handle = [&](uint32_t v, int64_t t, const Decision& d, bool recheck,
                    int64_t next_ts) {
    ++m.decisions;
    if (recheck) ++m.rechecks;
    if (options.trace) {
      TraceRecord rec;
      rec.ts_ms = t;
      rec.visitor = log.visitor_ids[v];
      rec.recheck = recheck;
      rec.decision = &d;
      options.trace(rec);
    }
    if (prod != nullptr) {
      if (auto it = prod_head.find(std::make_pair(v, t));
          it != prod_head.end()) {
        for (uint32_t j = it->second; j != kNone; j = prod_next[j]) {
          if (prod_used[j]) continue;
          prod_used[j] = 1;
          ++agree.matched;
          const Action pa = (*prod)[j].action;
          if (pa == d.action) ++agree.same_action;
          const bool po = pa == Action::kOffer, ro = d.action == Action::kOffer;
          if (po && ro) {
            ++agree.offers_both;
          } else if (po) {
            ++agree.offers_production_only;
          } else if (ro) {
            ++agree.offers_replay_only;
          }
          break;
        }
      }
    }
    VisitorState& vs = visitors[v];
    if (lift_on && vs.lift.session == kNoLiftSession && EligibleDecision(d)) {
      vs.lift.session = vs.session;
      vs.lift.group = vs.group;
      vs.lift.holdout = d.reason == Reason::kHoldout;
      vs.lift.offered = d.action == Action::kOffer;
      vs.lift.at = t;
    }
    if (lift_on && vs.scored.session == kNoLiftSession &&
        (uplift_on ? d.detail.has_uplift : d.offer_probability > 0)) {
      LiftMoment& sm = vs.scored;
      sm.session = vs.session;
      sm.group = vs.group;
      sm.holdout = engine.InHoldout(log.visitor_ids[v]);
      sm.offered = d.action == Action::kOffer;
      sm.past_score = EligibleDecision(d);
      sm.offer_probability = d.offer_probability;
      sm.at = t;
      sm.score = uplift_on ? d.detail.uplift_score : d.probability;
      if (options.lift_sample) {
        scored_features[v].assign(d.detail.features,
                                  d.detail.features + kDecisionFeatureCount);
      }
    }
    if (d.action == Action::kOffer) {
      ++m.offers;
      ++by_group[slot(vs.group)].offers;
      SessionState& ss = sessions[vs.session];
      if (ss.first_offer < 0) {
        ss.first_offer = t;
        ss.offer_group = vs.group;
        ss.offer_page_index = ss.pages;
      }
      if (vs.declined_at >= 0 &&
          (decline_forever || t < vs.declined_at + decline_ms)) {
        ++m.offers_after_decline;
      }
      if (agents_known && free_agents == 0) ++m.offers_without_agents;
    }
    if (d.recheck_at_ms && next_ts >= 0 && *d.recheck_at_ms > t &&
        *d.recheck_at_ms < next_ts) {
      rechecks.push(
          Recheck{*d.recheck_at_ms, seq++, v, vs.generation, next_ts});
    }
  };

  auto fire_until = [&](int64_t t) -> absl::Status {
    while (!rechecks.empty() && rechecks.top().at <= t) {
      const Recheck r = rechecks.top();
      rechecks.pop();
      if (r.generation != kAnyGeneration &&
          visitors[r.visitor].generation != r.generation) {
        continue;
      }
      absl::StatusOr<Decision> d =
          engine.Decide(log.visitor_ids[r.visitor], r.at);
      if (!d.ok()) return d.status();
      handle(r.visitor, r.at, *d, /*recheck=*/true, r.next_ts);
    }
    return absl::OkStatus();
  };

  // The replay also decides at every moment production decided that is not
  // one of the visitor's events (where it decides anyway): as production's
  // host asked then, so that each of production's decisions has one of the
  // replayed policy's to compare with. Moments before the visitor's first
  // event are left out (no session there, for either).
  if (prod != nullptr) {
    for (size_t j = 0; j < prod->size(); ++j) {
      const uint32_t v = prod_visitor[j];
      if (v == kNone) continue;
      const int64_t at = (*prod)[j].ts_ms;
      const std::vector<uint32_t>& rows = rows_of[v];
      auto from = std::lower_bound(
          rows.begin(), rows.end(), at,
          [&](uint32_t r, int64_t t) { return log.order[r]->ts_ms < t; });
      if (from == rows.begin()) continue;
      // A visitor's event at that moment: production decided after it, as
      // the replay does; unless it is an offer_shown (the offer it shows
      // was decided before it).
      bool after_event = false;
      for (auto r = from; r != rows.end() && log.order[*r]->ts_ms == at; ++r) {
        after_event |= log.order[*r]->type != EventType::kOfferShown;
      }
      if (after_event) continue;
      rechecks.push(Recheck{at, seq++, v, kAnyGeneration,
                            RecheckLimit(log, *std::prev(from))});
    }
  }

  const size_t n = log.order.size();
  for (size_t i = 0; i < n; ++i) {
    if (options.interrupted && (i & 0xFFF) == 0 && options.interrupted()) {
      return absl::CancelledError("replay interrupted");
    }
    if (options.progress && (i & 0xFFFF) == 0) options.progress(i, n);
    const LogEvent& e = *log.order[i];
    const int64_t t = e.ts_ms;
    if (absl::Status s = fire_until(t); !s.ok()) return s;
    if (absl::Status s = engine.Observe(e.ToEvent()); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("replay: line ", e.line, ": ", s.message()));
    }
    ++m.events;
    if (e.type == EventType::kAgents) {
      agents_known = true;
      free_agents = e.count;
      continue;
    }
    const uint32_t v = log.visitor[i];
    VisitorState& vs = visitors[v];
    ++vs.generation;
    SessionState& ss = sessions[log.session[i]];
    if (vs.session != log.session[i]) {
      vs.session = log.session[i];
      vs.groups_seen.clear();
      ++m.sessions;
    }
    switch (e.type) {
      case EventType::kPageView:
      case EventType::kSearch: {
        vs.group = group_of(e.page);
        if (e.type == EventType::kPageView) ++ss.pages;
        if (std::find(vs.groups_seen.begin(), vs.groups_seen.end(),
                      vs.group) == vs.groups_seen.end()) {
          vs.groups_seen.push_back(vs.group);
          ++by_group[slot(vs.group)].sessions;
        }
        break;
      }
      case EventType::kPurchase:
        vs.lift.Outcome(e, vs.session);
        vs.scored.Outcome(e, vs.session);
        break;
      case EventType::kHelpContact:
        vs.lift.Outcome(e, vs.session);
        vs.scored.Outcome(e, vs.session);
        if (ss.first_help < 0) {
          ss.first_help = t;
          ss.help_group = e.page.empty() ? vs.group
                                         : group_of(e.page);
        }
        break;
      case EventType::kOfferDeclined:
        vs.declined_at = std::max(vs.declined_at, t);
        break;
      default:
        break;
    }
    absl::StatusOr<Decision> d = engine.Decide(e.visitor, t);
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replay: line ", e.line, ": decide: ", d.status().message()));
    }
    handle(v, t, *d, /*recheck=*/false, RecheckLimit(log, i));
  }
  if (absl::Status s = fire_until(std::numeric_limits<int64_t>::max());
      !s.ok()) {
    return s;
  }
  if (options.progress) options.progress(n, n);

  std::vector<double> leads, after_start, page_index;
  for (uint32_t s = 0; s < log.sessions; ++s) {
    const SessionState& ss = sessions[s];
    if (ss.first_help >= 0) {
      ++m.help_sessions;
      ++by_group[slot(ss.help_group)].help_sessions;
    }
    if (ss.first_offer < 0) continue;
    ++m.offered_sessions;
    ReplayCounts& g = by_group[slot(ss.offer_group)];
    ++g.offered_sessions;
    after_start.push_back((ss.first_offer - log.session_start[s]) / 1000.0);
    page_index.push_back(ss.offer_page_index);
    if (ss.first_help >= 0 && ss.first_offer < ss.first_help) {
      ++m.hits;
      ++g.hits;
      const double lead = (ss.first_help - ss.first_offer) / 1000.0;
      leads.push_back(lead);
      group_leads[slot(ss.offer_group)].push_back(lead);
    }
  }
  Finish(m, std::move(leads));
  if (prod != nullptr) {
    // Production's offers: their sessions, and the visitor's answer (the
    // first offer outcome after the offer in its session, before the
    // visitor's next production offer, each outcome answering one offer).
    std::vector<uint32_t> offers;
    for (size_t j = 0; j < prod->size(); ++j) {
      if (prod_visitor[j] != kNone && (*prod)[j].action == Action::kOffer) {
        offers.push_back(static_cast<uint32_t>(j));
      }
    }
    std::stable_sort(offers.begin(), offers.end(), [&](uint32_t a, uint32_t b) {
      return prod_visitor[a] != prod_visitor[b]
                 ? prod_visitor[a] < prod_visitor[b]
                 : (*prod)[a].ts_ms < (*prod)[b].ts_ms;
    });
    std::vector<uint8_t> prod_offered(log.sessions, 0);
    for (size_t k = 0; k < offers.size(); ++k) {
      const uint32_t j = offers[k];
      const uint32_t v = prod_visitor[j];
      const int64_t ts = (*prod)[j].ts_ms;
      const int64_t next_offer =
          k + 1 < offers.size() && prod_visitor[offers[k + 1]] == v
              ? (*prod)[offers[k + 1]].ts_ms
              : std::numeric_limits<int64_t>::max();
      ++agree.production_offers;
      const std::vector<uint32_t>& rows = rows_of[v];
      auto after = std::upper_bound(
          rows.begin(), rows.end(), ts,
          [&](int64_t t, uint32_t r) { return t < log.order[r]->ts_ms; });
      if (after == rows.begin()) {  // Before the visitor's first event.
        ++agree.production_offers_unanswered;
        continue;
      }
      const uint32_t session = log.session[*std::prev(after)];
      prod_offered[session] = 1;
      // Rows at the offer's own millisecond count (the offer_shown).
      auto from = std::lower_bound(
          rows.begin(), rows.end(), ts,
          [&](uint32_t r, int64_t t) { return log.order[r]->ts_ms < t; });
      bool answered = false;
      for (auto r = from; r != rows.end(); ++r) {
        const LogEvent& e = *log.order[*r];
        if (log.session[*r] != session) break;
        if (e.ts_ms >= next_offer && r != from) break;
        if (e.type != EventType::kOfferAccepted &&
            e.type != EventType::kOfferDeclined &&
            e.type != EventType::kOfferIgnored) {
          continue;
        }
        ++(e.type == EventType::kOfferAccepted
               ? agree.production_offers_accepted
           : e.type == EventType::kOfferDeclined
               ? agree.production_offers_declined
               : agree.production_offers_ignored);
        answered = true;
        break;
      }
      if (!answered) ++agree.production_offers_unanswered;
    }
    for (uint32_t s = 0; s < log.sessions; ++s) {
      const bool po = prod_offered[s], ro = sessions[s].first_offer >= 0;
      if (po && ro) {
        ++agree.offered_sessions_both;
      } else if (po) {
        ++agree.offered_sessions_production_only;
      } else if (ro) {
        ++agree.offered_sessions_replay_only;
      }
    }
    agree.agreement = agree.matched ? static_cast<double>(agree.same_action) /
                                          static_cast<double>(agree.matched)
                                    : 0.0;
    m.production = agree;
  }
  if (lift_on) {
    m.lift = LiftOf(visitors, p, n_groups);
    m.lift->from_decision_log = prod != nullptr;
    if (options.lift_sample) {
      for (size_t v = 0; v < visitors.size(); ++v) {
        const LiftMoment& sm = visitors[v].scored;
        if (sm.session == kNoLiftSession) continue;
        LiftSample sample;
        sample.visitor = log.visitor_ids[v];
        sample.moment_ms = sm.at;
        sample.session_start_ms = log.session_start[sm.session];
        sample.group =
            sm.group == kUnlisted
                ? std::string_view("(unlisted)")
                : std::string_view(
                      p.groups(static_cast<int>(sm.group)).pattern());
        sample.holdout = sm.holdout;
        sample.past_score = sm.past_score;
        sample.offer_probability = sm.offer_probability;
        sample.score = sm.score;
        sample.purchased = sm.purchased;
        sample.contacted = sm.contacted;
        sample.revenue = sm.revenue;
        sample.features = scored_features[v].data();
        options.lift_sample(sample);
      }
    }
  }
  m.median_offer_after_start_s = Quantile(after_start, 0.5);
  m.p90_offer_after_start_s = Quantile(after_start, 0.9);
  m.median_offer_page_index = Quantile(page_index, 0.5);
  m.p90_offer_page_index = Quantile(page_index, 0.9);
  for (size_t g = 0; g < n_groups; ++g) {
    ReplayCounts& c = by_group[g];
    if (c.sessions == 0 && c.offers == 0 && c.help_sessions == 0) continue;
    Finish(c, std::move(group_leads[g]));
    GroupReplayCounts out;
    static_cast<ReplayCounts&>(out) = c;
    out.pattern =
        g == n_groups - 1 ? "(unlisted)" : p.groups(static_cast<int>(g)).pattern();
    m.groups.push_back(std::move(out));
  }
  std::stable_sort(m.groups.begin(), m.groups.end(),
                   [](const GroupReplayCounts& a, const GroupReplayCounts& b) {
                     return a.sessions > b.sessions;
                   });
  if (!options.save_state_path.empty()) {
    if (!copy_key_to.empty()) {
      absl::StatusOr<std::string> key =
          ReadFile(engine_options.visitor_key_file, 4096);
      if (!key.ok()) return key.status();
      if (absl::Status s = WriteFileAtomically(copy_key_to, *key); !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = engine.SnapshotToFile(options.save_state_path);
        !s.ok()) {
      return s;
    }
  }
  return m;
}

namespace {

// Bisection of a setting whose offer rate falls as it rises; keeps the
// replay nearest the target, and stops early within kRateTolerance.
template <typename MakePolicy>
absl::StatusOr<Calibration> Bisect(double lo, double hi, int steps,
                                   double target, const PreparedLog& log,
                                   const ReplayOptions& options,
                                   const MakePolicy& make) {
  if (!(std::isfinite(target) && target > 0 && target < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target offer rate must be in (0, 1), got ", target));
  }
  std::optional<Calibration> best;
  double best_gap = 2;
  for (int i = 0; i < steps; ++i) {
    const double mid = (lo + hi) / 2;
    absl::StatusOr<std::pair<Policy, double>> p = make(mid);
    if (!p.ok()) return p.status();
    absl::StatusOr<ReplayMetrics> m = RunReplay(p->first, log, options);
    if (!m.ok()) return m.status();
    const double rate = m->offer_rate;
    const double gap = std::fabs(rate - target);
    if (gap < best_gap) {
      best_gap = gap;
      best = Calibration{p->first, p->second, *std::move(m)};
    }
    if (gap <= kRateTolerance) break;
    (rate > target ? lo : hi) = mid;
  }
  return *std::move(best);
}

}  // namespace

absl::StatusOr<Calibration> CalibrateThreshold(const Policy& policy,
                                               const PreparedLog& log,
                                               double target,
                                               const ReplayOptions& options) {
  return Bisect(-15, 15, 22, target, log, options,
                [&](double z) -> absl::StatusOr<std::pair<Policy, double>> {
                  const double thr = ThresholdOfLogOdds(z);
                  absl::StatusOr<Policy> p = WithDecisionThreshold(policy, thr);
                  if (!p.ok()) return p.status();
                  return std::make_pair(*std::move(p), thr);
                });
}

absl::StatusOr<Calibration> CalibrateDwell(const Policy& base,
                                           const PreparedLog& log,
                                           double target,
                                           const ReplayOptions& options) {
  return Bisect(0, std::log(3600.0), 22, target, log, options,
                [&](double ls) -> absl::StatusOr<std::pair<Policy, double>> {
                  // Whole milliseconds, so the policy prints as it runs.
                  const double secs = std::round(std::exp(ls) * 1000) / 1000;
                  absl::StatusOr<Policy> p = FixedDwellPolicy(base, secs);
                  if (!p.ok()) return p.status();
                  return std::make_pair(*std::move(p), secs);
                });
}

}  // namespace internal

namespace {

void CountsJson(internal::JsonObject& o, const ReplayCounts& c) {
  o.UInt("sessions", c.sessions)
      .UInt("offered_sessions", c.offered_sessions)
      .UInt("offers", c.offers)
      .UInt("help_sessions", c.help_sessions)
      .UInt("hits", c.hits)
      .Num("precision", c.precision)
      .Num("recall", c.recall)
      .Num("offer_rate", c.offer_rate)
      .Num("median_lead_s", c.median_lead_s);
}

std::string EstimateJson(const LiftEstimate& e) {
  internal::JsonObject o;
  o.Num("offered", e.offered).Num("holdout", e.holdout).Num("lift", e.lift);
  if (e.estimable) {
    o.Num("standard_error", e.standard_error)
        .Num("ci_low", e.ci_low)
        .Num("ci_high", e.ci_high);
  } else {
    o.Null("standard_error").Null("ci_low").Null("ci_high");
  }
  o.Bool("estimable", e.estimable);
  return o.Finish();
}

void LiftJson(internal::JsonObject& o, const LiftCounts& c) {
  o.UInt("offered_arm", c.offered_arm)
      .UInt("offered", c.offered)
      .UInt("holdout_arm", c.holdout_arm)
      .Raw("purchase_rate", EstimateJson(c.purchase_rate))
      .Raw("contact_rate", EstimateJson(c.contact_rate))
      .Raw("revenue_per_session", EstimateJson(c.revenue_per_session));
}

}  // namespace

std::string ReplayMetrics::ToJson() const {
  internal::JsonObject o;
  CountsJson(o, *this);
  o.UInt("offers_after_decline", offers_after_decline)
      .UInt("offers_without_agents", offers_without_agents)
      .Num("offers_per_1000_sessions",
           sessions ? 1000.0 * static_cast<double>(offered_sessions) /
                          static_cast<double>(sessions)
                    : 0.0)
      .Num("median_offer_after_start_s", median_offer_after_start_s)
      .Num("p90_offer_after_start_s", p90_offer_after_start_s)
      .Num("median_offer_page_index", median_offer_page_index)
      .Num("p90_offer_page_index", p90_offer_page_index)
      .UInt("events", events)
      .UInt("decisions", decisions)
      .UInt("rechecks", rechecks);
  std::string groups_json = "[";
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) groups_json.push_back(',');
    internal::JsonObject g;
    g.Str("pattern", groups[i].pattern);
    CountsJson(g, groups[i]);
    groups_json += g.Finish();
  }
  groups_json.push_back(']');
  o.Raw("groups", groups_json);
  if (production) {
    const DecisionAgreement& a = *production;
    internal::JsonObject p;
    p.UInt("production_decisions", a.production_decisions)
        .UInt("unknown_visitors", a.unknown_visitors)
        .UInt("matched", a.matched)
        .UInt("same_action", a.same_action)
        .Num("agreement", a.agreement)
        .UInt("offers_both", a.offers_both)
        .UInt("offers_production_only", a.offers_production_only)
        .UInt("offers_replay_only", a.offers_replay_only)
        .UInt("offered_sessions_both", a.offered_sessions_both)
        .UInt("offered_sessions_production_only",
              a.offered_sessions_production_only)
        .UInt("offered_sessions_replay_only", a.offered_sessions_replay_only)
        .UInt("production_offers", a.production_offers)
        .UInt("production_offers_accepted", a.production_offers_accepted)
        .UInt("production_offers_declined", a.production_offers_declined)
        .UInt("production_offers_ignored", a.production_offers_ignored)
        .UInt("production_offers_unanswered", a.production_offers_unanswered);
    o.Raw("production", p.Finish());
  }
  if (lift) {
    internal::JsonObject l;
    LiftJson(l, *lift);
    std::string lift_groups = "[";
    for (size_t i = 0; i < lift->groups.size(); ++i) {
      if (i > 0) lift_groups.push_back(',');
      internal::JsonObject g;
      g.Str("pattern", lift->groups[i].pattern);
      LiftJson(g, lift->groups[i]);
      lift_groups += g.Finish();
    }
    lift_groups.push_back(']');
    l.Bool("from_decision_log", lift->from_decision_log);
    internal::JsonObject q;
    std::string curve = "[";
    for (size_t i = 0; i < lift->qini.curve.size(); ++i) {
      if (i > 0) curve.push_back(',');
      internal::AppendJsonNumber(curve, lift->qini.curve[i]);
    }
    curve.push_back(']');
    q.Str("ranked_by", lift->qini.ranked_by)
        .UInt("visitors", lift->qini.visitors)
        .Num("area", lift->qini.area)
        .Num("random_sd", lift->qini.random_sd)
        .Raw("curve", curve);
    l.Raw("qini", q.Finish());
    l.Raw("groups", lift_groups);
    o.Raw("lift", l.Finish());
  }
  return o.Finish();
}

std::string TraceToJson(const TraceRecord& r) {
  internal::JsonObject o;
  o.Int("ts_ms", r.ts_ms).Str("visitor", r.visitor);
  const Decision& d = *r.decision;
  o.Str("action", ActionName(d.action))
      .Str("reason", ReasonName(d.reason))
      .Num("probability", d.probability)
      .Num("threshold", d.threshold);
  if (d.recheck_at_ms) {
    o.Int("recheck_at_ms", *d.recheck_at_ms);
  } else {
    o.Null("recheck_at_ms");
  }
  o.Bool("recheck", r.recheck);
  std::string reasons = "[";
  const std::vector<std::string> texts = d.reasons();
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) reasons.push_back(',');
    internal::AppendJsonString(reasons, texts[i]);
  }
  reasons.push_back(']');
  o.Raw("reasons", reasons);
  return o.Finish();
}

absl::StatusOr<ReplayMetrics> Replay(const Policy& policy,
                                     const std::vector<LogEvent>& events,
                                     const ReplayOptions& options) {
  const internal::PreparedLog log(
      events,
      internal::PolicyInternal::Message(policy).session().timeout_s() * 1000);
  return internal::RunReplay(policy, log, options);
}

absl::StatusOr<Policy> WithDecisionThreshold(const Policy& policy,
                                             double threshold) {
  if (!(std::isfinite(threshold) && threshold > 0 && threshold < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "decision threshold must be in (0, 1), got ", threshold));
  }
  proto::Policy p = internal::PolicyInternal::Message(policy);
  const double t0 = p.model().decision_threshold();
  const double t1 = p.gates().threshold_at_one_agent();
  const double raise =
      t0 < 1 ? std::clamp((t1 - t0) / (1 - t0), 0.0, 0.99) : 0.0;
  p.mutable_model()->set_decision_threshold(threshold);
  p.mutable_gates()->set_threshold_at_one_agent(threshold +
                                                raise * (1 - threshold));
  return internal::PolicyInternal::FromProto(p);
}

absl::StatusOr<Calibration> CalibrateDecisionThreshold(
    const Policy& policy, const std::vector<LogEvent>& events,
    double target_offer_rate, const ReplayOptions& options) {
  const internal::PreparedLog log(
      events,
      internal::PolicyInternal::Message(policy).session().timeout_s() * 1000);
  return internal::CalibrateThreshold(policy, log, target_offer_rate,
                                      options);
}

absl::StatusOr<Calibration> CalibrateFixedDwell(
    const Policy& base, const std::vector<LogEvent>& events,
    double target_offer_rate, const ReplayOptions& options) {
  const internal::PreparedLog log(
      events,
      internal::PolicyInternal::Message(base).session().timeout_s() * 1000);
  return internal::CalibrateDwell(base, log, target_offer_rate, options);
}

absl::StatusOr<Policy> FixedDwellPolicy(const Policy& base, double seconds) {
  if (!(std::isfinite(seconds) && seconds > 0 && seconds <= 86400)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fixed dwell must be in (0, 86400] seconds, got ", seconds));
  }
  proto::Policy p = internal::PolicyInternal::Message(base);
  p.set_name(absl::StrCat("fixed-dwell-", seconds, "s"));
  p.clear_provenance();
  p.mutable_provenance()->set_created_by("beckon fixed-dwell baseline");
  p.mutable_provenance()->set_notes(absl::StrCat(
      "offer once per session after ", seconds, " s on any page"));
  p.clear_url_rules();
  p.clear_groups();
  p.clear_path_rules();
  proto::PageGroup* u = p.mutable_unlisted();
  u->set_pattern("");
  u->set_role(proto::ROLE_OTHER);
  u->set_dwell_threshold_s(seconds);
  u->set_help_rate(0);
  u->set_views(0);
  // Certain to offer once the dwell gate opens: the dwell threshold alone
  // decides when.
  proto::Model* model = p.mutable_model();
  model->Clear();
  model->set_bias(20);
  model->set_decision_threshold(0.5);
  model->set_allow_before_dwell_threshold(false);
  proto::Gates* g = p.mutable_gates();
  g->set_max_offers_per_session(1);
  g->set_threshold_at_one_agent(0.5);
  return internal::PolicyInternal::FromProto(p);
}

}  // namespace beckon
