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
#include "engine/compiled_policy.h"
#include "engine/decision_log.h"
#include "engine/explain.h"
#include "engine/features.h"
#include "engine/gates.h"
#include "engine/metrics.h"
#include "engine/recheck.h"
#include "engine/session_rules.h"
#include "engine_internal.h"
#include "file_util.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "model_features.h"
#include "page_matcher.h"
#include "policy_internal.h"
#include "redis_options_check.h"
#include "siphash.h"
#include "snapshot_codec.h"
#include "state_store.h"
#include "string_views.h"
#include "visitor_key.h"
#include "visitor_store.h"

namespace beckon {

using internal::kFeatureCount;
using internal::Evaluation;
using internal::PageFacts;
using internal::SessionScore;
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

// The one rule by which a record's groups follow a policy change (a swap
// on the memory store, a record of another layout in Redis, a restored
// snapshot): a group becomes the new policy's group with the same pattern,
// or the unlisted group if it has none.
uint16_t GroupOfPattern(const internal::CompiledPolicy& to,
                        std::string_view pattern) {
  return pattern.empty() ? kUnlistedGroup : to.matcher().GroupByPattern(pattern);
}

// Group index -> `to`'s, for groups with these patterns ("": unlisted).
std::vector<uint16_t> GroupsByPattern(const internal::CompiledPolicy& to,
                                      const std::vector<std::string>& from) {
  std::vector<uint16_t> map;
  map.reserve(from.size());
  for (const std::string& pattern : from) {
    map.push_back(GroupOfPattern(to, pattern));
  }
  return map;
}

// The patterns of `p`'s groups (the unlisted group's, "", last).
std::vector<std::string> PatternsOf(const internal::CompiledPolicy& p) {
  std::vector<std::string> out;
  out.reserve(p.groups().size());
  for (const internal::GroupInfo& g : p.groups()) out.push_back(g.pattern);
  return out;
}

uint16_t MapGroup(const std::vector<uint16_t>& map, uint16_t g) {
  return g == kUnlistedGroup || g >= map.size() ? kUnlistedGroup : map[g];
}

// A session's group indices through `map` (its path rule is then matched
// again by the caller, under the policy mapped to).
void MapSessionGroups(const std::vector<uint16_t>& map, SessionRecord& r) {
  r.current_group = MapGroup(map, r.current_group);
  for (int i = 0; i < r.n_steps; ++i) {
    r.recent_steps[i] = MapGroup(map, r.recent_steps[i]);
  }
}

}  // namespace

// One policy as the engine runs it: compiled, with what decisions made
// under it read (its explainer) and count (offers by group).
struct Installed {
  Installed(Policy p, uint32_t gen);
  // Puts `before` behind this policy (its groups mapped onto this one's).
  void Link(std::unique_ptr<const Installed> before);

  const Policy policy;
  const internal::CompiledPolicy cp;
  const std::string version;
  // Shared with the C ABI's and Python's decisions, which may outlive the
  // engine.
  const std::shared_ptr<const internal::Explainer> explainer;
  const uint32_t generation;
  // The policy before this one (nullptr for the first). Set by Link before
  // the policy is published; read-only after.
  std::unique_ptr<const Installed> prev;
  // prev's group index -> this policy's, by pattern (kUnlistedGroup where
  // this policy has no such group).
  std::vector<uint16_t> from_prev;
  // Offers made under this policy, by its groups (policy groups, unlisted).
  std::unique_ptr<std::atomic<uint64_t>[]> offers_by_group;

  uint16_t FromPrev(uint16_t g) const { return MapGroup(from_prev, g); }
};

class EngineImpl {
 public:
  EngineImpl(Policy policy, const Engine::Options& options);
  // Opens the visitor store the options name.
  absl::Status OpenStore();
  // Opens Options::decision_log_path, if set.
  absl::Status OpenDecisionLog();

