#include "beckon/convert.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "lib/quoted.h"
#include "lib/string_views.h"

namespace beckon {

using internal::AbslView;
using internal::StdView;

namespace {

constexpr int64_t kMaxUnixSeconds = 253402300799;  // End of year 9999.
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kMaxClickGapMs = 1'800'000;

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

using internal::Quoted;

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         absl::EqualsIgnoreCase(AbslView(s.substr(s.size() - suffix.size())),
                                AbslView(suffix));
}

// Reads a text file a line at a time, counting lines, without the line end
// ("\n" or "\r\n").
class LineReader {
 public:
  static absl::StatusOr<LineReader> Open(const std::string& path,
                                         std::string_view what) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot open ", AbslView(what),
                                              " ", path, ": ",
                                              std::strerror(errno)));
    }
    return LineReader(f, path);
  }
  LineReader(LineReader&& other) noexcept
      : file_(std::exchange(other.file_, nullptr)),
        path_(std::move(other.path_)),
        line_(other.line_) {}
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  LineReader& operator=(LineReader&&) = delete;
  ~LineReader() {
    if (file_ != nullptr) std::fclose(file_);
  }

  // Reads the next line into `out`; false at the end of the file.
  absl::StatusOr<bool> Next(std::string& out) {
    out.clear();
    int c;
    bool any = false;
    while ((c = std::getc(file_)) != EOF) {
      any = true;
      if (c == '\n') break;
      out.push_back(static_cast<char>(c));
    }
    if (std::ferror(file_)) {
      return absl::DataLossError(
          absl::StrCat(path_, ": read error after line ", line_));
    }
    if (!any) return false;
    ++line_;
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return true;
  }

  uint64_t line() const { return line_; }
  const std::string& path() const { return path_; }

  // An InvalidArgument error naming the file and the current line.
  absl::Status Error(std::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": line ", line_, ": ", AbslView(problem)));
  }

 private:
  LineReader(std::FILE* f, std::string path)
      : file_(f), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
  uint64_t line_ = 0;
};

// Strict: returns the error. Lenient: counts it, keeps its text if there is
// room, and returns OK (the line is skipped).
absl::Status Malformed(absl::Status error, bool lenient, size_t max_kept,
                       uint64_t& malformed, std::vector<std::string>& errors) {
  if (!lenient) return error;
  ++malformed;
  if (errors.size() < max_kept) errors.emplace_back(error.message());
  return absl::OkStatus();
}

// Sorts by ts_ms (file order for ties) and passes every row to `sink`.
absl::Status SortAndDeliver(std::vector<LogEvent>& rows, const LogSink& sink) {
  SortByTime(rows);
  for (const LogEvent& e : rows) {
    if (absl::Status s = sink(e); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil). REQUIRES: a valid date.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ValidDate(int64_t y, int64_t m, int64_t d) {
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  int last = kDays[m - 1];
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && leap) last = 29;
  return d <= last;
}

bool IsModelCode(std::string_view s) {
  if (s.empty() || s.size() > 16) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c));
  });
}

}  // namespace

// ---- NASA

bool IsNasaPageUrl(std::string_view url) {
  const std::string_view path = url.substr(0, url.find_first_of("?#"));
  if (path.empty()) return false;
  if (path.back() == '/') return true;
  if (path.substr(0, 7) == "/htbin/") return true;
  return EndsWithNoCase(path, ".html") || EndsWithNoCase(path, ".htm");
}

std::string NasaVisitorId(std::string_view host) {
  if (host.size() <= kMaxVisitorIdBytes) return std::string(host);
  return absl::StrFormat("h%016x", Fnv1a64(host));
}

