// Converters from public web logs to the event log (docs/real-logs.md).
//
//   beckon::NasaLogOptions options;                 // strict by default
//   auto writer = beckon::EventLogWriter::Open("nasa.csv");
//   absl::StatusOr<beckon::NasaLogStats> stats = beckon::ConvertNasaLog(
//       "nasa_19950801.tsv", options,
//       [&](const beckon::LogEvent& e) { return (*writer)->Write(e); });
//   // stats->page_views rows were written, in time order.
//
// Three sources are supported:
//
// - The NASA Kennedy Space Center access log (tab-separated: host, logname,
//   time, method, url, response, bytes, referer, useragent). Page requests
//   become page_view rows with their real timing and paths; images, sounds,
//   failed and non-GET requests are skipped and counted by reason.
// - The UCI e-shop clothing clickstream (`;`-separated: year; month; day;
//   order; country; session ID; page 1; page 2; ...). Every click becomes a
//   page_view of its product. THE TIMING OF THIS SET IS SYNTHETIC: the data
//   gives only the day and the click order, so each session is placed at a
//   deterministic second of its day and its clicks are a fixed gap apart.
//   Dwell times from this set measure nothing; its paths are real.
// - A web server's own access log in the Common or Combined Log Format
//   (Apache httpd, nginx): page requests become page_view rows, as for
//   the NASA log.
//
// No source has help labels: no help_contact (or any other) rows are
// made up. Every converter reads the whole input, sort the kept rows by time
// (stable: file order for ties) and only then call the sink, so a strict-mode
// error leaves the sink untouched. Memory is O(kept rows); the input itself
// is read a line at a time.
//
// Errors name the file, the line (1-based; a header is line 1) and the
// problem: "nasa.tsv: line 17: time is not an integer: \"x\"".
//
// Thread safety: the functions share no state; each call may run on its own
// thread.
#ifndef BECKON_CONVERT_H_
#define BECKON_CONVERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beckon/event_log.h"
#include "beckon/simulate.h"  // LogSink

