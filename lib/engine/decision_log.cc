#include "engine/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "json.h"

namespace beckon::internal {

std::string DecisionLogLine(const LoggedDecision& d) {
  JsonObject o;
  o.Int("ts_ms", d.ts_ms)
      .Str("visitor_hash", absl::StrFormat("%016x", d.visitor_hash))
      .Str("action", ActionName(d.action))
      .Str("reason", ReasonName(d.reason))
      .Num("probability", d.probability)
      .Num("threshold", d.threshold)
      .Bool("would_offer", d.would_offer);
  if (d.recheck_at_ms) {
    o.Int("recheck_at_ms", *d.recheck_at_ms);
  } else {
    o.Null("recheck_at_ms");
  }
  o.Str("group", d.group)
      .Str("policy", d.policy_name)
      .Str("policy_version", d.policy_version);
  return o.Finish();
}

absl::StatusOr<std::unique_ptr<DecisionLogFile>> DecisionLogFile::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                        0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Engine::Options.decision_log_path: cannot open ", path,
                     ": ", std::strerror(errno)));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ",
                                            std::strerror(err)));
  }
  return std::unique_ptr<DecisionLogFile>(new DecisionLogFile(f));
}

DecisionLogFile::~DecisionLogFile() {
  absl::MutexLock lock(&mu_);
  std::fclose(file_);
}

void DecisionLogFile::Write(const LoggedDecision& d) {
  std::string line = DecisionLogLine(d);
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  // A whole line per write and flush: a crash loses no line the engine has
  // handed out a decision for.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fflush(file_) != 0) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    std::clearerr(file_);
  }
}

}  // namespace beckon::internal
