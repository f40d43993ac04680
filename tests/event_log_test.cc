// Tests of the event log reader and writer (include/beckon/event_log.h)
// against the format of docs/event-log.md.
#include "beckon/event_log.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "beckon/event.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Every operator new of this test binary is counted, so a test can measure
// the peak of heap bytes live while the reader runs (deterministic, unlike
// the RSS). Array and sized forms fall back to these.
namespace {
std::atomic<int64_t> g_heap_live{0};
std::atomic<int64_t> g_heap_peak{0};

void CountAlloc(void* p) {
  const auto n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t live = g_heap_live.fetch_add(n) + n;
  int64_t peak = g_heap_peak.load();
  while (live > peak && !g_heap_peak.compare_exchange_weak(peak, live)) {
  }
}
}  // namespace

// GCC takes malloc/free inside a replaced operator new/delete for a
// mismatch once they are inlined into their callers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  CountAlloc(p);
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_heap_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
// Every other replaceable form too, so that whatever allocates (the nothrow
// form: std::stable_sort's buffer) frees through the delete above: under
// AddressSanitizer a mix of its new and this free is a reported mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p != nullptr) CountAlloc(p);
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  operator delete(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  operator delete(p);
}
#pragma GCC diagnostic pop

namespace beckon {
namespace {

// Runs `fn` and returns the peak growth of live heap bytes during it.
template <typename Fn>
int64_t PeakHeapGrowth(Fn fn) {
  const int64_t base = g_heap_live.load();
  g_heap_peak.store(base);
  fn();
  return g_heap_peak.load() - base;
}

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kHeader[] = "ts_ms,visitor,event,page,detail\n";

// A file in the test's temporary directory, removed when it goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((std::filesystem::path(::testing::TempDir()) /
               absl::StrCat("event_log_test_", ::getpid(), "_", name))
                  .string()) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

  void Write(const std::string& text) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    ASSERT_TRUE(out) << "cannot write " << path_;
  }

  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in),
                       std::istreambuf_iterator<char>());
  }

 private:
  std::string path_;
};

// Most tests here are about the CSV and the row checks, on rows whose
// clock starts near 0 ("1,v1,page_view,..."): they read with the
// wrong-unit guard off. The guard has tests of its own (EpochGuard below).
EventLogReader::Options SmallClock() {
  EventLogReader::Options options;
  options.allow_small_epoch = true;
  return options;
}

EventLogReader::Options Lenient(size_t max_errors_kept = 10) {
  EventLogReader::Options options = SmallClock();
  options.lenient = true;
  options.max_errors_kept = max_errors_kept;
  return options;
}

// Reads every row of `reader`; the first error, if any, is returned.
absl::StatusOr<std::vector<LogEvent>> ReadAll(EventLogReader& reader) {
  std::vector<LogEvent> rows;
  LogEvent e;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(e);
    if (!more.ok()) return more.status();
    if (!*more) return rows;
    rows.push_back(e);
  }
}

// Reads `text` (which must have a good header) in strict mode, on a small
// clock.
absl::StatusOr<std::vector<LogEvent>> ReadText(const std::string& text) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(text, SmallClock());
  if (!reader.ok()) return reader.status();
  return ReadAll(**reader);
}

// Checks that `bad_row`, between two good rows, is rejected in strict mode
// with an InvalidArgument error "line 3: <...want...>", and that the reader
// then goes on with the good row after it.
void ExpectRowRejected(const std::string& bad_row, const std::string& want) {
  SCOPED_TRACE(absl::StrCat("bad row: ", bad_row));
  const std::string text =
      absl::StrCat(kHeader, "1700000000000,before,page_view,/a,\n", bad_row,
                   "\n1700000000002,after,page_view,/b,\n");
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(text, SmallClock(), "events.csv");
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(*more);
  EXPECT_EQ(e.visitor, "before");

  more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok()) << "the bad row was accepted";
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(more.status().message(), HasSubstr("events.csv"));
  EXPECT_THAT(more.status().message(), HasSubstr("line 3: "));
  EXPECT_THAT(more.status().message(), HasSubstr(want));

  // After the error the reader is at the next row.
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(*more);
  EXPECT_EQ(e.visitor, "after");
  EXPECT_EQ(e.line, 4u);
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_FALSE(*more);
  EXPECT_EQ((*reader)->rows(), 2u);
}

// Checks that `row` alone after the header is read without error.
void ExpectRowAccepted(const std::string& row) {
  SCOPED_TRACE(absl::StrCat("row: ", row));
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadText(absl::StrCat(kHeader, row, "\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1u);
}

void ExpectSameFields(const LogEvent& got, const LogEvent& want) {
  EXPECT_EQ(got.ts_ms, want.ts_ms);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.visitor, want.visitor);
  EXPECT_EQ(got.page, want.page);
  EXPECT_EQ(got.detail, want.detail);
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(got.value, want.value);
  EXPECT_EQ(got.channel, want.channel);
}

// --- Reading: CSV (RFC 4180) ---------------------------------------------

TEST(EventLogReader, ReadsTheExampleOfTheFormatDocument) {
  absl::StatusOr<std::vector<LogEvent>> rows = ReadText(
      "ts_ms,visitor,event,page,detail\n"
      "1700000000000,v1,page_view,/,https://www.google.com/search?q=red+shoes\n"
      "1700000012000,v1,search,/search?q=red+shoes+size+46,0\n"
      "1700000030000,v1,page_view,/help/sizes,\n"
      "1700000095000,v1,help_contact,/help/sizes,chat\n"
      "1700000000000,,agents,,3\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 5u);
  const std::vector<LogEvent>& r = *rows;
  EXPECT_EQ(r[0].ts_ms, 1700000000000);
  EXPECT_EQ(r[0].type, EventType::kPageView);
  EXPECT_EQ(r[0].visitor, "v1");
  EXPECT_EQ(r[0].page, "/");
  EXPECT_EQ(r[0].detail, "https://www.google.com/search?q=red+shoes");
  EXPECT_EQ(r[1].type, EventType::kSearch);
  EXPECT_EQ(r[1].page, "/search?q=red+shoes+size+46");
  EXPECT_EQ(r[1].count, 0);
  EXPECT_EQ(r[2].detail, "");
  EXPECT_EQ(r[3].type, EventType::kHelpContact);
  EXPECT_EQ(r[3].channel, Channel::kChat);
  EXPECT_EQ(r[4].type, EventType::kAgents);
  EXPECT_EQ(r[4].visitor, "");
  EXPECT_EQ(r[4].page, "");
  EXPECT_EQ(r[4].count, 3);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].line, i + 2);
}

TEST(EventLogReader, QuotedFieldMayHoldCommasQuotesAndNewlines) {
  absl::StatusOr<std::vector<LogEvent>> rows = ReadText(absl::StrCat(
      kHeader,
      "1,\"v,1\",page_view,\"/p?a=1,2\",\"say \"\"hi\"\", then\nleave\"\n",
      "2,\"\",agents,\"\",\"7\"\n", "\"3\",v2,\"search\",/s,\"\"\"\"\"\"\n"));
  // The last row's detail is two quotes: not a count.
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("line 5: "));
  EXPECT_THAT(rows.status().message(), HasSubstr("search detail"));

  rows = ReadText(absl::StrCat(
      kHeader,
      "1,\"v,1\",page_view,\"/p?a=1,2\",\"say \"\"hi\"\", then\nleave\"\n",
      "2,\"\",agents,\"\",\"7\"\n", "\"3\",v2,\"page_view\",/s,\"\"\"\"\"\"\n",
      "4,v3,page_view,\"\r\n\",x\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].visitor, "v,1");
  EXPECT_EQ((*rows)[0].page, "/p?a=1,2");
  EXPECT_EQ((*rows)[0].detail, "say \"hi\", then\nleave");
  EXPECT_EQ((*rows)[1].visitor, "");
  EXPECT_EQ((*rows)[1].page, "");
  EXPECT_EQ((*rows)[1].count, 7);
  EXPECT_EQ((*rows)[2].ts_ms, 3);
  EXPECT_EQ((*rows)[2].detail, "\"\"");
  // A CRLF inside quotes is data, not a line end.
  EXPECT_EQ((*rows)[3].page, "\r\n");
  EXPECT_EQ((*rows)[3].detail, "x");
}

TEST(EventLogReader, LineNumbersCountPhysicalLinesAfterEmbeddedNewlines) {
  const std::string text =
      absl::StrCat(kHeader,                                    // line 1
                   "1,v1,page_view,/a,\"one\ntwo\nthree\"\n",  // lines 2-4
                   "2,v1,page_view,/b,\n",                     // line 5
                   "3,v1,page_view,\"/c\r\n\r\n\",\n",         // lines 6-8
                   "4,v1,page_view,/d,\n",                     // line 9
                   "5,v1,page_veiw,/e,\n");                    // line 10
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(text, SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<uint64_t> lines;
  LogEvent e;
  absl::StatusOr<bool> more;
  while ((more = (*reader)->Next(e)).ok() && *more) lines.push_back(e.line);
  EXPECT_THAT(lines, ElementsAre(2u, 5u, 6u, 9u));
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(), HasSubstr("line 10: unknown event"));
}

TEST(EventLogReader, AcceptsCrLfAndLfLineEndsAlike) {
  const std::string crlf =
      "ts_ms,visitor,event,page,detail\r\n"
      "1,v1,help_contact,/a,chat\r\n"
      "2,v1,search,/s,12\r\n"
      "3,v1,cart,/c,59.9\r\n";
  const std::string lf =
      "ts_ms,visitor,event,page,detail\n"
      "1,v1,help_contact,/a,chat\n"
      "2,v1,search,/s,12\r\n"  // Mixed line ends are fine too.
      "3,v1,cart,/c,59.9\n";
  for (const std::string& text : {crlf, lf}) {
    absl::StatusOr<std::vector<LogEvent>> rows = ReadText(text);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0].detail, "chat");  // No '\r' left in the field.
    EXPECT_EQ((*rows)[0].channel, Channel::kChat);
    EXPECT_EQ((*rows)[1].count, 12);
    EXPECT_EQ((*rows)[2].detail, "59.9");
    EXPECT_EQ((*rows)[2].line, 4u);
  }
}

