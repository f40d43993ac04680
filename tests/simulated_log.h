// Test helpers: a simulated log in memory, and some of its days.
#ifndef BECKON_TESTS_SIMULATED_LOG_H_
#define BECKON_TESTS_SIMULATED_LOG_H_

#include <cstdint>
#include <vector>

#include "beckon/simulate.h"
#include "gtest/gtest.h"

namespace beckon::testing_util {

inline constexpr int64_t kDayMs = 86'400'000;

// All rows of the simulation of `o`, in time order (a failure is a test
// failure).
inline std::vector<LogEvent> Simulated(const SimulatorOptions& o) {
  std::vector<LogEvent> events;
  const absl::Status s = Simulate(o, [&](const LogEvent& e) {
    events.push_back(e);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return events;
}

// The rows of days first..last (1-based, from `start`, the first
// midnight).
inline std::vector<LogEvent> Days(const std::vector<LogEvent>& all,
                                  int64_t start, int first, int last) {
  std::vector<LogEvent> out;
  for (const LogEvent& e : all) {
    if (e.ts_ms >= start + (first - 1) * kDayMs &&
        e.ts_ms < start + last * kDayMs) {
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace beckon::testing_util

#endif  // BECKON_TESTS_SIMULATED_LOG_H_
