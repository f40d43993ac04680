#include "beckon/convert.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "beckon/engine.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace beckon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Writes `text` to a fresh file in the test's temporary directory.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) /
       absl::StrCat("convert_test_", ::getpid(), "_", name))
          .string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return path;
}

// A sink that keeps every row.
struct Collector {
  std::vector<LogEvent> rows;
  LogSink sink() {
    return [this](const LogEvent& e) {
      rows.push_back(e);
      return absl::OkStatus();
    };
  }
};

std::vector<std::string> Pages(const std::vector<LogEvent>& rows) {
  std::vector<std::string> out;
  for (const LogEvent& e : rows) out.push_back(e.page);
  return out;
}

constexpr char kNasaHeader[] =
    "host\tlogname\ttime\tmethod\turl\tresponse\tbytes\treferer\tuseragent\n";

std::string NasaLine(const std::string& host, int64_t t,
                     const std::string& method, const std::string& url,
                     int response) {
  return absl::StrCat(host, "\t-\t", t, "\t", method, "\t", url, "\t", response,
                      "\t100\n");
}

// ---- NASA

TEST(NasaPageUrl, KeepsPagesDirectoriesAndScripts) {
  EXPECT_TRUE(IsNasaPageUrl("/"));
  EXPECT_TRUE(IsNasaPageUrl("/shuttle/missions/"));
  EXPECT_TRUE(IsNasaPageUrl("/shuttle/missions/missions.html"));
  EXPECT_TRUE(IsNasaPageUrl("/elv/elvpage.htm"));
  EXPECT_TRUE(IsNasaPageUrl("/ksc.HTML"));
  EXPECT_TRUE(IsNasaPageUrl("/htbin/wais.pl?spacewalk"));
  EXPECT_TRUE(IsNasaPageUrl("/htbin/cdt_main.pl"));
  EXPECT_TRUE(IsNasaPageUrl("/history/?x=a.gif"));
}

TEST(NasaPageUrl, SkipsImagesMediaAndOtherFiles) {
  EXPECT_FALSE(IsNasaPageUrl("/images/ksclogo-medium.gif"));
  EXPECT_FALSE(IsNasaPageUrl("/images/KSC-logosmall.GIF"));
  EXPECT_FALSE(IsNasaPageUrl("/images/launch.jpg"));
  EXPECT_FALSE(IsNasaPageUrl("/images/MOSAIC-logosmall.xbm"));
  EXPECT_FALSE(IsNasaPageUrl("/shuttle/countdown/video/livevideo.mpg"));
  EXPECT_FALSE(IsNasaPageUrl("/history/apollo/apollo-11/sounds/a.wav"));
  EXPECT_FALSE(IsNasaPageUrl("/shuttle/missions/sts-70/news/ksc-status.txt"));
  EXPECT_FALSE(IsNasaPageUrl("/cgi-bin/imagemap/countdown70?61,190"));
  EXPECT_FALSE(IsNasaPageUrl("/shuttle/countdown"));
  EXPECT_FALSE(IsNasaPageUrl("/a.html.gif"));
  EXPECT_FALSE(IsNasaPageUrl(""));
  EXPECT_FALSE(IsNasaPageUrl("?q=/"));
}

