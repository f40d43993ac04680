// The single-process reference of examples/php/fpm_driver.php: plays the
// same sessions with the same rules for timers and offer answers, on one
// C++ engine over the in-memory store, and prints the lines
// examples/php/request.php prints, in the order the driver prints them.
// The test php_fpm_multiprocess compares the two: what many short-lived PHP
// processes decide, sharing visitors through Redis only, must be what one
// process decides holding them in memory.
//
//   fpm_reference [--policy=FILE] SESSIONS.csv
//   fpm_reference --write-policy=FILE      (the default policy, binary)
//
// Visitors are played one after another (in id order), the agents reports
// first: in memory the only state visitors share is site-wide, and the
// driver's sessions report plenty of agents once, before anyone, so that
// neither scarcity nor the rate cap makes the order of visitors matter.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "beckon/beckon.hpp"
#include "beckon/event_log.h"

namespace {

// The driver's constants (examples/php/fpm_driver.php).
constexpr int kMaxTimerFires = 3;
constexpr int64_t kAnswerDelayMs = 5000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fpm_reference: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", v.status().ToString()));
  return *std::move(v);
}

// request.php's text for a failed call: "INVALID_ARGUMENT: time went ...".
std::string ErrorText(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

// request.php's text for a decision.
std::string DecisionText(const beckon::Decision& d) {
  std::string out = absl::StrFormat(
      "%s %s p=%.4f t=%.4f", std::string(beckon::ActionName(d.action)),
      std::string(beckon::ReasonName(d.reason)), d.probability, d.threshold);
  if (d.recheck_at_ms) absl::StrAppend(&out, " recheck=", *d.recheck_at_ms);
  absl::StrAppend(&out, " | ", absl::StrJoin(d.reasons(), "; "));
  return out;
}

// The events after which request.php asks for a decision.
bool Asks(beckon::EventType t) {
  using T = beckon::EventType;
  return t == T::kPageView || t == T::kSearch || t == T::kCart ||
         t == T::kHelpContact || t == T::kPurchase;
}

// One request, as request.php serves it; returns its line.
std::string Serve(beckon::Engine& engine, const beckon::LogEvent& row,
                  bool decide_only) {
  std::string answer = "ok";
  const absl::Status observed =
      decide_only ? absl::OkStatus() : engine.Observe(row.ToEvent());
  if (!observed.ok()) {
    answer = ErrorText(observed);
  } else if (decide_only || Asks(row.type)) {
    absl::StatusOr<beckon::Decision> d = engine.Decide(row.visitor, row.ts_ms);
    answer = d.ok() ? DecisionText(*d) : ErrorText(d.status());
  }
  return absl::StrCat(row.ts_ms, " ", row.visitor.empty() ? "-" : row.visitor,
                      " ",
                      decide_only ? "decide"
                                  : std::string(beckon::EventTypeName(row.type)),
                      " -> ", answer);
}

// The reaction of a visitor's persona (the id's part after '-') to an offer.
std::optional<std::string_view> Reaction(std::string_view id) {
  const size_t dash = id.find('-');
  const std::string_view persona =
      dash == std::string_view::npos ? std::string_view() : id.substr(dash + 1);
  if (persona == "decliner" || persona == "returner") return "offer_declined";
  if (persona == "ignorer") return "offer_ignored";
  if (persona == "acceptor") return "offer_accepted";
  return std::nullopt;
}

beckon::LogEvent Row(int64_t ts, std::string_view visitor,
                     std::string_view event, std::string_view page) {
  beckon::LogEvent e;
  const absl::Status s = beckon::ParseLogRow(ts, visitor, event, page, "chat", e);
  if (!s.ok()) Die(s.ToString());
  return e;
}

// A visitor's browser and widget: the driver's Visitor class.
class Visitor {
 public:
  explicit Visitor(std::string id) : id_(std::move(id)) {}

  void Add(beckon::LogEvent row) { rows_.push_back(std::move(row)); }

  // Plays every request of this visitor and prints its lines.
  void Play(beckon::Engine& engine) {
    beckon::LogEvent request;
    bool decide_only = false;
    while (Next(request, decide_only)) {
      const std::string line = Serve(engine, request, decide_only);
      std::printf("%s\n", line.c_str());
      Answer(request, line);
    }
  }

 private:
  bool Next(beckon::LogEvent& out, bool& decide_only) {
    decide_only = false;
    if (!queue_.empty()) {
      out = queue_.front();
      queue_.pop_front();
      return true;
    }
    const std::optional<int64_t> timer = timer_;
    timer_.reset();
    const bool more = next_ < rows_.size();
    if (timer && fires_ < kMaxTimerFires &&
        (!more || *timer < rows_[next_].ts_ms)) {
      ++fires_;
      out = beckon::LogEvent();
      out.ts_ms = *timer;
      out.visitor = id_;
      decide_only = true;
      return true;
    }
    if (!more) return false;
    fires_ = 0;
    out = rows_[next_++];
    page_ = out.page;
    return true;
  }

  // As the driver, from the answer line: a decision's recheck time sets the
  // timer; an offer is shown and answered.
  void Answer(const beckon::LogEvent& request, const std::string& line) {
    const bool offer = absl::StrContains(line, " -> offer ");
    const bool decision = offer || absl::StrContains(line, " -> wait ") ||
                          absl::StrContains(line, " -> suppress ");
    if (!decision) return;
    const size_t r = line.find(" recheck=");
    if (r != std::string::npos) {
      timer_ = std::strtoll(line.c_str() + r + 9, nullptr, 10);
    }
    if (!offer) return;
    const int64_t ts = request.ts_ms;
    queue_.push_back(Row(ts, id_, "offer_shown", page_));
    if (const std::optional<std::string_view> reaction = Reaction(id_)) {
      int64_t at = ts + kAnswerDelayMs;
      if (next_ < rows_.size()) at = std::min(at, rows_[next_].ts_ms);
      queue_.push_back(Row(at, id_, *reaction, page_));
    }
  }

  std::string id_;
  std::vector<beckon::LogEvent> rows_;
  size_t next_ = 0;
  std::optional<int64_t> timer_;
  int fires_ = 0;
  std::deque<beckon::LogEvent> queue_;
  std::string page_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string policy_file, sessions;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];  // Debian's Abseil has its own.
    if (absl::StartsWith(arg, "--write-policy=")) {
      const absl::Status s = beckon::Policy::Default().ToFile(
          std::string(arg.substr(15)));
      if (!s.ok()) Die(s.ToString());
      return 0;
    }
    if (absl::StartsWith(arg, "--policy=")) {
      policy_file = std::string(arg.substr(9));
    } else if (sessions.empty() && !absl::StartsWith(arg, "--")) {
      sessions = std::string(arg);
    } else {
      Die(absl::StrCat("usage: fpm_reference [--policy=FILE] SESSIONS.csv "
                       "| --write-policy=FILE (unexpected \"", arg, "\")"));
    }
  }
  if (sessions.empty()) Die("usage: fpm_reference [--policy=FILE] SESSIONS.csv");

  const beckon::Policy policy =
      policy_file.empty()
          ? beckon::Policy::Default()
          : Must(beckon::Policy::FromFile(policy_file), "Policy::FromFile");
  std::unique_ptr<beckon::Engine> engine =
      Must(beckon::Engine::Create(policy), "Engine::Create");

  std::vector<beckon::LogEvent> site;
  std::map<std::string, Visitor> visitors;  // In id order, as the driver.
  for (beckon::LogEvent& row : Must(beckon::ReadEventLog(sessions), sessions.c_str())) {
    if (row.type == beckon::EventType::kAgents) {
      site.push_back(std::move(row));
    } else {
      visitors.try_emplace(row.visitor, row.visitor)
          .first->second.Add(std::move(row));
    }
  }
  for (const beckon::LogEvent& row : site) {
    std::printf("%s\n", Serve(*engine, row, false).c_str());
  }
  for (auto& [id, visitor] : visitors) visitor.Play(*engine);
  return 0;
}
