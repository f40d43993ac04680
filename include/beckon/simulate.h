// The visitor simulator: a synthetic event log with known ground truth.
//
//   beckon::SimulatorOptions options = beckon::SimulatorOptions::Default();
//   options.days = 7;
//   options.seed = 42;
//   absl::Status s = beckon::Simulate(options, [&](const beckon::LogEvent& e) {
//     return writer->Write(e);
//   });
//
// The simulated shop has page groups, each with its own normal dwell and its
// own "stuck" dwell. Most visitors browse and leave; some get stuck (on a page
// group, after a help-seeking path, or after site searches that find
// nothing) and contact help after a dwell drawn for that group, unless they
// give up first. A legacy chat widget offers help to some visitors, and some
// of them decline. Free agents follow a daily staffing curve. Every parameter
// is documented in docs/simulator.md; the defaults are meant to be realistic,
// not easy: normal and stuck dwell overlap, and many stuck visitors ask
// quickly, before any dwell threshold could pass.
//
// The same options and seed give the same log, byte for byte.
#ifndef BECKON_SIMULATE_H_
#define BECKON_SIMULATE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/event_log.h"

namespace beckon {

// A log-normal distribution of seconds, by its median and the standard
// deviation of its logarithm.
struct LogNormalSeconds {
  double median_s = 30;
  double sigma = 0.6;
  // The q-quantile (q in (0, 1)) of this distribution, in seconds.
  double Quantile(double q) const;
};

// What a page group is for in the simulated shop: it steers where the
// simulated visitors go next (landing -> category -> product -> cart ->
// checkout, with searches and help pages between).
enum class SimulatedKind : uint8_t {
  kLanding = 0,   // The home page.
  kCategory = 1,  // Product listings.
  kProduct = 2,   // Product pages (visitors add to the cart from here).
  kSearch = 3,    // Site search: `search` events, url_prefix + the query.
  kHelp = 4,      // Self-service help pages (FAQ, shipping, returns).
  kContact = 5,   // The contact page.
  kCart = 6,      // The cart.
  kCheckout = 7,  // Checkout steps, in page order; the order is placed at
                  // the end of the next-to-last page, the last page is the
                  // confirmation (a one-page checkout places it there).
  kAccount = 8,   // Login and account pages.
};

// A page group of the simulated shop.
struct SimulatedGroup {
  std::string pattern;  // The group's pattern in the default policy.
  SimulatedKind kind = SimulatedKind::kLanding;
  std::string url_prefix;  // Pages are url_prefix + an id or a name.
  int distinct_pages = 1;  // How many pages the group has.
  // The pages' names (url_prefix + name), exactly `distinct_pages` of them;
  // if empty, pages are url_prefix + a number (url_prefix alone for a
  // one-page group, url_prefix + a query for a kSearch group).
  std::vector<std::string> page_names;
  LogNormalSeconds normal_dwell;  // Dwell of visitors who are not stuck.
  LogNormalSeconds stuck_dwell;   // Dwell of a stuck visitor before asking.
  // Relative weight of this group when a stuck visitor picks where to get
  // stuck (0: nobody gets stuck here).
  double stuck_weight = 0;
  // Pages that behave unlike their group (a shop's /checkout/ steps: an
  // address form read slowly, a payment form where visitors get stuck).
  // Each is empty (every page as the group) or has one entry per page, in
  // page order: the page's normal dwell, its stuck dwell, and its relative
  // weight when a visitor stuck on this group picks the page (checkout:
  // the step; the last step, the confirmation, is never picked).
  std::vector<LogNormalSeconds> page_normal_dwell;
  std::vector<LogNormalSeconds> page_stuck_dwell;
  std::vector<double> page_stuck_weight;
};

struct SimulatorOptions {
  uint64_t seed = 1;
  int days = 7;
  // The first day's midnight (the shop's; hours of the day below count
  // from it). Default: midnight UTC, 2023-11-15.
  int64_t start_ms = 1'700'006'400'000;
  int visitors_per_day = 4000;  // Sessions a day, on average (Poisson).
  // Share of a day's sessions by returning visitors (the same visitor id as
  // an earlier day's session; none on the first day).
  double returning_share = 0.25;
  // Share of sessions that enter from a search engine (help-seeking stuck
  // visitors always do).
  double search_engine_entry_share = 0.35;

  std::vector<SimulatedGroup> groups;

