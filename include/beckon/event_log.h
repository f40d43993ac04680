// The event log: reading and writing its CSV format (docs/event-log.md).
//
//   beckon::EventLogReader::Options options;   // strict by default
//   auto reader = beckon::EventLogReader::Open("events.csv", options);
//   if (!reader.ok()) { /* the file cannot be opened or its header is wrong */ }
//   beckon::LogEvent e;
//   while (true) {
//     absl::StatusOr<bool> more = (*reader)->Next(e);
//     if (!more.ok()) { /* "line 17: unknown event \"page_veiw\"" */ }
//     if (!*more) break;
//     engine->Observe(e.ToEvent());
//   }
//
// The reader streams: it holds one row at a time, so a file larger than
// memory can be read, and its memory is bounded whatever the input: at most
// the first kEventLogFieldsKept fields of a row are kept (the rest only
// counted), each at most 64 KiB, and a row longer than
// Options::max_row_bytes stops the read. Rows come in file order; consumers
// that need time order sort them (SortByTime is stable for ties, as the
// format requires).
//
// Thread safety: a reader or writer is used by one thread at a time.
#ifndef BECKON_EVENT_LOG_H_
#define BECKON_EVENT_LOG_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/event.h"

namespace beckon {

// One row of the event log, owning its strings, with `detail` parsed.
struct LogEvent {
  int64_t ts_ms = 0;
  EventType type = EventType::kPageView;
  std::string visitor;  // Empty only for kAgents.
  std::string page;
  std::string detail;   // As written: referrer, count, value or channel.
  int64_t count = 0;    // kSearch: results; kAgents: free agents.
  double value = 0;     // kCart, kPurchase.
  Channel channel = Channel::kUnspecified;
  uint64_t line = 0;    // Line number in the file it was read from (1-based;
                        // the header is line 1), or 0.

  // Returns an Event that points into this row's strings.
  Event ToEvent() const;
  // Returns the row for `event` (copying its strings; `detail` rendered).
  static LogEvent FromEvent(const Event& event);
};

// The header row of the format, without its line end.
inline constexpr std::string_view kEventLogHeader =
    "ts_ms,visitor,event,page,detail";

// Fields of a row the reader keeps: the format's 5 and a margin, so an
// error can show a few more of a wrong header. Further fields are counted
// ("expected 5 columns, got 19000001"), never stored.
inline constexpr size_t kEventLogFieldsKept = 8;

class EventLogReader {
 public:
  struct Options {
    // If set, bad rows are skipped and counted (skipped()) instead of
    // failing the read; the first few errors are kept (errors()). A bad
    // header and I/O errors still fail. Default: false (strict).
    bool lenient = false;
    // Errors kept in lenient mode. Default: 10.
    size_t max_errors_kept = 10;
    // Longest row read, in bytes, its line end (and the line ends inside
    // quoted fields) included. At the first byte beyond it the read stops
    // with an InvalidArgument error naming the line, in lenient mode too
    // (where such a row would end cannot be known without reading on): no
    // row is buffered whole. Default: 1 MiB, well above the longest good
    // row (5 fields of at most 64 KiB each, quoted). REQUIRES: >= 1.
    size_t max_row_bytes = size_t{1} << 20;
    // A timestamp below kMinLikelyEpochMs (before 1973-03-03 in ms) looks
    // like epoch seconds (every event would fall in January 1970, and
    // sessions, dwell and offer rates would come out as nonsense): such a
    // row is an error naming the column and the fix, unless this is set
    // (for logs on a deliberately small clock). Default: false.
    bool allow_small_epoch = false;
  };

  // Opens `path` and checks its header row. "-" reads standard input (a
  // pipe is fine there). A path must be a regular file (symlinks are
  // followed): a directory, FIFO, device or socket is rejected at once,
  // InvalidArgument naming it, without waiting for a writer or reading a
  // byte; a missing or unreadable file is NotFound.
  static absl::StatusOr<std::unique_ptr<EventLogReader>> Open(
      const std::string& path, const Options& options);
  // Reads from text already in memory (`name` is used in errors).
  static absl::StatusOr<std::unique_ptr<EventLogReader>> FromString(
      std::string text, const Options& options, std::string name = "<text>");
  ~EventLogReader();
  EventLogReader(const EventLogReader&) = delete;
  EventLogReader& operator=(const EventLogReader&) = delete;

  // Reads the next good row into `out`. Returns false at the end of the
  // input, or an InvalidArgument error naming the line and the problem
  // (strict mode; in lenient mode bad rows are skipped). After an error the
  // reader is at the next row, except after a row longer than
  // max_row_bytes: that ends the read (Next returns the error again).
  absl::StatusOr<bool> Next(LogEvent& out);

