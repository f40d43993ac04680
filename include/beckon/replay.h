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
// visitor's next event in the same session, or at its millisecond if that
// event is an offer_shown (dwell on a session's last event is unknown: the
// visitor is taken as gone after it). With production's decision log
// (ReplayOptions::production_decisions) it also decides at production's
// moments and compares (docs/replay.md section 9). Logged offer outcomes
// and `agents` counts are applied as the engine's host would apply them.
// docs/replay.md defines every metric.
//
// Thread safety: Replay may run concurrently on different inputs.
#ifndef BECKON_REPLAY_H_
#define BECKON_REPLAY_H_

#include <cstdint>
#include <functional>
#include <optional>
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

// One line of a decision log (Engine::Options::decision_log_path;
// docs/operations.md#the-decision-log), read back.
struct LoggedDecisionRecord {
  int64_t ts_ms = 0;
  uint64_t visitor_hash = 0;  // Engine::VisitorHash of the visitor's id.
  Action action = Action::kWait;
  Reason reason = Reason::kNoSession;
  double probability = 0;
  double threshold = 0;
  bool would_offer = false;
  double offer_probability = 0;  // Absent in older logs: 0.
  std::string group;
  std::string policy_name;
  std::string policy_version;
  uint64_t line = 0;  // 1-based line number in the file.
};

// Reads a decision log: one JSON object a line, as the engine writes them
// (ts_ms, visitor_hash, action and reason are required; the other fields
// of the engine's lines are read when present, unknown keys are skipped).
// A line that is not such an object, an unknown action or reason, a
// visitor_hash that is not 16 hex digits, and an empty line are
// InvalidArgument errors naming the file (`name` for ParseDecisionLog) and
// the line.
absl::StatusOr<std::vector<LoggedDecisionRecord>> ReadDecisionLog(
    const std::string& path);
absl::StatusOr<std::vector<LoggedDecisionRecord>> ParseDecisionLog(
    std::string_view text, std::string_view name = "decision log");

// How production's logged decisions compare with the replayed policy's
// (ReplayOptions::production_decisions; docs/replay.md "Against
// production's decisions").
struct DecisionAgreement {
  uint64_t production_decisions = 0;  // Lines of the decision log.
  // Production decisions whose visitor_hash names no visitor of the event
  // log (hashed with the replay engine's visitor key).
  uint64_t unknown_visitors = 0;
  // Production decisions paired with a replayed decision for the same
  // visitor at the same ts_ms (each pairs with at most one; all but those
  // before the visitor's first event, and repeats at one moment), and of
  // them those with the same action.
  uint64_t matched = 0;
  uint64_t same_action = 0;
  double agreement = 0;  // same_action / matched (0 if none matched).
  // At matched moments: offers by both, by production only, by the
  // replayed policy only.
  uint64_t offers_both = 0;
  uint64_t offers_production_only = 0;
  uint64_t offers_replay_only = 0;
  // Sessions offered (at any moment) by both, production only, replay
  // only.
  uint64_t offered_sessions_both = 0;
  uint64_t offered_sessions_production_only = 0;
  uint64_t offered_sessions_replay_only = 0;
  // Production's offers (of known visitors) and how the visitors answered
  // them in the event log: the visitor's next offer outcome in the session.
  uint64_t production_offers = 0;
  uint64_t production_offers_accepted = 0;
  uint64_t production_offers_declined = 0;
  uint64_t production_offers_ignored = 0;
  uint64_t production_offers_unanswered = 0;
};

// The measured lift (docs/uplift.md). A visitor's first eligible moment in
// the log is their first decision that got past the visitor gates and the
// score: an offer, or a suppress by a site gate (holdout, no_agents,
// rate_cap, offer_rate_cap). Holdout visitors are suppressed there (their
// `would_offer` decisions), the others offered unless a site-wide gate held
// the offer back: the two arms are the same kind of visitor at the same kind
// of moment, split only by the holdout's hash. Each arm's outcome is what
// the visitor did in the rest of that session (after the decision): a
// purchase, a help_contact, the order value. A visitor counts once, at
// their first eligible session, so an earlier offer's decline cannot keep
// only the offered arm's visitors out of later sessions.

// One outcome's difference of means between the arms.
struct LiftEstimate {
  double offered = 0;         // Mean over the offered arm.
  double holdout = 0;         // Mean over the holdout arm.
  double lift = 0;            // offered - holdout.
  double standard_error = 0;  // sqrt(var_o / n_o + var_h / n_h) (sample
                              // variances: Welch's).
  double ci_low = 0;          // lift -+ 1.96 standard errors: a 95%
  double ci_high = 0;         // interval (normal approximation).
  bool estimable = false;     // Both arms have at least two visitors
                              // (else no standard error or interval).
};

