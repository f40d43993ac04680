// Hot-path benchmarks: Observe and Decide with many live visitors, and the
// heap bytes each live visitor costs.
//
//   BUILD_DIR=build TARGETS=engine_bench scripts/build.sh
//       -DBECKON_BUILD_BENCHMARKS=ON
//   build/tests/engine_bench
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "beckon/beckon.hpp"
#include "benchmark/benchmark.h"

namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
const char* const kPages[] = {"/",          "/c/shoes",      "/p/123456",
                              "/p/998877",  "/help/returns", "/search?q=x",
                              "/checkout/a", "/blog/2024/05/some-post",
                              "/cart",      "/account/orders/5512"};

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (int i = 0; i < n; ++i) {
    ids.push_back("c0ffee" + std::to_string(i * 2654435761u));
  }
  return ids;
}

// An engine with `n` live visitors, each having seen two pages. Room for
// twice as many: N + 1 over 64 shards would make the fuller half of the
// shards evict on every new session.
std::unique_ptr<beckon::Engine> Populated(const std::vector<std::string>& ids) {
  beckon::Engine::Options o;
  o.max_sessions = ids.size() * 2;
  auto engine = *beckon::Engine::Create(beckon::Policy::Default(), o);
  for (size_t i = 0; i < ids.size(); ++i) {
    (void)engine->Observe(beckon::Event::PageView(kT0, ids[i], kPages[i % 10]));
    (void)engine->Observe(
        beckon::Event::PageView(kT0 + 1, ids[i], kPages[(i + 3) % 10]));
  }
  return engine;
}

void BM_ObservePageView(benchmark::State& state) {
  const auto ids = Ids(static_cast<int>(state.range(0)));
  auto engine = Populated(ids);
  int64_t t = kT0 + 1000;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine->Observe(
        beckon::Event::PageView(t, ids[i], kPages[(i * 7) % 10])));
    if (++i == ids.size()) {
      i = 0;
      t += 1000;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObservePageView)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

void BM_Decide(benchmark::State& state) {
  const auto ids = Ids(static_cast<int>(state.range(0)));
  auto engine = Populated(ids);
  // Deciding before the dwell threshold: the common answer, "wait".
  int64_t t = kT0 + 2000;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine->Decide(ids[i], t));
    if (++i == ids.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decide)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

// One page_view then one Decide for the same visitor, as a shop's request
// handler does: the second call finds the visitor's state in cache.
void BM_ObserveDecidePair(benchmark::State& state) {
  const auto ids = Ids(static_cast<int>(state.range(0)));
  auto engine = Populated(ids);
  int64_t t = kT0 + 1000;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine->Observe(
        beckon::Event::PageView(t, ids[i], kPages[(i * 7) % 10])));
    benchmark::DoNotOptimize(engine->Decide(ids[i], t + 1));
    if (++i == ids.size()) {
      i = 0;
      t += 1000;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObserveDecidePair)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

// Heap bytes per live visitor: the heap in use with n visitors, less the
// heap of an empty engine, over n. Reported as a counter. The heap in use
// counts the blocks malloc maps apart (hblkhd, the large ones: a shard's
// table or slab) as well as the arena's (uordblks); before 2026-12-02 it
// counted uordblks alone.
size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void BM_BytesPerVisitor(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto ids = Ids(n);
  for (auto _ : state) {
    state.PauseTiming();
    const size_t before = HeapInUse();
    state.ResumeTiming();
    auto engine = Populated(ids);
    state.PauseTiming();
    const size_t after = HeapInUse();
    state.counters["bytes_per_visitor"] =
        static_cast<double>(after - before) / n;
    engine.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_BytesPerVisitor)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
