#include "redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "string_views.h"

namespace beckon::internal {

struct RedisClient::Node {
  std::string host;
  int port = 0;
  std::string unix_socket;
  std::string Name() const {
    return unix_socket.empty() ? absl::StrCat(host, ":", port) : unix_socket;
  }
};

struct RedisClient::SlotMap {
  std::vector<Node> nodes;  // Masters; one node without a cluster.
  std::array<uint16_t, 16384> slot_node;
};

// Connections to every node of one slot map, used by one caller at a time.
struct RedisClient::Link {
  std::shared_ptr<const SlotMap> map;
  bool reused = false;  // Taken from a pool: its connections may be stale.
  bool fresh_only = false;  // Connect anew; never take a pooled connection.
  std::vector<redisContext*> ctx;
  ~Link() {
    for (redisContext* c : ctx) {
      if (c != nullptr) redisFree(c);
    }
  }
};

namespace {

constexpr int kMaxRedirects = 5;
constexpr size_t kPooledPerServer = 8;

// Connections left by engines that were destroyed, for the next engine of
// this process with the same server and credentials: a host that creates an
// engine per request (PHP-FPM) then pays no connection set-up after its
// first request. A forked child never uses its parent's connections.
class ProcessPool {
 public:
  redisContext* Take(const std::string& id) {
    absl::MutexLock lock(&mu_);
    CheckPid();
    auto it = idle_.find(id);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    redisContext* c = it->second.back();
    it->second.pop_back();
    return c;
  }
  void Put(const std::string& id, redisContext* c) {
    absl::MutexLock lock(&mu_);
    CheckPid();
    std::vector<redisContext*>& v = idle_[id];
    if (c->err != 0 || v.size() >= kPooledPerServer) {
      redisFree(c);
    } else {
      v.push_back(c);
    }
  }

 private:
  void CheckPid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pid_ == getpid()) return;
    // Inherited across fork: the parent's sockets. Close our copies only.
    for (auto& [id, v] : idle_) {
      for (redisContext* c : v) redisFree(c);
    }
    idle_.clear();
    pid_ = getpid();
  }
  absl::Mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = getpid();
  absl::flat_hash_map<std::string, std::vector<redisContext*>> idle_
      ABSL_GUARDED_BY(mu_);
};

ProcessPool& Pool() {
  static ProcessPool* pool = new ProcessPool;  // Never destroyed: safe at exit.
  return *pool;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval Tv(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Convert(r->element[i]));
      }
      break;
    default:
      out.type = RedisReply::kNil;
  }
  return out;
}

void Append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(),
                         lens.data());
}

absl::StatusOr<RedisReply> Read(redisContext* c, std::string_view where) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", AbslView(where), ": ",
        c->errstr[0] != '\0' ? c->errstr : "no reply"));
  }
  RedisReply out = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return out;
}

// One command on one connection, waiting for its reply.
absl::StatusOr<RedisReply> Call(redisContext* c,
                                const std::vector<std::string>& args,
                                std::string_view where) {
  Append(c, args);
  return Read(c, where);
}

}  // namespace

