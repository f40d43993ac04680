// The trainer. docs/trainer.md explains every step; Train() runs them in
// order. All containers that hash are read out in sorted order, so the
// result does not depend on hash seeds.
#include "beckon/train.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "beckon/version.h"
#include "lib/engine/session_rules.h"
#include "lib/model_features.h"
#include "lib/offline/replay_internal.h"
#include "lib/offline/train_internal.h"
#include "lib/offline/train_spec.h"
#include "lib/page_matcher.h"
#include "lib/rate_window.h"
#include "lib/siphash.h"
#include "lib/string_views.h"
#include "policy_internal.h"

namespace beckon {
namespace {

using internal::kFeatureCount;
using internal::kNoVisitor;
using internal::kUnlistedGroup;
using internal::PreparedLog;

// Decision points per dwell, as multiples of the page's dwell threshold:
// where the engine, which waits for the threshold, would decide; and with
// early offers allowed (model.allow_before_dwell_threshold), points before
// it too, so that the model learns what an early moment says.
constexpr double kDwellMultiples[] = {1.0, 1.5, 2.0, 3.0};
constexpr double kEarlyDwellMultiples[] = {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0};

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("train: ", internal::AbslView(what)));
}

// What counts as a positive (TrainOptions::labels).
enum class Labels { kHelpContact, kOfferOutcomes, kBoth };

Labels LabelsOf(const TrainOptions& o) {
  if (o.labels == "offer_outcomes") return Labels::kOfferOutcomes;
  if (o.labels == "both") return Labels::kBoth;
  return Labels::kHelpContact;
}

absl::Status CheckOptions(const TrainOptions& o) {
  // Each option's range or choices, as TrainSpec defines them.
  if (absl::Status s = internal::CheckSpec(internal::SpecOf(o)); !s.ok()) {
    return Bad(internal::StdView(s.message()));
  }
  if (o.max_dwell_threshold_s < o.min_dwell_threshold_s) {
    return Bad(absl::StrCat("max_dwell_threshold_s (", o.max_dwell_threshold_s,
                            ") must be at least min_dwell_threshold_s (",
                            o.min_dwell_threshold_s, ")"));
  }
  if (o.threads < 0 || o.threads > 256) {
    return Bad(absl::StrCat("threads must be in [0, 256], got ", o.threads));
  }
  return absl::OkStatus();
}

// The role of an automatic template, from words in its path.
proto::Role GuessRole(std::string_view pattern) {
  std::string p(pattern);
  auto has = [&](std::initializer_list<const char*> words) {
    for (const char* w : words) {
      if (p.find(w) != std::string::npos) return true;
    }
    return false;
  };
  if (p == "/") return proto::ROLE_LANDING;
  if (has({"help", "faq", "support", "contact", "shipping", "delivery",
           "return", "refund", "warranty"})) {
    return proto::ROLE_HELP;
  }
  if (has({"checkout", "payment"})) return proto::ROLE_CHECKOUT;
  if (has({"cart", "basket", "bag"})) return proto::ROLE_CART;
  if (has({"search", "find"})) return proto::ROLE_SEARCH;
  if (has({"account", "login", "register", "signin", "profile"})) {
    return proto::ROLE_ACCOUNT;
  }
  if (has({"/p/", "product", "item"})) return proto::ROLE_PRODUCT;
  if (has({"/c/", "categor", "collection", "shop"})) {
    return proto::ROLE_CATEGORY;
  }
  return proto::ROLE_OTHER;
}

std::string RoleName(proto::Role role) {
  std::string s = proto::Role_Name(role);
  if (s.rfind("ROLE_", 0) == 0) s = s.substr(5);
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !s.empty();
}

// Survival-curve separation: the threshold t (among the positives) that
// maximizes share(pos >= t) - share(neg >= t); ties go to the smaller t.
double SeparationThreshold(std::vector<double> pos, std::vector<double> neg) {
  std::sort(pos.begin(), pos.end());
  std::sort(neg.begin(), neg.end());
  const double np = static_cast<double>(pos.size());
  const double nn = static_cast<double>(neg.size());
  double best_t = pos.front(), best = -2;
  size_t j = 0;
  for (size_t i = 0; i < pos.size(); ++i) {
    if (i > 0 && pos[i] == pos[i - 1]) continue;
    const double t = pos[i];
    while (j < neg.size() && neg[j] < t) ++j;
    const double score =
        (np - static_cast<double>(i)) / np - (nn - static_cast<double>(j)) / nn;
    if (score > best) {
      best = score;
      best_t = t;
    }
  }
  return best_t;
}

struct DwellSamples {
  std::vector<double> pos;  // Dwell (s) on a page left by a help contact.
  std::vector<double> neg;  // Dwell (s) in sessions with no help contact.
};

// Counts a view (row `i`, a visitor's page_view or search; `pd` its dwell
// as the engine measures it, `help` its session's first positive or -1)
// into `views`, into `helped` if the session's first positive comes after
// it, and into `dwell`: a positive sample when the visitor's next event
// that restarts dwell is a help contact (with labels other than
// "offer_outcomes"), a normal one when the session has no positive and no
// offer was shown during the dwell (an offer_shown in the middle of a
// dwell does not end it, but a dwell with an offer in it is no normal one).
void CountView(const PreparedLog& log, size_t i, const internal::PageDwell& pd,
               int64_t help, Labels labels, uint64_t& views, uint64_t& helped,
               DwellSamples& dwell) {
  ++views;
  if (help > log.order[i]->ts_ms) ++helped;
  if (pd.next < 0) return;
  const LogEvent& after = *log.order[static_cast<size_t>(pd.next)];
  if (after.type == EventType::kHelpContact &&
      labels != Labels::kOfferOutcomes) {
    dwell.pos.push_back(pd.dwell_s);
  } else if (help < 0 && !pd.offer_shown) {
    dwell.neg.push_back(pd.dwell_s);
  }
}

// The two-proportion z score of k1/n1 against k2/n2 (pooled variance).
double ProportionZ(double k1, double n1, double k2, double n2) {
  if (n1 <= 0 || n2 <= 0) return 0;
  const double p = (k1 + k2) / (n1 + n2);
  const double var = p * (1 - p) * (1 / n1 + 1 / n2);
  return var > 0 ? (k1 / n1 - k2 / n2) / std::sqrt(var) : 0;
}

// Per row of a prepared log: facts the trainer needs.
struct RowFacts {
  std::vector<uint16_t> group;      // Group of page_view/search rows.
  std::vector<uint32_t> page_hash;  // Page identity of those rows.
  // Per session: the first positive (by `labels`: the first help_contact,
  // the first offer_accepted that answers an offer_shown, or the earlier of
  // the two), or -1. Decision points at or after it are not asked for
  // (the visitor is engaged); before it, they are labelled 1.
  std::vector<int64_t> first_help;
  // Per session: the first help_contact or accepted offer, or -1 (offer
  // outcomes after it are not learned from, with any labels).
  std::vector<int64_t> engaged;
  std::vector<uint8_t> from_search_engine;  // Per session.
  // Per offer_shown row: 1 if the visitor's next offer outcome in the
  // session (before another offer_shown) is offer_accepted, 0 if
  // offer_declined or offer_ignored, -1 if none (unanswered); -1 on other
  // rows.
  std::vector<int8_t> outcome;
  uint64_t offers_shown = 0;     // offer_shown rows.
  uint64_t outcome_rows = 0;     // offer_accepted/declined/ignored rows.
  uint64_t offer_outcomes = 0;   // offer_shown rows answered,
  uint64_t accepted_offers = 0;  // of them accepted.
};

bool IsOutcome(EventType t) {
  return t == EventType::kOfferAccepted || t == EventType::kOfferDeclined ||
         t == EventType::kOfferIgnored;
}

// Fills the group and page hash of every visitor's page row of `f` as
// `matcher` classifies them: the only facts that depend on the page groups.
void ClassifyPages(const PreparedLog& log, const internal::PageMatcher& matcher,
                   RowFacts& f) {
  const size_t n = log.order.size();
  f.group.assign(n, kUnlistedGroup);
  f.page_hash.assign(n, 0);
  // Pages repeat: each distinct one is classified once (up to 64k of them).
  absl::flat_hash_map<std::string_view, internal::PageMatcher::Match> cache;
  for (size_t i = 0; i < n; ++i) {
    const LogEvent& e = *log.order[i];
    if (log.visitor[i] == kNoVisitor ||
        (e.type != EventType::kPageView && e.type != EventType::kSearch)) {
      continue;
    }
    auto it = cache.find(e.page);
    const internal::PageMatcher::Match m =
        it != cache.end() ? it->second : matcher.Classify(e.page);
    if (it == cache.end() && cache.size() < (size_t{1} << 16)) {
      cache.emplace(e.page, m);
    }
    f.group[i] = m.group;
    f.page_hash[i] = m.page_hash;
  }
}

RowFacts Facts(const PreparedLog& log, const internal::PageMatcher& matcher,
               Labels labels = Labels::kHelpContact) {
  RowFacts f;
  const size_t n = log.order.size();
  ClassifyPages(log, matcher, f);
  f.first_help.assign(log.sessions, -1);
  f.engaged.assign(log.sessions, -1);
  f.outcome.assign(n, -1);
  std::vector<int64_t> first_accept(log.sessions, -1);
  f.from_search_engine.assign(log.sessions, 0);
  std::vector<uint8_t> seen_view(log.sessions, 0);
  for (size_t i = 0; i < n; ++i) {
    const LogEvent& e = *log.order[i];
    if (log.visitor[i] == kNoVisitor) continue;
    const uint32_t s = log.session[i];
    if (e.type == EventType::kPageView || e.type == EventType::kSearch) {
      if (e.type == EventType::kPageView && !seen_view[s]) {
        seen_view[s] = 1;
        f.from_search_engine[s] = matcher.IsSearchEngine(e.detail) ? 1 : 0;
      }
    } else if (e.type == EventType::kHelpContact && f.first_help[s] < 0) {
      f.first_help[s] = e.ts_ms;
    } else if (IsOutcome(e.type)) {
      ++f.outcome_rows;
    } else if (e.type == EventType::kOfferShown) {
      ++f.offers_shown;
      // The answer: the visitor's next outcome row in the session, unless
      // another offer is shown first.
      for (int64_t j = log.next_row[i]; j >= 0;
           j = log.next_row[static_cast<size_t>(j)]) {
        const EventType t = log.order[static_cast<size_t>(j)]->type;
        if (t == EventType::kOfferShown) break;
        if (!IsOutcome(t)) continue;
        f.outcome[i] = t == EventType::kOfferAccepted ? 1 : 0;
        ++f.offer_outcomes;
        if (t == EventType::kOfferAccepted) {
          ++f.accepted_offers;
          if (first_accept[s] < 0) {
            first_accept[s] = log.order[static_cast<size_t>(j)]->ts_ms;
          }
        }
        break;
      }
    }
  }
  for (uint32_t s = 0; s < log.sessions; ++s) {
    const int64_t help = f.first_help[s], acc = first_accept[s];
    f.engaged[s] = help < 0 ? acc : acc < 0 ? help : std::min(help, acc);
    if (labels == Labels::kOfferOutcomes) f.first_help[s] = acc;
    if (labels == Labels::kBoth) f.first_help[s] = f.engaged[s];
  }
  return f;
}

