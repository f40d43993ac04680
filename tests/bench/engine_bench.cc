// Hot-path benchmarks: Observe and Decide with many live visitors, the pair
// of both, two threads against one, the cost of populating the engine and
// the memory each live visitor holds (docs/benchmarks.md; scripts/bench runs
// them all and prints one table).
//
//   BUILD_DIR=build-bench BUILD_TYPE=Release TARGETS=engine_bench
//     scripts/build.sh -DBECKON_BUILD_BENCHMARKS=ON   (one command line)
//   build-bench/tests/engine_bench [--sizes=10000,1000000] [benchmark flags]
//
// For each size N (--sizes, default 10k, 100k, 1M, 10M), in this order:
//   BM_Populate/N         one engine, capacity 2N (max_sessions = 2N over the
//                         default 64 shards, so no shard evicts), gets N
//                         visitors, two page views each, in random order;
//                         counters: ns per new visitor (the first page view
//                         of each: a new session), heap and RSS bytes per
//                         live visitor. The engine is kept for the rest.
//   BM_ObservePageView/N  one page_view for one of the N visitors, visited
//                         in a random order (a fixed shuffle of the ids).
//   BM_Decide/N           one Decide (a second or two after the visitor's
//                         last page: "wait", reason dwell).
//   BM_Pair/N             Observe(page_view) then Decide, same visitor.
//   BM_PairThreads/N      BM_Pair from 1 and from 2 threads, each thread on
//                         its own part of the visitors (only for N <= 1M).
// Every benchmark but BM_Populate reports allocs_per_op and
// alloc_bytes_per_op: the calls of operator new (and their bytes) in the
// timed loop per iteration, counted by the replaced operator new below.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "beckon/beckon.hpp"
#include "benchmark/benchmark.h"

// --- A counting allocator -------------------------------------------------------
// Every form of operator new and delete is replaced, so that whatever
// allocates frees through the same malloc. Counters are per thread (no
// shared cache line between the threads of BM_PairThreads).
namespace {
thread_local uint64_t t_allocs = 0;
thread_local uint64_t t_alloc_bytes = 0;
inline void* CountedAlloc(std::size_t n) noexcept {
  ++t_allocs;
  t_alloc_bytes += n;
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++t_allocs;
  t_alloc_bytes += n;
  void* p = nullptr;
  if (posix_memalign(&p, std::max(sizeof(void*), static_cast<size_t>(a)),
                     n == 0 ? 1 : n) != 0) {
    throw std::bad_alloc();
  }
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return operator new(n, a);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
const char* const kPages[] = {"/",          "/c/shoes",      "/p/123456",
                              "/p/998877",  "/help/returns", "/search?q=x",
                              "/checkout/a", "/blog/2024/05/some-post",
                              "/cart",      "/account/orders/5512"};

// Counts the allocations of the calling thread from construction to
// Report(), per iteration of `state`.
class AllocCount {
 public:
  AllocCount() : allocs_(t_allocs), bytes_(t_alloc_bytes) {}
  void Report(benchmark::State& state) const {
    const double it = static_cast<double>(std::max<int64_t>(
        1, static_cast<int64_t>(state.iterations())));
    state.counters["allocs_per_op"] =
        benchmark::Counter(static_cast<double>(t_allocs - allocs_) / it,
                           benchmark::Counter::kAvgThreads);
    state.counters["alloc_bytes_per_op"] =
        benchmark::Counter(static_cast<double>(t_alloc_bytes - bytes_) / it,
                           benchmark::Counter::kAvgThreads);
  }

 private:
  uint64_t allocs_;
  uint64_t bytes_;
};

size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // Small chunks and mmapped ones.
}
size_t Rss() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// The engine of the current size, kept from BM_Populate to the size's last
// benchmark. `t` is the time of the next page views; every visitor's last
// event is at or before it. `pos` is the next index into `order`.
struct World {
  size_t n = 0;
  std::vector<std::string> ids;
  std::vector<uint32_t> order;  // A fixed random permutation of 0..n-1.
  std::unique_ptr<beckon::Engine> engine;
  int64_t t = 0;
  size_t pos = 0;
  double populate_ns_per_visitor = 0;
  double heap_per_visitor = 0;
  double rss_per_visitor = 0;
};
World* g_world = nullptr;
std::atomic<int64_t> g_thread_t{0};

World& Build(size_t n) {
  if (g_world != nullptr && g_world->n == n) return *g_world;
  delete g_world;
  g_world = nullptr;
  malloc_trim(0);
  auto* w = new World;
  w->n = n;
  w->ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    w->ids.push_back("c0ffee" +
                     std::to_string(static_cast<uint32_t>(i * 2654435761u)));
  }
  w->order.resize(n);
  for (size_t i = 0; i < n; ++i) w->order[i] = static_cast<uint32_t>(i);
  std::shuffle(w->order.begin(), w->order.end(), std::mt19937_64(42));