uint16_t RedisKeySlot(std::string_view key) {
  // The hash tag: the part between the first '{' and the next '}', if any.
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  uint16_t crc = 0;  // CRC16-CCITT (XMODEM), as Redis Cluster specifies.
  for (unsigned char ch : key) {
    crc ^= static_cast<uint16_t>(ch) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc & 16383;
}

RedisClient::RedisClient(const RedisOptions& options) : options_(options) {}

RedisClient::~RedisClient() {
  absl::MutexLock lock(&mu_);
  for (std::unique_ptr<Link>& link : idle_) {
    for (size_t n = 0; n < link->ctx.size(); ++n) {
      if (link->ctx[n] != nullptr) {
        Pool().Put(PoolId(link->map->nodes[n]), link->ctx[n]);
        link->ctx[n] = nullptr;
      }
    }
  }
}

std::string RedisClient::PoolId(const Node& node) const {
  // The server and everything a connection is set up with.
  return absl::StrCat(node.Name(), "\n", options_.user, "\n",
                      options_.password, "\n", options_.database, "\n",
                      options_.command_timeout_ms);
}

std::string RedisClient::Describe() const {
  return options_.unix_socket.empty()
             ? absl::StrCat(options_.host, ":", options_.port)
             : options_.unix_socket;
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(
    const RedisOptions& options) {
  std::unique_ptr<RedisClient> c(new RedisClient(options));
  if (!options.cluster) {
    auto map = std::make_shared<SlotMap>();
    map->nodes.push_back(
        Node{options.host, options.port, options.unix_socket});
    map->slot_node.fill(0);
    absl::MutexLock lock(&c->mu_);
    c->slots_ = std::move(map);
  }
  // Check the credentials now, so a misconfiguration fails at start (a
  // pooled connection passed that check when it was made).
  Node seed{options.host, options.port, options.unix_socket};
  redisContext* ctx = options.cluster ? nullptr : Pool().Take(c->PoolId(seed));
  absl::Status s = absl::OkStatus();
  if (ctx == nullptr) s = c->Connect(seed, &ctx);
  if (ctx != nullptr) {
    if (options.cluster) {
      redisFree(ctx);
    } else {  // Kept for the first call: a per-request host connects once.
      auto link = std::make_unique<Link>();
      absl::MutexLock lock(&c->mu_);
      link->map = c->slots_;
      link->ctx.push_back(ctx);
      c->idle_.push_back(std::move(link));
    }
  }
  if (absl::IsPermissionDenied(s) || absl::IsInvalidArgument(s)) return s;
  if (!s.ok()) {
    (void)c->Fail(s);  // Down: calls answer Unavailable until it is back.
  } else if (options.cluster) {
    absl::Status ls = c->LoadSlots();
    // A server that is not a cluster node is a misconfiguration.
    if (absl::IsFailedPrecondition(ls)) return ls;
    if (!ls.ok()) (void)c->Fail(ls);
  }
  return c;
}

absl::Status RedisClient::Connect(const Node& node, redisContext** out) {
  *out = nullptr;
  const timeval ctv = Tv(options_.connect_timeout_ms);
  redisContext* c =
      node.unix_socket.empty()
          ? redisConnectWithTimeout(node.host.c_str(), node.port, ctv)
          : redisConnectUnixWithTimeout(node.unix_socket.c_str(), ctv);
  if (c == nullptr) {
    return absl::ResourceExhaustedError("redis: cannot allocate a connection");
  }
  if (c->err != 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("redis ", node.Name(), ": ", c->errstr));
    redisFree(c);
    return s;
  }
  redisSetTimeout(c, Tv(options_.command_timeout_ms));
  if (options_.password.empty()) {
    // No credentials: a server that needs them says so to a PING.
    absl::StatusOr<RedisReply> r = Call(c, {"PING"}, node.Name());
    if (!r.ok() || r->type == RedisReply::kError) {
      absl::Status s =
          !r.ok() ? r.status()
          : (absl::StartsWith(r->str, "NOAUTH") ||
             absl::StartsWith(r->str, "NOPERM") ||
             absl::StartsWith(r->str, "WRONGPASS"))
              ? absl::PermissionDeniedError(absl::StrCat(
                    "redis ", node.Name(), ": refused without a password: ",
                    r->str))
              : absl::UnavailableError(
                    absl::StrCat("redis ", node.Name(), ": PING: ", r->str));
      redisFree(c);
      return s;
    }
  } else {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.user.empty()) auth.push_back(options_.user);
    auth.push_back(options_.password);
    absl::StatusOr<RedisReply> r = Call(c, auth, node.Name());
    if (!r.ok() || r->type == RedisReply::kError) {
      absl::Status s =
          r.ok() ? absl::PermissionDeniedError(absl::StrCat(
                       "redis ", node.Name(), ": AUTH refused: ", r->str))
                 : r.status();
      redisFree(c);
      return s;
    }
  }
  if (options_.database != 0) {
    absl::StatusOr<RedisReply> r =
        Call(c, {"SELECT", absl::StrCat(options_.database)}, node.Name());
    if (!r.ok() || r->type == RedisReply::kError) {
      absl::Status s =
          r.ok() ? absl::InvalidArgumentError(absl::StrCat(
                       "redis ", node.Name(), ": SELECT ", options_.database,
                       " refused: ", r->str))
                 : r.status();
      redisFree(c);
      return s;
    }
  }
  *out = c;
  return absl::OkStatus();
}