// merge_groups "yes": the automatic templates (groups [first, end) of
// `shape`) with fewer than min_dwell_contacts help contacts from their
// pages, two or more of a role, become one group per role, "merged:ROLE",
// which a GLOB URL rule per template points at (ahead of the base's rules;
// the base names none of these pages). The merged group starts as a new
// group does; section 2 learns its own figures from the pages together.
// Each merge is a group change, so Train re-classifies `facts` after it
// (as after splits).
void MergeThinTemplates(const PreparedLog& log,
                        const std::vector<internal::PageDwell>& page_dwell,
                        Labels labels, const TrainOptions& options, int first,
                        int end, proto::Policy& shape, const RowFacts& facts,
                        std::vector<GroupChange>& changes,
                        const std::function<void(const std::string&)>& say) {
  if (end - first < 2) return;
  // Views, helped views and help contacts per template group.
  const size_t n = static_cast<size_t>(end - first);
  std::vector<uint64_t> views(n, 0), helped(n, 0);
  std::vector<DwellSamples> dwell(n);
  for (size_t i = 0; i < log.order.size(); ++i) {
    const LogEvent& e = *log.order[i];
    if ((e.type != EventType::kPageView && e.type != EventType::kSearch) ||
        log.visitor[i] == kNoVisitor) {
      continue;
    }
    const uint16_t g = facts.group[i];
    if (g == kUnlistedGroup || g < first || g >= end) continue;
    const size_t k = static_cast<size_t>(g - first);
    CountView(log, i, page_dwell[i], facts.first_help[log.session[i]], labels,
              views[k], helped[k], dwell[k]);
  }
  const uint64_t need = std::max<uint64_t>(options.min_dwell_contacts, 1);
  std::map<int, std::vector<size_t>> thin;  // By role.
  for (size_t k = 0; k < n; ++k) {
    if (dwell[k].pos.size() < need) {
      thin[shape.groups(first + static_cast<int>(k)).role()].push_back(k);
    }
  }
  absl::flat_hash_set<std::string> patterns;
  for (const proto::PageGroup& pg : shape.groups())
    patterns.insert(pg.pattern());
  std::vector<uint8_t> merged(n, 0);
  std::vector<proto::PageGroup> added;
  std::vector<proto::UrlRule> rules;
  for (const auto& [role, members] : thin) {
    if (members.size() < 2) continue;
    std::string name =
        absl::StrCat("merged:", RoleName(static_cast<proto::Role>(role)));
    while (patterns.count(name)) name += "+";
    patterns.insert(name);
    uint64_t all_views = 0, all_contacts = 0;
    for (size_t k : members) {
      all_views += views[k];
      all_contacts += dwell[k].pos.size();
    }
    proto::PageGroup& g = added.emplace_back();
    g.set_pattern(name);
    g.set_role(static_cast<proto::Role>(role));
    g.set_dwell_threshold_s(shape.unlisted().dwell_threshold_s());
    g.set_help_rate(shape.unlisted().help_rate());
    for (size_t k : members) {
      merged[k] = 1;
      const std::string& t =
          shape.groups(first + static_cast<int>(k)).pattern();
      proto::UrlRule& r = rules.emplace_back();
      r.set_kind(proto::UrlRule::GLOB);
      r.set_match(t);
      r.set_group(name);
      GroupChange c;
      c.kind = "merged";
      c.pattern = t;
      c.from = name;
      c.views = views[k];
      c.help_rate = views[k] ? static_cast<double>(helped[k]) / views[k] : 0;
      c.from_views = all_views;
      c.reason = absl::StrCat(
          dwell[k].pos.size(),
          " help contacts from its pages, fewer than "
          "min_dwell_contacts (",
          need, "): merged with ", members.size() - 1, " other thin ",
          RoleName(static_cast<proto::Role>(role)), " templates into ", name,
          " (", all_views, " views, ", all_contacts, " help contacts)");
      changes.push_back(std::move(c));
    }
    say(absl::StrCat("groups merged: ", members.size(), " thin ",
                     RoleName(static_cast<proto::Role>(role)),
                     " templates into ", name, " (", all_views, " views, ",
                     all_contacts, " help contacts)"));
  }
  if (rules.empty()) return;
  google::protobuf::RepeatedPtrField<proto::PageGroup> groups;
  for (int g = 0; g < shape.groups_size(); ++g) {
    if (g >= first && g < end && merged[static_cast<size_t>(g - first)]) {
      continue;
    }
    *groups.Add() = shape.groups(g);
  }
  for (proto::PageGroup& g : added) *groups.Add() = std::move(g);
  shape.mutable_groups()->Swap(&groups);
  google::protobuf::RepeatedPtrField<proto::UrlRule> all;
  for (proto::UrlRule& r : rules) *all.Add() = std::move(r);
  for (const proto::UrlRule& r : shape.url_rules()) *all.Add() = r;
  shape.mutable_url_rules()->Swap(&all);
}

// Feature rows at the decision points the engine would see: after each
// visitor event, at multiples of the page's dwell threshold that come before
// the visitor's next event. Label: a help contact follows in the session.
struct Samples {
  std::vector<double> x;
  std::vector<double> y;
  size_t rows() const { return y.size(); }
};

// A moment at which the replay of a validation session could offer: a
// decision point where no visitor gate is closed and the dwell gate is
// open, with the features the engine scores there and the free agents
// (-1: none reported yet). Calibration scores these with the fitted model
// instead of replaying the log at every threshold it tries.
struct OfferPoint {
  int64_t ts_ms;
  int64_t end_ms;        // The last millisecond before the next event.
  uint32_t session;
  uint32_t window;       // The visitor event the point follows (its number).
  int32_t agents_then;   // Free agents at that event's decision, which
                         // sets the threshold its recheck waits for.
  int32_t agents;        // Free agents at the point.
  double x[kFeatureCount];
};

// The engine's holdout test (the same hash of the visitor id and salt).
class Holdout {
 public:
  explicit Holdout(const proto::Gates& g)
      : fraction_(g.holdout_fraction()),
        k0_(internal::SipHash24(0x686f6c646f757430ULL, 1, g.holdout_salt())),
        k1_(internal::SipHash24(0x686f6c646f757431ULL, 2, g.holdout_salt())) {}
  bool In(std::string_view id) const {
    if (fraction_ <= 0) return false;
    const uint64_t h = internal::SipHash24(k0_, k1_, id);
    return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction_;
  }

 private:
  double fraction_;
  uint64_t k0_, k1_;
};

// With `points`, also collects the OfferPoints of the log: at the sample
// points, and at the last millisecond before the visitor's next event
// (where a rising score is highest), skipping holdout visitors (never
// offered). The features there are the engine's; what is left out is what
// depends on the offers themselves (the site-wide rate cap, gates after an
// offer) and the free agents changing between a decision and its recheck.
//
// The work splits by visitor: shard k of `shards` feeds its own engine the
// agents rows and the rows of visitors v with v % shards == k (the probe
// never offers, so no visitor's features depend on another's). Each sample
// is tagged with its row, so that the shards' outputs merge back into row
// order: the result does not depend on the number of shards.
struct ShardOut {
  Samples samples;
  std::vector<uint32_t> sample_row;
  std::vector<OfferPoint> points;  // In row order (window = row).
  absl::Status status;
  size_t error_row = std::numeric_limits<size_t>::max();
};

void CollectShard(const proto::Policy& shape, const PreparedLog& log,
                  const RowFacts& facts, const TrainOptions& options,
                  bool want_offer_points, uint32_t shard, uint32_t shards,
                  std::atomic<bool>& cancel, bool poll, ShardOut& result) {
  auto fail = [&](size_t row, absl::Status s) {
    result.status = std::move(s);
    result.error_row = row;
  };
  std::vector<OfferPoint>* points =
      want_offer_points ? &result.points : nullptr;
  absl::StatusOr<Policy> policy = internal::PolicyInternal::FromProto(shape);
  if (!policy.ok()) return fail(0, policy.status());
  Engine::Options eo;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(*policy, eo);
  if (!engine.ok()) return fail(0, engine.status());
  std::vector<double> threshold_ms(shape.groups_size() + 1);
  for (int g = 0; g < shape.groups_size(); ++g) {
    threshold_ms[g] = shape.groups(g).dwell_threshold_s() * 1000;
  }
  threshold_ms.back() = shape.unlisted().dwell_threshold_s() * 1000;
  std::vector<uint16_t> current(log.visitor_ids.size(), kUnlistedGroup);
  std::vector<uint32_t> last_session(log.visitor_ids.size(), 0xFFFFFFFF);
  Samples& out = result.samples;
  const size_t n = log.order.size();
  // Which samples: the engine's decision points (labels help_contact,
  // both) and the moments offers were shown (offer_outcomes, both).
  const Labels labels = LabelsOf(options);
  const bool dwell_samples = labels != Labels::kOfferOutcomes;
  const bool offer_samples = labels != Labels::kHelpContact;
  // For offer points: the agents rows (time, count), the holdout, and
  // whether the dwell gate holds offers back.
  std::vector<std::pair<int64_t, int64_t>> agents_rows;
  std::vector<int8_t> holdout;  // Per visitor: -1 unknown, 0, 1.
  const Holdout holdout_test(shape.gates());
  const bool dwell_gate = !shape.model().allow_before_dwell_threshold();
  const absl::Span<const double> multiples =
      dwell_gate ? absl::Span<const double>(kDwellMultiples)
                 : absl::Span<const double>(kEarlyDwellMultiples);
  if (points != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      const LogEvent& e = *log.order[i];
      if (e.type == EventType::kAgents) agents_rows.emplace_back(e.ts_ms, e.count);
    }
    holdout.assign(log.visitor_ids.size(), -1);
  }
  // The free agents a decision at `t` sees: the last count logged before
  // it (the replay fires rechecks before the events of their millisecond).
  auto agents_at = [&](int64_t t) -> int32_t {
    auto it = std::lower_bound(
        agents_rows.begin(), agents_rows.end(), t,
        [](const std::pair<int64_t, int64_t>& a, int64_t v) {
          return a.first < v;
        });
    if (it == agents_rows.begin()) return -1;
    return static_cast<int32_t>(std::clamp<int64_t>(
        std::prev(it)->second, 0, std::numeric_limits<int32_t>::max()));
  };
  int32_t agents_now = -1;  // The last count observed.
  uint32_t window = 0;      // The current row.
  int64_t window_end = 0;
  auto add_point = [&](uint32_t session, int64_t t, const Decision& d) {
    if (d.reason != Reason::kBelowThreshold) return;  // Gate or dwell.
    OfferPoint& p = points->emplace_back();
    p.ts_ms = t;
    p.end_ms = window_end;
    p.session = session;
    p.window = window;
    p.agents_then = agents_now;
    p.agents = agents_at(t);
    for (int j = 0; j < kFeatureCount; ++j) p.x[j] = d.detail.features[j];
  };
  for (size_t i = 0; i < n; ++i) {
    if ((i & 0xFFF) == 0) {
      if (poll && options.interrupted && options.interrupted()) {
        cancel.store(true, std::memory_order_relaxed);
      }
      if (cancel.load(std::memory_order_relaxed)) {
        return fail(i, absl::CancelledError("training interrupted"));
      }
    }
    const uint32_t v = log.visitor[i];
    if (v != kNoVisitor && v % shards != shard) continue;
    const LogEvent& e = *log.order[i];
    // An answered offer, with offer outcomes as labels: a sample at the
    // moment it was shown, with the features the engine had then (before
    // the offer_shown row, as the engine that made the offer saw them).
    if (offer_samples && e.type == EventType::kOfferShown &&
        facts.outcome[i] >= 0) {
      const int64_t engaged = facts.engaged[log.session[i]];
      if (engaged < 0 || e.ts_ms < engaged) {
        absl::StatusOr<Decision> d = (*engine)->Decide(e.visitor, e.ts_ms);
        if (!d.ok()) return fail(i, d.status());
        if (d->detail.has_session) {
          for (int f = 0; f < kFeatureCount; ++f) {
            out.x.push_back(d->detail.features[f]);
          }
          out.y.push_back(facts.outcome[i]);
          result.sample_row.push_back(static_cast<uint32_t>(i));
        }
      }
    }
    if (absl::Status s = (*engine)->Observe(e.ToEvent()); !s.ok()) {
      return fail(i, absl::InvalidArgumentError(absl::StrCat(
                         "train: line ", e.line, ": ", s.message())));
    }
    window = static_cast<uint32_t>(i);
    if (v == kNoVisitor) {
      if (e.type == EventType::kAgents) {
        agents_now = static_cast<int32_t>(
            std::clamp<int64_t>(e.count, 0, std::numeric_limits<int32_t>::max()));
      }
      continue;
    }
    if (log.session[i] != last_session[v]) {
      current[v] = kUnlistedGroup;  // A new session starts unlisted.
    }
    last_session[v] = log.session[i];
    if (e.type == EventType::kPageView || e.type == EventType::kSearch) {
      current[v] = facts.group[i];
    }
    if (e.type == EventType::kOfferShown) continue;  // Not the visitor's.
    if (!dwell_samples && points == nullptr) continue;
    const int64_t next = log.next_ts[i];
    if (next < 0) continue;  // Gone after this: dwell unknown.
    const int64_t help = facts.first_help[log.session[i]];
    if (help >= 0 && e.ts_ms >= help) continue;  // Engaged: no decisions.
    const uint16_t g = current[v];
    const double theta =
        threshold_ms[g == kUnlistedGroup ? threshold_ms.size() - 1 : g];
    bool want_points = points != nullptr;
    if (want_points) {
      int8_t& h = holdout[v];
      if (h < 0) h = holdout_test.In(e.visitor) ? 1 : 0;
      want_points = h == 0;
    }
    int64_t last_t = -1;
    // Offer points run to the last millisecond before the visitor's next
    // event, or to its very millisecond when that is an offer_shown (the
    // replay makes a recheck there: the host showed the offer decided
    // then). Training samples stay strictly before the next event.
    const bool shown_next =
        log.order[static_cast<size_t>(log.next_row[i])]->type ==
        EventType::kOfferShown;
    const int64_t end = shown_next ? next : next - 1;
    window_end = end;
    for (double m : multiples) {
      const int64_t t = e.ts_ms + static_cast<int64_t>(std::ceil(m * theta));
      if (t > end) break;
      const bool sample = t < next;
      if (!sample && !want_points) break;
      absl::StatusOr<Decision> d = (*engine)->Decide(e.visitor, t);
      if (!d.ok()) return fail(i, d.status());
      if (!d->detail.has_session) {
        continue;  // No session (cannot happen before the next event).
      }
      if (dwell_samples && sample) {
        for (int f = 0; f < kFeatureCount; ++f) {
          out.x.push_back(d->detail.features[f]);
        }
        out.y.push_back(help > t ? 1.0 : 0.0);
        result.sample_row.push_back(static_cast<uint32_t>(i));
      }
      last_t = t;
      if (want_points) add_point(log.session[i], t, *d);
    }
    if (want_points && end > last_t &&
        (last_t >= 0 || !dwell_gate ||
         end >= e.ts_ms + static_cast<int64_t>(std::ceil(theta)))) {
      absl::StatusOr<Decision> d = (*engine)->Decide(e.visitor, end);
      if (!d.ok()) return fail(i, d.status());
      if (d->detail.has_session) {
        add_point(log.session[i], end, *d);
      }
    }
  }
}