TEST(NasaConvert, FiltersRequestsAndMapsColumns) {
  const std::string text =
      std::string(kNasaHeader) +
      NasaLine("a.example.com", 807256800, "GET", "/images/logo.gif", 200) +
      NasaLine("a.example.com", 807256801, "GET", "/shuttle/missions/", 200) +
      NasaLine("b.example.com", 807256802, "HEAD", "/", 200) +
      NasaLine("b.example.com", 807256803, "GET", "/missing.html", 404) +
      NasaLine("b.example.com", 807256804, "GET", "/shuttle/countdown", 302) +
      NasaLine("a.example.com", 807256805, "GET", "/htbin/wais.pl?apollo",
               200) +
      NasaLine("b.example.com", 807256806, "GET", "/ksc.html", 304) +
      NasaLine("b.example.com", 807256807, "POST", "/htbin/form.pl", 200) +
      NasaLine("b.example.com", 807256808, "GET", "/news.txt", 200) +
      // A line with a referer (and no useragent column).
      "c.example.com\t-\t807256809\tGET\t/elv/elvpage.htm\t200\t10\t"
      "http://www.example.org/links.html\n"
      // A "-" referer means none.
      "c.example.com\t-\t807256810\tGET\t/\t200\t10\t-\tMosaic\n";
  const std::string path = WriteTemp("nasa_filter.tsv", text);
  Collector got;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 11u);
  EXPECT_EQ(stats->page_views, 5u);
  EXPECT_EQ(stats->skipped_method, 2u);
  EXPECT_EQ(stats->skipped_status, 2u);
  EXPECT_EQ(stats->skipped_not_page, 2u);
  EXPECT_EQ(stats->malformed, 0u);
  EXPECT_EQ(stats->search_requests, 1u);
  EXPECT_EQ(stats->hashed_hosts, 0u);
  EXPECT_EQ(stats->out_of_order, 0u);
  EXPECT_THAT(Pages(got.rows),
              ElementsAre("/shuttle/missions/", "/htbin/wais.pl?apollo",
                          "/ksc.html", "/elv/elvpage.htm", "/"));
  ASSERT_EQ(got.rows.size(), 5u);
  for (const LogEvent& e : got.rows) {
    EXPECT_EQ(e.type, EventType::kPageView);
  }
  EXPECT_EQ(got.rows[0].ts_ms, 807256801000);
  EXPECT_EQ(got.rows[0].visitor, "a.example.com");
  EXPECT_EQ(got.rows[0].detail, "");
  EXPECT_EQ(got.rows[0].line, 3u);
  EXPECT_EQ(got.rows[2].visitor, "b.example.com");
  EXPECT_EQ(got.rows[3].detail, "http://www.example.org/links.html");
  EXPECT_EQ(got.rows[4].detail, "");
}

TEST(NasaConvert, LongHostsBecomeStableHashIds) {
  const std::string long_a(200, 'a');
  const std::string long_b = std::string(199, 'a') + "b";
  const std::string exact(kMaxVisitorIdBytes, 'x');
  const std::string id_a = NasaVisitorId(long_a);
  EXPECT_EQ(id_a.size(), 17u);
  EXPECT_EQ(id_a[0], 'h');
  EXPECT_EQ(id_a.find_first_not_of("0123456789abcdef", 1), std::string::npos);
  EXPECT_EQ(NasaVisitorId(long_a), id_a);
  EXPECT_NE(NasaVisitorId(long_b), id_a);
  EXPECT_EQ(NasaVisitorId(exact), exact);
  // FNV-1a 64 of 129 'a's, computed independently (documented function).
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 129; ++i) {
    h ^= 'a';
    h *= 0x100000001b3ULL;
  }
  char want[32];
  std::snprintf(want, sizeof(want), "h%016llx",
                static_cast<unsigned long long>(h));
  EXPECT_EQ(NasaVisitorId(std::string(129, 'a')), want);

  const std::string path = WriteTemp(
      "nasa_long.tsv", std::string(kNasaHeader) +
                           NasaLine(long_a, 807256800, "GET", "/", 200) +
                           NasaLine(exact, 807256801, "GET", "/", 200) +
                           NasaLine(long_a, 807256802, "GET", "/a.html", 200));
  Collector got;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->hashed_hosts, 2u);
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_EQ(got.rows[0].visitor, id_a);
  EXPECT_EQ(got.rows[1].visitor, exact);
  EXPECT_EQ(got.rows[2].visitor, id_a);
}

std::string NasaWithBadLines() {
  return std::string(kNasaHeader) +
         NasaLine("a.example.com", 807256800, "GET", "/", 200) +
         "a.example.com\t-\t8072568x1\tGET\t/a.html\t200\t1\n" +  // line 3
         "a.example.com\t-\t807256802\tGET\t/b.html\n" +          // line 4
         "\t-\t807256803\tGET\t/c.html\t200\t1\n" +               // line 5
         "a.example.com\t-\t807256804\tGET\t/d.html\tOK\t1\n" +   // line 6
         NasaLine("a.example.com", 807256805, "GET", "/e.html", 200);
}

