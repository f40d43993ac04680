// The in-memory store alone (lib/memory_store.cc), without the engine's
// rules: what an Observe pays to find a visitor's records and write the
// session back, with N live visitors in random order. White-box: it uses
// the store seam (lib/state_store.h), so it builds against any version of
// the store behind that seam.
//
//   BUILD_DIR=build TARGETS=store_bench scripts/build.sh
//       -DBECKON_BUILD_BENCHMARKS=ON
//   build/tests/store_bench
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "lib/state_store.h"

namespace beckon::internal {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kTimeout = 30 * 60'000;

std::vector<uint64_t> Keys(int64_t n) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  for (auto& k : keys) k = rng();
  return keys;
}

// What Observe asks of the store, without the rules' own work: load, bump
// the session's times, write it back, expire a little.
absl::Status Touch(VisitorStore& store, uint64_t key, int64_t t) {
  return store.Update(key, false, [&](VisitorState& v, RateGate&) {
    if (!v.has_session) {
      v.session = SessionRecord{};
      v.session.session_start_ms = t;
      v.session.current_group = 0xFFFF;
    }
    v.session.last_event_ms = t;
    v.session.last_activity_ms = t;
    ++v.session.pages_viewed;
    v.write_session = true;
    v.expire_some = true;
    v.now_ms = t;
    return absl::OkStatus();
  });
}

std::unique_ptr<VisitorStore> Populated(const std::vector<uint64_t>& keys) {
  Engine::Options o;
  o.max_sessions = keys.size() * 2;
  auto store = NewMemoryStore(o, kTimeout, 5 * 60'000);
  for (uint64_t k : keys) (void)Touch(*store, k, kT0);
  return store;
}

// One update of one of N live visitors' sessions, visitors in random order.
void BM_StoreUpdate(benchmark::State& state) {
  const auto keys = Keys(state.range(0));
  auto store = Populated(keys);
  int64_t t = kT0 + 1000;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Touch(*store, keys[i], t));
    if (++i == keys.size()) {
      i = 0;
      t += 1000;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreUpdate)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

// One new visitor in a full store: a failed lookup, an eviction, an insert.
void BM_StoreInsertEvicting(benchmark::State& state) {
  const auto keys = Keys(state.range(0));
  Engine::Options o;
  o.max_sessions = keys.size();
  auto store = NewMemoryStore(o, kTimeout, 5 * 60'000);
  for (uint64_t k : keys) (void)Touch(*store, k, kT0);
  std::mt19937_64 rng(7);
  int64_t t = kT0 + 1000;
  for (auto _ : state) benchmark::DoNotOptimize(Touch(*store, rng(), t));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreInsertEvicting)->Arg(100'000)->Arg(1'000'000);

// Heap bytes per live session (mallinfo2: the arena's blocks and the ones
// mapped apart), capacity 2N as above.
size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void BM_StoreBytesPerSession(benchmark::State& state) {
  const auto keys = Keys(state.range(0));
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto store = Populated(keys);
    const size_t after = HeapInUse();
    state.counters["bytes_per_session"] =
        static_cast<double>(after - before) / static_cast<double>(keys.size());
  }
}
BENCHMARK(BM_StoreBytesPerSession)
    ->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace beckon::internal

BENCHMARK_MAIN();