// Runs CollectShard on `threads` threads (the calling thread among them,
// the only one that polls options.interrupted) and merges the shards.
absl::StatusOr<Samples> CollectSamples(const proto::Policy& shape,
                                       const PreparedLog& log,
                                       const RowFacts& facts,
                                       const TrainOptions& options,
                                       std::vector<OfferPoint>* points =
                                           nullptr) {
  const uint32_t shards = static_cast<uint32_t>(
      options.threads > 0
          ? options.threads
          : std::clamp<int>(static_cast<int>(std::thread::hardware_concurrency()),
                            1, 8));
  std::vector<ShardOut> out(shards);
  std::atomic<bool> cancel{false};
  {
    std::vector<std::thread> workers;
    for (uint32_t k = 1; k < shards; ++k) {
      workers.emplace_back([&, k] {
        CollectShard(shape, log, facts, options, points != nullptr, k, shards,
                     cancel, /*poll=*/false, out[k]);
        if (!out[k].status.ok()) cancel.store(true);
      });
    }
    CollectShard(shape, log, facts, options, points != nullptr, 0, shards,
                 cancel, /*poll=*/true, out[0]);
    if (!out[0].status.ok()) cancel.store(true);
    for (std::thread& t : workers) t.join();
  }
  // The error of the earliest row, as one thread would have met it first;
  // a cancellation only if nothing failed.
  const ShardOut* failed = nullptr;
  for (const ShardOut& o : out) {
    if (o.status.ok() || absl::IsCancelled(o.status)) continue;
    if (failed == nullptr || o.error_row < failed->error_row) failed = &o;
  }
  if (failed != nullptr) return failed->status;
  for (const ShardOut& o : out) {
    if (!o.status.ok()) return o.status;
  }
  if (shards == 1) {
    if (points != nullptr) *points = std::move(out[0].points);
    return std::move(out[0].samples);
  }
  Samples merged;
  size_t rows = 0, n_points = 0;
  for (const ShardOut& o : out) rows += o.samples.rows(), n_points += o.points.size();
  merged.x.reserve(rows * kFeatureCount);
  merged.y.reserve(rows);
  std::vector<size_t> at(shards, 0);
  for (size_t r = 0; r < rows; ++r) {
    uint32_t best = shards;
    for (uint32_t k = 0; k < shards; ++k) {
      if (at[k] < out[k].samples.rows() &&
          (best == shards ||
           out[k].sample_row[at[k]] < out[best].sample_row[at[best]])) {
        best = k;
      }
    }
    const size_t j = at[best]++;
    const double* row = &out[best].samples.x[j * kFeatureCount];
    merged.x.insert(merged.x.end(), row, row + kFeatureCount);
    merged.y.push_back(out[best].samples.y[j]);
  }
  if (points != nullptr) {
    points->clear();
    points->reserve(n_points);
    std::fill(at.begin(), at.end(), 0);
    for (size_t r = 0; r < n_points; ++r) {
      uint32_t best = shards;
      for (uint32_t k = 0; k < shards; ++k) {
        if (at[k] < out[k].points.size() &&
            (best == shards ||
             out[k].points[at[k]].window < out[best].points[at[best]].window)) {
          best = k;
        }
      }
      points->push_back(out[best].points[at[best]++]);
    }
  }
  return merged;
}

// The offer rate a replay of `sessions` sessions would show at `policy`'s
// threshold, from the offer points (see OfferPoint), taken in time order: a
// session is offered at its first point where the model's probability
// reaches the threshold the engine would hold it against (raised when free
// agents are scarce) and the site-wide rate cap admits one more offer; no
// free agent, no offer.
class OfferRates {
 public:
  OfferRates(const std::vector<OfferPoint>& points, const LogisticModel& fit,
             uint32_t sessions)
      : sessions_(sessions) {
    // Per point: the probability, computed as the engine does (bias, then
    // the weighted features in order).
    points_.reserve(points.size());
    uint32_t last_window = 0;
    for (const OfferPoint& p : points) {
      double z = fit.bias;
      for (int j = 0; j < kFeatureCount; ++j) z += fit.weights[j] * p.x[j];
      // Windows numbered densely (points come in row order).
      if (points_.empty() || p.window != last_window) {
        last_window = p.window;
        ++windows_;
      }
      points_.push_back(Scored{p.ts_ms, p.end_ms, p.session, windows_ - 1,
                               p.agents_then,
                               p.agents, 1.0 / (1.0 + std::exp(-z))});
    }
    std::stable_sort(points_.begin(), points_.end(),
                     [](const Scored& a, const Scored& b) {
                       return a.ts_ms < b.ts_ms;
                     });
  }

  double Rate(const proto::Policy& p) const {
    const double base = p.model().decision_threshold();
    const auto& g = p.gates();
    const double at_one = g.threshold_at_one_agent();
    const int64_t plenty = g.plenty_agents();
    internal::RateWindow window(g.rate_window_s() * 1000);
    Recent recent(window);
    std::vector<uint8_t> offered(sessions_, 0), dead(windows_, 0);
    uint64_t n = 0;
    auto threshold_for = [&](int32_t agents) {
      if (agents < 1 || agents >= plenty || plenty <= 1) return base;
      const double scarcity = static_cast<double>(plenty - agents) /
                              static_cast<double>(plenty - 1);
      return base + (at_one - base) * scarcity;
    };
    // A point the rate cap held back is tried again when the window has
    // room, if that comes before the visitor's next event (the engine's
    // recheck after a rate_cap suppression).
    struct Retry {
      int64_t ts_ms;
      uint64_t seq;
      const Scored* point;
      bool operator>(const Retry& o) const {
        return ts_ms != o.ts_ms ? ts_ms > o.ts_ms : seq > o.seq;
      }
    };
    std::priority_queue<Retry, std::vector<Retry>, std::greater<Retry>> retries;
    uint64_t seq = 0;
    auto consider = [&](const Scored& s, int64_t t) {
      if (offered[s.session] || dead[s.window]) return;
      // The recheck the event's decision set waits for its threshold.
      if (s.probability < threshold_for(s.agents_then)) return;
      if (s.agents == 0) {
        dead[s.window] = 1;  // Suppressed, with no recheck.
        return;
      }
      if (s.probability < threshold_for(s.agents)) return;
      if (s.agents > 0) {
        const auto cap = static_cast<int64_t>(std::floor(
            static_cast<double>(s.agents) / g.expected_accept_rate()));
        if (recent.Count(t) >= cap) {
          const int64_t below = window.TimeBelow(t, cap);
          if (below > t && below <= s.end_ms) {
            retries.push(Retry{below, seq++, &s});
          }
          return;
        }
        window.Add(t);
        recent.Add(t);
      }
      offered[s.session] = 1;
      ++n;
    };
    for (const Scored& s : points_) {
      while (!retries.empty() && retries.top().ts_ms <= s.ts_ms) {
        const Retry r = retries.top();
        retries.pop();
        consider(*r.point, r.ts_ms);
      }
      consider(s, s.ts_ms);
    }
    while (!retries.empty()) {
      const Retry r = retries.top();
      retries.pop();
      consider(*r.point, r.ts_ms);
    }
    return sessions_ ? static_cast<double>(n) / sessions_ : 0.0;
  }

 private:
  // RateWindow::Count for times that never go back: the buckets in the
  // window kept in order with their sum, so a count costs no scan.
  class Recent {
   public:
    explicit Recent(const internal::RateWindow& w) : w_(w) {}
    int64_t Count(int64_t now_ms) {
      const int64_t cur = w_.BucketOf(now_ms);
      while (!buckets_.empty() &&
             buckets_.front().first <= cur - internal::RateWindow::kBuckets) {
        sum_ -= buckets_.front().second;
        buckets_.pop_front();
      }
      return sum_;
    }
    void Add(int64_t now_ms) {
      const int64_t b = w_.BucketOf(now_ms);
      if (buckets_.empty() || buckets_.back().first != b) {
        buckets_.emplace_back(b, 0);
      }
      ++buckets_.back().second;
      ++sum_;
    }

   private:
    const internal::RateWindow& w_;
    std::deque<std::pair<int64_t, int64_t>> buckets_;
    int64_t sum_ = 0;
  };

  struct Scored {
    int64_t ts_ms;
    int64_t end_ms;  // The last millisecond before the visitor's next event.
    uint32_t session;
    uint32_t window;
    int32_t agents_then;
    int32_t agents;
    double probability;
  };
  std::vector<Scored> points_;
  uint32_t sessions_;
  uint32_t windows_ = 0;
};

// Splits rows by session start: sessions that start at or after `split`
// (and agents rows from the last one before it) go to validation. The rows
// stay in time order; no event is copied.
void SplitRows(const PreparedLog& log, int64_t split,
               std::vector<const LogEvent*>& train,
               std::vector<const LogEvent*>& val) {
  const size_t n = log.order.size();
  int64_t last_agents_before = -1;
  for (size_t i = 0; i < n; ++i) {
    const LogEvent* e = log.order[i];
    if (log.visitor[i] == kNoVisitor) {
      if (e->ts_ms < split) {
        train.push_back(e);
        last_agents_before = static_cast<int64_t>(i);
      } else {
        val.push_back(e);
      }
      continue;
    }
    (log.session_start[log.session[i]] < split ? train : val).push_back(e);
  }
  if (last_agents_before >= 0) {
    // Validation starts with the agents count that held at the split.
    val.insert(val.begin(), log.order[last_agents_before]);
  }
}