  absl::Status Observe(const Event& e) {
    internal::ScopedLatency timed(
        observe_latency_,
        options_.latency_histograms &&
            internal::SampleThisCall<internal::Timed::kObserve>());
    absl::Status s = Apply(e);
    if (!s.ok()) {
      events_rejected_.fetch_add(1, std::memory_order_relaxed);
    } else if (event_log_ != nullptr) {
      event_log_->WriteLine(internal::EventLogRow(e));
    }
    return s;
  }
  absl::StatusOr<Decision> Decide(std::string_view visitor, int64_t now_ms);
  absl::Status Expire(int64_t now_ms);
  absl::StatusOr<std::string> Snapshot() const;
  absl::Status SnapshotToFile(const std::string& path) const;
  absl::Status Restore(std::string_view bytes);
  absl::Status RestoreFromFile(const std::string& path);
  EngineStats Stats() const;
  const Policy& policy() const { return Current().policy; }
  absl::Status SetPolicy(Policy policy);
  // The explainer `d` reads, kept alive by the returned pointer.
  std::shared_ptr<const void> ExplainerFor(const Decision& d) const;
  std::string MetricsText() const;
  std::array<uint64_t, 2> visitor_key() const { return options_.visitor_key; }
  uint64_t VisitorHash(std::string_view id) const { return KeyOf(id); }
  bool InHoldout(std::string_view id) const {
    return Current().cp.InHoldout(id);
  }

 private:
  uint64_t KeyOf(std::string_view id) const {
    return internal::SipHash24(options_.visitor_key[0],
                               options_.visitor_key[1], id);
  }
  absl::Status WriteSnapshot(const internal::ByteSink& sink) const;
  // Replaces the store's contents by what `read` hands the visitor, once
  // it has all been read and checked.
  absl::Status RestoreFrom(
      absl::FunctionRef<absl::Status(const internal::SnapshotVisitor&)> read);
  absl::Status Apply(const Event& e);
  // Checks page and referrer against their caps and classifies them.
  absl::Status ClassifyPage(const Installed& p, const Event& e,
                            PageFacts& out) const;
  absl::Status DecideFor(const Installed& p, std::string_view visitor,
                         int64_t now, VisitorState& v, RateGate& rate,
                         Decision& d) const;

  const Installed& Current() const {
    return *current_.load(std::memory_order_acquire);
  }
  // Brings a stored session's group indices to `p`'s policy (memory store:
  // records of the policy before a SetPolicy whose pass has not reached
  // them yet), and page facts classified under an earlier policy.
  void BringToCurrent(const Installed& p, SessionRecord& r) const;
  void BringToCurrent(const Installed& p, PageFacts& facts,
                      uint32_t facts_generation) const;
  // Redis: maps a session written under another layout onto `p`'s groups
  // by pattern (the layout of one of this engine's policies, or the one
  // the store read from Redis), and marks it as of `p`'s layout.
  void AdoptStored(const Installed& p, VisitorState& v) const;

  const Engine::Options options_;
  // The policies this engine has had, newest first through `prev`; the
  // current one is published in current_. None is freed before the engine:
  // decisions read their explainers, and callers of policy() hold
  // references.
  std::unique_ptr<const Installed> installed_;  // Changed under swap_mu_.
  std::atomic<const Installed*> current_{nullptr};
  // Serializes SetPolicy, and keeps snapshots and restores from overlapping
  // a swap's remapping pass.
  mutable absl::Mutex swap_mu_;
  // Sessions carry the policy generation they are of (memory store).
  const bool remaps_;
  const int64_t timeout_ms_;
  uint64_t key_fingerprint_;
  std::unique_ptr<internal::VisitorStore> store_;
  std::atomic<uint64_t> events_rejected_{0};
  internal::LatencyHistogram observe_latency_, decide_latency_;
  std::unique_ptr<internal::DecisionLogFile> decision_log_, event_log_;
  const bool logging_;  // A decision sink or log file is set.

  // Hands `d`, made under `p`, to the decision log.
  void LogDecision(const Installed& p, uint64_t visitor_hash, int64_t now,
                   const Decision& d) const;
};

