// The Redis visitor store. Per visitor two binary strings under one hash
// tag, so a script may touch both in a cluster:
//   <prefix>{<16 hex digits of the keyed visitor hash>}:s   the session
//   <prefix>{<...>}:m                                       decline memory
// and the site-wide state under its own tag:
//   <prefix>{site}:agents   "<ts_ms> <free agents>"
//   <prefix>{site}:rate     hash: rate-window bucket index -> offers
//   <prefix>{site}:sessions hash: rate-window bucket index -> sessions
//                           started (kept only while a policy's
//                           gates.max_offer_share is on)
//   <prefix>{site}:layout:<16 hex digits of a layout>
//                           what the group indices of sessions written
//                           under that layout mean (its layout text)
//
// A session record carries the layout it was written under. An engine
// reading one of another layout (a rolling policy change) reads that
// layout's text once (then from a bounded per-store cache), and the engine
// maps the record onto its own groups by pattern; it is written back under
// the reader's layout.
//
// Each value starts with an 8-byte version. An update reads both records
// (one pipelined round trip, with the free agents for a decision), runs the
// engine's rules on copies, then writes with a compare-and-set script that
// succeeds only if neither version changed; on a conflict it reads and runs
// the rules again. The scripts hold no rule of the engine: they compare
// versions, set values and trim the rate window.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "engine/compiled_policy.h"
#include "rate_window.h"
#include "redis_client.h"
#include "visitor_key.h"
#include "state_store.h"
#include "string_views.h"

namespace beckon::internal {
namespace {

constexpr char kSessionFormat = 'S';  // Format 1 of a session record.
constexpr char kMemoryFormat = 'M';   // Format 1 of a memory record.
constexpr size_t kVersionBytes = 8;
constexpr int64_t kSessionTtlMarginMs = 60'000;

// Compare-and-set of one visitor's two records.
// KEYS: session, memory. ARGV: the versions read ('' if absent); the new
// session ('' leaves it) and its TTL in ms; the new memory record ('' leaves
// it) and its TTL in ms ('0': none). Returns 1 when written, 0 when a
// version changed, 2 when these very values are stored already (the client
// resent the call after losing the reply; new versions are random).
constexpr char kCasScript[] = R"lua(
local sv = redis.call('GETRANGE', KEYS[1], 0, 7)
local mv = redis.call('GETRANGE', KEYS[2], 0, 7)
if (ARGV[3] == '' or sv == string.sub(ARGV[3], 1, 8)) and
   (ARGV[5] == '' or mv == string.sub(ARGV[5], 1, 8)) then
  return 2
end
if sv ~= ARGV[1] or mv ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
if ARGV[5] ~= '' then
  if ARGV[6] == '0' then redis.call('SET', KEYS[2], ARGV[5])
  else redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6]) end
end
return 1
)lua";

// Sets the free agents unless a later report is stored; returns -1, or the
// later report's time. KEYS: agents. ARGV: ts_ms, count.
constexpr char kAgentsScript[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local ts = tonumber(string.match(cur, '^(%d+)'))
  if ts and ts > tonumber(ARGV[1]) then return ts end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])
return -1
)lua";

// Reserves one offer in a rate-window bucket if the window is unchanged
// since the engine counted it (field "v" holds the window's version), and
// drops buckets older than ARGV[4]. Returns 1, or 0 on a changed window.
// KEYS: rate. ARGV: version read ('' if none), new version, bucket, oldest
// bucket kept, TTL in ms.
constexpr char kRateReserveScript[] = R"lua(
local v = redis.call('HGET', KEYS[1], 'v') or ''
if v ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
redis.call('HSET', KEYS[1], 'v', ARGV[2])
local keep = tonumber(ARGV[4])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = tonumber(f)
  if n and n < keep then redis.call('HDEL', KEYS[1], f) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
)lua";

