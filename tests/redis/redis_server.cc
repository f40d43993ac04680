#include "tests/redis/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace beckon::redis_test {
namespace {

using Clock = std::chrono::steady_clock;

std::string FindOnPath(const std::string& program) {
  const char* path = getenv("PATH");
  for (absl::string_view d :
       absl::StrSplit(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (d.empty()) continue;
    std::string candidate = absl::StrCat(d, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A loopback TCP port nobody listens on now (bind to port 0, read it,
// close). With `bus`, port + 10000 (the cluster bus) is free as well.
absl::StatusOr<int> FreePort(bool bus) {
  auto bindable = [](int port, int* got) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (ok && got) {
      socklen_t len = sizeof a;
      ok = getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
      *got = ntohs(a.sin_port);
    }
    close(fd);
    return ok;
  };
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 0;
    if (!bindable(0, &port)) {
      return absl::InternalError(
          absl::StrCat("cannot bind a loopback socket: ", strerror(errno)));
    }
    if (!bus) return port;
    if (port + 10000 <= 65535 && bindable(port + 10000, nullptr)) return port;
  }
  return absl::InternalError("found no free loopback port pair for a cluster");
}

bool Exited(pid_t pid, int* status) {
  const pid_t r = waitpid(pid, status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return "unknown status";
}

std::string ReadTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > bytes) s = "..." + s.substr(s.size() - bytes);
  return s;
}

// fork + exec `argv` with stdout and stderr appended to `log`, stdin from
// /dev/null; the child dies with the calling thread (PR_SET_PDEATHSIG).
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                   const std::string& log) {
  const int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                         0644);
  if (logfd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", log, ": ", strerror(errno)));
  }
  const int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(logfd);
    if (nullfd >= 0) close(nullfd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {  // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (nullfd >= 0) dup2(nullfd, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(logfd);
  if (nullfd >= 0) close(nullfd);
  return pid;
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Convert(r->element[i]));
      }
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

// The value of `field` in an INFO-style "field:value" text, or "".
std::string InfoField(const std::string& info, const std::string& field) {
  for (absl::string_view line : absl::StrSplit(info, absl::ByAnyChar("\r\n"))) {
    if (absl::StartsWith(line, field + ":")) {
      return std::string(line.substr(field.size() + 1));
    }
  }
  return "";
}

}  // namespace

std::string MissingProgram(const std::string& program) {
  if (!FindOnPath(program).empty()) return "";
  return absl::StrCat(program,
                      " is not installed (not found on PATH), so the tests "
                      "against a real Redis cannot run; install it with "
                      "`apt-get install redis-server redis-tools` "
                      "(scripts/setup.sh does)");
}

// --- Reply, RedisClient -------------------------------------------------------

std::string Reply::ToString() const {
  switch (type) {
    case Type::kNil:
      return "(nil)";
    case Type::kString:
    case Type::kStatus:
      return str;
    case Type::kError:
      return "(error) " + str;
    case Type::kInteger:
      return absl::StrCat(integer);
    case Type::kArray: {
      std::vector<std::string> parts;
      for (const Reply& e : elements) parts.push_back(e.ToString());
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(
    const std::string& host, int port, const std::string& password,
    int timeout_ms, const std::string& unix_socket) {
  const timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisContext* c =
      unix_socket.empty()
          ? redisConnectWithTimeout(host.c_str(), port, tv)
          : redisConnectUnixWithTimeout(unix_socket.c_str(), tv);
  if (c == nullptr) return absl::ResourceExhaustedError("redisConnect: no memory");
  if (c->err) {
    absl::Status s = absl::UnavailableError(absl::StrCat(
        "connect to ", unix_socket.empty() ? host : unix_socket, ":", port,
        ": ", c->errstr));
    redisFree(c);
    return s;
  }
  redisSetTimeout(c, tv);
  std::unique_ptr<RedisClient> client(new RedisClient(c));
  if (!password.empty()) {
    absl::StatusOr<Reply> r = client->MustCommand({"AUTH", password});
    if (!r.ok()) return r.status();
  }
  return client;
}

RedisClient::~RedisClient() { redisFree(c_); }

absl::StatusOr<Reply> RedisClient::Command(
    const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  void* raw = redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(),
                               argvlen.data());
  if (raw == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", args.empty() ? "" : args[0], ": ", c_->errstr));
  }
  Reply r = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return r;
}

absl::StatusOr<Reply> RedisClient::MustCommand(
    const std::vector<std::string>& args) {
  absl::StatusOr<Reply> r = Command(args);
  if (r.ok() && r->is_error()) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(args, " "), ": ", r->ToString()));
  }
  return r;
}

