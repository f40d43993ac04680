// beckon: the command-line tool.
//
//   beckon simulate --days 7 --out sim.csv
//   beckon train    --events sim.csv --days 1-6 --out shop.policy
//   beckon replay   --policy shop.policy --events sim.csv --days 7 --json
//   beckon compare  --policy shop.policy --events sim.csv --days 7
//   beckon inspect  shop.policy [--json]
//   beckon convert  nasa|eshop --in FILE --out FILE
//   beckon label    --events FILE --contacts FILE --out FILE
//
// Every command has --help. Errors go to stderr with a non-zero exit;
// progress on long runs goes to stderr too (--quiet silences it).
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "beckon/beckon.hpp"
#include "beckon/convert.h"
#include "beckon/curve.h"
#include "beckon/event_log.h"
#include "beckon/label.h"
#include "beckon/policy.pb.h"
#include "beckon/replay.h"
#include "beckon/simulate.h"
#include "beckon/train.h"
#include "beckon/uplift.h"
#include "lib/json.h"
#include "lib/offline/train_spec.h"
#include "lib/string_views.h"

namespace beckon::cli {
namespace {

using internal::AbslView;

// --- Arguments ------------------------------------------------------------

struct Flag {
  std::string name;   // Without "--".
  std::string value_name;  // Empty: a switch.
  std::string help;
  std::string fallback;    // Shown as the default; "" for none.
};

struct Command {
  std::string name;
  std::string usage;
  std::string summary;
  std::vector<Flag> flags;
};

class Args {
 public:
  absl::Status Parse(const Command& cmd, int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        help_ = true;
        continue;
      }
      if (a.rfind("--", 0) != 0 || a.size() == 2) {
        positional_.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      const Flag* flag = nullptr;
      for (const Flag& f : cmd.flags) {
        if (f.name == name) flag = &f;
      }
      if (flag == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown option --", name, " (see beckon ", cmd.name, " --help)"));
      }
      if (flag->value_name.empty()) {
        if (has_value) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " takes no value"));
        }
        values_[name] = "1";
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argc) {
          return absl::InvalidArgumentError(absl::StrCat(
              "--", name, " needs a value (", flag->value_name, ")"));
        }
        value = argv[++i];
      }
      values_[name] = value;
    }
    return absl::OkStatus();
  }

  bool help() const { return help_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, std::string fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  absl::StatusOr<std::string> Required(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name,
                                                     " is required"));
    }
    return it->second;
  }
  absl::StatusOr<double> Number(const std::string& name, double fallback,
                                double lo, double hi) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    double v;
    if (!absl::SimpleAtod(it->second, &v) || !std::isfinite(v) || v < lo ||
        v > hi) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, " must be a number in [", lo, ", ", hi, "], got \"",
          it->second, "\""));
    }
    return v;
  }
  absl::StatusOr<int64_t> Integer(const std::string& name, int64_t fallback,
                                  int64_t lo, int64_t hi) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    int64_t v;
    if (!absl::SimpleAtoi(it->second, &v) || v < lo || v > hi) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, " must be an integer in [", lo, ", ", hi, "], got \"",
          it->second, "\""));
    }
    return v;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

void PrintHelp(const Command& c) {
  std::cout << "usage: beckon " << c.name << " " << c.usage << "\n\n"
            << c.summary << "\n";
  if (c.flags.empty()) return;
  std::cout << "\noptions:\n";
  for (const Flag& f : c.flags) {
    std::string left = "  --" + f.name;
    if (!f.value_name.empty()) left += " " + f.value_name;
    std::cout << absl::StrFormat("%-28s ", left) << f.help;
    if (!f.fallback.empty()) std::cout << " (default: " << f.fallback << ")";
    std::cout << "\n";
  }
  std::cout << absl::StrFormat("%-28s ", "  --help") << "show this help\n";
}

// --- Progress on stderr -----------------------------------------------------

class Progress {
 public:
  Progress(std::string what, bool quiet) : what_(std::move(what)),
                                           quiet_(quiet) {}
  // Reports `done` of `total` units (events), at most every 2 s.
  void Update(uint64_t done, uint64_t total) {
    if (quiet_) return;
    const auto now = Clock::now();
    const double elapsed = Seconds(now - start_);
    if (done < total && Seconds(now - last_) < 2.0) return;
    if (done < total && elapsed < 2.0) return;
    last_ = now;
    const double rate = elapsed > 0 ? done / elapsed : 0;
    std::string eta;
    if (total > done && rate > 0) {
      eta = absl::StrFormat(", ETA %.0f s", (total - done) / rate);
    }
    std::cerr << absl::StrFormat("%s: %d/%d events, %.0f events/s%s\n", what_,
                                 done, total, rate, eta);
  }
  void Note(const std::string& line) {
    if (!quiet_) std::cerr << what_ << ": " << line << "\n";
  }
  double Elapsed() const { return Seconds(Clock::now() - start_); }

 private:
  using Clock = std::chrono::steady_clock;
  static double Seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
  }
  std::string what_;
  bool quiet_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = Clock::now();
};

// --- Shared pieces ------------------------------------------------------------

const Flag kQuiet{"quiet", "", "no progress messages on stderr", ""};
const Flag kLenient{"lenient", "",
                    "skip bad log rows (counted on stderr) instead of failing",
                    ""};
const Flag kAllowSmallEpoch{
    "allow-small-epoch", "",
    "accept log times below 10^11 ms (they look like epoch seconds)", ""};
// The visitor key of the engine whose decision log --decisions names
// (train-uplift, evaluate).
const Flag kLoggedVisitorKey{"visitor-key-file", "FILE",
                             "its engine's visitor key file", ""};
const Flag kDays{"days", "A[-B]",
                 "only days A..B of the log (1 = the UTC day of its first "
                 "event)",
                 "all"};

absl::StatusOr<Policy> LoadPolicy(const std::string& path) {
  if (path == "default") return Policy::Default();
  return Policy::FromFile(path);
}

// Reads a log, reporting progress by bytes; keeps only the --days range.
absl::StatusOr<std::vector<LogEvent>> LoadEvents(const Args& args,
                                                 Progress& progress) {
  absl::StatusOr<std::string> path = args.Required("events");
  if (!path.ok()) return path.status();
  EventLogReader::Options ro;
  ro.lenient = args.Has("lenient");
  ro.allow_small_epoch = args.Has("allow-small-epoch");
  EventLogReport report;
  absl::StatusOr<std::vector<LogEvent>> read =
      ReadEventLog(*path, ro, report, [&progress](uint64_t rows) {
        progress.Note(absl::StrCat("read ", rows, " rows"));
      });
  if (!read.ok()) return read.status();
  std::vector<LogEvent> events = *std::move(read);
  if (report.skipped > 0) {
    std::cerr << "beckon: skipped " << report.skipped
              << " bad rows; the first:\n";
    for (const std::string& err : report.errors) {
      std::cerr << "  " << err << "\n";
    }
  }
  if (!args.Has("days")) return events;
  // Days counted from the UTC day of the first event.
  const std::string spec = args.Get("days");
  std::vector<std::string> parts = absl::StrSplit(spec, '-');
  int64_t first = 0, last = 0;
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &first) ||
      !absl::SimpleAtoi(parts.back(), &last) || first < 1 || last < first) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--days must be A or A-B with 1 <= A <= B, got \"", spec, "\""));
  }
  if (events.empty()) return events;
  int64_t t0 = events.front().ts_ms;
  for (const LogEvent& x : events) t0 = std::min(t0, x.ts_ms);
  constexpr int64_t kDay = 86'400'000;
  const int64_t day0 = t0 - t0 % kDay;
  const int64_t lo = day0 + (first - 1) * kDay, hi = day0 + last * kDay;
  std::vector<LogEvent> kept;
  for (LogEvent& x : events) {
    if (x.ts_ms >= lo && x.ts_ms < hi) kept.push_back(std::move(x));
  }
  if (kept.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--days ", spec, " selects no events"));
  }
  return kept;
}