// Little-endian fixed-width fields.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    unsigned char b[sizeof(T)];
    uint64_t u = 0;
    std::memcpy(&u, &v, sizeof(T));
    for (size_t i = 0; i < sizeof(T); ++i) b[i] = (u >> (8 * i)) & 0xff;
    out_->append(reinterpret_cast<const char*>(b), sizeof(T));
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* v) {
    if (in_.size() < sizeof(T)) return false;
    uint64_t u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      u |= static_cast<uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    std::memcpy(v, &u, sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

std::string EncodeSession(std::string_view version, uint64_t layout,
                          const SessionRecord& r) {
  std::string out(version);
  out.reserve(128);
  out.push_back(kSessionFormat);
  Writer w(&out);
  w.Put(layout);
  for (int64_t t : {r.session_start_ms, r.last_event_ms, r.last_activity_ms,
                    r.checkout_since_ms, r.last_offer_ms}) {
    w.Put(t);
  }
  w.Put(r.cart_value);
  for (uint32_t p : r.recent_pages) w.Put(p);
  for (uint16_t s : r.recent_steps) w.Put(s);
  for (uint16_t v : {r.current_group, r.pages_viewed, r.help_hits, r.searches,
                     r.zero_result_searches, r.loops, r.back_and_forth}) {
    w.Put(v);
  }
  for (uint8_t v : {r.offers, r.flags, r.n_pages, r.n_steps, r.path_rule}) {
    w.Put(v);
  }
  return out;
}

// False if the bytes are not a session record; else `*layout` is the layout
// it was written under.
bool DecodeSession(std::string_view bytes, uint64_t* layout,
                   SessionRecord* r) {
  if (bytes.size() < kVersionBytes + 1 ||
      bytes[kVersionBytes] != kSessionFormat) {
    return false;
  }
  Reader in(bytes.substr(kVersionBytes + 1));
  uint64_t stored_layout = 0;
  SessionRecord s{};
  bool ok = in.Get(&stored_layout);
  for (int64_t* t : {&s.session_start_ms, &s.last_event_ms,
                     &s.last_activity_ms, &s.checkout_since_ms,
                     &s.last_offer_ms}) {
    ok = ok && in.Get(t);
  }
  ok = ok && in.Get(&s.cart_value);
  for (uint32_t& p : s.recent_pages) ok = ok && in.Get(&p);
  for (uint16_t& st : s.recent_steps) ok = ok && in.Get(&st);
  for (uint16_t* v : {&s.current_group, &s.pages_viewed, &s.help_hits,
                      &s.searches, &s.zero_result_searches, &s.loops,
                      &s.back_and_forth}) {
    ok = ok && in.Get(v);
  }
  for (uint8_t* v : {&s.offers, &s.flags, &s.n_pages, &s.n_steps,
                     &s.path_rule}) {
    ok = ok && in.Get(v);
  }
  ok = ok && in.done() && s.n_pages <= kRecentPages &&
       s.n_steps <= kRecentSteps && (s.flags & ~kSessionFlagsMask) == 0;
  if (ok) {
    *r = s;
    *layout = stored_layout;
  }
  return ok;
}

std::string EncodeMemory(std::string_view version, const MemoryRecord& m) {
  std::string out(version);
  out.push_back(kMemoryFormat);
  Writer w(&out);
  w.Put(m.last_decline_ms);
  w.Put(m.last_ignore_ms);
  w.Put(m.declines);
  w.Put(m.ignored);
  w.Put(m.flags);
  return out;
}

bool DecodeMemory(std::string_view bytes, MemoryRecord* m) {
  if (bytes.size() < kVersionBytes + 1 ||
      bytes[kVersionBytes] != kMemoryFormat) {
    return false;
  }
  Reader in(bytes.substr(kVersionBytes + 1));
  MemoryRecord r{};
  const bool ok = in.Get(&r.last_decline_ms) && in.Get(&r.last_ignore_ms) &&
                  in.Get(&r.declines) && in.Get(&r.ignored) &&
                  in.Get(&r.flags) && in.done() &&
                  (r.flags & ~(kHasDecline | kHasIgnore)) == 0;
  if (ok) *m = r;
  return ok;
}

// Redis glob characters in a prefix match only themselves.
std::string GlobEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

class RedisStore final : public VisitorStore {
 public:
  RedisStore(std::unique_ptr<RedisClient> client, int64_t timeout_ms,
             int64_t rate_window_ms)
      : client_(std::move(client)),
        prefix_(client_->options().key_prefix),
        timeout_ms_(timeout_ms),
        rate_window_ms_(rate_window_ms),
        agents_key_(absl::StrCat(prefix_, "{site}:agents")),
        rate_key_(absl::StrCat(prefix_, "{site}:rate")),
        sessions_key_(absl::StrCat(prefix_, "{site}:sessions")),
        session_pattern_(absl::StrCat(GlobEscape(prefix_), "{*}:s")),
        memory_pattern_(absl::StrCat(GlobEscape(prefix_), "{*}:m")),
        rng_(Seed()) {}

  absl::Status Update(uint64_t key, bool want_agents, Rules rules) override {
    const std::string tag = absl::StrFormat("%s{%016x}", prefix_, key);
    const std::string skey = tag + ":s";
    const std::string mkey = tag + ":m";
    const int retries = client_->options().max_conflict_retries;
    for (int attempt = 0; attempt <= retries; ++attempt) {
      std::vector<RedisCommand> read = {{{"GET", skey}, skey},
                                        {{"GET", mkey}, mkey}};
      if (want_agents) read.push_back({{"GET", agents_key_}, agents_key_});
      absl::StatusOr<std::vector<RedisReply>> got = client_->Exec(read);
      if (!got.ok()) return got.status();
      for (const RedisReply& r : *got) {
        if (r.type == RedisReply::kError) return ReplyError("GET", r);
      }
      VisitorState v;
      std::string sver, mver;
      const RedisReply& sr = (*got)[0];
      const RedisReply& mr = (*got)[1];
      if (sr.type == RedisReply::kString) {
        sver = sr.str.substr(0, kVersionBytes);
        // A damaged record: no session; the next event starts a new one
        // over it.
        v.has_session = DecodeSession(sr.str, &v.session_layout, &v.session);
        if (v.has_session &&
            v.session_layout != layout_.load(std::memory_order_acquire)) {
          // Written under another layout (a policy with other groups):
          // handed to the rules with its groups, to be mapped by pattern.
          absl::StatusOr<std::shared_ptr<const std::vector<std::string>>>
              groups = GroupsOf(v.session_layout);
          if (!groups.ok()) return groups.status();
          v.session_groups = *std::move(groups);
          // An unknown layout: no session (counted as a store error).
          v.has_session = v.session_groups != nullptr;
        }
      }
      if (mr.type == RedisReply::kString) {
        mver = mr.str.substr(0, kVersionBytes);
        if (!DecodeMemory(mr.str, &v.memory)) {
          // Never guess about a decline: nobody is offered meanwhile.
          return absl::DataLossError(absl::StrCat(
              "redis: the decline memory at ", mkey, " is damaged"));
        }
        v.has_memory = true;
      }
      if (want_agents) {
        v.free_agents = ParseAgents((*got)[2], nullptr);
      }
      Gate gate(this);
      if (absl::Status s = rules(v, gate); !s.ok()) {
        gate.Release();
        return s;
      }
      if (!v.write_session && !v.write_memory) {
        gate.Release();  // Not reached: an admitted offer writes the session.
        Count(v.delta);
        return absl::OkStatus();
      }
      const uint64_t written_layout =
          v.session_layout != 0 ? v.session_layout
                                : layout_.load(std::memory_order_acquire);
      const std::string s_new =
          v.write_session
              ? EncodeSession(NewVersion(), written_layout, v.session)
              : std::string();
      const std::string m_new =
          v.write_memory ? EncodeMemory(NewVersion(), v.memory) : std::string();
      std::vector<RedisCommand> write = {
          {{"EVAL", kCasScript, "2", skey, mkey, sver, mver, s_new,
            absl::StrCat(timeout_ms_ + kSessionTtlMarginMs), m_new,
            absl::StrCat(v.memory_ttl_ms)},
           skey}};
      // A layout whose publishing failed goes with the first session
      // written under it, so no record is written that others cannot read.
      const bool publish =
          v.write_session && !IsPublished(written_layout);
      if (publish) write.push_back(PublishCommand(written_layout));
      absl::StatusOr<std::vector<RedisReply>> cas = client_->Exec(write);
      if (!cas.ok()) {
        // Whether it was written is unknown: the reserved slot stays taken
        // (the window may overcount one offer, never undercount).
        return cas.status();
      }
      const RedisReply& c = (*cas)[0];
      if (c.type == RedisReply::kError) {
        gate.Release();
        return ReplyError("EVAL", c);
      }
      if (c.type == RedisReply::kInteger && c.integer == 0) {
        conflicts_.fetch_add(1, std::memory_order_relaxed);
        gate.Release();  // The rules run again and decide afresh.
        continue;
      }
      if (publish && (*cas)[1].type != RedisReply::kError) {
        MarkPublished(written_layout);
      }
      if (v.session_started_ms >= 0) CountSession(v.session_started_ms);
      Count(v.delta);
      return absl::OkStatus();
    }
    return absl::AbortedError(absl::StrCat(
        "redis: visitor record changed by others on each of ", retries + 1,
        " tries; not updated"));
  }

  absl::Status SetAgents(int64_t ts_ms, int64_t count) override {
    absl::StatusOr<std::vector<RedisReply>> r = client_->Exec(
        {{{"EVAL", kAgentsScript, "1", agents_key_, absl::StrCat(ts_ms),
           absl::StrCat(count)},
          agents_key_}});
    if (!r.ok()) return r.status();
    const RedisReply& reply = (*r)[0];
    if (reply.type == RedisReply::kError) return ReplyError("EVAL", reply);
    if (reply.type == RedisReply::kInteger && reply.integer >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("time went backwards for agents: ", ts_ms, " < last ",
                       reply.integer));
    }
    return absl::OkStatus();
  }

  // Redis expires keys by their TTLs.
  absl::Status Expire(SessionPredicate, MemoryPredicate) override {
    return absl::OkStatus();
  }

  absl::StatusOr<StoreContents> Contents() const override {
    StoreContents c;
    absl::StatusOr<std::vector<RedisReply>> agents =
        client_->Exec({{{"GET", agents_key_}, agents_key_}});
    if (!agents.ok()) return agents.status();
    c.free_agents = ParseAgents((*agents)[0], &c.agents_ts_ms);
    for (const char kind : {'s', 'm'}) {
      absl::StatusOr<std::vector<std::string>> keys = client_->ScanKeys(
          ScanPattern(kind));
      if (!keys.ok()) return keys.status();
      for (size_t i = 0; i < keys->size(); i += 256) {
        std::vector<RedisCommand> gets;
        for (size_t j = i; j < std::min(keys->size(), i + 256); ++j) {
          gets.push_back({{"GET", (*keys)[j]}, (*keys)[j]});
        }
        absl::StatusOr<std::vector<RedisReply>> got = client_->Exec(gets);
        if (!got.ok()) return got.status();
        for (size_t j = 0; j < gets.size(); ++j) {
          const RedisReply& r = (*got)[j];
          uint64_t key;
          if (r.type != RedisReply::kString ||
              !KeyOf(gets[j].route, &key)) {
            continue;  // Expired meanwhile, or not one of ours.
          }
          if (kind == 's') {
            // Sessions of the current layout only: a snapshot's groups are
            // the snapshotting engine's.
            SessionRecord s;
            uint64_t layout;
            if (DecodeSession(r.str, &layout, &s) &&
                layout == layout_.load(std::memory_order_acquire)) {
              c.sessions.emplace_back(key, s);
            }
          } else {
            MemoryRecord m;
            if (!DecodeMemory(r.str, &m)) {
              return absl::DataLossError(absl::StrCat(
                  "redis: the decline memory at ", gets[j].route,
                  " is damaged"));
            }
            c.memory.emplace_back(key, m);
          }
        }
      }
    }
    // Oldest first, as the memory store lists them.
    std::stable_sort(c.sessions.begin(), c.sessions.end(),
                     [](const auto& a, const auto& b) {
                       return a.second.last_event_ms < b.second.last_event_ms;
                     });
    return c;
  }

  absl::Status Replace(const StoreContents& c) override {
    std::vector<RedisCommand> cmds;
    for (const char kind : {'s', 'm'}) {
      absl::StatusOr<std::vector<std::string>> keys = client_->ScanKeys(
          ScanPattern(kind));
      if (!keys.ok()) return keys.status();
      for (std::string& k : *keys) cmds.push_back({{"DEL", k}, k});
    }
    for (const auto& [key, rec] : c.sessions) {
      const std::string k = absl::StrFormat("%s{%016x}:s", prefix_, key);
      cmds.push_back({{"SET", k,
                       EncodeSession(NewVersion(),
                                     layout_.load(std::memory_order_acquire),
                                     rec),
                       "PX", absl::StrCat(timeout_ms_ + kSessionTtlMarginMs)},
                      k});
    }
    for (size_t i = 0; i < c.memory.size(); ++i) {
      const auto& [key, rec] = c.memory[i];
      const std::string k = absl::StrFormat("%s{%016x}:m", prefix_, key);
      std::vector<std::string> args = {"SET", k,
                                       EncodeMemory(NewVersion(), rec)};
      const int64_t ttl = i < c.memory_ttl_ms.size() ? c.memory_ttl_ms[i] : 0;
      if (ttl > 0) {
        args.push_back("PX");
        args.push_back(absl::StrCat(ttl));
      }
      cmds.push_back({std::move(args), k});
    }
    // The newer agents report wins (the script keeps a later stored one),
    // and a snapshot without one leaves the stored report alone.
    if (c.agents_ts_ms >= 0) {
      cmds.push_back({{"EVAL", kAgentsScript, "1", agents_key_,
                       absl::StrCat(c.agents_ts_ms),
                       absl::StrCat(c.free_agents)},
                      agents_key_});
    }
    for (size_t i = 0; i < cmds.size(); i += 512) {
      std::vector<RedisCommand> batch(
          cmds.begin() + i, cmds.begin() + std::min(cmds.size(), i + 512));
      absl::StatusOr<std::vector<RedisReply>> r = client_->Exec(batch);
      if (!r.ok()) return r.status();
      for (const RedisReply& reply : *r) {
        if (reply.type == RedisReply::kError) return ReplyError("restore", reply);
      }
    }
    return absl::OkStatus();
  }

  absl::Status ForEachSession(SessionMutator) override {
    return absl::UnimplementedError(
        "the Redis store does not remap sessions in place");
  }

  absl::Status PublishLayout(uint64_t layout,
                             std::string_view text) override {
    {
      absl::MutexLock lock(&layouts_mu_);
      Layout& l = layouts_[layout];
      if (l.text.empty()) {
        l.text = std::string(text);
        auto groups = std::make_shared<std::vector<std::string>>();
        if (!ParseLayoutText(text, layout, groups.get())) {
          layouts_.erase(layout);
          return absl::InternalError("redis: a policy's layout text does not "
                                     "match its fingerprint");
        }
        l.groups = std::move(groups);
      }
      l.own = true;
    }
    // From now on sessions are written under it (the engine's rules say
    // which layout each is of; this is the store's default).
    layout_.store(layout, std::memory_order_release);
    if (IsPublished(layout)) return absl::OkStatus();
    absl::StatusOr<std::vector<RedisReply>> r =
        client_->Exec({PublishCommand(layout)});
    if (!r.ok()) return r.status();
    if ((*r)[0].type == RedisReply::kError) return ReplyError("SET", (*r)[0]);
    MarkPublished(layout);
    return absl::OkStatus();
  }

  void Count(const StoreDelta& delta) override {
    absl::MutexLock lock(&mu_);
    counters_.Add(delta);
  }

  StoreStats Stats() const override {
    StoreStats st;
    {
      absl::MutexLock lock(&mu_);
      st.counters = counters_;
    }
    // Live keys by a scan: O(keys). Left at zero if Redis cannot be read.
    for (const char kind : {'s', 'm'}) {
      absl::StatusOr<std::vector<std::string>> keys = client_->ScanKeys(
          ScanPattern(kind));
      if (!keys.ok()) break;
      (kind == 's' ? st.live_sessions : st.memory_records) = keys->size();
    }
    st.errors = client_->errors() +
                layout_errors_.load(std::memory_order_relaxed);
    st.conflicts = conflicts_.load(std::memory_order_relaxed);
    st.round_trips = client_->round_trips();
    return st;
  }

 private:
  // The rate gate of one update. The window is counted here, by the
  // engine's RateWindow; the slot is then reserved by a compare-and-set on
  // the window's version, so processes offering at the same instant cannot
  // together pass the cap. A reservation whose visitor update does not
  // commit is given back.
  class Gate final : public RateGate {
   public:
    explicit Gate(RedisStore* store) : store_(store) {}
    absl::StatusOr<RateCheck> Admit(int64_t now_ms, int64_t cap) override {
      const int retries = store_->client_->options().max_conflict_retries;
      for (int attempt = 0; attempt <= retries; ++attempt) {
        absl::StatusOr<std::vector<RedisReply>> r = store_->client_->Exec(
            {{{"HGETALL", store_->rate_key_}, store_->rate_key_}});
        if (!r.ok()) return r.status();
        const RedisReply& reply = (*r)[0];
        if (reply.type == RedisReply::kError) {
          return ReplyError("HGETALL", reply);
        }
        RateWindow window(store_->rate_window_ms_);
        std::string version;
        for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
          const std::string& field = reply.elements[i].str;
          int64_t index, count;
          if (field == "v") {
            version = reply.elements[i + 1].str;
          } else if (absl::SimpleAtoi(field, &index) &&
                     absl::SimpleAtoi(reply.elements[i + 1].str, &count) &&
                     count > 0) {
            window.AddToBucket(index, count);
          }
        }
        RateCheck c;
        c.in_window = window.Count(now_ms);
        if (c.in_window >= cap) {
          c.time_below = window.TimeBelow(now_ms, cap);
          return c;
        }
        const int64_t bucket = window.BucketOf(now_ms);
        absl::StatusOr<std::vector<RedisReply>> reserved =
            store_->client_->Exec(
                {{{"EVAL", kRateReserveScript, "1", store_->rate_key_,
                   version, absl::StrCat(store_->NewVersionNumber()),
                   absl::StrCat(bucket),
                   absl::StrCat(bucket - 2 * RateWindow::kBuckets),
                   absl::StrCat(2 * store_->rate_window_ms_ + 60'000)},
                  store_->rate_key_}});
        if (!reserved.ok()) return reserved.status();
        const RedisReply& rr = (*reserved)[0];
        if (rr.type == RedisReply::kError) return ReplyError("EVAL", rr);
        if (rr.type == RedisReply::kInteger && rr.integer == 1) {
          c.admitted = true;
          bucket_ = bucket;
          reserved_ = true;
          return c;
        }
        store_->conflicts_.fetch_add(1, std::memory_order_relaxed);
      }
      return absl::AbortedError(
          "redis: the rate window changed on every try; no offer");
    }

    absl::StatusOr<int64_t> SessionsInWindow(int64_t now_ms) override {
      return store_->SessionsInWindow(now_ms);
    }

    // Gives a reserved slot back (best effort: if that fails the window
    // overcounts one offer, which only makes the cap stricter).
    void Release() {
      if (!reserved_) return;
      reserved_ = false;
      (void)store_->client_->Exec(
          {{{"HINCRBY", store_->rate_key_, absl::StrCat(bucket_), "-1"},
            store_->rate_key_}});
    }

   private:
    RedisStore* store_;
    bool reserved_ = false;
    int64_t bucket_ = 0;
  };

  // One more session started at `ts_ms` in the shared session window, once
  // its visitor's update has committed. Best effort: a failure undercounts
  // one session, which only makes the offer-share cap stricter.
  void CountSession(int64_t ts_ms) {
    const RateWindow window(rate_window_ms_);
    (void)client_->Exec(
        {{{"HINCRBY", sessions_key_, absl::StrCat(window.BucketOf(ts_ms)), "1"},
          sessions_key_},
         {{"PEXPIRE", sessions_key_, absl::StrCat(2 * rate_window_ms_ + 60'000)},
          sessions_key_}});
  }

  // Sessions started in the window ending at `now_ms`, all processes'.
  absl::StatusOr<int64_t> SessionsInWindow(int64_t now_ms) {
    absl::StatusOr<std::vector<RedisReply>> r =
        client_->Exec({{{"HGETALL", sessions_key_}, sessions_key_}});
    if (!r.ok()) return r.status();
    const RedisReply& reply = (*r)[0];
    if (reply.type == RedisReply::kError) return ReplyError("HGETALL", reply);
    RateWindow window(rate_window_ms_);
    std::vector<std::string> stale;
    const int64_t oldest = window.BucketOf(now_ms) - 2 * RateWindow::kBuckets;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      int64_t index, count;
      if (absl::SimpleAtoi(reply.elements[i].str, &index) &&
          absl::SimpleAtoi(reply.elements[i + 1].str, &count) && count > 0) {
        window.AddToBucket(index, count);
        if (index < oldest) stale.push_back(reply.elements[i].str);
      }
    }
    if (!stale.empty()) {  // Trim buckets two windows old (best effort).
      RedisCommand del{{"HDEL", sessions_key_}, sessions_key_};
      for (std::string& f : stale) del.args.push_back(std::move(f));
      (void)client_->Exec({del});
    }
    return window.Count(now_ms);
  }

  // A layout this store has seen: its own (published or not yet), or one
  // read from Redis.
  struct Layout {
    std::string text;  // Own layouts only.
    std::shared_ptr<const std::vector<std::string>> groups;
    bool own = false;
    bool published = false;
  };
  // Layouts read from Redis kept at most (each is a few hundred bytes; a
  // fleet runs one or two at a time).
  static constexpr size_t kMaxCachedLayouts = 32;

  std::string LayoutKey(uint64_t layout) const {
    return absl::StrFormat("%s{site}:layout:%016x", prefix_, layout);
  }

  // SET NX: a layout's text never changes, and none expires (a few hundred
  // bytes per layout the fleet ever ran; docs/operations.md).
  RedisCommand PublishCommand(uint64_t layout) {
    const std::string key = LayoutKey(layout);
    absl::MutexLock lock(&layouts_mu_);
    return {{"SET", key, layouts_[layout].text, "NX"}, key};
  }

  bool IsPublished(uint64_t layout) {
    absl::MutexLock lock(&layouts_mu_);
    auto it = layouts_.find(layout);
    // Not one of ours: read from Redis, so published by another.
    return it == layouts_.end() || !it->second.own || it->second.published;
  }

  void MarkPublished(uint64_t layout) {
    absl::MutexLock lock(&layouts_mu_);
    auto it = layouts_.find(layout);
    if (it != layouts_.end()) it->second.published = true;
  }

  // The group patterns of `layout`, from the cache or Redis; nullptr if
  // Redis holds no readable text of it (counted as an error); an error if
  // Redis cannot be read.
  absl::StatusOr<std::shared_ptr<const std::vector<std::string>>> GroupsOf(
      uint64_t layout) {
    {
      absl::MutexLock lock(&layouts_mu_);
      auto it = layouts_.find(layout);
      if (it != layouts_.end()) return it->second.groups;
    }
    const std::string key = LayoutKey(layout);
    absl::StatusOr<std::vector<RedisReply>> got =
        client_->Exec({{{"GET", key}, key}});
    if (!got.ok()) return got.status();
    const RedisReply& r = (*got)[0];
    if (r.type == RedisReply::kError) return ReplyError("GET", r);
    auto groups = std::make_shared<std::vector<std::string>>();
    if (r.type != RedisReply::kString ||
        !ParseLayoutText(r.str, layout, groups.get())) {
      // Missing (deleted, or written by a beckon that did not publish its
      // layout) or damaged. Not cached: it may be published later.
      layout_errors_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    absl::MutexLock lock(&layouts_mu_);
    if (layouts_.size() >= kMaxCachedLayouts) {
      for (auto it = layouts_.begin(); it != layouts_.end();) {
        if (it->second.own) {
          ++it;
        } else {
          layouts_.erase(it++);
        }
      }
    }
    Layout& l = layouts_[layout];
    l.groups = std::move(groups);
    return l.groups;
  }

  static absl::Status ReplyError(std::string_view what, const RedisReply& r) {
    return absl::UnavailableError(
        absl::StrCat("redis ", AbslView(what), ": ", r.str));
  }

  // "<ts> <count>" -> count (and ts); -1 if absent or unreadable.
  static int64_t ParseAgents(const RedisReply& r, int64_t* ts) {
    if (ts != nullptr) *ts = -1;
    if (r.type != RedisReply::kString) return -1;
    const size_t sp = r.str.find(' ');
    int64_t t, n;
    if (sp == std::string::npos ||
        !absl::SimpleAtoi(r.str.substr(0, sp), &t) ||
        !absl::SimpleAtoi(r.str.substr(sp + 1), &n)) {
      return -1;
    }
    if (ts != nullptr) *ts = t;
    return n;
  }

  // The visitor hash in "<prefix>{<16 hex>}:s".
  bool KeyOf(std::string_view k, uint64_t* key) const {
    if (k.size() != prefix_.size() + 20 || k[prefix_.size()] != '{') {
      return false;
    }
    const std::string_view hex = k.substr(prefix_.size() + 1, 16);
    uint64_t v = 0;
    for (char ch : hex) {
      const int d = (ch >= '0' && ch <= '9')   ? ch - '0'
                    : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                                               : -1;
      if (d < 0) return false;
      v = v << 4 | static_cast<uint64_t>(d);
    }
    *key = v;
    return k.substr(prefix_.size() + 17) == "}:s" ||
           k.substr(prefix_.size() + 17) == "}:m";
  }

  // Versions need only differ between writes of any process: the clock, the
  // process, this object and a process-wide count, mixed. (Cheaper than
  // std::random_device, which an engine per request would pay each time.)
  uint64_t Seed() const {
    static std::atomic<uint64_t> count{0};
    uint64_t x = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    x ^= static_cast<uint64_t>(getpid()) << 40;
    x ^= reinterpret_cast<uintptr_t>(this);
    x += 0x9e3779b97f4a7c15ULL * (count.fetch_add(1) + 1);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;  // splitmix64's finaliser
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  uint64_t NewVersionNumber() {
    absl::MutexLock lock(&rng_mu_);
    return rng_();
  }

  std::string NewVersion() {
    const uint64_t v = NewVersionNumber();
    std::string out(kVersionBytes, '\0');
    std::memcpy(out.data(), &v, kVersionBytes);
    if (out == std::string(kVersionBytes, '\0')) out[0] = 1;
    return out;
  }

  std::unique_ptr<RedisClient> client_;
  const std::string prefix_;
  // The layout sessions are written under unless the rules say otherwise
  // (the engine's current policy's, set by PublishLayout).
  std::atomic<uint64_t> layout_{0};
  absl::Mutex layouts_mu_;
  absl::flat_hash_map<uint64_t, Layout> layouts_ ABSL_GUARDED_BY(layouts_mu_);
  std::atomic<uint64_t> layout_errors_{0};
  const int64_t timeout_ms_;
  const int64_t rate_window_ms_;
  const std::string agents_key_;
  const std::string rate_key_;
  const std::string sessions_key_;
  // SCAN patterns of every session ('s') and memory ('m') key.
  const std::string session_pattern_;
  const std::string memory_pattern_;
  const std::string& ScanPattern(char kind) const {
    return kind == 's' ? session_pattern_ : memory_pattern_;
  }
  mutable absl::Mutex mu_;
  StoreCounters counters_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> conflicts_{0};
  absl::Mutex rng_mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(rng_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<VisitorStore>> NewRedisStore(
    const RedisOptions& options, int64_t session_timeout_ms,
    int64_t rate_window_ms) {
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Create(options);
  if (!client.ok()) return client.status();
  return std::unique_ptr<VisitorStore>(new RedisStore(
      *std::move(client), session_timeout_ms, rate_window_ms));
}

absl::StatusOr<VisitorKey> RedisFleetKey(const RedisOptions& options,
                                         const VisitorKey& candidate) {
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Create(options);
  if (!client.ok()) return client.status();
  const std::string key = absl::StrCat(options.key_prefix, "{site}:key");
  std::string text = FormatVisitorKey(candidate);
  text.pop_back();  // No newline in Redis.
  absl::StatusOr<std::vector<RedisReply>> replies = (*client)->Exec(
      {{{"SET", key, text, "NX"}, key}, {{"GET", key}, key}});
  if (!replies.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot read the fleet's visitor key ", key, " from Redis (",
        replies.status().message(),
        "); give Engine::Options.visitor_key (or visitor_key_file) to create "
        "engines while Redis is down"));
  }
  const RedisReply& got = (*replies)[1];
  if (got.type == RedisReply::kError) {
    return absl::UnavailableError(absl::StrCat(
        "cannot read the fleet's visitor key ", key, ": ", got.str));
  }
  if (got.type != RedisReply::kString) {
    return absl::DataLossError(
        absl::StrCat("Redis key ", key, " holds no visitor key"));
  }
  absl::StatusOr<VisitorKey> parsed =
      ParseVisitorKey(got.str, absl::StrCat("Redis key ", key));
  if (!parsed.ok()) return absl::DataLossError(parsed.status().message());
  return parsed;
}

}  // namespace beckon::internal
