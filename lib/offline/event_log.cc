#include "beckon/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/engine/decision_log.h"
#include "lib/quoted.h"
#include "lib/string_views.h"

namespace beckon {

using internal::AbslView;

// Where the reader's bytes come from: a file (buffered) or a string.
class EventLogReader::Source {
 public:
  explicit Source(std::FILE* file, bool owned) : file_(file), owned_(owned) {}
  explicit Source(std::string text)
      : file_(nullptr), owned_(false), text_(std::move(text)) {
    pos_ = text_.data();
    end_ = pos_ + text_.size();
  }
  ~Source() {
    if (owned_ && file_ != nullptr) std::fclose(file_);
  }

  // Returns the next byte, or -1 at the end (or on an error: see failed()).
  int Get() {
    if (pos_ == end_ && !Refill()) return -1;
    ++consumed_;
    return static_cast<unsigned char>(*pos_++);
  }
  int Peek() {
    if (pos_ == end_ && !Refill()) return -1;
    return static_cast<unsigned char>(*pos_);
  }
  bool failed() const { return failed_; }
  uint64_t consumed() const { return consumed_; }

 private:
  bool Refill() {
    if (file_ == nullptr) return false;  // Text: all of it is in view.
    const size_t n = std::fread(storage_, 1, sizeof(storage_), file_);
    if (n == 0) {
      if (std::ferror(file_)) failed_ = true;
      return false;
    }
    pos_ = storage_;
    end_ = storage_ + n;
    return true;
  }

  std::FILE* file_;
  bool owned_;
  std::string text_;
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  bool failed_ = false;
  uint64_t consumed_ = 0;
  char storage_[1 << 16];
};

namespace {

// Longest field accepted; a longer one is a bad row, not unbounded memory.
constexpr size_t kMaxFieldBytes = 64 * 1024;
constexpr int64_t kMaxTimestampMs = 253402300799999;  // End of year 9999.

using internal::Quoted;

absl::Status RowError(uint64_t line, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line, ": ", AbslView(what)));
}

// The shortest plain decimal (no exponent) that reads back as `v`.
std::string FormatValue(double v) {
  for (int digits = 0; digits <= 20; ++digits) {
    std::string s = absl::StrFormat("%.*f", digits, v);
    double back;
    if (absl::SimpleAtod(s, &back) && back == v) return s;
  }
  return absl::StrFormat("%.20f", v);
}

// The event log's integers and decimals are plain digits: no sign, no
// spaces, no exponent (absl's parsers would accept " 12" and "+12").
bool PlainInteger(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool PlainDecimal(std::string_view s) {
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) return PlainInteger(s);
  return PlainInteger(s.substr(0, dot)) && PlainInteger(s.substr(dot + 1));
}

}  // namespace

Event LogEvent::ToEvent() const {
  Event e;
  e.type = type;
  e.ts_ms = ts_ms;
  e.visitor = visitor;
  e.page = page;
  if (type == EventType::kPageView) e.referrer = detail;
  e.count = count;
  e.value = value;
  e.channel = channel;
  return e;
}

LogEvent LogEvent::FromEvent(const Event& e) {
  LogEvent out;
  out.ts_ms = e.ts_ms;
  out.type = e.type;
  out.visitor = std::string(e.visitor);
  out.page = std::string(e.page);
  out.count = e.count;
  out.value = e.value;
  out.channel = e.channel;
  switch (e.type) {
    case EventType::kPageView:
      out.detail = std::string(e.referrer);
      break;
    case EventType::kSearch:
    case EventType::kAgents:
      out.detail = absl::StrCat(e.count);
      break;
    case EventType::kCart:
    case EventType::kPurchase:
      out.detail = FormatValue(e.value);
      break;
    default:
      out.detail = std::string(ChannelName(e.channel));
      break;
  }
  return out;
}

EventLogReader::EventLogReader(std::unique_ptr<Source> source, std::string name,
                               const Options& options)
    : source_(std::move(source)), name_(std::move(name)), options_(options) {}

