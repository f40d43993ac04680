// Fuzz target: the access-log converter (ConvertAccessLog), strict and
// lenient.
//
// Whatever the bytes, the converter returns rows or a named error. Lenient
// mode never fails on a line; strict mode succeeds only when lenient mode
// skipped nothing, with the same rows. Every row is a page_view in time
// order with a visitor of 1 to kMaxVisitorIdBytes bytes and a page starting
// with "/", and writes (FormatLogRow) as a row the event-log reader reads
// back to the same row: what the converter makes, beckon reads.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "beckon/convert.h"
#include "beckon/event.h"
#include "beckon/event_log.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using beckon::AccessLogOptions;
using beckon::AccessLogStats;
using beckon::LogEvent;
using beckon::fuzz::Fail;

// One file per process, rewritten for every input.
const std::string& InputPath() {
  static const std::string path = [] {
    char name[] = "/tmp/beckon_fuzz_access_XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) Fail("cannot make a temporary file");
    ::close(fd);
    return std::string(name);
  }();
  return path;
}

std::vector<LogEvent> Convert(bool lenient,
                              absl::StatusOr<AccessLogStats>& st) {
  AccessLogOptions o;
  o.lenient = lenient;
  std::vector<LogEvent> rows;
  st = beckon::ConvertAccessLog(InputPath(), o, [&](const LogEvent& e) {
    rows.push_back(e);
    return absl::OkStatus();
  });
  return rows;
}

void CheckRow(const LogEvent& e, int64_t& last_ts) {
  if (e.type != beckon::EventType::kPageView) Fail("a row is no page_view");
  if (e.visitor.empty() || e.visitor.size() > beckon::kMaxVisitorIdBytes) {
    Fail("a visitor id is empty or too long:", e.visitor);
  }
  if (e.page.empty() || e.page[0] != '/') Fail("a page is no path:", e.page);
  if (e.ts_ms < last_ts) Fail("rows are not in time order");
  last_ts = e.ts_ms;
  const std::string row = beckon::FormatLogRow(e);
  auto reader = beckon::EventLogReader::FromString(
      std::string(beckon::kEventLogHeader) + "\n" + row + "\n", {});
  if (!reader.ok()) Fail("the header does not read");
  LogEvent back;
  absl::StatusOr<bool> more = (*reader)->Next(back);
  if (!more.ok())
    Fail("a converted row does not read:", more.status().message());
  if (!*more || beckon::FormatLogRow(back) != row) {
    Fail("a converted row does not read back the same:", row);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trapped = beckon::fuzz::TrapProtobufLogs();
  (void)trapped;
  {
    std::FILE* f = std::fopen(InputPath().c_str(), "wb");
    if (f == nullptr) Fail("cannot write the input file");
    if (size > 0 && std::fwrite(data, 1, size, f) != size) Fail("short write");
    std::fclose(f);
  }
  absl::StatusOr<AccessLogStats> lenient_st, strict_st;
  const std::vector<LogEvent> lenient = Convert(true, lenient_st);
  if (!lenient_st.ok())
    Fail("lenient mode failed:", lenient_st.status().message());
  const AccessLogStats& s = *lenient_st;
  if (s.page_views + s.skipped_method + s.skipped_status + s.skipped_not_page +
          s.skipped_crawlers + s.malformed !=
      s.rows_read) {
    Fail("the counts do not add up to the lines read");
  }
  if (lenient.size() != s.page_views) Fail("page_views is not the rows sent");
  int64_t last_ts = INT64_MIN;
  for (const LogEvent& e : lenient) CheckRow(e, last_ts);
  const std::vector<LogEvent> strict = Convert(false, strict_st);
  if (strict_st.ok() != (s.malformed == 0)) {
    Fail("strict mode and lenient mode disagree on a malformed line");
  }
  if (strict_st.ok() && strict.size() != lenient.size()) {
    Fail("strict mode kept other rows than lenient mode");
  }
  if (!strict_st.ok() && !strict.empty()) Fail("a failed run sent rows");
  return 0;
}