// --- simulate ---------------------------------------------------------------

const Command kSimulate{
    "simulate",
    "[--shop default|varied] [--days N] [--visitors-per-day N] [--seed N] "
    "--out FILE",
    "Writes a synthetic event log with known ground truth "
    "(docs/simulator.md):\n"
    "page groups with their own dwell, visitors who get stuck and ask for\n"
    "help, visitors who decline offers, free agents over the day.",
    {{"out", "FILE", "where to write the log (\"-\": stdout)", ""},
     {"shop", "NAME",
      "default (the groups of the built-in policy) or varied (a shop whose "
      "groups the default URL rules do not match)",
      "default"},
     {"days", "N", "days of traffic", "7"},
     {"visitors-per-day", "N", "sessions a day, on average", "4000"},
     {"seed", "N", "random seed (the same seed, the same log)", "1"},
     {"start-ms", "MS", "midnight UTC of the first day", "1700006400000"},
     {"widget-policy", "POLICY",
      "the widget is this beckon policy (its holdout kept; no agents rows; "
      "docs/uplift.md) instead of the legacy rule",
      ""},
     {"treatment-effects", "",
      "with --widget-policy: offers change purchases (persuadables, sure "
      "things, lost causes, sleeping dogs; docs/uplift.md)",
      ""},
     {"truth", "FILE",
      "with --treatment-effects: write each eligible session's truth (CSV)",
      ""},
     {"decision-log", "FILE",
      "with --widget-policy: write the widget's decision log (JSON Lines; "
      "its visitor key in FILE.key), for beckon replay --decisions",
      ""},
     kQuiet}};

absl::Status Simulate(const Args& args) {
  absl::StatusOr<std::string> out = args.Required("out");
  if (!out.ok()) return out.status();
  absl::StatusOr<SimulatorOptions> shop =
      SimulatorOptions::ForShop(args.Get("shop", "default"));
  if (!shop.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", shop.status().message()));
  }
  SimulatorOptions o = *std::move(shop);
  absl::StatusOr<int64_t> days = args.Integer("days", o.days, 1, 3650);
  absl::StatusOr<int64_t> vpd =
      args.Integer("visitors-per-day", o.visitors_per_day, 1, 200'000);
  absl::StatusOr<int64_t> seed =
      args.Integer("seed", static_cast<int64_t>(o.seed), 0, INT64_MAX);
  absl::StatusOr<int64_t> start =
      args.Integer("start-ms", o.start_ms, 0, 253'000'000'000'000);
  for (const absl::Status& s :
       {days.status(), vpd.status(), seed.status(), start.status()}) {
    if (!s.ok()) return s;
  }
  o.days = static_cast<int>(*days);
  o.visitors_per_day = static_cast<int>(*vpd);
  o.seed = static_cast<uint64_t>(*seed);
  o.start_ms = *start;
  if (args.Has("widget-policy")) {
    absl::StatusOr<Policy> widget = LoadPolicy(args.Get("widget-policy"));
    if (!widget.ok()) return widget.status();
    o.widget_policy = std::make_shared<const Policy>(*std::move(widget));
  }
  o.treatment_effects = args.Has("treatment-effects");
  if (o.treatment_effects && o.widget_policy == nullptr) {
    return absl::InvalidArgumentError(
        "--treatment-effects needs --widget-policy (the policy whose offers "
        "have the effects)");
  }
  if (args.Has("truth") && !o.treatment_effects) {
    return absl::InvalidArgumentError(
        "--truth needs --treatment-effects (there is no truth to write "
        "otherwise)");
  }
  if (args.Has("decision-log")) {
    if (o.widget_policy == nullptr) {
      return absl::InvalidArgumentError(
          "--decision-log needs --widget-policy (the legacy rule makes no "
          "decisions to log)");
    }
    // A new log: the old one's lines would name another simulation.
    const std::string path = args.Get("decision-log");
    if (std::FILE* f = std::fopen(path.c_str(), "w"); f != nullptr) {
      std::fclose(f);
    }
    o.widget_engine.decision_log_path = path;
    o.widget_engine.visitor_key_file = path + ".key";
  }
  if (absl::Status v = o.Validate(); !v.ok()) return v;
  absl::StatusOr<std::unique_ptr<EventLogWriter>> w = EventLogWriter::Open(*out);
  if (!w.ok()) return w.status();
  std::FILE* truth_file = nullptr;
  if (args.Has("truth")) {
    truth_file = std::fopen(args.Get("truth").c_str(), "w");
    if (truth_file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--truth: cannot write ",
                                                     args.Get("truth"), ": ",
                                                     std::strerror(errno)));
    }
    std::fprintf(truth_file, "%s\n", std::string(TruthCsvHeader()).c_str());
  }
  Progress progress("simulate", args.Has("quiet"));
  uint64_t rows = 0;
  TruthSink truth;
  if (truth_file != nullptr) {
    truth = [&](const SessionTruth& t) {
      const std::string row = TruthCsvRow(t) + "\n";
      if (std::fwrite(row.data(), 1, row.size(), truth_file) != row.size()) {
        return absl::DataLossError(absl::StrCat("--truth: cannot write ",
                                                args.Get("truth"), ": ",
                                                std::strerror(errno)));
      }
      return absl::OkStatus();
    };
  }
  SimulationStats stats;
  absl::Status s = beckon::Simulate(
      o,
      [&](const LogEvent& e) {
        ++rows;
        if ((rows & 0xFFFFF) == 0) progress.Note(absl::StrCat(rows, " rows"));
        return (*w)->Write(e);
      },
      &stats, truth);
  if (truth_file != nullptr && std::fclose(truth_file) != 0 && s.ok()) {
    s = absl::DataLossError(absl::StrCat("--truth: cannot write ",
                                         args.Get("truth"), ": ",
                                         std::strerror(errno)));
  }
  if (!s.ok()) return s;
  if (absl::Status c = (*w)->Close(); !c.ok()) return c;
  if (o.widget_policy != nullptr) {
    progress.Note(absl::StrFormat(
        "widget policy: %d sessions with an eligible moment (%d holdout), "
        "%d offers shown",
        stats.eligible_sessions, stats.holdout_sessions, stats.offers_shown));
  }
  if (o.treatment_effects) {
    progress.Note(absl::StrFormat(
        "visitor types at the moment: %d lost causes, %d sure things, %d "
        "persuadables, %d sleeping dogs",
        stats.types[0], stats.types[1], stats.types[2], stats.types[3]));
  }
  progress.Note(absl::StrFormat("wrote %d rows in %.1f s", rows,
                                progress.Elapsed()));
  return absl::OkStatus();
}

// --- train --------------------------------------------------------------------

