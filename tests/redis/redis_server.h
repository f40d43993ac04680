// Real redis-server processes for tests: a single server on a free loopback
// port with its own temporary directory, and a three-master Redis Cluster.
//
//   BECKON_REQUIRE_REDIS_SERVER();  // GTEST_SKIP()s only if not installed.
//   auto server = beckon::redis_test::RedisServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   (*server)->url();      // "redis://127.0.0.1:PORT"
//   (*server)->Kill();     // SIGKILL, as a crash would
//   (*server)->Restart();  // Same port and directory: the AOF comes back.
//
// Servers run with `--appendonly yes --appendfsync always` unless told
// otherwise, so a write acknowledged before a Kill() is there after
// Restart(). A server is stopped (SIGTERM, then SIGKILL) and its directory
// removed when the object is destroyed, and it dies with the thread that
// started it (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
// Set BECKON_KEEP_REDIS_DIRS=1 to keep the directories (logs, AOF) for a
// post-mortem.
//
// Objects are owned by the process that created them: a forked child that
// inherits one never stops or kills the server (children should _exit()).
#ifndef BECKON_TESTS_REDIS_REDIS_SERVER_H_
#define BECKON_TESTS_REDIS_REDIS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct redisContext;

namespace beckon::redis_test {

// Empty if `program` is an executable on PATH; otherwise a message saying
// that it is not installed and how to install it.
std::string MissingProgram(const std::string& program);

// Skips the current test, with a clear message, when redis-server (or, for a
// cluster, redis-cli too) is not installed. No other reason skips.
#define BECKON_REQUIRE_REDIS_SERVER()                                        \
  do {                                                                       \
    const std::string _beckon_missing =                                      \
        ::beckon::redis_test::MissingProgram("redis-server");                \
    if (!_beckon_missing.empty()) GTEST_SKIP() << _beckon_missing;           \
  } while (0)
#define BECKON_REQUIRE_REDIS_CLUSTER_TOOLS()                                 \
  do {                                                                       \
    BECKON_REQUIRE_REDIS_SERVER();                                           \
    const std::string _beckon_missing_cli =                                  \
        ::beckon::redis_test::MissingProgram("redis-cli");                   \
    if (!_beckon_missing_cli.empty()) GTEST_SKIP() << _beckon_missing_cli;   \
  } while (0)

// A reply, copied out of hiredis.
struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;        // kString, kStatus, kError.
  long long integer = 0;  // kInteger.
  std::vector<Reply> elements;  // kArray.

  bool is_error() const { return type == Type::kError; }
  // For messages: "PONG", "(error) NOAUTH ...", "[a, b]", "(nil)", "42".
  std::string ToString() const;
};

// A blocking hiredis connection, for the tests' own look at the keys.
class RedisClient {
 public:
  // Connects to host:port (or to a unix socket if `unix_socket` is given)
  // and, if `password` is not empty, authenticates.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(
      const std::string& host, int port, const std::string& password = "",
      int timeout_ms = 2000, const std::string& unix_socket = "");
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command. A transport failure is Unavailable; an error reply
  // is returned as a Reply of type kError.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args);
  // Like Command, but an error reply is an Internal status too.
  absl::StatusOr<Reply> MustCommand(const std::vector<std::string>& args);
  // Every key matching the glob `match` on this server (SCAN; on a cluster
  // node only the node's own keys).
  absl::StatusOr<std::vector<std::string>> ScanKeys(const std::string& match);

 private:
  explicit RedisClient(redisContext* c) : c_(c) {}
  redisContext* c_;
};

class RedisServer {
 public:
  struct Options {
    // --appendonly yes --appendfsync always (else no persistence at all).
    bool aof = true;
    std::string password;      // --requirepass, if not empty.
    bool unix_socket = false;  // Also listen on <dir>/redis.sock.
    // --cluster-enabled yes --cluster-config-file nodes-PORT.conf, and the
    // cluster bus port (port + 10000) free as well.
    bool cluster = false;
    int cluster_node_timeout_ms = 2000;
    std::vector<std::string> extra_args;  // Appended to the command line.
    int start_timeout_ms = 15000;         // Until it answers PING.
  };

  // Starts redis-server on a free loopback port, waits until it answers
  // PING. Retries with another port if the one picked was taken meanwhile.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();  // Stop().
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string host() const { return "127.0.0.1"; }
  // "redis://127.0.0.1:PORT" (with ":password@" if it has one).
  std::string url() const;
  // "<dir>/redis.sock" (with Options::unix_socket).
  std::string unix_socket_path() const { return dir_ + "/redis.sock"; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // SIGKILL, and waits until it has exited: as if the machine lost it.
  void Kill();
  // Starts it again on the same port and in the same directory (so with
  // the AOF the data comes back) and waits until it answers PING.
  absl::Status Restart();
  // SIGTERM (a clean shutdown), then SIGKILL after 10 s; waits for it.
  void Stop();

  // A new connection to this server (authenticated if it has a password).
  absl::StatusOr<std::unique_ptr<RedisClient>> Client() const;
  // The last `bytes` of the server's log, for error messages.
  std::string LogTail(size_t bytes = 3000) const;

 private:
  RedisServer(Options options, std::string dir, int port);
  absl::Status Spawn();
  absl::Status WaitReady();

  Options options_;
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  pid_t owner_ = -1;  // The process that may signal and reap it.
};

// Three masters, no replicas, every slot assigned.
class RedisCluster {
 public:
  static constexpr int kMasters = 3;

  // Starts three cluster-enabled servers (options.cluster is forced on),
  // joins them with `redis-cli --cluster create ... --cluster-replicas 0
  // --cluster-yes` and waits until every node reports cluster_state:ok with
  // all 16384 slots assigned and all three nodes known.
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start(
      RedisServer::Options options);
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start();

  RedisServer& node(int i) { return *nodes_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // "redis://127.0.0.1:PORT-OF-NODE-0?cluster=1": one node as the seed.
  std::string seed_url() const;

  // Polls until every running node reports cluster_state:ok with all slots
  // assigned and `kMasters` known nodes.
  absl::Status WaitHealthy(int timeout_ms = 20000);
  // The index of the node that serves `key` (CLUSTER KEYSLOT, CLUSTER
  // SLOTS, asked of a running node).
  absl::StatusOr<int> NodeForKey(const std::string& key);
  // The keys matching `match` on each node, in node order.
  absl::StatusOr<std::vector<std::vector<std::string>>> KeysPerNode(
      const std::string& match);

 private:
  RedisCluster() = default;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace beckon::redis_test

#endif  // BECKON_TESTS_REDIS_REDIS_SERVER_H_
