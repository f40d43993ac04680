// The Redis store's benchmark (not a test): decisions per second and
// per-event latency of Observe(page_view) + Decide against a local
// redis-server that it starts itself (tests/redis/redis_server.h), with 1 and
// 8 client processes, beside the in-memory engine measured in the same run;
// Redis memory per visitor (MEMORY USAGE of a sample of keys, and INFO
// used_memory per visitor); round trips per event.
//
//   BUILD_DIR=build-redis TARGETS=redis_bench scripts/build.sh
//       -DBECKON_BUILD_BENCHMARKS=ON -DBECKON_BUILD_TESTS=ON
//   build-redis/tests/redis_bench
//
// Options: --events=N (timed events per client process, default 5000),
// --visitors=N (visitors per client process, default 1000),
// --memory-visitors=N (visitors for the memory figures, default 20000).
//
// One event is what a shop's backend does per page request: report the page
// view, then ask whether to offer. Each client process has its own engine
// (its own connection), and its own visitors, each seen once before the timed
// part (so the timed events continue live sessions, the common case), with a
// free-agents report so decisions read the site-wide state too.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "beckon/beckon.hpp"
#include "tests/redis/redis_server.h"

namespace {

using beckon::Engine;
using beckon::Event;
using beckon::redis_test::RedisClient;
using beckon::redis_test::RedisServer;

constexpr int64_t kT0 = 1'700'000'000'000;
const char* const kPages[] = {"/",          "/c/shoes",      "/p/123456",
                              "/p/998877",  "/help/returns", "/search?q=x",
                              "/checkout/a", "/blog/2024/05/some-post",
                              "/cart",      "/account/orders/5512"};

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string VisitorId(int client, int i) {
  return absl::StrCat("c0ffee", client, "-", static_cast<uint32_t>(i * 2654435761u));
}

// What one client process measured.
struct ClientResult {
  int64_t start_ns = 0, end_ns = 0;
  uint64_t events = 0, failures = 0, offers = 0;
  uint64_t round_trips = 0, conflicts = 0, store_errors = 0;
  std::vector<float> latency_us;  // Per event.
};

bool WriteAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// The round trips Stats() itself costs (over Redis it scans the keys).
uint64_t StatsTrips(Engine& e, uint64_t* now) {
  const uint64_t a = e.Stats().store_round_trips;
  const uint64_t b = e.Stats().store_round_trips;
  *now = b;
  return b - a;
}

// Runs in a client process: its own engine, its visitors seen once, then
// (after the start signal) `events` timed Observe + Decide.
ClientResult RunClient(const Engine::Options& options, int client, int visitors,
                       int events, int ready_fd, int go_fd) {
  ClientResult r;
  auto engine = Engine::Create(beckon::Policy::Default(), options);
  if (!engine.ok()) {
    fprintf(stderr, "client %d: %s\n", client, engine.status().ToString().c_str());
    r.failures = 1;
    return r;
  }
  Engine& e = **engine;
  std::vector<std::string> ids;
  for (int i = 0; i < visitors; ++i) ids.push_back(VisitorId(client, i));
  for (int i = 0; i < visitors; ++i) {
    (void)e.Observe(Event::PageView(kT0, ids[i], kPages[i % 10],
                                    "https://www.google.com/"));
  }
  char c = 'r';
  WriteAll(ready_fd, &c, 1);
  while (read(go_fd, &c, 1) < 0 && errno == EINTR) {
  }
  uint64_t trips_before = 0;
  const uint64_t stats_cost = StatsTrips(e, &trips_before);
  const beckon::EngineStats before = e.Stats();
  r.latency_us.reserve(events);
  r.start_ns = MonoNs();
  for (int n = 0; n < events; ++n) {
    const int i = n % visitors;
    // Each visitor's clock moves 7 s per round through the visitors.
    const int64_t t = kT0 + (1 + n / visitors) * 7000 + i;
    const int64_t a = MonoNs();
    const absl::Status s =
        e.Observe(Event::PageView(t, ids[i], kPages[(i * 7 + n / visitors) % 10]));
    absl::StatusOr<beckon::Decision> d = e.Decide(ids[i], t + 500);
    r.latency_us.push_back(static_cast<float>(MonoNs() - a) / 1000.0f);
    if (!s.ok() || !d.ok()) ++r.failures;
    if (d.ok() && d->action == beckon::Action::kOffer) ++r.offers;
  }
  r.end_ns = MonoNs();
  r.events = static_cast<uint64_t>(events);
  const beckon::EngineStats after = e.Stats();
  r.round_trips = after.store_round_trips - trips_before - 2 * stats_cost;
  r.conflicts = after.store_conflicts - before.store_conflicts;
  r.store_errors = after.store_errors - before.store_errors;
  return r;
}

struct RunResult {
  std::string store;
  int clients = 0;
  uint64_t events = 0, failures = 0, offers = 0, round_trips = 0,
           conflicts = 0, store_errors = 0;
  double seconds = 0, p50_us = 0, p99_us = 0;
};

// Forks `clients` client processes, starts them together, gathers.
RunResult Run(const std::string& store, const Engine::Options& options,
              int clients, int visitors, int events) {
  int go[2], ready[2];
  if (pipe(go) != 0 || pipe(ready) != 0) abort();
  struct Kid {
    pid_t pid;
    int fd;
  };
  std::vector<Kid> kids;
  for (int k = 0; k < clients; ++k) {
    int out[2];
    if (pipe(out) != 0) abort();
    const pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
      close(out[0]);
      close(go[1]);
      close(ready[0]);
      ClientResult r = RunClient(options, k, visitors, events, ready[1], go[0]);
      const uint64_t n = r.latency_us.size();
      const uint64_t head[] = {static_cast<uint64_t>(r.start_ns),
                               static_cast<uint64_t>(r.end_ns),
                               r.events, r.failures, r.offers, r.round_trips,
                               r.conflicts, r.store_errors, n};
      WriteAll(out[1], head, sizeof head);
      WriteAll(out[1], r.latency_us.data(), n * sizeof(float));
      _exit(0);
    }
    close(out[1]);
    kids.push_back({pid, out[0]});
  }
  close(go[0]);
  close(ready[1]);
  // Every client has connected and seen its visitors once: start them.
  for (int k = 0; k < clients; ++k) {
    char c;
    if (!ReadAll(ready[0], &c, 1)) break;  // A client died: its result says.
  }
  close(ready[0]);
  close(go[1]);
  RunResult res;
  res.store = store;
  res.clients = clients;
  int64_t start = INT64_MAX, end = 0;
  std::vector<float> all;
  for (Kid& k : kids) {
    uint64_t head[9];
    if (!ReadAll(k.fd, head, sizeof head)) {
      fprintf(stderr, "a client process died\n");
      res.failures += 1;
    } else {
      std::vector<float> lat(head[8]);
      ReadAll(k.fd, lat.data(), lat.size() * sizeof(float));
      all.insert(all.end(), lat.begin(), lat.end());
      start = std::min(start, static_cast<int64_t>(head[0]));
      end = std::max(end, static_cast<int64_t>(head[1]));
      res.events += head[2];
      res.failures += head[3];
      res.offers += head[4];
      res.round_trips += head[5];
      res.conflicts += head[6];
      res.store_errors += head[7];
    }
    close(k.fd);
    waitpid(k.pid, nullptr, 0);
  }
  res.seconds = static_cast<double>(end - start) / 1e9;
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    res.p50_us = all[all.size() / 2];
    res.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return res;
}