TEST(NasaConvert, StrictModeFailsNamingFileAndLineAndSendsNothing) {
  const std::string path = WriteTemp("nasa_bad.tsv", NasaWithBadLines());
  Collector got;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, got.sink());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stats.status().message(), HasSubstr(path + ": line 3: time"));
  EXPECT_THAT(stats.status().message(), HasSubstr("8072568x1"));
  EXPECT_TRUE(got.rows.empty());
}

TEST(NasaConvert, LenientModeSkipsAndCountsMalformedLines) {
  const std::string path = WriteTemp("nasa_bad.tsv", NasaWithBadLines());
  Collector got;
  NasaLogOptions options;
  options.lenient = true;
  options.max_errors_kept = 3;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, options, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 6u);
  EXPECT_EQ(stats->malformed, 4u);
  EXPECT_EQ(stats->page_views, 2u);
  ASSERT_EQ(stats->errors.size(), 3u);
  EXPECT_THAT(stats->errors[0], HasSubstr("line 3: time"));
  EXPECT_THAT(stats->errors[1], HasSubstr("line 4: expected 7 to 9"));
  EXPECT_THAT(stats->errors[2], HasSubstr("line 5: host is empty"));
  EXPECT_THAT(Pages(got.rows), ElementsAre("/", "/e.html"));
}

TEST(NasaConvert, SortsByTimeKeepingFileOrderForTies) {
  const std::string path =
      WriteTemp("nasa_order.tsv",
                std::string(kNasaHeader) +
                    NasaLine("a", 807256810, "GET", "/late.html", 200) +
                    NasaLine("b", 807256800, "GET", "/early.html", 200) +
                    NasaLine("c", 807256805, "GET", "/tie1.html", 200) +
                    NasaLine("d", 807256805, "GET", "/tie2.html", 200) +
                    NasaLine("e", 807256805, "GET", "/tie3.html", 200));
  Collector got;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->out_of_order, 4u);
  EXPECT_THAT(Pages(got.rows),
              ElementsAre("/early.html", "/tie1.html", "/tie2.html",
                          "/tie3.html", "/late.html"));
}

TEST(NasaConvert, RejectsAWrongHeaderAndAMissingFile) {
  const std::string path =
      WriteTemp("nasa_noheader.tsv",
                NasaLine("a.example.com", 807256800, "GET", "/", 200));
  NasaLogOptions lenient;
  lenient.lenient = true;  // A bad header fails even so.
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, lenient, Collector{}.sink());
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.status().message(), HasSubstr(path + ": line 1: "));
  EXPECT_THAT(stats.status().message(), HasSubstr("header"));

  stats = ConvertNasaLog(WriteTemp("nasa_empty.tsv", ""), NasaLogOptions{},
                         Collector{}.sink());
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.status().message(), HasSubstr("empty file"));

  stats = ConvertNasaLog("/nonexistent/nasa.tsv", NasaLogOptions{},
                         Collector{}.sink());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(stats.status().message(), HasSubstr("/nonexistent/nasa.tsv"));
}

TEST(NasaConvert, ReturnsTheSinksError) {
  const std::string path = WriteTemp(
      "nasa_sink.tsv", std::string(kNasaHeader) +
                           NasaLine("a", 807256800, "GET", "/", 200) +
                           NasaLine("a", 807256801, "GET", "/b/", 200));
  int calls = 0;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, [&](const LogEvent&) {
        ++calls;
        return absl::DataLossError("disk full");
      });
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
}

// ---- e-shop

constexpr char kEshopHeader[] =
    "year;month;day;order;country;session ID;page 1 (main category);"
    "page 2 (clothing model);colour;location;model photography;price;"
    "price 2;page\r\n";

std::string EshopLine(int day, int order, int session, int category,
                      const std::string& model, int page) {
  return absl::StrCat("2008;4;", day, ";", order, ";29;", session, ";",
                      category, ";", model, ";1;5;1;28;2;", page, "\r\n");
}

