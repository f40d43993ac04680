// Help labels from a shop's chat or helpdesk export (docs/real-logs.md,
// "Labels from a helpdesk export").
//
// A real web log has no help_contact rows, and the trainer learns from
// them. Most shops have them elsewhere: their chat or helpdesk system
// exports its conversations with the visitor (or session) id and the time
// each started. LabelEventLog joins such an export onto an event log as
// help_contact rows:
//
//   beckon::LabelOptions options;              // 30 min sessions, 5 min slack
//   beckon::LabelStats stats;
//   absl::Status s = beckon::LabelEventLog("events.csv", "chats.csv",
//                                          options, sink, stats);
//
// The contact export (CSV, RFC 4180, a header row required):
//
//   visitor | session   the id the event log's `visitor` column uses
//                       (exactly one of the two columns)
//   start               when the conversation started: epoch milliseconds
//                       (plain digits) or ISO 8601 with a zone
//                       (2008-04-01T10:00:05Z, 2008-04-01 12:00:05.250+02:00)
//   channel (optional)  chat | call | email | form | empty (phone = call)
//   topic (optional)    read and checked for nothing: the event log has no
//                       column for it
//
// Other columns are ignored, in any order; names are matched ignoring case.
//
// Join rule: a contact of visitor V at time t attaches to V's session that
// holds the latest of V's events at or before t, if t is at most
// `session_timeout_ms + tolerance_ms` after that event (the session was
// active at t, or ended shortly before it). Its row is
// `t,V,help_contact,<page of V's last page_view or search at or before t
// in that session>,<channel>`, written after every event with ts <= t: the
// output stays time-ordered. A contact that matches no session (an unknown
// visitor, or none of its events shortly before t) is counted and listed
// (LabelStats::unmatched), never silently dropped; with
// `fail_on_unmatched` it fails the join. A contact with the same visitor
// and the same time as another (in the export, or as a help_contact row
// already in the log) is a duplicate: counted, not written twice.
//
// Cost: the log is read whole, sorted once (O(n log n)), each contact is
// placed by binary search in its visitor's events, and the output is one
// merge: never quadratic.
#ifndef BECKON_LABEL_H_
#define BECKON_LABEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "beckon/simulate.h"  // LogSink

namespace beckon {

struct LabelOptions {
  // The session gap: events further apart than this are two sessions (the
  // default policy's session timeout). REQUIRES: > 0.
  int64_t session_timeout_ms = 30 * 60 * 1000;
  // How long after a session's end (its last event + session_timeout_ms) a
  // contact still attaches to it: helpdesk clocks and web logs disagree,
  // and a visitor who left the page may start a chat minutes later.
  // REQUIRES: >= 0.
  int64_t tolerance_ms = 5 * 60 * 1000;
  // Bad rows of the contact export are skipped and counted (malformed)
  // instead of failing the join. Bad rows of the event log follow
  // events_lenient.
  bool lenient = false;
  bool events_lenient = false;
  // A contact that matches no session fails the join (after the whole
  // export is read, naming the first) instead of being counted.
  bool fail_on_unmatched = false;
  // Accept epoch times below 10^11 (before 1973-03-03 in milliseconds: far
  // more likely seconds). Default: rejected, naming the column and the fix.
  bool allow_small_epoch = false;
  // Errors kept in lenient mode.
  size_t max_errors_kept = 10;
};

// A contact that attached to no session.
struct UnmatchedContact {
  uint64_t line = 0;     // Its line in the export (the header is line 1).
  std::string visitor;
  int64_t ts_ms = 0;
  std::string reason;    // "unknown visitor" or "no session at that time".
};

struct LabelStats {
  uint64_t contacts_read = 0;  // Good rows of the export.
  uint64_t attached = 0;       // help_contact rows written.
  uint64_t unmatched = 0;      // Listed in `unmatched_contacts`.
  uint64_t duplicates = 0;     // Same visitor and time as one before.
  uint64_t malformed = 0;      // Bad export rows skipped (lenient).
  uint64_t events_read = 0;    // Rows of the event log,
  uint64_t events_skipped = 0;  // and its bad rows skipped (events_lenient).
  uint64_t rows_written = 0;   // events_read + attached.
  uint64_t existing_help_contacts = 0;  // Already in the log.
  uint64_t sessions_labelled = 0;       // Sessions given >= 1 contact.
  std::vector<UnmatchedContact> unmatched_contacts;  // All of them.
  std::vector<std::string> errors;  // First malformed rows' errors.
};

// Joins the contacts in `contacts_path` onto the event log in
// `events_path` and passes every row, in time order, to `sink`. Errors
// (InvalidArgument) name the file, the line and the column, e.g.
// `chats.csv: line 7: column "start": not epoch milliseconds or ISO 8601
// with a zone: "yesterday"`. On an error nothing reaches the sink: the
// whole export and log are checked first. `stats` is filled as far as the
// join got.
absl::Status LabelEventLog(const std::string& events_path,
                           const std::string& contacts_path,
                           const LabelOptions& options, const LogSink& sink,
                           LabelStats& stats);

// Writes stats.unmatched_contacts to `path` as CSV with the header
// `line,visitor,start_ms,reason` (the CLI's --unmatched-out).
absl::Status WriteUnmatchedContacts(const std::string& path,
                                    const LabelStats& stats);

// Parses a contact time: epoch milliseconds (plain digits) or ISO 8601
// with a zone ("Z" or +hh:mm / -hh:mm / +hhmm; date and time separated by
// "T" or a space; optional fraction of a second, kept to the millisecond).
// InvalidArgument naming the problem otherwise.
absl::Status ParseContactTime(const std::string& text, bool allow_small_epoch,
                              int64_t& ts_ms);

}  // namespace beckon

#endif  // BECKON_LABEL_H_