EventLogReader::~EventLogReader() = default;

uint64_t EventLogReader::bytes_read() const { return source_->consumed(); }

namespace {

absl::Status NotRegularFile(const std::string& path, mode_t mode) {
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                                      : "something else";
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot read event log ", path, ": it is ", kind,
      ", not a regular file"));
}

// Opens the regular file at `path` for reading, as ReadFile does (lib/
// file_util.cc) but streamed: a FIFO, device, socket or directory is
// refused before it is opened (stat), and again on the descriptor (a FIFO
// swapped in meanwhile is opened with O_NONBLOCK, so never waited on).
absl::StatusOr<std::FILE*> OpenRegularFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot open event log ", path,
                                            ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegularFile(path, st.st_mode);
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open event log ", path,
                                            ": ", std::strerror(errno)));
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(fd);
    if (!S_ISREG(st.st_mode)) return NotRegularFile(path, st.st_mode);
    return absl::DataLossError(absl::StrCat("cannot read event log ", path,
                                            ": ", std::strerror(err)));
  }
  // A regular file: reads never block, but the flag is cleared all the same.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return absl::DataLossError(absl::StrCat("cannot read event log ", path,
                                            ": ", std::strerror(err)));
  }
  return f;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLogReader>> EventLogReader::Open(
    const std::string& path, const Options& options) {
  if (options.max_row_bytes < 1) {
    return absl::InvalidArgumentError(
        "EventLogReader::Options.max_row_bytes must be >= 1");
  }
  std::FILE* f = nullptr;
  bool owned = false;
  if (path == "-") {
    f = stdin;
  } else {
    absl::StatusOr<std::FILE*> opened = OpenRegularFile(path);
    if (!opened.ok()) return opened.status();
    f = *opened;
    owned = true;
  }
  auto source = std::make_unique<Source>(f, owned);
  std::unique_ptr<EventLogReader> reader(
      new EventLogReader(std::move(source), path, options));
  if (absl::Status s = reader->ReadHeader(); !s.ok()) return s;
  return reader;
}

absl::StatusOr<std::unique_ptr<EventLogReader>> EventLogReader::FromString(
    std::string text, const Options& options, std::string name) {
  if (options.max_row_bytes < 1) {
    return absl::InvalidArgumentError(
        "EventLogReader::Options.max_row_bytes must be >= 1");
  }
  auto source = std::make_unique<Source>(std::move(text));
  std::unique_ptr<EventLogReader> reader(
      new EventLogReader(std::move(source), std::move(name), options));
  if (absl::Status s = reader->ReadHeader(); !s.ok()) return s;
  return reader;
}

