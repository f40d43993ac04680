// A small synchronous Redis client over hiredis: pipelined batches, Redis
// Cluster routing by key slot (with MOVED/ASK redirects), a connection pool
// for concurrent callers, and backoff after failures. It knows nothing of
// beckon's records; lib/redis_store.cc builds the store on it.
#ifndef BECKON_LIB_REDIS_CLIENT_H_
#define BECKON_LIB_REDIS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "beckon/engine.h"

struct redisContext;  // hiredis.

namespace beckon::internal {

struct RedisReply {
  enum Type : uint8_t { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError.
  std::vector<RedisReply> elements;
};

struct RedisCommand {
  std::vector<std::string> args;
  // The key whose hash slot routes the command in a cluster; empty: the
  // first node.
  std::string route;
};

// The hash slot of a key (CRC16 of its hash tag, mod 16384).
uint16_t RedisKeySlot(std::string_view key);

class RedisClient {
 public:
  // Connects to check the options (and, for a cluster, reads its slot map).
  // PermissionDenied if Redis refuses the credentials; an unreachable Redis
  // is not an error here (calls fail Unavailable until it is back).
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(
      const RedisOptions& options);
  ~RedisClient();

  // Sends `commands` pipelined: one round trip to each node involved, all
  // nodes at once. Returns their replies in order (a Redis error is a reply
  // of type kError). Unavailable if Redis cannot be reached, a reply times
  // out, or the client is backing off after a failure.
  absl::StatusOr<std::vector<RedisReply>> Exec(
      const std::vector<RedisCommand>& commands);

  // Every key matching `pattern` (SCAN on every master).
  absl::StatusOr<std::vector<std::string>> ScanKeys(const std::string& pattern);

  uint64_t round_trips() const { return round_trips_.load(); }
  uint64_t errors() const { return errors_.load(); }
  const RedisOptions& options() const { return options_; }

 private:
  struct Node;
  struct Link;
  struct SlotMap;
  explicit RedisClient(const RedisOptions& options);

  absl::Status Connect(const Node& node, ::redisContext** out);
  absl::Status LoadSlots();
  std::shared_ptr<const SlotMap> Slots() const;
  std::unique_ptr<Link> Borrow();
  void Return(std::unique_ptr<Link> link);
  absl::Status Fail(absl::Status why);
  absl::StatusOr<std::vector<RedisReply>> ExecOn(
      Link& link, const std::vector<RedisCommand>& commands,
      const std::vector<int>& nodes);
  std::string Describe() const;
  std::string PoolId(const Node& node) const;

  const RedisOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const SlotMap> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Link>> idle_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  int64_t backoff_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> retry_at_ns_{0};  // Steady clock; 0: not backing off.
  std::atomic<uint64_t> round_trips_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_REDIS_CLIENT_H_
