// The decision log as a file of JSON Lines (Engine::Options::
// decision_log_path): one object per decision, written under a lock so that
// lines from concurrent calls never interleave.
#ifndef BECKON_LIB_ENGINE_DECISION_LOG_H_
#define BECKON_LIB_ENGINE_DECISION_LOG_H_

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "beckon/engine.h"
#include "beckon/event.h"

namespace beckon::internal {

// The JSON object of one logged decision, without a line end.
std::string DecisionLogLine(const LoggedDecision& d);

// One row of the event log format (EVENT-LOG.md), without a line end.
std::string EventLogRow(const Event& e);

// Appends a CSV field, quoted where it must be (RFC 4180); the event log
// writers (this one and lib/offline/event_log.cc's) share it.
void AppendCsvField(std::string& out, std::string_view field);

// A file of lines appended under a lock (the decision log, the event log).
class DecisionLogFile {
 public:
  // Opens `path` for appending (creating it with mode 0600); `option` names
  // the option in errors. If the file is empty, `header` (if any) is
  // written first as a line of its own.
  static absl::StatusOr<std::unique_ptr<DecisionLogFile>> Open(
      const std::string& path, std::string_view option = "decision_log_path",
      std::string_view header = {});
  ~DecisionLogFile();
  DecisionLogFile(const DecisionLogFile&) = delete;
  DecisionLogFile& operator=(const DecisionLogFile&) = delete;

  // Appends one line; a failed write is counted, not reported.
  void Write(const LoggedDecision& d) { WriteLine(DecisionLogLine(d)); }
  void WriteLine(std::string line);
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  explicit DecisionLogFile(std::FILE* f) : file_(f) {}
  absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> errors_{0};
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_DECISION_LOG_H_