// The flag of a trainer option: its name with dashes (target_offer_rate:
// --target-offer-rate).
std::string TrainFlag(const internal::TrainOptionInfo& info) {
  return absl::StrReplaceAll(info.name, {{"_", "-"}});
}

// The trainer's own flags, then one per trainer option of TrainSpec
// (lib/beckon/train_spec.proto: --target-offer-rate for target_offer_rate),
// with its help, range and default from there.
Command MakeTrainCommand() {
  Command c{
      "train",
      "--events FILE --out POLICY [options]",
      "Learns a policy from an event log with help_contact labels (or the\n"
      "outcomes of offers already made: --labels offer_outcomes)\n"
      "(docs/trainer.md): page groups, dwell thresholds, help rates, path\n"
      "rules, model weights, and a decision threshold calibrated on the\n"
      "latest part of the log. The trainer's options follow --base; each is\n"
      "an option of the trainer (docs/trainer.md \"Options\").",
      {{"events", "FILE", "the event log", ""},
       {"out", "POLICY", "where to write the policy (binary protobuf)", ""},
       kDays,
       {"text-out", "FILE", "also write the policy as protobuf text", ""},
       kLenient,
       kAllowSmallEpoch,
       kQuiet,
       {"base", "POLICY",
        "policy whose URL rules, groups and gates to start from", "default"}}};
  for (const internal::TrainOptionInfo& info : internal::TrainOptionInfos()) {
    c.flags.push_back(
        {absl::StrReplaceAll(info.name, {{"_", "-"}}), info.metavar,
         absl::StrCat(info.help, " (", info.range, ")"), info.default_text});
  }
  return c;
}

const Command kTrain = MakeTrainCommand();

absl::Status Train(const Args& args) {
  absl::StatusOr<std::string> out = args.Required("out");
  if (!out.ok()) return out.status();
  Progress progress("train", args.Has("quiet"));
  TrainOptions o;
  if (args.Has("base")) {
    absl::StatusOr<Policy> base = LoadPolicy(args.Get("base"));
    if (!base.ok()) return base.status();
    o.base = *base;
  }
  // Every trainer option given, by TrainSpec's rules; the first bad one is
  // named as its flag.
  proto::TrainSpec spec = internal::SpecOf(o);
  for (const internal::TrainOptionInfo& info : internal::TrainOptionInfos()) {
    const std::string flag = TrainFlag(info);
    if (!args.Has(flag)) continue;
    if (absl::Status s =
            internal::SetSpecField(spec, info.name, args.Get(flag));
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": ", s.message()));
    }
  }
  if (absl::Status s = internal::ApplySpec(spec, o); !s.ok()) return s;
  o.progress = [&](const std::string& line) { progress.Note(line); };
  absl::StatusOr<std::vector<LogEvent>> events = LoadEvents(args, progress);
  if (!events.ok()) return events.status();
  absl::StatusOr<TrainResult> r = beckon::Train(*events, o);
  if (!r.ok()) return r.status();
  // Printed even with --quiet: the policy is written, but not to be trusted.
  for (const std::string& w : r->warnings) {
    std::cerr << "beckon train: warning: " << w << "\n";
  }
  if (absl::Status s = r->policy.ToFile(*out); !s.ok()) return s;
  if (args.Has("text-out")) {
    std::FILE* f = std::fopen(args.Get("text-out").c_str(), "wb");
    if (f == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", args.Get("text-out")));
    }
    const std::string text = r->policy.ToText();
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) ==
                    text.size();
    if (std::fclose(f) != 0 || !ok) {
      return absl::DataLossError(
          absl::StrCat("cannot write ", args.Get("text-out")));
    }
  }
  const double secs = progress.Elapsed();
  progress.Note(absl::StrFormat(
      "%d events in %.1f s (%.0f events/s); wrote %s", events->size(), secs,
      secs > 0 ? events->size() / secs : 0.0, *out));
  const ReplayMetrics& v = r->validation;
  std::cout << absl::StrFormat(
      "validation (%d sessions): offer rate %.4f, precision %.3f, recall "
      "%.3f, median lead %.0f s; model AUC %.3f\n",
      v.sessions, v.offer_rate, v.precision, v.recall, v.median_lead_s,
      r->validation_auc);
  if (r->timing_candidates.size() > 1) {
    std::cout << "timing rules on validation (hits at the target offer "
                 "rate; * kept):\n";
    for (const TimingCandidate& c : r->timing_candidates) {
      if (!c.error.empty()) {
        std::cout << absl::StrFormat("    %-32s %s\n", c.name, c.error);
        continue;
      }
      std::cout << absl::StrFormat(
          "  %s %-32s hits %5d, offer rate %.4f, precision %.3f, recall "
          "%.3f%s\n",
          c.chosen ? "*" : " ", c.name, c.validation.hits,
          c.validation.offer_rate, c.validation.precision, c.validation.recall,
          c.other_bar_hits < 0
              ? std::string()
              : absl::StrFormat(c.flat_bar ? "; flat bar (%d with the raised)"
                                           : "; raised bar (%d with the flat)",
                                c.other_bar_hits));
    }
  }
  int pooled = 0, merged = 0;
  std::set<std::string> merged_into;
  for (const GroupChange& c : r->group_changes) {
    if (c.kind == "pooled") {
      ++pooled;
      continue;
    }
    if (c.kind == "merged") {
      ++merged;
      merged_into.insert(c.from);
      continue;
    }
    std::cout << absl::StrFormat(
        "group split: %s out of %s (%d views vs %d): %s\n", c.pattern, c.from,
        c.views, c.from_views, c.reason);
  }
  if (merged > 0) {
    std::cout << absl::StrFormat(
        "groups merged: %d thin templates into %s (beckon inspect --json "
        "lists them)\n",
        merged, absl::StrJoin(merged_into, ", "));
  }
  if (pooled > 0) {
    std::cout << absl::StrFormat(
        "groups pooled: %d too thin for their own dwell threshold (their "
        "role's or the site's; beckon inspect --json lists them)\n",
        pooled);
  }
  if (o.labels != "help_contact") {
    std::cout << absl::StrFormat(
        "offer outcomes: %d answered offers (%d accepted) for training, %d "
        "(%d accepted) for validation\n",
        r->train_offer_outcomes, r->train_accepted_offers,
        r->validation_offer_outcomes, r->validation_accepted_offers);
  }
  return absl::OkStatus();
}

// --- replay -------------------------------------------------------------------