absl::StatusOr<bool> EventLogReader::ReadRecord() {
  n_fields_ = 0;
  fields_[0].clear();
  Source& in = *source_;
  int c = in.Peek();
  if (c < 0) {
    if (in.failed()) {
      return absl::DataLossError(
          absl::StrCat(name_, ": read error after line ", line_));
    }
    return false;
  }
  record_line_ = line_ + 1;
  // The current field: kept while n_fields_ < kEventLogFieldsKept, else
  // only measured. Bytes are appended in place, so a row costs no
  // allocation once the kept fields have grown to their sizes.
  std::string* field = &fields_[0];
  size_t field_size = 0;
  uint64_t row_bytes = 0;
  bool too_long = false;
  bool quoted = false;      // Inside a quoted field.
  bool was_quoted = false;  // The current field began with a quote.
  bool stray_quote = false;
  auto append = [&](int ch) {
    if (field_size >= kMaxFieldBytes) {
      too_long = true;
      return;
    }
    ++field_size;
    if (field != nullptr) field->push_back(static_cast<char>(ch));
  };
  auto end_field = [&] {
    ++n_fields_;
    field = nullptr;
    if (n_fields_ < kEventLogFieldsKept) {
      field = &fields_[n_fields_];
      field->clear();
    }
    field_size = 0;
    was_quoted = false;
  };
  // Every byte of the record goes through get(): the row's length is
  // checked before anything more is read.
  auto get = [&]() -> int {
    if (row_bytes == options_.max_row_bytes && in.Peek() >= 0) return -2;
    ++row_bytes;
    return in.Get();
  };
  while (true) {
    c = get();
    if (c == -2) {
      fatal_ = RowError(
          record_line_,
          absl::StrCat("the row is longer than ", options_.max_row_bytes,
                       " bytes (EventLogReader::Options.max_row_bytes); "
                       "reading stopped there"));
      return fatal_;
    }
    if (c < 0) {
      if (in.failed()) {
        return absl::DataLossError(
            absl::StrCat(name_, ": read error at line ", record_line_));
      }
      ++line_;
      if (quoted) {
        return RowError(record_line_, "unterminated quoted field");
      }
      end_field();
      break;
    }
    if (quoted) {
      if (c == '"') {
        if (in.Peek() == '"') {
          if (get() == -2) continue;  // Reported at the next get().
          append('"');
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        append(c);
      }
      continue;
    }
    if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line_;
      end_field();
      break;
    } else if (c == '\r' && in.Peek() == '\n') {
      continue;  // CRLF: the LF ends the record.
    } else if (c == '"') {
      if (field_size == 0 && !was_quoted) {
        quoted = true;
        was_quoted = true;
      } else {
        stray_quote = true;
      }
    } else {
      if (was_quoted) stray_quote = true;
      append(c);
    }
  }
  if (too_long) {
    return RowError(record_line_, absl::StrCat("a field is longer than ",
                                               kMaxFieldBytes, " bytes"));
  }
  if (stray_quote) {
    return RowError(record_line_,
                    "a quote inside an unquoted field (or text after a "
                    "closing quote)");
  }
  return true;
}

absl::Status EventLogReader::ReadHeader() {
  absl::StatusOr<bool> got = ReadRecord();
  if (!got.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": bad header: ", got.status().message()));
  }
  if (!*got) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": empty file; expected the header \"",
                     AbslView(kEventLogHeader), "\""));
  }
  std::string found;
  const uint64_t kept = std::min<uint64_t>(n_fields_, kEventLogFieldsKept);
  for (uint64_t i = 0; i < kept; ++i) {
    if (i > 0) found.push_back(',');
    found.append(fields_[i]);
  }
  if (n_fields_ > kept) {
    absl::StrAppend(&found, ",... (", n_fields_, " fields)");
  }
  // A UTF-8 byte order mark before the header is allowed.
  std::string_view seen = found;
  if (seen.substr(0, 3) == "\xEF\xBB\xBF") seen.remove_prefix(3);
  if (seen != kEventLogHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": line 1: the header must be \"",
                     AbslView(kEventLogHeader), "\", found ", Quoted(seen)));
  }
  return absl::OkStatus();
}

absl::Status CheckEpochMillis(int64_t ts_ms, std::string_view column,
                              std::string_view allow_option, bool allow_small) {
  if (ts_ms >= 0 && ts_ms < kMinLikelyEpochMs && !allow_small) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column ", AbslView(column), ": ", ts_ms,
        " looks like epoch seconds, not milliseconds (as milliseconds it is "
        "before 1973-03-03); multiply the column by 1000, or pass ",
        AbslView(allow_option), " if the log's clock really starts near 0"));
  }
  // Microseconds of a time since 2001-09-09 (1e12 ms): beyond that, the
  // value is more likely just out of range.
  if (ts_ms > kMaxTimestampMs && ts_ms / 1000 >= 1'000'000'000'000 &&
      ts_ms / 1000 <= kMaxTimestampMs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column ", AbslView(column), ": ", ts_ms,
        " looks like epoch microseconds, not milliseconds (as milliseconds "
        "it is after year 9999); divide the column by 1000"));
  }
  return absl::OkStatus();
}

