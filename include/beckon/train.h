// The trainer: learn a policy from a shop's own event log.
//
//   absl::StatusOr<std::vector<beckon::LogEvent>> log =
//       beckon::ReadEventLog("days1-6.csv");
//   beckon::TrainOptions options;          // documented defaults
//   options.target_offer_rate = 0.05;      // offer to 5% of sessions
//   absl::StatusOr<beckon::TrainResult> r = beckon::Train(*log, options);
//   r->policy.ToFile("shop.policy");
//
// With `help_contact` events as the label, the trainer learns, in order
// (docs/trainer.md explains each step):
//  1. page groups: the base policy's groups, plus the automatic templates
//     ("/p/*") with enough views;
//  2. per group, the help rate (smoothed toward the site's rate) and the
//     dwell threshold (a quantile of dwell before a help contact, or the
//     separation rule; groups with too little data fall back to their
//     role's, then the site's value); by default several timing rules are
//     tried, with and without early offers, each through steps 4 and 5,
//     and the one with the most validation hits is kept;
//  3. path rules: short runs of groups or roles after which help contacts
//     are far more likely than on average, with their support;
//  4. the model: L2-regularized logistic regression over the engine's own
//     features, computed by the engine at the decision points it would see;
//  5. the decision threshold, calibrated on the validation part (the
//     latest `validation_fraction` of the time span, never a random split)
//     to a target offer rate or to the agents' capacity, by counting offers
//     at its decision points (collected once) and replaying at the
//     threshold found; the validation metrics are stored in the policy's
//     provenance.
//
// What the trainer learns from (TrainOptions::labels, docs/trainer.md
// "Labels"):
//  - "help_contact" (default): the help contacts of the log; the model's
//    probability means "this visitor will ask for help later in the
//    session", learned at the engine's decision points (above).
//  - "offer_outcomes": the offers a widget (or beckon itself) already made
//    and how visitors answered them: an `offer_accepted` is a positive, an
//    `offer_declined` or `offer_ignored` a negative. The decision points
//    are the moments offers were shown (the `offer_shown` rows, with the
//    features as the engine saw them just before the row), so the model's
//    probability means "an offer made now would be accepted". Help rates
//    become each group's share of offers accepted there (smoothed toward the
//    site's share), dwell thresholds come from the dwell before accepted
//    offers (never below the median dwell of visitors who accepted none),
//    path rules from runs followed by an accepted offer; the decision
//    threshold is calibrated to the target offer rate as before. Needs
//    offer_shown rows and at least `min_offer_outcomes` answered offers in
//    the training part.
//  - "both": a help contact or an accepted offer is a positive; decision
//    points are the engine's (labelled "a positive follows in the
//    session") and the offer_shown moments (labelled by their outcome).
// The label source is recorded in the policy's provenance (options
// "labels"; validation "offer_outcomes", "accepted_offers").
// Training is deterministic: the same log and options give the same bytes.
//
// Thread safety: Train may run concurrently on different inputs.
#ifndef BECKON_TRAIN_H_
#define BECKON_TRAIN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "beckon/replay.h"

namespace beckon {

struct TrainOptions {
  // Where URL rules, gates and session settings come from, and the groups
  // every learned policy keeps. Default: Policy::Default().
  Policy base = Policy::Default();
  // The latest share of the log's time span held out for validation and
  // threshold calibration, in [0.05, 0.5]. Default: 0.2.
  double validation_fraction = 0.2;
  // If > 0 (at most 365), the validation part is instead the sessions that
  // start in the last validation_days x 24 h of the log (up to its last
  // visitor event): whole days, so that every hour of a shop's daily cycle
  // (the hours its agents work, its evening peak) is held out as often as
  // the others, and the decision threshold is calibrated on a whole day's
  // mix. Default: 0 (validation_fraction decides).
  uint64_t validation_days = 0;