absl::Status RedisClient::LoadSlots() {
  std::vector<Node> candidates = {
      Node{options_.host, options_.port, options_.unix_socket}};
  if (std::shared_ptr<const SlotMap> old = Slots()) {
    candidates.insert(candidates.end(), old->nodes.begin(), old->nodes.end());
  }
  absl::Status last = absl::UnavailableError("redis cluster: no node");
  for (const Node& n : candidates) {
    redisContext* c = nullptr;
    if (absl::Status s = Connect(n, &c); !s.ok()) {
      last = s;
      continue;
    }
    absl::StatusOr<RedisReply> r = Call(c, {"CLUSTER", "SLOTS"}, n.Name());
    redisFree(c);
    if (!r.ok()) {
      last = r.status();
      continue;
    }
    if (r->type != RedisReply::kArray) {
      return absl::FailedPreconditionError(absl::StrCat(
          "redis ", n.Name(), ": CLUSTER SLOTS failed (is it a cluster? "
          "RedisOptions.cluster is set): ", r->str));
    }
    auto map = std::make_shared<SlotMap>();
    map->slot_node.fill(0);
    for (const RedisReply& range : r->elements) {
      if (range.type != RedisReply::kArray || range.elements.size() < 3 ||
          range.elements[2].type != RedisReply::kArray ||
          range.elements[2].elements.size() < 2) {
        continue;
      }
      const RedisReply& master = range.elements[2];
      Node node{master.elements[0].str,
                static_cast<int>(master.elements[1].integer), ""};
      if (node.host.empty() || node.host == "?") node.host = n.host;
      size_t index = 0;
      while (index < map->nodes.size() &&
             (map->nodes[index].host != node.host ||
              map->nodes[index].port != node.port)) {
        ++index;
      }
      if (index == map->nodes.size()) map->nodes.push_back(node);
      const int64_t lo = std::max<int64_t>(0, range.elements[0].integer);
      const int64_t hi = std::min<int64_t>(16383, range.elements[1].integer);
      for (int64_t s = lo; s <= hi; ++s) {
        map->slot_node[s] = static_cast<uint16_t>(index);
      }
    }
    if (map->nodes.empty()) {
      return absl::UnavailableError(
          absl::StrCat("redis ", n.Name(), ": the cluster has no slots"));
    }
    absl::MutexLock lock(&mu_);
    slots_ = std::move(map);
    idle_.clear();  // Links of the old map.
    return absl::OkStatus();
  }
  return last;
}

std::shared_ptr<const RedisClient::SlotMap> RedisClient::Slots() const {
  absl::MutexLock lock(&mu_);
  return slots_;
}

std::unique_ptr<RedisClient::Link> RedisClient::Borrow() {
  absl::MutexLock lock(&mu_);
  while (!idle_.empty()) {
    std::unique_ptr<Link> l = std::move(idle_.back());
    idle_.pop_back();
    if (l->map == slots_) {
      l->reused = true;
      return l;
    }
  }
  auto l = std::make_unique<Link>();
  l->map = slots_;
  l->ctx.assign(slots_ ? slots_->nodes.size() : 0, nullptr);
  return l;
}

void RedisClient::Return(std::unique_ptr<Link> link) {
  absl::MutexLock lock(&mu_);
  if (link->map == slots_ && idle_.size() < 64) idle_.push_back(std::move(link));
}