absl::Status ParseLogRow(int64_t ts_ms, std::string_view visitor,
                         std::string_view event, std::string_view page,
                         std::string_view detail, LogEvent& out) {
  if (ts_ms < 0 || ts_ms > kMaxTimestampMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("ts_ms out of range [0, ", kMaxTimestampMs, "]: ", ts_ms));
  }
  std::optional<EventType> type = ParseEventType(event);
  if (!type) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown event ", Quoted(event)));
  }
  if (*type == EventType::kAgents) {
    if (!visitor.empty()) {
      return absl::InvalidArgumentError(
          "an agents row must have an empty visitor");
    }
  } else if (visitor.empty()) {
    return absl::InvalidArgumentError("visitor is empty");
  } else if (visitor.size() > kMaxVisitorIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("visitor is ", visitor.size(), " bytes, longer than ",
                     kMaxVisitorIdBytes));
  }
  out.count = 0;
  out.value = 0;
  out.channel = Channel::kUnspecified;
  switch (*type) {
    case EventType::kPageView:
      break;
    case EventType::kSearch:
    case EventType::kAgents: {
      int64_t n;
      if (!PlainInteger(detail) || !absl::SimpleAtoi(AbslView(detail), &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat(AbslView(EventTypeName(*type)),
                         " detail must be a count (an integer >= 0), "
                         "got ",
                         Quoted(detail)));
      }
      out.count = n;
      break;
    }
    case EventType::kCart:
    case EventType::kPurchase: {
      double v;
      if (!PlainDecimal(detail) || !absl::SimpleAtod(AbslView(detail), &v) ||
          v >= 1e15) {
        return absl::InvalidArgumentError(
            absl::StrCat(AbslView(EventTypeName(*type)),
                         " detail must be a money value (a plain "
                         "decimal >= 0 and < 1e15), got ",
                         Quoted(detail)));
      }
      out.value = v;
      break;
    }
    default: {
      std::optional<Channel> ch = ParseChannel(detail);
      if (!ch) {
        return absl::InvalidArgumentError(
            absl::StrCat(AbslView(EventTypeName(*type)),
                         " detail must be a channel (chat, call, "
                         "email, form or empty), got ",
                         Quoted(detail)));
      }
      out.channel = *ch;
      break;
    }
  }
  out.ts_ms = ts_ms;
  out.type = *type;
  out.visitor = visitor;
  out.page = page;
  out.detail = detail;
  out.line = 0;
  return absl::OkStatus();
}

absl::Status EventLogReader::ParseRow(LogEvent& out) const {
  const uint64_t line = record_line_;
  if (n_fields_ != 5) {
    return RowError(line,
                    absl::StrCat("expected 5 columns, got ", n_fields_));
  }
  const std::string& ts = fields_[0];
  int64_t ts_ms;
  const bool digits =
      PlainInteger(ts[0] == '-' ? std::string_view(ts).substr(1) : ts);
  if (!digits || !absl::SimpleAtoi(AbslView(ts), &ts_ms)) {
    return RowError(line,
                    absl::StrCat("ts_ms is not an integer: ", Quoted(ts)));
  }
  absl::Status unit = CheckEpochMillis(ts_ms, "ts_ms",
                                       "--allow-small-epoch (Python: "
                                       "allow_small_epoch=True)",
                                       options_.allow_small_epoch);
  if (!unit.ok()) return RowError(line, internal::StdView(unit.message()));
  absl::Status parsed =
      ParseLogRow(ts_ms, fields_[1], fields_[2], fields_[3], fields_[4], out);
  if (!parsed.ok()) return RowError(line, internal::StdView(parsed.message()));
  out.line = line;
  return absl::OkStatus();
}

