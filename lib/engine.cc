#include "beckon/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "beckon/policy.pb.h"
#include "beckon/snapshot.pb.h"
#include "model_features.h"
#include "file_util.h"
#include "page_matcher.h"
#include "siphash.h"
#include "snapshot_codec.h"
#include "string_views.h"
#include "redis_options_check.h"
#include "state_store.h"
#include "visitor_key.h"
#include "visitor_store.h"

namespace beckon {

using internal::kFeatureCount;
using internal::kUnlistedGroup;
using internal::MemoryRecord;
using internal::RateGate;
using internal::SessionRecord;
using internal::VisitorState;

namespace {

// Timestamps accepted: the Unix epoch up to the end of year 9999.
constexpr int64_t kMaxTimestampMs = 253402300799999;
constexpr int64_t kMaxAgents = 1'000'000;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

absl::Status CheckVisitorId(std::string_view id) {
  if (id.empty()) return Bad("visitor id is empty");
  if (id.size() > kMaxVisitorIdBytes) {
    return Bad(absl::StrCat("visitor id is ", id.size(),
                            " bytes; at most ", kMaxVisitorIdBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckTimestamp(int64_t ts, std::string_view what) {
  if (ts < 0 || ts > kMaxTimestampMs) {
    return Bad(absl::StrCat(internal::AbslView(what), " ", ts,
                            " is out of range (ms since 1970, before 10000)"));
  }
  return absl::OkStatus();
}

// "48 s", "12 min", "5 h", "3 d".
std::string Duration(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 120) return absl::StrCat(s, " s");
  if (s < 2 * 3600) return absl::StrCat(s / 60, " min");
  if (s < 2 * 86400) return absl::StrCat(s / 3600, " h");
  return absl::StrCat(s / 86400, " d");
}

// "1 page", "2 pages".
std::string Count(uint64_t n, std::string_view one, std::string_view many) {
  return absl::StrCat(n, " ", internal::AbslView(n == 1 ? one : many));
}

// Counters saturate instead of wrapping.
void SatInc(uint16_t& v) {
  if (v < 0xffff) ++v;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double Clamp(double v, double hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

// A group's settings, flattened for the hot path.
struct GroupInfo {
  std::string pattern;
  proto::Role role;
  double dwell_threshold_s;
  double help_rate;
};

struct CompiledStep {
  uint16_t group;  // kUnlistedGroup + role: match by role.
  bool by_role;
  proto::Role role;
};

struct CompiledPathRule {
  std::string name;
  bool from_search_engine;
  double strength;
  std::vector<CompiledStep> steps;
};

// What an event's URL and referrer say, worked out before the store's lock
// (the work is proportional to their length): nothing under the lock reads
// the strings themselves.
struct PageFacts {
  internal::PageMatcher::Match page{kUnlistedGroup, 0};  // kPageView, kSearch.
  bool from_search_engine = false;                         // kPageView.
};

// What the model sees at one instant.
struct Evaluation {
  double x[kFeatureCount];
  double logit;
  double probability;
  double dwell_s;
  double dwell_threshold_s;
};

}  // namespace

class EngineImpl {
 public:
  EngineImpl(Policy policy, const Engine::Options& options);
  // Opens the visitor store the options name.
  absl::Status OpenStore();

  absl::Status Observe(const Event& e) {
    absl::Status s = Apply(e);
    if (!s.ok()) events_rejected_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  absl::StatusOr<Decision> Decide(std::string_view visitor, int64_t now_ms);
  absl::Status Expire(int64_t now_ms);
  absl::StatusOr<std::string> Snapshot() const;
  absl::Status SnapshotToFile(const std::string& path) const;
  absl::Status Restore(std::string_view bytes);
  absl::Status RestoreFromFile(const std::string& path);
  EngineStats Stats() const;
  const Policy& policy() const { return policy_; }
  std::array<uint64_t, 2> visitor_key() const { return options_.visitor_key; }

 private:
  uint64_t KeyOf(std::string_view id) const {
    return internal::SipHash24(options_.visitor_key[0],
                               options_.visitor_key[1], id);
  }
  const GroupInfo& Group(uint16_t g) const {
    return groups_[g == kUnlistedGroup ? groups_.size() - 1 : g];
  }
  bool InHoldout(std::string_view id) const;
  double ThresholdFor(int64_t free_agents) const;
  // When a memory record's decline / ignore cooldown ends.
  int64_t DeclineUntil(const MemoryRecord& m) const;
  int64_t IgnoreUntil(const MemoryRecord& m) const;
  bool MemoryExpired(const MemoryRecord& m, int64_t now_ms) const;
  // How long a memory record matters after `now_ms` (0: forever).
  int64_t MemoryTtl(const MemoryRecord& m, int64_t now_ms) const;
  void StartSession(SessionRecord& r, int64_t ts) const;
  bool PushPage(SessionRecord& r, uint16_t group, uint32_t page_hash,
                int64_t ts, bool is_search) const;
  absl::Status WriteSnapshot(const internal::ByteSink& sink) const;
  // Replaces the store's contents by what `read` hands the visitor, once
  // it has all been read and checked.
  absl::Status RestoreFrom(
      absl::FunctionRef<absl::Status(const internal::SnapshotVisitor&)> read);
  absl::Status Apply(const Event& e);
  // Checks page and referrer against their caps and classifies them.
  absl::Status ClassifyPage(const Event& e, PageFacts& out) const;
  absl::Status ApplyTo(VisitorState& v, const Event& e,
                       const PageFacts& facts) const;
  void RecordOutcome(VisitorState& v, const Event& e) const;
  absl::Status DecideFor(std::string_view visitor, int64_t now,
                         VisitorState& v, RateGate& rate, Decision& d) const;
  uint8_t MatchPathRule(const SessionRecord& r) const;
  void Evaluate(const SessionRecord& r, int64_t t, Evaluation& out) const;
  bool Ready(const SessionRecord& r, int64_t t, double threshold) const;
  std::optional<int64_t> ReadyTime(const SessionRecord& r, int64_t from,
                                   double threshold) const;
  void Explain(const SessionRecord& r, const Evaluation& ev,
               Decision& d) const;

  const Policy policy_;
  const proto::Policy& p_;
  const Engine::Options options_;
  const internal::PageMatcher matcher_;
  std::vector<GroupInfo> groups_;  // Policy groups, then the unlisted group.
  std::vector<CompiledPathRule> path_rules_;
  double weights_[kFeatureCount] = {};
  int64_t timeout_ms_;
  uint64_t holdout_k0_, holdout_k1_;
  uint64_t key_fingerprint_;
  uint64_t layout_;  // What group and path-rule indices mean.
  std::unique_ptr<internal::VisitorStore> store_;
  std::atomic<uint64_t> events_rejected_{0};
};

EngineImpl::EngineImpl(Policy policy, const Engine::Options& options)
    : policy_(std::move(policy)),
      p_(policy_.message()),
      options_(options),
      matcher_(p_),
      timeout_ms_(p_.session().timeout_s() * 1000) {
  for (const auto& g : p_.groups()) {
    groups_.push_back(GroupInfo{g.pattern(), g.role(), g.dwell_threshold_s(),
                                g.help_rate()});
  }
  const auto& u = p_.unlisted();
  groups_.push_back(GroupInfo{"", u.role(), u.dwell_threshold_s(),
                              u.help_rate()});
  for (const auto& r : p_.path_rules()) {
    CompiledPathRule c{r.name(), r.from_search_engine(), r.strength(), {}};
    for (const auto& s : r.steps()) {
      if (!s.group().empty()) {
        c.steps.push_back({matcher_.GroupByPattern(s.group()), false,
                           proto::ROLE_UNSPECIFIED});
      } else {
        c.steps.push_back({kUnlistedGroup, true, s.role()});
      }
    }
    path_rules_.push_back(std::move(c));
  }
  for (const auto& w : p_.model().weights()) {
    weights_[*internal::ParseFeature(w.feature())] = w.weight();
  }
  const std::string& salt = p_.gates().holdout_salt();
  holdout_k0_ = internal::SipHash24(0x686f6c646f757430ULL, 1, salt);
  holdout_k1_ = internal::SipHash24(0x686f6c646f757431ULL, 2, salt);
  key_fingerprint_ = internal::SipHash24(options.visitor_key[0],
                                         options.visitor_key[1],
                                         "beckon key fingerprint");
  // Group patterns and path-rule names, in order: records stored under
  // another layout cannot be read index for index.
  std::string layout = "beckon layout 1";
  for (const GroupInfo& g : groups_) absl::StrAppend(&layout, "\x1f", g.pattern);
  for (const CompiledPathRule& r : path_rules_) {
    absl::StrAppend(&layout, "\x1e", r.name);
  }
  layout_ = internal::SipHash24(0x6c61796f75743031ULL, 7, layout);
}

absl::Status EngineImpl::OpenStore() {
  const int64_t window_ms = p_.gates().rate_window_s() * 1000;
  if (options_.store == StoreKind::kRedis) {
    absl::StatusOr<std::unique_ptr<internal::VisitorStore>> s =
        internal::NewRedisStore(options_.redis, layout_, timeout_ms_,
                                window_ms);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
  } else {
    store_ = internal::NewMemoryStore(options_, timeout_ms_, window_ms);
  }
  return absl::OkStatus();
}

bool EngineImpl::InHoldout(std::string_view id) const {
  const double f = p_.gates().holdout_fraction();
  if (f <= 0) return false;
  const uint64_t h = internal::SipHash24(holdout_k0_, holdout_k1_, id);
  return static_cast<double>(h >> 11) * 0x1.0p-53 < f;
}

double EngineImpl::ThresholdFor(int64_t free_agents) const {
  const double base = p_.model().decision_threshold();
  const auto& g = p_.gates();
  if (free_agents < 1 || free_agents >= g.plenty_agents() ||
      g.plenty_agents() <= 1) {
    return base;
  }
  // Linear from threshold_at_one_agent (1 agent) to base (plenty_agents).
  const double scarcity = static_cast<double>(g.plenty_agents() - free_agents) /
                          static_cast<double>(g.plenty_agents() - 1);
  return base + (g.threshold_at_one_agent() - base) * scarcity;
}

int64_t EngineImpl::DeclineUntil(const MemoryRecord& m) const {
  return m.last_decline_ms + p_.gates().decline_cooldown_s() * 1000;
}

int64_t EngineImpl::IgnoreUntil(const MemoryRecord& m) const {
  return m.last_ignore_ms + p_.gates().ignored_cooldown_s() * 1000;
}

bool EngineImpl::MemoryExpired(const MemoryRecord& m, int64_t now) const {
  if ((m.flags & internal::kHasDecline) &&
      (p_.gates().decline_forever() || now < DeclineUntil(m))) {
    return false;
  }
  if ((m.flags & internal::kHasIgnore) && now < IgnoreUntil(m)) return false;
  return true;
}

int64_t EngineImpl::MemoryTtl(const MemoryRecord& m, int64_t now) const {
  const auto& g = p_.gates();
  if ((m.flags & internal::kHasDecline) && g.decline_forever()) return 0;
  int64_t until = now;
  if (m.flags & internal::kHasDecline) until = std::max(until, DeclineUntil(m));
  if (m.flags & internal::kHasIgnore) until = std::max(until, IgnoreUntil(m));
  // A session timeout beyond the cooldown, and never less than that: a
  // record must outlast the session that made it.
  return until - now + std::max<int64_t>(timeout_ms_, 1000);
}

void EngineImpl::StartSession(SessionRecord& r, int64_t ts) const {
  r = SessionRecord{};
  r.session_start_ms = ts;
  r.last_event_ms = ts;
  r.last_activity_ms = ts;
  r.current_group = kUnlistedGroup;
}

// Moves the visitor to a page (a view, or a search on a results page) and
// returns true if it was a reload. Each search is a step, even on the same
// results page; repeating a search there is not a return to a seen page.
bool EngineImpl::PushPage(SessionRecord& r, uint16_t group, uint32_t hash,
                          int64_t ts, bool is_search) const {
  const bool same_page =
      r.n_pages > 0 && r.recent_pages[r.n_pages - 1] == hash;
  const bool reload = same_page && !is_search;
  const proto::Role role = Group(group).role;
  // Checkout progress: entering checkout, or a new checkout page.
  if (role == proto::ROLE_CHECKOUT) {
    if (!(r.flags & internal::kInCheckout) || !reload) {
      r.checkout_since_ms = ts;
    }
    r.flags |= internal::kInCheckout;
  } else {
    r.flags &= ~internal::kInCheckout;
  }
  r.current_group = group;
  if (reload) return true;  // A reload is neither a loop nor a new step.
  uint32_t* const seen_end =
      r.recent_pages + r.n_pages - (same_page ? 1 : 0);
  if (r.n_pages >= 2 && r.recent_pages[r.n_pages - 2] == hash) {
    ++r.back_and_forth;
  } else if (std::find(r.recent_pages, seen_end, hash) != seen_end) {
    ++r.loops;
  }
  if (r.n_pages == internal::kRecentPages) {
    std::memmove(r.recent_pages, r.recent_pages + 1,
                 sizeof(uint32_t) * (internal::kRecentPages - 1));
    --r.n_pages;
  }
  r.recent_pages[r.n_pages++] = hash;
  if (r.n_steps == internal::kRecentSteps) {
    std::memmove(r.recent_steps, r.recent_steps + 1,
                 sizeof(uint16_t) * (internal::kRecentSteps - 1));
    --r.n_steps;
  }
  r.recent_steps[r.n_steps++] = group;
  r.path_rule = MatchPathRule(r);
  return false;
}

void EngineImpl::RecordOutcome(VisitorState& v, const Event& e) const {
  if (!v.has_memory) {
    v.memory = MemoryRecord{};
    v.has_memory = true;
  }
  MemoryRecord* m = &v.memory;
  v.write_memory = true;
  if (e.type == EventType::kOfferDeclined) {
    // The latest decline counts; a late report never moves it back.
    m->last_decline_ms = (m->flags & internal::kHasDecline)
                             ? std::max(m->last_decline_ms, e.ts_ms)
                             : e.ts_ms;
    m->flags |= internal::kHasDecline;
    SatInc(m->declines);
  } else {
    if ((m->flags & internal::kHasIgnore) && e.ts_ms >= IgnoreUntil(*m)) {
      m->ignored = 0;  // The earlier ignores have been forgiven.
    }
    m->last_ignore_ms = (m->flags & internal::kHasIgnore)
                            ? std::max(m->last_ignore_ms, e.ts_ms)
                            : e.ts_ms;
    m->flags |= internal::kHasIgnore;
    SatInc(m->ignored);
  }
  v.memory_ttl_ms = MemoryTtl(*m, e.ts_ms);
}

uint8_t EngineImpl::MatchPathRule(const SessionRecord& r) const {
  uint8_t found = 0;
  double best = -1;
  for (size_t i = 0; i < path_rules_.size(); ++i) {
    const CompiledPathRule& rule = path_rules_[i];
    const size_t n = rule.steps.size();
    if (n > r.n_steps || rule.strength <= best) continue;
    if (rule.from_search_engine && !(r.flags & internal::kFromSearchEngine)) {
      continue;
    }
    bool match = true;
    for (size_t j = 0; j < n && match; ++j) {
      const CompiledStep& st = rule.steps[j];
      const uint16_t g = r.recent_steps[r.n_steps - n + j];
      match = st.by_role ? Group(g).role == st.role : g == st.group;
    }
    if (match) {
      best = rule.strength;
      found = static_cast<uint8_t>(i + 1);
    }
  }
  return found;
}

// Checks `e` whole, then applies it whole: a rejected event changes nothing.
absl::Status EngineImpl::Apply(const Event& e) {
  const auto type_index = static_cast<unsigned>(e.type);
  if (type_index >= static_cast<unsigned>(kEventTypeCount)) {
    return Bad(absl::StrCat("unknown event type ", type_index));
  }
  if (absl::Status s = CheckTimestamp(e.ts_ms, "ts_ms"); !s.ok()) return s;
  if (static_cast<unsigned>(e.channel) > 4) {
    return Bad(absl::StrCat("unknown channel ", static_cast<int>(e.channel)));
  }
  if (e.type == EventType::kAgents) {
    if (!e.visitor.empty()) return Bad("agents event must have no visitor");
    if (e.count < 0 || e.count > kMaxAgents) {
      return Bad(absl::StrCat("free agents must be in [0, ", kMaxAgents,
                              "], got ", e.count));
    }
    return store_->SetAgents(e.ts_ms, e.count);
  }
  if (absl::Status s = CheckVisitorId(e.visitor); !s.ok()) return s;
  if (e.type == EventType::kSearch && e.count < 0) {
    return Bad(absl::StrCat("search results must be >= 0, got ", e.count));
  }
  if ((e.type == EventType::kCart || e.type == EventType::kPurchase) &&
      !(std::isfinite(e.value) && e.value >= 0 && e.value < 1e15)) {
    return Bad(absl::StrCat(internal::AbslView(EventTypeName(e.type)),
                            " value must be finite, >= 0 and < 1e15, got ",
                            e.value));
  }

  PageFacts facts;
  if (absl::Status s = ClassifyPage(e, facts); !s.ok()) return s;
  // Under the store's lock only fixed-size work: the rules see the event
  // without its URL and referrer, and the facts classified from them.
  Event bare = e;
  bare.page = {};
  bare.referrer = {};
  return store_->Update(KeyOf(e.visitor), /*want_agents=*/false,
                        [&](VisitorState& v, RateGate&) {
                          return ApplyTo(v, bare, facts);
                        });
}

absl::Status EngineImpl::ClassifyPage(const Event& e, PageFacts& out) const {
  const bool view = e.type == EventType::kPageView;
  if (!view && e.type != EventType::kSearch) return absl::OkStatus();
  const std::string_view type = EventTypeName(e.type);
  if (e.page.size() > options_.max_url_bytes) {
    return Bad(absl::StrCat(internal::AbslView(type), " page is ",
                            e.page.size(), " bytes; at most ",
                            options_.max_url_bytes,
                            " (Engine::Options.max_url_bytes)"));
  }
  if (view && e.referrer.size() > options_.max_referrer_bytes) {
    return Bad(absl::StrCat(internal::AbslView(type), " referrer is ",
                            e.referrer.size(), " bytes; at most ",
                            options_.max_referrer_bytes,
                            " (Engine::Options.max_referrer_bytes)"));
  }
  out.page = matcher_.Classify(e.page);
  // Whether the referrer is a search engine matters on a session's first
  // page only, which only the store knows: it is worked out for every view.
  out.from_search_engine =
      view && !e.referrer.empty() && matcher_.IsSearchEngine(e.referrer);
  return absl::OkStatus();
}

// The event's effect on one visitor's state (checked already, but for the
// visitor's clock). `e` carries no page or referrer: `facts` says what they
// were.
absl::Status EngineImpl::ApplyTo(VisitorState& v, const Event& e,
                                 const PageFacts& facts) const {
  SessionRecord* r = v.has_session ? &v.session : nullptr;
  const bool memory_event = e.type == EventType::kOfferDeclined ||
                            e.type == EventType::kOfferIgnored;
  if (r != nullptr && e.ts_ms < r->last_event_ms) {
    if (!memory_event) {
      return Bad(absl::StrCat("time went backwards for visitor: ", e.ts_ms,
                              " < last event ", r->last_event_ms));
    }
    // A decline or ignore reported late: it goes to the do-not-re-offer
    // memory as of its own time, without moving the visitor's clock.
    RecordOutcome(v, e);
    r->flags &= ~internal::kOfferPending;
    v.write_session = true;
    ++v.delta.events_observed;
    return absl::OkStatus();
  }
  // All checks passed: from here on the event is applied whole.
  v.expire_some = true;
  v.now_ms = e.ts_ms;
  v.write_session = true;
  if (r == nullptr) {
    r = &v.session;
    v.has_session = true;
    StartSession(*r, e.ts_ms);
    ++v.delta.sessions_started;
  } else if (e.ts_ms - r->last_event_ms > timeout_ms_) {
    StartSession(*r, e.ts_ms);
    ++v.delta.sessions_expired;
    ++v.delta.sessions_started;
  }
  ++v.delta.events_observed;
  r->last_event_ms = e.ts_ms;
  if (e.type != EventType::kOfferShown) r->last_activity_ms = e.ts_ms;


  switch (e.type) {
    case EventType::kPageView: {
      if (r->pages_viewed == 0 && facts.from_search_engine) {
        r->flags |= internal::kFromSearchEngine;
      }
      const internal::PageMatcher::Match& m = facts.page;
      SatInc(r->pages_viewed);
      const bool reload =
          PushPage(*r, m.group, m.page_hash, e.ts_ms, /*is_search=*/false);
      if (!reload && Group(m.group).role == proto::ROLE_HELP) {
        SatInc(r->help_hits);
      }
      break;
    }
    case EventType::kSearch: {
      SatInc(r->searches);
      if (e.count == 0) SatInc(r->zero_result_searches);
      const internal::PageMatcher::Match& m = facts.page;
      PushPage(*r, m.group, m.page_hash, e.ts_ms, /*is_search=*/true);
      break;
    }
    case EventType::kCart:
      r->cart_value = static_cast<float>(e.value);
      if (r->flags & internal::kInCheckout) r->checkout_since_ms = e.ts_ms;
      break;
    case EventType::kPurchase:
      r->cart_value = 0;
      if (r->flags & internal::kInCheckout) r->checkout_since_ms = e.ts_ms;
      break;
    case EventType::kHelpContact:
    case EventType::kOfferAccepted:
      r->flags |= internal::kEngaged;
      r->flags &= ~internal::kOfferPending;
      break;
    case EventType::kOfferShown:
      if (r->flags & internal::kOfferPending) {
        r->flags &= ~internal::kOfferPending;  // beckon's own offer: counted.
      } else {
        if (r->offers < 0xff) ++r->offers;
        r->last_offer_ms = e.ts_ms;
        r->flags |= internal::kHasOffer;
      }
      break;
    case EventType::kOfferDeclined:
    case EventType::kOfferIgnored:
      r->flags &= ~internal::kOfferPending;
      RecordOutcome(v, e);
      break;
    case EventType::kAgents:
      break;  // Handled above.
  }
  return absl::OkStatus();
}

void EngineImpl::Evaluate(const SessionRecord& r, int64_t t,
                          Evaluation& ev) const {
  using namespace internal;  // NOLINT: feature names.
  const GroupInfo& g = Group(r.current_group);
  ev.dwell_s = static_cast<double>(t - r.last_activity_ms) / 1000.0;
  ev.dwell_threshold_s = g.dwell_threshold_s;
  ev.x[kDwellRatio] = Clamp(ev.dwell_s / g.dwell_threshold_s, kMaxDwellRatio);
  ev.x[kHelpHits] = Clamp(r.help_hits, kMaxCount);
  ev.x[kSearches] = Clamp(r.searches, kMaxCount);
  ev.x[kZeroResultSearches] = Clamp(r.zero_result_searches, kMaxCount);
  ev.x[kLoops] = Clamp(r.loops, kMaxCount);
  ev.x[kBackAndForth] = Clamp(r.back_and_forth, kMaxCount);
  ev.x[kPath] = r.path_rule ? path_rules_[r.path_rule - 1].strength : 0.0;
  ev.x[kCheckoutStallMin] =
      (r.flags & kInCheckout)
          ? Clamp(static_cast<double>(t - r.checkout_since_ms) / 60000.0,
                  kMaxStallMin)
          : 0.0;
  ev.x[kPagesViewed] = std::log1p(static_cast<double>(r.pages_viewed));
  ev.x[kCartValue] = std::log1p(static_cast<double>(r.cart_value));
  ev.x[kGroupHelpRate] = g.help_rate;
  double z = p_.model().bias();
  for (int i = 0; i < kFeatureCount; ++i) z += weights_[i] * ev.x[i];
  ev.logit = z;
  ev.probability = Sigmoid(z);
}

bool EngineImpl::Ready(const SessionRecord& r, int64_t t,
                       double threshold) const {
  Evaluation ev;
  Evaluate(r, t, ev);
  if (!p_.model().allow_before_dwell_threshold() &&
      ev.dwell_s < ev.dwell_threshold_s) {
    return false;
  }
  return ev.probability >= threshold;
}

// The earliest t in [from, end of session] at which the visitor is ready,
// if nothing else happens. Time moves two features, dwell and checkout
// stall; both are linear in t up to their caps, so the logit is piecewise
// linear and each piece is solved exactly, then checked with Ready itself.
std::optional<int64_t> EngineImpl::ReadyTime(const SessionRecord& r,
                                             int64_t from,
                                             double threshold) const {
  const int64_t end = r.last_event_ms + timeout_ms_;
  if (from > end) return std::nullopt;
  const GroupInfo& g = Group(r.current_group);
  int64_t start = from;
  if (!p_.model().allow_before_dwell_threshold()) {
    const int64_t dwell_at = r.last_activity_ms +
        static_cast<int64_t>(std::ceil(g.dwell_threshold_s * 1000.0));
    start = std::max(start, dwell_at);
  }
  if (start > end) return std::nullopt;
  std::vector<int64_t> cuts = {start, end};
  // The kinks where dwell and stall reach their caps. Cutting on the
  // millisecond either side of each leaves every other piece exactly linear.
  const double dwell_cap = static_cast<double>(r.last_activity_ms) +
                           g.dwell_threshold_s * 1000.0 *
                               internal::kMaxDwellRatio;
  const double stall_cap = static_cast<double>(r.checkout_since_ms) +
                           internal::kMaxStallMin * 60000.0;
  for (double kink : {dwell_cap, stall_cap}) {
    for (double c : {std::floor(kink), std::ceil(kink)}) {
      const auto ci = static_cast<int64_t>(c);
      if (ci > start && ci < end) cuts.push_back(ci);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  const double target = std::log(threshold / (1.0 - threshold));
  auto settle = [&](int64_t t, int64_t hi) -> std::optional<int64_t> {
    // Guards against rounding: step forward to the first ready millisecond.
    for (int i = 0; i < 64 && t <= hi; ++i, ++t) {
      if (Ready(r, t, threshold)) return t;
    }
    return std::nullopt;
  };
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const int64_t a = cuts[i], b = cuts[i + 1];
    if (Ready(r, a, threshold)) return a;
    Evaluation ea, eb;
    Evaluate(r, a, ea);
    Evaluate(r, b, eb);
    if (eb.logit < target || eb.logit <= ea.logit) continue;
    const double frac = (target - ea.logit) / (eb.logit - ea.logit);
    const int64_t t = a + static_cast<int64_t>(
                              std::floor(frac * static_cast<double>(b - a)));
    // Start a little early: the division may round either way.
    if (std::optional<int64_t> hit = settle(std::max(a, t - 2), b)) {
      return hit;
    }
  }
  if (Ready(r, end, threshold)) return settle(end, end);
  return std::nullopt;
}

void EngineImpl::Explain(const SessionRecord& r, const Evaluation& ev,
                         Decision& d) const {
  using namespace internal;  // NOLINT: feature names.
  d.contributions.clear();
  d.contributions.reserve(kFeatureCount);
  for (int i = 0; i < kFeatureCount; ++i) {
    d.contributions.push_back(Contribution{std::string(FeatureName(i)),
                                           ev.x[i], weights_[i] * ev.x[i]});
  }
  if (d.action == Action::kSuppress) return;  // The gate is the reason.
  int order[kFeatureCount];
  for (int i = 0; i < kFeatureCount; ++i) order[i] = i;
  std::stable_sort(order, order + kFeatureCount, [&](int a, int b) {
    return d.contributions[a].contribution > d.contributions[b].contribution;
  });
  const GroupInfo& g = Group(r.current_group);
  const std::string page =
      g.pattern.empty() ? std::string("an unlisted page") : g.pattern;
  for (int k = 0; k < 3; ++k) {
    const int f = order[k];
    if (d.contributions[f].contribution < 0.05) break;  // Not worth words.
    const double v = ev.x[f];
    std::string text;
    switch (f) {
      case kDwellRatio:
        text = absl::StrFormat("dwell %.0f s on %s (threshold %.0f s)",
                               ev.dwell_s, page, ev.dwell_threshold_s);
        break;
      case kHelpHits:
        text = Count(r.help_hits, "help-page view", "help-page views");
        break;
      case kSearches:
        text = Count(r.searches, "site search", "site searches");
        break;
      case kZeroResultSearches:
        text = Count(r.zero_result_searches, "search with no results",
                     "searches with no results");
        break;
      case kLoops:
        text = absl::StrCat("returned to recently seen pages ", r.loops,
                            " times");
        break;
      case kBackAndForth:
        text = absl::StrCat("went back and forth ", r.back_and_forth,
                            " times");
        break;
      case kPath:
        text = absl::StrCat("path: ", path_rules_[r.path_rule - 1].name);
        break;
      case kCheckoutStallMin:
        text = absl::StrFormat("%.0f min in checkout without progress", v);
        break;
      case kPagesViewed:
        text = Count(r.pages_viewed, "page viewed", "pages viewed");
        break;
      case kCartValue:
        text = absl::StrFormat("cart worth %.2f", r.cart_value);
        break;
      case kGroupHelpRate:
        text = absl::StrFormat("%s leads to help requests in %.0f%% of views",
                               page, 100.0 * g.help_rate);
        break;
    }
    d.reasons.push_back(std::move(text));
  }
}

absl::StatusOr<Decision> EngineImpl::Decide(std::string_view visitor,
                                            int64_t now) {
  if (absl::Status s = CheckVisitorId(visitor); !s.ok()) return s;
  if (absl::Status s = CheckTimestamp(now, "now_ms"); !s.ok()) return s;
  Decision d;
  absl::Status s = store_->Update(
      KeyOf(visitor), /*want_agents=*/true,
      [&](VisitorState& v, RateGate& rate) {
        d = Decision{};  // The rules may run again after a conflict.
        return DecideFor(visitor, now, v, rate, d);
      });
  if (s.ok()) return d;
  // The rules reject only bad input; anything else is the store failing:
  // a visitor whose memory cannot be read is never offered.
  if (absl::IsInvalidArgument(s)) return s;
  d = Decision{};
  d.action = Action::kSuppress;
  d.reason = Reason::kStoreUnavailable;
  d.reasons.push_back(absl::StrCat("visitor store unavailable: ",
                                   s.message()));
  internal::StoreDelta c;
  c.CountDecision(d.action, d.reason);
  store_->Count(c);
  return d;
}

absl::Status EngineImpl::DecideFor(std::string_view visitor, int64_t now,
                                   VisitorState& v, RateGate& rate,
                                   Decision& d) const {
  SessionRecord* r = v.has_session ? &v.session : nullptr;
  if (r != nullptr && now < r->last_event_ms) {
    return Bad(absl::StrCat("time went backwards for visitor: ", now,
                            " < last event ", r->last_event_ms));
  }
  // No separate check against the last offer: recording an offer moves
  // last_event_ms to it (Restore keeps that invariant too).
  auto finish = [&](Action action, Reason reason) {
    d.action = action;
    d.reason = reason;
    v.delta.CountDecision(action, reason);
  };
  if (r == nullptr || now - r->last_event_ms > timeout_ms_) {
    finish(Action::kWait, Reason::kNoSession);
    d.reasons.push_back("no live session for this visitor");
    return absl::OkStatus();
  }
  const auto& gates = p_.gates();
  const int64_t agents = v.free_agents;
  d.threshold = ThresholdFor(agents);
  Evaluation ev;
  Evaluate(*r, now, ev);
  d.probability = ev.probability;

  // Visitor gates, in order. `open_at` collects when time-limited gates open.
  int64_t open_at = now;
  bool permanent = false;
  std::optional<Reason> gate;
  std::string gate_text;
  auto close = [&](Reason why, std::string text) {
    if (!gate) {
      gate = why;
      gate_text = std::move(text);
    }
  };
  const MemoryRecord* m = v.has_memory ? &v.memory : nullptr;
  if (m != nullptr && (m->flags & internal::kHasDecline)) {
    const int64_t until = DeclineUntil(*m);
    if (gates.decline_forever()) {
      close(Reason::kDeclined, "declined an offer before (never re-offered)");
      permanent = true;
    } else if (now < until) {
      close(Reason::kDeclined,
            absl::StrCat("declined an offer ",
                         Duration(now - m->last_decline_ms), " ago (cooldown ",
                         Duration(gates.decline_cooldown_s() * 1000), ")"));
      open_at = std::max(open_at, until);
    }
  }
  if (m != nullptr && (m->flags & internal::kHasIgnore) &&
      m->ignored >= gates.ignored_cap()) {
    const int64_t until = IgnoreUntil(*m);
    if (now < until) {
      close(Reason::kIgnored,
            absl::StrCat("left ", Count(m->ignored, "offer", "offers"),
                         " unanswered, the last ",
                         Duration(now - m->last_ignore_ms), " ago (cap ",
                         gates.ignored_cap(), ", cooldown ",
                         Duration(gates.ignored_cooldown_s() * 1000), ")"));
      open_at = std::max(open_at, until);
    }
  }
  if (r->flags & internal::kEngaged) {
    close(Reason::kEngaged,
          "in a conversation or asked for help this session");
    permanent = true;
  }
  if (r->offers >= gates.max_offers_per_session()) {
    close(Reason::kSessionCap,
          absl::StrCat(Count(r->offers, "offer", "offers"),
                       " this session (cap ",
                       gates.max_offers_per_session(), ")"));
    permanent = true;
  }
  if (r->flags & internal::kHasOffer) {
    const int64_t until = r->last_offer_ms + gates.min_gap_s() * 1000;
    if (now < until) {
      close(Reason::kMinGap,
            absl::StrCat("last offer ", Duration(now - r->last_offer_ms),
                         " ago (minimum gap ",
                         Duration(gates.min_gap_s() * 1000), ")"));
      open_at = std::max(open_at, until);
    }
  }
  if (gate) {
    finish(Action::kSuppress, *gate);
    d.reasons.push_back(std::move(gate_text));
    if (!permanent) d.recheck_at_ms = ReadyTime(*r, open_at, d.threshold);
    Explain(*r, ev, d);
    return absl::OkStatus();
  }

  // The score.
  const bool dwell_short = !p_.model().allow_before_dwell_threshold() &&
                           ev.dwell_s < ev.dwell_threshold_s;
  if (dwell_short || ev.probability < d.threshold) {
    finish(Action::kWait, dwell_short ? Reason::kDwell
                                      : Reason::kBelowThreshold);
    d.reasons.push_back(
        dwell_short
            ? absl::StrFormat("dwell %.0f s, below the page's threshold %.0f s",
                              ev.dwell_s, ev.dwell_threshold_s)
            : absl::StrFormat("probability %.2f below threshold %.2f",
                              ev.probability, d.threshold));
    d.recheck_at_ms = ReadyTime(*r, now, d.threshold);
    Explain(*r, ev, d);
    return absl::OkStatus();
  }

  // Site gates: the visitor would be offered.
  if (InHoldout(visitor)) {
    d.would_offer = true;
    finish(Action::kSuppress, Reason::kHoldout);
    d.reasons.push_back(absl::StrFormat(
        "in the holdout group (%.0f%% of visitors); would have offered",
        100.0 * gates.holdout_fraction()));
    Explain(*r, ev, d);
    return absl::OkStatus();
  }
  if (agents == 0) {
    finish(Action::kSuppress, Reason::kNoAgents);
    d.reasons.push_back("no free agent");
    Explain(*r, ev, d);
    return absl::OkStatus();
  }
  if (agents > 0) {
    const auto cap = static_cast<int64_t>(
        std::floor(static_cast<double>(agents) / gates.expected_accept_rate()));
    absl::StatusOr<internal::RateCheck> rc = rate.Admit(now, cap);
    if (!rc.ok()) return rc.status();
    if (!rc->admitted) {
      finish(Action::kSuppress, Reason::kRateCap);
      d.reasons.push_back(absl::StrCat(
          rc->in_window, " offers in the last ", gates.rate_window_s(),
          " s; ", agents, " free agents answer about ", cap));
      if (rc->time_below <= r->last_event_ms + timeout_ms_) {
        d.recheck_at_ms = ReadyTime(*r, rc->time_below, d.threshold);
      }
      Explain(*r, ev, d);
      return absl::OkStatus();
    }
  }

  // Offer, and record it.
  finish(Action::kOffer, Reason::kScore);
  d.reasons.push_back(absl::StrFormat("probability %.2f reached threshold %.2f",
                                      ev.probability, d.threshold));
  if (r->offers < 0xff) ++r->offers;
  r->last_offer_ms = now;
  r->flags |= internal::kHasOffer | internal::kOfferPending;
  r->last_event_ms = std::max(r->last_event_ms, now);
  v.write_session = true;
  Explain(*r, ev, d);
  return absl::OkStatus();
}

absl::Status EngineImpl::Expire(int64_t now) {
  if (absl::Status s = CheckTimestamp(now, "now_ms"); !s.ok()) return s;
  // A full scan: timestamps of different visitors need not arrive in order,
  // and memory records expire by their own cooldowns, not by recency.
  return store_->Expire(
      [&](const SessionRecord& r) {
        return now - r.last_event_ms > timeout_ms_;
      },
      [&](const MemoryRecord& m) { return MemoryExpired(m, now); });
}

EngineStats EngineImpl::Stats() const {
  EngineStats st;
  st.events_rejected = events_rejected_.load(std::memory_order_relaxed);
  const internal::StoreStats ss = store_->Stats();
  const internal::StoreCounters& c = ss.counters;
  st.live_sessions = ss.live_sessions;
  st.memory_records = ss.memory_records;
  st.sessions_started = c.sessions_started;
  st.sessions_expired = c.sessions_expired;
  st.sessions_evicted = c.sessions_evicted;
  st.memory_evicted = c.memory_evicted;
  st.declines_evicted = c.declines_evicted;
  st.events_observed = c.events_observed;
  for (int i = 0; i < kActionCount; ++i) {
    st.decisions_by_action[i] = c.by_action[i];
  }
  for (int i = 0; i < kReasonCount; ++i) {
    st.decisions_by_reason[i] = c.by_reason[i];
  }
  st.store_errors = ss.errors;
  st.store_conflicts = ss.conflicts;
  st.store_round_trips = ss.round_trips;
  return st;
}

absl::Status EngineImpl::WriteSnapshot(const internal::ByteSink& sink) const {
  absl::StatusOr<internal::StoreContents> contents = store_->Contents();
  if (!contents.ok()) return contents.status();
  internal::SnapshotHeader h;
  h.key_fingerprint = key_fingerprint_;
  for (size_t i = 0; i + 1 < groups_.size(); ++i) {
    h.groups.push_back(groups_[i].pattern);
  }
  h.groups.push_back("");  // The unlisted group.
  const uint32_t unlisted = static_cast<uint32_t>(groups_.size() - 1);
  auto group_index = [&](uint16_t g) -> uint32_t {
    return g == kUnlistedGroup ? unlisted : g;
  };
  h.free_agents = contents->free_agents;
  h.agents_ts_ms = contents->agents_ts_ms;
  internal::SnapshotWriter w(sink);
  if (absl::Status s = w.Begin(h); !s.ok()) return s;
  for (const auto& [key, r] : contents->sessions) {
    proto::SessionRecord* o = w.AddSession();
    o->set_visitor(key);
    o->set_session_start_ms(r.session_start_ms);
    o->set_last_event_ms(r.last_event_ms);
    o->set_last_activity_ms(r.last_activity_ms);
    o->set_checkout_since_ms(r.checkout_since_ms);
    o->set_last_offer_ms(r.last_offer_ms);
    o->set_cart_value(r.cart_value);
    for (int i = 0; i < r.n_pages; ++i) o->add_recent_pages(r.recent_pages[i]);
    for (int i = 0; i < r.n_steps; ++i) {
      o->add_recent_steps(group_index(r.recent_steps[i]));
    }
    o->set_current_group(group_index(r.current_group));
    o->set_pages_viewed(r.pages_viewed);
    o->set_help_hits(r.help_hits);
    o->set_searches(r.searches);
    o->set_zero_result_searches(r.zero_result_searches);
    o->set_loops(r.loops);
    o->set_back_and_forth(r.back_and_forth);
    o->set_offers(r.offers);
    o->set_flags(r.flags);
  }
  for (const auto& [key, m] : contents->memory) {
    proto::MemoryRecord* o = w.AddMemory();
    o->set_visitor(key);
    if (m.flags & internal::kHasDecline) {
      o->set_last_decline_ms(m.last_decline_ms);
      o->set_declines(std::max<uint32_t>(1, m.declines));
    }
    if (m.flags & internal::kHasIgnore) {
      o->set_last_ignore_ms(m.last_ignore_ms);
      o->set_ignored(std::max<uint32_t>(1, m.ignored));
    }
  }
  return w.Finish();
}

absl::StatusOr<std::string> EngineImpl::Snapshot() const {
  std::string out;
  absl::Status s = WriteSnapshot([&out](std::string_view part) {
    out.append(part.data(), part.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status EngineImpl::SnapshotToFile(const std::string& path) const {
  return internal::WriteFileAtomicallyStreamed(
      path, [this](const internal::ChunkWriter& write) {
        // Parts are small (a chunk's head, payload, checksum): gathered into
        // 64 KiB writes.
        std::string buffer;
        absl::Status s = WriteSnapshot([&](std::string_view part) {
          buffer.append(part.data(), part.size());
          if (buffer.size() < (64 << 10)) return absl::OkStatus();
          absl::Status w = write(buffer);
          buffer.clear();
          return w;
        });
        if (!s.ok()) return s;
        return write(buffer);
      });
}

namespace {

// A file as a snapshot's byte source, its first bytes already read.
class PrefixedFileSource : public internal::ByteSource {
 public:
  PrefixedFileSource(std::string prefix, internal::FileReader& file)
      : prefix_(std::move(prefix)), file_(file) {}
  absl::StatusOr<size_t> Read(char* out, size_t n) override {
    if (used_ < prefix_.size()) {
      const size_t k = std::min(n, prefix_.size() - used_);
      std::memcpy(out, prefix_.data() + used_, k);
      used_ += k;
      return k;
    }
    return file_.Read(out, n);
  }

 private:
  std::string prefix_;
  size_t used_ = 0;
  internal::FileReader& file_;
};

}  // namespace

absl::Status EngineImpl::RestoreFromFile(const std::string& path) {
  absl::StatusOr<internal::FileReader> file = internal::FileReader::Open(path);
  if (!file.ok()) return file.status();
  std::string prefix(sizeof(internal::kSnapshotMagic), '\0');
  size_t got = 0;
  while (got < prefix.size()) {
    absl::StatusOr<size_t> n = file->Read(&prefix[got], prefix.size() - got);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    got += *n;
  }
  prefix.resize(got);
  if (!internal::HasSnapshotMagic(prefix)) {
    // Format version 1 is one protobuf message: read whole.
    absl::StatusOr<std::string> bytes = internal::ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    return Restore(*bytes);
  }
  PrefixedFileSource source(std::move(prefix), *file);
  return RestoreFrom([&](const internal::SnapshotVisitor& v) {
    return internal::ReadSnapshot(source, v);
  });
}

absl::Status EngineImpl::Restore(std::string_view bytes) {
  if (internal::HasSnapshotMagic(bytes)) {
    internal::StringSource source(bytes);
    return RestoreFrom([&](const internal::SnapshotVisitor& v) {
      return internal::ReadSnapshot(source, v);
    });
  }
  // Format version 1, saved before the checksummed format: one message.
  proto::Snapshot snap;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !snap.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(
        "invalid snapshot: not a snapshot message (", bytes.size(), " bytes)"));
  }
  if (snap.format_version() == 0) {  // No version: not a snapshot at all.
    return absl::DataLossError(absl::StrCat(
        "invalid snapshot: not a snapshot (", bytes.size(), " bytes)"));
  }
  if (snap.format_version() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "invalid snapshot: format_version ", snap.format_version(),
        "; this engine reads 1 and ", internal::kSnapshotFormatVersion));
  }
  return RestoreFrom([&](const internal::SnapshotVisitor& v) -> absl::Status {
    internal::SnapshotHeader h;
    h.key_fingerprint = snap.key_fingerprint();
    h.groups.assign(snap.groups().begin(), snap.groups().end());
    h.free_agents = snap.free_agents();
    h.agents_ts_ms = snap.agents_ts_ms();
    if (absl::Status s = v.header(h); !s.ok()) return s;
    for (int i = 0; i < snap.sessions_size(); ++i) {
      if (absl::Status s = v.session(snap.sessions(i), i); !s.ok()) return s;
    }
    for (int i = 0; i < snap.memory_size(); ++i) {
      if (absl::Status s = v.memory(snap.memory(i), i); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::Status EngineImpl::RestoreFrom(
    absl::FunctionRef<absl::Status(const internal::SnapshotVisitor&)> read) {
  internal::StoreContents c;
  std::vector<uint16_t> remap;  // Snapshot group index -> this policy's.
  auto ts_ok = [](int64_t t) { return t >= 0 && t <= kMaxTimestampMs; };
  internal::SnapshotVisitor v;
  v.header = [&](const internal::SnapshotHeader& h) -> absl::Status {
    if (h.key_fingerprint != key_fingerprint_) {
      return absl::FailedPreconditionError(
          "snapshot was written by an engine with another visitor_key (an "
          "engine given no key uses its process's random one: to restore a "
          "snapshot in another process, give both engines the same "
          "Engine::Options.visitor_key or visitor_key_file)");
    }
    if (h.groups.empty() || h.groups.size() > 0xfffe ||
        h.free_agents < -1 || h.free_agents > kMaxAgents ||
        h.agents_ts_ms < -1 || h.agents_ts_ms > kMaxTimestampMs) {
      return absl::DataLossError("invalid snapshot: bad header");
    }
    // Map the snapshot's groups onto this policy by pattern.
    remap.resize(h.groups.size());
    for (size_t i = 0; i < h.groups.size(); ++i) {
      remap[i] = h.groups[i].empty() ? kUnlistedGroup
                                     : matcher_.GroupByPattern(h.groups[i]);
    }
    c.agents_ts_ms = h.agents_ts_ms;
    c.free_agents = h.free_agents;
    return absl::OkStatus();
  };
  // Everything is checked before any state is touched: records are only
  // collected here, and the store is replaced once all have been read.
  v.session = [&](const proto::SessionRecord& o, uint64_t i) -> absl::Status {
    const uint32_t n_groups = static_cast<uint32_t>(remap.size());
    const bool ok =
        ts_ok(o.session_start_ms()) && ts_ok(o.last_event_ms()) &&
        ts_ok(o.last_activity_ms()) && ts_ok(o.checkout_since_ms()) &&
        ts_ok(o.last_offer_ms()) && std::isfinite(o.cart_value()) &&
        o.cart_value() >= 0 &&
        o.recent_pages_size() <= internal::kRecentPages &&
        o.recent_steps_size() <= internal::kRecentSteps &&
        o.current_group() < n_groups &&
        o.flags() <= internal::kSessionFlagsMask && o.offers() <= 0xff &&
        (!(o.flags() & internal::kHasOffer) ||
         o.last_offer_ms() <= o.last_event_ms()) &&
        std::all_of(o.recent_steps().begin(), o.recent_steps().end(),
                    [&](uint32_t g) { return g < n_groups; }) &&
        o.pages_viewed() <= 0xffff && o.help_hits() <= 0xffff &&
        o.searches() <= 0xffff && o.zero_result_searches() <= 0xffff &&
        o.loops() <= 0xffff && o.back_and_forth() <= 0xffff;
    if (!ok) {
      return absl::DataLossError(
          absl::StrCat("invalid snapshot: session record ", i, " is corrupt"));
    }
    SessionRecord r{};
    r.session_start_ms = o.session_start_ms();
    r.last_event_ms = o.last_event_ms();
    r.last_activity_ms = o.last_activity_ms();
    r.checkout_since_ms = o.checkout_since_ms();
    r.last_offer_ms = o.last_offer_ms();
    r.cart_value = o.cart_value();
    r.current_group = remap[o.current_group()];
    r.pages_viewed = static_cast<uint16_t>(o.pages_viewed());
    r.help_hits = static_cast<uint16_t>(o.help_hits());
    r.searches = static_cast<uint16_t>(o.searches());
    r.zero_result_searches = static_cast<uint16_t>(o.zero_result_searches());
    r.loops = static_cast<uint16_t>(o.loops());
    r.back_and_forth = static_cast<uint16_t>(o.back_and_forth());
    r.offers = static_cast<uint8_t>(o.offers());
    r.flags = static_cast<uint8_t>(o.flags());
    for (int k = 0; k < o.recent_pages_size(); ++k) {
      r.recent_pages[r.n_pages++] = o.recent_pages(k);
    }
    for (int k = 0; k < o.recent_steps_size(); ++k) {
      r.recent_steps[r.n_steps++] = remap[o.recent_steps(k)];
    }
    r.path_rule = MatchPathRule(r);  // Under this engine's policy.
    c.sessions.emplace_back(o.visitor(), r);
    return absl::OkStatus();
  };
  v.memory = [&](const proto::MemoryRecord& o, uint64_t i) -> absl::Status {
    if (!ts_ok(o.last_decline_ms()) || !ts_ok(o.last_ignore_ms()) ||
        o.declines() > 0xffff || o.ignored() > 0xffff ||
        (o.declines() == 0 && o.ignored() == 0)) {
      return absl::DataLossError(
          absl::StrCat("invalid snapshot: memory record ", i, " is corrupt"));
    }
    MemoryRecord m{};
    if (o.declines() > 0) {
      m.flags |= internal::kHasDecline;
      m.last_decline_ms = o.last_decline_ms();
      m.declines = static_cast<uint16_t>(o.declines());
    }
    if (o.ignored() > 0) {
      m.flags |= internal::kHasIgnore;
      m.last_ignore_ms = o.last_ignore_ms();
      m.ignored = static_cast<uint16_t>(o.ignored());
    }
    c.memory.emplace_back(o.visitor(), m);
    const int64_t latest = std::max(m.last_decline_ms, m.last_ignore_ms);
    c.memory_ttl_ms.push_back(MemoryTtl(m, latest));
    return absl::OkStatus();
  };
  if (absl::Status s = read(v); !s.ok()) return s;
  return store_->Replace(c);
}

// --- Engine -------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(Policy policy) {
  return Create(std::move(policy), Options());
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(Policy policy,
                                                       const Options& options) {
  if (options.max_sessions < 1) {
    return Bad("Engine::Options.max_sessions must be >= 1");
  }
  if (options.max_memory_records < 1) {
    return Bad("Engine::Options.max_memory_records must be >= 1");
  }
  if (options.max_url_bytes < 1) {
    return Bad("Engine::Options.max_url_bytes must be >= 1");
  }
  if (options.max_referrer_bytes < 1) {
    return Bad("Engine::Options.max_referrer_bytes must be >= 1");
  }
  if (options.shards < 1 || options.shards > 4096 ||
      (options.shards & (options.shards - 1)) != 0) {
    return Bad(absl::StrCat(
        "Engine::Options.shards must be a power of two in [1, 4096], got ",
        options.shards));
  }
  if (options.max_sessions / options.shards > 0xfffffff0ULL ||
      options.max_memory_records / options.shards > 0xfffffff0ULL) {
    return Bad("Engine::Options: more than 2^32 records per shard");
  }
  if (options.store == StoreKind::kRedis) {
    if (absl::Status s = internal::CheckRedisOptions(options.redis); !s.ok()) {
      return s;
    }
  } else if (options.store != StoreKind::kMemory) {
    return Bad(absl::StrCat("Engine::Options.store: unknown store ",
                            static_cast<int>(options.store)));
  }
  // The visitor key: given, from its file, the fleet's in Redis, or the
  // process's random one (lib/visitor_key.h).
  Engine::Options resolved = options;
  const bool key_given = options.visitor_key[0] != 0 ||
                         options.visitor_key[1] != 0 ||
                         !options.visitor_key_file.empty();
  absl::StatusOr<internal::VisitorKey> key =
      !key_given && options.store == StoreKind::kRedis
          ? internal::RedisFleetKey(options.redis,
                                    internal::RandomVisitorKey())
          : internal::ResolveLocalVisitorKey(options);
  if (!key.ok()) return key.status();
  resolved.visitor_key = *key;
  auto impl = std::make_unique<EngineImpl>(std::move(policy), resolved);
  if (absl::Status s = impl->OpenStore(); !s.ok()) return s;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::Status Engine::Observe(const Event& event) {
  return impl_->Observe(event);
}

absl::StatusOr<Decision> Engine::Decide(std::string_view visitor,
                                        int64_t now_ms) {
  return impl_->Decide(visitor, now_ms);
}

absl::Status Engine::Expire(int64_t now_ms) { return impl_->Expire(now_ms); }

std::string Engine::Snapshot() const {
  absl::StatusOr<std::string> s = impl_->Snapshot();
  return s.ok() ? *std::move(s) : std::string();
}

absl::StatusOr<std::string> Engine::SnapshotOrError() const {
  return impl_->Snapshot();
}

absl::Status Engine::SnapshotToFile(const std::string& path) const {
  return impl_->SnapshotToFile(path);
}

absl::Status Engine::Restore(std::string_view snapshot) {
  return impl_->Restore(snapshot);
}

absl::Status Engine::RestoreFromFile(const std::string& path) {
  return impl_->RestoreFromFile(path);
}

EngineStats Engine::Stats() const { return impl_->Stats(); }

const Policy& Engine::policy() const { return impl_->policy(); }

std::array<uint64_t, 2> Engine::visitor_key() const {
  return impl_->visitor_key();
}

}  // namespace beckon
