// The engine's metrics in the Prometheus text exposition format (version
// 0.0.4): the counters of EngineStats, offers by page group, and latency
// histograms of Observe and Decide.
//
// The histograms time one call in kLatencySampleEvery on each thread (a
// thread-local countdown; two clock reads per timed call), so that timing
// costs the hot path a counter decrement, not two clock reads per call.
#ifndef BECKON_LIB_ENGINE_METRICS_H_
#define BECKON_LIB_ENGINE_METRICS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beckon/engine.h"

namespace beckon::internal {

inline constexpr uint32_t kLatencySampleEvery = 64;

class LatencyHistogram {
 public:
  // Bucket upper bounds, in nanoseconds (then +Inf).
  static constexpr int kBounds = 13;
  static constexpr int64_t kBoundNs[kBounds] = {
      50,      100,     200,       500,       1'000,      2'000,     5'000,
      10'000,  50'000,  100'000,   1'000'000, 10'000'000, 100'000'000};

  void Record(int64_t ns);

  struct Counts {
    uint64_t buckets[kBounds + 1] = {};  // Not cumulative; last: +Inf.
    uint64_t count = 0;
    uint64_t sum_ns = 0;
  };
  Counts Read() const;

 private:
  std::atomic<uint64_t> buckets_[kBounds + 1] = {};
  std::atomic<uint64_t> sum_ns_{0};
};

// True on one call in kLatencySampleEvery on the calling thread, counted
// apart for each `Kind` (Observe, Decide).
enum class Timed { kObserve, kDecide };
template <Timed Kind>
bool SampleThisCall() {
  thread_local uint32_t countdown = kLatencySampleEvery;
  if (--countdown != 0) return false;
  countdown = kLatencySampleEvery;
  return true;
}

// Times a scope into a histogram if `on`.
class ScopedLatency {
 public:
  ScopedLatency(LatencyHistogram& h, bool on) : h_(on ? &h : nullptr) {
    if (h_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedLatency() {
    if (h_ == nullptr) return;
    const auto d = std::chrono::steady_clock::now() - start_;
    h_->Record(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  LatencyHistogram* h_;
  std::chrono::steady_clock::time_point start_;
};

// What MetricsText prints besides the stats.
struct MetricsInput {
  EngineStats stats;
  std::string_view store;           // "memory" or "redis".
  std::string_view policy_name;
  std::string_view policy_version;
  std::vector<std::string_view> groups;  // Patterns; "" for unlisted.
  std::vector<uint64_t> offers_by_group; // Parallel to groups.
  LatencyHistogram::Counts observe, decide;
  uint64_t decision_log_errors = 0;
};

std::string MetricsText(const MetricsInput& in);

// A label value escaped for the text format (\\, \", \n).
std::string EscapeLabel(std::string_view v);

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_METRICS_H_