TEST(EventLogReader, LastRowWithoutLineEndIsRead) {
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadText(absl::StrCat(kHeader, "1,v1,page_view,/a,\n2,v1,cart,/c,5"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].value, 5.0);
  EXPECT_EQ((*rows)[1].line, 3u);

  rows =
      ReadText("ts_ms,visitor,event,page,detail\r\n1,v1,offer_shown,/a,call");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].channel, Channel::kCall);
}

TEST(EventLogReader, BlankLastLineIsIgnored) {
  for (const std::string& text :
       {absl::StrCat(kHeader, "1,v1,page_view,/a,\n\n"),
        std::string("ts_ms,visitor,event,page,detail\r\n"
                    "1,v1,page_view,/a,\r\n\r\n")}) {
    absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
        EventLogReader::FromString(text, SmallClock());
    ASSERT_TRUE(reader.ok()) << reader.status();
    absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(rows->size(), 1u);
    EXPECT_EQ((*reader)->rows(), 1u);
    EXPECT_EQ((*reader)->skipped(), 0u);
  }
}

TEST(EventLogReader, HeaderOnlyFileHasNoRows) {
  for (const std::string& text :
       {std::string(kHeader), std::string("ts_ms,visitor,event,page,detail"),
        std::string("ts_ms,visitor,event,page,detail\r\n")}) {
    absl::StatusOr<std::vector<LogEvent>> rows = ReadText(text);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_TRUE(rows->empty());
  }
}

TEST(EventLogReader, Utf8ByteOrderMarkBeforeHeaderIsAccepted) {
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadText(absl::StrCat("\xEF\xBB\xBF", kHeader, "1,v1,page_view,/a,\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].ts_ms, 1);
  EXPECT_EQ((*rows)[0].line, 2u);

  TempFile file("bom.csv");
  file.Write(absl::StrCat("\xEF\xBB\xBF", "ts_ms,visitor,event,page,detail\r\n",
                          "1,v1,page_view,/a,\r\n"));
  absl::StatusOr<std::vector<LogEvent>> from_file =
      ReadEventLog(file.path(), SmallClock());
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->size(), 1u);
}

// --- Reading: the header -------------------------------------------------

TEST(EventLogReader, WrongHeaderFailsNamingWhatWasFound) {
  struct Case {
    std::string header;
    std::string found;
  };
  for (const Case& c : std::vector<Case>{
           {"ts,visitor,event,page,detail\n", "ts,visitor,event,page,detail"},
           {"visitor,ts_ms,event,page,detail\n",
            "visitor,ts_ms,event,page,detail"},
           {"ts_ms,visitor,event,page\n", "ts_ms,visitor,event,page"},
           {"ts_ms,visitor,event,page,detail,extra\n",
            "ts_ms,visitor,event,page,detail,extra"},
           {"TS_MS,VISITOR,EVENT,PAGE,DETAIL\n",
            "TS_MS,VISITOR,EVENT,PAGE,DETAIL"},
           {"1,v1,page_view,/a,\n", "1,v1,page_view,/a,"},
       }) {
    SCOPED_TRACE(c.header);
    absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
        EventLogReader::FromString(c.header + "1,v1,page_view,/a,\n",
                                   SmallClock(), "shop.csv");
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(reader.status().message(), HasSubstr("shop.csv"));
    EXPECT_THAT(reader.status().message(), HasSubstr("line 1"));
    EXPECT_THAT(reader.status().message(),
                HasSubstr("\"ts_ms,visitor,event,page,detail\""));
    EXPECT_THAT(reader.status().message(),
                HasSubstr(absl::StrCat("found \"", c.found, "\"")));
  }
}

TEST(EventLogReader, WrongHeaderFailsInLenientModeToo) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString("a,b,c,d,e\n1,v1,page_view,/a,\n", Lenient());
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("found \"a,b,c,d,e\""));
}

TEST(EventLogReader, EmptyFileFailsClearly) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString("", SmallClock(), "empty.csv");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reader.status().message(), HasSubstr("empty.csv"));
  EXPECT_THAT(reader.status().message(), HasSubstr("empty file"));
  EXPECT_THAT(reader.status().message(), HasSubstr(kEventLogHeader.data()));

  TempFile file("empty.csv");
  file.Write("");
  absl::StatusOr<std::unique_ptr<EventLogReader>> from_file =
      EventLogReader::Open(file.path(), Lenient());
  ASSERT_FALSE(from_file.ok());
  EXPECT_THAT(from_file.status().message(), HasSubstr(file.path()));
  EXPECT_THAT(from_file.status().message(), HasSubstr("empty file"));
}

// --- Reading: bad rows (strict) -------------------------------------------

TEST(EventLogReader, NonIntegerTimestampIsABadRow) {
  ExpectRowRejected("abc,v1,page_view,/a,", "ts_ms is not an integer: \"abc\"");
  ExpectRowRejected(",v1,page_view,/a,", "ts_ms is not an integer: \"\"");
  ExpectRowRejected("1700000000000.5,v1,page_view,/a,",
                    "ts_ms is not an integer");
  ExpectRowRejected("1.7e12,v1,page_view,/a,", "ts_ms is not an integer");
  ExpectRowRejected("0x10,v1,page_view,/a,", "ts_ms is not an integer");
  // Beyond int64.
  ExpectRowRejected("99999999999999999999,v1,page_view,/a,",
                    "ts_ms is not an integer");
}

TEST(EventLogReader, PaddedOrSignedTimestampIsNotAnInteger) {
  // RFC 4180: spaces are part of a field. The format never guesses.
  ExpectRowRejected(" 1700000000000,v1,page_view,/a,",
                    "ts_ms is not an integer");
  ExpectRowRejected("1700000000000 ,v1,page_view,/a,",
                    "ts_ms is not an integer");
  ExpectRowRejected("+1700000000000,v1,page_view,/a,",
                    "ts_ms is not an integer");
}

TEST(EventLogReader, NegativeOrOutOfRangeTimestampIsABadRow) {
  ExpectRowRejected("-1,v1,page_view,/a,", "ts_ms out of range");
  ExpectRowRejected("-1,v1,page_view,/a,", "-1");
  // One millisecond after the end of year 9999.
  ExpectRowRejected("253402300800000,v1,page_view,/a,",
                    "ts_ms out of range [0, 253402300799999]: 253402300800000");
  ExpectRowAccepted("253402300799999,v1,page_view,/a,");
  ExpectRowAccepted("0,v1,page_view,/a,");
}

TEST(EventLogReader, UnknownEventIsABadRow) {
  ExpectRowRejected("1,v1,page_veiw,/a,", "unknown event \"page_veiw\"");
  ExpectRowRejected("1,v1,Page_View,/a,", "unknown event \"Page_View\"");
  ExpectRowRejected("1,v1,,/a,", "unknown event \"\"");
  ExpectRowRejected("1,v1, page_view,/a,", "unknown event \" page_view\"");
}