  const size_t heap0 = HeapInUse();
  const size_t rss0 = Rss();
  beckon::Engine::Options o;
  o.max_sessions = 2 * n;
  w->engine = *beckon::Engine::Create(beckon::Policy::Default(), o);
  const auto start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < n; ++k) {
    const uint32_t i = w->order[k];
    (void)w->engine->Observe(
        beckon::Event::PageView(kT0, w->ids[i], kPages[i % 10]));
  }
  const auto first = std::chrono::steady_clock::now();
  for (size_t k = 0; k < n; ++k) {
    const uint32_t i = w->order[k];
    (void)w->engine->Observe(
        beckon::Event::PageView(kT0 + 1, w->ids[i], kPages[(i + 3) % 10]));
  }
  w->populate_ns_per_visitor =
      std::chrono::duration<double, std::nano>(first - start).count() / n;
  w->heap_per_visitor =
      (static_cast<double>(HeapInUse()) - static_cast<double>(heap0)) / n;
  w->rss_per_visitor =
      (static_cast<double>(Rss()) - static_cast<double>(rss0)) / n;
  const beckon::EngineStats s = w->engine->Stats();
  if (s.live_sessions != n || s.sessions_evicted != 0) {
    std::fprintf(stderr, "engine_bench: %zu visitors gave %llu live sessions, "
                 "%llu evicted\n", n,
                 static_cast<unsigned long long>(s.live_sessions),
                 static_cast<unsigned long long>(s.sessions_evicted));
  }
  w->t = kT0 + 1000;
  g_thread_t = w->t;
  g_world = w;
  return *w;
}

void BM_Populate(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    World& w = Build(n);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    state.counters["ns_per_new_visitor"] = w.populate_ns_per_visitor;
    state.counters["heap_bytes_per_visitor"] = w.heap_per_visitor;
    state.counters["rss_bytes_per_visitor"] = w.rss_per_visitor;
  }
}

void BM_ObservePageView(benchmark::State& state) {
  World& w = Build(static_cast<size_t>(state.range(0)));
  beckon::Engine& engine = *w.engine;
  int64_t t = w.t;
  size_t pos = w.pos;
  AllocCount allocs;
  for (auto _ : state) {
    const uint32_t i = w.order[pos];
    benchmark::DoNotOptimize(engine.Observe(
        beckon::Event::PageView(t, w.ids[i], kPages[(i * 7 + t / 1000) % 10])));
    if (++pos == w.n) {
      pos = 0;
      t += 1000;
    }
  }
  allocs.Report(state);
  w.t = t;
  w.pos = pos;
  state.SetItemsProcessed(state.iterations());
}

void BM_Decide(benchmark::State& state) {
  World& w = Build(static_cast<size_t>(state.range(0)));
  beckon::Engine& engine = *w.engine;
  // A second or two after each visitor's last page view: before the dwell
  // threshold, the common answer "wait". Nothing changes in the engine.
  const int64_t now = w.t + 1000;
  size_t pos = 0;
  AllocCount allocs;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine.Decide(w.ids[w.order[pos]], now));
    if (++pos == w.n) pos = 0;
  }
  allocs.Report(state);
  state.SetItemsProcessed(state.iterations());
}

