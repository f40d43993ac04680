#include "engine/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "json.h"
#include "string_views.h"

namespace beckon::internal {

std::string DecisionLogLine(const LoggedDecision& d) {
  JsonObject o;
  o.Int("ts_ms", d.ts_ms)
      .Str("visitor_hash", absl::StrFormat("%016x", d.visitor_hash))
      .Str("action", ActionName(d.action))
      .Str("reason", ReasonName(d.reason))
      .Num("probability", d.probability)
      .Num("threshold", d.threshold)
      .Bool("would_offer", d.would_offer)
      .Num("offer_probability", d.offer_probability);
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

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string EventLogRow(const Event& e) {
  std::string out = absl::StrCat(e.ts_ms, ",");
  AppendCsvField(out, e.visitor);
  out.push_back(',');
  out.append(EventTypeName(e.type));
  out.push_back(',');
  AppendCsvField(out, e.page);
  out.push_back(',');
  switch (e.type) {
    case EventType::kPageView:
      AppendCsvField(out, e.referrer);
      break;
    case EventType::kSearch:
    case EventType::kAgents:
      absl::StrAppend(&out, e.count);
      break;
    case EventType::kCart:
    case EventType::kPurchase:
      AppendJsonNumber(out, e.value);  // Shortest form that reads back.
      break;
    default:  // help_contact and the offer outcomes: the channel.
      if (e.channel != Channel::kUnspecified) {
        out.append(ChannelName(e.channel));
      }
      break;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<DecisionLogFile>> DecisionLogFile::Open(
    const std::string& path, std::string_view option,
    std::string_view header) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                        0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Engine::Options.", AbslView(option), ": cannot open ", path,
                     ": ", std::strerror(errno)));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ",
                                            std::strerror(err)));
  }
  std::unique_ptr<DecisionLogFile> log(new DecisionLogFile(f));
  if (!header.empty() && std::fseek(f, 0, SEEK_END) == 0 &&
      std::ftell(f) == 0) {
    log->WriteLine(std::string(header));
  }
  return log;
}

DecisionLogFile::~DecisionLogFile() {
  absl::MutexLock lock(&mu_);
  std::fclose(file_);
}

void DecisionLogFile::WriteLine(std::string line) {
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