namespace {

// 16 hex digits of a hash of the policy's deterministic encoding.
std::string PolicyVersion(const Policy& policy) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    internal::PolicyInternal::Message(policy).SerializeToCodedStream(&out);
  }
  return absl::StrFormat(
      "%016x", internal::SipHash24(0x706f6c6963792031ULL, 3, bytes));
}

}  // namespace

Installed::Installed(Policy p, uint32_t gen)
    : policy(std::move(p)),
      cp(internal::PolicyInternal::Message(policy)),
      version(PolicyVersion(policy)),
      explainer(
          std::make_shared<internal::Explainer>(cp, policy.name(), version)),
      generation(gen),
      offers_by_group(new std::atomic<uint64_t>[cp.groups().size()]) {
  for (size_t g = 0; g < cp.groups().size(); ++g) offers_by_group[g] = 0;
}

void Installed::Link(std::unique_ptr<const Installed> before) {
  prev = std::move(before);
  from_prev.clear();
  if (prev == nullptr) return;
  from_prev = GroupsByPattern(cp, PatternsOf(prev->cp));
}

EngineImpl::EngineImpl(Policy policy, const Engine::Options& options)
    : options_(options),
      installed_(std::make_unique<Installed>(std::move(policy), 0)),
      remaps_(options.store == StoreKind::kMemory),
      timeout_ms_(installed_->cp.timeout_ms()),
      logging_(options.decision_sink != nullptr ||
               !options.decision_log_path.empty()) {
  current_.store(installed_.get(), std::memory_order_release);
  key_fingerprint_ = internal::SipHash24(options.visitor_key[0],
                                         options.visitor_key[1],
                                         "beckon key fingerprint");
}

void EngineImpl::BringToCurrent(const Installed& p, SessionRecord& r) const {
  const auto gen = static_cast<uint8_t>(p.generation);
  if (r.generation == gen) return;
  // The record is of an earlier policy: find it (a swap's pass leaves no
  // record more than one policy behind, but a record is matched by the
  // low byte of its generation, so walk back to the first that matches),
  // then map its groups forward one policy at a time.
  std::vector<const Installed*> chain;  // p, then older, up to the record's.
  const Installed* q = &p;
  while (q != nullptr && static_cast<uint8_t>(q->generation) != r.generation) {
    chain.push_back(q);
    q = q->prev.get();
  }
  if (q == nullptr) return;  // Not of any policy this engine has had.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    MapSessionGroups((*it)->from_prev, r);
  }
  r.path_rule = internal::MatchPathRule(p.cp, r);
  r.generation = gen;
}

void EngineImpl::AdoptStored(const Installed& p, VisitorState& v) const {
  const uint64_t to = p.cp.layout();
  if (v.has_session && v.session_layout != to) {
    const Installed* q = p.prev.get();
    while (q != nullptr && q->cp.layout() != v.session_layout) {
      q = q->prev.get();
    }
    if (q != nullptr) {
      MapSessionGroups(GroupsByPattern(p.cp, PatternsOf(q->cp)), v.session);
    } else if (v.session_groups != nullptr) {
      MapSessionGroups(GroupsByPattern(p.cp, *v.session_groups), v.session);
    } else {
      // A layout the store did not resolve: as an unreadable record.
      v.has_session = false;
    }
    if (v.has_session) v.session.path_rule = internal::MatchPathRule(p.cp, v.session);
  }
  v.session_layout = to;
}

void EngineImpl::BringToCurrent(const Installed& p, PageFacts& facts,
                                uint32_t facts_generation) const {
  if (facts_generation == p.generation) return;
  std::vector<const Installed*> chain;
  for (const Installed* q = &p; q != nullptr && q->generation > facts_generation;
       q = q->prev.get()) {
    chain.push_back(q);
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    facts.page.group = (*it)->FromPrev(facts.page.group);
  }
}