absl::StatusOr<bool> EventLogReader::Next(LogEvent& out) {
  while (true) {
    if (!fatal_.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ": ", fatal_.message()));
    }
    absl::StatusOr<bool> got = ReadRecord();
    absl::Status bad;
    if (!got.ok()) {
      if (got.status().code() != absl::StatusCode::kInvalidArgument) {
        return got.status();  // I/O: never skipped.
      }
      if (!fatal_.ok()) continue;  // A row too long: never skipped.

      bad = got.status();
    } else if (!*got) {
      return false;
    } else if (n_fields_ == 1 && fields_[0].empty()) {
      continue;  // A blank line (often the last one).
    } else {
      bad = ParseRow(out);
      if (bad.ok()) {
        ++rows_;
        return true;
      }
    }
    absl::Status named =
        absl::InvalidArgumentError(absl::StrCat(name_, ": ", bad.message()));
    if (!options_.lenient) return named;
    ++skipped_;
    if (errors_.size() < options_.max_errors_kept) {
      errors_.emplace_back(named.message());
    }
  }
}

absl::StatusOr<std::vector<LogEvent>> ReadEventLog(
    const std::string& path, const EventLogReader::Options& options,
    EventLogReport& report,
    const std::function<void(uint64_t rows)>& progress) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::Open(path, options);
  if (!reader.ok()) return reader.status();
  std::vector<LogEvent> events;
  LogEvent e;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(e);
    if (!more.ok()) return more.status();
    if (!*more) break;
    events.push_back(std::move(e));
    if (progress && (events.size() & 0x3FFFF) == 0) progress(events.size());
  }
  report.skipped = (*reader)->skipped();
  report.errors = (*reader)->errors();
  return events;
}

absl::StatusOr<std::vector<LogEvent>> ReadEventLog(
    const std::string& path, const EventLogReader::Options& options,
    uint64_t* skipped) {
  EventLogReport report;
  absl::StatusOr<std::vector<LogEvent>> events =
      ReadEventLog(path, options, report);
  if (events.ok() && skipped != nullptr) *skipped = report.skipped;
  return events;
}

void SortByTime(std::vector<LogEvent>& events) {
  std::stable_sort(
      events.begin(), events.end(),
      [](const LogEvent& a, const LogEvent& b) { return a.ts_ms < b.ts_ms; });
}

std::string FormatLogRow(const LogEvent& e) {
  std::string row = absl::StrCat(e.ts_ms, ",");
  internal::AppendCsvField(row, e.visitor);
  row.push_back(',');
  row.append(EventTypeName(e.type));
  row.push_back(',');
  internal::AppendCsvField(row, e.page);
  row.push_back(',');
  internal::AppendCsvField(row, e.detail);
  return row;
}

EventLogWriter::EventLogWriter(std::FILE* file, bool owned, std::string path)
    : file_(file), owned_(owned), path_(std::move(path)) {}

EventLogWriter::~EventLogWriter() { (void)Close(); }

absl::StatusOr<std::unique_ptr<EventLogWriter>> EventLogWriter::Open(
    const std::string& path) {
  std::FILE* f = nullptr;
  bool owned = false;
  if (path == "-") {
    f = stdout;
  } else {
    f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot write event log ", path, ": ", std::strerror(errno)));
    }
    owned = true;
  }
  std::unique_ptr<EventLogWriter> w(new EventLogWriter(f, owned, path));
  const std::string header = absl::StrCat(AbslView(kEventLogHeader), "\n");
  if (std::fwrite(header.data(), 1, header.size(), f) != header.size()) {
    w->failed_ = true;
    return absl::DataLossError(absl::StrCat("cannot write event log ", path,
                                            ": ", std::strerror(errno)));
  }
  return w;
}

absl::Status EventLogWriter::Write(const LogEvent& e) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError("event log writer is closed");
  }
  row_ = FormatLogRow(e);
  row_.push_back('\n');
  if (std::fwrite(row_.data(), 1, row_.size(), file_) != row_.size()) {
    failed_ = true;
    return absl::DataLossError(absl::StrCat("cannot write event log ", path_,
                                            ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EventLogWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  bool ok = std::fflush(file_) == 0 && !failed_;
  if (owned_) ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) {
    return absl::DataLossError(absl::StrCat("cannot write event log ", path_));
  }
  return absl::OkStatus();
}

}  // namespace beckon