// Midnight UTC of 2008-04-<day>, in ms.
int64_t April2008Ms(int day) {
  return (int64_t{1207008000} + int64_t{86400} * (day - 1)) * 1000;
}

TEST(EshopConvert, MapsClicksToProductViewsWithSyntheticTiming) {
  const std::string path = WriteTemp(
      "eshop_map.csv",
      std::string(kEshopHeader) + EshopLine(1, 1, 1, 1, "A13", 1) +
          EshopLine(1, 2, 1, 4, "P12", 2) + EshopLine(1, 3, 1, 3, "C20", 5));
  Collector got;
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(path, EshopOptions{}, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 3u);
  EXPECT_EQ(stats->page_views, 3u);
  EXPECT_EQ(stats->sessions, 1u);
  EXPECT_EQ(stats->days, 1u);
  ASSERT_EQ(got.rows.size(), 3u);
  const int64_t start = April2008Ms(1) + EshopSessionOffsetS("1") * 1000;
  EXPECT_EQ(got.rows[0].ts_ms, start);
  EXPECT_EQ(got.rows[1].ts_ms, start + 30'000);
  EXPECT_EQ(got.rows[2].ts_ms, start + 60'000);
  EXPECT_EQ(got.rows[0].visitor, "s1");
  EXPECT_EQ(got.rows[0].type, EventType::kPageView);
  EXPECT_THAT(Pages(got.rows), ElementsAre("/p/A13", "/p/P12", "/p/C20"));
  EXPECT_EQ(got.rows[0].detail, "/c/trousers?page=1");
  EXPECT_EQ(got.rows[1].detail, "/c/sale?page=2");
  EXPECT_EQ(got.rows[2].detail, "/c/blouses?page=5");
  EXPECT_EQ(EshopCategoryPath(2), "/c/skirts");
  EXPECT_EQ(EshopCategoryPath(0), "");
  EXPECT_EQ(EshopCategoryPath(5), "");
}

TEST(EshopConvert, SpreadsSessionsOverTheDayAndSortsByTime) {
  // Sessions 1..40 on 2 April, clicks given out of order; a custom gap.
  std::string text = kEshopHeader;
  for (int s = 40; s >= 1; --s) {
    text += EshopLine(2, 2, s, 2, "B4", 1);
    text += EshopLine(2, 1, s, 2, "B3", 1);
  }
  const std::string path = WriteTemp("eshop_spread.csv", text);
  Collector got;
  EshopOptions options;
  options.click_gap_ms = 5'000;
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(path, options, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->sessions, 40u);
  ASSERT_EQ(got.rows.size(), 80u);
  EXPECT_TRUE(std::is_sorted(
      got.rows.begin(), got.rows.end(),
      [](const LogEvent& a, const LogEvent& b) { return a.ts_ms < b.ts_ms; }));
  std::unordered_map<std::string, std::vector<const LogEvent*>> by_visitor;
  int64_t first_start = INT64_MAX, last_start = INT64_MIN;
  for (const LogEvent& e : got.rows) by_visitor[e.visitor].push_back(&e);
  ASSERT_EQ(by_visitor.size(), 40u);
  for (const auto& [visitor, rows] : by_visitor) {
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0]->page, "/p/B3") << visitor;
    EXPECT_EQ(rows[1]->ts_ms - rows[0]->ts_ms, 5'000) << visitor;
    EXPECT_GE(rows[0]->ts_ms, April2008Ms(2));
    EXPECT_LT(rows[0]->ts_ms, April2008Ms(3));
    first_start = std::min(first_start, rows[0]->ts_ms);
    last_start = std::max(last_start, rows[0]->ts_ms);
  }
  // Not piled up at midnight: 40 sessions span most of the day.
  EXPECT_GT(last_start - first_start, int64_t{12} * 3600 * 1000);
}

std::string EshopWithBadLines() {
  return std::string(kEshopHeader) + EshopLine(1, 1, 7, 1, "A1", 1) +  // line 2
         EshopLine(1, 2, 7, 5, "A1", 1) +            // line 3: category
         "2008;2;30;1;29;8;1;A1;1;5;1;28;2;1\r\n" +  // line 4: date
         "2008;4;1;1;29;9;1;A1;1;5;1;28;2\r\n" +     // line 5: columns
         EshopLine(1, 0, 7, 1, "A1", 1) +            // line 6: order
         EshopLine(1, 3, 7, 1, "A/1", 1) +           // line 7: model
         EshopLine(1, 4, 7, 1, "A2", 1);             // line 8
}

TEST(EshopConvert, StrictModeFailsNamingFileAndLine) {
  const std::string path = WriteTemp("eshop_bad.csv", EshopWithBadLines());
  Collector got;
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(path, EshopOptions{}, got.sink());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stats.status().message(),
              HasSubstr(path + ": line 3: page 1 (main category)"));
  EXPECT_TRUE(got.rows.empty());
}

