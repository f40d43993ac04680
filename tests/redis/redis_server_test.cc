// The test harness itself: real redis-server processes start on free
// loopback ports, die by Kill(), come back with their AOF by Restart(), stop
// with their object; a three-master cluster forms with every slot assigned.
#include <sys/stat.h>
#include <sys/types.h>
#include <signal.h>

#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/redis/redis_server.h"

namespace beckon::redis_test {
namespace {

bool ProcessAlive(pid_t pid) { return kill(pid, 0) == 0; }

TEST(RedisServerHarness, StartsOnAFreePortAnswersAndStopsWithItsObject) {
  BECKON_REQUIRE_REDIS_SERVER();
  absl::StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Start();
  ASSERT_TRUE(s.ok()) << s.status();
  const int port = (*s)->port();
  const pid_t pid = (*s)->pid();
  const std::string dir = (*s)->dir();
  EXPECT_GT(port, 0);
  EXPECT_EQ((*s)->url(), "redis://127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(ProcessAlive(pid));
  {
    auto c = (*s)->Client();
    ASSERT_TRUE(c.ok()) << c.status();
    auto pong = (*c)->MustCommand({"PING"});
    ASSERT_TRUE(pong.ok()) << pong.status();
    EXPECT_EQ(pong->str, "PONG");
    auto cfg = (*c)->MustCommand({"CONFIG", "GET", "appendfsync"});
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->ToString(), "[appendfsync, always]");
    auto bind = (*c)->MustCommand({"CONFIG", "GET", "bind"});
    ASSERT_TRUE(bind.ok()) << bind.status();
    EXPECT_EQ(bind->ToString(), "[bind, 127.0.0.1]");
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/redis.log"));
  s->reset();
  EXPECT_FALSE(ProcessAlive(pid));  // Reaped, so not even a zombie.
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(RedisClient::Connect("127.0.0.1", port, "", 200).ok());
}

TEST(RedisServerHarness, TwoServersGetTwoPortsAndTwoDirectories) {
  BECKON_REQUIRE_REDIS_SERVER();
  auto a = RedisServer::Start();
  auto b = RedisServer::Start();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->port(), (*b)->port());
  EXPECT_NE((*a)->dir(), (*b)->dir());
  auto ca = (*a)->Client();
  auto cb = (*b)->Client();
  ASSERT_TRUE(ca.ok() && cb.ok());
  ASSERT_TRUE((*ca)->MustCommand({"SET", "k", "a"}).ok());
  auto got = (*cb)->MustCommand({"GET", "k"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, Reply::Type::kNil);
}

TEST(RedisServerHarness, KillLosesTheProcessAndRestartBringsBackTheAof) {
  BECKON_REQUIRE_REDIS_SERVER();
  auto s = RedisServer::Start();
  ASSERT_TRUE(s.ok()) << s.status();
  const int port = (*s)->port();
  {
    auto c = (*s)->Client();
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->MustCommand({"SET", "decline", "kept"}).ok());
    ASSERT_TRUE((*c)->MustCommand({"SET", "bin", std::string("a\0b", 3)}).ok());
  }
  const pid_t old_pid = (*s)->pid();
  (*s)->Kill();
  EXPECT_FALSE((*s)->running());
  EXPECT_FALSE(ProcessAlive(old_pid));
  EXPECT_FALSE(RedisClient::Connect("127.0.0.1", port, "", 200).ok());

  ASSERT_TRUE((*s)->Restart().ok());
  EXPECT_EQ((*s)->port(), port);
  EXPECT_NE((*s)->pid(), old_pid);
  auto c = (*s)->Client();
  ASSERT_TRUE(c.ok()) << c.status();
  auto got = (*c)->MustCommand({"GET", "decline"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str, "kept");
  got = (*c)->MustCommand({"GET", "bin"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str, std::string("a\0b", 3));
}

TEST(RedisServerHarness, WithoutAofAKillLosesTheData) {
  // The control for the test above: the data came back from the AOF.
  BECKON_REQUIRE_REDIS_SERVER();
  RedisServer::Options o;
  o.aof = false;
  auto s = RedisServer::Start(o);
  ASSERT_TRUE(s.ok()) << s.status();
  {
    auto c = (*s)->Client();
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->MustCommand({"SET", "k", "v"}).ok());
  }
  (*s)->Kill();
  ASSERT_TRUE((*s)->Restart().ok());
  auto c = (*s)->Client();
  ASSERT_TRUE(c.ok()) << c.status();
  auto got = (*c)->MustCommand({"GET", "k"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, Reply::Type::kNil);
}

TEST(RedisServerHarness, PasswordAndUnixSocket) {
  BECKON_REQUIRE_REDIS_SERVER();
  RedisServer::Options o;
  o.password = "s3cret";
  o.unix_socket = true;
  auto s = RedisServer::Start(o);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->url(),
            "redis://:s3cret@127.0.0.1:" + std::to_string((*s)->port()));
  auto anon = RedisClient::Connect("127.0.0.1", (*s)->port());
  ASSERT_TRUE(anon.ok()) << anon.status();
  auto r = (*anon)->Command({"GET", "x"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_error());
  EXPECT_NE(r->str.find("NOAUTH"), std::string::npos) << r->ToString();
  EXPECT_FALSE(RedisClient::Connect("127.0.0.1", (*s)->port(), "wrong").ok());
  auto c = (*s)->Client();  // Over the socket, with the password.
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->MustCommand({"SET", "x", "1"}).ok());
  struct stat st;
  EXPECT_EQ(stat((*s)->unix_socket_path().c_str(), &st), 0);
}

TEST(RedisServerHarness, AForkedChildsCopyLeavesTheServerAlone) {
  BECKON_REQUIRE_REDIS_SERVER();
  auto s = RedisServer::Start();
  ASSERT_TRUE(s.ok()) << s.status();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    s->reset();  // The child's copy: must neither stop nor remove anything.
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(ProcessAlive((*s)->pid()));
  EXPECT_TRUE(std::filesystem::exists((*s)->dir()));
  auto c = (*s)->Client();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->MustCommand({"PING"}).ok());
}

TEST(RedisClusterHarness, ThreeMastersShareEverySlotAndSpreadKeys) {
  BECKON_REQUIRE_REDIS_CLUSTER_TOOLS();
  auto cluster = RedisCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  RedisCluster& c = **cluster;
  ASSERT_EQ(c.size(), 3);
  EXPECT_EQ(c.seed_url(),
            "redis://127.0.0.1:" + std::to_string(c.node(0).port()) +
                "?cluster=1");
  for (int i = 0; i < 3; ++i) {
    auto client = c.node(i).Client();
    ASSERT_TRUE(client.ok()) << client.status();
    auto info = (*client)->MustCommand({"CLUSTER", "INFO"});
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_NE(info->str.find("cluster_state:ok"), std::string::npos);
    EXPECT_NE(info->str.find("cluster_size:3"), std::string::npos)
        << info->str;
    EXPECT_TRUE(std::filesystem::exists(
        c.node(i).dir() + "/nodes-" + std::to_string(c.node(i).port()) +
        ".conf"));
  }
  // Keys with different hash tags land on different masters; each is
  // stored where NodeForKey says, and nowhere else.
  std::set<int> owners;
  for (int k = 0; k < 30; ++k) {
    const std::string key = "t:{" + std::to_string(k) + "}:x";
    auto owner = c.NodeForKey(key);
    ASSERT_TRUE(owner.ok()) << owner.status();
    owners.insert(*owner);
    auto client = c.node(*owner).Client();
    ASSERT_TRUE(client.ok());
    auto set = (*client)->MustCommand({"SET", key, "1"});
    ASSERT_TRUE(set.ok()) << set.status();  // No MOVED.
  }
  EXPECT_EQ(owners.size(), 3u);
  auto keys = c.KeysPerNode("t:*");
  ASSERT_TRUE(keys.ok()) << keys.status();
  size_t total = 0;
  for (const auto& k : *keys) total += k.size();
  EXPECT_EQ(total, 30u);
  // The same tag always maps to the same node.
  auto a = c.NodeForKey("t:{7}:s");
  auto b = c.NodeForKey("t:{7}:m");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(RedisClusterHarness, AKilledNodeRejoinsWithItsDataAfterRestart) {
  BECKON_REQUIRE_REDIS_CLUSTER_TOOLS();
  auto cluster = RedisCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  RedisCluster& c = **cluster;
  auto owner = c.NodeForKey("k:{a}");
  ASSERT_TRUE(owner.ok()) << owner.status();
  {
    auto client = c.node(*owner).Client();
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->MustCommand({"SET", "k:{a}", "v"}).ok());
  }
  c.node(*owner).Kill();
  EXPECT_FALSE(c.node(*owner).running());
  ASSERT_TRUE(c.node(*owner).Restart().ok());
  ASSERT_TRUE(c.WaitHealthy().ok());
  auto again = c.NodeForKey("k:{a}");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *owner);
  auto client = c.node(*owner).Client();
  ASSERT_TRUE(client.ok());
  auto got = (*client)->MustCommand({"GET", "k:{a}"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str, "v");
}

}  // namespace
}  // namespace beckon::redis_test
