// beckon::LabelEventLog and ParseContactTime (include/beckon/label.h).
#include "beckon/label.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "beckon/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/label_test_" +
                           std::to_string(::getpid()) + "_" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

int64_t Time(const std::string& text, bool allow_small = false) {
  int64_t ts = -1;
  absl::Status s = ParseContactTime(text, allow_small, ts);
  EXPECT_TRUE(s.ok()) << text << ": " << s;
  return ts;
}

TEST(ParseContactTime, EpochAndIso) {
  EXPECT_EQ(Time("1700000000000"), 1700000000000);
  EXPECT_EQ(Time("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(Time("2023-11-14 23:13:20.5+01:00"), 1700000000500);
  EXPECT_EQ(Time("2023-11-14T17:13:20.123456-0500"), 1700000000123);
  EXPECT_EQ(Time("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(Time("1700000000", /*allow_small=*/true), 1700000000);
}

TEST(ParseContactTime, RejectsWithTheReason) {
  int64_t ts = 7;
  auto why = [&](const std::string& t) {
    absl::Status s = ParseContactTime(t, false, ts);
    EXPECT_FALSE(s.ok()) << t;
    return std::string(s.message());
  };
  EXPECT_THAT(why("1700000000"), HasSubstr("looks like epoch seconds"));
  EXPECT_THAT(why("2023-11-14T22:13:20"), HasSubstr("without a zone"));
  EXPECT_THAT(why("2023-02-29T00:00:00Z"), HasSubstr("not a valid date"));
  EXPECT_THAT(why("2023-11-14T22:13:20 CET"), HasSubstr("the zone must be"));
  EXPECT_THAT(why("yesterday"), HasSubstr("not epoch milliseconds"));
  EXPECT_THAT(why("-5"), HasSubstr("not epoch milliseconds"));
  EXPECT_EQ(ts, 7);  // Left alone on errors.
}

const char kEvents[] =
    "ts_ms,visitor,event,page,detail\n"
    "1700000030000,v1,page_view,/help,\n"
    "1700000000000,v1,page_view,/,\n"
    "1700000200000,v1,page_view,/p/1,\n"
    "1700000100000,v1,help_contact,/help,chat\n"
    "1700000000000,v2,page_view,/c/a,\n"
    "1700000000000,,agents,,2\n";

TEST(LabelEventLog, JoinsInTimeOrderAndCounts) {
  const std::string events = WriteTemp("events.csv", kEvents);
  const std::string contacts = WriteTemp(
      "contacts.csv",
      "Start,Visitor,Channel\n"
      "1700000050000,v1,chat\n"     // On /help, after its view.
      "1700000100000,v1,chat\n"     // Already in the log: duplicate.
      "1700000050000,v1,email\n"    // Same visitor and time: duplicate.
      "1700002000000,v2,\n"         // 2000 s after v2's view: 30 + 5 min.
      "1700002200000,v2,\n"         // 2200 s: too late.
      "1700000000000,nobody,chat\n");
  std::vector<LogEvent> out;
  LabelStats st;
  ASSERT_TRUE(LabelEventLog(events, contacts, LabelOptions(),
                            [&](const LogEvent& e) {
                              out.push_back(e);
                              return absl::OkStatus();
                            },
                            st)
                  .ok());
  EXPECT_EQ(st.contacts_read, 6u);
  EXPECT_EQ(st.attached, 2u);
  EXPECT_EQ(st.duplicates, 2u);
  EXPECT_EQ(st.unmatched, 2u);
  EXPECT_EQ(st.existing_help_contacts, 1u);
  EXPECT_EQ(st.sessions_labelled, 2u);
  EXPECT_EQ(st.rows_written, 8u);
  ASSERT_EQ(st.unmatched_contacts.size(), 2u);
  EXPECT_EQ(st.unmatched_contacts[0].line, 6u);
  EXPECT_EQ(st.unmatched_contacts[0].reason, "no session at that time");
  EXPECT_EQ(st.unmatched_contacts[1].reason, "unknown visitor");
  std::vector<std::string> rows;
  for (const LogEvent& e : out) rows.push_back(FormatLogRow(e));
  EXPECT_THAT(rows, ::testing::ElementsAre(
                        "1700000000000,v1,page_view,/,",
                        "1700000000000,v2,page_view,/c/a,",
                        "1700000000000,,agents,,2",
                        "1700000030000,v1,page_view,/help,",
                        "1700000050000,v1,help_contact,/help,chat",
                        "1700000100000,v1,help_contact,/help,chat",
                        "1700000200000,v1,page_view,/p/1,",
                        "1700002000000,v2,help_contact,/c/a,"));
}

TEST(LabelEventLog, BadRowsNameFileLineAndColumnAndWriteNothing) {
  const std::string events = WriteTemp("events2.csv", kEvents);
  const std::string contacts = WriteTemp(
      "bad.csv", "visitor,start,channel\nv1,1700000050000,chat\n"
                 "v1,\"1700000060000\",fax\n");
  int rows = 0;
  LabelStats st;
  const LogSink sink = [&](const LogEvent&) {
    ++rows;
    return absl::OkStatus();
  };
  absl::Status s = LabelEventLog(events, contacts, LabelOptions(), sink, st);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("bad.csv: line 3: column \"channel\": not a channel"));
  EXPECT_EQ(rows, 0);
  LabelOptions lenient;
  lenient.lenient = true;
  ASSERT_TRUE(LabelEventLog(events, contacts, lenient, sink, st).ok());
  EXPECT_EQ(st.malformed, 1u);
  EXPECT_EQ(st.attached, 1u);
  LabelOptions strict_unmatched;
  strict_unmatched.fail_on_unmatched = true;
  const std::string stray = WriteTemp(
      "stray.csv", "session,start\nzz,1700000050000\n");
  rows = 0;
  s = LabelEventLog(events, stray, strict_unmatched, sink, st);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("1 of 1 contacts match no session"));
  EXPECT_EQ(rows, 0);
  const std::string header = WriteTemp("hdr.csv", "visitor,when\nv1,1\n");
  s = LabelEventLog(events, header, LabelOptions(), sink, st);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("hdr.csv: line 1: the header must name the columns "
                        "start; found \"visitor,when\""));
}

}  // namespace
}  // namespace beckon
