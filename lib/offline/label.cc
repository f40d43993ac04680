// Joining a helpdesk export onto an event log (include/beckon/label.h).
#include "beckon/label.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "beckon/event_log.h"
#include "lib/engine/decision_log.h"
#include "lib/quoted.h"
#include "lib/string_views.h"

namespace beckon {
namespace {

using internal::AbslView;
using internal::Quoted;

constexpr int64_t kSmallEpochMs = 100'000'000'000;     // 1973-03-03.
constexpr int64_t kMaxTimestampMs = 253402300799999;   // End of year 9999.
constexpr size_t kMaxVisitorBytes = 128;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int64_t Digits(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Days from 1970-01-01 to the civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Parses ISO 8601 "YYYY-MM-DD[T ]HH:MM:SS[.f+](Z|+hh:mm|-hh:mm|+hhmm)".
bool ParseIso(std::string_view s, int64_t& ts_ms, std::string& why) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    why = "not epoch milliseconds or ISO 8601 with a zone";
    return false;
  }
  const std::string_view fields[] = {s.substr(0, 4),  s.substr(5, 2),
                                     s.substr(8, 2),  s.substr(11, 2),
                                     s.substr(14, 2), s.substr(17, 2)};
  for (std::string_view f : fields) {
    if (!AllDigits(f)) {
      why = "not epoch milliseconds or ISO 8601 with a zone";
      return false;
    }
  }
  const int64_t y = Digits(fields[0]), mo = Digits(fields[1]),
                d = Digits(fields[2]), h = Digits(fields[3]),
                mi = Digits(fields[4]), sec = Digits(fields[5]);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) ||
      h > 23 || mi > 59 || sec > 59) {
    why = "not a valid date and time (from 1970)";
    return false;
  }
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    size_t j = i + 1;
    int kept = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
      if (kept < 3) {
        ms = ms * 10 + (s[j] - '0');
        ++kept;
      }
      ++j;
    }
    if (j == i + 1) {
      why = "a fraction of a second needs digits";
      return false;
    }
    for (; kept < 3; ++kept) ms *= 10;
    i = j;
  }
  const std::string_view zone = s.substr(i);
  int64_t offset_min = 0;
  if (zone == "Z" || zone == "z") {
    offset_min = 0;
  } else if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
    std::string_view hh, mm;
    if (zone.size() == 6 && zone[3] == ':') {
      hh = zone.substr(1, 2);
      mm = zone.substr(4, 2);
    } else if (zone.size() == 5) {
      hh = zone.substr(1, 2);
      mm = zone.substr(3, 2);
    }
    if (!AllDigits(hh) || !AllDigits(mm) || Digits(hh) > 23 ||
        Digits(mm) > 59) {
      why = absl::StrCat("the zone must be Z, +hh:mm or -hh:mm, got ",
                         Quoted(zone));
      return false;
    }
    offset_min = Digits(hh) * 60 + Digits(mm);
    if (zone[0] == '-') offset_min = -offset_min;
  } else {
    why = zone.empty() ? "ISO 8601 time without a zone (add Z or +hh:mm: "
                         "local times are ambiguous)"
                       : absl::StrCat("the zone must be Z, +hh:mm or -hh:mm, "
                                      "got ", Quoted(zone));
    return false;
  }
  const int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
                       sec - offset_min * 60;
  ts_ms = secs * 1000 + ms;
  if (ts_ms < 0 || ts_ms > kMaxTimestampMs) {
    why = "outside 1970..9999";
    return false;
  }
  return true;
}