absl::Status EngineImpl::SetPolicy(Policy policy) {
  absl::MutexLock swapping(&swap_mu_);
  const Installed& cur = Current();
  const proto::Policy& next = internal::PolicyInternal::Message(policy);
  if (next.session().timeout_s() * 1000 != timeout_ms_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "SetPolicy: the new policy's session.timeout_s (",
        next.session().timeout_s(), ") differs from the engine's (",
        timeout_ms_ / 1000,
        "); the session timeout is fixed when the engine is created"));
  }
  if (next.gates().rate_window_s() * 1000 != cur.cp.rate_window_ms()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "SetPolicy: the new policy's gates.rate_window_s (",
        next.gates().rate_window_s(), ") differs from the engine's (",
        cur.cp.rate_window_ms() / 1000,
        "); the rate window is fixed when the engine is created"));
  }
  auto made = std::make_unique<Installed>(std::move(policy),
                                          cur.generation + 1);
  if (!remaps_ && made->cp.layout() != cur.cp.layout()) {
    // Other engines sharing the store must be able to read the sessions
    // this one writes under the new layout: published before it is used.
    if (absl::Status s = store_->PublishLayout(made->cp.layout(),
                                               made->cp.layout_text());
        !s.ok()) {
      // Back to the current layout (published already: no round trip).
      (void)store_->PublishLayout(cur.cp.layout(), cur.cp.layout_text());
      return absl::UnavailableError(absl::StrCat(
          "SetPolicy: cannot publish the new policy's page-group layout in "
          "Redis (", s.message(),
          "); the policy is unchanged"));
    }
  }
  // Chain the old policy behind the new one, then publish it: calls that
  // take a shard lock from now on run under the new policy and bring the
  // records they touch to it.
  made->Link(std::move(installed_));
  const Installed* now = made.get();
  installed_ = std::move(made);
  current_.store(now, std::memory_order_release);
  // Then every other record, shard by shard under its lock, so that no
  // record is ever more than one policy behind.
  if (remaps_) {
    return store_->ForEachSession(
        [&](SessionRecord& r) { BringToCurrent(*now, r); });
  }
  return absl::OkStatus();
}

std::shared_ptr<const void> EngineImpl::ExplainerFor(const Decision& d) const {
  const void* e = internal::DecisionAccess::ExplainerOf(d);
  for (const Installed* p = &Current(); p != nullptr; p = p->prev.get()) {
    if (p->explainer.get() == e) return p->explainer;
  }
  return nullptr;
}

absl::Status EngineImpl::OpenDecisionLog() {
  if (!options_.decision_log_path.empty()) {
    absl::StatusOr<std::unique_ptr<internal::DecisionLogFile>> f =
        internal::DecisionLogFile::Open(options_.decision_log_path);
    if (!f.ok()) return f.status();
    decision_log_ = *std::move(f);
  }
  if (!options_.event_log_path.empty()) {
    absl::StatusOr<std::unique_ptr<internal::DecisionLogFile>> f =
        internal::DecisionLogFile::Open(options_.event_log_path,
                                        "event_log_path",
                                        "ts_ms,visitor,event,page,detail");
    if (!f.ok()) return f.status();
    event_log_ = *std::move(f);
  }
  return absl::OkStatus();
}

void EngineImpl::LogDecision(const Installed& p, uint64_t visitor_hash,
                             int64_t now, const Decision& d) const {
  LoggedDecision l;
  l.ts_ms = now;
  l.visitor_hash = visitor_hash;
  l.action = d.action;
  l.reason = d.reason;
  l.probability = d.probability;
  l.threshold = d.threshold;
  l.would_offer = d.would_offer;
  l.offer_probability = d.offer_probability;
  l.recheck_at_ms = d.recheck_at_ms;
  if (d.detail.has_session) l.group = p.cp.Group(d.detail.group).pattern;
  l.policy_name = p.policy.name();
  l.policy_version = p.version;
  if (options_.decision_sink) options_.decision_sink(l);
  if (decision_log_ != nullptr) decision_log_->Write(l);
}