struct LiftCounts {
  uint64_t offered_arm = 0;          // Eligible visitors outside the holdout,
  uint64_t offered = 0;              // of them offered at that moment (the rest
                                     // were held back by a site-wide gate),
  uint64_t holdout_arm = 0;          // and eligible holdout visitors.
  LiftEstimate purchase_rate;        // Sessions with a purchase after it.
  LiftEstimate contact_rate;         // Sessions with a help_contact after.
  LiftEstimate revenue_per_session;  // Order value after it (0 if none).
};

// How well a score ranks visitors by what an offer changes: the Qini curve
// (docs/uplift.md). Visitors are ranked by the score at their scored
// moment, highest first; for the top k, Q(k) = purchases of offered-arm
// visitors - purchases of holdout visitors * (offered-arm / holdout
// visitors among them). `area` is the mean over k of (Q(k) - k/N Q(N)),
// divided by N: 0 for a ranking no better than chance, positive when the
// visitors an offer changes come first.
struct Qini {
  std::string ranked_by;  // "uplift", "uplift x value" or "probability".
  uint64_t visitors = 0;  // N.
  double area = 0;
  // The area's spread over 200 random rankings of the same visitors (a
  // fixed seed): `area` / `random_sd` says how clearly it beats chance.
  double random_sd = 0;
  // Q(k) / N at k = 0, N/20, 2N/20, ..., N (21 points), for plotting.
  std::vector<double> curve;
};

// One visitor of the lift at their scored moment, for
// ReplayOptions::lift_sample. The scored moment is the visitor's first
// decision with an offer probability above 0 (past the visitor gates, the
// dwell rule, and the threshold or, with exploration, its floor: so the
// eligible moment without exploration); for a policy with an uplift model,
// the first decision whose probability reached the threshold past the
// visitor gates (whatever the uplift), so that low-uplift visitors are
// ranked too.
struct LiftSample {
  std::string_view visitor;
  int64_t moment_ms = 0;
  int64_t session_start_ms = 0;  // The moment's session's first event.
  std::string_view group;  // The page group's pattern ("(unlisted)").
  bool holdout = false;    // In the policy's holdout group.
  // The decision went past the score at the moment (an offer, or a site
  // gate's suppress: for a holdout visitor their would-offer); false for
  // an exploration decision that did not explore.
  bool past_score = false;
  // Decision::offer_probability at the moment.
  double offer_probability = 0;
  // The expected uplift (a policy with an uplift model) or the
  // probability, at the moment.
  double score = 0;
  bool purchased = false;  // In the rest of the session.
  bool contacted = false;
  double revenue = 0;
  // The decision's features at the moment (kDecisionFeatureCount values,
  // in feature order; valid during the call).
  const double* features = nullptr;
};

struct GroupLift : LiftCounts {
  std::string pattern;  // The page group of the eligible moment.
};

struct ReplayLift : LiftCounts {
  // The moments include production's (ReplayOptions::production_decisions).
  // Without them the estimate leans: a holdout visitor's would-offer while
  // they read their last page leaves no row in the event log (the replay
  // never decides after a session's last event), while an offer there
  // does (its offer_shown), so the arms differ in who they hold.
  bool from_decision_log = false;
  std::vector<GroupLift> groups;
  Qini qini;  // Over the visitors with a scored moment (LiftSample).  // Groups
              // with an eligible visitor, by eligible visitors, most first.
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
  // If set, production's logged decisions (ReadDecisionLog) to compare the
  // replayed decisions with (ReplayMetrics::production). The replay then
  // also decides at each moment production decided between the visitor's
  // events (as production's host asked then; counted as rechecks), so each
  // production decision meets one of the replayed policy's. The replay hashes
  // the event log's visitor ids with `engine`'s visitor key, which must be
  // the production engine's: a decision log none of whose visitors is
  // found is a FailedPrecondition error saying so.
  const std::vector<LoggedDecisionRecord>* production_decisions = nullptr;
  // With a policy that keeps a holdout: called once per visitor with a
  // scored moment, after the replay (in visitor order of first event).
  std::function<void(const LiftSample&)> lift_sample;
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
  // With ReplayOptions::production_decisions.
  std::optional<DecisionAgreement> production;
  // When the policy keeps a holdout (gates.holdout_fraction > 0).
  std::optional<ReplayLift> lift;

  // Returns the metrics as one JSON object (keys as the field names, with
  // "groups" a list of objects with "pattern" and the counts, "production"
  // an object with DecisionAgreement's fields when set, and "lift" an
  // object with LiftCounts' fields (each estimate an object of its fields)
  // and its "groups" when set).
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