TEST(EventLogReader, EmptyVisitorIsABadRowExceptForAgents) {
  for (const char* row :
       {"1,,page_view,/a,", "1,,search,/s,0", "1,,cart,/c,1",
        "1,,help_contact,/a,chat", "1,,offer_shown,/a,chat",
        "1,,offer_accepted,/a,chat", "1,,offer_declined,/a,chat",
        "1,,offer_ignored,/a,chat", "1,,purchase,/a,1"}) {
    ExpectRowRejected(row, "visitor is empty");
  }
  ExpectRowAccepted("1,,agents,,0");
}

TEST(EventLogReader, VisitorLongerThan128BytesIsABadRow) {
  ExpectRowAccepted(absl::StrCat("1,", std::string(128, 'v'), ",page_view,/,"));
  ExpectRowRejected(absl::StrCat("1,", std::string(129, 'v'), ",page_view,/,"),
                    "visitor is 129 bytes, longer than 128");
  // Bytes, not characters: 43 three-byte characters are 129 bytes.
  std::string euros;
  for (int i = 0; i < 43; ++i) euros += "\xE2\x82\xAC";
  ExpectRowRejected(absl::StrCat("1,", euros, ",cart,/c,1"),
                    "visitor is 129 bytes");
}

TEST(EventLogReader, VisitorOnAgentsRowIsABadRow) {
  ExpectRowRejected("1,v1,agents,,3",
                    "an agents row must have an empty visitor");
}

TEST(EventLogReader, SearchAndAgentsDetailMustBeANonNegativeInteger) {
  for (const char* detail : {"", "-1", "2.5", "x", "1e3", "3 agents"}) {
    ExpectRowRejected(absl::StrCat("1,v1,search,/s,", detail),
                      absl::StrCat("search detail must be a count (an integer "
                                   ">= 0), got \"",
                                   detail, "\""));
    ExpectRowRejected(absl::StrCat("1,,agents,,", detail),
                      absl::StrCat("agents detail must be a count (an integer "
                                   ">= 0), got \"",
                                   detail, "\""));
  }
  ExpectRowAccepted("1,v1,search,/s,0");
  ExpectRowAccepted("1,,agents,,0");
}

TEST(EventLogReader, CartAndPurchaseDetailMustBeAFiniteNonNegativeNumber) {
  for (const char* detail :
       {"nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-0.01", "-5", "",
        "abc", "12,50", "$12", "12 EUR"}) {
    ExpectRowRejected(absl::StrCat("1,v1,cart,/c,\"", detail, "\""),
                      absl::StrCat("cart detail must be a money value (a "
                                   "plain decimal >= 0 and < 1e15), got \"",
                                   detail, "\""));
    ExpectRowRejected(absl::StrCat("1,v1,purchase,/p,\"", detail, "\""),
                      "purchase detail must be a money value");
  }
  ExpectRowAccepted("1,v1,cart,/c,0");
  ExpectRowAccepted("1,v1,purchase,/p,1234.56");
}

TEST(EventLogReader, UnknownChannelIsABadRow) {
  for (const char* event : {"help_contact", "offer_shown", "offer_accepted",
                            "offer_declined", "offer_ignored"}) {
    ExpectRowRejected(absl::StrCat("1,v1,", event, ",/a,sms"),
                      absl::StrCat(event,
                                   " detail must be a channel (chat, call, "
                                   "email, form or empty), got \"sms\""));
    ExpectRowRejected(absl::StrCat("1,v1,", event, ",/a,Chat"), "got \"Chat\"");
  }
}

TEST(EventLogReader, WrongColumnCountIsABadRow) {
  ExpectRowRejected("1,v1,page_view,/a", "expected 5 columns, got 4");
  ExpectRowRejected("1,v1,page_view,/a,,", "expected 5 columns, got 6");
  ExpectRowRejected("1", "expected 5 columns, got 1");
  // A row of spaces is not a blank line.
  ExpectRowRejected("   ", "expected 5 columns, got 1");
}

TEST(EventLogReader, UnterminatedQuoteIsABadRowThatEndsTheInput) {
  const std::string text =
      absl::StrCat(kHeader, "1,v1,page_view,/a,\n", "2,v1,page_view,\"/b,\n",
                   "3,v1,page_view,/c,\n");
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(text, SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more);
  more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(more.status().message(),
              HasSubstr("line 3: unterminated quoted field"));
  // The open quote swallowed the rest of the input: nothing is left.
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_FALSE(*more);
}

TEST(EventLogReader, StrayQuoteInsideAnUnquotedFieldIsABadRow) {
  ExpectRowRejected("1,v\"1,page_view,/a,",
                    "line 3: a quote inside an unquoted field");
  ExpectRowRejected("1,v1,page_view,/a,say \"hi\"",
                    "a quote inside an unquoted field");
  // Text after a closing quote.
  ExpectRowRejected("1,\"v1\"x,page_view,/a,", "text after a closing quote");
  ExpectRowRejected("1,\"v1\" ,page_view,/a,", "text after a closing quote");
}

TEST(EventLogReader, FieldLongerThan64KiBIsABadRow) {
  constexpr size_t kMax = 64 * 1024;
  ExpectRowAccepted(
      absl::StrCat("1,v1,page_view,/", std::string(kMax - 1, 'p'), ","));
  ExpectRowRejected(
      absl::StrCat("1,v1,page_view,/", std::string(kMax, 'p'), ","),
      "a field is longer than 65536 bytes");
  ExpectRowRejected(
      absl::StrCat("1,v1,page_view,/a,\"", std::string(kMax + 1, 'r'), "\""),
      "a field is longer than 65536 bytes");
  ExpectRowAccepted(
      absl::StrCat("1,v1,page_view,/a,\"", std::string(kMax - 1, 'r'), "\n\""));

  // Spanning lines: refused, the reader goes on, and later line numbers hold.
  const std::string text = absl::StrCat(kHeader, "1,v1,page_view,/a,\"x\ny\n",
                                        std::string(kMax, 'z'),
                                        "\"\n",                   // lines 2-4
                                        "2,v1,page_view,/b,\n");  // line 5
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(text, SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(),
              HasSubstr("line 2: a field is longer than 65536 bytes"));
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(e.page, "/b");
  EXPECT_EQ(e.line, 5u);
}

// --- Bounded reading (issue 12, item 8) ----------------------------------

constexpr size_t k19MB = size_t{19} << 20;
constexpr int64_t kBoundedHeap = int64_t{4} << 20;  // Field caps, buffers.

// Reads all of `path` with `options`; returns the first error (or OK) and
// the rows read; *peak gets the heap growth meanwhile.
absl::Status ReadFileBounded(const std::string& path,
                             const EventLogReader::Options& options,
                             std::vector<LogEvent>* rows, int64_t* peak) {
  absl::Status status;
  *peak = PeakHeapGrowth([&] {
    absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
        EventLogReader::Open(path, options);
    if (!reader.ok()) {
      status = reader.status();
      return;
    }
    LogEvent e;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->Next(e);
      if (!more.ok()) {
        status = more.status();
        return;
      }
      if (!*more) return;
      rows->push_back(e);
    }
  });
  return status;
}

// A 19 MB row of commas kept 19 million empty fields (1 GB at its peak)
// before the reader counted them.
TEST(EventLogReader, RowOfMillionsOfCommasFailsInBoundedMemory) {
  TempFile file("commas.csv");
  file.Write(absl::StrCat(kHeader, std::string(k19MB, ','), "\n",
                          "1,v1,page_view,/after,\n"));
  std::vector<LogEvent> rows;
  int64_t peak = 0;
  // By default the row is longer than max_row_bytes: the read stops.
  absl::Status s = ReadFileBounded(file.path(), Lenient(), &rows, &peak);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat(file.path(),
                                     ": line 2: the row is longer than "
                                     "1048576 bytes")));
  EXPECT_THAT(s.message(), HasSubstr("EventLogReader::Options.max_row_bytes"));
  EXPECT_LT(peak, kBoundedHeap);
  EXPECT_TRUE(rows.empty());

  // With room for the row, its fields are counted, not kept: a bad row,
  // skipped in lenient mode, and the next row is read.
  EventLogReader::Options roomy = Lenient();
  roomy.max_row_bytes = size_t{64} << 20;
  rows.clear();
  s = ReadFileBounded(file.path(), roomy, &rows, &peak);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_LT(peak, kBoundedHeap);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].page, "/after");
  absl::StatusOr<std::unique_ptr<EventLogReader>> strict =
      EventLogReader::Open(file.path(), [] {
        EventLogReader::Options o = SmallClock();
        o.max_row_bytes = size_t{64} << 20;
        return o;
      }());
  ASSERT_TRUE(strict.ok()) << strict.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*strict)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(),
              HasSubstr(absl::StrCat("line 2: expected 5 columns, got ",
                                     k19MB + 1)));
}

