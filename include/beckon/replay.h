// Replay: measure a policy on a logged day by driving the real engine with it.
//
//   absl::StatusOr<std::vector<beckon::LogEvent>> log =
//       beckon::ReadEventLog("day7.csv");
//   beckon::ReplayOptions options;
//   absl::StatusOr<beckon::ReplayMetrics> m =
//       beckon::Replay(policy, *log, options);
//   std::cout << m->ToJson() << "\n";   // precision, recall, offer_rate, ...
//
// The replay sorts the log by time (stable), feeds every event to one
// Engine, asks for a decision after every visitor event and again at every
// `recheck_at` the engine returned, as long as that comes before the
// visitor's next event in the same session (dwell on a session's last event
// is unknown: the visitor is taken as gone after it). Logged offer outcomes
// and `agents` counts are applied as the engine's host would apply them.
// docs/replay.md defines every metric.
//
// Thread safety: Replay may run concurrently on different inputs.
#ifndef BECKON_REPLAY_H_
#define BECKON_REPLAY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/decision.h"
#include "beckon/engine.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"

namespace beckon {

// One decision the replay asked for.
struct TraceRecord {
  int64_t ts_ms = 0;
  std::string_view visitor;
  bool recheck = false;   // Asked at a recheck_at, not after an event.
  const Decision* decision = nullptr;
};

struct ReplayOptions {
  // Options of the engine the replay drives (visitor key, capacity).
  Engine::Options engine;
  // If set, the visitor store (sessions and do-not-re-offer memory) is
  // restored from this snapshot file before the replay...
  std::string load_state_path;
  // ...and, if set, saved to this file after it, for the next day's replay.
  // Unless `engine` gives a visitor key (or key file), the key is kept in
  // "<state file>.key" beside the state (created 0600 when saving; a state
  // file to load without one is FailedPrecondition), since a snapshot holds
  // only the key's fingerprint.
  std::string save_state_path;
  // Called for every decision, in time order. Optional.
  std::function<void(const TraceRecord&)> trace;
  // Called now and then with the events replayed so far and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Polled now and then; returning true stops the replay with a Cancelled
  // error. Optional.
  std::function<bool()> interrupted;
};

// Counts for the whole log or one page group. See docs/replay.md.
struct ReplayCounts {
  uint64_t sessions = 0;          // Sessions (a group: that viewed it).
  uint64_t offered_sessions = 0;  // Sessions offered at least once (a group:
                                  // whose first offer came on it).
  uint64_t offers = 0;            // Offers made (a group: made on it).
  uint64_t help_sessions = 0;     // Sessions with a help_contact (a group:
                                  // whose first contact came on it).
  uint64_t hits = 0;              // Offered sessions whose first offer came
                                  // before their first help_contact.
  double precision = 0;           // hits / offered_sessions (0 if none).
  double recall = 0;              // hits / help_sessions (0 if none).
  double offer_rate = 0;          // offered_sessions / sessions.
  double median_lead_s = 0;       // Median first offer -> help_contact gap
                                  // over hits (0 if none).
};

struct GroupReplayCounts : ReplayCounts {
  std::string pattern;  // The page group ("(unlisted)" for the rest).
};

struct ReplayMetrics : ReplayCounts {
  // Offers made within a logged decline's cooldown (must be 0), and offers
  // made while the last logged `agents` count was 0 (must be 0).
  uint64_t offers_after_decline = 0;
  uint64_t offers_without_agents = 0;
  uint64_t events = 0;     // Log rows replayed.
  uint64_t decisions = 0;  // Decisions asked for (after events + rechecks).
  uint64_t rechecks = 0;   // Of those, at a recheck_at.
  // When first offers come: seconds since the session's first event, and
  // pages viewed before it (medians and 90th percentiles; 0 if no offers).
  double median_offer_after_start_s = 0;
  double p90_offer_after_start_s = 0;
  double median_offer_page_index = 0;
  double p90_offer_page_index = 0;
  std::vector<GroupReplayCounts> groups;  // Groups with any session, by
                                          // sessions, most first.

  // Returns the metrics as one JSON object (keys as the field names, with
  // "groups" a list of objects with "pattern" and the counts).
  std::string ToJson() const;
};

// Replays `events` (any order; sorted by time, stably) with `policy`.
// Fails on an event the engine rejects (naming its line), on state files
// that cannot be read or written, or when interrupted.
absl::StatusOr<ReplayMetrics> Replay(const Policy& policy,
                                     const std::vector<LogEvent>& events,
                                     const ReplayOptions& options = {});

// Returns one JSON Lines record (no line end) for a trace record: ts_ms,
// visitor, action, reason, probability, threshold, recheck_at_ms (or null),
// recheck, reasons.
std::string TraceToJson(const TraceRecord& record);

// The fixed-rule baseline most chat widgets offer: offer once per session
// after `seconds` on any page. Built from `base` (its gates and session
// settings are kept, its groups, rules and model replaced), so both are
// replayed by the same engine under the same gates.
absl::StatusOr<Policy> FixedDwellPolicy(const Policy& base, double seconds);

// Returns `policy` with its model's decision threshold set to `threshold`
// (in (0, 1)); the threshold at one free agent keeps its place between the
// threshold and 1.
absl::StatusOr<Policy> WithDecisionThreshold(const Policy& policy,
                                             double threshold);

// A policy tuned to an offer rate, and its replay.
struct Calibration {
  Policy policy;
  double setting = 0;     // The decision threshold, or the fixed dwell (s).
  ReplayMetrics metrics;  // The replay at that setting.
};

// Finds the decision threshold at which replaying `events` offers to
// `target_offer_rate` of sessions (as near as the log allows: bisection
// over the threshold's log-odds, at most 22 replays, stopping once within
// 0.0005 of the target).
absl::StatusOr<Calibration> CalibrateDecisionThreshold(
    const Policy& policy, const std::vector<LogEvent>& events,
    double target_offer_rate, const ReplayOptions& options = {});

// Finds the fixed-dwell baseline (FixedDwellPolicy of `base`) whose offer
// rate on `events` is nearest `target_offer_rate` (bisection over the
// seconds, between 1 s and 1 h, on a log scale; as above).
absl::StatusOr<Calibration> CalibrateFixedDwell(
    const Policy& base, const std::vector<LogEvent>& events,
    double target_offer_rate, const ReplayOptions& options = {});

}  // namespace beckon

#endif  // BECKON_REPLAY_H_