absl::Status RedisClient::Fail(absl::Status why) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  backoff_ms_ = backoff_ms_ == 0
                    ? options_.backoff_min_ms
                    : std::min<int64_t>(2 * backoff_ms_, options_.backoff_max_ms);
  retry_at_ns_.store(NowNs() + backoff_ms_ * 1'000'000);
  last_error_ = std::string(why.message());
  idle_.clear();  // Their connections may be broken too.
  return why;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::ExecOn(
    Link& link, const std::vector<RedisCommand>& commands,
    const std::vector<int>& nodes) {
  const SlotMap& map = *link.map;
  std::vector<bool> used(map.nodes.size(), false);
  for (size_t i = 0; i < commands.size(); ++i) {
    const int n = nodes[i];
    if (link.ctx[n] == nullptr) {
      if (!link.fresh_only) link.ctx[n] = Pool().Take(PoolId(map.nodes[n]));
      if (link.ctx[n] != nullptr) {
        link.reused = true;  // May be stale: Exec retries on fresh ones.
      } else if (absl::Status s = Connect(map.nodes[n], &link.ctx[n]);
                 !s.ok()) {
        return s;
      }
    }
    Append(link.ctx[n], commands[i].args);
    used[n] = true;
  }
  round_trips_.fetch_add(std::count(used.begin(), used.end(), true),
                         std::memory_order_relaxed);
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReply> r =
        Read(link.ctx[nodes[i]], map.nodes[nodes[i]].Name());
    if (!r.ok()) return r.status();
    replies.push_back(*std::move(r));
  }
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Exec(
    const std::vector<RedisCommand>& commands) {
  const int64_t retry_at = retry_at_ns_.load(std::memory_order_relaxed);
  if (retry_at != 0 && NowNs() < retry_at) {
    absl::MutexLock lock(&mu_);
    return absl::UnavailableError(absl::StrCat(
        "redis ", Describe(), " is down (", last_error_, "); retrying in ",
        (retry_at - NowNs()) / 1'000'000 + 1, " ms"));
  }
  if (Slots() == nullptr) {  // A cluster whose slots were never read.
    if (absl::Status s = LoadSlots(); !s.ok()) return Fail(s);
  }
  std::unique_ptr<Link> link = Borrow();
  std::vector<int> nodes(commands.size(), 0);
  if (options_.cluster) {
    for (size_t i = 0; i < commands.size(); ++i) {
      if (!commands[i].route.empty()) {
        nodes[i] = link->map->slot_node[RedisKeySlot(commands[i].route)];
      }
    }
  }
  absl::StatusOr<std::vector<RedisReply>> replies =
      ExecOn(*link, commands, nodes);
  if (!replies.ok() && link->reused) {
    // A pooled connection may have died with a restarted server: once more
    // on fresh ones. Resending is safe: reads are idempotent and the
    // store's writes recognise themselves (lib/redis_store.cc).
    auto fresh = std::make_unique<Link>();
    fresh->map = link->map;
    fresh->fresh_only = true;
    fresh->ctx.assign(link->map->nodes.size(), nullptr);
    link = std::move(fresh);
    replies = ExecOn(*link, commands, nodes);
  }
  if (!replies.ok()) return Fail(replies.status());
  // Follow cluster redirects, one command at a time (a redirected command
  // was not executed, so sending it again is safe).
  bool reloaded = false;
  for (size_t i = 0; i < replies->size(); ++i) {
    for (int hop = 0; hop < kMaxRedirects; ++hop) {
      RedisReply& r = (*replies)[i];
      if (r.type != RedisReply::kError) break;
      const bool moved = absl::StartsWith(r.str, "MOVED ");
      const bool ask = absl::StartsWith(r.str, "ASK ");
      if (!moved && !ask) break;
      std::vector<std::string> parts = absl::StrSplit(r.str, ' ');
      const size_t colon = parts.size() == 3 ? parts[2].rfind(':') : 0;
      int port = 0;
      if (parts.size() != 3 || colon == std::string::npos ||
          !absl::SimpleAtoi(parts[2].substr(colon + 1), &port)) {
        break;
      }
      if (moved && !reloaded) {
        reloaded = true;
        (void)LoadSlots();  // Later calls go straight to the new owner.
      }
      redisContext* c = nullptr;
      Node target{parts[2].substr(0, colon), port, ""};
      if (absl::Status s = Connect(target, &c); !s.ok()) return Fail(s);
      if (ask) Append(c, {"ASKING"});
      Append(c, commands[i].args);
      round_trips_.fetch_add(1, std::memory_order_relaxed);
      absl::StatusOr<RedisReply> asking_reply =
          ask ? Read(c, target.Name()) : absl::StatusOr<RedisReply>();
      absl::StatusOr<RedisReply> again = Read(c, target.Name());
      redisFree(c);
      if (ask && !asking_reply.ok()) return Fail(asking_reply.status());
      if (!again.ok()) return Fail(again.status());
      r = *std::move(again);
    }
  }
  Return(std::move(link));
  if (retry_at != 0) {
    absl::MutexLock lock(&mu_);
    backoff_ms_ = 0;
    retry_at_ns_.store(0);
  }
  return replies;
}

absl::StatusOr<std::vector<std::string>> RedisClient::ScanKeys(
    const std::string& pattern) {
  std::shared_ptr<const SlotMap> map = Slots();
  if (map == nullptr) {
    if (absl::Status s = LoadSlots(); !s.ok()) return Fail(s);
    map = Slots();
  }
  std::vector<std::string> keys;
  for (size_t n = 0; n < map->nodes.size(); ++n) {
    redisContext* c = nullptr;
    if (absl::Status s = Connect(map->nodes[n], &c); !s.ok()) return Fail(s);
    std::string cursor = "0";
    do {
      round_trips_.fetch_add(1, std::memory_order_relaxed);
      absl::StatusOr<RedisReply> r =
          Call(c, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
               map->nodes[n].Name());
      if (!r.ok()) {
        redisFree(c);
        return Fail(r.status());
      }
      if (r->type != RedisReply::kArray || r->elements.size() != 2) {
        redisFree(c);
        return absl::InternalError(absl::StrCat(
            "redis ", map->nodes[n].Name(), ": bad SCAN reply ", r->str));
      }
      cursor = r->elements[0].str;
      for (RedisReply& k : r->elements[1].elements) {
        keys.push_back(std::move(k.str));
      }
    } while (cursor != "0");
    redisFree(c);
  }
  return keys;
}

}  // namespace beckon::internal