// A run of steps (groups or roles), with and without the search-engine
// condition, as a hashable value.
struct RunKey {
  uint16_t ids[8] = {};
  uint8_t len = 0;
  uint8_t by_role = 0;
  uint8_t se = 0;
  bool operator==(const RunKey& o) const {
    return len == o.len && by_role == o.by_role && se == o.se &&
           std::equal(ids, ids + len, o.ids);
  }
  template <typename H>
  friend H AbslHashValue(H h, const RunKey& k) {
    return H::combine(H::combine_contiguous(std::move(h), k.ids, k.len),
                      k.len, k.by_role, k.se);
  }
};

struct Candidate {
  RunKey run;
  std::string key;
  std::vector<int> steps;  // Group indexes, or roles.
  bool by_role;
  bool from_search_engine;
  bool not_from_search_engine;
  uint64_t support = 0;
  uint64_t followed = 0;
  double lift = 0;
  double score = 0;
};

using Step = internal::SessionStep;

// Steps per session, as the engine keeps them: page views (not reloads)
// and searches (each one a step), with their rows.
std::vector<std::vector<Step>> StepsOf(const PreparedLog& log,
                                       const RowFacts& f) {
  std::vector<std::vector<Step>> steps(log.sessions);
  std::vector<uint32_t> last_hash(log.sessions, 0);
  std::vector<uint8_t> has_page(log.sessions, 0);
  for (size_t i = 0; i < log.order.size(); ++i) {
    const LogEvent& e = *log.order[i];
    if (log.visitor[i] == kNoVisitor) continue;
    if (e.type != EventType::kPageView && e.type != EventType::kSearch) {
      continue;
    }
    const uint32_t s = log.session[i];
    const bool reload = e.type == EventType::kPageView && has_page[s] &&
                        last_hash[s] == f.page_hash[i];
    has_page[s] = 1;
    last_hash[s] = f.page_hash[i];
    if (reload) continue;
    steps[s].push_back(Step{f.group[i], e.ts_ms, i});
  }
  return steps;
}

std::vector<Candidate> MinePaths(const PreparedLog& log, const RowFacts& f,
                                 const proto::Policy& shape,
                                 const TrainOptions& options,
                                 double site_rate) {
  const std::vector<std::vector<Step>> steps = StepsOf(log, f);
  auto role_of = [&](uint16_t g) {
    return g == kUnlistedGroup ? shape.unlisted().role()
                               : shape.groups(g).role();
  };
  // Runs are counted under a compact key (RunKey); the text key that
  // orders ties is made only for the runs that are kept.
  struct Counts {
    uint64_t support = 0;
    uint64_t followed = 0;
  };
  absl::flat_hash_map<RunKey, Counts> found;
  absl::flat_hash_set<RunKey> seen_in_session;
  for (uint32_t s = 0; s < log.sessions; ++s) {
    const std::vector<Step>& st = steps[s];
    const int64_t help = f.first_help[s];
    seen_in_session.clear();
    for (size_t end = 0; end < st.size(); ++end) {
      if (help >= 0 && st[end].ts >= help) break;  // Only before contact.
      for (int len = 2; len <= options.max_path_length &&
                        static_cast<size_t>(len) <= end + 1;
           ++len) {
        for (int by_role = 0; by_role < 2; ++by_role) {
          // se: 0 any entry, 1 from a search engine, 2 not.
          for (int se = 0; se < 3; ++se) {
            if (se == 1 && !f.from_search_engine[s]) continue;
            if (se == 2 && f.from_search_engine[s]) continue;
            RunKey key;
            key.len = static_cast<uint8_t>(len);
            key.by_role = static_cast<uint8_t>(by_role);
            key.se = static_cast<uint8_t>(se);
            int j = 0;
            for (size_t k = end + 1 - len; k <= end; ++k) {
              key.ids[j++] = by_role ? static_cast<uint16_t>(role_of(st[k].group))
                                     : st[k].group;
            }
            // Each session counts once, at its first sight.
            if (!seen_in_session.insert(key).second) continue;
            Counts& c = found[key];
            ++c.support;
            if (help > st[end].ts) ++c.followed;
          }
        }
      }
    }
  }
  std::vector<Candidate> all;
  for (const auto& [k, counts] : found) {
    if (counts.support < options.min_path_support) continue;
    Candidate c;
    c.key = absl::StrCat(k.by_role ? "r" : "g",
                         k.se == 1   ? "s"
                         : k.se == 2 ? "n"
                                     : "",
                         ":");
    for (int j = 0; j < k.len; ++j) {
      c.steps.push_back(k.ids[j]);
      absl::StrAppend(&c.key, k.ids[j], ",");
    }
    c.by_role = k.by_role;
    c.run = k;
    c.from_search_engine = k.se == 1;
    c.not_from_search_engine = k.se == 2;
    c.support = counts.support;
    c.followed = counts.followed;
    if (c.support < options.min_path_support) continue;
    c.lift = (static_cast<double>(c.followed) / c.support) / site_rate;
    if (c.lift < options.min_path_lift) continue;
    c.score = c.followed - site_rate * static_cast<double>(c.support);
    all.push_back(c);
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.key < b.key;
  });
  // A run splits by the entry where the sessions from a search engine and
  // the others differ: both seen often enough (min_path_support) and their
  // help rates 1.25 times apart or more, or only the search-engine ones
  // seen often enough while the run as a whole is. Then the run is learned
  // as two rules, each qualifying on its own, and the unconditioned rule
  // is dropped: it would give the others the search-engine sessions' lift,
  // or the reverse. Otherwise only the unconditioned rule is kept.
  auto splits = [&](RunKey k) {
    k.se = 1;
    auto se = found.find(k);
    k.se = 2;
    auto other = found.find(k);
    const uint64_t min = options.min_path_support;
    if (se == found.end() || se->second.support < min) return false;
    if (other == found.end() || other->second.support < min) return true;
    const double a = static_cast<double>(se->second.followed) /
                     static_cast<double>(se->second.support);
    const double b = static_cast<double>(other->second.followed) /
                     static_cast<double>(other->second.support);
    return a >= 1.25 * b || b >= 1.25 * a;
  };
  std::vector<Candidate> chosen;
  for (const Candidate& c : all) {
    if (static_cast<int>(chosen.size()) >= options.max_path_rules) break;
    // A run by roles with the same counts as a chosen run by groups (or
    // the reverse) almost always matched the same sessions (one group per
    // role): it would add nothing. Counts stand in for the session sets.
    bool same = false;
    for (const Candidate& k : chosen) {
      same =
          same || (k.support == c.support && k.followed == c.followed &&
                   k.from_search_engine == c.from_search_engine &&
                   k.not_from_search_engine == c.not_from_search_engine &&
                   k.steps.size() == c.steps.size() && k.by_role != c.by_role);
    }
    if (same) continue;
    const bool conditioned = c.from_search_engine || c.not_from_search_engine;
    if (splits(c.run) != conditioned) continue;
    chosen.push_back(c);
  }
  return chosen;
}

// A timing rule whose validation offer rate falls short of the target by
// more than this share loses to one that reaches it.
constexpr double kTimingRateShortfall = 0.05;

// Whether a validation replay reached the target offer rate (within
// kTimingRateShortfall).
bool Reaches(const ReplayMetrics& m, double target) {
  return m.offer_rate >= (1 - kTimingRateShortfall) * target;
}

// A timing rule: how a group's dwell threshold comes from its dwell
// samples (TrainOptions::dwell_rule), and whether the model may offer
// before it.
struct TimingRule {
  double quantile = 0.6;
  bool floored = true;      // Never below the non-askers' median dwell.
  bool separation = false;  // The separation rule instead of a quantile.
  bool early = false;       // model.allow_before_dwell_threshold.
  std::string name;
};

// The decision threshold for `target`, as CalibrateThreshold's bisection
// finds it (the same steps over the log-odds, the same stopping rule), but
// with the offer rate at each step counted from the offer points instead of
// a replay; then one replay at the threshold found gives the metrics. What
// the points leave out (the rate cap, agents changing before a recheck)
// can move the replayed rate off the counted one: if it misses the target
// by more than the tolerance, the bisection is run again for the target
// shifted by the miss, at most twice, and a new threshold is kept only if
// its replay comes nearer the target by more than the tolerance.
absl::StatusOr<Calibration> FastCalibrateThreshold(
    const Policy& unscaled, const PreparedLog& log, const OfferRates& rates,
    double target, const ReplayOptions& options,
    const std::function<void(const std::string&)>& say) {
  if (!(std::isfinite(target) && target > 0 && target < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target offer rate must be in (0, 1), got ", target));
  }
  auto bisect = [&](double goal) -> absl::StatusOr<std::pair<Policy, double>> {
    double lo = -15, hi = 15;
    std::optional<std::pair<Policy, double>> best;
    double best_gap = 2;
    for (int i = 0; i < 22; ++i) {
      const double mid = (lo + hi) / 2;
      const double thr = internal::ThresholdOfLogOdds(mid);
      absl::StatusOr<Policy> p = WithDecisionThreshold(unscaled, thr);
      if (!p.ok()) return p.status();
      const double rate = rates.Rate(internal::PolicyInternal::Message(*p));
      const double gap = std::fabs(rate - goal);
      if (gap < best_gap) {
        best_gap = gap;
        best.emplace(*std::move(p), thr);
      }
      if (gap <= internal::kRateTolerance) break;
      (rate > goal ? lo : hi) = mid;
    }
    if (best_gap <= internal::kRateTolerance) return *std::move(best);
    // Out of reach (the rate cap, or too few sessions that could be
    // offered): every threshold low enough offers about the same share, so
    // take the highest that still comes within the tolerance of the most
    // the log allows; it offers to the likeliest of those visitors.
    absl::StatusOr<Policy> lowest =
        WithDecisionThreshold(unscaled, internal::ThresholdOfLogOdds(-15));
    if (!lowest.ok()) return lowest.status();
    const double most = rates.Rate(internal::PolicyInternal::Message(*lowest));
    if (most >= goal) return *std::move(best);  // A jump, not a ceiling.
    lo = -15, hi = 15;
    for (int i = 0; i < 22; ++i) {
      const double mid = (lo + hi) / 2;
      absl::StatusOr<Policy> p =
          WithDecisionThreshold(unscaled, internal::ThresholdOfLogOdds(mid));
      if (!p.ok()) return p.status();
      (rates.Rate(internal::PolicyInternal::Message(*p)) >=
               most - internal::kRateTolerance
           ? lo
           : hi) = mid;
    }
    const double thr = internal::ThresholdOfLogOdds(lo);
    absl::StatusOr<Policy> p = WithDecisionThreshold(unscaled, thr);
    if (!p.ok()) return p.status();
    return std::make_pair(*std::move(p), thr);
  };
  std::optional<Calibration> best;
  double goal = target;
  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<std::pair<Policy, double>> p = bisect(goal);
    if (!p.ok()) return p.status();
    if (best && p->second == best->setting) break;  // Nothing new to try.
    absl::StatusOr<ReplayMetrics> m = internal::RunReplay(p->first, log, options);
    if (!m.ok()) return m.status();
    const double rate = m->offer_rate;
    const double gap = std::fabs(rate - target);
    say(absl::StrCat("calibration: threshold ", p->second,
                     ": counted offer "
                     "rate ",
                     rates.Rate(internal::PolicyInternal::Message(p->first)),
                     ", replayed ", rate));
    if (!best ||
        gap < std::fabs(best->metrics.offer_rate - target) -
                  internal::kRateTolerance) {
      best = Calibration{p->first, p->second, *std::move(m)};
    }
    if (std::fabs(best->metrics.offer_rate - target) <=
        internal::kRateTolerance) {
      break;
    }
    goal = std::clamp(goal + (target - rate), 1e-4, 0.99);
  }
  return *std::move(best);
}

}  // namespace