absl::Status EngineImpl::OpenStore() {
  const int64_t window_ms = Current().cp.rate_window_ms();
  if (options_.store == StoreKind::kRedis) {
    absl::StatusOr<std::unique_ptr<internal::VisitorStore>> s =
        internal::NewRedisStore(options_.redis, timeout_ms_, window_ms);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
    // If Redis cannot be reached now, the layout is published with the
    // first session this engine writes.
    (void)store_->PublishLayout(Current().cp.layout(),
                                Current().cp.layout_text());
  } else {
    store_ = internal::NewMemoryStore(options_, timeout_ms_, window_ms);
  }
  return absl::OkStatus();
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

  // Under the store's lock only fixed-size work: the rules see the event
  // without its URL and referrer, and the facts classified from them.
  Event bare = e;
  bare.page = {};
  bare.referrer = {};
  const bool paged =
      e.type == EventType::kPageView || e.type == EventType::kSearch;
  // The event runs wholly under one policy: classified and applied by the
  // one current under the lock. If a SetPolicy published another between
  // the two, it is classified again (a swap at a time: rarely twice).
  for (int attempt = 0;; ++attempt) {
    PageFacts facts;
    const Installed& classified_by = Current();
    if (absl::Status s = ClassifyPage(classified_by, e, facts); !s.ok()) {
      return s;
    }
    bool reclassify = false;
    absl::Status s = store_->Update(
        KeyOf(e.visitor), /*want_agents=*/false,
        [&](VisitorState& v, RateGate&) {
          reclassify = false;  // The rules may run again after a conflict.
          // The policy current under the lock: a SetPolicy's pass waits.
          const Installed& p = Current();
          PageFacts f = facts;
          if (&p != &classified_by) {
            if (paged && attempt < 3) {
              reclassify = true;
              return absl::AbortedError("policy changed");
            }
            // Mapped by pattern, as a stored session is.
            BringToCurrent(p, f, classified_by.generation);
          }
          if (remaps_ && v.has_session) BringToCurrent(p, v.session);
          if (!remaps_) AdoptStored(p, v);
          absl::Status applied = internal::ApplyEvent(p.cp, v, bare, f);
          if (v.has_session) {
            v.session.generation = static_cast<uint8_t>(p.generation);
          }
          return applied;
        });
    if (!reclassify) return s;
  }
}

absl::Status EngineImpl::ClassifyPage(const Installed& p, const Event& e,
                                      PageFacts& out) const {
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
  out = internal::ClassifyEventPage(p.cp, e);
  return absl::OkStatus();
}

absl::StatusOr<Decision> EngineImpl::Decide(std::string_view visitor,
                                            int64_t now) {
  internal::ScopedLatency timed(
      decide_latency_,
      options_.latency_histograms &&
          internal::SampleThisCall<internal::Timed::kDecide>());
  if (absl::Status s = CheckVisitorId(visitor); !s.ok()) return s;
  if (absl::Status s = CheckTimestamp(now, "now_ms"); !s.ok()) return s;
  Decision d;
  const uint64_t key = KeyOf(visitor);
  const Installed* made_by = &Current();
  absl::Status s = store_->Update(
      key, /*want_agents=*/true,
      [&](VisitorState& v, RateGate& rate) {
        d = Decision{};  // The rules may run again after a conflict.
        // The policy current under the lock (a SetPolicy's pass waits).
        made_by = &Current();
        if (remaps_ && v.has_session) BringToCurrent(*made_by, v.session);
        if (!remaps_) AdoptStored(*made_by, v);
        return DecideFor(*made_by, visitor, now, v, rate, d);
      });
  const Installed& p = *made_by;
  internal::DecisionAccess::SetExplainer(d, p.explainer.get());
  if (s.ok()) {
    if (d.action == Action::kOffer) {
      const uint16_t g = d.detail.group;
      p.offers_by_group[g == kUnlistedGroup ? p.cp.groups().size() - 1 : g]
          .fetch_add(1, std::memory_order_relaxed);
    }
    if (logging_) LogDecision(p, key, now, d);
    return d;
  }
  // The rules reject only bad input; anything else is the store failing:
  // a visitor whose memory cannot be read is never offered.
  if (absl::IsInvalidArgument(s)) return s;
  d = Decision{};
  d.action = Action::kSuppress;
  d.reason = Reason::kStoreUnavailable;
  internal::DecisionAccess::SetExplainer(d, p.explainer.get());
  internal::DecisionAccess::SetNote(d, std::string(s.message()));
  internal::StoreDelta c;
  c.CountDecision(d.action, d.reason);
  store_->Count(c);
  if (logging_) LogDecision(p, key, now, d);
  return d;
}