// --visitor-key-file and --decisions into `o` (the decisions kept in
// `production`). Without --decisions, `missing` (if any) is noted on
// stderr: why the command's figures want them.
absl::Status TakeProductionLog(const Args& args, Progress& progress,
                               std::string_view missing, ReplayOptions& o,
                               std::vector<LoggedDecisionRecord>& production) {
  o.engine.visitor_key_file = args.Get("visitor-key-file");
  if (!args.Has("decisions")) {
    if (!missing.empty()) progress.Note(std::string(missing));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<LoggedDecisionRecord>> d =
      ReadDecisionLog(args.Get("decisions"));
  if (!d.ok()) return d.status();
  production = *std::move(d);
  o.production_decisions = &production;
  return absl::OkStatus();
}

const Command kReplay{
    "replay",
    "--policy POLICY --events FILE [--json] [--trace FILE] [--decisions "
    "FILE]",
    "Replays an event log through the engine with a policy and prints the\n"
    "metrics (docs/replay.md). POLICY may be \"default\".",
    {{"policy", "POLICY", "the policy file, or \"default\"", ""},
     {"events", "FILE", "the event log", ""},
     kDays,
     {"json", "", "print the metrics as one JSON object", ""},
     {"trace", "FILE", "write every decision as JSON Lines", ""},
     {"load-state", "FILE", "restore the visitor store first", ""},
     {"save-state", "FILE", "save the visitor store afterwards", ""},
     {"store", "URL",
      "keep visitor state in Redis (redis://host:port/db?prefix=P, "
      "docs/operations.md) instead of in memory",
      ""},
     {"fixed-dwell", "SECONDS",
      "replay the fixed-rule baseline instead (offer once per session after "
      "SECONDS on any page, with POLICY's gates)",
      ""},
     {"decisions", "FILE",
      "production's decision log (JSON Lines): compare its decisions with "
      "the replayed ones at the same moments",
      ""},
     {"visitor-key-file", "FILE",
      "the production engine's visitor key file (to join --decisions)", ""},
     kLenient,
     kAllowSmallEpoch,
     kQuiet}};

void PrintAgreement(const DecisionAgreement& a) {
  std::cout << absl::StrFormat(
      "\nproduction decisions %d (%d of unknown visitors): %d at moments the "
      "replay decided, same action %d (%.1f%%)\n"
      "offers at those moments: both %d, production only %d, replay only "
      "%d\n"
      "offered sessions: both %d, production only %d, replay only %d\n"
      "production offers %d: accepted %d, declined %d, ignored %d, "
      "unanswered %d\n",
      a.production_decisions, a.unknown_visitors, a.matched, a.same_action,
      100 * a.agreement, a.offers_both, a.offers_production_only,
      a.offers_replay_only, a.offered_sessions_both,
      a.offered_sessions_production_only, a.offered_sessions_replay_only,
      a.production_offers, a.production_offers_accepted,
      a.production_offers_declined, a.production_offers_ignored,
      a.production_offers_unanswered);
}

void PrintLift(const ReplayLift& l) {
  auto line = [](const char* name, const LiftEstimate& e, double scale,
                 const char* unit) {
    if (!e.estimable) {
      return absl::StrFormat(
          "%-20s offered %8.3f%s, holdout %8.3f%s (too "
          "few visitors for an interval)\n",
          name, scale * e.offered, unit, scale * e.holdout, unit);
    }
    return absl::StrFormat(
        "%-20s offered %8.3f%s, holdout %8.3f%s, lift %+8.3f%s (95%% CI "
        "%+.3f to %+.3f)\n",
        name, scale * e.offered, unit, scale * e.holdout, unit, scale * e.lift,
        unit, scale * e.ci_low, scale * e.ci_high);
  };
  std::cout << absl::StrFormat(
      "\nlift (docs/uplift.md): %d eligible visitors offered (%d of them "
      "offered then), %d in the holdout\n",
      l.offered_arm, l.offered, l.holdout_arm);
  std::cout << line("purchase rate", l.purchase_rate, 100, "%")
            << line("contact rate", l.contact_rate, 100, "%")
            << line("revenue/session", l.revenue_per_session, 1, "");
  if (!l.from_decision_log) {
    std::cout << "note: without production's decision log (--decisions) the "
                 "holdout's would-offers on a visitor's last page are not "
                 "seen, and the estimate leans (docs/uplift.md)\n";
  }
  const Qini& q = l.qini;
  std::cout << absl::StrFormat(
      "Qini area %.4f ranking %d visitors by %s (random rankings: sd "
      "%.4f)\n",
      q.area, q.visitors, q.ranked_by, q.random_sd);
  std::cout << absl::StrFormat("%-24s %8s %8s %26s\n", "group", "offered",
                               "holdout", "purchase lift (95% CI)");
  for (const GroupLift& g : l.groups) {
    const LiftEstimate& e = g.purchase_rate;
    std::cout << absl::StrFormat(
        "%-24s %8d %8d %26s\n", g.pattern.substr(0, 24), g.offered_arm,
        g.holdout_arm,
        e.estimable ? absl::StrFormat("%+.1f%% (%+.1f to %+.1f)", 100 * e.lift,
                                      100 * e.ci_low, 100 * e.ci_high)
                    : std::string("-"));
  }
}

void PrintMetrics(const ReplayMetrics& m) {
  std::cout << absl::StrFormat(
      "sessions %d, offered %d (%.2f%%, %.1f per 1000), offers %d\n"
      "help sessions %d, hits %d: precision %.3f, recall %.3f, median lead "
      "%.0f s\n"
      "first offers: median %.0f s / %.0f pages into the session (p90 %.0f s "
      "/ %.0f pages)\n"
      "offers after a decline %d, offers without agents %d\n",
      m.sessions, m.offered_sessions, 100 * m.offer_rate,
      1000 * m.offer_rate, m.offers, m.help_sessions, m.hits, m.precision,
      m.recall, m.median_lead_s, m.median_offer_after_start_s,
      m.median_offer_page_index, m.p90_offer_after_start_s,
      m.p90_offer_page_index, m.offers_after_decline,
      m.offers_without_agents);
  std::cout << absl::StrFormat("\n%-24s %9s %8s %7s %6s %6s %9s %7s\n",
                               "group", "sessions", "offered", "share",
                               "help", "hits", "precision", "recall");
  for (const GroupReplayCounts& g : m.groups) {
    const double share =
        m.offered_sessions
            ? 100.0 * g.offered_sessions / static_cast<double>(m.offered_sessions)
            : 0.0;
    std::cout << absl::StrFormat("%-24s %9d %8d %6.1f%% %6d %6d %9.3f %7.3f\n",
                                 g.pattern.substr(0, 24), g.sessions,
                                 g.offered_sessions, share, g.help_sessions,
                                 g.hits, g.precision, g.recall);
  }
}

absl::Status Replay(const Args& args) {
  absl::StatusOr<std::string> path = args.Required("policy");
  if (!path.ok()) return path.status();
  absl::StatusOr<Policy> policy = LoadPolicy(*path);
  if (!policy.ok()) return policy.status();
  if (args.Has("fixed-dwell")) {
    absl::StatusOr<double> secs = args.Number("fixed-dwell", 0, 0.001, 86400);
    if (!secs.ok()) return secs.status();
    policy = FixedDwellPolicy(*policy, *secs);
    if (!policy.ok()) return policy.status();
  }
  Progress progress("replay", args.Has("quiet"));
  absl::StatusOr<std::vector<LogEvent>> events = LoadEvents(args, progress);
  if (!events.ok()) return events.status();
  ReplayOptions o;
  o.load_state_path = args.Get("load-state");
  o.save_state_path = args.Get("save-state");
  std::vector<LoggedDecisionRecord> production;
  if (absl::Status s = TakeProductionLog(args, progress, "", o, production);
      !s.ok()) {
    return s;
  }
  if (args.Has("store")) {
    absl::StatusOr<RedisOptions> redis = RedisOptions::FromUrl(args.Get("store"));
    if (!redis.ok()) return redis.status();
    o.engine.store = StoreKind::kRedis;
    o.engine.redis = *std::move(redis);
  }
  o.progress = [&](uint64_t done, uint64_t total) {
    progress.Update(done, total);
  };
  std::FILE* trace = nullptr;
  if (args.Has("trace")) {
    trace = std::fopen(args.Get("trace").c_str(), "wb");
    if (trace == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write trace ", args.Get("trace")));
    }
    o.trace = [trace](const TraceRecord& r) {
      std::string line = TraceToJson(r);
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), trace);
    };
  }
  absl::StatusOr<ReplayMetrics> m = beckon::Replay(*policy, *events, o);
  if (trace != nullptr) {
    const bool bad = std::ferror(trace) != 0;
    if (std::fclose(trace) != 0 || bad) {
      return absl::DataLossError(
          absl::StrCat("cannot write trace ", args.Get("trace")));
    }
  }
  if (!m.ok()) return m.status();
  const double secs = progress.Elapsed();
  progress.Note(absl::StrFormat("%d events, %d decisions in %.1f s (%.0f "
                                "events/s)",
                                m->events, m->decisions, secs,
                                secs > 0 ? m->events / secs : 0.0));
  if (args.Has("json")) {
    std::cout << m->ToJson() << "\n";
  } else {
    PrintMetrics(*m);
    if (m->production) PrintAgreement(*m->production);
    if (m->lift) PrintLift(*m->lift);
  }
  return absl::OkStatus();
}

