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

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/engine.h"
#include "beckon/event_log.h"
#include "beckon/policy.h"

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

// What an offer does to a visitor's purchase (docs/uplift.md): drawn at the
// visitor's eligible moment in a session (below), by the kind of page
// they are on then.
enum class VisitorType : uint8_t {
  kLostCause = 0,    // Buys neither way.
  kSureThing = 1,    // Buys either way.
  kPersuadable = 2,  // Buys only if offered at that moment.
  kSleepingDog = 3,  // Buys only if not offered: the offer drives them off.
};

// "lost_cause", "sure_thing", "persuadable", "sleeping_dog".
std::string_view VisitorTypeName(VisitorType type);

// The treatment effects of a simulated shop whose widget is a beckon policy
// (SimulatorOptions::widget_policy). Shares are by the kind of page at the
// moment, in SimulatedKind order (landing, category, product, search, help,
// contact, cart, checkout, account); the rest of each kind's visitors are
// lost causes. A stuck visitor (stuck on a page, after a help-seeking path
// or after searches) is `stuck_persuadable` more often persuadable, taken
// from the lost causes (a stalled checkout a chat rescues).
struct TreatmentEffects {
  std::array<double, 9> sure_thing{};
  std::array<double, 9> persuadable{};
  std::array<double, 9> sleeping_dog{};
  double stuck_persuadable = 0;

  // Checkout and cart pages hold most persuadables and sure things; product
  // and category pages most sleeping dogs (docs/uplift.md lists the
  // figures).
  static TreatmentEffects Default();
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

  // The widget as a beckon policy, instead of the legacy rule above (whose
  // five options are then unused). The simulator drives one Engine with it,
  // as the replay does: every visitor event is observed and decided on,
  // and each recheck_at before the visitor's next event is decided on; an
  // offer is shown at the millisecond it is decided. The policy's holdout
  // is kept (its holdout visitors are never offered). Sessions are
  // simulated one after another, so no site-wide state can be kept in
  // time order: the log then has no `agents` rows, and a policy with
  // gates.max_offer_share > 0 is refused. Replaying the log with the same
  // policy reproduces the simulator's decisions at the log's moments; the
  // holdout's would-offers while a visitor reads their last page leave no
  // row in the event log, only in the decision log (`widget_engine`'s
  // decision_log_path or decision_sink), which the replay's lift needs
  // (docs/uplift.md).
  std::shared_ptr<const Policy> widget_policy;
  // The options of the widget's engine (its visitor key, decision log).
  Engine::Options widget_engine;
  // With widget_policy: offers change purchases by `effects`
  // (docs/uplift.md). At a session's eligible moment (its first decision
  // past the visitor gates and the score: an offer, or a holdout
  // visitor's would-offer) a VisitorType is drawn; the visitor then buys
  // in the rest of the session if and only if the type says so for
  // whether they were offered (an order that should not happen is
  // abandoned at the payment step; one that should is placed before the
  // visitor leaves). The truth is given to Simulate's `truth` sink.
  bool treatment_effects = false;
  TreatmentEffects effects = TreatmentEffects::Default();

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

// The truth behind one session with an eligible moment
// (SimulatorOptions::treatment_effects).
struct SessionTruth {
  std::string visitor;
  int64_t session_start_ms = 0;
  int64_t moment_ms = 0;  // The eligible moment.
  std::string group;      // The page group's pattern then.
  bool holdout = false;   // A holdout visitor (never offered).
  // Offered at the moment (without exploration, every visitor not held
  // out; with it, those whose exploration draw went on).
  bool offered = false;
  VisitorType type = VisitorType::kLostCause;
  bool purchase_if_offered = false;  // The potential outcomes: a purchase
  bool purchase_if_not = false;      // after the moment in this session.
  bool purchased = false;            // What happened: purchase_if_offered if
                                     // offered, else purchase_if_not.
  double revenue = 0;                // Order value after the moment.
};

// Receives each session's truth once the session is simulated (not in
// time order: sessions are simulated by start time).
using TruthSink = std::function<absl::Status(const SessionTruth&)>;

// The truth as CSV: a header, then one row a session, columns
// visitor,session_start_ms,moment_ms,group,arm,type,purchase_if_offered,
// purchase_if_not,purchased,revenue,offered (arm "offered" or "holdout";
// the booleans 0 or 1). TruthCsvRow has no line end.
std::string_view TruthCsvHeader();
std::string TruthCsvRow(const SessionTruth& t);

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
  // With treatment_effects: sessions with an eligible moment, of them
  // holdout ones, and the visitor types drawn (VisitorType order).
  uint64_t eligible_sessions = 0;
  uint64_t holdout_sessions = 0;
  std::array<uint64_t, 4> types{};
};

// Simulates `options.days` days of traffic into `sink`, in time order
// (a day at a time, so memory stays bounded by about one day's events).
// Fails with InvalidArgument if the options do not validate, or with the
// sink's (or `truth`'s) first error. If `stats` is given, it receives the
// counts (also when the sink fails part way). `truth`, if given, receives
// the sessions' truth (treatment_effects only).
absl::Status Simulate(const SimulatorOptions& options, const LogSink& sink,
                      SimulationStats* stats = nullptr,
                      const TruthSink& truth = nullptr);

}  // namespace beckon

#endif  // BECKON_SIMULATE_H_