std::string InfoField(const std::string& info, const std::string& field) {
  for (absl::string_view line : absl::StrSplit(info, absl::ByAnyChar("\r\n"))) {
    if (absl::StartsWith(line, field + ":")) {
      return std::string(line.substr(field.size() + 1));
    }
  }
  return "";
}

int64_t UsedMemory(RedisClient& c) {
  auto r = c.MustCommand({"INFO", "memory"});
  if (!r.ok()) return -1;
  return std::atoll(InfoField(r->str, "used_memory").c_str());
}

// The average MEMORY USAGE of the keys matching `match`, over at most
// `sample` of them, and how many matched.
double AverageUsage(RedisClient& c, const std::string& match, size_t sample,
                    size_t* count) {
  auto keys = c.ScanKeys(match);
  if (!keys.ok()) return -1;
  *count = keys->size();
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < keys->size() && n < sample; i += std::max<size_t>(1, keys->size() / sample)) {
    auto r = c.MustCommand({"MEMORY", "USAGE", (*keys)[i], "SAMPLES", "0"});
    if (r.ok() && r->type == beckon::redis_test::Reply::Type::kInteger) {
      sum += static_cast<double>(r->integer);
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : -1;
}

int Flag(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) {
      return std::atoi(a.c_str() + name.size() + 3);
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = Flag(argc, argv, "events", 5000);
  const int visitors = Flag(argc, argv, "visitors", 1000);
  const int memory_visitors = Flag(argc, argv, "memory-visitors", 20000);
  if (std::string missing = beckon::redis_test::MissingProgram("redis-server");
      !missing.empty()) {
    fprintf(stderr, "%s\n", missing.c_str());
    return 1;
  }

  std::vector<RunResult> results;
  for (int clients : {1, 8}) {
    results.push_back(Run("memory (one engine per process)", Engine::Options(),
                          clients, visitors, events));
  }
  struct Config {
    std::string name;
    bool aof;
  };
  for (const Config& cfg : {Config{"redis, appendfsync always", true},
                            Config{"redis, no persistence", false}}) {
    RedisServer::Options so;
    so.aof = cfg.aof;
    auto server = RedisServer::Start(so);
    if (!server.ok()) {
      fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    for (int clients : {1, 8}) {
      Engine::Options o;
      o.store = beckon::StoreKind::kRedis;
      auto ro = beckon::RedisOptions::FromUrl((*server)->url());
      if (!ro.ok()) return 1;
      o.redis = *ro;
      o.redis.key_prefix = absl::StrCat("bench", clients, ":");
      o.redis.command_timeout_ms = 5000;
      // Agents reported once, so decisions read the site-wide state.
      {
        auto e = Engine::Create(beckon::Policy::Default(), o);
        if (!e.ok() || !(*e)->Observe(Event::Agents(kT0, 50)).ok()) {
          fprintf(stderr, "cannot reach the benchmark's redis-server\n");
          return 1;
        }
      }
      results.push_back(Run(cfg.name, o, clients, visitors, events));
    }
  }

  printf("\nObserve(page_view) + Decide per event; %d timed events per client "
         "process over %d live visitors each; %ld cores\n\n",
         events, visitors, sysconf(_SC_NPROCESSORS_ONLN));
  printf("%-32s %7s %9s %12s %8s %8s %11s %9s %7s\n", "store", "clients",
         "events", "decisions/s", "p50 us", "p99 us", "trips/event",
         "conflicts", "failed");
  for (const RunResult& r : results) {
    printf("%-32s %7d %9" PRIu64 " %12.0f %8.1f %8.1f %11.2f %9" PRIu64
           " %7" PRIu64 "\n",
           r.store.c_str(), r.clients, r.events,
           r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0,
           r.p50_us, r.p99_us,
           r.events ? static_cast<double>(r.round_trips) / r.events : 0,
           r.conflicts, r.failures + r.store_errors);
  }

  // Memory per visitor in Redis: sessions first, then decline memory.
  auto server = RedisServer::Start();
  if (!server.ok()) return 1;
  auto client = (*server)->Client();
  if (!client.ok()) return 1;
  Engine::Options o;
  o.store = beckon::StoreKind::kRedis;
  o.redis = *beckon::RedisOptions::FromUrl((*server)->url());
  auto engine = Engine::Create(beckon::Policy::Default(), o);
  if (!engine.ok()) return 1;
  Engine& e = **engine;
  std::vector<std::string> ids;
  for (int i = 0; i < memory_visitors; ++i) ids.push_back(VisitorId(99, i));
  const int64_t m0 = UsedMemory(**client);
  for (int i = 0; i < memory_visitors; ++i) {
    (void)e.Observe(Event::PageView(kT0, ids[i], kPages[i % 10],
                                    "https://www.google.com/"));
    (void)e.Observe(Event::PageView(kT0 + 9000, ids[i], kPages[(i + 3) % 10]));
    (void)e.Observe(Event::PageView(kT0 + 20000, ids[i], kPages[(i + 5) % 10]));
  }
  const int64_t m1 = UsedMemory(**client);
  for (int i = 0; i < memory_visitors; ++i) {
    (void)e.Observe(Event::OfferDeclined(kT0 + 30000, ids[i], "/",
                                         beckon::Channel::kChat));
  }
  const int64_t m2 = UsedMemory(**client);
  size_t n_sessions = 0, n_memory = 0;
  const double s_usage =
      AverageUsage(**client, "beckon:{*}:s", 1000, &n_sessions);
  const double m_usage = AverageUsage(**client, "beckon:{*}:m", 1000, &n_memory);
  auto strlen_of = [&](const std::string& suffix) {
    auto keys = (*client)->ScanKeys("beckon:{*}:" + suffix);
    if (!keys.ok() || keys->empty()) return -1LL;
    auto r = (*client)->MustCommand({"STRLEN", (*keys)[0]});
    return r.ok() ? r->integer : -1LL;
  };
  printf("\nRedis memory per visitor (%d visitors, 3 page views each, then "
         "a decline each):\n\n",
         memory_visitors);
  printf("%-40s %10s %14s %20s\n", "record", "value (B)", "MEMORY USAGE",
         "used_memory delta/v");
  printf("%-40s %10lld %14.1f %20.1f\n",
         absl::StrCat("session  <prefix>{hash}:s (", n_sessions, " keys)").c_str(),
         strlen_of("s"), s_usage,
         static_cast<double>(m1 - m0) / memory_visitors);
  printf("%-40s %10lld %14.1f %20.1f\n",
         absl::StrCat("memory   <prefix>{hash}:m (", n_memory, " keys)").c_str(),
         strlen_of("m"), m_usage,
         static_cast<double>(m2 - m1) / memory_visitors);
  printf("%-40s %10s %14.1f %20.1f\n", "both", "", s_usage + m_usage,
         static_cast<double>(m2 - m0) / memory_visitors);
  return 0;
}