// --- compare -------------------------------------------------------------------

const Command kCompare{
    "compare",
    "--policy POLICY --events FILE [--rates R1,R2,...] [--json]",
    "Replays POLICY and the fixed-rule baseline \"offer once per session\n"
    "after T seconds on any page\" side by side, with T chosen so that the\n"
    "baseline offers to as many sessions as the policy. Then sweeps: for each\n"
    "offer rate, the policy's decision threshold and the baseline's T are\n"
    "both set to reach it on the log.",
    {{"policy", "POLICY", "the policy file, or \"default\"", ""},
     {"events", "FILE", "the event log", ""},
     kDays,
     {"rates", "R1,R2,...", "offer rates of the sweep",
      "0.01,0.02,0.05,0.1,0.2"},
     {"json", "", "print JSON: {\"matched\": {...}, \"sweep\": [...]}", ""},
     kLenient,
     kAllowSmallEpoch,
     kQuiet}};

// The policy as it is and the baseline matched to it (the sweep's points
// are OfferRateCurve::PointsJson, with the same keys and a threshold).
std::string PairJson(double rate, const ReplayMetrics& lm,
                     const Calibration& base) {
  internal::JsonObject o;
  o.Num("target_offer_rate", rate);
  o.Raw("policy", lm.ToJson());
  o.Num("baseline_seconds", base.setting);
  o.Raw("baseline", base.metrics.ToJson());
  return o.Finish();
}

void PrintPair(const std::string& label, const ReplayMetrics& a,
               const Calibration& b) {
  auto ratio = [](double x, double y) {
    return y > 0 ? absl::StrFormat("%+.0f%%", 100 * (x / y - 1))
                 : std::string("n/a");
  };
  std::cout << absl::StrFormat(
      "%-10s %7.2f%% %9.3f %7.3f %6.0f | %6.0f s %7.2f%% %9.3f %7.3f %6.0f | "
      "%6s %6s\n",
      label, 100 * a.offer_rate, a.precision, a.recall, a.median_lead_s,
      b.setting, 100 * b.metrics.offer_rate, b.metrics.precision,
      b.metrics.recall, b.metrics.median_lead_s,
      ratio(a.precision, b.metrics.precision),
      ratio(a.recall, b.metrics.recall));
}

absl::Status Compare(const Args& args) {
  absl::StatusOr<std::string> path = args.Required("policy");
  if (!path.ok()) return path.status();
  absl::StatusOr<Policy> policy = LoadPolicy(*path);
  if (!policy.ok()) return policy.status();
  std::vector<double> rates;
  for (absl::string_view r :
       absl::StrSplit(args.Get("rates", "0.01,0.02,0.05,0.1,0.2"), ',')) {
    double v;
    if (!absl::SimpleAtod(r, &v) || !(v > 0 && v < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--rates must be numbers in (0, 1), got \"", r, "\""));
    }
    rates.push_back(v);
  }
  Progress progress("compare", args.Has("quiet"));
  absl::StatusOr<std::vector<LogEvent>> events = LoadEvents(args, progress);
  if (!events.ok()) return events.status();
  absl::StatusOr<ReplayMetrics> own = beckon::Replay(*policy, *events);
  if (!own.ok()) return own.status();
  if (own->offered_sessions == 0) {
    return absl::FailedPreconditionError(
        "the policy offers to no session of this log: nothing to match");
  }
  absl::StatusOr<Calibration> matched =
      CalibrateFixedDwell(*policy, *events, own->offer_rate);
  if (!matched.ok()) return matched.status();
  // The sweep: the policy's threshold and the baseline's T at each rate
  // (the baseline matched to the rate the policy reached: a policy that
  // waits for dwell thresholds may not reach a high target).
  progress.Note(absl::StrCat("sweep: ", rates.size(), " offer rates"));
  absl::StatusOr<OfferRateCurve> curve =
      ComputeOfferRateCurve(*policy, *events, rates);
  if (!curve.ok()) return curve.status();
  if (args.Has("json")) {
    internal::JsonObject o;
    o.Raw("matched", PairJson(own->offer_rate, *own, *matched));
    o.Raw("sweep", curve->PointsJson());
    o.Num("max_offer_rate", curve->max_offer_rate);
    o.Raw("unoffered_by_reason", curve->ReasonsJson());
    o.Num("recall_area", curve->recall_area);
    o.Num("baseline_recall_area", curve->baseline_recall_area);
    std::cout << o.Finish() << "\n";
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat(
      "%-10s %8s %9s %7s %6s | %8s %8s %9s %7s %6s | %6s %6s\n", "",
      "offered", "precision", "recall", "lead_s", "T", "offered",
      "precision", "recall", "lead_s", "prec", "recall");
  std::cout << absl::StrFormat("%-10s %-34s | %-43s | %s\n", "",
                               "policy: " + policy->name(),
                               "baseline: offer after T s, once/session",
                               "policy vs baseline");
  PrintPair("as is", *own, *matched);
  bool unreachable = false;
  for (const CurvePoint& p : curve->points) {
    PrintPair(absl::StrFormat("at %g%%%s", 100 * p.target_offer_rate,
                              p.reachable ? "" : "*"),
              p.policy.metrics, p.baseline);
    unreachable = unreachable || !p.reachable;
  }
  std::cout << absl::StrFormat(
      "\nrecall averaged over offer rates 0-%.1f%%: %.3f (policy), %.3f "
      "(baseline)\n",
      100 * std::max_element(curve->points.begin(), curve->points.end(),
                             [](const CurvePoint& a, const CurvePoint& b) {
                               return a.policy.metrics.offer_rate <
                                      b.policy.metrics.offer_rate;
                             })
                ->policy.metrics.offer_rate,
      curve->recall_area, curve->baseline_recall_area);
  if (unreachable) {
    // Say why, rather than print a row at a rate it did not reach.
    uint64_t unoffered = 0;
    for (const auto& [reason, n] : curve->unoffered_by_reason) unoffered += n;
    std::string why;
    for (size_t i = 0; i < curve->unoffered_by_reason.size() && i < 4; ++i) {
      const auto& [reason, n] = curve->unoffered_by_reason[i];
      absl::StrAppend(
          &why, i > 0 ? ", " : "", reason, " ",
          absl::StrFormat("%.0f%%",
                          unoffered > 0 ? 100.0 * n / unoffered : 0.0));
    }
    std::cout << absl::StrFormat(
        "* not reachable: at its lowest threshold the policy offers to "
        "%.2f%% of sessions; the sessions it never offers ended on: %s "
        "(the last decision of each; docs/replay.md)\n",
        100 * curve->max_offer_rate, why);
  }
  std::cout << absl::StrFormat(
      "\noffers after a decline: %d (policy), %d (baseline); offers without "
      "agents: %d, %d\n",
      own->offers_after_decline, matched->metrics.offers_after_decline,
      own->offers_without_agents, matched->metrics.offers_without_agents);
  return absl::OkStatus();
}