  // Ways to get stuck (shares of all sessions). A stuck visitor asks for
  // help (help_contact) after their stuck dwell, unless they give up.
  double stuck_on_page_share = 0.05;     // Stuck on a group (by stuck_weight).
  double stuck_after_path_share = 0.02;  // Search engine -> landing -> site
                                         // search -> help page, stuck there.
  double stuck_after_search_share = 0.02;  // Zero-result searches, then
                                           // stuck on the search page.
  // Of the stuck visitors who ask, the share who ask quickly, after a dwell
  // drawn from `quick_ask_dwell` (the same for every group).
  double quick_ask_share = 0.35;
  LogNormalSeconds quick_ask_dwell{8, 0.5};
  // Share of stuck visitors who give up and leave without asking (after
  // their stuck dwell).
  double give_up_share = 0.25;
  // Share of visitors who are not stuck but contact help anyway (from a
  // help or contact page, after a normal dwell there).
  double casual_contact_share = 0.01;

  // Mean page views per session for browsing visitors (geometric; site
  // searches and checkout steps come on top).
  double mean_pages = 7;

  // The legacy chat widget: in this share of sessions, on the first page
  // where the visitor stays at least `legacy_offer_after_s`, it offers chat
  // (only in staffed hours, at most once a session); outcomes are drawn by
  // these shares (the rest accept). A stuck visitor who accepts is helped in
  // the chat and sends no help_contact.
  double legacy_offer_share = 0.15;
  double legacy_offer_after_s = 45;
  double decline_share = 0.45;
  double ignore_share = 0.35;

  // Agents: an `agents` row every `agents_every_s`; staffed hours carry
  // about `agents_staffed` free agents (drawn; sometimes 0 when all are
  // busy), other hours none. REQUIRES 0 <= from < to <= 24.
  int agents_every_s = 900;
  int agents_staffed = 4;
  int staffed_from_hour = 8;  // Hour of the day, inclusive.
  int staffed_to_hour = 20;   // Hour of the day, exclusive.

  // The default options: a small shop with the groups of the built-in
  // default policy ("/", "/c/*", "/p/*", "/search", "/help/*",
  // "/help/shipping", "/help/returns", "/contact", "/cart", "/checkout/*",
  // "/account/*").
  static SimulatorOptions Default();

  // A shop built otherwise, whose page groups do not coincide with the
  // default policy's URL rules: five checkout steps under /checkout/ that
  // behave unlike each other (an address form read slowly, a payment step
  // where visitors get stuck), help pages under two prefixes (/help/ and
  // /service/), categories under /shop/, product pages read at length
  // (normal dwell that overlaps stuck dwell elsewhere), and an account
  // area under /my/. `beckon simulate --shop varied`; docs/simulator.md.
  static SimulatorOptions VariedShop();

  // The options of a built-in shop by name: "default" (Default()) or
  // "varied" (VariedShop()); an InvalidArgument error naming the names
  // otherwise.
  static absl::StatusOr<SimulatorOptions> ForShop(std::string_view name);

  // Returns OK, or an InvalidArgument error naming the first bad option.
  absl::Status Validate() const;
};

// Receives the simulated rows in time order; an error stops the simulation
// and is returned.
using LogSink = std::function<absl::Status(const LogEvent&)>;

// What a simulation did: the ground truth behind its log, which the log
// itself does not tell (who was stuck, who gave up).
struct SimulationStats {
  uint64_t events = 0;       // Rows passed to the sink,
  uint64_t agents_rows = 0;  // of them `agents` rows.
  uint64_t sessions = 0;
  uint64_t returning_sessions = 0;  // By a visitor seen on an earlier day.
  // Stuck sessions, by the way the visitor got stuck.
  uint64_t stuck_on_page = 0;
  uint64_t stuck_after_path = 0;
  uint64_t stuck_after_search = 0;
  // What the stuck visitors did: sent a help_contact (some after the quick
  // dwell), left without asking, or were helped in a chat they accepted.
  uint64_t stuck_asked = 0;
  uint64_t stuck_quick_asked = 0;
  uint64_t stuck_gave_up = 0;
  uint64_t stuck_helped_by_offer = 0;
  uint64_t casual_contacts = 0;  // help_contact by visitors not stuck.
  // The legacy widget's offers and their outcomes.
  uint64_t offers_shown = 0;
  uint64_t offers_accepted = 0;
  uint64_t offers_declined = 0;
  uint64_t offers_ignored = 0;
  uint64_t purchases = 0;
};

// Simulates `options.days` days of traffic into `sink`, in time order
// (a day at a time, so memory stays bounded by about one day's events).
// Fails with InvalidArgument if the options do not validate, or with the
// sink's first error. If `stats` is given, it receives the counts (also
// when the sink fails part way).
absl::Status Simulate(const SimulatorOptions& options, const LogSink& sink,
                      SimulationStats* stats = nullptr);

}  // namespace beckon

#endif  // BECKON_SIMULATE_H_