absl::StatusOr<std::vector<std::string>> RedisClient::ScanKeys(
    const std::string& match) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    absl::StatusOr<Reply> r =
        MustCommand({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
    if (!r.ok()) return r.status();
    if (r->type != Reply::Type::kArray || r->elements.size() != 2) {
      return absl::InternalError("SCAN: unexpected reply " + r->ToString());
    }
    cursor = r->elements[0].str;
    for (const Reply& k : r->elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  return keys;
}

// --- RedisServer --------------------------------------------------------------

RedisServer::RedisServer(Options options, std::string dir, int port)
    : options_(std::move(options)), dir_(std::move(dir)), port_(port) {}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() {
  return Start(Options());
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    const Options& options) {
  if (std::string missing = MissingProgram("redis-server"); !missing.empty()) {
    return absl::FailedPreconditionError(missing);
  }
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<int> port = FreePort(options.cluster);
    if (!port.ok()) return port.status();
    const char* tmp = getenv("TMPDIR");
    std::string templ = absl::StrCat(tmp && *tmp ? tmp : "/tmp",
                                     "/beckon-redis-XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("mkdtemp ", templ, ": ", strerror(errno)));
    }
    std::unique_ptr<RedisServer> s(new RedisServer(options, templ, *port));
    s->owner_ = getpid();
    last = s->Spawn();
    if (last.ok()) return s;
    // Most likely the port was taken between FreePort and the bind: the
    // destructor cleans up and the next attempt picks another port.
  }
  return last;
}

RedisServer::~RedisServer() {
  if (owner_ != getpid()) return;  // A forked child's copy: hands off.
  Stop();
  if (getenv("BECKON_KEEP_REDIS_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string RedisServer::url() const {
  return options_.password.empty()
             ? absl::StrCat("redis://127.0.0.1:", port_)
             : absl::StrCat("redis://:", options_.password, "@127.0.0.1:",
                            port_);
}

std::string RedisServer::LogTail(size_t bytes) const {
  return ReadTail(dir_ + "/redis.log", bytes);
}

absl::Status RedisServer::Spawn() {
  std::vector<std::string> argv = {
      FindOnPath("redis-server"),
      "--port", absl::StrCat(port_),
      "--bind", "127.0.0.1",
      "--dir", dir_,
      "--daemonize", "no",
      "--logfile", "",  // stdout, which is redis.log
      "--save", "",
      "--protected-mode", "no",
      "--databases", "16",
  };
  if (options_.aof) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  if (!options_.password.empty()) {
    argv.insert(argv.end(), {"--requirepass", options_.password});
  }
  if (options_.unix_socket) {
    argv.insert(argv.end(),
                {"--unixsocket", unix_socket_path(), "--unixsocketperm", "700"});
  }
  if (options_.cluster) {
    argv.insert(argv.end(),
                {"--cluster-enabled", "yes", "--cluster-config-file",
                 absl::StrCat("nodes-", port_, ".conf"),
                 "--cluster-node-timeout",
                 absl::StrCat(options_.cluster_node_timeout_ms)});
  }
  argv.insert(argv.end(), options_.extra_args.begin(),
              options_.extra_args.end());
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, dir_ + "/redis.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return WaitReady();
}

absl::Status RedisServer::WaitReady() {
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    int status = 0;
    if (Exited(pid_, &status)) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat(
          "redis-server on port ", port_, " exited (", DescribeExit(status),
          ") before answering PING; its log:\n", LogTail()));
    }
    absl::StatusOr<std::unique_ptr<RedisClient>> c =
        RedisClient::Connect("127.0.0.1", port_, "", 200);
    if (c.ok()) {
      absl::StatusOr<Reply> r = (*c)->Command({"PING"});
      // With a password, NOAUTH proves it is up and serving.
      if (r.ok() && (r->str == "PONG" || absl::StartsWith(r->str, "NOAUTH"))) {
        return absl::OkStatus();
      }
      last = r.ok() ? r->ToString() : r.status().ToString();  // e.g. LOADING
    } else {
      last = c.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string tail = LogTail();
  Kill();
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server on port ", port_, " did not answer PING within ",
      options_.start_timeout_ms, " ms (last: ", last, "); its log:\n", tail));
}