namespace internal {

absl::StatusOr<Calibration> CalibrateFromDecisionPoints(
    const Policy& policy, const PreparedLog& log, double target,
    const ReplayOptions& options) {
  const proto::Policy& p = internal::PolicyInternal::Message(policy);
  // The probe: the same policy with a model that never offers.
  proto::Policy probe = p;
  probe.mutable_model()->clear_weights();
  probe.mutable_model()->set_bias(-30);
  LogisticModel model;
  model.bias = p.model().bias();
  model.weights.assign(kFeatureCount, 0.0);
  for (const proto::FeatureWeight& w : p.model().weights()) {
    if (std::optional<int> f = ParseFeature(w.feature())) {
      model.weights[*f] = w.weight();
    }
  }
  const PageMatcher matcher(p);
  const RowFacts facts = Facts(log, matcher);
  TrainOptions to;
  to.threads = 1;
  to.interrupted = options.interrupted;
  std::vector<OfferPoint> points;
  absl::StatusOr<Samples> samples =
      CollectSamples(probe, log, facts, to, &points);
  if (!samples.ok()) return samples.status();
  const OfferRates rates(points, model, log.sessions);
  return FastCalibrateThreshold(policy, log, rates, target, options,
                                [](const std::string&) {});
}

double MannWhitneyZ(const std::vector<double>& a,
                    const std::vector<double>& b) {
  const double n1 = static_cast<double>(a.size());
  const double n2 = static_cast<double>(b.size());
  if (n1 == 0 || n2 == 0) return 0;
  std::vector<std::pair<double, bool>> all;
  all.reserve(a.size() + b.size());
  for (double v : a) all.emplace_back(v, true);
  for (double v : b) all.emplace_back(v, false);
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + j) + 1) / 2;
    for (size_t k = i; k < j; ++k) {
      if (all[k].second) rank_sum += mean_rank;
    }
    i = j;
  }
  const double u = rank_sum - n1 * (n1 + 1) / 2;
  const double sd = std::sqrt(n1 * n2 * (n1 + n2 + 1) / 12);
  return sd > 0 ? (u - n1 * n2 / 2) / sd : 0;
}

PooledSamples::PooledSamples(
    const std::vector<const std::vector<double>*>& parts)
    : rank_sum_(parts.size(), 0.0), n_(parts.size(), 0) {
  for (uint32_t t = 0; t < parts.size(); ++t) {
    for (double v : *parts[t]) sorted_.emplace_back(v, t);
    n_[t] = parts[t]->size();
  }
  std::sort(sorted_.begin(), sorted_.end());
  // Mean ranks (1-based, ties sharing theirs), summed per part in sorted
  // order as MannWhitneyZ sums them.
  for (size_t i = 0; i < sorted_.size();) {
    size_t j = i;
    while (j < sorted_.size() && sorted_[j].first == sorted_[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + j) + 1) / 2;
    for (size_t k = i; k < j; ++k) rank_sum_[sorted_[k].second] += mean_rank;
    i = j;
  }
}

double PooledSamples::ZOf(size_t t) const {
  const double n1 = static_cast<double>(n_[t]);
  const double n2 = static_cast<double>(RestSize(t));
  if (n1 == 0 || n2 == 0) return 0;
  const double u = rank_sum_[t] - n1 * (n1 + 1) / 2;
  const double sd = std::sqrt(n1 * n2 * (n1 + n2 + 1) / 12);
  return sd > 0 ? (u - n1 * n2 / 2) / sd : 0;
}

double PooledSamples::RestMedian(size_t t) const {
  const size_t n = RestSize(t);
  if (n == 0) return 0;
  const double pos = 0.5 * static_cast<double>(n - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, n - 1);
  double at_lo = 0, at_hi = 0;
  size_t rank = 0;
  for (const auto& [v, part] : sorted_) {
    if (part == t) continue;
    if (rank == lo) at_lo = v;
    if (rank == hi) {
      at_hi = v;
      break;
    }
    ++rank;
  }
  return at_lo + (at_hi - at_lo) * (pos - static_cast<double>(lo));
}

SessionSteps StepsForPathRules(const PreparedLog& log,
                               const proto::Policy& policy) {
  const RowFacts f = Facts(log, PageMatcher(policy));
  SessionSteps out;
  out.steps = StepsOf(log, f);
  out.from_search_engine = f.from_search_engine;
  return out;
}

PageDwell PageDwellOf(const PreparedLog& log, size_t i) {
  PageDwell d;
  for (int64_t j = log.next_row[i]; j >= 0;
       j = log.next_row[static_cast<size_t>(j)]) {
    const LogEvent& e = *log.order[static_cast<size_t>(j)];
    if (!RestartsDwell(e.type)) {
      d.offer_shown |= e.type == EventType::kOfferShown;
      continue;
    }
    d.next = j;
    d.dwell_s = static_cast<double>(e.ts_ms - log.order[i]->ts_ms) / 1000.0;
    break;
  }
  return d;
}

}  // namespace internal

TimeSplit SplitBySessionStart(const std::vector<LogEvent>& events,
                              int64_t split_ms, int64_t session_timeout_ms) {
  TimeSplit out;
  if (events.empty()) return out;
  const PreparedLog log(events, std::max<int64_t>(session_timeout_ms, 1));
  std::vector<const LogEvent*> earlier, later;
  SplitRows(log, split_ms, earlier, later);
  const LogEvent* first = events.data();
  for (const LogEvent* e : earlier) out.earlier.push_back(e - first);
  for (const LogEvent* e : later) out.later.push_back(e - first);
  return out;
}

int64_t LatestSessionStart(const std::vector<LogEvent>& events,
                           int64_t session_timeout_ms) {
  if (events.empty()) return -1;
  const PreparedLog log(events, std::max<int64_t>(session_timeout_ms, 1));
  int64_t latest = -1;
  for (uint32_t s = 0; s < log.sessions; ++s) {
    latest = std::max(latest, log.session_start[s]);
  }
  return latest;
}