  // Rows skipped as bad (lenient mode), and the first of their errors.
  uint64_t skipped() const { return skipped_; }
  const std::vector<std::string>& errors() const { return errors_; }
  // Rows returned so far, and bytes consumed (for progress reports).
  uint64_t rows() const { return rows_; }
  uint64_t bytes_read() const;

 private:
  class Source;
  EventLogReader(std::unique_ptr<Source> source, std::string name,
                 const Options& options);
  absl::Status ReadHeader();
  // Reads one CSV record into fields_ (at most kEventLogFieldsKept of
  // them; n_fields_ counts all); false at end of input.
  absl::StatusOr<bool> ReadRecord();
  absl::Status ParseRow(LogEvent& out) const;

  std::unique_ptr<Source> source_;
  std::string name_;
  Options options_;
  // Reused from row to row: no allocation per field once they have grown.
  std::string fields_[kEventLogFieldsKept];
  uint64_t n_fields_ = 0;
  absl::Status fatal_;  // Set when the read cannot go on.
  uint64_t line_ = 0;         // Lines consumed so far.
  uint64_t record_line_ = 0;  // First line of the current record.
  uint64_t rows_ = 0;
  uint64_t skipped_ = 0;
  std::vector<std::string> errors_;
};

// Reads a whole log into memory (in file order). Fails on the first bad row
// unless `options.lenient`; `skipped`, if given, receives the skip count.
absl::StatusOr<std::vector<LogEvent>> ReadEventLog(
    const std::string& path, const EventLogReader::Options& options = {},
    uint64_t* skipped = nullptr);

// Parses one row given as its five fields (the reader's checks, without a
// line number): fills `out` (with line 0) or returns an InvalidArgument
// error naming the problem ("unknown event \"page_veiw\"").
absl::Status ParseLogRow(int64_t ts_ms, std::string_view visitor,
                         std::string_view event, std::string_view page,
                         std::string_view detail, LogEvent& out);

// Timestamps below this (1e11 ms: 1973-03-03) look like epoch seconds.
inline constexpr int64_t kMinLikelyEpochMs = 100'000'000'000;

// The wrong-unit check of the event log readers (the CSV reader's and the
// Python DataFrame path's): InvalidArgument, naming `column`, what the
// value looks like and the fix, for a time in [0, kMinLikelyEpochMs)
// (epoch seconds; unless `allow_small`; the message names `allow_option`,
// e.g. "--allow-small-epoch") and for one past year 9999 that is, in
// microseconds, a time after 2001-09-09. OK otherwise (the range check is the
// row parser's).
absl::Status CheckEpochMillis(int64_t ts_ms, std::string_view column,
                              std::string_view allow_option, bool allow_small);

// What ReadEventLog met besides the rows it returns.
struct EventLogReport {
  uint64_t skipped = 0;             // Bad rows skipped (lenient mode),
  std::vector<std::string> errors;  // and the first of their errors.
};

// As above, filling `report`, and calling `progress` (if set) with the rows
// read so far after every 262,144 rows.
absl::StatusOr<std::vector<LogEvent>> ReadEventLog(
    const std::string& path, const EventLogReader::Options& options,
    EventLogReport& report,
    const std::function<void(uint64_t rows)>& progress = nullptr);

// Sorts rows by ts_ms, keeping file order for ties.
void SortByTime(std::vector<LogEvent>& events);

// Writes the event log: the header, then one row per Write, quoted where a
// field needs it (RFC 4180), "\n" line ends.
class EventLogWriter {
 public:
  // Creates (or truncates) `path`; "-" writes standard output.
  static absl::StatusOr<std::unique_ptr<EventLogWriter>> Open(
      const std::string& path);
  ~EventLogWriter();
  EventLogWriter(const EventLogWriter&) = delete;
  EventLogWriter& operator=(const EventLogWriter&) = delete;

  absl::Status Write(const LogEvent& event);
  // Flushes and closes; reports any write error. Also done by the
  // destructor, which cannot report it.
  absl::Status Close();

 private:
  EventLogWriter(std::FILE* file, bool owned, std::string path);
  std::FILE* file_;
  bool owned_;
  std::string path_;
  std::string row_;
  bool failed_ = false;
};

// Returns one CSV row (no line end) for `event`.
std::string FormatLogRow(const LogEvent& event);

}  // namespace beckon

#endif  // BECKON_EVENT_LOG_H_
