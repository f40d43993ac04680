// Throughput and memory of training and replay on simulated logs
// (docs/benchmarks.md). items_per_second is events per second.
//
//   BUILD_DIR=build-bench BUILD_TYPE=Release TARGETS=train_bench
//     scripts/build.sh -DBECKON_BUILD_BENCHMARKS=ON      (one command line)
//   build-bench/tests/train_bench [--days=7,28] [--visitors-per-day=18000]
//
// For each --days value D (default 7 and 28: about 1.0 M and 4.0 M events
// with 18,000 sessions a day, SimulatorOptions::Default() otherwise):
//   BM_Train/D   Train (default options) on the log, once.
//   BM_Replay/D  Replay (the default policy) over it, only for the first D.
// Rates are over wall time (training may use several threads). Counters:
// events; log_bytes_per_event, the resident memory the log itself
// takes (RSS growth while simulating it, over its events); and
// peak_bytes_per_event, the growth of the resident high-water mark during
// the call (reset through /proc/self/clear_refs before it) over the events,
// and peak_heap_bytes_per_event, the peak of the live heap during the call
// above the heap live before it (counted by the replaced operator new
// below: unlike the RSS, not lowered by memory glibc reuses): the memory the
// call holds on top of the log.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "beckon/train.h"

// --- Live heap bytes and their peak, from a replaced operator new --------------
// (every form of new and delete, so that all frees go through the same free).
namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
void* Counted(void* p) noexcept {
  if (p == nullptr) return p;
  const int64_t now =
      g_live.fetch_add(static_cast<int64_t>(malloc_usable_size(p)),
                       std::memory_order_relaxed) +
      static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now,
                                                     std::memory_order_relaxed)) {
  }
  return p;
}
void Uncounted(void* p) noexcept {
  if (p == nullptr) return;
  g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)),
                   std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  void* p = Counted(std::malloc(n == 0 ? 1 : n));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return Counted(std::malloc(n == 0 ? 1 : n));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return Counted(std::malloc(n == 0 ? 1 : n));
}
void operator delete(void* p) noexcept { Uncounted(p); }
void operator delete[](void* p) noexcept { Uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { Uncounted(p); }
void operator delete[](void* p, std::size_t) noexcept { Uncounted(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Uncounted(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  Uncounted(p);
}
#pragma GCC diagnostic pop

namespace {

int g_visitors_per_day = 18000;

long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string f = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, f.size(), f) == 0) return std::atol(line.c_str() + f.size());
  }
  return -1;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

struct Log {
  int days = 0;
  std::vector<beckon::LogEvent> events;
  double bytes_per_event = 0;
  double heap_bytes_per_event = 0;
};
Log* g_log = nullptr;

// The log of `days` days, kept until another length is asked for.
const Log& GetLog(int days) {
  if (g_log != nullptr && g_log->days == days) return *g_log;
  delete g_log;
  g_log = new Log;
  g_log->days = days;
  const long rss0 = StatusKb("VmRSS");
  const int64_t heap0 = g_live.load();
  beckon::SimulatorOptions o = beckon::SimulatorOptions::Default();
  o.days = days;
  o.visitors_per_day = g_visitors_per_day;
  const absl::Status s = beckon::Simulate(o, [&](const beckon::LogEvent& e) {
    g_log->events.push_back(e);
    return absl::OkStatus();
  });
  if (!s.ok()) std::fprintf(stderr, "simulate: %s\n", s.ToString().c_str());
  g_log->events.shrink_to_fit();
  g_log->bytes_per_event = (StatusKb("VmRSS") - rss0) * 1024.0 /
                           static_cast<double>(g_log->events.size());
  if (g_log->bytes_per_event < 0) g_log->bytes_per_event = 0;
  g_log->heap_bytes_per_event = static_cast<double>(g_live.load() - heap0) /
                                static_cast<double>(g_log->events.size());
  return *g_log;
}

// Starts the peak of the live heap at the heap live now; returns that.
int64_t ResetHeapPeak() {
  const int64_t live = g_live.load();
  g_peak.store(live);
  return live;
}

void Counters(benchmark::State& state, const Log& log, long base_kb,
              int64_t heap_base) {
  const double n = static_cast<double>(log.events.size());
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(log.events.size()));
  state.counters["events"] = n;
  state.counters["log_bytes_per_event"] = log.bytes_per_event;
  state.counters["log_heap_bytes_per_event"] = log.heap_bytes_per_event;
  state.counters["peak_bytes_per_event"] =
      (StatusKb("VmHWM") - base_kb) * 1024.0 / n;
  state.counters["peak_heap_bytes_per_event"] =
      static_cast<double>(g_peak.load() - heap_base) / n;
}

void BM_Train(benchmark::State& state) {
  const Log& log = GetLog(static_cast<int>(state.range(0)));
  ResetPeak();
  const long base = StatusKb("VmRSS");
  const int64_t heap = ResetHeapPeak();
  for (auto _ : state) {
    absl::StatusOr<beckon::TrainResult> r = beckon::Train(log.events);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  Counters(state, log, base, heap);
}

void BM_Replay(benchmark::State& state) {
  const Log& log = GetLog(static_cast<int>(state.range(0)));
  const beckon::Policy policy = beckon::Policy::Default();
  ResetPeak();
  const long base = StatusKb("VmRSS");
  const int64_t heap = ResetHeapPeak();
  for (auto _ : state) {
    absl::StatusOr<beckon::ReplayMetrics> m = beckon::Replay(policy, log.events);
    if (!m.ok()) state.SkipWithError(m.status().ToString().c_str());
    benchmark::DoNotOptimize(m);
  }
  Counters(state, log, base, heap);
}

std::vector<int> Days(int* argc, char** argv) {
  std::vector<int> days = {7, 28};
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], "--days=", 7) == 0) {
      days.clear();
      for (const char* p = argv[i] + 7; *p != '\0';) {
        char* e = nullptr;
        days.push_back(static_cast<int>(std::strtol(p, &e, 10)));
        if (e == p) break;
        p = *e == ',' ? e + 1 : e;
      }
    } else if (std::strncmp(argv[i], "--visitors-per-day=", 19) == 0) {
      g_visitors_per_day = std::atoi(argv[i] + 19);
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  argv[out] = nullptr;
  return days;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<int> days = Days(&argc, argv);
  for (size_t k = 0; k < days.size(); ++k) {
    // Replay first, on the first log, while it is the one in memory.
    if (k == 0) {
      benchmark::RegisterBenchmark("BM_Replay", BM_Replay)
          ->Arg(days[k])->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);
    }
    benchmark::RegisterBenchmark("BM_Train", BM_Train)
        ->Arg(days[k])->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete g_log;
  return 0;
}