absl::StatusOr<NasaLogStats> ConvertNasaLog(const std::string& path,
                                            const NasaLogOptions& options,
                                            const LogSink& sink) {
  absl::StatusOr<LineReader> opened = LineReader::Open(path, "NASA log");
  if (!opened.ok()) return opened.status();
  LineReader& in = *opened;
  NasaLogStats stats;
  std::string line;

  // The header: at least the first seven column names, in order.
  static constexpr std::string_view kColumns[] = {
      "host",     "logname", "time",    "method",   "url",
      "response", "bytes",   "referer", "useragent"};
  absl::StatusOr<bool> got = in.Next(line);
  if (!got.ok()) return got.status();
  if (!*got) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": empty file; expected a header starting \"host\\tlogname\\t"
        "time\\tmethod\\turl\\tresponse\\tbytes\""));
  }
  {
    std::vector<absl::string_view> names = absl::StrSplit(line, '\t');
    bool ok = names.size() >= 7 && names.size() <= 9;
    for (size_t i = 0; ok && i < names.size(); ++i) {
      ok = StdView(names[i]) == kColumns[i];
    }
    if (!ok) {
      return in.Error(absl::StrCat(
          "the header must be the tab-separated columns host, logname, time, "
          "method, url, response, bytes[, referer[, useragent]]; found ",
          Quoted(line)));
    }
  }

  std::vector<LogEvent> rows;
  int64_t latest_ms = INT64_MIN;
  while (true) {
    got = in.Next(line);
    if (!got.ok()) return got.status();
    if (!*got) break;
    if (line.empty()) continue;
    ++stats.rows_read;
    auto bad = [&](std::string_view problem) {
      return Malformed(in.Error(problem), options.lenient,
                       options.max_errors_kept, stats.malformed, stats.errors);
    };
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() < 7 || f.size() > 9) {
      if (absl::Status s = bad(absl::StrCat("expected 7 to 9 tab-separated "
                                            "columns, got ",
                                            f.size()));
          !s.ok()) {
        return s;
      }
      continue;
    }
    int64_t time_s;
    if (!absl::SimpleAtoi(f[2], &time_s) || time_s < 0 ||
        time_s > kMaxUnixSeconds) {
      if (absl::Status s = bad(
              absl::StrCat("time is not an integer number of seconds in [0, ",
                           kMaxUnixSeconds, "]: ", Quoted(StdView(f[2]))));
          !s.ok()) {
        return s;
      }
      continue;
    }
    int response;
    if (!absl::SimpleAtoi(f[5], &response) || response < 0) {
      if (absl::Status s = bad(absl::StrCat("response is not a status code: ",
                                            Quoted(StdView(f[5]))));
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (f[0].empty()) {
      if (absl::Status s = bad("host is empty"); !s.ok()) return s;
      continue;
    }
    if (f[3] != "GET") {
      ++stats.skipped_method;
      continue;
    }
    if (response != 200 && response != 304) {
      ++stats.skipped_status;
      continue;
    }
    const std::string_view url = StdView(f[4]);
    if (!IsNasaPageUrl(url)) {
      ++stats.skipped_not_page;
      continue;
    }
    LogEvent e;
    e.ts_ms = time_s * 1000;
    e.type = EventType::kPageView;
    e.visitor = NasaVisitorId(StdView(f[0]));
    if (e.visitor.size() != f[0].size()) ++stats.hashed_hosts;
    e.page = std::string(url);
    if (f.size() >= 8 && f[7] != "-") e.detail = std::string(f[7]);
    e.line = in.line();
    if (url.substr(0, 14) == "/htbin/wais.pl") ++stats.search_requests;
    if (e.ts_ms < latest_ms) ++stats.out_of_order;
    latest_ms = std::max(latest_ms, e.ts_ms);
    rows.push_back(std::move(e));
  }
  stats.page_views = rows.size();
  if (absl::Status s = SortAndDeliver(rows, sink); !s.ok()) return s;
  return stats;
}

// ---- e-shop clickstream

std::string_view EshopCategoryPath(int category) {
  switch (category) {
    case 1:
      return "/c/trousers";
    case 2:
      return "/c/skirts";
    case 3:
      return "/c/blouses";
    case 4:
      return "/c/sale";
    default:
      return "";
  }
}