// --- inspect --------------------------------------------------------------------

const Command kInspect{
    "inspect",
    "POLICY [--json]",
    "Prints a policy as protobuf text format, or as JSON. POLICY may be\n"
    "\"default\".",
    {{"json", "", "print JSON (groups as a list of objects)", ""}}};

absl::Status Inspect(const Args& args) {
  if (args.positional().size() != 1) {
    return absl::InvalidArgumentError(
        "inspect takes one policy file (or \"default\")");
  }
  absl::StatusOr<Policy> policy = LoadPolicy(args.positional()[0]);
  if (!policy.ok()) return policy.status();
  if (!args.Has("json")) {
    std::cout << policy->ToText();
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> json = policy->ToJson();
  if (!json.ok()) return json.status();
  std::cout << *json << "\n";
  return absl::OkStatus();
}

// --- convert ----------------------------------------------------------------------

const Command kConvert{
    "convert",
    "nasa|eshop|access --in FILE --out FILE",
    "Converts a real-traffic log to the event log (docs/real-logs.md):\n"
    "nasa: the NASA Kennedy Space Center access log (tab-separated);\n"
    "eshop: the UCI clothing e-shop clickstream (';'-separated; its timing is\n"
    "synthetic: the data has day and click order only);\n"
    "access: a web server's access log in the Common or Combined Log Format\n"
    "(Apache httpd, nginx): GET requests of pages answered 200 or 304, not\n"
    "by crawlers, become page_view rows; the visitor is the host.",
    {{"in", "FILE", "the source file", ""},
     {"out", "FILE", "the event log to write (\"-\": stdout)", ""},
     {"keep-crawlers", "",
      "access: keep requests whose user agent names a crawler", ""},
     kLenient,
     kQuiet}};

absl::Status Convert(const Args& args) {
  if (args.positional().size() != 1 ||
      (args.positional()[0] != "nasa" && args.positional()[0] != "eshop" &&
       args.positional()[0] != "access")) {
    return absl::InvalidArgumentError(
        "convert takes the kind of log: nasa, eshop or access");
  }
  if (args.Has("keep-crawlers") && args.positional()[0] != "access") {
    return absl::InvalidArgumentError(
        "--keep-crawlers is for access logs only");
  }
  absl::StatusOr<std::string> in = args.Required("in");
  if (!in.ok()) return in.status();
  absl::StatusOr<std::string> out = args.Required("out");
  if (!out.ok()) return out.status();
  absl::StatusOr<std::unique_ptr<EventLogWriter>> w =
      EventLogWriter::Open(*out);
  if (!w.ok()) return w.status();
  const LogSink sink = [&](const LogEvent& e) { return (*w)->Write(e); };
  Progress progress("convert", args.Has("quiet"));
  std::vector<std::string> errors;
  if (args.positional()[0] == "nasa") {
    NasaLogOptions o;
    o.lenient = args.Has("lenient");
    absl::StatusOr<NasaLogStats> st = ConvertNasaLog(*in, o, sink);
    if (!st.ok()) return st.status();
    progress.Note(absl::StrFormat(
        "%d lines: %d page views (%d to search scripts); skipped %d not GET, "
        "%d by status, %d not pages, %d malformed",
        st->rows_read, st->page_views, st->search_requests,
        st->skipped_method, st->skipped_status, st->skipped_not_page,
        st->malformed));
    errors = st->errors;
  } else if (args.positional()[0] == "access") {
    AccessLogOptions o;
    o.lenient = args.Has("lenient");
    o.skip_crawlers = !args.Has("keep-crawlers");
    absl::StatusOr<AccessLogStats> st = ConvertAccessLog(*in, o, sink);
    if (!st.ok()) return st.status();
    progress.Note(absl::StrFormat(
        "%d lines: %d page views; skipped %d not GET, %d by status, %d not "
        "pages, %d crawlers, %d malformed",
        st->rows_read, st->page_views, st->skipped_method, st->skipped_status,
        st->skipped_not_page, st->skipped_crawlers, st->malformed));
    errors = st->errors;
  } else {
    EshopOptions o;
    o.lenient = args.Has("lenient");
    absl::StatusOr<EshopStats> st = ConvertEshopClickstream(*in, o, sink);
    if (!st.ok()) return st.status();
    progress.Note(absl::StrFormat(
        "%d rows: %d page views in %d sessions over %d days; %d malformed",
        st->rows_read, st->page_views, st->sessions, st->days,
        st->malformed));
    errors = st->errors;
  }
  for (const std::string& e : errors) std::cerr << "  skipped: " << e << "\n";
  return (*w)->Close();
}

// --- label ------------------------------------------------------------------------

const Command kLabel{
    "label",
    "--events FILE --contacts FILE --out FILE [options]",
    "Joins a chat or helpdesk export onto an event log as help_contact rows\n"
    "(docs/real-logs.md, \"Labels from a helpdesk export\"). The export is\n"
    "CSV with a header naming the columns visitor (or session: the id the\n"
    "log's visitor column uses), start (epoch milliseconds, or ISO 8601 with\n"
    "a zone: 2008-04-01T10:00:05Z, 2008-04-01 12:00:05+02:00) and optionally\n"
    "channel (chat, call, phone, email, form; empty: unknown); other columns\n"
    "are ignored. A contact at time t attaches to the visitor's session whose\n"
    "latest event at or before t is at most session-timeout + tolerance\n"
    "before t, on the page of that session's latest view, after every event\n"
    "at or before t. Contacts that match no session are counted and listed\n"
    "on stderr (all of them with --unmatched-out), or fail the join with\n"
    "--unmatched error; a contact at the same visitor and time as another is\n"
    "a duplicate, counted and written once. The counts go to stdout.",
    {{"events", "FILE", "the event log", ""},
     {"contacts", "FILE", "the contact export (CSV)", ""},
     {"out", "FILE", "the labelled event log to write (\"-\": stdout)", ""},
     {"session-timeout-s", "S", "the session gap", "1800"},
     {"tolerance-s", "S",
      "how long after a session's end a contact still joins it", "300"},
     {"unmatched", "report|error",
      "a contact that matches no session: count and list it, or fail",
      "report"},
     {"unmatched-out", "FILE",
      "write every unmatched contact there (CSV: line,visitor,start_ms,reason)",
      ""},
     {"allow-small-epoch", "",
      "accept epoch times below 10^11 (they look like seconds)", ""},
     {"lenient", "", "skip bad export rows (counted) instead of failing", ""},
     {"events-lenient", "", "skip bad event log rows instead of failing", ""},
     kQuiet}};

absl::Status Label(const Args& args) {
  absl::StatusOr<std::string> events = args.Required("events");
  if (!events.ok()) return events.status();
  absl::StatusOr<std::string> contacts = args.Required("contacts");
  if (!contacts.ok()) return contacts.status();
  absl::StatusOr<std::string> out = args.Required("out");
  if (!out.ok()) return out.status();
  absl::StatusOr<double> timeout =
      args.Number("session-timeout-s", 1800, 1, 86'400);
  absl::StatusOr<double> tolerance = args.Number("tolerance-s", 300, 0, 86'400);
  for (const absl::Status& s : {timeout.status(), tolerance.status()}) {
    if (!s.ok()) return s;
  }
  const std::string unmatched = args.Get("unmatched", "report");
  if (unmatched != "report" && unmatched != "error") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--unmatched must be report or error, got \"", unmatched, "\""));
  }
  LabelOptions o;
  o.session_timeout_ms = static_cast<int64_t>(*timeout * 1000);
  o.tolerance_ms = static_cast<int64_t>(*tolerance * 1000);
  o.fail_on_unmatched = unmatched == "error";
  o.allow_small_epoch = args.Has("allow-small-epoch");
  o.lenient = args.Has("lenient");
  o.events_lenient = args.Has("events-lenient");
  Progress progress("label", args.Has("quiet"));
  // Everything is checked before the output is opened: a bad export leaves
  // an existing --out untouched.
  std::vector<LogEvent> rows;
  LabelStats st;
  absl::Status s = LabelEventLog(*events, *contacts, o, [&](const LogEvent& e) {
    rows.push_back(e);
    return absl::OkStatus();
  }, st);
  if (!s.ok()) return s;
  absl::StatusOr<std::unique_ptr<EventLogWriter>> w = EventLogWriter::Open(*out);
  if (!w.ok()) return w.status();
  for (const LogEvent& e : rows) {
    if (absl::Status ws = (*w)->Write(e); !ws.ok()) return ws;
  }
  if (absl::Status c = (*w)->Close(); !c.ok()) return c;
  if (args.Has("unmatched-out")) {
    absl::Status us =
        WriteUnmatchedContacts(args.Get("unmatched-out"), st);
    if (!us.ok()) return us;
  }
  std::cout << absl::StrFormat(
      "contacts read %d, attached %d, unmatched %d, duplicates %d, malformed "
      "%d; %d sessions labelled; %d events read (%d help_contact already), "
      "%d rows written\n",
      st.contacts_read, st.attached, st.unmatched, st.duplicates, st.malformed,
      st.sessions_labelled, st.events_read, st.existing_help_contacts,
      st.rows_written);
  for (const std::string& e : st.errors) std::cerr << "  skipped: " << e << "\n";
  const size_t shown = std::min<size_t>(st.unmatched_contacts.size(), 10);
  for (size_t i = 0; i < shown; ++i) {
    const UnmatchedContact& u = st.unmatched_contacts[i];
    std::cerr << "  unmatched: line " << u.line << ": \"" << u.visitor
              << "\" at " << u.ts_ms << " ms: " << u.reason << "\n";
  }
  if (st.unmatched_contacts.size() > shown) {
    std::cerr << "  ... and " << st.unmatched_contacts.size() - shown
              << " more unmatched"
              << (args.Has("unmatched-out") ? " (all in --unmatched-out)"
                                            : " (--unmatched-out lists all)")
              << "\n";
  }
  return absl::OkStatus();
}