TEST(EshopConvert, LenientModeSkipsAndCountsMalformedLines) {
  const std::string path = WriteTemp("eshop_bad.csv", EshopWithBadLines());
  Collector got;
  EshopOptions options;
  options.lenient = true;
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(path, options, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 7u);
  EXPECT_EQ(stats->malformed, 5u);
  EXPECT_EQ(stats->page_views, 2u);
  EXPECT_EQ(stats->sessions, 1u);
  ASSERT_EQ(stats->errors.size(), 5u);
  EXPECT_THAT(stats->errors[1], HasSubstr("line 4: not a valid date"));
  EXPECT_THAT(stats->errors[2], HasSubstr("line 5: expected 14"));
  EXPECT_THAT(stats->errors[3], HasSubstr("line 6: order"));
  EXPECT_THAT(stats->errors[4], HasSubstr("line 7: page 2"));
  EXPECT_THAT(Pages(got.rows), ElementsAre("/p/A1", "/p/A2"));
}

TEST(EshopConvert, RejectsBadOptionsAndHeaders) {
  const std::string good =
      WriteTemp("eshop_ok.csv",
                std::string(kEshopHeader) + EshopLine(1, 1, 1, 1, "A1", 1));
  EshopOptions options;
  options.click_gap_ms = -1;
  EXPECT_EQ(ConvertEshopClickstream(good, options, Collector{}.sink())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  options.click_gap_ms = 1'800'001;
  EXPECT_THAT(ConvertEshopClickstream(good, options, Collector{}.sink())
                  .status()
                  .message(),
              HasSubstr("click_gap_ms"));

  const std::string nasa = WriteTemp("eshop_wrong.csv", kNasaHeader);
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(nasa, EshopOptions{}, Collector{}.sink());
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.status().message(), HasSubstr(nasa + ": line 1: "));
}

// ---- Access logs (Common and Combined Log Format)

TEST(AccessLogPageUrl, PagesHaveNoExtensionOrAPageOne) {
  for (const char* url :
       {"/", "/p/12", "/checkout/payment", "/index.php", "/a.HTML",
        "/search?q=a.b", "/cart#x", "/v1.2/", "/cgi-bin/x.cgi"}) {
    EXPECT_TRUE(IsAccessLogPageUrl(url)) << url;
  }
  for (const char* url : {"", "/app.js", "/logo.PNG", "/favicon.ico",
                          "/robots.txt", "/s/site.css?v=3", "/f.woff2"}) {
    EXPECT_FALSE(IsAccessLogPageUrl(url)) << url;
  }
  EXPECT_TRUE(IsCrawlerAgent("Mozilla/5.0 (compatible; Googlebot/2.1)"));
  EXPECT_TRUE(IsCrawlerAgent("Baiduspider"));
  EXPECT_TRUE(IsCrawlerAgent("Yahoo! Slurp"));
  EXPECT_FALSE(IsCrawlerAgent("Mozilla/5.0 (X11; Linux x86_64) Firefox/118"));
  EXPECT_FALSE(IsCrawlerAgent(""));
}