int64_t EshopSessionOffsetS(std::string_view session_id) {
  return static_cast<int64_t>(Fnv1a64(session_id) % 86'400);
}

absl::StatusOr<EshopStats> ConvertEshopClickstream(const std::string& path,
                                                   const EshopOptions& options,
                                                   const LogSink& sink) {
  if (options.click_gap_ms < 0 || options.click_gap_ms > kMaxClickGapMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("click_gap_ms must be in [0, ", kMaxClickGapMs, "], got ",
                     options.click_gap_ms));
  }
  absl::StatusOr<LineReader> opened =
      LineReader::Open(path, "e-shop clickstream");
  if (!opened.ok()) return opened.status();
  LineReader& in = *opened;
  EshopStats stats;
  std::string line;

  // The header: 14 columns, the first six named as in the published data.
  static constexpr std::string_view kFirstColumns[] = {
      "year", "month", "day", "order", "country", "session ID"};
  constexpr size_t kColumnCount = 14;
  absl::StatusOr<bool> got = in.Next(line);
  if (!got.ok()) return got.status();
  if (!*got) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": empty file; expected a header starting "
                     "\"year;month;day;order;country;session ID\""));
  }
  {
    std::string_view seen = line;
    if (seen.substr(0, 3) == "\xEF\xBB\xBF") seen.remove_prefix(3);
    std::vector<absl::string_view> names = absl::StrSplit(AbslView(seen), ';');
    bool ok = names.size() == kColumnCount;
    for (size_t i = 0; ok && i < std::size(kFirstColumns); ++i) {
      ok = StdView(names[i]) == kFirstColumns[i];
    }
    if (!ok) {
      return in.Error(
          absl::StrCat("the header must have 14 `;`-separated columns starting "
                       "year;month;day;order;country;session ID; found ",
                       Quoted(seen)));
    }
  }

  std::vector<LogEvent> rows;
  absl::flat_hash_set<int64_t> sessions;
  absl::flat_hash_set<int64_t> days;
  while (true) {
    got = in.Next(line);
    if (!got.ok()) return got.status();
    if (!*got) break;
    if (line.empty()) continue;
    ++stats.rows_read;
    auto bad = [&](std::string_view problem) {
      return Malformed(in.Error(problem), options.lenient,
                       options.max_errors_kept, stats.malformed, stats.errors);
    };
    std::vector<absl::string_view> f = absl::StrSplit(line, ';');
    if (f.size() != kColumnCount) {
      if (absl::Status s =
              bad(absl::StrCat("expected ", kColumnCount,
                               " `;`-separated columns, got ", f.size()));
          !s.ok()) {
        return s;
      }
      continue;
    }
    int64_t year = 0, month = 0, day = 0, order = 0, session = 0;
    int64_t category = 0, page_number = 0;
    std::string problem;
    if (!absl::SimpleAtoi(f[0], &year) || !absl::SimpleAtoi(f[1], &month) ||
        !absl::SimpleAtoi(f[2], &day) || !ValidDate(year, month, day)) {
      problem = absl::StrCat("not a valid date (1970 to 9999): ",
                             Quoted(absl::StrCat(f[0], "-", f[1], "-", f[2])));
    } else if (!absl::SimpleAtoi(f[3], &order) || order < 1 ||
               order > 1'000'000) {
      problem = absl::StrCat("order is not an integer in [1, 1000000]: ",
                             Quoted(StdView(f[3])));
    } else if (!absl::SimpleAtoi(f[5], &session) || session < 0) {
      problem = absl::StrCat("session ID is not an integer >= 0: ",
                             Quoted(StdView(f[5])));
    } else if (!absl::SimpleAtoi(f[6], &category) ||
               EshopCategoryPath(static_cast<int>(category)).empty()) {
      problem = absl::StrCat("page 1 (main category) is not 1 to 4: ",
                             Quoted(StdView(f[6])));
    } else if (!IsModelCode(StdView(f[7]))) {
      problem = absl::StrCat(
          "page 2 (clothing model) is not 1 to 16 letters and digits: ",
          Quoted(StdView(f[7])));
    } else if (!absl::SimpleAtoi(f[13], &page_number) || page_number < 1 ||
               page_number > 1000) {
      problem = absl::StrCat("page is not an integer in [1, 1000]: ",
                             Quoted(StdView(f[13])));
    }
    if (!problem.empty()) {
      if (absl::Status s = bad(problem); !s.ok()) return s;
      continue;
    }
    const std::string session_text = absl::StrCat(session);
    const int64_t day_number = DaysFromCivil(year, month, day);
    LogEvent e;
    e.type = EventType::kPageView;
    e.ts_ms = day_number * kDayMs + EshopSessionOffsetS(session_text) * 1000 +
              (order - 1) * options.click_gap_ms;
    e.visitor = absl::StrCat("s", session_text);
    e.page = absl::StrCat("/p/", f[7]);
    e.detail =
        absl::StrCat(AbslView(EshopCategoryPath(static_cast<int>(category))),
                     "?page=", page_number);
    e.line = in.line();
    sessions.insert(session);
    days.insert(day_number);
    rows.push_back(std::move(e));
  }
  stats.page_views = rows.size();
  stats.sessions = sessions.size();
  stats.days = days.size();
  if (absl::Status s = SortAndDeliver(rows, sink); !s.ok()) return s;
  return stats;
}