// --- train-uplift ------------------------------------------------------------

// Noted when train-uplift or evaluate runs without a decision log.
constexpr std::string_view kNoDecisions =
    "no --decisions: the holdout visitors' moments on their last page are "
    "missing, and the figures lean (docs/uplift.md)";

const Command kTrainUplift{
    "train-uplift",
    "--policy POLICY --events FILE --decisions FILE --visitor-key-file FILE "
    "--out POLICY [--target-offer-rate R]",
    "Learns where an offer changes the outcome (docs/uplift.md): from the\n"
    "log of POLICY run with its holdout kept, fits the uplift of purchase\n"
    "over the engine's features at each visitor's scored moment, and writes\n"
    "POLICY with that uplift model, its floor set to offer at the target\n"
    "rate (at POLICY's moments where the uplift is highest).",
    {{"policy", "POLICY", "the policy that ran (its holdout kept)", ""},
     {"events", "FILE", "the event log it ran on", ""},
     {"decisions", "FILE",
      "its decision log (JSON Lines; without it the holdout's last-page "
      "moments are missing)",
      ""},
     kLoggedVisitorKey,
     {"out", "POLICY", "where to write the policy (binary protobuf)", ""},
     {"target-offer-rate", "R", "share of sessions to offer to, in (0, 1)",
      "0.05"},
     {"l2", "L", "the fit's L2 penalty, >= 0", "1"},
     {"by-value", "",
      "score by the uplift times the order at stake (the cart, or the log's "
      "mean order): min_uplift is then the expected added revenue",
      ""},
     {"name", "NAME", "the policy's name", "beckon-uplift"},
     kDays,
     kLenient,
     kAllowSmallEpoch,
     kQuiet}};