  // Groups. An automatic template becomes a group with at least this many
  // page views. Default: 50.
  uint64_t min_group_views = 50;
  // At most this many groups (base groups first, then templates by views).
  // Default: 200.
  int max_groups = 200;
  // Split base groups by the data: "yes": a sub-template of a
  // base group's pages (its automatic template, "/checkout/payment" under
  // "/checkout/*") with at least min_group_views views, as has the rest of
  // the group, becomes a group of its own (with a GLOB URL rule ahead of the
  // base's rules) when its help rate, its dwell before a help contact or its
  // dwell without one differs from the rest's by a ratio of at least 1.5
  // and beyond noise: |z| >= min_split_z (a two-proportion z test, a
  // Mann-Whitney test). Each split is reported (group_changes). "no"
  // (default): the base's groups stay as they are (docs/trainer.md says
  // why it is not yet the default). "auto": trains both ways and keeps the
  // policy with more validation hits (without splits on a tie), which
  // costs a second training. Default min_split_z: 4.
  std::string split_groups = "no";
  double min_split_z = 4;
  // "yes": automatic templates (groups for pages no base rule names) with
  // fewer than min_dwell_contacts help contacts from their pages are
  // merged, two or more of one role, into one group per role named
  // "merged:ROLE", with a GLOB URL rule per template; each merge is
  // reported (group_changes, kind "merged"). "no" (default): thin groups
  // stay and take their role's dwell threshold ("pooled").
  std::string merge_groups = "no";
  // Help rates are smoothed toward the site's rate as if each group had
  // this many more views at that rate. Default: 50.
  double help_rate_prior_views = 50;

  // Dwell thresholds (the waiting time per page group). "auto" (default):
  // chosen by what they achieve: each timing rule of the list below is
  // fitted on the training part (thresholds, then the model) and
  // calibrated on the validation part to the target offer rate, and the
  // one with the most hits there (offers made before the visitor asked)
  // is kept; every rule's validation figures go into the result
  // (timing_candidates) and the policy's provenance. The rules: the 0.3,
  // 0.45, 0.6 and 0.75 quantiles of dwell before a help contact, never
  // below the median dwell of visitors who never asked; the 0.3 and 0.6
  // quantiles without that floor; and the separation rule. "quantile":
  // only the `dwell_quantile` rule (with the floor). "separation": only
  // the dwell that best separates the two (the largest difference of their
  // survival curves). Default quantile: 0.6.
  std::string dwell_rule = "auto";
  double dwell_quantile = 0.6;
  // May the model offer before a group's dwell threshold when its evidence
  // is strong (model.allow_before_dwell_threshold)? "auto" (default): each
  // timing rule is tried both ways and validation chooses; "no": never
  // before the threshold; "yes": always allowed. With early offers the
  // model is also trained on decision points before the threshold (at
  // 0.25, 0.5 and 0.75 of it).
  std::string early_offers = "auto";
  // A group needs this many help contacts made from its pages to get its
  // own threshold; else its role's, else the site's. Default: 20.
  uint64_t min_dwell_contacts = 20;
  // Thresholds are kept within [min, max] seconds. Defaults: 5, 1800.
  double min_dwell_threshold_s = 5;
  double max_dwell_threshold_s = 1800;

  // Path rules: runs of 2..max_path_length steps (groups, or roles) seen
  // in at least `min_path_support` sessions whose help-contact rate after
  // the run is at least `min_path_lift` times the site's; the best
  // `max_path_rules` are kept. Defaults: 3, 30, 2.0, 32.
  int max_path_length = 3;
  uint64_t min_path_support = 30;
  double min_path_lift = 2.0;
  int max_path_rules = 32;

  // The model: L2 penalty (on the weights, not the bias). Default: 1.0.
  double l2 = 1.0;