constexpr char kAccessLog[] =
    // Combined format, two zones: 10:00:05 UTC and 12:00:07+02:00 = 10:00:07.
    "10.0.0.1 - - [01/Apr/2008:10:00:05 +0000] \"GET /p/12 HTTP/1.1\" 200 "
    "512 \"https://www.google.com/search?q=x\" \"Mozilla/5.0\"\n"
    "10.0.0.1 - - [01/Apr/2008:10:00:06 +0000] \"GET /s/site.css HTTP/1.1\" "
    "200 99 \"-\" \"Mozilla/5.0\"\n"
    "10.0.0.2 - bob [01/Apr/2008:12:00:07 +0200] \"GET /cart?x=\\\"1\\\" "
    "HTTP/1.1\" 304 - \"-\" \"Mozilla/5.0 \\\"quoted\\\"\"\n"
    "10.0.0.3 - - [01/Apr/2008:10:00:08 +0000] \"POST /cart HTTP/1.1\" 200 "
    "10 \"-\" \"Mozilla/5.0\"\n"
    "10.0.0.3 - - [01/Apr/2008:10:00:09 +0000] \"GET /gone HTTP/1.1\" 404 10 "
    "\"-\" \"Mozilla/5.0\"\n"
    "66.249.66.1 - - [01/Apr/2008:10:00:10 +0000] \"GET /p/13 HTTP/1.1\" 200 "
    "10 \"-\" \"Googlebot/2.1\"\n"
    "\n"
    // Common format (no referer, no agent) and an absolute URL, at
    // 23:59:59 -0100, which is 00:59:59 UTC the next day.
    "10.0.0.4 - - [31/Mar/2008:23:59:59 -0100] \"GET http://shop.example/c/"
    "x?page=2 HTTP/1.0\" 200 7\n";

TEST(AccessLogConvert, KeepsPageRequestsAndMapsFields) {
  const std::string path = WriteTemp("access.log", kAccessLog);
  Collector got;
  absl::StatusOr<AccessLogStats> stats =
      ConvertAccessLog(path, AccessLogOptions{}, got.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 7u);
  EXPECT_EQ(stats->page_views, 3u);
  EXPECT_EQ(stats->skipped_not_page, 1u);
  EXPECT_EQ(stats->skipped_method, 1u);
  EXPECT_EQ(stats->skipped_status, 1u);
  EXPECT_EQ(stats->skipped_crawlers, 1u);
  EXPECT_EQ(stats->malformed, 0u);
  EXPECT_EQ(stats->out_of_order, 1u);  // The last line is the earliest.
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_THAT(Pages(got.rows),
              ElementsAre("/c/x?page=2", "/p/12", "/cart?x=\"1\""));
  const int64_t t = 1207044005000;  // 2008-04-01T10:00:05Z.
  EXPECT_EQ(got.rows[0].ts_ms, t - (9 * 3600 + 6) * 1000);
  EXPECT_EQ(got.rows[0].visitor, "10.0.0.4");
  EXPECT_EQ(got.rows[0].detail, "");
  EXPECT_EQ(got.rows[0].line, 8u);
  EXPECT_EQ(got.rows[1].ts_ms, t);
  EXPECT_EQ(got.rows[1].visitor, "10.0.0.1");
  EXPECT_EQ(got.rows[1].detail, "https://www.google.com/search?q=x");
  EXPECT_EQ(got.rows[1].line, 1u);
  EXPECT_EQ(got.rows[2].ts_ms, t + 2000);
  EXPECT_EQ(got.rows[2].visitor, "10.0.0.2");
  EXPECT_EQ(got.rows[2].detail, "");
  for (const LogEvent& e : got.rows) EXPECT_EQ(e.type, EventType::kPageView);
  // Crawlers kept when asked.
  AccessLogOptions keep;
  keep.skip_crawlers = false;
  Collector all;
  stats = ConvertAccessLog(path, keep, all.sink());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->page_views, 4u);
  EXPECT_EQ(stats->skipped_crawlers, 0u);
}