namespace beckon {

// ---- NASA Kennedy Space Center access log

struct NasaLogOptions {
  // If set, malformed lines (wrong column count, a non-integer or negative
  // time or response, an empty host) are skipped and counted
  // (NasaLogStats::malformed) instead of failing the conversion. A missing
  // or wrong header and I/O errors still fail. Default: false (strict).
  bool lenient = false;
  // Errors kept in lenient mode (NasaLogStats::errors). Default: 10.
  size_t max_errors_kept = 10;
};

// What a conversion read, kept and skipped. Every data line is counted in
// exactly one of page_views, skipped_method, skipped_status, skipped_not_page
// and malformed (blank lines are in none: they are ignored).
struct NasaLogStats {
  uint64_t rows_read = 0;           // Data lines read (header and blank lines
                                    // not counted).
  uint64_t page_views = 0;          // page_view rows passed to the sink.
  uint64_t skipped_method = 0;      // Not GET (HEAD, POST, ...).
  uint64_t skipped_status = 0;      // GET with a response other than 200/304.
  uint64_t skipped_not_page = 0;    // GET 200/304 of a non-page: images,
                                    // sounds, video, text files, other CGI.
  uint64_t malformed = 0;           // Bad lines skipped (lenient mode).
  uint64_t search_requests = 0;     // Of page_views: the site's search script
                                    // (/htbin/wais.pl), kept as page views.
  uint64_t hashed_hosts = 0;        // Of page_views: visitor is a host hash
                                    // (host longer than kMaxVisitorIdBytes).
  uint64_t out_of_order = 0;        // Kept rows earlier than a kept row before
                                    // them in the file (fixed by the sort).
  std::vector<std::string> errors;  // The first malformed lines' errors.
};

// True if a request for `url` (path and optional query) is a page request:
// its path ends in "/", ".html" or ".htm" (ASCII case-insensitive), or
// starts with "/htbin/" (the site's scripts, its search among them).
// Anything else (".gif", ".jpg", ".xbm", ".mpg", ".wav", ".txt", ...) is not.
bool IsNasaPageUrl(std::string_view url);

// The visitor id for `host`: the host itself if it has 1 to
// kMaxVisitorIdBytes bytes; for a longer host, "h" followed by the 16
// lowercase hex digits of the 64-bit FNV-1a hash of the host (stable across
// runs and platforms). REQUIRES: !host.empty().
std::string NasaVisitorId(std::string_view host);

// Converts the NASA access log at `path` into page_view rows, delivered to
// `sink` in time order:
//   ts_ms   = time * 1000 (time is Unix seconds)
//   visitor = NasaVisitorId(host)
//   page    = the URL as logged (path with query)
//   detail  = the referer column ("" when absent or "-")
// Kept: method GET, response 200 or 304, IsNasaPageUrl(url). Requests to
// the search script /htbin/wais.pl stay page_view rows: a search row needs
// a result count, which the log does not have (see search_requests).
// The first line must be the header; the referer and useragent columns may
// be missing from a line (7 to 9 columns). Returns the counts, an
// InvalidArgument error naming file, line and problem (a bad header; a
// malformed line in strict mode), NotFound if the file cannot be opened, or
// the sink's first error.
absl::StatusOr<NasaLogStats> ConvertNasaLog(const std::string& path,
                                            const NasaLogOptions& options,
                                            const LogSink& sink);

// ---- UCI e-shop clothing clickstream

struct EshopOptions {
  // As NasaLogOptions::lenient: malformed lines (wrong column count, a bad
  // date, order, session ID, main category, model code or page number) are
  // skipped and counted instead of failing. Default: false (strict).
  bool lenient = false;
  size_t max_errors_kept = 10;  // Default: 10.
  // The synthetic time between two consecutive clicks of a session, in ms.
  // Default: 30,000 (30 s). REQUIRES: >= 0 and <= 1,800,000 (a longer gap
  // would split sessions at the default 30-minute timeout).
  int64_t click_gap_ms = 30'000;
};

struct EshopStats {
  uint64_t rows_read = 0;   // Data lines read (header and blank lines not
                            // counted).
  uint64_t page_views = 0;  // page_view rows passed to the sink.
  uint64_t malformed = 0;   // Bad lines skipped (lenient mode).
  uint64_t sessions = 0;    // Distinct session IDs among the kept rows.
  uint64_t days = 0;        // Distinct dates among the kept rows.
  std::vector<std::string> errors;  // The first malformed lines' errors.
};

// The URL path of main category `category` (1 trousers, 2 skirts,
// 3 blouses, 4 sale): "/c/trousers" ... "/c/sale"; "" for another value.
std::string_view EshopCategoryPath(int category);

// The second of its day at which a session starts: the 64-bit FNV-1a hash
// of the session ID's decimal text, modulo 86,400. Deterministic, spread
// over the day, and independent of which other sessions are in the file.
int64_t EshopSessionOffsetS(std::string_view session_id);

// Converts the e-shop clickstream at `path` into page_view rows, delivered
// to `sink` in time order:
//   visitor = "s" + the session ID
//   page    = "/p/" + the clothing model code ("page 2"), e.g. "/p/A13"
//   detail  = the listing the product was clicked on, as the referrer:
//             EshopCategoryPath(page 1) + "?page=" + the page number,
//             e.g. "/c/trousers?page=1"
//   ts_ms   = midnight UTC of the row's date
//             + EshopSessionOffsetS(session ID) * 1000
//             + (order - 1) * options.click_gap_ms       (SYNTHETIC)
// A late session may run past its day's midnight. Colour, photo location,
// photography, price and country are dropped. The first line must be the
// header. Returns the counts, InvalidArgument naming file, line and problem
// (a bad option or header; a malformed line in strict mode), NotFound if the
// file cannot be opened, or the sink's first error.
absl::StatusOr<EshopStats> ConvertEshopClickstream(const std::string& path,
                                                   const EshopOptions& options,
                                                   const LogSink& sink);

// ---- Web server access logs: the Common and Combined Log Formats

// One line per request, as Apache httpd and nginx write them:
//   host ident authuser [10/Oct/2000:13:55:36 -0700] "GET /p/1 HTTP/1.1"
//   200 2326 "https://www.google.com/" "Mozilla/5.0 ..."
// (the referer and user-agent fields are the Combined format's; the
// Common format stops after the size). No header line.
struct AccessLogOptions {
  // As NasaLogOptions::lenient: malformed lines (a missing field, a bad
  // time, request or status) are skipped and counted instead of failing.
  // Default: false (strict).
  bool lenient = false;
  size_t max_errors_kept = 10;  // Default: 10.
  // Skip requests whose user agent names a crawler (IsCrawlerAgent).
  // Default: true.
  bool skip_crawlers = true;
};

// Every non-blank line is counted in exactly one of page_views,
// skipped_method, skipped_status, skipped_not_page, skipped_crawlers and
// malformed.
struct AccessLogStats {
  uint64_t rows_read = 0;           // Non-blank lines read.
  uint64_t page_views = 0;          // page_view rows passed to the sink.
  uint64_t skipped_method = 0;      // Not GET.
  uint64_t skipped_status = 0;      // GET with a status other than 200/304.
  uint64_t skipped_not_page = 0;    // Assets: images, scripts, styles, fonts.
  uint64_t skipped_crawlers = 0;    // A crawler's user agent.
  uint64_t malformed = 0;           // Bad lines skipped (lenient mode).
  uint64_t hashed_hosts = 0;        // Of page_views: the visitor is a hash.
  uint64_t out_of_order = 0;        // Kept rows earlier than one before them.
  std::vector<std::string> errors;  // The first malformed lines' errors.
};

// True if `url` (path and optional query) names a page, not an asset: its
// last path segment has no extension, or one of .html, .htm, .php, .asp,
// .aspx, .jsp, .cgi (ASCII case-insensitive). "/", "/p/12",
// "/search?q=a.b" and "/index.php" are pages; "/app.js", "/logo.png",
// "/favicon.ico" and "/robots.txt" are not.
bool IsAccessLogPageUrl(std::string_view url);

// True if a user agent names a crawler: it contains "bot", "crawl",
// "spider" or "slurp" (ASCII case-insensitive).
bool IsCrawlerAgent(std::string_view user_agent);

// Converts the access log at `path` into page_view rows, delivered to
// `sink` in time order:
//   ts_ms   = the bracketed time, converted to UTC (whole seconds) * 1000
//   visitor = NasaVisitorId(host): the host, or a hash of a long one
//   page    = the request's URL (path with query; an absolute URL's path)
//   detail  = the referer ("" when absent or "-")
// Kept: method GET, status 200 or 304, IsAccessLogPageUrl, and (with
// skip_crawlers) not a crawler. The visitor is the host alone: visitors
// behind one proxy address are one visitor. Returns the counts, an
// InvalidArgument error naming file, line and problem (a malformed line in
// strict mode), NotFound if the file cannot be opened, or the sink's first
// error.
absl::StatusOr<AccessLogStats> ConvertAccessLog(const std::string& path,
                                                const AccessLogOptions& options,
                                                const LogSink& sink);

}  // namespace beckon

#endif  // BECKON_CONVERT_H_
