// Throughput of training and replay on a simulated log of about one million
// events (docs/benchmarks.md). items_per_second is events per second.
//
//   BUILD_DIR=build-bench BUILD_TYPE=Release TARGETS=train_bench
//     scripts/build.sh -DBECKON_BUILD_BENCHMARKS=ON   (one command)
//   build-bench/tests/train_bench
#include <cstdio>
#include <vector>

#include "benchmark/benchmark.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "beckon/train.h"

namespace {

// Seven days of a shop with 18,000 sessions a day: about a million events.
const std::vector<beckon::LogEvent>& Log() {
  static const std::vector<beckon::LogEvent>* const kLog = [] {
    auto* events = new std::vector<beckon::LogEvent>;
    beckon::SimulatorOptions o = beckon::SimulatorOptions::Default();
    o.days = 7;
    o.visitors_per_day = 18000;
    const absl::Status s = beckon::Simulate(o, [&](const beckon::LogEvent& e) {
      events->push_back(e);
      return absl::OkStatus();
    });
    if (!s.ok()) std::fprintf(stderr, "simulate: %s\n", s.ToString().c_str());
    return events;
  }();
  return *kLog;
}

void BM_Train(benchmark::State& state) {
  const std::vector<beckon::LogEvent>& log = Log();
  for (auto _ : state) {
    absl::StatusOr<beckon::TrainResult> r = beckon::Train(log);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(log.size()));
  state.counters["events"] = static_cast<double>(log.size());
}
BENCHMARK(BM_Train)->Unit(benchmark::kSecond)->Iterations(2);

void BM_Replay(benchmark::State& state) {
  const std::vector<beckon::LogEvent>& log = Log();
  const beckon::Policy policy = beckon::Policy::Default();
  for (auto _ : state) {
    absl::StatusOr<beckon::ReplayMetrics> m = beckon::Replay(policy, log);
    if (!m.ok()) state.SkipWithError(m.status().ToString().c_str());
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(log.size()));
  state.counters["events"] = static_cast<double>(log.size());
}
BENCHMARK(BM_Replay)->Unit(benchmark::kSecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