TEST(AccessLogConvert, StrictModeNamesTheLineLenientModeCountsIt) {
  const std::string ok =
      "10.0.0.1 - - [01/Apr/2008:10:00:05 +0000] \"GET / HTTP/1.1\" 200 5\n";
  const std::string head = "10.0.0.1 - - [01/Apr/2008:10:00:05 +0000] ";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"10.0.0.1 - - [01/Apr/2008:10:00:05] \"GET / HTTP/1.1\" 200 5",
       "time is not"},
      {"10.0.0.1 - - [31/Feb/2008:10:00:05 +0000] \"GET / HTTP/1.1\" 200 5",
       "time is not"},
      {head + "GET / 200 5", "not quoted"},
      {head + "\"GET\" 200 5", "METHOD URL"},
      {head + "\"GET / HTTP/1.1\" OK 5", "status"},
      {head + "\"GET / HTTP/1.1\" 200", "status and size"},
      {head + "\"GET / HTTP/1.1\" 200 -5", "size"},
      {head + "\"GET / HTTP/1.1\" 200 5 \"-", "referer"},
      {"just some text", "expected host"},
  };
  for (const auto& [line, problem] : bad) {
    const std::string path = WriteTemp("access_bad.log", ok + line + "\n" + ok);
    Collector got;
    absl::StatusOr<AccessLogStats> stats =
        ConvertAccessLog(path, AccessLogOptions{}, got.sink());
    ASSERT_FALSE(stats.ok()) << line;
    EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(stats.status().message(), HasSubstr(path + ": line 2: "));
    EXPECT_THAT(stats.status().message(), HasSubstr(problem)) << line;
    EXPECT_TRUE(got.rows.empty());  // Nothing is sent before the error.
    AccessLogOptions lenient;
    lenient.lenient = true;
    stats = ConvertAccessLog(path, lenient, got.sink());
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->malformed, 1u);
    EXPECT_EQ(stats->page_views, 2u);
    ASSERT_EQ(stats->errors.size(), 1u);
    EXPECT_THAT(stats->errors[0], HasSubstr("line 2"));
  }
  absl::StatusOr<AccessLogStats> missing = ConvertAccessLog(
      "/no/such/access.log", AccessLogOptions{}, Collector().sink());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

// ---- The real files (skipped where ../shared/data is absent)

std::string DataDir() {
  if (const char* env = std::getenv("BECKON_DATA_DIR"); env && *env) {
    return env;
  }
#ifdef BECKON_SHARED_DATA
  return BECKON_SHARED_DATA;
#else
  return "";
#endif
}

// The path of data file `name`, or "" if it is absent.
std::string DataFile(const std::string& name) {
  const std::string dir = DataDir();
  if (dir.empty()) return "";
  const std::filesystem::path p = std::filesystem::path(dir) / name;
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) ? p.string() : "";
}

struct SessionFacts {
  uint64_t sessions = 0;
  std::vector<int64_t> gaps_ms;  // Between consecutive rows of a session.
};

// Sessionizes rows (in time order) by visitor with a 30-minute gap.
SessionFacts Sessionize(const std::vector<LogEvent>& rows) {
  constexpr int64_t kTimeoutMs = 30 * 60 * 1000;
  SessionFacts facts;
  std::unordered_map<std::string, int64_t> last;
  for (const LogEvent& e : rows) {
    auto [it, fresh] = last.try_emplace(e.visitor, e.ts_ms);
    if (fresh || e.ts_ms - it->second > kTimeoutMs) {
      ++facts.sessions;
    } else {
      facts.gaps_ms.push_back(e.ts_ms - it->second);
    }
    it->second = e.ts_ms;
  }
  return facts;
}

double MedianSeconds(std::vector<int64_t> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  return m / 1000;
}