TEST(EventLogReader, RowOfOne19MBFieldFailsInBoundedMemory) {
  TempFile file("field.csv");
  file.Write(absl::StrCat(kHeader, "1,v1,page_view,/", std::string(k19MB, 'p'),
                          ",\n"));
  std::vector<LogEvent> rows;
  int64_t peak = 0;
  absl::Status s = ReadFileBounded(file.path(), {}, &rows, &peak);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("line 2: the row is longer than 1048576 bytes"));
  EXPECT_LT(peak, kBoundedHeap);
  // Quoted, doubled quotes and all.
  file.Write(absl::StrCat(kHeader, "1,v1,page_view,/a,\"",
                          std::string(k19MB, '"'), "\"\n"));
  s = ReadFileBounded(file.path(), {}, &rows, &peak);
  EXPECT_THAT(s.message(),
              HasSubstr("line 2: the row is longer than 1048576 bytes"));
  EXPECT_LT(peak, kBoundedHeap);
  // With room for the row, the field cap (64 KiB) holds.
  EventLogReader::Options roomy = SmallClock();
  roomy.max_row_bytes = size_t{64} << 20;
  s = ReadFileBounded(file.path(), roomy, &rows, &peak);
  EXPECT_THAT(s.message(),
              HasSubstr("line 2: a field is longer than 65536 bytes"));
  EXPECT_LT(peak, kBoundedHeap);
  EXPECT_TRUE(rows.empty());
}

TEST(EventLogReader, MaxRowBytesCountsTheLineEndAndIsInclusive) {
  // 37 bytes, then "\n"; longer than the header, which the limit holds too.
  const std::string row = absl::StrCat("1,v1,page_view,/", std::string(20, 'a'),
                                       ",");
  ASSERT_EQ(row.size(), 37u);
  EventLogReader::Options o = SmallClock();
  o.max_row_bytes = row.size() + 1;
  for (const std::string& end : {std::string("\n"), std::string()}) {
    absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
        EventLogReader::FromString(absl::StrCat(kHeader, row, end), o);
    ASSERT_TRUE(reader.ok()) << reader.status();
    absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(rows->size(), 1u);
  }
  o.max_row_bytes = row.size();
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(
          absl::StrCat(kHeader, row, "\n2,v1,page_view,/b,\n"), o);
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(),
              HasSubstr("line 2: the row is longer than 37 bytes"));
  // The read is over: the same error again, in lenient mode too.
  more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(), HasSubstr("line 2: the row is longer"));
  o.lenient = true;
  reader = EventLogReader::FromString(
      absl::StrCat(kHeader, row, "\n2,v1,page_view,/b,\n"), o);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(ReadAll(**reader).ok());
  // A header longer than the limit.
  o.max_row_bytes = 10;
  EXPECT_THAT(EventLogReader::FromString(kHeader, o).status().message(),
              HasSubstr("bad header: line 1: the row is longer than 10 bytes"));
  o.max_row_bytes = 0;
  EXPECT_THAT(EventLogReader::FromString(kHeader, o).status().message(),
              HasSubstr("max_row_bytes must be >= 1"));
}

TEST(EventLogReader, HeaderWithManyFieldsShowsTheFirstAndTheCount) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(absl::StrCat(std::string(100000, ','), "\n"),
                                 SmallClock());
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(),
              HasSubstr(",,,,,,,,... (100001 fields)"));
}

// What Open(path) says, run in a child process that SIGALRM ends after 10 s:
// a reader that blocks (a FIFO without a writer) or reads forever
// (/dev/zero) fails the test instead of hanging it.
std::string OpenInChild(const std::string& path, int stdin_fd = -1) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    ::alarm(10);
    if (stdin_fd >= 0) ::dup2(stdin_fd, STDIN_FILENO);
    absl::StatusOr<std::unique_ptr<EventLogReader>> r =
        EventLogReader::Open(path, SmallClock());
    const std::string out =
        r.ok() ? std::string("OK")
               : absl::StrCat(absl::StatusCodeToString(r.status().code()),
                              ": ", r.status().message());
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof(buf))) > 0;) {
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status),
                        " (Open did not return within 10 s)");
  }
  return got;
}

TEST(EventLogReader, FifoOrDeviceIsRefusedAtOnce) {
  const std::string fifo =
      (std::filesystem::path(::testing::TempDir()) /
       absl::StrCat("event_log_test_", ::getpid(), "_fifo.csv"))
          .string();
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string got = OpenInChild(fifo);
  ::unlink(fifo.c_str());
  EXPECT_EQ(got, absl::StrCat("INVALID_ARGUMENT: cannot read event log ",
                              fifo, ": it is a FIFO, not a regular file"));
  EXPECT_EQ(OpenInChild("/dev/zero"),
            "INVALID_ARGUMENT: cannot read event log /dev/zero: it is a "
            "character device, not a regular file");
}

TEST(EventLogReader, EndlessStandardInputStopsAtMaxRowBytes) {
  const int zero = ::open("/dev/zero", O_RDONLY);
  ASSERT_GE(zero, 0);
  const std::string got = OpenInChild("-", zero);
  ::close(zero);
  EXPECT_THAT(got, HasSubstr("INVALID_ARGUMENT: -: bad header: line 1: the "
                             "row is longer than 1048576 bytes"));
}

TEST(EventLogReader, RowErrorsNameTheSourceAndTheLine) {
  TempFile file("named.csv");
  file.Write(absl::StrCat(kHeader, "1,v1,page_view,/a,\n1,v1,nope,/a,\n"));
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), SmallClock());
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rows.status().message(),
            absl::StrCat(file.path(), ": line 3: unknown event \"nope\""));
}

TEST(EventLogReader, LongBadValuesAreShortenedInErrors) {
  const std::string event(200, 'e');
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadText(absl::StrCat(kHeader, "1,v1,", event, ",/a,\n"));
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("unknown event \"eee"));
  EXPECT_LT(rows.status().message().size(), 120u);
}

// --- Reading: lenient mode ------------------------------------------------

constexpr char kMixed[] =
    "ts_ms,visitor,event,page,detail\n"
    "1,v1,page_view,/a,\n"          // 2 good
    "x,v1,page_view,/a,\n"          // 3 bad ts
    "2,v1,search,/s,3\n"            // 4 good
    "3,v1,page_veiw,/a,\n"          // 5 bad event
    "4,,page_view,/a,\n"            // 6 empty visitor
    "5,v1,cart,/c,nan\n"            // 7 bad value
    "6,v1,help_contact,/a,email\n"  // 8 good
    "7,v1,offer_shown,/a,sms\n"     // 9 bad channel
    "8,v1,page_view,/a\n"           // 10 four columns
    "9,v\"1,page_view,/a,\n"        // 11 stray quote
    "10,,agents,,2\n";              // 12 good

TEST(EventLogReader, LenientModeSkipsAndCountsBadRowsAndReturnsAllGoodRows) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(kMixed, Lenient(100), "mixed.csv");
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<uint64_t> lines;
  for (const LogEvent& e : *rows) lines.push_back(e.line);
  EXPECT_THAT(lines, ElementsAre(2u, 4u, 8u, 12u));
  EXPECT_EQ((*reader)->rows(), 4u);
  EXPECT_EQ((*reader)->skipped(), 7u);
  const std::vector<std::string>& errors = (*reader)->errors();
  ASSERT_EQ(errors.size(), 7u);
  EXPECT_THAT(errors[0], StartsWith("mixed.csv: line 3: ts_ms is not"));
  EXPECT_THAT(errors[1], HasSubstr("line 5: unknown event"));
  EXPECT_THAT(errors[2], HasSubstr("line 6: visitor is empty"));
  EXPECT_THAT(errors[3], HasSubstr("line 7: cart detail"));
  EXPECT_THAT(errors[4], HasSubstr("line 9: offer_shown detail"));
  EXPECT_THAT(errors[5], HasSubstr("line 10: expected 5 columns, got 4"));
  EXPECT_THAT(errors[6], HasSubstr("line 11: a quote inside"));

  // The same input fails in strict mode, at the first bad row.
  absl::StatusOr<std::vector<LogEvent>> strict = ReadText(kMixed);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr("line 3: "));
}