// A CSV record reader over text in memory (RFC 4180: quoted fields, doubled
// quotes, \n or \r\n).
class CsvText {
 public:
  explicit CsvText(std::string text) : text_(std::move(text)) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
  }
  // Reads one record; false at the end. `line` is its first line.
  bool Next(std::vector<std::string>& fields, uint64_t& line,
            std::string& error) {
    fields.clear();
    error.clear();
    if (pos_ >= text_.size()) return false;
    line = line_ + 1;
    std::string field;
    bool quoted = false, was_quoted = false;
    while (true) {
      if (pos_ >= text_.size()) {
        if (quoted) error = "a quoted field is not closed";
        ++line_;
        fields.push_back(std::move(field));
        return true;
      }
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field += '"';
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
        continue;
      }
      if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
      } else if (c == '\n' || (c == '\r' && pos_ < text_.size() &&
                               text_[pos_] == '\n')) {
        if (c == '\r') ++pos_;
        ++line_;
        fields.push_back(std::move(field));
        return true;
      } else {
        if (was_quoted && error.empty()) {
          error = "text after a quoted field's closing quote";
        }
        field += c;
      }
    }
  }

 private:
  std::string text_;
  size_t pos_ = 0;
  uint64_t line_ = 0;
};

absl::Status ReadWholeFile(const std::string& path, std::string& out) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read contact export ",
                                            path, ": ",
                                            std::strerror(errno)));
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (failed) {
    return absl::DataLossError(
        absl::StrCat("cannot read contact export ", path));
  }
  return absl::OkStatus();
}

struct Contact {
  std::string visitor;
  int64_t ts_ms = 0;
  Channel channel = Channel::kUnspecified;
  uint64_t line = 0;
};

absl::Status ParseContactChannel(std::string_view text, Channel& out) {
  const std::string c = absl::AsciiStrToLower(AbslView(text));
  if (c.empty()) {
    out = Channel::kUnspecified;
  } else if (c == "chat") {
    out = Channel::kChat;
  } else if (c == "call" || c == "phone") {
    out = Channel::kCall;
  } else if (c == "email" || c == "e-mail") {
    out = Channel::kEmail;
  } else if (c == "form") {
    out = Channel::kForm;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a channel (chat, call, phone, email, form or empty): ",
        Quoted(text)));
  }
  return absl::OkStatus();
}

// Reads and checks the whole export.
absl::Status ReadContacts(const std::string& path, const LabelOptions& options,
                          std::vector<Contact>& contacts, LabelStats& stats) {
  std::string text;
  if (absl::Status s = ReadWholeFile(path, text); !s.ok()) return s;
  CsvText csv(std::move(text));
  std::vector<std::string> fields;
  uint64_t line = 0;
  std::string error;
  if (!csv.Next(fields, line, error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": empty; the first line must be a header naming the columns "
              "visitor (or session) and start"));
  }
  int key = -1, start = -1, channel = -1;
  std::string key_name;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(fields[i]));
    if (name == "visitor" || name == "session") {
      if (key >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": line 1: the header names both ", key_name, " and ", name,
            "; give one id column"));
      }
      key = static_cast<int>(i);
      key_name = name;
    } else if (name == "start") {
      start = static_cast<int>(i);
    } else if (name == "channel") {
      channel = static_cast<int>(i);
    }
  }
  if (key < 0 || start < 0) {
    std::string found;
    for (const std::string& f : fields) {
      absl::StrAppend(&found, found.empty() ? "" : ",", f);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": line 1: the header must name the columns ",
        key < 0 ? "visitor (or session)" : "",
        key < 0 && start < 0 ? " and " : "", start < 0 ? "start" : "",
        "; found ", Quoted(found)));
  }
  const size_t needed =
      static_cast<size_t>(std::max({key, start, channel})) + 1;
  while (csv.Next(fields, line, error)) {
    if (fields.size() == 1 && fields[0].empty() && error.empty()) continue;
    Contact c;
    c.line = line;
    std::string column;
    if (error.empty() && fields.size() < needed) {
      error = absl::StrCat("expected at least ", needed, " columns, got ",
                           fields.size());
    }
    if (error.empty()) {
      c.visitor = fields[key];
      if (c.visitor.empty() || c.visitor.size() > kMaxVisitorBytes) {
        column = key_name;
        error = absl::StrCat("the id must be 1 to ", kMaxVisitorBytes,
                             " bytes, got ", c.visitor.size());
      }
    }
    if (error.empty()) {
      absl::Status s = ParseContactTime(
          std::string(absl::StripAsciiWhitespace(fields[start])),
          options.allow_small_epoch, c.ts_ms);
      if (!s.ok()) {
        column = "start";
        error = std::string(s.message());
      }
    }
    if (error.empty() && channel >= 0) {
      absl::Status s = ParseContactChannel(
          internal::StdView(absl::StripAsciiWhitespace(fields[channel])),
          c.channel);
      if (!s.ok()) {
        column = "channel";
        error = std::string(s.message());
      }
    }
    if (!error.empty()) {
      const std::string message = absl::StrCat(
          path, ": line ", line, ": ",
          column.empty() ? "" : absl::StrCat("column \"", column, "\": "),
          error);
      if (!options.lenient) return absl::InvalidArgumentError(message);
      ++stats.malformed;
      if (stats.errors.size() < options.max_errors_kept) {
        stats.errors.push_back(message);
      }
      continue;
    }
    ++stats.contacts_read;
    contacts.push_back(std::move(c));
  }
  return absl::OkStatus();
}