  // The decision threshold is calibrated so that this share of validation
  // sessions is offered. Default: 0.05.
  double target_offer_rate = 0.05;
  // If > 0, calibrate to the agents' capacity instead: this many offers a
  // day (turned into an offer rate by the validation sessions per day).
  double offers_per_day = 0;
  // The offer-rate cap (gates.max_offer_share, reason offer_rate_cap), so
  // that the policy cannot offer far beyond its target on a site it was not
  // trained on: set to min(1, target x headroom), the target being the one
  // calibrated to (target_offer_rate, or the offers_per_day one). The cap
  // holds in every rate window, so on a site with few sessions per window
  // it also cuts offers bunched in a window of the site it was trained on:
  // the headroom is the smallest of offer_cap_headroom x {1, 1.5, 2, 3, 5,
  // 8, 13, 20} whose replay of the validation part keeps at least
  // (1 - max_offer_cap_cost) of the uncapped policy's offer rate there.
  // offer_cap_headroom 0: keep the base policy's max_offer_share. In {0} or
  // [1, 100]; max_offer_cap_cost in [0, 0.5]. Defaults: 1.5, 0.02.
  double offer_cap_headroom = 1.5;
  double max_offer_cap_cost = 0.02;
  // The bar when free agents are scarce (gates.plenty_agents,
  // gates.threshold_at_one_agent). "raise": the base policy's raise is
  // kept in proportion as the threshold is calibrated. "flat": none
  // (plenty_agents 1): the calibrated threshold holds whenever an agent
  // is free. "auto" (default): each timing rule is calibrated both ways on
  // the validation part and the one with more hits there is kept (the
  // raise on a tie, or when the base has none); the rate cap
  // (expected_accept_rate) holds offers to what the free agents can take
  // either way. At a matched offer rate a raised bar moves offers from
  // the hours with few agents to weaker candidates in the hours with
  // many, so it costs precision (docs/trainer.md).
  std::string scarce_agents = "flat";

  // What a positive outcome is: "help_contact", "offer_outcomes" or
  // "both" (see the top of this file). Default: "help_contact".
  std::string labels = "help_contact";
  // With labels "offer_outcomes": the training part of the log needs at
  // least this many answered offers (an offer_shown row followed, in its
  // session, by offer_accepted, offer_declined or offer_ignored).
  // Default: 100.
  uint64_t min_offer_outcomes = 100;

  std::string name = "beckon-trained";

  // Floors below which a trained model is not to be trusted: training still
  // returns it, with a warning (TrainResult::warnings, the policy's
  // provenance.warnings; the CLI prints them on stderr, Python raises
  // beckon.TrainingWarning). A validation AUC below `min_validation_auc`
  // ranks help-seekers little better than chance; fewer than
  // `min_help_sessions` help sessions in the training part, or fewer than
  // `min_validation_help_sessions` in the validation part, are too few to
  // estimate from or to judge by. Defaults: 0.6, 100, 30.
  double min_validation_auc = 0.6;
  uint64_t min_help_sessions = 100;
  uint64_t min_validation_help_sessions = 30;

  // Threads for the feature pass (split by visitor; the result is the same
  // for any count). 0: one per core, at most 8. Default: 0.
  int threads = 0;