namespace {

// split_groups "auto": trained without splits and with them, the one with
// more validation hits kept (without on a tie), its provenance saying
// "auto" and both counts.
absl::StatusOr<TrainResult> TrainWithSplitsIfTheyGain(
    const std::vector<LogEvent>& events, const TrainOptions& options) {
  TrainOptions without = options, with = options;
  without.split_groups = "no";
  with.split_groups = "yes";
  auto prefixed = [&](const char* what) {
    return [&options, what](const std::string& line) {
      if (options.progress) options.progress(absl::StrCat(what, line));
    };
  };
  without.progress = prefixed("without splits: ");
  with.progress = prefixed("with splits: ");
  absl::StatusOr<TrainResult> a = Train(events, without);
  if (!a.ok()) return a.status();
  absl::StatusOr<TrainResult> b = Train(events, with);
  if (!b.ok()) return b.status();
  const uint64_t hits_a = a->validation.hits, hits_b = b->validation.hits;
  TrainResult r = hits_b > hits_a ? *std::move(b) : *std::move(a);
  r.hits_without_splits = hits_a;
  r.hits_with_splits = hits_b;
  if (options.progress) {
    options.progress(
        absl::StrCat("splits: ", hits_b, " validation hits with, ", hits_a,
                     " without: ", hits_b > hits_a ? "kept" : "not kept"));
  }
  proto::Policy p = internal::PolicyInternal::Message(r.policy);
  proto::Provenance& prov = *p.mutable_provenance();
  prov.mutable_train_spec()->set_split_groups("auto");
  (*prov.mutable_options())["split_groups"] = "auto";
  (*prov.mutable_validation())["hits_without_splits"] =
      static_cast<double>(hits_a);
  (*prov.mutable_validation())["hits_with_splits"] =
      static_cast<double>(hits_b);
  absl::StatusOr<Policy> policy = internal::PolicyInternal::FromProto(p);
  if (!policy.ok()) return policy.status();
  r.policy = *std::move(policy);
  return r;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const std::vector<LogEvent>& events,
                                  const TrainOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (options.split_groups == "auto") {
    return TrainWithSplitsIfTheyGain(events, options);
  }
  auto say = [&](const std::string& what) {
    if (options.progress) options.progress(what);
  };
  const proto::Policy& base = internal::PolicyInternal::Message(options.base);
  const int64_t timeout_ms = base.session().timeout_s() * 1000;

  // --- Split by time ---------------------------------------------------------
  int64_t t_min = -1, t_max = -1, split = 0;
  std::vector<const LogEvent*> train_rows, val_rows;
  {
    const PreparedLog all(events, timeout_ms);
    if (all.sessions == 0) return Bad("the log has no visitor events");
    for (size_t i = 0; i < all.order.size(); ++i) {
      if (all.visitor[i] == kNoVisitor) continue;
      const int64_t t = all.order[i]->ts_ms;
      if (t_min < 0) t_min = t;
      t_max = t;
    }
    if (options.validation_days > 0) {
      const int64_t span =
          static_cast<int64_t>(options.validation_days) * 86'400'000;
      if (t_max - t_min <= span) {
        return Bad(absl::StrCat(
            "validation_days ", options.validation_days,
            " holds out the whole log (its visitor events span ",
            absl::StrFormat("%.2f",
                            static_cast<double>(t_max - t_min) / 86'400'000.0),
            " days): give a longer log or fewer validation_days"));
      }
      split = t_max - span;
    } else {
      split = t_min + static_cast<int64_t>(
                          std::llround((1 - options.validation_fraction) *
                                       static_cast<double>(t_max - t_min)));
    }
    SplitRows(all, split, train_rows, val_rows);
  }
  const PreparedLog train(std::move(train_rows), timeout_ms);
  const PreparedLog val(std::move(val_rows), timeout_ms);
  if (train.sessions < 50 || val.sessions < 20) {
    return Bad(absl::StrCat("too few sessions to learn from: ", train.sessions,
                            " for training and ", val.sessions,
                            " for validation (need 50 and 20)"));
  }
  say(absl::StrCat("split at ", split, " ms: ", train.sessions,
                   " training sessions, ", val.sessions, " validation"));

  // --- 1. Groups -------------------------------------------------------------
  proto::Policy shape = base;
  shape.clear_path_rules();
  // Learned and calibrated without the offer-rate cap the trainer sets at
  // the end (a base policy's own cap stays when offer_cap_headroom is 0).
  if (options.offer_cap_headroom > 0) {
    shape.mutable_gates()->set_max_offer_share(0);
  }
  {
    const internal::PageMatcher base_matcher(base);
    // Views per template (a node map: counter_of points into it), and per
    // distinct page (up to 64k): its template's count, or null for a page
    // a base group lists.
    absl::node_hash_map<std::string, uint64_t> template_views;
    absl::flat_hash_map<std::string_view, uint64_t*> counter_of;
    for (size_t i = 0; i < train.order.size(); ++i) {
      const LogEvent& e = *train.order[i];
      if (e.type != EventType::kPageView && e.type != EventType::kSearch) {
        continue;
      }
      if (auto it = counter_of.find(e.page); it != counter_of.end()) {
        if (it->second != nullptr) ++*it->second;
        continue;
      }
      uint64_t* counter = nullptr;
      if (base_matcher.Classify(e.page).group == kUnlistedGroup) {
        counter = &template_views[internal::TemplateOf(e.page)];
        ++*counter;
      }
      if (counter_of.size() < (size_t{1} << 16)) {
        counter_of.emplace(e.page, counter);
      }
    }
    std::vector<std::pair<std::string, uint64_t>> templates;
    for (const auto& [pattern, views] : template_views) {
      if (views >= options.min_group_views && PrintableAscii(pattern)) {
        templates.emplace_back(pattern, views);
      }
    }
    std::sort(templates.begin(), templates.end(),
              [](const auto& a, const auto& b) {
                return a.second != b.second ? a.second > b.second
                                            : a.first < b.first;
              });
    for (const auto& [pattern, views] : templates) {
      if (shape.groups_size() >= options.max_groups) break;
      proto::PageGroup* g = shape.add_groups();
      g->set_pattern(pattern);
      g->set_role(GuessRole(pattern));
      g->set_dwell_threshold_s(shape.unlisted().dwell_threshold_s());
      g->set_help_rate(shape.unlisted().help_rate());
    }
  }
  // Groups [base.groups_size(), auto_end) are automatic templates.
  const int auto_end = shape.groups_size();
  // Sub-templates of a base group that behave unlike the rest of it
  // (docs/trainer.md "Page groups from the data") become groups of their
  // own, with a URL rule ahead of the base's rules.
  const Labels labels = LabelsOf(options);
  std::vector<GroupChange> group_changes;
  // Facts under the groups so far; splits below re-classify the pages only.
  RowFacts facts = Facts(train, internal::PageMatcher(shape), labels);
  // Each view's dwell, as the engine measures it (PageDwellOf), once.
  std::vector<internal::PageDwell> page_dwell(train.order.size());
  for (size_t i = 0; i < train.order.size(); ++i) {
    const EventType t = train.order[i]->type;
    if ((t == EventType::kPageView || t == EventType::kSearch) &&
        train.visitor[i] != kNoVisitor) {
      page_dwell[i] = internal::PageDwellOf(train, i);
    }
  }
  if (options.split_groups == "yes" && base.groups_size() > 0) {
    struct Stats {
      uint64_t views = 0, helped = 0;
      DwellSamples dwell;
    };
    // Per base group, per automatic template of its pages.
    std::vector<std::map<std::string, Stats>> of(
        static_cast<size_t>(base.groups_size()));
    absl::flat_hash_map<std::string_view, std::string> template_of;
    for (size_t i = 0; i < train.order.size(); ++i) {
      const LogEvent& e = *train.order[i];
      if ((e.type != EventType::kPageView && e.type != EventType::kSearch) ||
          train.visitor[i] == kNoVisitor) {
        continue;
      }
      const uint16_t g = facts.group[i];
      if (g == kUnlistedGroup || g >= base.groups_size()) continue;
      auto it = template_of.find(e.page);
      if (it == template_of.end()) {
        if (template_of.size() >= (size_t{1} << 16)) continue;
        it = template_of.emplace(e.page, internal::TemplateOf(e.page)).first;
      }
      if (of[g].size() >= 256 && !of[g].count(it->second)) continue;
      Stats& st = of[g][it->second];
      CountView(train, i, page_dwell[i], facts.first_help[train.session[i]],
                labels, st.views, st.helped, st.dwell);
    }
    absl::flat_hash_set<std::string> patterns;
    for (const proto::PageGroup& pg : shape.groups()) {
      patterns.insert(pg.pattern());
    }
    std::vector<proto::UrlRule> new_rules;
    const uint64_t need = std::max<uint64_t>(options.min_dwell_contacts, 1);
    const double z_min = options.min_split_z;
    for (int g = 0; g < base.groups_size(); ++g) {
      if (of[g].size() < 2) continue;
      const std::string& parent = base.groups(g).pattern();
      Stats total;
      std::vector<const std::vector<double>*> pos_parts, neg_parts;
      for (const auto& [t, st] : of[g]) {
        total.views += st.views;
        total.helped += st.helped;
        pos_parts.push_back(&st.dwell.pos);
        neg_parts.push_back(&st.dwell.neg);
      }
      // Each template against the rest of its group.
      const internal::PooledSamples pos_pool(pos_parts), neg_pool(neg_parts);
      size_t part = 0;
      for (auto it = of[g].begin(); it != of[g].end(); ++it, ++part) {
        const std::string& t = it->first;
        const Stats& st = it->second;
        if (shape.groups_size() >= options.max_groups) break;
        if (t == parent || patterns.count(t) || !PrintableAscii(t)) continue;
        const uint64_t rest_views = total.views - st.views;
        if (st.views < options.min_group_views ||
            rest_views < options.min_group_views) {
          continue;
        }
        Stats rest;
        rest.views = rest_views;
        rest.helped = total.helped - st.helped;
        GroupChange c;
        c.kind = "split";
        c.pattern = t;
        c.from = parent;
        c.views = st.views;
        c.from_views = rest.views;
        c.help_rate = static_cast<double>(st.helped) / st.views;
        c.from_help_rate = static_cast<double>(rest.helped) / rest.views;
        auto median = [](const std::vector<double>& v) {
          return v.empty() ? 0.0 : internal::Quantile(v, 0.5);
        };
        c.contact_dwell_s = median(st.dwell.pos);
        c.from_contact_dwell_s = pos_pool.RestMedian(part);
        c.normal_dwell_s = median(st.dwell.neg);
        c.from_normal_dwell_s = neg_pool.RestMedian(part);
        // A difference counts when it is beyond noise (|z| >= min_split_z)
        // and large enough to matter (a ratio of at least 1.5).
        auto ratio = [](double a, double b) {
          return std::max(a, b) / std::max(std::min(a, b), 1e-12);
        };
        std::vector<std::string> why;
        const double zh = ProportionZ(
            static_cast<double>(st.helped), static_cast<double>(st.views),
            static_cast<double>(rest.helped), static_cast<double>(rest.views));
        if (std::abs(zh) >= z_min &&
            ratio(c.help_rate, c.from_help_rate) >= 1.5) {
          why.push_back(absl::StrFormat("help rate %.4f vs %.4f (z %.1f)",
                                        c.help_rate, c.from_help_rate, zh));
        }
        if (st.dwell.pos.size() >= need && pos_pool.RestSize(part) >= need) {
          const double z = pos_pool.ZOf(part);
          if (std::abs(z) >= z_min &&
              ratio(c.contact_dwell_s, c.from_contact_dwell_s) >= 1.5) {
            why.push_back(absl::StrFormat(
                "dwell before contact %.0f s vs %.0f s (z %.1f)",
                c.contact_dwell_s, c.from_contact_dwell_s, z));
          }
        }
        if (st.dwell.neg.size() >= options.min_group_views &&
            neg_pool.RestSize(part) >= options.min_group_views) {
          const double z = neg_pool.ZOf(part);
          if (std::abs(z) >= z_min &&
              ratio(c.normal_dwell_s, c.from_normal_dwell_s) >= 1.5) {
            why.push_back(
                absl::StrFormat("normal dwell %.0f s vs %.0f s (z %.1f)",
                                c.normal_dwell_s, c.from_normal_dwell_s, z));
          }
        }
        if (why.empty()) continue;
        c.reason = absl::StrJoin(why, "; ");
        proto::PageGroup* ng = shape.add_groups();
        *ng = base.groups(g);
        ng->set_pattern(t);
        ng->set_views(0);
        patterns.insert(t);
        proto::UrlRule& r = new_rules.emplace_back();
        r.set_kind(proto::UrlRule::GLOB);
        r.set_match(t);
        r.set_group(t);
        say(absl::StrCat("group split: ", t, " out of ", parent, " (", st.views,
                         " views vs ", rest.views, "): ", c.reason));
        group_changes.push_back(std::move(c));
      }
    }
    if (!new_rules.empty()) {
      // Ahead of the base's rules: the first match wins.
      google::protobuf::RepeatedPtrField<proto::UrlRule> rules;
      for (proto::UrlRule& r : new_rules) *rules.Add() = std::move(r);
      for (const proto::UrlRule& r : shape.url_rules()) *rules.Add() = r;
      shape.mutable_url_rules()->Swap(&rules);
    }
  }
  if (options.merge_groups == "yes") {
    MergeThinTemplates(train, page_dwell, labels, options, base.groups_size(),
                       auto_end, shape, facts, group_changes, say);
  }
  const int n_groups = shape.groups_size();
  const size_t unlisted_slot = static_cast<size_t>(n_groups);
  auto slot = [&](uint16_t g) -> size_t {
    return g == kUnlistedGroup ? unlisted_slot : g;
  };
  auto group_at = [&](size_t s) -> proto::PageGroup* {
    return s == unlisted_slot ? shape.mutable_unlisted()
                              : shape.mutable_groups(static_cast<int>(s));
  };
  const internal::PageMatcher matcher(shape);
  if (!group_changes.empty()) ClassifyPages(train, matcher, facts);

  // --- 2. Help rates and dwell thresholds -------------------------------------
  std::vector<uint64_t> views(unlisted_slot + 1, 0), helped(unlisted_slot + 1, 0);
  std::vector<DwellSamples> dwell(unlisted_slot + 1);
  uint64_t help_sessions = 0;
  for (uint32_t s = 0; s < train.sessions; ++s) {
    if (facts.first_help[s] >= 0) ++help_sessions;
  }
  if (labels == Labels::kOfferOutcomes) {
    if (facts.offers_shown == 0) {
      return Bad(absl::StrCat(
          "labels \"offer_outcomes\": the training part of the log has no "
          "offer_shown rows (and ",
          facts.outcome_rows,
          " offer outcome rows): the trainer learns at the moments offers "
          "were shown, so the host must log an offer_shown row when it "
          "shows an offer (docs/real-logs.md)"));
    }
    if (facts.offer_outcomes < options.min_offer_outcomes) {
      return Bad(absl::StrCat(
          "labels \"offer_outcomes\": the log has ", facts.offer_outcomes,
          " offer outcomes; at least ", options.min_offer_outcomes,
          " are needed (answered offers in the training part: an "
          "offer_shown row followed by offer_accepted, offer_declined or "
          "offer_ignored; ",
          facts.offers_shown,
          " offers shown; option "
          "min_offer_outcomes)"));
    }
    if (facts.accepted_offers == 0 ||
        facts.accepted_offers == facts.offer_outcomes) {
      return Bad(absl::StrCat(
          "labels \"offer_outcomes\": all ", facts.offer_outcomes,
          " offer outcomes in the training part are ",
          facts.accepted_offers == 0 ? "declined or ignored" : "accepted",
          ": need both accepted and declined or ignored offers"));
    }
  } else if (help_sessions == 0) {
    return Bad(labels == Labels::kBoth
                   ? "no help_contact events and no accepted offers in the "
                     "training part of the log"
                   : "no help_contact events in the training part of the "
                     "log; the trainer learns from them: join a chat or "
                     "helpdesk export onto the log with beckon label "
                     "(Python: beckon.label), or learn from the outcomes of "
                     "offers already made (labels offer_outcomes), see "
                     "docs/real-logs.md");
  }
  for (size_t i = 0; i < train.order.size(); ++i) {
    const LogEvent& e = *train.order[i];
    // A view of a page: a page_view, or a search (the results page).
    if ((e.type != EventType::kPageView && e.type != EventType::kSearch) ||
        train.visitor[i] == kNoVisitor) {
      continue;
    }
    const size_t g = slot(facts.group[i]);
    CountView(train, i, page_dwell[i], facts.first_help[train.session[i]],
              labels, views[g], helped[g], dwell[g]);
  }
  // Answered offers, on the group of the page the visitor was on: the dwell
  // there when an accepted offer was shown (a positive dwell sample), and
  // with offer outcomes as labels, each group's share of offers accepted.
  std::vector<uint64_t> offers_on(unlisted_slot + 1, 0),
      accepted_on(unlisted_slot + 1, 0);
  if (labels != Labels::kHelpContact) {
    std::vector<int64_t> view_ts(train.sessions, -1);
    std::vector<size_t> view_group(train.sessions, unlisted_slot);
    for (size_t i = 0; i < train.order.size(); ++i) {
      if (train.visitor[i] == kNoVisitor) continue;
      const LogEvent& e = *train.order[i];
      const uint32_t s = train.session[i];
      if (e.type == EventType::kPageView || e.type == EventType::kSearch) {
        view_ts[s] = e.ts_ms;
        view_group[s] = slot(facts.group[i]);
        continue;
      }
      if (e.type != EventType::kOfferShown || facts.outcome[i] < 0 ||
          view_ts[s] < 0 ||
          (facts.engaged[s] >= 0 && e.ts_ms >= facts.engaged[s])) {
        continue;
      }
      const size_t g = view_group[s];
      ++offers_on[g];
      if (facts.outcome[i] == 1) {
        ++accepted_on[g];
        dwell[g].pos.push_back((e.ts_ms - view_ts[s]) / 1000.0);
      }
    }
  }
  uint64_t all_views = 0, all_helped = 0;
  for (size_t g = 0; g <= unlisted_slot; ++g) {
    if (labels == Labels::kOfferOutcomes) {
      all_views += offers_on[g];
      all_helped += accepted_on[g];
    } else {
      all_views += views[g];
      all_helped += helped[g];
    }
  }
  const double site_view_rate =
      all_views ? static_cast<double>(all_helped) / all_views : 0.0;
  auto threshold_of = [&](const DwellSamples& d, const TimingRule& rule) {
    double t;
    if (rule.separation && !d.neg.empty()) {
      t = SeparationThreshold(d.pos, d.neg);
    } else {
      t = internal::Quantile(d.pos, rule.quantile);
      // Floored: never below the dwell of a typical visitor who did not ask.
      if (rule.floored && !d.neg.empty()) {
        t = std::max(t, internal::Quantile(d.neg, 0.5));
      }
    }
    return std::clamp(t, options.min_dwell_threshold_s,
                      options.max_dwell_threshold_s);
  };
  // Pools: by role, and the whole site.
  std::map<int, DwellSamples> by_role;
  DwellSamples site;
  for (size_t g = 0; g <= unlisted_slot; ++g) {
    DwellSamples& r = by_role[group_at(g)->role()];
    for (double v : dwell[g].pos) r.pos.push_back(v), site.pos.push_back(v);
    for (double v : dwell[g].neg) r.neg.push_back(v), site.neg.push_back(v);
  }
  const uint64_t need = std::max<uint64_t>(options.min_dwell_contacts, 1);
  // The dwell samples a group's threshold comes from: its own if it has
  // `need` positives, else its role's, else the site's; null if none has
  // (the base policy's threshold stays).
  enum class Pool { kOwn, kRole, kSite, kNone };
  auto pool_of = [&](size_t g) {
    if (dwell[g].pos.size() >= need) return Pool::kOwn;
    if (by_role[group_at(g)->role()].pos.size() >= need) return Pool::kRole;
    return site.pos.size() >= need ? Pool::kSite : Pool::kNone;
  };
  for (size_t g = 0; g <= unlisted_slot; ++g) {
    const proto::PageGroup* pg = group_at(g);
    const Pool pool = pool_of(g);
    if (views[g] == 0 || pool == Pool::kOwn || pool == Pool::kNone) continue;
    GroupChange c;
    c.kind = "pooled";
    c.pattern = g == unlisted_slot ? "(unlisted)" : pg->pattern();
    c.views = views[g];
    c.help_rate = static_cast<double>(helped[g]) / views[g];
    const bool by_role_pool = pool == Pool::kRole;
    c.from = by_role_pool ? "role " + RoleName(pg->role()) : "site";
    c.reason = absl::StrCat(dwell[g].pos.size(),
                            " help contacts from its pages, fewer than "
                            "min_dwell_contacts (",
                            need, "): its dwell threshold is its ",
                            by_role_pool ? "role's" : "site's");
    group_changes.push_back(std::move(c));
  }
  for (size_t g = 0; g <= unlisted_slot; ++g) {
    proto::PageGroup* pg = group_at(g);
    pg->set_views(views[g]);
    const double k = options.help_rate_prior_views;
    // The share of views followed by a positive; with offer outcomes, the
    // share of offers shown here that were accepted.
    const bool by_offers = labels == Labels::kOfferOutcomes;
    const double n_g = static_cast<double>(by_offers ? offers_on[g] : views[g]);
    const double k_g =
        static_cast<double>(by_offers ? accepted_on[g] : helped[g]);
    const double rate =
        (n_g + k) > 0 ? (k_g + k * site_view_rate) / (n_g + k) : site_view_rate;
    pg->set_help_rate(std::clamp(rate, 0.0, 1.0));
  }
  // A timing rule's thresholds, into `p` (a copy of `shape`, whose groups
  // it shares): from the group's own dwell samples, else its role's, else
  // the site's; else the base policy's value stays.
  auto set_thresholds = [&](proto::Policy& p, const TimingRule& rule) {
    for (size_t g = 0; g <= unlisted_slot; ++g) {
      proto::PageGroup* pg = g == unlisted_slot
                                 ? p.mutable_unlisted()
                                 : p.mutable_groups(static_cast<int>(g));
      switch (pool_of(g)) {
        case Pool::kOwn:
          pg->set_dwell_threshold_s(threshold_of(dwell[g], rule));
          break;
        case Pool::kRole:
          pg->set_dwell_threshold_s(threshold_of(by_role[pg->role()], rule));
          break;
        case Pool::kSite:
          pg->set_dwell_threshold_s(threshold_of(site, rule));
          break;
        case Pool::kNone:
          break;
      }
    }
    p.mutable_model()->set_allow_before_dwell_threshold(rule.early);
  };
  if (labels == Labels::kHelpContact) {
    say(absl::StrCat("groups: ", n_groups, " (+ unlisted), ", all_views,
                     " page views, ", site.pos.size(),
                     " help contacts after a page view"));
  } else {
    say(absl::StrCat("groups: ", n_groups, " (+ unlisted), ", site.pos.size(),
                     " positives after a page view; ", facts.offer_outcomes,
                     " offer outcomes (", facts.accepted_offers,
                     " accepted) of ", facts.offers_shown, " offers shown"));
  }

  // --- 3. Path rules ----------------------------------------------------------
  const double site_rate =
      static_cast<double>(help_sessions) / static_cast<double>(train.sessions);
  const std::vector<Candidate> paths =
      MinePaths(train, facts, shape, options, site_rate);
  for (const Candidate& c : paths) {
    proto::PathRule* r = shape.add_path_rules();
    std::vector<std::string> names;
    for (int id : c.steps) {
      proto::PathStep* st = r->add_steps();
      if (c.by_role) {
        st->set_role(static_cast<proto::Role>(id));
        names.push_back(RoleName(static_cast<proto::Role>(id)));
      } else {
        const uint16_t g = static_cast<uint16_t>(id);
        const proto::PageGroup& pg =
            g == kUnlistedGroup ? shape.unlisted() : shape.groups(g);
        if (g == kUnlistedGroup) {
          st->set_role(pg.role());  // The unlisted group has no pattern.
          names.push_back(RoleName(pg.role()));
        } else {
          st->set_group(pg.pattern());
          names.push_back(pg.pattern());
        }
      }
    }
    std::string name = absl::StrJoin(names, " > ");
    if (c.from_search_engine) name = absl::StrCat("search engine > ", name);
    if (c.not_from_search_engine) {
      name = absl::StrCat("not from a search engine > ", name);
    }
    if (c.by_role) name = absl::StrCat(name, " (roles)");
    r->set_name(name);
    r->set_from_search_engine(c.from_search_engine);
    r->set_not_from_search_engine(c.not_from_search_engine);
    r->set_strength(std::log(c.lift));
    r->set_help_rate(static_cast<double>(c.followed) / c.support);
    r->set_support(c.support);
  }
  // Names must be unique: an unlisted step named by its role may repeat one.
  {
    std::map<std::string, int> count;
    for (auto& r : *shape.mutable_path_rules()) {
      const int k = count[r.name()]++;
      if (k > 0) r.set_name(absl::StrCat(r.name(), " #", k + 1));
    }
  }
  say(absl::StrCat("path rules: ", shape.path_rules_size()));

  // The timing rules to try (dwell_rule, early_offers).
  std::vector<TimingRule> rules;
  {
    auto Rule = [](double q, bool floored, bool separation = false) {
      TimingRule r;
      r.quantile = q;
      r.floored = floored;
      r.separation = separation;
      return r;
    };
    std::vector<TimingRule> dwell_rules;
    if (options.dwell_rule == "auto") {
      dwell_rules = {Rule(0.6, true),      Rule(0.3, true),  Rule(0.45, true),
                     Rule(0.75, true),     Rule(0.3, false), Rule(0.6, false),
                     Rule(0.6, true, true)};
    } else if (options.dwell_rule == "separation") {
      dwell_rules = {Rule(options.dwell_quantile, true, true)};
    } else {
      dwell_rules = {Rule(options.dwell_quantile, true)};
    }
    for (TimingRule r : dwell_rules) {
      for (const bool early : {false, true}) {
        if (options.early_offers == (early ? "no" : "yes")) continue;
        r.early = early;
        r.name = r.separation ? std::string("separation")
                              : absl::StrFormat("quantile %.2f%s", r.quantile,
                                                r.floored ? "" : " unfloored");
        if (early) r.name += " + early";
        rules.push_back(r);
      }
    }
  }

  // --- 4 and 5, per timing rule: the model, then the decision threshold ----
  const RowFacts val_facts = Facts(val, matcher, labels);
  double target = options.target_offer_rate;
  if (options.offers_per_day > 0) {
    const double days =
        std::max(static_cast<double>(t_max - split) / 86'400'000.0, 1.0 / 24);
    target = std::clamp(options.offers_per_day /
                            (static_cast<double>(val.sessions) / days),
                        1e-4, 0.9);
  }
  ReplayOptions ro;
  ro.interrupted = options.interrupted;
  struct Fitted {
    proto::Policy shape;
    ReplayMetrics metrics;
    double train_auc = 0, validation_auc = 0;
    uint64_t train_samples = 0, validation_samples = 0;
    int iterations = 0;
    bool flat_bar = false;        // No raised bar for scarce agents.
    int64_t other_bar_hits = -1;  // The hits with the other bar, if tried.
  };
  // The calibration's own messages only when one rule is tried.
  std::function<void(const std::string&)> cal_say = [](const std::string&) {};
  if (rules.size() == 1) cal_say = say;
  auto fit_rule = [&](const TimingRule& rule) -> absl::StatusOr<Fitted> {
    Fitted out;
    out.shape = shape;
    proto::Policy& p = out.shape;
    proto::Model* model = p.mutable_model();
    model->Clear();
    model->set_bias(-30);  // Collecting features: never offer.
    // The base's threshold, so that calibration keeps the base's raise for
    // scarce agents in proportion (WithDecisionThreshold).
    model->set_decision_threshold(base.model().decision_threshold());
    set_thresholds(p, rule);
    absl::StatusOr<Samples> samples = CollectSamples(p, train, facts, options);
    if (!samples.ok()) return samples.status();
    std::vector<OfferPoint> offer_points;
    absl::StatusOr<Samples> val_samples =
        CollectSamples(p, val, val_facts, options, &offer_points);
    if (!val_samples.ok()) return val_samples.status();
    uint64_t positives = 0;
    for (double y : samples->y) positives += y > 0.5;
    if (positives == 0 || positives == samples->rows()) {
      return Bad(labels == Labels::kHelpContact
                     ? "all training samples have the same label: need "
                       "decision points both before help contacts and in "
                       "sessions without"
                     : "all training samples have the same label: need "
                       "decision points both before positives (help "
                       "contacts or accepted offers) and without");
    }
    LogisticOptions lo;
    lo.l2 = options.l2;
    lo.interrupted = options.interrupted;
    absl::StatusOr<LogisticModel> fit =
        FitLogistic(samples->x, kFeatureCount, samples->y, {}, lo);
    if (!fit.ok()) return fit.status();
    model->set_bias(fit->bias);
    for (int j = 0; j < kFeatureCount; ++j) {
      proto::FeatureWeight* w = model->add_weights();
      w->set_feature(std::string(internal::FeatureName(j)));
      w->set_weight(fit->weights[j]);
    }
    auto auc_of = [&](const Samples& s) {
      std::vector<double> scores(s.rows());
      for (size_t i = 0; i < s.rows(); ++i) {
        scores[i] = fit->Predict(&s.x[i * kFeatureCount]);
      }
      return RocAuc(scores, s.y);
    };
    out.train_auc = auc_of(*samples);
    out.validation_auc = auc_of(*val_samples);
    out.train_samples = samples->rows();
    out.validation_samples = val_samples->rows();
    out.iterations = fit->iterations;
    // --- 5. The decision threshold, by replaying validation
    absl::StatusOr<Policy> unscaled = internal::PolicyInternal::FromProto(p);
    if (!unscaled.ok()) return unscaled.status();
    const OfferRates rates(offer_points, *fit, val.sessions);
    std::vector<OfferPoint>().swap(offer_points);
    absl::StatusOr<Calibration> cal;
    if (options.scarce_agents != "flat") {
      cal = FastCalibrateThreshold(*unscaled, val, rates, target, ro, cal_say);
      if (!cal.ok()) return cal.status();
    }
    // The flat bar for scarce agents (scarce_agents): the same model,
    // calibrated with plenty_agents 1. Only where the base raises it.
    const proto::Gates& g = p.gates();
    const bool raised =
        g.plenty_agents() > 1 &&
        g.threshold_at_one_agent() > p.model().decision_threshold();
    if (raised && options.scarce_agents != "raise") {
      proto::Policy q = p;
      q.mutable_gates()->set_plenty_agents(1);
      q.mutable_gates()->set_threshold_at_one_agent(
          q.model().decision_threshold());
      absl::StatusOr<Policy> flat = internal::PolicyInternal::FromProto(q);
      if (!flat.ok()) return flat.status();
      absl::StatusOr<Calibration> cal_flat =
          FastCalibrateThreshold(*flat, val, rates, target, ro, cal_say);
      if (!cal_flat.ok()) return cal_flat.status();
      if (cal.ok()) {
        out.other_bar_hits = static_cast<int64_t>(cal_flat->metrics.hits);
      }
      // auto: the flat bar only if it reaches the target as well as the
      // raised one does and makes more hits.
      if (!cal.ok() || (Reaches(cal_flat->metrics, target) >=
                            Reaches(cal->metrics, target) &&
                        cal_flat->metrics.hits > cal->metrics.hits)) {
        if (cal.ok())
          out.other_bar_hits = static_cast<int64_t>(cal->metrics.hits);
        cal = std::move(cal_flat);
        out.flat_bar = true;
      }
    } else if (!cal.ok()) {  // "flat" where the base raises nothing.
      cal = FastCalibrateThreshold(*unscaled, val, rates, target, ro, cal_say);
      if (!cal.ok()) return cal.status();
    }
    out.shape = internal::PolicyInternal::Message(cal->policy);
    out.metrics = cal->metrics;
    return out;
  };
  std::optional<Fitted> chosen;
  std::vector<TimingCandidate> candidates;
  absl::Status first_error;
  for (const TimingRule& rule : rules) {
    TimingCandidate& c = candidates.emplace_back();
    c.name = rule.name;
    c.allow_before_dwell_threshold = rule.early;
    absl::StatusOr<Fitted> f = fit_rule(rule);
    if (!f.ok()) {
      if (!absl::IsInvalidArgument(f.status())) return f.status();
      if (first_error.ok()) first_error = f.status();
      c.error = std::string(f.status().message());
      say(absl::StrCat("timing ", rule.name, ": ", c.error));
      continue;
    }
    c.validation = f->metrics;
    c.validation_auc = f->validation_auc;
    c.flat_bar = f->flat_bar;
    c.other_bar_hits = f->other_bar_hits;
    say(absl::StrCat(
        "timing ", rule.name, ": ", f->train_samples, " training samples, ",
        f->iterations, " Newton steps, AUC ", f->train_auc, " (train), ",
        f->validation_auc, " (validation); validation hits ", f->metrics.hits,
        " at offer rate ", f->metrics.offer_rate, ", precision ",
        f->metrics.precision,
        f->other_bar_hits < 0
            ? std::string()
            : absl::StrCat(f->flat_bar ? "; flat" : "; raised",
                           " bar for scarce agents (", f->other_bar_hits,
                           " hits with the ", f->flat_bar ? "raised" : "flat",
                           " one)")));
    // Judged at the target: a rule whose calibration reaches it (within
    // 5%) wins over one that falls short, which offers to fewer sessions
    // than the shop asked for. Then the most hits; on a tie, the rule
    // tried first.
    auto reaches = [&](const ReplayMetrics& m) { return Reaches(m, target); };
    if (!chosen || (reaches(f->metrics) && !reaches(chosen->metrics)) ||
        (reaches(f->metrics) == reaches(chosen->metrics) &&
         f->metrics.hits > chosen->metrics.hits)) {
      for (TimingCandidate& o : candidates) o.chosen = false;
      c.chosen = true;
      chosen = *std::move(f);
    }
  }
  if (!chosen) return first_error;
  shape = std::move(chosen->shape);
  const ReplayMetrics best = chosen->metrics;
  TrainResult result{options.base, {}, 0, 0, 0, 0,  0, 0, 0,
                     {},           0,  0, 0, 0, {}, {}};
  result.train_auc = chosen->train_auc;
  result.validation_auc = chosen->validation_auc;
  result.train_samples = chosen->train_samples;
  result.train_sessions = train.sessions;
  result.validation_sessions = val.sessions;
  result.train_help_sessions = help_sessions;
  result.train_offer_outcomes = facts.offer_outcomes;
  result.train_accepted_offers = facts.accepted_offers;
  result.validation_offer_outcomes = val_facts.offer_outcomes;
  result.validation_accepted_offers = val_facts.accepted_offers;
  for (const TimingCandidate& c : candidates) {
    if (c.chosen) {
      say(absl::StrCat("timing chosen: ", c.name, " (of ", candidates.size(),
                       ")"));
    }
  }
  say(absl::StrCat("threshold ", shape.model().decision_threshold(),
                   ": offer rate ", best.offer_rate, " (target ", target,
                   "), precision ", best.precision, ", recall ",
                   best.recall));
  // The offer-rate cap, set after calibrating (which it would only disturb
  // at its headroom), so that the threshold is the uncapped policy's.
  // The cap holds in every window: where few sessions start per window it
  // also cuts offers that bunch in one, on this very site. So the headroom
  // is raised until the validation replay keeps its offers.
  double capped_offer_rate = best.offer_rate;
  double chosen_headroom = 0;
  if (options.offer_cap_headroom > 0) {
    for (const double m : {1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0}) {
      chosen_headroom = options.offer_cap_headroom * m;
      const double share = std::min(1.0, target * chosen_headroom);
      shape.mutable_gates()->set_max_offer_share(share);
      absl::StatusOr<Policy> capped =
          internal::PolicyInternal::FromProto(shape);
      if (!capped.ok()) return capped.status();
      absl::StatusOr<ReplayMetrics> m_capped =
          internal::RunReplay(*capped, val, ro);
      if (!m_capped.ok()) return m_capped.status();
      capped_offer_rate = m_capped->offer_rate;
      if (share >= 1 || capped_offer_rate >= (1 - options.max_offer_cap_cost) *
                                                 best.offer_rate) {
        break;
      }
    }
    say(absl::StrCat(
        "offer-rate cap: ", shape.gates().max_offer_share(),
        " of the sessions started in any ", shape.gates().rate_window_s(),
        " s (headroom ", chosen_headroom, "; validation offer rate ",
        capped_offer_rate, " capped, ", best.offer_rate, " uncapped)"));
  }

  // --- Provenance -------------------------------------------------------------
  shape.set_name(options.name);
  proto::Provenance* prov = shape.mutable_provenance();
  prov->Clear();
  prov->set_created_by(absl::StrCat("beckon train " BECKON_VERSION_STRING));
  prov->set_notes(absl::StrCat(
      "learned from ", train.sessions, " sessions; validated on ", val.sessions,
      " later sessions",
      labels == Labels::kOfferOutcomes
          ? absl::StrCat("; labels: offer outcomes (", facts.offer_outcomes,
                         " answered offers, ", facts.accepted_offers,
                         " accepted): the probability is that an offer made "
                         "then would be accepted")
      : labels == Labels::kBoth
          ? absl::StrCat("; labels: help contacts and accepted offers (",
                         facts.offer_outcomes, " answered offers, ",
                         facts.accepted_offers, " accepted)")
          : std::string("; labels: help contacts")));
  auto& opt = *prov->mutable_options();
  // Every option, as TrainSpec holds them, and as text (but the name, which
  // is the policy's).
  *prov->mutable_train_spec() = internal::SpecOf(options);
  opt["base"] = base.name();
  for (const internal::TrainOptionInfo& info : internal::TrainOptionInfos()) {
    if (info.name == "name") continue;
    opt[info.name] = internal::SpecFieldText(prov->train_spec(), info.name);
  }
  for (const TimingCandidate& c : candidates) {
    proto::TimingCandidate* t = prov->add_timing_candidates();
    t->set_name(c.name);
    t->set_allow_before_dwell_threshold(c.allow_before_dwell_threshold);
    t->set_chosen(c.chosen);
    t->set_hits(c.validation.hits);
    t->set_precision(c.validation.precision);
    t->set_recall(c.validation.recall);
    t->set_offer_rate(c.validation.offer_rate);
    t->set_flat_bar(c.flat_bar);
    t->set_other_bar_hits(c.other_bar_hits);
    t->set_median_lead_s(c.validation.median_lead_s);
    t->set_validation_auc(c.validation_auc);
    t->set_error(c.error);
  }
  for (const GroupChange& c : group_changes) {
    proto::GroupChange* g = prov->add_group_changes();
    g->set_kind(c.kind);
    g->set_pattern(c.pattern);
    g->set_from(c.from);
    g->set_views(c.views);
    g->set_from_views(c.from_views);
    g->set_help_rate(c.help_rate);
    g->set_from_help_rate(c.from_help_rate);
    g->set_contact_dwell_s(c.contact_dwell_s);
    g->set_from_contact_dwell_s(c.from_contact_dwell_s);
    g->set_normal_dwell_s(c.normal_dwell_s);
    g->set_from_normal_dwell_s(c.from_normal_dwell_s);
    g->set_reason(c.reason);
  }
  prov->set_data_start_ms(t_min);
  prov->set_data_end_ms(t_max);
  auto& v = *prov->mutable_validation();
  v["sessions"] = static_cast<double>(best.sessions);
  v["offered_sessions"] = static_cast<double>(best.offered_sessions);
  v["help_sessions"] = static_cast<double>(best.help_sessions);
  v["hits"] = static_cast<double>(best.hits);
  v["precision"] = best.precision;
  v["recall"] = best.recall;
  v["offer_rate"] = best.offer_rate;
  v["median_lead_s"] = best.median_lead_s;
  v["target_offer_rate"] = target;
  v["max_offer_share"] = shape.gates().max_offer_share();
  if (options.offer_cap_headroom > 0) {
    v["offer_cap_headroom"] = chosen_headroom;
    v["capped_offer_rate"] = capped_offer_rate;
  }
  v["train_auc"] = result.train_auc;
  v["validation_auc"] = result.validation_auc;
  v["split_ms"] = static_cast<double>(split);

  // --- Warnings: a model below the documented floors -------------------------
  result.validation_help_sessions = best.help_sessions;
  if (result.validation_auc < options.min_validation_auc) {
    result.warnings.push_back(absl::StrFormat(
        "validation AUC %.3f is below %.2f (min_validation_auc): the model "
        "ranks the sessions that asked for help little better than chance "
        "on the held-out part of the log; check the labels (docs/real-logs.md) "
        "and the page groups before deploying it",
        result.validation_auc, options.min_validation_auc));
  }
  if (help_sessions < options.min_help_sessions) {
    result.warnings.push_back(absl::StrCat(
        "only ", help_sessions, " help sessions in the training part (",
        "min_help_sessions ", options.min_help_sessions,
        "): too few to estimate thresholds and weights from; train on a "
        "longer log"));
  }
  if (best.help_sessions < options.min_validation_help_sessions) {
    result.warnings.push_back(absl::StrCat(
        "only ", best.help_sessions, " help sessions in the validation part (",
        "min_validation_help_sessions ", options.min_validation_help_sessions,
        "): its precision, recall and AUC are too noisy to judge the policy "
        "by; train on a longer log or raise validation_fraction"));
  }
  for (const std::string& w : result.warnings) prov->add_warnings(w);
  if (labels != Labels::kHelpContact) {
    v["offer_outcomes"] = static_cast<double>(val_facts.offer_outcomes);
    v["accepted_offers"] = static_cast<double>(val_facts.accepted_offers);
    v["train_offer_outcomes"] = static_cast<double>(facts.offer_outcomes);
    v["train_accepted_offers"] = static_cast<double>(facts.accepted_offers);
  }
  absl::StatusOr<Policy> final_policy =
      internal::PolicyInternal::FromProto(shape);
  if (!final_policy.ok()) return final_policy.status();
  result.policy = *final_policy;
  result.validation = best;
  result.timing_candidates = std::move(candidates);
  result.group_changes = std::move(group_changes);
  return result;
}

}  // namespace beckon
