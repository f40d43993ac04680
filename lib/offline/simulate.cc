// The visitor simulator. docs/simulator.md describes the simulated world and
// every parameter; this file follows it step by step.
//
// All randomness comes from one xoshiro256** generator seeded from
// options.seed, with the distributions written out here (the standard
// library's distributions differ between implementations), and everything
// is drawn in a fixed order, so the same options give the same log.
#include "beckon/simulate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "beckon/engine.h"
#include "beckon/event.h"
#include "beckon/event_log.h"
#include "beckon/policy.pb.h"
#include "lib/engine/decision_log.h"
#include "lib/offline/replay_internal.h"
#include "policy_internal.h"

namespace beckon {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;
// The last millisecond of the year 9999, the engine's latest timestamp.
constexpr int64_t kMaxTimestampMs = 253'402'300'799'999;
// Dwell is kept in [0.5 s, 29 min]: a page never outlasts the usual 30
// minute session timeout, so a drawn dwell never splits a session.
constexpr int64_t kMinDwellMs = 500;
constexpr int64_t kMaxDwellMs = 29 * 60 * 1000;
// A returning visitor's new session starts at least this long after their
// last event, so two sessions never merge.
constexpr int64_t kSessionGapMs = 31 * 60 * 1000;
// Returning visitors are drawn from at most this many earlier visitors.
constexpr size_t kMaxVisitorPool = 200'000;
constexpr int kMaxPagesPerSession = 200;

constexpr int kKinds = 9;
constexpr int K(SimulatedKind kind) { return static_cast<int>(kind); }
using KindWeights = std::array<double, kKinds>;

// Where a visitor goes next from a page of each kind, before renormalizing
// over the kinds the shop has. Columns: landing, category, product, search,
// help, contact, cart, checkout, account. Help and contact pages take about
// one view in twenty; checkout is reachable only from a non-empty cart.
constexpr std::array<KindWeights, kKinds> kNext = {{
    {0.02, 0.50, 0.14, 0.20, 0.04, 0.01, 0.03, 0.00, 0.06},  // landing
    {0.04, 0.20, 0.58, 0.10, 0.04, 0.01, 0.02, 0.00, 0.01},  // category
    {0.04, 0.20, 0.43, 0.15, 0.05, 0.01, 0.03, 0.00, 0.02},  // product
    {0.03, 0.08, 0.70, 0.12, 0.05, 0.01, 0.01, 0.00, 0.00},  // search
    {0.20, 0.25, 0.13, 0.15, 0.15, 0.06, 0.03, 0.00, 0.03},  // help
    {0.35, 0.25, 0.10, 0.10, 0.20, 0.00, 0.00, 0.00, 0.00},  // contact
    {0.05, 0.15, 0.25, 0.05, 0.05, 0.01, 0.00, 0.44, 0.00},  // cart
    {0.40, 0.30, 0.10, 0.05, 0.05, 0.00, 0.00, 0.00, 0.10},  // checkout
    {0.25, 0.25, 0.10, 0.05, 0.04, 0.01, 0.05, 0.00, 0.25},  // account
}};

// Entry pages: from a search engine, and from anywhere else.
constexpr KindWeights kEntryFromSearchEngine = {0.30, 0.30, 0.40, 0, 0,
                                                0,    0,    0,    0};
constexpr KindWeights kEntryOther = {0.55, 0.15, 0.25, 0, 0, 0, 0, 0, 0.05};

// Behaviour that is not an option (docs/simulator.md, section 4).
constexpr double kAddToCart = 0.09;          // Per product page view.
constexpr double kCartAfterAdd = 0.45;       // Go to the cart right after.
constexpr double kCheckoutAbandon = 0.15;    // Per checkout step.
constexpr double kLeaveAfterOrder = 0.80;    // Leave after the confirmation.
constexpr double kZeroResults = 0.10;        // Normal visitors' searches.
constexpr double kBackAndForth = 0.30;       // Stuck on a page, A -> B -> A.
constexpr double kEnterOnStuckGroup = 0.30;  // Stuck where they landed.
constexpr double kMoreAfterHelp = 0.40;      // Pages after asking or a chat.

// Arrivals by hour of the day (relative): quiet at night, busy by day, an
// evening peak.
constexpr std::array<double, 24> kHourWeight = {
    0.30, 0.18, 0.10, 0.07, 0.06, 0.08, 0.15, 0.35, 0.60, 0.80, 0.90, 0.95,
    1.00, 0.95, 0.90, 0.90, 0.95, 1.00, 1.10, 1.25, 1.30, 1.15, 0.85, 0.55};

constexpr std::array<std::string_view, 25> kQueryWords = {
    "red",      "blue",    "black",  "white",      "green",
    "leather",  "wool",    "cotton", "linen",      "summer",
    "winter",   "kids",    "mens",   "womens",     "vintage",
    "cheap",    "large",   "small",  "waterproof", "organic",
    "wireless", "running", "hiking", "garden",     "kitchen"};
constexpr std::array<std::string_view, 20> kQueryNouns = {
    "shoes", "jacket", "boots",   "dress", "shirt", "bag",       "scarf",
    "hat",   "socks",  "jeans",   "lamp",  "chair", "mug",       "backpack",
    "watch", "gloves", "sweater", "table", "towel", "headphones"};

// The `q` of a search: word pairs, then numbered when they run out.
std::string Query(int i) {
  const int words = static_cast<int>(kQueryWords.size());
  const int nouns = static_cast<int>(kQueryNouns.size());
  std::string q = absl::StrCat(std::string(kQueryWords[i % words]), "+",
                               std::string(kQueryNouns[(i / words) % nouns]));
  if (i >= words * nouns) absl::StrAppend(&q, "+", i / (words * nouns) + 1);
  return q;
}

std::string Money(double value, double* rounded) {
  *rounded = std::round(value * 100) / 100;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", *rounded);
  return buf;
}

// ---------------------------------------------------------------------------
// Randomness.

// xoshiro256** (Blackman and Vigna), seeded by splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : s_) {
      x += 0x9e3779b97f4a7c15ULL;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1].
  double UniformOpen() { return 1.0 - Uniform(); }
  // Uniform integer in [0, n), n >= 1.
  int Below(int n) {
    const int i = static_cast<int>(Uniform() * n);
    return i < n ? i : n - 1;
  }
  // Uniform integer in [lo, hi].
  int Between(int lo, int hi) { return lo + Below(hi - lo + 1); }
  bool Chance(double p) { return Uniform() < p; }

  // Standard normal (Marsaglia's polar method).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2 * Uniform() - 1;
      v = 2 * Uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  double LogNormal(const LogNormalSeconds& d) {
    return d.median_s * std::exp(d.sigma * Normal());
  }

  // Geometric on {1, 2, ...} with the given mean (>= 1).
  int Geometric(double mean, int cap) {
    if (mean <= 1) return 1;
    const double n =
        1 + std::floor(std::log(UniformOpen()) / std::log(1 - 1 / mean));
    return n >= cap ? cap : static_cast<int>(n);
  }

  // Poisson: Knuth's product method for small means, the normal
  // approximation for large ones.
  int Poisson(double mean) {
    if (mean > 60) {
      const double x = std::round(mean + std::sqrt(mean) * Normal());
      return x < 0 ? 0 : static_cast<int>(x);
    }
    const double limit = std::exp(-mean);
    int k = 0;
    for (double p = UniformOpen(); p > limit; p *= UniformOpen()) ++k;
    return k;
  }

  // An index drawn by `weights` (not all zero).
  template <typename Weights>
  int Pick(const Weights& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double u = Uniform() * total;
    int last = 0;
    for (int i = 0; i < static_cast<int>(weights.size()); ++i) {
      if (weights[i] <= 0) continue;
      last = i;
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    return last;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

// The inverse of the standard normal CDF (Acklam's rational approximation,
// refined by one Halley step; about 1e-15 relative error).
double InverseNormalCdf(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) *
        q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  constexpr double kSqrt2Pi = 2.50662827463100050242;
  const double u = e * kSqrt2Pi * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

// ---------------------------------------------------------------------------
// Validation.

absl::Status Bad(std::string_view field, std::string_view rule,
                 std::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("simulator: ", std::string(field), " must ",
                   std::string(rule), ", got ", std::string(got)));
}

absl::Status CheckShare(std::string_view field, double v) {
  if (!(v >= 0 && v <= 1)) return Bad(field, "be in [0, 1]", absl::StrCat(v));
  return absl::OkStatus();
}

absl::Status CheckDwell(const std::string& field, const LogNormalSeconds& d) {
  if (!(d.median_s > 0 && d.median_s <= 3600)) {
    return Bad(field + ".median_s", "be in (0, 3600]",
               absl::StrCat(d.median_s));
  }
  if (!(d.sigma >= 0 && d.sigma <= 3)) {
    return Bad(field + ".sigma", "be in [0, 3]", absl::StrCat(d.sigma));
  }
  return absl::OkStatus();
}

absl::Status CheckInt(std::string_view field, int64_t v, int64_t lo,
                      int64_t hi) {
  if (v < lo || v > hi) {
    return Bad(field, absl::StrCat("be in [", lo, ", ", hi, "]"),
               absl::StrCat(v));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The simulation.

struct PastVisitor {
  int64_t id;
  int64_t last_ms;  // Time of the visitor's last event.
};

class Simulation {
 public:
  // `engine` (with its policy `widget`): the widget as a beckon policy
  // (SimulatorOptions::widget_policy), or null for the legacy rule.
  Simulation(const SimulatorOptions& o, Engine* engine,
             const proto::Policy* widget, const TruthSink* truth)
      : o_(o),
        rng_(o.seed),
        engine_(engine),
        widget_policy_(widget),
        truth_(truth) {
    const int n = static_cast<int>(o.groups.size());
    pages_.resize(n);
    for (int g = 0; g < n; ++g) {
      const SimulatedGroup& group = o.groups[g];
      by_kind_[K(group.kind)].push_back(g);
      for (int i = 0; i < group.distinct_pages; ++i) {
        std::string page;
        if (!group.page_names.empty()) {
          page = group.url_prefix + group.page_names[i];
        } else if (group.kind == SimulatedKind::kSearch) {
          page = group.url_prefix + Query(i);
        } else if (group.distinct_pages == 1) {
          page = group.url_prefix;
        } else {
          page = absl::StrCat(group.url_prefix, 10001 + i);
        }
        pages_[g].push_back(std::move(page));
      }
      stuck_weights_.push_back(group.stuck_weight);
      help_weights_.push_back(group.kind == SimulatedKind::kHelp
                                  ? std::max(group.stuck_weight, 1e-9)
                                  : 0.0);
    }
    after_ms_ = std::llround(o.legacy_offer_after_s * 1000);
  }

  absl::Status Run(const LogSink& sink) {
    std::vector<LogEvent> carry;  // Events past the end of their day.
    for (int day = 0; day < o_.days; ++day) {
      const int64_t day_start = o_.start_ms + day * kDayMs;
      const int64_t day_end = day_start + kDayMs;
      std::vector<LogEvent> batch;
      batch.reserve(carry.size() + size_t{9} * o_.visitors_per_day + 200);
      for (LogEvent& e : carry) batch.push_back(std::move(e));
      carry.clear();
      out_ = &batch;
      if (engine_ == nullptr) Agents(day_start);
      Day(day_start);
      if (!error_.ok()) return error_;
      std::stable_sort(batch.begin(), batch.end(),
                       [](const LogEvent& a, const LogEvent& b) {
                         return a.ts_ms < b.ts_ms;
                       });
      const bool last_day = day + 1 == o_.days;
      for (LogEvent& e : batch) {
        if (!last_day && e.ts_ms >= day_end) {
          carry.push_back(std::move(e));
          continue;
        }
        ++stats.events;
        absl::Status s = sink(e);
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  SimulationStats stats;

 private:
  // --- A day ---------------------------------------------------------------

  // Hours count from start_ms, the first day's midnight.
  bool Staffed(int64_t ts_ms) const {
    const int hour =
        static_cast<int>(((ts_ms - o_.start_ms) % kDayMs) / kHourMs);
    return hour >= o_.staffed_from_hour && hour < o_.staffed_to_hour;
  }

  void Agents(int64_t day_start) {
    const int64_t step = int64_t{o_.agents_every_s} * 1000;
    for (int64_t t = day_start; t < day_start + kDayMs; t += step) {
      int64_t free = 0;
      if (Staffed(t) && !rng_.Chance(0.06)) {  // 6%: all agents busy.
        // Binomial(2 * staffed, 1/2): mean `agents_staffed`.
        for (int i = 0; i < 2 * o_.agents_staffed; ++i)
          free += rng_.Chance(0.5);
      }
      LogEvent& e = out_->emplace_back();
      e.ts_ms = t;
      e.type = EventType::kAgents;
      e.count = free;
      e.detail = std::to_string(free);
      ++stats.agents_rows;
    }
  }

  void Day(int64_t day_start) {
    const int sessions = rng_.Poisson(o_.visitors_per_day);
    std::vector<int64_t> starts(sessions);
    for (int64_t& s : starts) {
      const int hour = rng_.Pick(kHourWeight);
      s = day_start + hour * kHourMs +
          static_cast<int64_t>(rng_.Uniform() * kHourMs);
    }
    std::sort(starts.begin(), starts.end());
    std::vector<PastVisitor> today;
    for (int64_t start : starts) {
      // A returning visitor, unless none fits (or this is the first day).
      PastVisitor* past = nullptr;
      if (!pool_.empty() && rng_.Chance(o_.returning_share)) {
        PastVisitor& p = pool_[rng_.Below(static_cast<int>(pool_.size()))];
        if (p.last_ms + kSessionGapMs <= start) past = &p;
      }
      int64_t id;
      if (past != nullptr) {
        id = past->id;
        ++stats.returning_sessions;
      } else {
        id = next_visitor_++;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "v%06lld", static_cast<long long>(id));
      visitor_ = buf;
      Session(start);
      if (!error_.ok()) return;
      if (past != nullptr) {
        past->last_ms = last_ms_;
      } else {
        today.push_back({id, last_ms_});
      }
    }
    for (const PastVisitor& v : today) {
      if (pool_.size() < kMaxVisitorPool) {
        pool_.push_back(v);
      } else {
        pool_[rng_.Below(static_cast<int>(pool_.size()))] = v;
      }
    }
  }

  // --- A session -----------------------------------------------------------

  void Session(int64_t start) {
    ++stats.sessions;
    t_ = start;
    last_ms_ = start;
    cart_ = 0;
    cur_ = -1;
    cur_page_ = 0;
    engaged_ = false;
    offered_ = false;
    staffed_ = Staffed(start);
    widget_ = rng_.Chance(o_.legacy_offer_share);
    session_start_ = start;
    pending_ = false;
    next_check_.reset();
    moment_ = false;
    outcome_ = Outcome::kNatural;
    purchased_after_ = false;
    revenue_after_ = 0;
    const double u = rng_.Uniform();
    const double a = o_.stuck_on_page_share;
    const double b = a + o_.stuck_after_path_share;
    const double c = b + o_.stuck_after_search_share;
    stuck_ = u < c;
    if (u < a) {
      ++stats.stuck_on_page;
      StuckOnPage();
    } else if (u < b) {
      ++stats.stuck_after_path;
      StuckAfterPath();
    } else if (u < c) {
      ++stats.stuck_after_search;
      StuckAfterSearch();
    } else {
      Browse();
    }
    if (engine_ != nullptr) EndSession();
  }

  // --- The widget as a beckon policy ---------------------------------------

  enum class Outcome : uint8_t { kNatural, kMustBuy, kMustNotBuy };

  // With treatment effects: the visitor buys after the moment whatever the
  // walk does (kMustBuy), or never (kMustNotBuy: they leave at the
  // payment step).
  bool MustNotBuy() const { return outcome_ == Outcome::kMustNotBuy; }

  void EndSession() {
    if (outcome_ == Outcome::kMustBuy && !purchased_after_) Buy();
    // The decision after the session's last event (no recheck after it:
    // the visitor is gone), and what it shows.
    int64_t end = t_;
    Advance(end, /*extend=*/false);
    if (moment_ && truth_ != nullptr && *truth_ && error_.ok()) {
      truth_row_.purchased = purchased_after_;
      truth_row_.revenue = revenue_after_;
      error_ = (*truth_)(truth_row_);
    }
  }

  // Decides after the visitor's last event (not yet decided on), then at
  // each recheck_at before `end` (the visitor's next event), and shows the
  // offers made, as the replay decides (replay.h). An offer shown moves
  // `end` past its answer if `extend`. Returns true if the visitor accepted
  // an offer.
  bool Advance(int64_t& end, bool extend) {
    bool accepted = false;
    while (error_.ok()) {
      if (pending_) {
        pending_ = false;
        const LogEvent& e = out_->back();
        if (absl::Status st = engine_->Observe(e.ToEvent()); !st.ok()) {
          error_ = st;
          break;
        }
        DecideAt(e.ts_ms);
      } else if (next_check_ && *next_check_ < end) {
        const int64_t at = *next_check_;
        next_check_.reset();
        DecideAt(at);
      } else {
        break;
      }
      if (offer_at_ >= 0) {
        const int64_t at = offer_at_;
        offer_at_ = -1;
        accepted |= ShowOffer(at, end, extend);
      }
    }
    return accepted;
  }

  void DecideAt(int64_t at) {
    absl::StatusOr<Decision> d = engine_->Decide(visitor_, at);
    if (!d.ok()) {
      error_ = d.status();
      return;
    }
    if (d->action == Action::kOffer) offer_at_ = at;
    if (d->recheck_at_ms && *d->recheck_at_ms > at) {
      next_check_ = *d->recheck_at_ms;
    } else {
      next_check_.reset();
    }
    // The replay's lift counts from the same moment.
    if (!moment_ && d->offer_probability > 0) Moment(at, *d);
  }

  // The session's eligible moment: the visitor's type, and so what they do.
  void Moment(int64_t at, const Decision& d) {
    moment_ = true;
    const bool holdout = engine_->InHoldout(visitor_);
    ++stats.eligible_sessions;
    if (holdout) ++stats.holdout_sessions;
    if (!o_.treatment_effects) return;
    const int kind = K(Kind());
    const TreatmentEffects& fx = o_.effects;
    const double sure = fx.sure_thing[kind];
    const double dog = fx.sleeping_dog[kind];
    const double rest = std::max(0.0, 1 - sure - dog - fx.persuadable[kind]);
    const double pers = fx.persuadable[kind] +
                        (stuck_ ? std::min(rest, fx.stuck_persuadable) : 0.0);
    const double u = rng_.Uniform();
    VisitorType type = VisitorType::kLostCause;
    if (u < sure) {
      type = VisitorType::kSureThing;
    } else if (u < sure + pers) {
      type = VisitorType::kPersuadable;
    } else if (u < sure + pers + dog) {
      type = VisitorType::kSleepingDog;
    }
    ++stats.types[static_cast<int>(type)];
    const bool if_offered =
        type == VisitorType::kSureThing || type == VisitorType::kPersuadable;
    const bool if_not =
        type == VisitorType::kSureThing || type == VisitorType::kSleepingDog;
    const bool buys = d.action == Action::kOffer ? if_offered : if_not;
    outcome_ = buys ? Outcome::kMustBuy : Outcome::kMustNotBuy;
    SessionTruth& t = truth_row_;
    t.visitor = visitor_;
    t.session_start_ms = session_start_;
    t.moment_ms = at;
    const uint16_t g = d.detail.group;
    t.group = g < widget_policy_->groups_size()
                  ? widget_policy_->groups(g).pattern()
                  : "(unlisted)";
    t.holdout = holdout;
    t.offered = d.action == Action::kOffer;
    t.type = type;
    t.purchase_if_offered = if_offered;
    t.purchase_if_not = if_not;
  }

  // The widget shows the offer made at `at`; the visitor answers. Returns
  // true if they accepted (they then chat: `end` moves past the chat).
  bool ShowOffer(int64_t at, int64_t& end, bool extend) {
    t_ = at;
    EmitChannel(EventType::kOfferShown, Channel::kChat);
    ++stats.offers_shown;
    const bool accepted = Answer();
    if (accepted) {
      end = t_ + Ms(rng_.LogNormal({240, 0.6}));  // The chat.
    } else if (extend) {
      end = std::max(end, t_ + kMinDwellMs);
    } else {
      end = t_;
    }
    return accepted;
  }

  // An order placed before the visitor leaves (treatment effects: one the
  // walk did not place): to the cart, through the checkout, paid.
  void Buy() {
    Gap(5, 40);
    if (cart_ == 0) {
      if (!by_kind_[K(SimulatedKind::kProduct)].empty()) {
        View(RandomGroup(SimulatedKind::kProduct), -1);
        Stay(NormalDwell());
      }
      AddToCart();
      Gap(1, 3);
    }
    if (!by_kind_[K(SimulatedKind::kCart)].empty()) {
      View(RandomGroup(SimulatedKind::kCart), 0);
      Stay(NormalDwell());
    }
    if (by_kind_[K(SimulatedKind::kCheckout)].empty()) {
      Purchase();
      return;
    }
    const int g = RandomGroup(SimulatedKind::kCheckout);
    const int n = static_cast<int>(pages_[g].size());
    for (int k = 0; k < n; ++k) {
      View(g, k);
      Stay(NormalDwell());
      if (n == 1 || k + 2 == n) {
        Purchase();
        Gap(1, 3);
        if (n == 1) return;
        View(g, k + 1);
        Stay(NormalDwell());
        return;
      }
    }
  }

  // An ordinary visitor: a walk of about `mean_pages` pages; some place an
  // order, a few contact help on the way.
  void Browse() {
    const int pages = rng_.Geometric(o_.mean_pages, kMaxPagesPerSession);
    const bool casual =
        rng_.Chance(o_.casual_contact_share) && HasHelpOrContact();
    const int casual_at = casual ? rng_.Below(pages) : -1;
    // A visitor who meant to contact help does so before leaving, whenever
    // that is.
    // (Not if they are already chatting after an offer.)
    auto leave = [&] {
      if (casual && !engaged_) CasualContact();
    };
    Enter(rng_.Chance(o_.search_engine_entry_share));
    int steps = 1;
    for (;;) {
      Stay(NormalDwell());
      const SimulatedKind kind = Kind();
      if (kind == SimulatedKind::kCheckout) {
        const int n = static_cast<int>(pages_[cur_].size());
        if (cur_page_ + 1 < n) {
          if (cur_page_ + 2 == n) {  // The order is placed here.
            if (MustNotBuy()) return leave();
            Purchase();
            Gap(1, 3);
          } else if (rng_.Chance(kCheckoutAbandon)) {
            return leave();
          }
          View(cur_, cur_page_ + 1);
          continue;
        }
        if (n == 1 && !MustNotBuy()) Purchase();
        if (rng_.Chance(kLeaveAfterOrder) || steps >= pages) return leave();
      } else if (steps - 1 == casual_at || steps >= pages) {
        return leave();
      }
      Move(/*allow_checkout=*/true);
      if (Kind() != SimulatedKind::kSearch) ++steps;  // Searches are extra.
    }
  }

  // Stuck on a page group chosen by stuck_weight: a few ordinary pages, the
  // way there (through the cart for cart and checkout), sometimes back and
  // forth between two of its pages, then stuck.
  void StuckOnPage() {
    const int g = rng_.Pick(stuck_weights_);
    const SimulatedKind kind = o_.groups[g].kind;
    const bool entry_kind = kind == SimulatedKind::kLanding ||
                            kind == SimulatedKind::kCategory ||
                            kind == SimulatedKind::kProduct;
    const int before = rng_.Between(0, 3);
    if (entry_kind && before == 0 && rng_.Chance(kEnterOnStuckGroup)) {
      View(g, PopularPage(g),
           EntryReferrer(rng_.Chance(o_.search_engine_entry_share)));
      StuckHere();
      return;
    }
    Enter(rng_.Chance(o_.search_engine_entry_share));
    for (int i = 0; i < before; ++i) {
      Stay(NormalDwell());
      Move(/*allow_checkout=*/false);
    }
    Stay(NormalDwell());
    if (kind == SimulatedKind::kCart || kind == SimulatedKind::kCheckout) {
      if (cart_ == 0) {
        if (Kind() != SimulatedKind::kProduct) {
          View(RandomGroup(SimulatedKind::kProduct), -1);
          Stay(NormalDwell());
        }
        AddToCart();
        Gap(1, 3);
      }
      if (kind == SimulatedKind::kCheckout) {
        View(RandomGroup(SimulatedKind::kCart), 0);
        Stay(NormalDwell());
        const int n = static_cast<int>(pages_[g].size());
        const std::vector<double>& w = o_.groups[g].page_stuck_weight;
        const int stuck_step =
            n == 1 ? 0
            : w.empty()
                ? rng_.Below(n - 1)
                : rng_.Pick(std::vector<double>(w.begin(), w.end() - 1));
        for (int k = 0; k < stuck_step; ++k) {
          View(g, k);
          Stay(NormalDwell());
        }
        View(g, stuck_step);
      } else {
        View(g, 0);
      }
    } else if (kind == SimulatedKind::kSearch) {
      SearchOn(g, /*count=*/ResultCount(/*allow_zero=*/false));
    } else {
      const int p = o_.groups[g].page_stuck_weight.empty()
                        ? PopularPage(g)
                        : rng_.Pick(o_.groups[g].page_stuck_weight);
      View(g, p);
      if (pages_[g].size() >= 2 && rng_.Chance(kBackAndForth)) {
        int q = PopularPage(g);
        while (q == p) q = rng_.Below(static_cast<int>(pages_[g].size()));
        Stay(NormalDwell());
        View(g, q);
        Stay(NormalDwell());
        View(g, p);
      }
    }
    StuckHere();
  }

  // The help-seeking route: in from a search engine on the landing page, a
  // site search that finds something, then a help page, stuck there.
  void StuckAfterPath() {
    View(RandomGroup(SimulatedKind::kLanding), -1, EntryReferrer(true));
    Stay(NormalDwell());
    SearchOn(RandomGroup(SimulatedKind::kSearch), ResultCount(false));
    Stay(NormalDwell());
    const int help = rng_.Pick(help_weights_);
    View(help, PopularPage(help));
    StuckHere();
  }

  // Searches that find nothing (two or three), stuck after the last.
  void StuckAfterSearch() {
    Enter(rng_.Chance(o_.search_engine_entry_share));
    const int before = rng_.Between(0, 2);
    for (int i = 0; i < before; ++i) {
      Stay(NormalDwell());
      Move(/*allow_checkout=*/false);
    }
    Stay(NormalDwell());
    const int search = RandomGroup(SimulatedKind::kSearch);
    const int tries = rng_.Between(2, 3);
    for (int i = 0; i < tries; ++i) {
      if (i > 0) Stay(NormalDwell());
      SearchOn(search, 0);
    }
    StuckHere();
  }

  // Stuck on the current page: give up after the stuck dwell, or ask after
  // the stuck (or quick) dwell, unless the widget's offer helps first.
  void StuckHere() {
    if (engaged_) {  // Already chatting (an offer accepted earlier): they
                     // ask there, so no help_contact.
      Stay(rng_.LogNormal(StuckDwell()));
      ++stats.stuck_helped_by_offer;
      After();
      return;
    }
    if (rng_.Chance(o_.give_up_share)) {
      if (Stay(rng_.LogNormal(StuckDwell()))) {
        ++stats.stuck_helped_by_offer;
        After();
        return;
      }
      ++stats.stuck_gave_up;
      // One more page (the home page or a category), then gone.
      const bool category =
          !by_kind_[K(SimulatedKind::kCategory)].empty() &&
          (Kind() == SimulatedKind::kLanding || rng_.Chance(0.5));
      View(RandomGroup(category ? SimulatedKind::kCategory
                                : SimulatedKind::kLanding),
           -1);
      Stay(NormalDwell());
      return;
    }
    const bool quick = rng_.Chance(o_.quick_ask_share);
    const double dwell =
        rng_.LogNormal(quick ? o_.quick_ask_dwell : StuckDwell());
    if (Stay(dwell)) {
      ++stats.stuck_helped_by_offer;
    } else {
      HelpContact();
      ++stats.stuck_asked;
      if (quick) ++stats.stuck_quick_asked;
    }
    After();
  }

  // A visitor who is not stuck but asks anyway, from a help or contact page.
  void CasualContact() {
    const bool contact =
        !by_kind_[K(SimulatedKind::kContact)].empty() &&
        (by_kind_[K(SimulatedKind::kHelp)].empty() || rng_.Chance(0.5));
    const int g =
        RandomGroup(contact ? SimulatedKind::kContact : SimulatedKind::kHelp);
    View(g, PopularPage(g));
    if (!Stay(NormalDwell())) {
      HelpContact();
      ++stats.casual_contacts;
    }
    After();
  }

  // After asking (or a chat): maybe a page or two more.
  void After() {
    if (!rng_.Chance(kMoreAfterHelp)) return;
    const int more = rng_.Between(1, 2);
    for (int i = 0; i < more; ++i) {
      Move(/*allow_checkout=*/false);
      Stay(NormalDwell());
    }
  }

  // --- Steps
  // -------------------------------------------------------------------

  SimulatedKind Kind() const { return o_.groups[cur_].kind; }

  bool HasHelpOrContact() const {
    return !by_kind_[K(SimulatedKind::kHelp)].empty() ||
           !by_kind_[K(SimulatedKind::kContact)].empty();
  }

  // A group of `kind` (which the options have), uniformly.
  int RandomGroup(SimulatedKind kind) {
    const std::vector<int>& groups = by_kind_[K(kind)];
    return groups[rng_.Below(static_cast<int>(groups.size()))];
  }

  // A page of group g, popular pages more often (the first pages get most
  // views: index = n * u^2).
  int PopularPage(int g) {
    const int n = static_cast<int>(pages_[g].size());
    const double u = rng_.Uniform();
    return std::min(n - 1, static_cast<int>(n * u * u));
  }

  // Draws a kind by `weights`, over the kinds the shop has.
  SimulatedKind PickKind(KindWeights weights, bool allow_checkout) {
    for (int k = 0; k < kKinds; ++k) {
      if (by_kind_[k].empty()) weights[k] = 0;
    }
    if (!allow_checkout || cart_ == 0) weights[K(SimulatedKind::kCheckout)] = 0;
    double total = 0;
    for (double w : weights) total += w;
    if (total <= 0) return SimulatedKind::kLanding;
    return static_cast<SimulatedKind>(rng_.Pick(weights));
  }

  std::string EntryReferrer(bool search_engine) {
    if (search_engine) {
      const std::string q = Query(PopularQuery());
      const double u = rng_.Uniform();
      if (u < 0.85) return "https://www.google.com/search?q=" + q;
      if (u < 0.95) return "https://www.bing.com/search?q=" + q;
      return "https://duckduckgo.com/?q=" + q;
    }
    const double u = rng_.Uniform();
    if (u < 0.60) return "";
    if (u < 0.72) return "https://www.facebook.com/";
    if (u < 0.84) return "https://www.instagram.com/";
    if (u < 0.92) return "https://www.pinterest.com/";
    return "https://t.co/x7Kq2mZ";
  }

  int PopularQuery() {
    const double u = rng_.Uniform();
    return static_cast<int>(500 * u * u);
  }

  void Enter(bool search_engine) {
    const SimulatedKind kind =
        PickKind(search_engine ? kEntryFromSearchEngine : kEntryOther, false);
    const int g = RandomGroup(kind);
    View(g, -1, EntryReferrer(search_engine));
  }

  // To the next page by the walk (searches are pages here).
  void Move(bool allow_checkout) {
    SimulatedKind from = Kind();
    if (from == SimulatedKind::kProduct && rng_.Chance(kAddToCart)) {
      AddToCart();
      Gap(1, 3);
      if (rng_.Chance(kCartAfterAdd) &&
          !by_kind_[K(SimulatedKind::kCart)].empty()) {
        View(RandomGroup(SimulatedKind::kCart), -1);
        return;
      }
    }
    const SimulatedKind next = PickKind(kNext[K(from)], allow_checkout);
    const int g = RandomGroup(next);
    if (next == SimulatedKind::kSearch) {
      SearchOn(g, ResultCount(true));
    } else if (next == SimulatedKind::kCheckout) {
      View(g, 0);
    } else {
      View(g, -1);
    }
  }

  // Emits a row at the current time (with the widget as a policy: after
  // deciding up to it, which may show an offer first and so move it).
  LogEvent& Emit(EventType type) {
    if (engine_ != nullptr) {
      int64_t at = t_;
      Advance(at, /*extend=*/true);
      t_ = std::max(t_, at);
      pending_ = true;
    }
    LogEvent& e = out_->emplace_back();
    e.ts_ms = t_;
    e.type = type;
    e.visitor = visitor_;
    if (cur_ >= 0) e.page = pages_[cur_][cur_page_];
    last_ms_ = t_;
    return e;
  }

  void EmitChannel(EventType type, Channel channel) {
    LogEvent& e = Emit(type);
    e.channel = channel;
    e.detail = std::string(ChannelName(channel));
  }

  // A page view of page `p` of group g (p < 0: a popular page).
  void View(int g, int p, std::string referrer = "") {
    cur_ = g;
    cur_page_ = p >= 0 ? p : PopularPage(g);
    if (o_.groups[g].kind == SimulatedKind::kSearch) {
      SearchOn(g, ResultCount(true));
      return;
    }
    LogEvent& e = Emit(EventType::kPageView);
    e.detail = std::move(referrer);
  }

  void SearchOn(int g, int64_t count) {
    cur_ = g;
    cur_page_ = PopularPage(g);
    LogEvent& e = Emit(EventType::kSearch);
    e.count = count;
    e.detail = std::to_string(count);
  }

  int64_t ResultCount(bool allow_zero) {
    if (allow_zero && rng_.Chance(kZeroResults)) return 0;
    const double n = std::round(rng_.LogNormal({24, 1.2}));
    return n < 1 ? 1 : static_cast<int64_t>(std::min(n, 5000.0));
  }

  void AddToCart() {
    double price;
    Money(std::max(1.0, rng_.LogNormal({35, 0.8})), &price);
    std::string detail = Money(cart_ + price, &cart_);
    LogEvent& e = Emit(EventType::kCart);
    e.value = cart_;
    e.detail = std::move(detail);
  }

  void Purchase() {
    LogEvent& e = Emit(EventType::kPurchase);
    double value;
    e.detail = Money(cart_, &value);
    e.value = value;
    cart_ = 0;
    ++stats.purchases;
    if (moment_) {
      purchased_after_ = true;
      revenue_after_ += value;
    }
  }

  void HelpContact() {
    Channel channel;
    const double u = rng_.Uniform();
    if (staffed_) {
      channel = u < 0.70   ? Channel::kChat
                : u < 0.85 ? Channel::kCall
                : u < 0.95 ? Channel::kEmail
                           : Channel::kForm;
    } else {  // Out of hours: chat leaves a message; more email and forms.
      channel = u < 0.30   ? Channel::kChat
                : u < 0.70 ? Channel::kEmail
                           : Channel::kForm;
    }
    EmitChannel(EventType::kHelpContact, channel);
    engaged_ = true;
    // The conversation (or writing the message) before anything else.
    const bool talk = channel == Channel::kChat || channel == Channel::kCall;
    t_ += Ms(rng_.LogNormal(talk ? LogNormalSeconds{240, 0.6}
                                 : LogNormalSeconds{40, 0.5}));
  }

  void Gap(int lo_s, int hi_s) { t_ += rng_.Between(lo_s * 1000, hi_s * 1000); }

  static int64_t Ms(double seconds) {
    const double ms = std::round(seconds * 1000);
    if (!(ms >= kMinDwellMs)) return kMinDwellMs;
    return ms > kMaxDwellMs ? kMaxDwellMs : static_cast<int64_t>(ms);
  }

  double NormalDwell() {
    const SimulatedGroup& g = o_.groups[cur_];
    return rng_.LogNormal(g.page_normal_dwell.empty()
                              ? g.normal_dwell
                              : g.page_normal_dwell[cur_page_]);
  }
  // The stuck dwell of the current page.
  const LogNormalSeconds& StuckDwell() const {
    const SimulatedGroup& g = o_.groups[cur_];
    return g.page_stuck_dwell.empty() ? g.stuck_dwell
                                      : g.page_stuck_dwell[cur_page_];
  }

  // The visitor stays `dwell_s` on the current page: t_ moves to their next
  // event. The legacy widget may offer on the way; returns true if the
  // visitor accepted (they then chat before going on).
  bool Stay(double dwell_s) {
    int64_t end = t_ + Ms(dwell_s);
    bool accepted = false;
    if (engine_ != nullptr) {
      accepted = Advance(end, /*extend=*/true);
    } else if (widget_ && !offered_ && !engaged_ && staffed_ &&
               end - t_ >= after_ms_) {
      offered_ = true;
      t_ += after_ms_;
      EmitChannel(EventType::kOfferShown, Channel::kChat);
      ++stats.offers_shown;
      accepted = Answer();
      if (accepted) {
        end = t_ + Ms(rng_.LogNormal({240, 0.6}));  // The chat.
      } else {
        end = std::max(end, t_ + kMinDwellMs);
      }
    }
    t_ = end;
    return accepted;
  }

  // The visitor answers the offer just shown: the outcome's row after a
  // short delay. Returns true if they accepted (they are then chatting).
  bool Answer() {
    const double u = rng_.Uniform();
    EventType outcome;
    LogNormalSeconds delay;
    if (u < o_.decline_share) {
      outcome = EventType::kOfferDeclined;
      delay = {4, 0.5};
      ++stats.offers_declined;
    } else if (u < o_.decline_share + o_.ignore_share) {
      outcome = EventType::kOfferIgnored;  // Closed, or timed out.
      delay = {20, 0.4};
      ++stats.offers_ignored;
    } else {
      outcome = EventType::kOfferAccepted;
      delay = {5, 0.5};
      ++stats.offers_accepted;
    }
    t_ += Ms(rng_.LogNormal(delay));
    EmitChannel(outcome, Channel::kChat);
    if (outcome != EventType::kOfferAccepted) return false;
    engaged_ = true;
    return true;
  }

  const SimulatorOptions& o_;
  Rng rng_;
  Engine* engine_ = nullptr;
  const proto::Policy* widget_policy_ = nullptr;
  const TruthSink* truth_ = nullptr;
  absl::Status error_;  // The engine's or the truth sink's first error.
  std::vector<std::vector<std::string>> pages_;
  std::array<std::vector<int>, kKinds> by_kind_;
  std::vector<double> stuck_weights_;
  std::vector<double> help_weights_;
  int64_t after_ms_ = 0;

  std::vector<PastVisitor> pool_;
  int64_t next_visitor_ = 1;
  std::vector<LogEvent>* out_ = nullptr;

  // The current session.
  std::string visitor_;
  int64_t t_ = 0;        // When the visitor's next event happens.
  int64_t last_ms_ = 0;  // The visitor's last event.
  double cart_ = 0;
  int cur_ = -1;  // Current group, page.
  int cur_page_ = 0;
  bool engaged_ = false;  // Asked for help or chatting.
  bool offered_ = false;  // The widget offered this session.
  bool staffed_ = false;  // The session started in staffed hours.
  bool widget_ = false;   // The widget is on for this session.
  bool stuck_ = false;    // A stuck session.
  int64_t session_start_ = 0;
  // The widget as a policy: the last event is not yet decided on; the
  // pending recheck; an offer decided at this time (-1: none).
  bool pending_ = false;
  std::optional<int64_t> next_check_;
  int64_t offer_at_ = -1;
  // Treatment effects: the eligible moment has come; what the visitor
  // does after it; whether they bought after it, and for how much.
  bool moment_ = false;
  Outcome outcome_ = Outcome::kNatural;
  bool purchased_after_ = false;
  double revenue_after_ = 0;
  SessionTruth truth_row_;
};

SimulatedGroup Group(std::string pattern, SimulatedKind kind,
                     std::string url_prefix, int distinct_pages,
                     std::vector<std::string> names, LogNormalSeconds normal,
                     LogNormalSeconds stuck, double stuck_weight) {
  SimulatedGroup g;
  g.pattern = std::move(pattern);
  g.kind = kind;
  g.url_prefix = std::move(url_prefix);
  g.distinct_pages =
      names.empty() ? distinct_pages : static_cast<int>(names.size());
  g.page_names = std::move(names);
  g.normal_dwell = normal;
  g.stuck_dwell = stuck;
  g.stuck_weight = stuck_weight;
  return g;
}

}  // namespace

double LogNormalSeconds::Quantile(double q) const {
  if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return 0;
  if (q >= 1) return std::numeric_limits<double>::infinity();
  if (q == 0.5) return median_s;
  return median_s * std::exp(sigma * InverseNormalCdf(q));
}

SimulatorOptions SimulatorOptions::Default() {
  using SK = SimulatedKind;
  SimulatorOptions o;
  o.groups = {
      Group("/", SK::kLanding, "/", 1, {}, {12, 0.8}, {60, 0.5}, 0.5),
      Group("/c/*", SK::kCategory, "/c/", 0,
            {"shoes",     "boots",      "sandals",     "sneakers",   "jackets",
             "coats",     "dresses",    "shirts",      "t-shirts",   "jeans",
             "trousers",  "skirts",     "knitwear",    "sportswear", "swimwear",
             "underwear", "socks",      "bags",        "backpacks",  "wallets",
             "belts",     "hats",       "scarves",     "gloves",     "watches",
             "jewellery", "sunglasses", "kids",        "baby",       "home",
             "kitchen",   "bedding",    "bath",        "lighting",   "garden",
             "outdoor",   "camping",    "electronics", "gifts",      "sale"},
            {20, 0.8}, {75, 0.5}, 1),
      Group("/p/*", SK::kProduct, "/p/", 2000, {}, {35, 0.8}, {110, 0.5}, 3),
      Group("/search", SK::kSearch, "/search?q=", 500, {}, {15, 0.7}, {50, 0.5},
            1),
      Group("/help/*", SK::kHelp, "/help/", 0,
            {"faq",
             "sizes",
             "size-guide",
             "payment",
             "payment-methods",
             "gift-cards",
             "vouchers",
             "order-status",
             "cancel-order",
             "change-order",
             "invoice",
             "vat",
             "warranty",
             "repairs",
             "care-instructions",
             "account",
             "password",
             "newsletter",
             "privacy",
             "cookies",
             "terms",
             "click-and-collect",
             "stores",
             "price-match",
             "student-discount",
             "loyalty",
             "damaged-item",
             "missing-item",
             "exchange",
             "contact-options"},
            {40, 0.8}, {90, 0.5}, 1.5),
      Group("/help/shipping", SK::kHelp, "/shipping/", 0,
            {"costs", "times", "international"}, {30, 0.7}, {80, 0.5}, 1),
      Group("/help/returns", SK::kHelp, "/returns/", 0,
            {"policy", "how-to-return", "refunds"}, {30, 0.7}, {85, 0.5}, 1),
      Group("/contact", SK::kContact, "/contact", 1, {}, {25, 0.7}, {40, 0.5},
            0.5),
      Group("/cart", SK::kCart, "/cart", 1, {}, {25, 0.7}, {70, 0.5}, 1),
      Group("/checkout/*", SK::kCheckout, "/checkout/", 0,
            {"shipping", "payment", "review", "confirm"}, {40, 0.7}, {120, 0.5},
            2),
      Group("/account/*", SK::kAccount, "/account/", 0,
            {"login", "orders", "addresses", "payment-methods", "settings",
             "wishlist"},
            {30, 0.8}, {95, 0.5}, 0.5),
  };
  return o;
}

SimulatorOptions SimulatorOptions::VariedShop() {
  using SK = SimulatedKind;
  SimulatorOptions o;
  // Stuck visitors here mostly ask (a shop with a visible contact route).
  o.give_up_share = 0.15;
  SimulatedGroup checkout =
      Group("/checkout/*", SK::kCheckout, "/checkout/", 0,
            {"address", "delivery", "payment", "review", "done"}, {30, 0.7},
            {90, 0.5}, 3);
  // The address form is typed slowly and rarely a problem; delivery and
  // review are glanced at; the payment step is where visitors get stuck,
  // after a dwell that would be ordinary on the address form.
  checkout.page_normal_dwell = {
      {80, 0.5}, {12, 0.5}, {20, 0.45}, {15, 0.5}, {10, 0.6}};
  checkout.page_stuck_dwell = {
      {200, 0.35}, {50, 0.4}, {75, 0.4}, {55, 0.4}, {40, 0.5}};
  checkout.page_stuck_weight = {0.3, 1, 4, 1, 0};
  o.groups = {
      Group("/", SK::kLanding, "/", 1, {}, {12, 0.8}, {60, 0.5}, 0.3),
      Group("/shop/*", SK::kCategory, "/shop/", 0,
            {"women", "men", "kids", "shoes", "bags", "outdoor", "home",
             "beauty", "sport", "sale", "new-in", "gifts"},
            {25, 0.8}, {70, 0.5}, 0.5),
      // Product pages read at length: their normal dwell reaches well into
      // the stuck dwell of every other page.
      Group("/item/*", SK::kProduct, "/item/", 2000, {}, {70, 1.0}, {120, 0.5},
            0.5),
      Group("/search", SK::kSearch, "/search?q=", 500, {}, {15, 0.7}, {45, 0.5},
            0.5),
      Group("/help/*", SK::kHelp, "/help/", 0,
            {"faq", "sizes", "payment", "vouchers", "order-status", "warranty"},
            {40, 0.6}, {110, 0.4}, 1),
      Group("/service/*", SK::kHelp, "/service/", 0,
            {"shipping", "returns", "refunds", "exchange", "delivery-times"},
            {30, 0.6}, {90, 0.4}, 1),
      Group("/contact", SK::kContact, "/contact", 1, {}, {25, 0.7}, {40, 0.5},
            0.3),
      Group("/cart", SK::kCart, "/basket", 1, {}, {25, 0.7}, {70, 0.5}, 1),
      std::move(checkout),
      Group("/my/*", SK::kAccount, "/my/", 0,
            {"login", "orders", "addresses", "wallet", "settings"}, {30, 0.8},
            {95, 0.5}, 0.5),
  };
  return o;
}

absl::StatusOr<SimulatorOptions> SimulatorOptions::ForShop(
    std::string_view name) {
  if (name == "default") return Default();
  if (name == "varied") return VariedShop();
  return absl::InvalidArgumentError(
      absl::StrCat("shop must be \"default\" or \"varied\", got \"",
                   absl::string_view(name.data(), name.size()), "\""));
}

absl::Status SimulatorOptions::Validate() const {
  absl::Status s;
  if (widget_policy != nullptr) {
    const double share = internal::PolicyInternal::Message(*widget_policy)
                             .gates()
                             .max_offer_share();
    if (share > 0) {
      return Bad("widget_policy",
                 "have gates.max_offer_share 0 (sessions are simulated one "
                 "after another, so no site-wide window can be kept)",
                 absl::StrCat(share));
    }
  } else if (treatment_effects) {
    return Bad("treatment_effects", "come with a widget_policy", "none");
  }
  for (int k = 0; k < kKinds; ++k) {
    const std::string f = absl::StrCat("[", k, "]");
    if (!(s = CheckShare("effects.sure_thing" + f, effects.sure_thing[k]))
             .ok() ||
        !(s = CheckShare("effects.persuadable" + f, effects.persuadable[k]))
             .ok() ||
        !(s = CheckShare("effects.sleeping_dog" + f, effects.sleeping_dog[k]))
             .ok()) {
      return s;
    }
    const double sum = effects.sure_thing[k] + effects.persuadable[k] +
                       effects.sleeping_dog[k];
    if (sum > 1 + 1e-9) {
      return Bad("effects" + f, "have shares summing to at most 1",
                 absl::StrCat(sum));
    }
  }
  if (!(s = CheckShare("effects.stuck_persuadable", effects.stuck_persuadable))
           .ok()) {
    return s;
  }
  if (!(s = CheckInt("days", days, 1, 3650)).ok()) return s;
  if (!(s = CheckInt("visitors_per_day", visitors_per_day, 1, 200'000)).ok()) {
    return s;
  }
  const int64_t latest_start = kMaxTimestampMs - (int64_t{days} + 1) * kDayMs;
  if (!(s = CheckInt("start_ms", start_ms, 0, latest_start)).ok()) return s;
  if (!(s = CheckShare("returning_share", returning_share)).ok()) return s;
  if (!(s = CheckShare("search_engine_entry_share", search_engine_entry_share))
           .ok()) {
    return s;
  }
  if (groups.empty()) return Bad("groups", "not be empty", "none");
  if (groups.size() > 1000) {
    return Bad("groups", "have at most 1000 groups",
               absl::StrCat(groups.size()));
  }
  std::array<int, kKinds> kinds = {};
  double stuck_weight = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    const SimulatedGroup& g = groups[i];
    const std::string f = absl::StrCat("groups[", i, "]");
    if (g.pattern.empty()) return Bad(f + ".pattern", "not be empty", "\"\"");
    if (g.url_prefix.empty() || g.url_prefix[0] != '/') {
      return Bad(f + ".url_prefix", "start with '/'",
                 absl::StrCat("\"", g.url_prefix, "\""));
    }
    if (g.url_prefix.size() > 200) {
      return Bad(f + ".url_prefix", "be at most 200 bytes",
                 absl::StrCat(g.url_prefix.size(), " bytes"));
    }
    const int kind = static_cast<int>(g.kind);
    if (kind < 0 || kind >= kKinds) {
      return Bad(f + ".kind", "be a SimulatedKind", absl::StrCat(kind));
    }
    ++kinds[kind];
    if (!(s = CheckInt(f + ".distinct_pages", g.distinct_pages, 1, 1'000'000))
             .ok()) {
      return s;
    }
    if (!g.page_names.empty() &&
        g.page_names.size() != static_cast<size_t>(g.distinct_pages)) {
      return Bad(f + ".page_names",
                 absl::StrCat("be empty or hold distinct_pages (",
                              g.distinct_pages, ") names"),
                 absl::StrCat(g.page_names.size()));
    }
    if (g.kind == SimulatedKind::kCheckout && g.page_names.empty() &&
        g.distinct_pages > 1) {
      return Bad(f + ".page_names",
                 "name the checkout steps in order (distinct_pages > 1)",
                 "none");
    }
    if (!(s = CheckDwell(f + ".normal_dwell", g.normal_dwell)).ok()) return s;
    if (!(s = CheckDwell(f + ".stuck_dwell", g.stuck_dwell)).ok()) return s;
    const size_t pages = static_cast<size_t>(g.distinct_pages);
    for (const auto& [name, size] :
         {std::pair<const char*, size_t>{"page_normal_dwell",
                                         g.page_normal_dwell.size()},
          {"page_stuck_dwell", g.page_stuck_dwell.size()},
          {"page_stuck_weight", g.page_stuck_weight.size()}}) {
      if (size != 0 && size != pages) {
        return Bad(f + "." + name,
                   absl::StrCat("be empty or hold distinct_pages (", pages,
                                ") entries"),
                   absl::StrCat(size));
      }
    }
    for (size_t k = 0; k < g.page_normal_dwell.size(); ++k) {
      s = CheckDwell(absl::StrCat(f, ".page_normal_dwell[", k, "]"),
                     g.page_normal_dwell[k]);
      if (!s.ok()) return s;
    }
    for (size_t k = 0; k < g.page_stuck_dwell.size(); ++k) {
      s = CheckDwell(absl::StrCat(f, ".page_stuck_dwell[", k, "]"),
                     g.page_stuck_dwell[k]);
      if (!s.ok()) return s;
    }
    if (!g.page_stuck_weight.empty()) {
      double sum = 0;
      for (size_t k = 0; k < pages; ++k) {
        const double w = g.page_stuck_weight[k];
        if (!(w >= 0 && w <= 1e6)) {
          return Bad(absl::StrCat(f, ".page_stuck_weight[", k, "]"),
                     "be in [0, 1e6]", absl::StrCat(w));
        }
        // A checkout's last step (the confirmation) is never picked.
        if (g.kind != SimulatedKind::kCheckout || k + 1 < pages || pages == 1) {
          sum += w;
        }
      }
      if (sum <= 0) {
        return Bad(f + ".page_stuck_weight",
                   g.kind == SimulatedKind::kCheckout
                       ? "be positive for some step before the last"
                       : "be positive for some page",
                   "all 0");
      }
    }
    if (!(g.stuck_weight >= 0 && g.stuck_weight <= 1e6)) {
      return Bad(f + ".stuck_weight", "be in [0, 1e6]",
                 absl::StrCat(g.stuck_weight));
    }
    stuck_weight += g.stuck_weight;
  }
  if (kinds[K(SimulatedKind::kLanding)] == 0) {
    return Bad("groups", "include a kLanding group", "none");
  }
  if (!(s = CheckShare("stuck_on_page_share", stuck_on_page_share)).ok()) {
    return s;
  }
  if (!(s = CheckShare("stuck_after_path_share", stuck_after_path_share))
           .ok()) {
    return s;
  }
  if (!(s = CheckShare("stuck_after_search_share", stuck_after_search_share))
           .ok()) {
    return s;
  }
  const double stuck =
      stuck_on_page_share + stuck_after_path_share + stuck_after_search_share;
  if (stuck > 1) {
    return Bad(
        "stuck_on_page_share + stuck_after_path_share + "
        "stuck_after_search_share",
        "be at most 1", absl::StrCat(stuck));
  }
  if (stuck_on_page_share > 0) {
    if (stuck_weight <= 0) {
      return Bad("groups[].stuck_weight",
                 "be positive for some group when stuck_on_page_share > 0",
                 "all 0");
    }
    for (size_t i = 0; i < groups.size(); ++i) {
      const SimulatedKind k = groups[i].kind;
      if (groups[i].stuck_weight > 0 &&
          (k == SimulatedKind::kCart || k == SimulatedKind::kCheckout) &&
          (kinds[K(SimulatedKind::kProduct)] == 0 ||
           kinds[K(SimulatedKind::kCart)] == 0)) {
        return Bad(absl::StrCat("groups[", i, "].stuck_weight"),
                   "be 0 for a cart or checkout group unless the shop has "
                   "product and cart groups",
                   absl::StrCat(groups[i].stuck_weight));
      }
    }
  }
  if (stuck_after_path_share > 0 && (kinds[K(SimulatedKind::kSearch)] == 0 ||
                                     kinds[K(SimulatedKind::kHelp)] == 0)) {
    return Bad("stuck_after_path_share",
               "be 0 unless the groups include kSearch and kHelp groups",
               absl::StrCat(stuck_after_path_share));
  }
  if (stuck_after_search_share > 0 && kinds[K(SimulatedKind::kSearch)] == 0) {
    return Bad("stuck_after_search_share",
               "be 0 unless the groups include a kSearch group",
               absl::StrCat(stuck_after_search_share));
  }
  if (!(s = CheckShare("quick_ask_share", quick_ask_share)).ok()) return s;
  if (!(s = CheckDwell("quick_ask_dwell", quick_ask_dwell)).ok()) return s;
  if (!(s = CheckShare("give_up_share", give_up_share)).ok()) return s;
  if (!(s = CheckShare("casual_contact_share", casual_contact_share)).ok()) {
    return s;
  }
  if (casual_contact_share > 0 && kinds[K(SimulatedKind::kHelp)] == 0 &&
      kinds[K(SimulatedKind::kContact)] == 0) {
    return Bad("casual_contact_share",
               "be 0 unless the groups include a kHelp or kContact group",
               absl::StrCat(casual_contact_share));
  }
  if (!(mean_pages >= 1 && mean_pages <= 100)) {
    return Bad("mean_pages", "be in [1, 100]", absl::StrCat(mean_pages));
  }
  if (!(s = CheckShare("legacy_offer_share", legacy_offer_share)).ok()) {
    return s;
  }
  if (!(legacy_offer_after_s >= 1 && legacy_offer_after_s <= 1200)) {
    return Bad("legacy_offer_after_s", "be in [1, 1200]",
               absl::StrCat(legacy_offer_after_s));
  }
  if (!(s = CheckShare("decline_share", decline_share)).ok()) return s;
  if (!(s = CheckShare("ignore_share", ignore_share)).ok()) return s;
  if (decline_share + ignore_share > 1) {
    return Bad("decline_share + ignore_share", "be at most 1",
               absl::StrCat(decline_share + ignore_share));
  }
  if (!(s = CheckInt("agents_every_s", agents_every_s, 1, 86400)).ok()) {
    return s;
  }
  if (!(s = CheckInt("agents_staffed", agents_staffed, 0, 10000)).ok()) {
    return s;
  }
  if (!(s = CheckInt("staffed_from_hour", staffed_from_hour, 0, 23)).ok()) {
    return s;
  }
  if (!(s = CheckInt("staffed_to_hour", staffed_to_hour, staffed_from_hour + 1,
                     24))
           .ok()) {
    return s;
  }
  return absl::OkStatus();
}

std::string_view VisitorTypeName(VisitorType type) {
  switch (type) {
    case VisitorType::kLostCause:
      return "lost_cause";
    case VisitorType::kSureThing:
      return "sure_thing";
    case VisitorType::kPersuadable:
      return "persuadable";
    case VisitorType::kSleepingDog:
      return "sleeping_dog";
  }
  return "?";
}

TreatmentEffects TreatmentEffects::Default() {
  TreatmentEffects fx;
  // landing, category, product, search, help, contact, cart, checkout,
  // account.
  fx.sure_thing = {0.04, 0.05, 0.10, 0.04, 0.03, 0.02, 0.30, 0.45, 0.05};
  fx.persuadable = {0.01, 0.02, 0.04, 0.02, 0.03, 0.02, 0.20, 0.25, 0.02};
  fx.sleeping_dog = {0.04, 0.08, 0.10, 0.04, 0.01, 0.00, 0.04, 0.03, 0.02};
  fx.stuck_persuadable = 0.10;
  return fx;
}

std::string_view TruthCsvHeader() {
  return "visitor,session_start_ms,moment_ms,group,arm,type,"
         "purchase_if_offered,purchase_if_not,purchased,revenue,offered";
}

std::string TruthCsvRow(const SessionTruth& t) {
  std::string row;
  internal::AppendCsvField(row, t.visitor);
  char value[32];
  std::snprintf(value, sizeof value, "%.2f", t.revenue);
  absl::StrAppend(&row, ",", t.session_start_ms, ",", t.moment_ms, ",");
  internal::AppendCsvField(row, t.group);
  const char* arm = t.holdout ? "holdout" : "offered";
  row += absl::StrCat(",", arm, ",", std::string(VisitorTypeName(t.type)), ",",
                      t.purchase_if_offered ? 1 : 0, ",",
                      t.purchase_if_not ? 1 : 0, ",", t.purchased ? 1 : 0, ",",
                      static_cast<const char*>(value), ",", t.offered ? 1 : 0);
  return row;
}

absl::Status Simulate(const SimulatorOptions& options, const LogSink& sink,
                      SimulationStats* stats, const TruthSink& truth) {
  if (stats != nullptr) *stats = SimulationStats();
  absl::Status s = options.Validate();
  if (!s.ok()) return s;
  if (!sink) return absl::InvalidArgumentError("simulator: no sink");
  std::unique_ptr<Engine> engine;
  const proto::Policy* widget = nullptr;
  if (options.widget_policy != nullptr) {
    absl::StatusOr<std::unique_ptr<Engine>> e =
        Engine::Create(*options.widget_policy, options.widget_engine);
    if (!e.ok()) return e.status();
    engine = *std::move(e);
    widget = &internal::PolicyInternal::Message(*options.widget_policy);
  }
  Simulation simulation(options, engine.get(), widget, &truth);
  s = simulation.Run(sink);
  if (stats != nullptr) *stats = simulation.stats;
  return s;
}

}  // namespace beckon
