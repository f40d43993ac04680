// Fuzz target: the event-log reader (EventLogReader::FromString and Next),
// strict and lenient.
//
// Whatever the text, the reader returns rows, errors or the end. Each row it
// returns writes back (FormatLogRow) as a row that reads again, and writing
// that again gives the same row: the writer and the reader agree.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "beckon/event_log.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using beckon::EventLogReader;
using beckon::LogEvent;
using beckon::fuzz::Fail;

// Returns the row read back from `row` (one formatted row after the header).
LogEvent ReadBack(const std::string& row) {
  auto reader = EventLogReader::FromString(
      std::string(beckon::kEventLogHeader) + "\n" + row + "\n", {});
  if (!reader.ok()) Fail("the header does not read:", reader.status().message());
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  if (!more.ok()) Fail("a written row does not read:", more.status().message());
  if (!*more) Fail("a written row reads as nothing:", row);
  return e;
}

void ReadAll(std::string text, bool lenient) {
  EventLogReader::Options options;
  options.lenient = lenient;
  auto reader = EventLogReader::FromString(std::move(text), options);
  if (!reader.ok()) return;
  LogEvent e;
  // After an error the reader is at the next row: go on, a bounded number
  // of times (a row is at least one byte, so the input bounds the rows).
  for (int i = 0; i < 100000; ++i) {
    absl::StatusOr<bool> more = (*reader)->Next(e);
    if (!more.ok()) continue;
    if (!*more) return;
    const std::string row = beckon::FormatLogRow(e);
    const LogEvent back = ReadBack(row);
    if (beckon::FormatLogRow(back) != row) Fail("row does not round-trip:", row);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trapped = beckon::fuzz::TrapProtobufLogs();
  (void)trapped;
  const std::string text(reinterpret_cast<const char*>(data), size);
  ReadAll(text, /*lenient=*/false);
  ReadAll(text, /*lenient=*/true);
  return 0;
}