TEST(EventLogReader, LenientModeKeepsAtMostMaxErrorsKept) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(kMixed, Lenient(2));
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 4u);
  EXPECT_EQ((*reader)->skipped(), 7u);
  // The first two are kept.
  ASSERT_EQ((*reader)->errors().size(), 2u);
  EXPECT_THAT((*reader)->errors()[0], HasSubstr("line 3: "));
  EXPECT_THAT((*reader)->errors()[1], HasSubstr("line 5: "));

  reader = EventLogReader::FromString(kMixed, Lenient(0));
  ASSERT_TRUE(reader.ok()) << reader.status();
  rows = ReadAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 4u);
  EXPECT_EQ((*reader)->skipped(), 7u);
  EXPECT_TRUE((*reader)->errors().empty());
}

TEST(EventLogReader, LenientModeSkipsAnUnterminatedQuoteAtTheEnd) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(
          absl::StrCat(kHeader, "1,v1,page_view,/a,\n2,v1,page_view,\"/b,\n"),
          Lenient());
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ((*reader)->skipped(), 1u);
  ASSERT_EQ((*reader)->errors().size(), 1u);
  EXPECT_THAT((*reader)->errors()[0], HasSubstr("line 3: unterminated"));
}

TEST(EventLogReader, StrictModeKeepsNoSkipCount) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(kMixed, SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  int errors = 0;
  int good = 0;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(e);
    if (!more.ok()) {
      ++errors;
      continue;
    }
    if (!*more) break;
    ++good;
  }
  // Every bad row is reported, one per call, and the good ones still come.
  EXPECT_EQ(errors, 7);
  EXPECT_EQ(good, 4);
  EXPECT_EQ((*reader)->rows(), 4u);
  EXPECT_EQ((*reader)->skipped(), 0u);
  EXPECT_TRUE((*reader)->errors().empty());
}

TEST(EventLogReader, MissingFileFailsEvenInLenientMode) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) /
       absl::StrCat("event_log_test_", ::getpid(), "_no_such_file.csv"))
          .string();
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::Open(path, Lenient());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reader.status().message(), HasSubstr(path));
  EXPECT_THAT(reader.status().message(), HasSubstr("No such file"));

  uint64_t skipped = 99;
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(path, Lenient(), &skipped);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kNotFound);
}

TEST(EventLogReader, ReadErrorFailsEvenInLenientMode) {
  // /proc/self/mem is a regular file, but reading it at offset 0 fails
  // (EIO): an I/O error.
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::Open("/proc/self/mem", Lenient());
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("/proc/self/mem"));
  EXPECT_THAT(reader.status().message(), HasSubstr("read error"));
}

TEST(EventLogReader, DirectoryIsRefusedEvenInLenientMode) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("event_log_test_", ::getpid(), "_dir.csv");
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::Open(dir.string(), Lenient());
  std::filesystem::remove(dir);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reader.status().message(),
              HasSubstr(absl::StrCat(dir.string(), ": it is a directory")));
}

TEST(EventLogReader, DashReadsStandardInput) {
  TempFile file("stdin.csv");
  file.Write(absl::StrCat(kHeader, "1,v1,page_view,/a,\n2,,agents,,4\n"));
  const int fd = ::open(file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(::dup2(fd, STDIN_FILENO), 0);
  ::close(fd);
  std::clearerr(stdin);
  absl::StatusOr<std::vector<LogEvent>> rows = ReadEventLog("-", SmallClock());
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  std::clearerr(stdin);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].count, 4);
}

// --- Parsed fields ----------------------------------------------------------

TEST(EventLogReader, ParsesCountValueChannelAndDetailByEventType) {
  absl::StatusOr<std::vector<LogEvent>> rows = ReadText(
      absl::StrCat(kHeader,
                   "10,v1,page_view,/p,https://ref.example/?a=1\n"  // 0
                   "11,v1,search,/s,42\n"                           // 1
                   "12,v1,cart,/c,59.9\n"                           // 2
                   "13,v1,help_contact,/h,\n"                       // 3
                   "14,v1,offer_shown,/h,chat\n"                    // 4
                   "15,v1,offer_accepted,/h,call\n"                 // 5
                   "16,v1,offer_declined,/h,email\n"                // 6
                   "17,v1,offer_ignored,/h,form\n"                  // 7
                   "18,v1,purchase,/done,1234.5\n"                  // 8
                   "19,,agents,,5\n"));                             // 9
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 10u);
  const std::vector<LogEvent>& r = *rows;
  const EventType types[] = {
      EventType::kPageView,      EventType::kSearch,
      EventType::kCart,          EventType::kHelpContact,
      EventType::kOfferShown,    EventType::kOfferAccepted,
      EventType::kOfferDeclined, EventType::kOfferIgnored,
      EventType::kPurchase,      EventType::kAgents};
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].type, types[i]) << i;
    EXPECT_EQ(r[i].ts_ms, static_cast<int64_t>(10 + i));
    EXPECT_EQ(r[i].line, i + 2);
  }
  EXPECT_EQ(r[0].detail, "https://ref.example/?a=1");
  EXPECT_EQ(r[0].count, 0);
  EXPECT_EQ(r[0].value, 0);
  EXPECT_EQ(r[0].channel, Channel::kUnspecified);
  EXPECT_EQ(r[1].count, 42);
  EXPECT_EQ(r[1].detail, "42");
  EXPECT_DOUBLE_EQ(r[2].value, 59.9);
  EXPECT_EQ(r[2].detail, "59.9");
  EXPECT_EQ(r[3].channel, Channel::kUnspecified);
  EXPECT_EQ(r[4].channel, Channel::kChat);
  EXPECT_EQ(r[5].channel, Channel::kCall);
  EXPECT_EQ(r[6].channel, Channel::kEmail);
  EXPECT_EQ(r[7].channel, Channel::kForm);
  EXPECT_EQ(r[7].detail, "form");
  EXPECT_DOUBLE_EQ(r[8].value, 1234.5);
  EXPECT_EQ(r[8].page, "/done");
  EXPECT_EQ(r[9].count, 5);
}

TEST(EventLogReader, ReusedRowKeepsNothingFromThePreviousRow) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(
          absl::StrCat(kHeader, "1,v1,cart,/c,9.5\n2,v1,search,/s,3\n",
                       "3,v1,offer_shown,/o,chat\n4,v2,page_view,/p,\n"),
          SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(e.value, 9.5);
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(e.value, 0);
  EXPECT_EQ(e.count, 3);
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(e.count, 0);
  EXPECT_EQ(e.channel, Channel::kChat);
  more = (*reader)->Next(e);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(e.channel, Channel::kUnspecified);
  EXPECT_EQ(e.detail, "");
  EXPECT_EQ(e.visitor, "v2");
  EXPECT_EQ(e.line, 5u);
}