void RedisServer::Kill() {
  if (pid_ <= 0 || owner_ != getpid()) return;
  kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void RedisServer::Stop() {
  if (pid_ <= 0 || owner_ != getpid()) return;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  int status;
  while (Clock::now() < deadline) {
    if (Exited(pid_, &status)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Kill();
}

absl::Status RedisServer::Restart() {
  if (owner_ != getpid()) {
    return absl::FailedPreconditionError("Restart from a forked child");
  }
  if (pid_ > 0) Kill();
  return Spawn();
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisServer::Client() const {
  if (options_.unix_socket) {
    return RedisClient::Connect("", 0, options_.password, 2000,
                                unix_socket_path());
  }
  return RedisClient::Connect("127.0.0.1", port_, options_.password);
}

// --- RedisCluster -------------------------------------------------------------

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start() {
  return Start(RedisServer::Options());
}

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(
    RedisServer::Options options) {
  for (const char* program : {"redis-server", "redis-cli"}) {
    if (std::string missing = MissingProgram(program); !missing.empty()) {
      return absl::FailedPreconditionError(missing);
    }
  }
  options.cluster = true;
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  std::vector<std::string> argv = {FindOnPath("redis-cli")};
  if (!options.password.empty()) argv.insert(argv.end(), {"-a", options.password});
  argv.push_back("--cluster");
  argv.push_back("create");
  for (int i = 0; i < kMasters; ++i) {
    absl::StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Start(options);
    if (!s.ok()) return s.status();
    argv.push_back(absl::StrCat("127.0.0.1:", (*s)->port()));
    cluster->nodes_.push_back(*std::move(s));
  }
  argv.insert(argv.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  const std::string log = cluster->node(0).dir() + "/cluster-create.log";
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, log);
  if (!pid.ok()) return pid.status();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool done = false;
  while (Clock::now() < deadline && !(done = Exited(*pid, &status))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!done) {
    kill(*pid, SIGKILL);
    waitpid(*pid, &status, 0);
    return absl::DeadlineExceededError(
        "redis-cli --cluster create did not finish in 60 s:\n" +
        ReadTail(log, 3000));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), " failed (", DescribeExit(status), "):\n",
        ReadTail(log, 3000)));
  }
  if (absl::Status s = cluster->WaitHealthy(); !s.ok()) return s;
  return cluster;
}

std::string RedisCluster::seed_url() const {
  return nodes_[0]->url() + "?cluster=1";
}

absl::Status RedisCluster::WaitHealthy(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last;
  while (true) {
    bool healthy = true;
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      absl::StatusOr<std::unique_ptr<RedisClient>> c = n->Client();
      absl::StatusOr<Reply> r =
          c.ok() ? (*c)->MustCommand({"CLUSTER", "INFO"})
                 : absl::StatusOr<Reply>(c.status());
      if (!r.ok()) {
        healthy = false;
        last = r.status().ToString();
        break;
      }
      const std::string state = InfoField(r->str, "cluster_state");
      const std::string slots = InfoField(r->str, "cluster_slots_assigned");
      const std::string slots_ok = InfoField(r->str, "cluster_slots_ok");
      const std::string known = InfoField(r->str, "cluster_known_nodes");
      if (state != "ok" || slots != "16384" || slots_ok != "16384" ||
          known != absl::StrCat(kMasters)) {
        healthy = false;
        last = absl::StrCat("node ", n->port(), ": cluster_state:", state,
                            " cluster_slots_assigned:", slots,
                            " cluster_slots_ok:", slots_ok,
                            " cluster_known_nodes:", known);
        break;
      }
    }
    if (healthy) return absl::OkStatus();
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the cluster did not become healthy within ", timeout_ms,
          " ms; last: ", last));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::StatusOr<int> RedisCluster::NodeForKey(const std::string& key) {
  for (auto& n : nodes_) {
    if (!n->running()) continue;
    absl::StatusOr<std::unique_ptr<RedisClient>> c = n->Client();
    if (!c.ok()) continue;
    absl::StatusOr<Reply> slot = (*c)->MustCommand({"CLUSTER", "KEYSLOT", key});
    if (!slot.ok()) return slot.status();
    absl::StatusOr<Reply> slots = (*c)->MustCommand({"CLUSTER", "SLOTS"});
    if (!slots.ok()) return slots.status();
    for (const Reply& range : slots->elements) {
      if (range.elements.size() < 3) continue;
      if (slot->integer < range.elements[0].integer ||
          slot->integer > range.elements[1].integer) {
        continue;
      }
      const long long port = range.elements[2].elements.size() >= 2
                                 ? range.elements[2].elements[1].integer
                                 : -1;
      for (int i = 0; i < size(); ++i) {
        if (nodes_[i]->port() == port) return i;
      }
      return absl::InternalError(absl::StrCat("slot ", slot->integer,
                                              " is served by unknown port ",
                                              port));
    }
    return absl::InternalError(
        absl::StrCat("slot ", slot->integer, " is not assigned"));
  }
  return absl::UnavailableError("no cluster node answers");
}

absl::StatusOr<std::vector<std::vector<std::string>>> RedisCluster::KeysPerNode(
    const std::string& match) {
  std::vector<std::vector<std::string>> out;
  for (auto& n : nodes_) {
    absl::StatusOr<std::unique_ptr<RedisClient>> c = n->Client();
    if (!c.ok()) return c.status();
    absl::StatusOr<std::vector<std::string>> keys = (*c)->ScanKeys(match);
    if (!keys.ok()) return keys.status();
    out.push_back(*std::move(keys));
  }
  return out;
}

}  // namespace beckon::redis_test