// Feeds every row to an engine with the default policy; returns the first
// rejection, or OK.
absl::Status ObserveAll(const std::vector<LogEvent>& rows) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(Policy::Default());
  if (!engine.ok()) return engine.status();
  for (const LogEvent& e : rows) {
    if (absl::Status s = (*engine)->Observe(e.ToEvent()); !s.ok()) {
      return absl::InternalError(
          absl::StrCat("row from line ", e.line, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

bool SortedByTime(const std::vector<LogEvent>& rows) {
  return std::is_sorted(
      rows.begin(), rows.end(),
      [](const LogEvent& a, const LogEvent& b) { return a.ts_ms < b.ts_ms; });
}

TEST(RealData, NasaLogMatchesThePublishedTrafficFacts) {
  const std::string path = DataFile("nasa_19950801.tsv");
  if (path.empty()) {
    GTEST_SKIP() << "nasa_19950801.tsv not found in \"" << DataDir()
                 << "\" (set BECKON_DATA_DIR to the shared data folder)";
  }
  Collector got;
  absl::StatusOr<NasaLogStats> stats =
      ConvertNasaLog(path, NasaLogOptions{}, got.sink());  // Strict.
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 30969u);
  EXPECT_EQ(stats->malformed, 0u);
  EXPECT_EQ(stats->page_views + stats->skipped_method + stats->skipped_status +
                stats->skipped_not_page,
            stats->rows_read);
  EXPECT_EQ(stats->page_views, got.rows.size());
  EXPECT_GT(stats->skipped_not_page, stats->page_views);  // Mostly images.
  EXPECT_GT(stats->search_requests, 0u);
  EXPECT_TRUE(SortedByTime(got.rows));

  const SessionFacts facts = Sessionize(got.rows);
  EXPECT_GE(facts.sessions, 2600u);
  EXPECT_LE(facts.sessions, 2950u);
  const double median_gap_s = MedianSeconds(facts.gaps_ms);
  EXPECT_GE(median_gap_s, 30);
  EXPECT_LE(median_gap_s, 55);
  std::printf(
      "NASA: %llu lines, %llu page views (%llu search), skipped %llu "
      "method, %llu status, %llu non-page; %llu sessions, median gap %.1f s\n",
      static_cast<unsigned long long>(stats->rows_read),
      static_cast<unsigned long long>(stats->page_views),
      static_cast<unsigned long long>(stats->search_requests),
      static_cast<unsigned long long>(stats->skipped_method),
      static_cast<unsigned long long>(stats->skipped_status),
      static_cast<unsigned long long>(stats->skipped_not_page),
      static_cast<unsigned long long>(facts.sessions), median_gap_s);

  const absl::Status observed = ObserveAll(got.rows);
  EXPECT_TRUE(observed.ok()) << observed;
}

TEST(RealData, EshopClickstreamKeepsEverySession) {
  const std::string path = DataFile("eshop_clothing_2008_april_subset.csv");
  if (path.empty()) {
    GTEST_SKIP() << "eshop_clothing_2008_april_subset.csv not found in \""
                 << DataDir()
                 << "\" (set BECKON_DATA_DIR to the shared data folder)";
  }
  Collector got;
  absl::StatusOr<EshopStats> stats =
      ConvertEshopClickstream(path, EshopOptions{}, got.sink());  // Strict.
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows_read, 48199u);
  EXPECT_EQ(stats->page_views, stats->rows_read - stats->malformed);
  EXPECT_EQ(stats->page_views, got.rows.size());
  EXPECT_NEAR(static_cast<double>(stats->sessions), 6941, 5);
  EXPECT_TRUE(SortedByTime(got.rows));

  // With 30 s between clicks no session splits and none merges (one
  // visitor per session ID).
  const SessionFacts facts = Sessionize(got.rows);
  EXPECT_EQ(facts.sessions, stats->sessions);
  EXPECT_NEAR(static_cast<double>(facts.sessions), 6941, 5);
  std::printf("e-shop: %llu rows, %llu page views, %llu sessions, %llu days\n",
              static_cast<unsigned long long>(stats->rows_read),
              static_cast<unsigned long long>(stats->page_views),
              static_cast<unsigned long long>(stats->sessions),
              static_cast<unsigned long long>(stats->days));

  const absl::Status observed = ObserveAll(got.rows);
  EXPECT_TRUE(observed.ok()) << observed;
}

}  // namespace
}  // namespace beckon