TEST(LogEvent, ToEventMapsPageViewDetailToReferrer) {
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadText(absl::StrCat(kHeader, "5,v1,page_view,/p,https://ref.example/\n",
                            "6,v1,search,/s,7\n", "7,v1,purchase,/b,19.99\n",
                            "8,v1,offer_declined,/o,call\n", "9,,agents,,2\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 5u);

  const Event pv = (*rows)[0].ToEvent();
  EXPECT_EQ(pv.type, EventType::kPageView);
  EXPECT_EQ(pv.ts_ms, 5);
  EXPECT_EQ(pv.visitor, "v1");
  EXPECT_EQ(pv.page, "/p");
  EXPECT_EQ(pv.referrer, "https://ref.example/");
  // The event points into the row's strings.
  EXPECT_EQ(pv.referrer.data(), (*rows)[0].detail.data());

  const Event search = (*rows)[1].ToEvent();
  EXPECT_EQ(search.type, EventType::kSearch);
  EXPECT_EQ(search.count, 7);
  EXPECT_EQ(search.referrer, "");  // Only page views have a referrer.

  const Event purchase = (*rows)[2].ToEvent();
  EXPECT_EQ(purchase.type, EventType::kPurchase);
  EXPECT_DOUBLE_EQ(purchase.value, 19.99);
  EXPECT_EQ(purchase.referrer, "");

  const Event declined = (*rows)[3].ToEvent();
  EXPECT_EQ(declined.type, EventType::kOfferDeclined);
  EXPECT_EQ(declined.channel, Channel::kCall);
  EXPECT_EQ(declined.referrer, "");

  const Event agents = (*rows)[4].ToEvent();
  EXPECT_EQ(agents.type, EventType::kAgents);
  EXPECT_EQ(agents.visitor, "");
  EXPECT_EQ(agents.count, 2);
}

TEST(LogEvent, FromEventRendersDetailByEventType) {
  const LogEvent pv =
      LogEvent::FromEvent(Event::PageView(1, "v1", "/p", "https://r/"));
  EXPECT_EQ(pv.ts_ms, 1);
  EXPECT_EQ(pv.type, EventType::kPageView);
  EXPECT_EQ(pv.visitor, "v1");
  EXPECT_EQ(pv.page, "/p");
  EXPECT_EQ(pv.detail, "https://r/");
  EXPECT_EQ(LogEvent::FromEvent(Event::PageView(1, "v1", "/p")).detail, "");

  EXPECT_EQ(LogEvent::FromEvent(Event::Search(1, "v1", "/s", 0)).detail, "0");
  const LogEvent search = LogEvent::FromEvent(Event::Search(1, "v1", "/s", 12));
  EXPECT_EQ(search.detail, "12");
  EXPECT_EQ(search.count, 12);

  const LogEvent agents = LogEvent::FromEvent(Event::Agents(2, 3));
  EXPECT_EQ(agents.type, EventType::kAgents);
  EXPECT_EQ(agents.visitor, "");
  EXPECT_EQ(agents.page, "");
  EXPECT_EQ(agents.detail, "3");
  EXPECT_EQ(agents.count, 3);

  EXPECT_EQ(LogEvent::FromEvent(Event::HelpContact(1, "v", "/", Channel::kChat))
                .detail,
            "chat");
  EXPECT_EQ(LogEvent::FromEvent(
                Event::HelpContact(1, "v", "/", Channel::kUnspecified))
                .detail,
            "");
  EXPECT_EQ(LogEvent::FromEvent(Event::OfferShown(1, "v", "/", Channel::kCall))
                .detail,
            "call");
  const LogEvent accepted =
      LogEvent::FromEvent(Event::OfferAccepted(1, "v", "/", Channel::kEmail));
  EXPECT_EQ(accepted.detail, "email");
  EXPECT_EQ(accepted.channel, Channel::kEmail);
  EXPECT_EQ(
      LogEvent::FromEvent(Event::OfferDeclined(1, "v", "/", Channel::kForm))
          .detail,
      "form");
  EXPECT_EQ(
      LogEvent::FromEvent(Event::OfferIgnored(1, "v", "/", Channel::kChat))
          .detail,
      "chat");
}

TEST(LogEvent, FromEventRendersMoneyAsTheShortestRoundTripDecimal) {
  struct Case {
    double value;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{{59.9, "59.9"},
                                         {0, "0"},
                                         {5, "5"},
                                         {19.99, "19.99"},
                                         {0.1, "0.1"},
                                         {1234.56, "1234.56"},
                                         {123456.78, "123456.78"},
                                         {0.1 + 0.2, "0.30000000000000004"}}) {
    SCOPED_TRACE(c.want);
    const LogEvent cart =
        LogEvent::FromEvent(Event::Cart(1, "v", "/c", c.value));
    EXPECT_EQ(cart.detail, c.want);
    EXPECT_EQ(cart.value, c.value);
    const LogEvent purchase =
        LogEvent::FromEvent(Event::Purchase(1, "v", "/p", c.value));
    EXPECT_EQ(purchase.detail, c.want);
  }
}

TEST(LogEvent, FromEventRendersLargeRoundMoneyWithoutAnExponent) {
  // The format says the value is a decimal; "1e+06" is not one.
  struct Case {
    double value;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{{1000000, "1000000"},
                                         {2500000, "2500000"},
                                         {120000000, "120000000"}}) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(
        LogEvent::FromEvent(Event::Purchase(1, "v", "/p", c.value)).detail,
        c.want);
  }
}

TEST(LogEvent, FromEventRowsReadBackAsTheSameEvents) {
  const std::vector<Event> events = {
      Event::PageView(1, "v1", "/p", "https://r/?a=1,b"),
      Event::Search(2, "v1", "/s?q=\"x\"", 0),
      Event::Cart(3, "v1", "/c", 59.9),
      Event::HelpContact(4, "v1", "/h", Channel::kUnspecified),
      Event::OfferShown(5, "v1", "/h", Channel::kChat),
      Event::OfferAccepted(6, "v1", "/h", Channel::kCall),
      Event::OfferDeclined(7, "v1", "/h", Channel::kEmail),
      Event::OfferIgnored(8, "v1", "/h", Channel::kForm),
      Event::Purchase(9, "v1", "/done", 0.1 + 0.2),
      Event::Agents(10, 4)};
  std::string text = kHeader;
  for (const Event& e : events) {
    text += FormatLogRow(LogEvent::FromEvent(e));
    text += "\n";
  }
  absl::StatusOr<std::vector<LogEvent>> rows = ReadText(text);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    const Event back = (*rows)[i].ToEvent();
    EXPECT_EQ(back.type, events[i].type);
    EXPECT_EQ(back.ts_ms, events[i].ts_ms);
    EXPECT_EQ(back.visitor, events[i].visitor);
    EXPECT_EQ(back.page, events[i].page);
    EXPECT_EQ(back.referrer, events[i].referrer);
    EXPECT_EQ(back.count, events[i].count);
    EXPECT_EQ(back.value, events[i].value);
    EXPECT_EQ(back.channel, events[i].channel);
  }
}

// --- Writing ----------------------------------------------------------------

TEST(FormatLogRow, QuotesOnlyFieldsThatNeedIt) {
  LogEvent e;
  e.ts_ms = 1700000000000;
  e.type = EventType::kPageView;
  e.visitor = "v1";
  e.page = "/a";
  EXPECT_EQ(FormatLogRow(e), "1700000000000,v1,page_view,/a,");

  e.visitor = "Zoë 日本";  // Non-ASCII and spaces need no quotes.
  e.page = "/p?a=1,2";
  e.detail = "say \"hi\"";
  EXPECT_EQ(FormatLogRow(e),
            "1700000000000,Zoë 日本,page_view,\"/p?a=1,2\",\"say \"\"hi\"\"\"");

  e.visitor = "line\nbreak";
  e.page = "cr\r";
  e.detail = "\"";
  EXPECT_EQ(FormatLogRow(e),
            "1700000000000,\"line\nbreak\",page_view,\"cr\r\",\"\"\"\"");

  LogEvent agents = LogEvent::FromEvent(Event::Agents(5, 2));
  EXPECT_EQ(FormatLogRow(agents), "5,,agents,,2");
  EXPECT_EQ(FormatLogRow(LogEvent::FromEvent(
                Event::OfferIgnored(6, "v", "/o", Channel::kForm))),
            "6,v,offer_ignored,/o,form");
}

TEST(EventLogWriter, WritesTheHeaderThenOneLfTerminatedRowPerWrite) {
  TempFile file("plain.csv");
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open(file.path());
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)
                  ->Write(LogEvent::FromEvent(
                      Event::PageView(1, "v1", "/a", "https://r/")))
                  .ok());
  ASSERT_TRUE((*writer)
                  ->Write(LogEvent::FromEvent(Event::Cart(2, "v1", "/c", 59.9)))
                  .ok());
  ASSERT_TRUE((*writer)->Write(LogEvent::FromEvent(Event::Agents(3, 1))).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(file.Read(),
            "ts_ms,visitor,event,page,detail\n"
            "1,v1,page_view,/a,https://r/\n"
            "2,v1,cart,/c,59.9\n"
            "3,,agents,,1\n");
}

TEST(EventLogWriter, RoundTripsAwkwardStringsThroughTheReader) {
  const std::vector<std::string> awkward = {
      "plain",
      "comma,inside",
      "\"quoted\"",
      "a \"\" pair",
      "\"",
      "line\nbreak",
      "crlf\r\ninside",
      "lone\rcr",
      "trailing newline\n",
      "\n",
      " leading and trailing spaces ",
      "Zoë, café, 日本語, 😀",
      "\xEF\xBB\xBF"
      "bom-like",
      "mix: ,\"\r\n\"\",",
  };
  std::vector<LogEvent> written;
  int64_t ts = 1700000000000;
  for (const std::string& s : awkward) {
    LogEvent pv = LogEvent::FromEvent(Event::PageView(ts++, s, s, s));
    written.push_back(pv);
    written.push_back(LogEvent::FromEvent(
        Event::OfferAccepted(ts++, s, absl::StrCat("/x/", s), Channel::kCall)));
    written.push_back(LogEvent::FromEvent(Event::Purchase(ts++, s, s, 10.25)));
  }
  written.push_back(LogEvent::FromEvent(Event::Agents(ts++, 9)));

  TempFile file("roundtrip.csv");
  {
    absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
        EventLogWriter::Open(file.path());
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const LogEvent& e : written) {
      absl::Status s = (*writer)->Write(e);
      ASSERT_TRUE(s.ok()) << s;
    }
    absl::Status s = (*writer)->Close();
    ASSERT_TRUE(s.ok()) << s;
  }
  absl::StatusOr<std::vector<LogEvent>> read =
      ReadEventLog(file.path(), SmallClock());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), written.size());
  uint64_t line = 2;
  for (size_t i = 0; i < written.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("row ", i, ": ", FormatLogRow(written[i])));
    ExpectSameFields((*read)[i], written[i]);
    // Line numbers count the physical lines, embedded newlines included.
    EXPECT_EQ((*read)[i].line, line);
    const std::string row = FormatLogRow(written[i]);
    line += 1 + static_cast<uint64_t>(std::count(row.begin(), row.end(), '\n'));
  }
}