// ---- Access logs (Common and Combined Log Format)

bool IsAccessLogPageUrl(std::string_view url) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  if (path.empty()) return false;
  const size_t slash = path.rfind('/');
  const std::string_view last =
      slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = last.rfind('.');
  if (dot == std::string_view::npos) return true;
  const std::string_view ext = last.substr(dot);
  for (std::string_view page :
       {".html", ".htm", ".php", ".asp", ".aspx", ".jsp", ".cgi"}) {
    if (absl::EqualsIgnoreCase(AbslView(ext), AbslView(page))) return true;
  }
  return false;
}

bool IsCrawlerAgent(std::string_view user_agent) {
  const std::string lower = absl::AsciiStrToLower(AbslView(user_agent));
  for (std::string_view word : {"bot", "crawl", "spider", "slurp"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

namespace {

// The fields of one access log line.
struct AccessLine {
  std::string_view host;
  int64_t time_s = 0;
  std::string method, target;  // Of the request, unescaped.
  int status = 0;
  std::string referer, agent;  // Unescaped; "" when absent or "-".
};

// Reads a double-quoted field at `s[pos]` (backslash escapes \" and \\),
// into `out`; advances `pos` past the closing quote. False if malformed.
bool QuotedField(std::string_view s, size_t& pos, std::string& out) {
  out.clear();
  if (pos >= s.size() || s[pos] != '"') return false;
  for (size_t i = pos + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      out.push_back(s[++i]);
    } else if (c == '"') {
      pos = i + 1;
      return true;
    } else {
      out.push_back(c);
    }
  }
  return false;
}

// "10/Oct/2000:13:55:36 -0700" -> Unix seconds (UTC).
bool ParseClfTime(std::string_view t, int64_t& out) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                                 "May", "Jun", "Jul", "Aug",
                                                 "Sep", "Oct", "Nov", "Dec"};
  if (t.size() != 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' ||
      t[14] != ':' || t[17] != ':' || t[20] != ' ' ||
      (t[21] != '+' && t[21] != '-')) {
    return false;
  }
  auto num = [&](size_t at, size_t len, int64_t& v) {
    v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(t[i]))) return false;
      v = v * 10 + (t[i] - '0');
    }
    return true;
  };
  int64_t d, y, hh, mm, ss, zh, zm, m = 0;
  for (int i = 0; i < 12; ++i) {
    if (t.substr(3, 3) == kMonths[i]) m = i + 1;
  }
  if (m == 0 || !num(0, 2, d) || !num(7, 4, y) || !num(12, 2, hh) ||
      !num(15, 2, mm) || !num(18, 2, ss) || !num(22, 2, zh) ||
      !num(24, 2, zm) || !ValidDate(y, m, d) || hh > 23 || mm > 59 || ss > 60 ||
      zh > 23 || zm > 59) {
    return false;
  }
  const int64_t zone = (t[21] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
  out = DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - zone;
  return out >= 0 && out <= kMaxUnixSeconds;
}