// The latency histograms' cost: Decide on an engine of its own with 10k
// visitors, with Options::latency_histograms on (range(1) = 1, the
// default) and off (0), in the same run.
void BM_DecideHistograms(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  beckon::Engine::Options o;
  o.max_sessions = 2 * n;
  o.latency_histograms = state.range(1) != 0;
  auto engine = *beckon::Engine::Create(beckon::Policy::Default(), o);
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back("c0ffee" + std::to_string(i * 2654435761u));
    (void)engine->Observe(beckon::Event::PageView(kT0, ids[i], kPages[i % 10]));
  }
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine->Decide(ids[pos], kT0 + 1000));
    if (++pos == n) pos = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Pair(benchmark::State& state) {
  World& w = Build(static_cast<size_t>(state.range(0)));
  beckon::Engine& engine = *w.engine;
  int64_t t = w.t;
  size_t pos = w.pos;
  AllocCount allocs;
  for (auto _ : state) {
    const uint32_t i = w.order[pos];
    benchmark::DoNotOptimize(engine.Observe(
        beckon::Event::PageView(t, w.ids[i], kPages[(i * 7 + t / 1000) % 10])));
    benchmark::DoNotOptimize(engine.Decide(w.ids[i], t));
    if (++pos == w.n) {
      pos = 0;
      t += 1000;
    }
  }
  allocs.Report(state);
  w.t = t;
  w.pos = pos;
  state.SetItemsProcessed(state.iterations());
}

// BM_Pair from state.threads() threads, thread k on the k-th part of the
// shuffled visitors. Each run starts a second after the latest time any
// earlier run used (g_thread_t: read before the threads' start barrier,
// raised after their loops).
void BM_PairThreads(benchmark::State& state) {
  World& w = Build(static_cast<size_t>(state.range(0)));
  beckon::Engine& engine = *w.engine;
  const size_t parts = static_cast<size_t>(state.threads());
  const size_t k = static_cast<size_t>(state.thread_index());
  const size_t begin = w.n * k / parts;
  const size_t end = w.n * (k + 1) / parts;
  int64_t t = std::max(w.t, g_thread_t.load()) + 1000;
  size_t pos = begin;
  AllocCount allocs;
  for (auto _ : state) {
    const uint32_t i = w.order[pos];
    benchmark::DoNotOptimize(engine.Observe(
        beckon::Event::PageView(t, w.ids[i], kPages[(i * 7 + t / 1000) % 10])));
    benchmark::DoNotOptimize(engine.Decide(w.ids[i], t));
    if (++pos == end) {
      pos = begin;
      t += 1000;
    }
  }
  allocs.Report(state);
  int64_t seen = g_thread_t.load();
  while (seen < t && !g_thread_t.compare_exchange_weak(seen, t)) {
  }
  state.SetItemsProcessed(state.iterations());
}

std::vector<int64_t> ParseSizes(int* argc, char** argv) {
  std::vector<int64_t> sizes = {10'000, 100'000, 1'000'000, 10'000'000};
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      sizes.clear();
      const char* p = argv[i] + 8;
      while (*p != '\0') {
        char* e = nullptr;
        const long long n = std::strtoll(p, &e, 10);
        if (e == p || n <= 0) break;  // Not a size: the rest is ignored.
        sizes.push_back(n);
        p = *e == ',' ? e + 1 : e;
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  argv[out] = nullptr;
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<int64_t> sizes = ParseSizes(&argc, argv);
  for (const int64_t n : sizes) {
    benchmark::RegisterBenchmark("BM_Populate", BM_Populate)
        ->Arg(n)->Iterations(1)->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_ObservePageView", BM_ObservePageView)
        ->Arg(n);
    benchmark::RegisterBenchmark("BM_Decide", BM_Decide)->Arg(n);
    if (n == sizes.front()) {
      benchmark::RegisterBenchmark("BM_DecideHistograms", BM_DecideHistograms)
          ->Args({10'000, 1})->Args({10'000, 0});
    }
    benchmark::RegisterBenchmark("BM_Pair", BM_Pair)->Arg(n);
    if (n <= 1'000'000) {
      benchmark::RegisterBenchmark("BM_PairThreads", BM_PairThreads)
          ->Arg(n)->Threads(1)->Threads(2)->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete g_world;
  return 0;
}