TEST(EventLogWriter, TruncatesAnExistingFile) {
  TempFile file("truncate.csv");
  file.Write(std::string(10000, 'x'));
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open(file.path());
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(file.Read(), kHeader);
}

TEST(EventLogWriter, OpenInAMissingDirectoryFailsNamingThePath) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) /
       absl::StrCat("event_log_test_", ::getpid(), "_no_such_dir") /
       "events.csv")
          .string();
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open(path);
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(writer.status().message(), HasSubstr(path));
  EXPECT_THAT(writer.status().message(), HasSubstr("cannot write event log"));
  EXPECT_THAT(writer.status().message(),
              HasSubstr("No such file or directory"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(EventLogWriter, WriteErrorIsReportedByClose) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open("/dev/full");
  if (!writer.ok()) {
    // The header did not fit a buffer: the error surfaced at once.
    EXPECT_THAT(writer.status().message(), HasSubstr("/dev/full"));
    return;
  }
  absl::Status write = absl::OkStatus();
  const LogEvent e =
      LogEvent::FromEvent(Event::PageView(1, "v1", std::string(1000, 'p')));
  for (int i = 0; i < 200 && write.ok(); ++i) write = (*writer)->Write(e);
  absl::Status close = (*writer)->Close();
  // Either a Write failed (the buffer filled) or Close's flush did; Close
  // reports the failure in both cases.
  ASSERT_FALSE(close.ok());
  EXPECT_THAT(close.message(), HasSubstr("/dev/full"));
  if (!write.ok()) {
    EXPECT_THAT(write.message(), HasSubstr("/dev/full"));
  }
}

TEST(EventLogWriter, CloseTwiceIsFineAndWriteAfterCloseFails) {
  TempFile file("closed.csv");
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open(file.path());
  ASSERT_TRUE(writer.ok()) << writer.status();
  const LogEvent e = LogEvent::FromEvent(Event::Search(1, "v1", "/s", 2));
  ASSERT_TRUE((*writer)->Write(e).ok());
  EXPECT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE((*writer)->Close().ok());
  absl::Status late = (*writer)->Write(e);
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.message(), HasSubstr("closed"));
  writer->reset();  // The destructor after Close is fine too.
  EXPECT_EQ(file.Read(), absl::StrCat(kHeader, "1,v1,search,/s,2\n"));
}

TEST(EventLogWriter, DestructorFlushesAndCloses) {
  TempFile file("destructor.csv");
  {
    absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
        EventLogWriter::Open(file.path());
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(
        (*writer)->Write(LogEvent::FromEvent(Event::Agents(7, 0))).ok());
  }
  EXPECT_EQ(file.Read(), absl::StrCat(kHeader, "7,,agents,,0\n"));
}

TEST(EventLogWriter, DashWritesStandardOutput) {
  TempFile file("stdout.csv");
  std::fflush(stdout);
  const int fd =
      ::open(file.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const int saved = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(::dup2(fd, STDOUT_FILENO), 0);
  ::close(fd);
  absl::Status write = absl::OkStatus();
  absl::Status close = absl::OkStatus();
  {
    absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
        EventLogWriter::Open("-");
    if (writer.ok()) {
      write = (*writer)->Write(LogEvent::FromEvent(Event::Agents(1, 2)));
      close = (*writer)->Close();
    } else {
      write = writer.status();
    }
  }
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ASSERT_TRUE(write.ok()) << write;
  ASSERT_TRUE(close.ok()) << close;
  EXPECT_EQ(file.Read(), absl::StrCat(kHeader, "1,,agents,,2\n"));
}

// --- ReadEventLog and SortByTime -------------------------------------------

TEST(ReadEventLog, ReturnsAllRowsInFileOrder) {
  TempFile file("order.csv");
  file.Write(absl::StrCat(kHeader, "30,c,page_view,/,\n10,a,page_view,/,\n",
                          "20,b,page_view,/,\n"));
  uint64_t skipped = 99;
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), SmallClock(), &skipped);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].visitor, "c");
  EXPECT_EQ((*rows)[1].visitor, "a");
  EXPECT_EQ((*rows)[2].visitor, "b");
  EXPECT_EQ(skipped, 0u);
}

TEST(ReadEventLog, StrictModeFailsOnTheFirstBadRow) {
  TempFile file("strict.csv");
  file.Write(kMixed);
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), SmallClock());
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("line 3: ts_ms"));
}

TEST(ReadEventLog, LenientModeReportsTheSkipCount) {
  TempFile file("lenient.csv");
  file.Write(kMixed);
  uint64_t skipped = 0;
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), Lenient(), &skipped);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 4u);
  EXPECT_EQ(skipped, 7u);
  // Without a place for it, the count is simply not reported.
  rows = ReadEventLog(file.path(), Lenient());
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 4u);
}

TEST(ReadEventLog, ReportKeepsTheSkipCountAndTheFirstErrors) {
  TempFile file("report.csv");
  file.Write(kMixed);
  EventLogReader::Options options = Lenient();
  options.max_errors_kept = 2;
  EventLogReport report;
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), options, report);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 4u);
  EXPECT_EQ(report.skipped, 7u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_THAT(report.errors[0], HasSubstr("line "));
}

TEST(ReadEventLog, ProgressCountsRowsEvery262144) {
  TempFile file("progress.csv");
  std::string text = "ts_ms,visitor,event,page,detail\n";
  const int n = 262144 * 2 + 5;
  for (int i = 0; i < n; ++i) absl::StrAppend(&text, i, ",v,page_view,/p,\n");
  file.Write(text);
  EventLogReport report;
  std::vector<uint64_t> seen;
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), SmallClock(), report,
                   [&seen](uint64_t r) { seen.push_back(r); });
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), static_cast<size_t>(n));
  EXPECT_THAT(seen, ElementsAre(262144u, 524288u));
  EXPECT_EQ(report.skipped, 0u);
}

TEST(ReadEventLog, BadHeaderFails) {
  TempFile file("badheader.csv");
  file.Write("time,visitor,event,page,detail\n1,v1,page_view,/,\n");
  absl::StatusOr<std::vector<LogEvent>> rows =
      ReadEventLog(file.path(), Lenient());
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(),
              HasSubstr("found \"time,visitor,event,page,detail\""));
}

// The wrong-unit guard: a log in epoch seconds (or microseconds) is an
// error naming the line, the column and the fix, unless accepted.
TEST(EpochGuard, SecondsAreRefusedNamingTheColumnAndTheFix) {
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(
          absl::StrCat(kHeader, "1700000000,v1,page_view,/a,\n"), {},
          "events.csv");
  ASSERT_TRUE(reader.ok()) << reader.status();
  LogEvent e;
  absl::StatusOr<bool> more = (*reader)->Next(e);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(more.status().message(),
              HasSubstr("events.csv: line 2: column ts_ms: 1700000000 looks "
                        "like epoch seconds"));
  EXPECT_THAT(more.status().message(),
              HasSubstr("multiply the column by 1000"));
  EXPECT_THAT(more.status().message(), HasSubstr("--allow-small-epoch"));
}

TEST(EpochGuard, MicrosecondsAreRefusedWithTheFixEvenWhenSmallIsAllowed) {
  for (const bool allow : {false, true}) {
    EventLogReader::Options o;
    o.allow_small_epoch = allow;
    absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
        EventLogReader::FromString(
            absl::StrCat(kHeader, "1700000000000000,v1,page_view,/a,\n"), o);
    ASSERT_TRUE(reader.ok()) << reader.status();
    LogEvent e;
    absl::StatusOr<bool> more = (*reader)->Next(e);
    ASSERT_FALSE(more.ok());
    EXPECT_THAT(more.status().message(),
                HasSubstr("line 2: column ts_ms: 1700000000000000 looks like "
                          "epoch microseconds"));
    EXPECT_THAT(more.status().message(),
                HasSubstr("divide the column by 1000"));
  }
}