// Parses one line; on failure returns the problem.
std::optional<std::string> ParseAccessLine(std::string_view s, AccessLine& a) {
  // host ident authuser
  size_t pos = 0;
  std::string_view tok[3];
  for (std::string_view& t : tok) {
    const size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) {
      return "expected host, ident, authuser, [time], \"request\", status and "
             "size";
    }
    t = s.substr(pos, end - pos);
    pos = end + 1;
  }
  a.host = tok[0];
  if (a.host.empty()) return "host is empty";
  if (pos >= s.size() || s[pos] != '[') return "expected [time] after authuser";
  const size_t close = s.find(']', pos);
  if (close == std::string_view::npos) return "the [time] is not closed";
  const std::string_view time = s.substr(pos + 1, close - pos - 1);
  if (!ParseClfTime(time, a.time_s)) {
    return absl::StrCat(
        "time is not dd/Mon/yyyy:HH:MM:SS +zzzz (a valid date from 1970): ",
        Quoted(time));
  }
  pos = close + 1;
  if (pos >= s.size() || s[pos] != ' ') return "expected a space after [time]";
  ++pos;
  std::string request;
  if (!QuotedField(s, pos, request)) return "the \"request\" is not quoted";
  {
    std::vector<absl::string_view> parts =
        absl::StrSplit(request, ' ', absl::SkipEmpty());
    if (parts.size() < 2 || parts.size() > 3) {
      return absl::StrCat("the request is not \"METHOD URL [PROTOCOL]\": ",
                          Quoted(request));
    }
    a.method.assign(parts[0].data(), parts[0].size());
    a.target.assign(parts[1].data(), parts[1].size());
  }
  std::vector<absl::string_view> rest =
      absl::StrSplit(AbslView(s.substr(pos)), ' ', absl::SkipEmpty());
  if (rest.size() < 2) return "expected status and size after the request";
  int status;
  if (!absl::SimpleAtoi(rest[0], &status) || status < 100 || status > 999) {
    return absl::StrCat("status is not an HTTP status code: ",
                        Quoted(StdView(rest[0])));
  }
  a.status = status;
  int64_t bytes;
  if (rest[1] != "-" && (!absl::SimpleAtoi(rest[1], &bytes) || bytes < 0)) {
    return absl::StrCat("size is not a byte count or \"-\": ",
                        Quoted(StdView(rest[1])));
  }
  a.referer.clear();
  a.agent.clear();
  // The Combined format's "referer" "user-agent", if present: after the
  // status and size, each followed by spaces.
  size_t q = pos;
  for (int field = 0; field < 2; ++field) {
    q = s.find_first_not_of(' ', q);
    q = s.find(' ', q);
  }
  q = q == std::string_view::npos ? q : s.find_first_not_of(' ', q);
  if (q != std::string_view::npos) {
    if (!QuotedField(s, q, a.referer)) return "the referer is not quoted";
    q = s.find_first_not_of(' ', q);
    if (q != std::string_view::npos && !QuotedField(s, q, a.agent)) {
      return "the user agent is not quoted";
    }
  }
  if (a.referer == "-") a.referer.clear();
  if (a.agent == "-") a.agent.clear();
  return std::nullopt;
}

// The path and query of a request target ("http://h/p?q" -> "/p?q").
std::string_view TargetPath(std::string_view target) {
  const size_t scheme = target.find("://");
  if (scheme != std::string_view::npos && target[0] != '/') {
    const size_t slash = target.find('/', scheme + 3);
    return slash == std::string_view::npos ? std::string_view("/")
                                           : target.substr(slash);
  }
  return target;
}

}  // namespace

absl::StatusOr<AccessLogStats> ConvertAccessLog(const std::string& path,
                                                const AccessLogOptions& options,
                                                const LogSink& sink) {
  absl::StatusOr<LineReader> opened = LineReader::Open(path, "access log");
  if (!opened.ok()) return opened.status();
  LineReader& in = *opened;
  AccessLogStats stats;
  std::string line;
  std::vector<LogEvent> rows;
  int64_t latest_ms = INT64_MIN;
  AccessLine a;
  while (true) {
    absl::StatusOr<bool> got = in.Next(line);
    if (!got.ok()) return got.status();
    if (!*got) break;
    if (line.empty()) continue;
    ++stats.rows_read;
    if (std::optional<std::string> problem = ParseAccessLine(line, a)) {
      absl::Status s =
          Malformed(in.Error(*problem), options.lenient,
                    options.max_errors_kept, stats.malformed, stats.errors);
      if (!s.ok()) return s;
      continue;
    }
    if (a.method != "GET") {
      ++stats.skipped_method;
      continue;
    }
    if (a.status != 200 && a.status != 304) {
      ++stats.skipped_status;
      continue;
    }
    const std::string_view url = TargetPath(a.target);
    if (url.empty() || url[0] != '/' || !IsAccessLogPageUrl(url)) {
      ++stats.skipped_not_page;
      continue;
    }
    if (options.skip_crawlers && IsCrawlerAgent(a.agent)) {
      ++stats.skipped_crawlers;
      continue;
    }
    LogEvent e;
    e.ts_ms = a.time_s * 1000;
    e.type = EventType::kPageView;
    e.visitor = NasaVisitorId(a.host);
    if (e.visitor.size() != a.host.size()) ++stats.hashed_hosts;
    e.page = std::string(url);
    e.detail = a.referer;
    e.line = in.line();
    if (e.ts_ms < latest_ms) ++stats.out_of_order;
    latest_ms = std::max(latest_ms, e.ts_ms);
    rows.push_back(std::move(e));
  }
  stats.page_views = rows.size();
  if (absl::Status s = SortAndDeliver(rows, sink); !s.ok()) return s;
  return stats;
}

}  // namespace beckon
