#include "engine/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "string_views.h"

namespace beckon::internal {

void LatencyHistogram::Record(int64_t ns) {
  if (ns < 0) ns = 0;
  int b = 0;
  while (b < kBounds && ns > kBoundNs[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

LatencyHistogram::Counts LatencyHistogram::Read() const {
  Counts c;
  for (int b = 0; b <= kBounds; ++b) {
    c.buckets[b] = buckets_[b].load(std::memory_order_relaxed);
    c.count += c.buckets[b];
  }
  c.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return c;
}

std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Which action each reason comes with.
Action ActionOf(Reason r) {
  switch (r) {
    case Reason::kScore:
      return Action::kOffer;
    case Reason::kNoSession:
    case Reason::kDwell:
    case Reason::kBelowThreshold:
      return Action::kWait;
    default:
      return Action::kSuppress;
  }
}

void Header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  absl::StrAppend(&out, "# HELP ", AbslView(name), " ", AbslView(help), "\n",
                  "# TYPE ", AbslView(name), " ", AbslView(type), "\n");
}

void Counter(std::string& out, std::string_view name, std::string_view help,
             uint64_t v) {
  Header(out, name, "counter", help);
  absl::StrAppend(&out, AbslView(name), " ", v, "\n");
}

void Gauge(std::string& out, std::string_view name, std::string_view help,
           uint64_t v) {
  Header(out, name, "gauge", help);
  absl::StrAppend(&out, AbslView(name), " ", v, "\n");
}

void Histogram(std::string& out, std::string_view name, std::string_view help,
               const LatencyHistogram::Counts& c) {
  Header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (int b = 0; b < LatencyHistogram::kBounds; ++b) {
    cumulative += c.buckets[b];
    absl::StrAppend(&out, AbslView(name), "_bucket{le=\"",
                    absl::StrFormat("%g", LatencyHistogram::kBoundNs[b] * 1e-9),
                    "\"} ", cumulative, "\n");
  }
  absl::StrAppend(&out, AbslView(name), "_bucket{le=\"+Inf\"} ", c.count, "\n",
                  AbslView(name), "_sum ",
                  absl::StrFormat("%.9f", static_cast<double>(c.sum_ns) * 1e-9),
                  "\n", AbslView(name), "_count ", c.count, "\n");
}

}  // namespace

std::string MetricsText(const MetricsInput& in) {
  const EngineStats& s = in.stats;
  std::string out;
  Header(out, "beckon_info", "gauge",
         "The engine's policy and store (value 1).");
  absl::StrAppend(&out, "beckon_info{policy=\"", EscapeLabel(in.policy_name),
                  "\",policy_version=\"", EscapeLabel(in.policy_version),
                  "\",store=\"", AbslView(in.store), "\"} 1\n");
  Header(out, "beckon_decisions_total", "counter",
         "Decisions made, by action and reason.");
  for (int r = 0; r < kReasonCount; ++r) {
    const auto reason = static_cast<Reason>(r);
    absl::StrAppend(&out, "beckon_decisions_total{action=\"",
                    AbslView(ActionName(ActionOf(reason))), "\",reason=\"",
                    AbslView(ReasonName(reason)), "\"} ",
                    s.decisions_by_reason[r], "\n");
  }
  Header(out, "beckon_offers_total", "counter",
         "Offers made by this process, by the visitor's page group.");
  for (size_t g = 0; g < in.groups.size(); ++g) {
    absl::StrAppend(&out, "beckon_offers_total{group=\"",
                    EscapeLabel(in.groups[g].empty() ? std::string_view("(unlisted)")
                                                     : in.groups[g]),
                    "\"} ", in.offers_by_group[g], "\n");
  }
  Counter(out, "beckon_events_observed_total", "Events accepted.",
          s.events_observed);
  Counter(out, "beckon_events_rejected_total",
          "Events rejected as invalid (nothing changed).", s.events_rejected);
  Gauge(out, "beckon_sessions_live", "Visitors with a session record now.",
        s.live_sessions);
  Gauge(out, "beckon_memory_records",
        "Visitors with do-not-re-offer memory now.", s.memory_records);
  Counter(out, "beckon_sessions_started_total", "Sessions started.",
          s.sessions_started);
  Counter(out, "beckon_sessions_expired_total", "Sessions ended by inactivity.",
          s.sessions_expired);
  Counter(out, "beckon_sessions_evicted_total",
          "Sessions dropped by the capacity limit.", s.sessions_evicted);
  Counter(out, "beckon_memory_evicted_total",
          "Memory records dropped by their capacity limit.", s.memory_evicted);
  Counter(out, "beckon_declines_evicted_total",
          "Of the memory records evicted, those that held a decline.",
          s.declines_evicted);
  Counter(out, "beckon_store_errors_total",
          "Calls failed for the store (down, timeout).", s.store_errors);
  Counter(out, "beckon_store_conflicts_total",
          "Optimistic store updates retried.", s.store_conflicts);
  Counter(out, "beckon_store_round_trips_total",
          "Request/reply exchanges with the store.", s.store_round_trips);
  Counter(out, "beckon_decision_log_errors_total",
          "Decision and event log lines that could not be written.",
          in.decision_log_errors);
  Histogram(out, "beckon_observe_duration_seconds",
            "Observe latency, one call in 64 per thread timed.", in.observe);
  Histogram(out, "beckon_decide_duration_seconds",
            "Decide latency, one call in 64 per thread timed.", in.decide);
  return out;
}

}  // namespace beckon::internal