TEST(EpochGuard, MillisecondsPassAndSmallClocksPassWhenAllowed) {
  const std::string text =
      absl::StrCat(kHeader, "100000000000,v1,page_view,/a,\n",
                   "1700000000000,v1,page_view,/b,\n");
  absl::StatusOr<std::unique_ptr<EventLogReader>> strict =
      EventLogReader::FromString(text, {});  // The default: guard on.
  ASSERT_TRUE(strict.ok()) << strict.status();
  absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**strict);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 2u);

  EventLogReader::Options o;
  o.allow_small_epoch = true;
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(absl::StrCat(kHeader, "0,v1,page_view,/a,\n",
                                              "99999999999,v1,page_view,/b,\n"),
                                 o);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<std::vector<LogEvent>> small = ReadAll(**reader);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_EQ(small->size(), 2u);
  EXPECT_EQ((*small)[1].ts_ms, 99999999999);
}

TEST(EpochGuard, LenientModeSkipsAndCountsSmallTimestamps) {
  EventLogReader::Options o;
  o.lenient = true;
  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::FromString(
          absl::StrCat(kHeader, "1700000000000,v1,page_view,/a,\n",
                       "1700000001,v1,page_view,/b,\n"),
          o);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<std::vector<LogEvent>> rows = ReadAll(**reader);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ((*reader)->skipped(), 1u);
  ASSERT_EQ((*reader)->errors().size(), 1u);
  EXPECT_THAT((*reader)->errors()[0], HasSubstr("looks like epoch seconds"));
}

// ParseLogRow: the reader's row checks on fields given one by one (the
// Python batch calls use it), with the same messages minus the line.
TEST(ParseLogRow, ParsesEachDetailKind) {
  LogEvent e;
  ASSERT_TRUE(ParseLogRow(5, "v1", "search", "/search?q=x", "0", e).ok());
  EXPECT_EQ(e.type, EventType::kSearch);
  EXPECT_EQ(e.count, 0);
  EXPECT_EQ(e.line, 0u);
  ASSERT_TRUE(ParseLogRow(6, "v1", "cart", "/cart", "12.50", e).ok());
  EXPECT_EQ(e.value, 12.5);
  ASSERT_TRUE(ParseLogRow(7, "v1", "offer_declined", "/p/1", "chat", e).ok());
  EXPECT_EQ(e.channel, Channel::kChat);
  ASSERT_TRUE(ParseLogRow(8, "", "agents", "", "3", e).ok());
  EXPECT_EQ(e.count, 3);
  ASSERT_TRUE(
      ParseLogRow(9, "v2", "page_view", "/p/2", "https://ref.example/", e).ok());
  EXPECT_EQ(e.detail, "https://ref.example/");
  EXPECT_EQ(e.ts_ms, 9);
  EXPECT_EQ(e.visitor, "v2");
  EXPECT_EQ(e.page, "/p/2");
}

TEST(ParseLogRow, RejectsWhatTheReaderRejectsWithoutALineNumber) {
  LogEvent e;
  struct Case {
    int64_t ts;
    const char* visitor;
    const char* event;
    const char* detail;
    const char* message;
  };
  const Case cases[] = {
      {-1, "v", "page_view", "", "ts_ms out of range"},
      {1, "v", "page_veiw", "", "unknown event \"page_veiw\""},
      {1, "", "page_view", "", "visitor is empty"},
      {1, "v", "agents", "2", "an agents row must have an empty visitor"},
      {1, "v", "search", "-1", "search detail must be a count"},
      {1, "v", "cart", "nan", "cart detail must be a money value"},
      {1, "v", "offer_shown", "pigeon", "offer_shown detail must be a channel"},
  };
  for (const Case& c : cases) {
    absl::Status st = ParseLogRow(c.ts, c.visitor, c.event, "/p", c.detail, e);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr(c.message));
    EXPECT_THAT(std::string(st.message()),
                ::testing::Not(::testing::HasSubstr("line")));
  }
  const std::string long_id(kMaxVisitorIdBytes + 1, 'x');
  EXPECT_THAT(
      std::string(ParseLogRow(1, long_id, "page_view", "/", "", e).message()),
      ::testing::HasSubstr("longer than 128"));
}

TEST(SortByTime, OrdersByTimestampKeepingFileOrderForTies) {
  // Enough rows that an unstable sort would reorder ties.
  std::vector<LogEvent> events;
  for (int i = 0; i < 2000; ++i) {
    LogEvent e;
    e.ts_ms = (i * 7919) % 13;  // Many ties, in scrambled order.
    e.visitor = absl::StrCat(i);
    e.line = static_cast<uint64_t>(i + 2);
    events.push_back(e);
  }
  SortByTime(events);
  ASSERT_EQ(events.size(), 2000u);
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_LE(events[i - 1].ts_ms, events[i].ts_ms) << i;
    if (events[i - 1].ts_ms == events[i].ts_ms) {
      ASSERT_LT(events[i - 1].line, events[i].line)
          << "tie at ts " << events[i].ts_ms << " lost file order";
      ASSERT_LT(std::stoi(events[i - 1].visitor), std::stoi(events[i].visitor));
    }
  }
  EXPECT_EQ(events.front().ts_ms, 0);
  EXPECT_EQ(events.back().ts_ms, 12);
}

TEST(SortByTime, SortsRowsReadFromAFile) {
  absl::StatusOr<std::vector<LogEvent>> rows = ReadText(absl::StrCat(
      kHeader, "20,b1,page_view,/,\n10,a,page_view,/,\n20,b2,page_view,/,\n",
      "5,,agents,,1\n20,b3,page_view,/,\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  SortByTime(*rows);
  std::vector<std::string> visitors;
  for (const LogEvent& e : *rows) visitors.push_back(e.visitor);
  EXPECT_THAT(visitors, ElementsAre("", "a", "b1", "b2", "b3"));

  std::vector<LogEvent> none;
  SortByTime(none);
  EXPECT_TRUE(none.empty());
}

// --- Streaming
// ----------------------------------------------------------------

TEST(EventLogReader, StreamsALargeFileRowByRow) {
  constexpr int kRows = 200000;
  TempFile file("large.csv");
  {
    absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
        EventLogWriter::Open(file.path());
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int i = 0; i < kRows; ++i) {
      const std::string visitor = absl::StrCat("visitor-", i % 977);
      const std::string page = absl::StrCat("/product/", i);
      LogEvent e;
      switch (i % 4) {
        case 0:
          e = LogEvent::FromEvent(Event::PageView(1700000000000 + i, visitor,
                                                  page, "https://r/,x"));
          break;
        case 1:
          e = LogEvent::FromEvent(
              Event::Search(1700000000000 + i, visitor, page, i));
          break;
        case 2:
          e = LogEvent::FromEvent(
              Event::Cart(1700000000000 + i, visitor, page, i * 0.25));
          break;
        default:
          e = LogEvent::FromEvent(Event::Agents(1700000000000 + i, i % 5));
          break;
      }
      absl::Status s = (*writer)->Write(e);
      ASSERT_TRUE(s.ok()) << s;
    }
    absl::Status s = (*writer)->Close();
    ASSERT_TRUE(s.ok()) << s;
  }
  const uint64_t size = std::filesystem::file_size(file.path());
  ASSERT_GT(size, 5u * 1000 * 1000);

  absl::StatusOr<std::unique_ptr<EventLogReader>> reader =
      EventLogReader::Open(file.path(), SmallClock());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->bytes_read(), std::string_view(kHeader).size());
  LogEvent e;
  uint64_t previous = (*reader)->bytes_read();
  uint64_t after_first = 0;
  int n = 0;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(e);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ASSERT_EQ(e.ts_ms, 1700000000000 + n);
    ASSERT_EQ(e.line, static_cast<uint64_t>(n + 2));
    ++n;
    ASSERT_EQ((*reader)->rows(), static_cast<uint64_t>(n));
    const uint64_t now = (*reader)->bytes_read();
    ASSERT_GT(now, previous) << "row " << n;
    ASSERT_LE(now, size);
    previous = now;
    if (n == 1) after_first = now;
    if (n == 1000) {
      // Only the rows returned so far have been consumed.
      ASSERT_LT(now, size / 100);
    }
  }
  EXPECT_EQ(n, kRows);
  EXPECT_EQ((*reader)->rows(), static_cast<uint64_t>(kRows));
  EXPECT_EQ((*reader)->bytes_read(), size);
  EXPECT_LT(after_first, 200u);
  EXPECT_EQ(e.count, (kRows - 1) % 5);  // The last row: agents.
}

}  // namespace
}  // namespace beckon
