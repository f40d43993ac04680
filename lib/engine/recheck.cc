#include "engine/recheck.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace beckon::internal {

// Time moves two features, dwell and checkout stall; both are linear in t
// up to their caps, so the logit is piecewise linear and each piece is
// solved exactly, then checked with Ready itself.
std::optional<int64_t> ReadyTime(const CompiledPolicy& p,
                                 const SessionScore& score, int64_t from,
                                 double threshold) {
  const SessionRecord& r = score.record();
  const GroupInfo& g = score.group();
  const int64_t end = r.last_event_ms + p.timeout_ms();
  if (from > end) return std::nullopt;
  int64_t start = from;
  if (!p.allow_before_dwell_threshold()) {
    const int64_t dwell_at = r.last_activity_ms +
        static_cast<int64_t>(std::ceil(g.dwell_threshold_s * 1000.0));
    start = std::max(start, dwell_at);
  }
  if (start > end) return std::nullopt;
  // At most the two ends and a millisecond either side of two kinks.
  std::array<int64_t, 6> cuts;
  size_t n = 0;
  cuts[n++] = start;
  cuts[n++] = end;
  // The kinks where dwell and stall reach their caps. Cutting on the
  // millisecond either side of each leaves every other piece exactly linear.
  const double dwell_cap = static_cast<double>(r.last_activity_ms) +
                           g.dwell_threshold_s * 1000.0 * kMaxDwellRatio;
  const double stall_cap =
      static_cast<double>(r.checkout_since_ms) + kMaxStallMin * 60000.0;
  for (double kink : {dwell_cap, stall_cap}) {
    for (double c : {std::floor(kink), std::ceil(kink)}) {
      const auto ci = static_cast<int64_t>(c);
      if (ci > start && ci < end) cuts[n++] = ci;
    }
  }
  // Sorted, duplicates dropped (insertion: at most six).
  for (size_t i = 1; i < n; ++i) {
    const int64_t c = cuts[i];
    size_t j = i;
    for (; j > 0 && cuts[j - 1] > c; --j) cuts[j] = cuts[j - 1];
    cuts[j] = c;
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (kept == 0 || cuts[i] != cuts[kept - 1]) cuts[kept++] = cuts[i];
  }
  n = kept;
  const double target = p.LogitOf(threshold);
  auto ready = [&](int64_t t) { return score.Ready(t, threshold, target); };
  auto settle = [&](int64_t t, int64_t hi) -> std::optional<int64_t> {
    // Guards against rounding: step forward to the first ready millisecond.
    for (int i = 0; i < 64 && t <= hi; ++i, ++t) {
      if (ready(t)) return t;
    }
    return std::nullopt;
  };
  for (size_t i = 0; i + 1 < n; ++i) {
    const int64_t a = cuts[i], b = cuts[i + 1];
    if (ready(a)) return a;
    const double za = score.LogitAt(a);
    const double zb = score.LogitAt(b);
    if (zb < target || zb <= za) continue;
    const double frac = (target - za) / (zb - za);
    const int64_t t = a + static_cast<int64_t>(
                              std::floor(frac * static_cast<double>(b - a)));
    // Start a little early: the division may round either way.
    if (std::optional<int64_t> hit = settle(std::max(a, t - 2), b)) {
      return hit;
    }
  }
  if (ready(end)) return settle(end, end);
  return std::nullopt;
}

}  // namespace beckon::internal