// The rules of a decision, in the documented order: no session; the
// visitor gates; the score; the site gates; the offer. Makes no text: the
// decision's detail holds what its reasons are made of.
absl::Status EngineImpl::DecideFor(const Installed& p,
                                   std::string_view visitor, int64_t now,
                                   VisitorState& v, RateGate& rate,
                                   Decision& d) const {
  const internal::CompiledPolicy& cp = p.cp;
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
    return absl::OkStatus();
  }
  const int64_t agents = v.free_agents;
  d.threshold = cp.ThresholdFor(agents);
  const SessionScore score(cp, *r);
  Evaluation ev;
  score.Evaluate(now, ev);
  d.probability = ev.probability;
  DecisionDetail& x = d.detail;
  x.has_session = true;
  for (int i = 0; i < kFeatureCount; ++i) x.features[i] = ev.x[i];
  x.dwell_s = ev.dwell_s;
  x.dwell_threshold_s = ev.dwell_threshold_s;
  x.cart_value = r->cart_value;
  x.group = r->current_group;
  x.help_hits = r->help_hits;
  x.searches = r->searches;
  x.zero_result_searches = r->zero_result_searches;
  x.loops = r->loops;
  x.back_and_forth = r->back_and_forth;
  x.pages_viewed = r->pages_viewed;
  x.offers = r->offers;
  x.path_rule = r->path_rule;

  // Visitor gates, in order: the first closed one is the reason; together
  // they say when the visitor could be offered again.
  const MemoryRecord* m = v.has_memory ? &v.memory : nullptr;
  const internal::GateInput in{cp, *r, m, now};
  int64_t open_at = now;
  bool permanent = false;
  bool closed = false;
  for (const internal::VisitorGate& gate : internal::kVisitorGates) {
    const internal::GateCheck c = gate.check(in);
    if (!c.closed) continue;
    if (!closed) {
      closed = true;
      d.reason = gate.reason;
      x.since_ms = c.since_ms;
      if (gate.reason == Reason::kIgnored) x.ignored = m->ignored;
    }
    if (c.permanent) {
      permanent = true;
    } else {
      open_at = std::max(open_at, c.open_at_ms);
    }
  }
  if (closed) {
    finish(Action::kSuppress, d.reason);
    if (!permanent) {
      d.recheck_at_ms =
          internal::ReadyTime(cp, score, open_at, d.threshold);
    }
    return absl::OkStatus();
  }

  // The score.
  const bool dwell_short = !cp.allow_before_dwell_threshold() &&
                           ev.dwell_s < ev.dwell_threshold_s;
  // Exploration: below the threshold but at least its floor, a decision
  // goes on at random as if the threshold were reached.
  const double not_held_out = 1 - cp.gates().holdout_fraction;
  bool explored = false;
  if (!dwell_short && ev.probability < d.threshold && cp.explore_share() > 0 &&
      ev.probability >= cp.explore_floor()) {
    d.offer_probability = cp.explore_share() * not_held_out;
    explored = cp.ExploreDraw(visitor, now) < cp.explore_share();
  }
  if (dwell_short || (ev.probability < d.threshold && !explored)) {
    finish(Action::kWait, dwell_short ? Reason::kDwell
                                      : Reason::kBelowThreshold);
    // With exploration, the next decision worth making comes when the
    // probability reaches the floor, if it is below it.
    const double ready =
        cp.explore_share() > 0 && ev.probability < cp.explore_floor()
            ? cp.explore_floor()
            : d.threshold;
    d.recheck_at_ms = internal::ReadyTime(cp, score, now, ready);
    return absl::OkStatus();
  }
  x.explored = explored;
  if (!explored) d.offer_probability = not_held_out;
  // Where the offer would change the outcome: the expected uplift must
  // reach its floor too. Re-decided at the visitor's next event (no
  // recheck_at: when the uplift would rise is not worked out).
  if (cp.has_uplift()) {
    x.has_uplift = true;
    x.uplift = cp.Uplift(ev.x);
    x.uplift_score = x.uplift;
    if (cp.uplift_by_value()) {
      x.order_value = r->cart_value > 0 ? r->cart_value : cp.mean_order_value();
      x.uplift_score = x.uplift * x.order_value;
    }
    x.min_uplift = cp.min_uplift();
    if (x.uplift_score < x.min_uplift) {
      d.offer_probability = 0;
      finish(Action::kWait, Reason::kBelowThreshold);
      return absl::OkStatus();
    }
  }

  // Site gates: the visitor would be offered.
  if (internal::HoldoutGate(cp, visitor)) {
    d.would_offer = true;
    finish(Action::kSuppress, Reason::kHoldout);
    return absl::OkStatus();
  }
  if (agents == 0) {
    finish(Action::kSuppress, Reason::kNoAgents);
    return absl::OkStatus();
  }
  // The two site-wide caps count the same window of offers: the agents'
  // (when agents are reported) and the policy's share of sessions started
  // (when gates.max_offer_share is on); the smaller binds and names itself.
  const bool share_on = cp.gates().max_offer_share > 0;
  if (agents > 0 || share_on) {
    int64_t cap = agents > 0 ? internal::RateCapFor(cp, agents)
                             : std::numeric_limits<int64_t>::max();
    int64_t sessions = 0;
    bool share_binds = false;
    if (share_on) {
      absl::StatusOr<int64_t> started = rate.SessionsInWindow(now);
      if (!started.ok()) return started.status();
      sessions = *started;
      const int64_t share_cap = internal::OfferShareCapFor(cp, sessions);
      if (share_cap < cap) {
        cap = share_cap;
        share_binds = true;
      }
    }
    absl::StatusOr<internal::RateCheck> rc = rate.Admit(now, cap);
    if (!rc.ok()) return rc.status();
    if (!rc->admitted) {
      finish(Action::kSuppress,
             share_binds ? Reason::kOfferRateCap : Reason::kRateCap);
      x.in_window = rc->in_window;
      x.free_agents = agents;
      x.rate_cap = cap;
      x.sessions_in_window = sessions;
      // A cap of 0 (no session started in the window) lifts only when
      // sessions start, another event: no recheck.
      if (cap > 0 && rc->time_below <= r->last_event_ms + timeout_ms_) {
        d.recheck_at_ms =
            internal::ReadyTime(cp, score, rc->time_below, d.threshold);
      }
      return absl::OkStatus();
    }
  }

  // Offer, and record it.
  finish(Action::kOffer, Reason::kScore);
  if (r->offers < 0xff) ++r->offers;
  r->last_offer_ms = now;
  r->flags |= internal::kHasOffer | internal::kOfferPending;
  r->last_event_ms = std::max(r->last_event_ms, now);
  v.write_session = true;
  return absl::OkStatus();
}