  // Progress messages ("features: 120000 samples"), and a poll that stops
  // training with a Cancelled error when it returns true. Optional.
  std::function<void(const std::string&)> progress;
  std::function<bool()> interrupted;
};

// A change the trainer made to the base policy's page groups
// (docs/trainer.md "Page groups from the data"): a sub-template split out of
// a base group because its help rate or dwell differs beyond noise, or a
// group too thin to estimate alone whose dwell threshold comes from its role
// or the whole site.
struct GroupChange {
  std::string kind;     // "split", "merged" or "pooled".
  std::string pattern;  // The new group, the template merged, or the thin
                        // group.
  // The base group split, the merged group ("merged:<role>"), or the pool
  // ("role <name>" / "site"). For "merged", from_views is the merged
  // group's views.
  std::string from;
  uint64_t views = 0, from_views = 0;
  double help_rate = 0, from_help_rate = 0;
  double contact_dwell_s = 0, from_contact_dwell_s = 0;
  double normal_dwell_s = 0, from_normal_dwell_s = 0;
  std::string reason;
};

// A timing rule the trainer tried (TrainOptions::dwell_rule "auto"), with
// its validation replay at the target offer rate.
struct TimingCandidate {
  // "quantile 0.45", "quantile 0.30 unfloored", "separation"; with
  // " + early" when the model could offer before the threshold.
  std::string name;
  bool allow_before_dwell_threshold = false;
  bool chosen = false;  // The one kept (the most validation hits).
  ReplayMetrics validation;
  double validation_auc = 0;
  std::string error;  // Why it could not be fitted; empty if it was.
  // scarce_agents: the bar kept when free agents are scarce is flat (no
  // raise), and the validation hits with the other bar (-1 if only one
  // was tried: scarce_agents "raise" or "flat", or a base without a raise).
  bool flat_bar = false;
  int64_t other_bar_hits = -1;
};

struct TrainResult {
  Policy policy;
  // The validation replay at the calibrated threshold.
  ReplayMetrics validation;
  // ROC AUC of the model on its training samples and on validation's.
  double train_auc = 0;
  double validation_auc = 0;
  uint64_t train_samples = 0;
  uint64_t train_sessions = 0;
  uint64_t validation_sessions = 0;
  // Help sessions (sessions with a help contact) in each part.
  uint64_t train_help_sessions = 0;
  uint64_t validation_help_sessions = 0;
  // The floors of TrainOptions the model fell below, one sentence each
  // (also in the policy's provenance.warnings). Empty: none.
  std::vector<std::string> warnings;
  // Answered offers (offer outcomes) in the training and validation parts,
  // and of them the accepted ones; counted with every `labels`.
  uint64_t train_offer_outcomes = 0;
  uint64_t train_accepted_offers = 0;
  uint64_t validation_offer_outcomes = 0;
  uint64_t validation_accepted_offers = 0;
  // Every timing rule tried, in the order tried (one if dwell_rule and
  // early_offers name a single rule).
  std::vector<TimingCandidate> timing_candidates;
  // The page groups split out of base groups, and those pooled.
  std::vector<GroupChange> group_changes;
  // With split_groups "auto": the validation hits trained without splits
  // and with them (the policy is the one with more; without, on a tie).
  // Both 0 otherwise.
  uint64_t hits_without_splits = 0;
  uint64_t hits_with_splits = 0;
};

// Learns a policy from `events` (any order). Fails with a clear error when
// the log has no help contacts (labels "help_contact"), no offer_shown rows
// or too few offer outcomes (labels "offer_outcomes"), too few sessions to
// split, or bad options.
absl::StatusOr<TrainResult> Train(const std::vector<LogEvent>& events,
                                  const TrainOptions& options = {});

// A log divided in time, as the trainer divides it into its training and
// validation parts: whole sessions go to one side or the other.
struct TimeSplit {
  std::vector<size_t> earlier;  // Indices into the events, in time order.
  std::vector<size_t> later;
};

// Divides `events` (any order) at `split_ms`: a visitor's row goes to the
// later part when its session (cut after `session_timeout_ms` without an
// event, as the engine cuts them) starts at or after `split_ms`, so no
// session is cut in two; an agents row goes by its own time, and the later
// part also begins with the agents row last before `split_ms` (the count
// that held at the split), which is then in both parts. Rows of equal time
// keep their input order. REQUIRES: session_timeout_ms > 0.
TimeSplit SplitBySessionStart(const std::vector<LogEvent>& events,
                              int64_t split_ms, int64_t session_timeout_ms);

// The latest time a visitor session starts in `events` (sessions cut as
// SplitBySessionStart cuts them), or -1 if the log has no visitor rows: a
// split by whole days goes by the day of this, not of the last row, which
// may belong to a session running past midnight.
int64_t LatestSessionStart(const std::vector<LogEvent>& events,
                           int64_t session_timeout_ms);

// L2-regularized logistic regression, fitted by Newton's method: the
// trainer's model fitting, for any numeric features.
struct LogisticOptions {
  double l2 = 1.0;          // Penalty 0.5 * l2 * |w|^2 (the bias is free).
  int max_iterations = 100;
  double tolerance = 1e-10; // Stop when the step's largest change is below.
  // Polled between iterations; true stops with a Cancelled error.
  std::function<bool()> interrupted;
};

struct LogisticModel {
  double bias = 0;
  std::vector<double> weights;
  int iterations = 0;
  // Returns the probability for one row of features.
  double Predict(const double* row) const;
};

// Fits `y` (0 or 1, one per row) on `x` (rows of `dims` values, row-major),
// with optional per-row `sample_weight` (empty: all 1). Rejects NaN or
// infinite values, labels other than 0 and 1, and mismatched sizes.
absl::StatusOr<LogisticModel> FitLogistic(
    const std::vector<double>& x, size_t dims, const std::vector<double>& y,
    const std::vector<double>& sample_weight = {},
    const LogisticOptions& options = {});

// Returns the area under the ROC curve of `scores` for `labels` (0/1),
// ties counted half; 0.5 if either class is empty.
double RocAuc(const std::vector<double>& scores,
              const std::vector<double>& labels);

}  // namespace beckon

#endif  // BECKON_TRAIN_H_