bool IsView(const LogEvent& e) {
  return e.type == EventType::kPageView || e.type == EventType::kSearch;
}

}  // namespace

absl::Status ParseContactTime(const std::string& text, bool allow_small_epoch,
                              int64_t& ts_ms) {
  if (AllDigits(text)) {
    if (text.size() > 15 || Digits(text) > kMaxTimestampMs) {
      return absl::InvalidArgumentError(absl::StrCat(
          "epoch milliseconds beyond the year 9999: ", Quoted(text)));
    }
    const int64_t v = Digits(text);
    if (v < kSmallEpochMs && !allow_small_epoch) {
      return absl::InvalidArgumentError(absl::StrCat(
          Quoted(text), " looks like epoch seconds, not milliseconds (it "
          "would be before 1973-03-03); multiply by 1000, or accept it "
          "with --allow-small-epoch (Python: allow_small_epoch=True)"));
    }
    ts_ms = v;
    return absl::OkStatus();
  }
  std::string why;
  if (!ParseIso(text, ts_ms, why)) {
    return absl::InvalidArgumentError(absl::StrCat(why, ": ", Quoted(text)));
  }
  return absl::OkStatus();
}

absl::Status WriteUnmatchedContacts(const std::string& path,
                                    const LabelStats& stats) {
  std::string text = "line,visitor,start_ms,reason\n";
  for (const UnmatchedContact& u : stats.unmatched_contacts) {
    absl::StrAppend(&text, u.line, ",");
    internal::AppendCsvField(text, u.visitor);
    absl::StrAppend(&text, ",", u.ts_ms, ",", u.reason, "\n");
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    return absl::DataLossError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status LabelEventLog(const std::string& events_path,
                           const std::string& contacts_path,
                           const LabelOptions& options, const LogSink& sink,
                           LabelStats& stats) {
  stats = LabelStats();
  if (options.session_timeout_ms <= 0 || options.tolerance_ms < 0) {
    return absl::InvalidArgumentError(
        "label: session_timeout_ms must be > 0 and tolerance_ms >= 0");
  }
  std::vector<Contact> contacts;
  if (absl::Status s = ReadContacts(contacts_path, options, contacts, stats);
      !s.ok()) {
    return s;
  }
  EventLogReader::Options ro;
  ro.lenient = options.events_lenient;
  EventLogReport report;
  absl::StatusOr<std::vector<LogEvent>> read =
      ReadEventLog(events_path, ro, report);
  if (!read.ok()) return read.status();
  std::vector<LogEvent> events = *std::move(read);
  stats.events_read = events.size();
  stats.events_skipped = report.skipped;
  SortByTime(events);

  // Each visitor's events in time order (indices into `events`), and for
  // each event its session (a number per visitor, counted up at every gap
  // longer than the timeout) and the page of the session's latest view at
  // or before it: one pass, so placing a contact is a binary search.
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_visitor;
  absl::flat_hash_set<std::pair<std::string, int64_t>> seen;
  std::vector<uint32_t> session_of(events.size(), 0);
  std::vector<int64_t> last_view(events.size(), -1);
  for (uint32_t i = 0; i < events.size(); ++i) {
    const LogEvent& e = events[i];
    if (e.visitor.empty()) continue;
    std::vector<uint32_t>& idx = by_visitor[e.visitor];
    if (!idx.empty()) {
      const uint32_t prev = idx.back();
      const bool same =
          e.ts_ms - events[prev].ts_ms <= options.session_timeout_ms;
      session_of[i] = session_of[prev] + (same ? 0 : 1);
      if (same) last_view[i] = last_view[prev];
    }
    if (IsView(e)) last_view[i] = i;
    idx.push_back(i);
    if (e.type == EventType::kHelpContact) {
      ++stats.existing_help_contacts;
      seen.insert({e.visitor, e.ts_ms});
    }
  }

  std::vector<LogEvent> added;
  absl::flat_hash_set<std::pair<std::string, uint32_t>> sessions;
  const int64_t reach = options.session_timeout_ms + options.tolerance_ms;
  for (Contact& c : contacts) {
    if (!seen.insert({c.visitor, c.ts_ms}).second) {
      ++stats.duplicates;
      continue;
    }
    UnmatchedContact miss{c.line, c.visitor, c.ts_ms, ""};
    auto it = by_visitor.find(c.visitor);
    if (it == by_visitor.end()) {
      miss.reason = "unknown visitor";
    } else {
      const std::vector<uint32_t>& idx = it->second;
      // The visitor's latest event at or before t.
      auto pos = std::upper_bound(
          idx.begin(), idx.end(), c.ts_ms,
          [&](int64_t t, uint32_t i) { return t < events[i].ts_ms; });
      if (pos == idx.begin() || c.ts_ms - events[*(pos - 1)].ts_ms > reach) {
        miss.reason = "no session at that time";
      } else {
        const uint32_t before = *(pos - 1);
        LogEvent row;
        row.ts_ms = c.ts_ms;
        row.type = EventType::kHelpContact;
        row.visitor = c.visitor;
        if (last_view[before] >= 0) row.page = events[last_view[before]].page;
        row.channel = c.channel;
        if (c.channel != Channel::kUnspecified) {
          row.detail = std::string(ChannelName(c.channel));
        }
        if (sessions.insert({c.visitor, session_of[before]}).second) {
          ++stats.sessions_labelled;
        }
        added.push_back(std::move(row));
        ++stats.attached;
        continue;
      }
    }
    ++stats.unmatched;
    stats.unmatched_contacts.push_back(std::move(miss));
  }
  if (options.fail_on_unmatched && stats.unmatched > 0) {
    const UnmatchedContact& u = stats.unmatched_contacts.front();
    return absl::InvalidArgumentError(absl::StrCat(
        contacts_path, ": ", stats.unmatched, " of ", stats.contacts_read,
        " contacts match no session in ", events_path, "; the first: line ",
        u.line, ": ", Quoted(u.visitor), " at ", u.ts_ms, " ms: ", u.reason));
  }

  // Merge: a contact goes after every event with ts <= its time.
  std::stable_sort(added.begin(), added.end(),
                   [](const LogEvent& a, const LogEvent& b) {
                     return a.ts_ms < b.ts_ms;
                   });
  size_t j = 0;
  for (const LogEvent& e : events) {
    while (j < added.size() && added[j].ts_ms < e.ts_ms) {
      if (absl::Status s = sink(added[j++]); !s.ok()) return s;
      ++stats.rows_written;
    }
    if (absl::Status s = sink(e); !s.ok()) return s;
    ++stats.rows_written;
  }
  for (; j < added.size(); ++j) {
    if (absl::Status s = sink(added[j]); !s.ok()) return s;
    ++stats.rows_written;
  }
  return absl::OkStatus();
}

}  // namespace beckon