absl::Status EngineImpl::Expire(int64_t now) {
  if (absl::Status s = CheckTimestamp(now, "now_ms"); !s.ok()) return s;
  // A full scan: timestamps of different visitors need not arrive in order,
  // and memory records expire by their own cooldowns, not by recency.
  const Installed& p = Current();
  return store_->Expire(
      [&](const SessionRecord& r) {
        return now - r.last_event_ms > timeout_ms_;
      },
      [&](const MemoryRecord& m) {
        return internal::MemoryExpired(p.cp, m, now);
      });
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

std::string EngineImpl::MetricsText() const {
  internal::MetricsInput in;
  in.stats = Stats();
  in.store = options_.store == StoreKind::kRedis ? "redis" : "memory";
  const Installed& cur = Current();
  in.policy_name = cur.policy.name();
  in.policy_version = cur.version;
  // Offers by group pattern, summed over every policy the engine has had:
  // the current one's groups first, then groups only earlier ones had.
  std::vector<std::string> patterns;
  for (const Installed* p = &cur; p != nullptr; p = p->prev.get()) {
    const std::vector<internal::GroupInfo>& groups = p->cp.groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      const uint64_t n = p->offers_by_group[g].load(std::memory_order_relaxed);
      size_t at = 0;
      while (at < patterns.size() && patterns[at] != groups[g].pattern) ++at;
      if (at == patterns.size()) {
        patterns.push_back(groups[g].pattern);
        in.offers_by_group.push_back(0);
      }
      in.offers_by_group[at] += n;
    }
  }
  for (const std::string& pattern : patterns) in.groups.push_back(pattern);
  in.decision_log_errors =
      (decision_log_ != nullptr ? decision_log_->errors() : 0) +
      (event_log_ != nullptr ? event_log_->errors() : 0);
  in.observe = observe_latency_.Read();
  in.decide = decide_latency_.Read();
  return internal::MetricsText(in);
}