absl::Status TrainUpliftCommand(const Args& args) {
  absl::StatusOr<std::string> path = args.Required("policy");
  if (!path.ok()) return path.status();
  absl::StatusOr<std::string> out = args.Required("out");
  if (!out.ok()) return out.status();
  absl::StatusOr<Policy> ran = LoadPolicy(*path);
  if (!ran.ok()) return ran.status();
  absl::StatusOr<double> rate =
      args.Number("target-offer-rate", 0.05, 1e-9, 1 - 1e-9);
  if (!rate.ok()) return rate.status();
  absl::StatusOr<double> l2 = args.Number("l2", 1, 0, 1e9);
  if (!l2.ok()) return l2.status();
  Progress progress("train-uplift", args.Has("quiet"));
  absl::StatusOr<std::vector<LogEvent>> events = LoadEvents(args, progress);
  if (!events.ok()) return events.status();
  UpliftOptions o;
  o.target_offer_rate = *rate;
  o.l2 = *l2;
  o.name = args.Get("name", "beckon-uplift");
  o.by_value = args.Has("by-value");
  std::vector<LoggedDecisionRecord> production;
  if (absl::Status s =
          TakeProductionLog(args, progress, kNoDecisions, o.replay, production);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<UpliftResult> r = TrainUplift(*ran, *events, o);
  if (!r.ok()) return r.status();
  if (absl::Status s = r->policy.ToFile(*out); !s.ok()) return s;
  std::cout << absl::StrFormat(
      "fitted on %d offered visitors (%d bought) and %d held out (%d "
      "bought)\n",
      r->offered_arm, r->purchased_offered, r->holdout_arm,
      r->purchased_holdout);
  std::cout << absl::StrFormat("uplift = 2 sigmoid(%+.4f", r->bias);
  for (const auto& [feature, weight] : r->weights) {
    std::cout << absl::StrFormat(" %+.4f %s", weight, feature);
  }
  std::cout << ") - 1\n";
  std::cout << absl::StrFormat(
      "min_uplift %+.4f%s: offers to %.2f%% of sessions (the policy that ran: "
      "%.2f%%)\n"
      "Qini area %.4f over %d visitors (random rankings: sd %.4f), in "
      "sample\n",
      r->min_uplift,
      o.by_value ? absl::StrFormat(" (added revenue; mean order %.2f)",
                                   r->mean_order_value)
                 : std::string(),
      100 * r->offer_rate, 100 * r->base_offer_rate, r->qini.area,
      r->qini.visitors, r->qini.random_sd);
  for (const std::string& w : r->warnings) {
    std::cerr << "beckon train-uplift: warning: " << w << "\n";
  }
  return absl::OkStatus();
}

// --- evaluate ----------------------------------------------------------------

const Command kEvaluate{
    "evaluate",
    "--policy TARGET --logged-policy POLICY --events FILE --decisions FILE "
    "--visitor-key-file FILE [--json]",
    "Estimates off-policy what TARGET's decisions would have given at the\n"
    "moments of a log of POLICY run with its holdout kept (docs/uplift.md):\n"
    "the purchase rate by IPS, self-normalized IPS and doubly robust, with\n"
    "95% intervals, and whether the log supports the estimate.",
    {{"policy", "TARGET", "the policy to evaluate", ""},
     {"logged-policy", "POLICY", "the policy that ran (its holdout kept)", ""},
     {"events", "FILE", "the event log it ran on", ""},
     {"decisions", "FILE", "its decision log (JSON Lines)", ""},
     kLoggedVisitorKey,
     {"json", "", "print the estimate as one JSON object", ""},
     kDays,
     kLenient,
     kAllowSmallEpoch,
     kQuiet}};

std::string OffPolicyJson(const OffPolicyEstimate& e) {
  auto value = [](const OffPolicyValue& v) {
    internal::JsonObject o;
    o.Num("value", v.value)
        .Num("standard_error", v.standard_error)
        .Num("ci_low", v.ci_low)
        .Num("ci_high", v.ci_high);
    return o.Finish();
  };
  internal::JsonObject o;
  o.UInt("visitors", e.visitors)
      .UInt("unsupported", e.unsupported)
      .UInt("matched", e.matched)
      .Num("target_offer_share", e.target_offer_share)
      .Num("min_propensity", e.min_propensity)
      .Num("effective_sample_size", e.effective_sample_size)
      .Bool("supported", e.supported)
      .Str("why", e.why)
      .Num("logged_value", e.logged_value)
      .Raw("ips", value(e.ips))
      .Raw("snips", value(e.snips))
      .Raw("doubly_robust", value(e.doubly_robust));
  return o.Finish();
}

absl::Status Evaluate(const Args& args) {
  absl::StatusOr<std::string> target_path = args.Required("policy");
  if (!target_path.ok()) return target_path.status();
  absl::StatusOr<std::string> logged_path = args.Required("logged-policy");
  if (!logged_path.ok()) return logged_path.status();
  absl::StatusOr<Policy> target = LoadPolicy(*target_path);
  if (!target.ok()) return target.status();
  absl::StatusOr<Policy> logged = LoadPolicy(*logged_path);
  if (!logged.ok()) return logged.status();
  Progress progress("evaluate", args.Has("quiet"));
  absl::StatusOr<std::vector<LogEvent>> events = LoadEvents(args, progress);
  if (!events.ok()) return events.status();
  OffPolicyOptions o;
  std::vector<LoggedDecisionRecord> production;
  if (absl::Status s =
          TakeProductionLog(args, progress, kNoDecisions, o.replay, production);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<OffPolicyEstimate> e =
      EvaluateOffPolicy(*logged, *target, *events, o);
  if (!e.ok()) return e.status();
  if (args.Has("json")) {
    std::cout << OffPolicyJson(*e) << "\n";
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat(
      "%d logged visitors at their moments (propensity of the logged action "
      "at least %.2f); the target offers at %.1f%% of them, matches the "
      "logged action at %d; %d unsupported; effective sample size %.0f\n"
      "logged policy's purchase rate %.4f\n",
      e->visitors, e->min_propensity, 100 * e->target_offer_share, e->matched,
      e->unsupported, e->effective_sample_size, e->logged_value);
  auto line = [](const char* name, const OffPolicyValue& v) {
    return absl::StrFormat("%-14s %.4f (95%% CI %.4f to %.4f)\n", name, v.value,
                           v.ci_low, v.ci_high);
  };
  std::cout << "target's purchase rate:\n"
            << line("IPS", e->ips) << line("SNIPS", e->snips)
            << line("doubly robust", e->doubly_robust);
  if (!e->supported) {
    std::cout << "the log cannot support the estimate: " << e->why << "\n";
  }
  return absl::OkStatus();
}

// --- main -------------------------------------------------------------------------

const Command* const kCommands[] = {&kSimulate, &kTrain,       &kReplay,
                                    &kCompare,  &kInspect,     &kConvert,
                                    &kLabel,    &kTrainUplift, &kEvaluate};

void PrintUsage(std::ostream& out) {
  out << "usage: beckon <command> [options]\n\ncommands:\n"
      << "  simulate   write a synthetic event log\n"
      << "  train      learn a policy from an event log\n"
      << "  replay     measure a policy on an event log\n"
      << "  compare    a policy against the fixed-dwell baseline\n"
      << "  inspect    print a policy\n"
      << "  convert    turn a real public log into an event log\n"
      << "  label      add help_contact rows from a chat/helpdesk export\n"
      << "  train-uplift  learn where offers change purchases (a log with "
         "a holdout)\n"
      << "  evaluate   estimate another policy's value off-policy\n"
      << "\n`beckon <command> --help` for a command's options; `beckon "
         "--version`.\n";
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << "beckon " << beckon::Version() << "\n";
    return 0;
  }
  const Command* cmd = nullptr;
  for (const Command* c : kCommands) {
    if (c->name == name) cmd = c;
  }
  if (cmd == nullptr) {
    std::cerr << "beckon: unknown command \"" << name << "\"\n";
    PrintUsage(std::cerr);
    return 2;
  }
  Args args;
  if (absl::Status s = args.Parse(*cmd, argc, argv, 2); !s.ok()) {
    std::cerr << "beckon " << name << ": " << s.message() << "\n";
    return 2;
  }
  if (args.help()) {
    PrintHelp(*cmd);
    return 0;
  }
  if (name != "inspect" && name != "convert" && !args.positional().empty()) {
    std::cerr << "beckon " << name << ": unexpected argument \""
              << args.positional()[0] << "\"\n";
    return 2;
  }
  absl::Status s;
  if (name == "simulate") s = Simulate(args);
  if (name == "train") s = Train(args);
  if (name == "replay") s = Replay(args);
  if (name == "compare") s = Compare(args);
  if (name == "inspect") s = Inspect(args);
  if (name == "convert") s = Convert(args);
  if (name == "label") s = Label(args);
  if (name == "train-uplift") s = TrainUpliftCommand(args);
  if (name == "evaluate") s = Evaluate(args);
  if (!s.ok()) {
    // Library messages may already name the step ("train: ...").
    std::string message(s.message());
    const std::string own = name + ": ";
    if (message.rfind(own, 0) == 0) message = message.substr(own.size());
    std::cerr << "beckon " << name << ": " << message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace beckon::cli

int main(int argc, char** argv) { return beckon::cli::Main(argc, argv); }