absl::Status EngineImpl::WriteSnapshot(const internal::ByteSink& sink) const {
  // No swap meanwhile: every record is of the current policy's groups (a
  // finished swap's pass has remapped them all).
  absl::MutexLock swapping(&swap_mu_);
  const Installed& cur = Current();
  absl::StatusOr<internal::StoreContents> contents = store_->Contents();
  if (!contents.ok()) return contents.status();
  internal::SnapshotHeader h;
  h.key_fingerprint = key_fingerprint_;
  const std::vector<internal::GroupInfo>& groups = cur.cp.groups();
  for (size_t i = 0; i + 1 < groups.size(); ++i) {
    h.groups.push_back(groups[i].pattern);
  }
  h.groups.push_back("");  // The unlisted group.
  const uint32_t unlisted = static_cast<uint32_t>(groups.size() - 1);
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
  // No swap meanwhile: the records are mapped onto the current policy.
  absl::MutexLock swapping(&swap_mu_);
  const Installed& cur = Current();
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
    remap = GroupsByPattern(cur.cp, h.groups);
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
    r.path_rule = internal::MatchPathRule(cur.cp, r);  // Under this policy.
    r.generation = static_cast<uint8_t>(cur.generation);
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
    c.memory_ttl_ms.push_back(internal::MemoryTtl(cur.cp, m, latest));
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
  if (absl::Status s = impl->OpenDecisionLog(); !s.ok()) return s;
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

absl::Status Engine::SetPolicy(Policy policy) {
  return impl_->SetPolicy(std::move(policy));
}

std::string Engine::MetricsText() const { return impl_->MetricsText(); }

const Policy& Engine::policy() const { return impl_->policy(); }

std::array<uint64_t, 2> Engine::visitor_key() const {
  return impl_->visitor_key();
}

uint64_t Engine::VisitorHash(std::string_view visitor) const {
  return impl_->VisitorHash(visitor);
}

bool Engine::InHoldout(std::string_view visitor) const {
  return impl_->InHoldout(visitor);
}

}  // namespace beckon

namespace beckon::internal {

std::shared_ptr<const void> EngineInternal::ExplainerOf(
    const Engine& engine, const Decision& decision) {
  return engine.impl_->ExplainerFor(decision);
}

const void* EngineInternal::ExplainerOf(const Decision& decision) {
  return DecisionAccess::ExplainerOf(decision);
}

}  // namespace beckon::internal
