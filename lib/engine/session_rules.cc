#include "engine/session_rules.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace beckon::internal {
namespace {

// Counters saturate instead of wrapping.
void SatInc(uint16_t& v) {
  if (v < 0xffff) ++v;
}

}  // namespace

PageFacts ClassifyEventPage(const CompiledPolicy& p, const Event& e) {
  PageFacts out;
  const bool view = e.type == EventType::kPageView;
  if (!view && e.type != EventType::kSearch) return out;
  out.page = p.matcher().Classify(e.page);
  // Whether the referrer is a search engine matters on a session's first
  // page only, which only the store knows: it is worked out for every view.
  out.from_search_engine =
      view && !e.referrer.empty() && p.matcher().IsSearchEngine(e.referrer);
  return out;
}

void StartSession(SessionRecord& r, int64_t ts) {
  r = SessionRecord{};
  r.session_start_ms = ts;
  r.last_event_ms = ts;
  r.last_activity_ms = ts;
  r.current_group = kUnlistedGroup;
}

bool PushPage(const CompiledPolicy& p, SessionRecord& r, uint16_t group,
              uint32_t hash, int64_t ts, bool is_search) {
  const bool same_page =
      r.n_pages > 0 && r.recent_pages[r.n_pages - 1] == hash;
  const bool reload = same_page && !is_search;
  const proto::Role role = p.Group(group).role;
  // Checkout progress: entering checkout, or a new checkout page.
  if (role == proto::ROLE_CHECKOUT) {
    if (!(r.flags & kInCheckout) || !reload) r.checkout_since_ms = ts;
    r.flags |= kInCheckout;
  } else {
    r.flags &= ~kInCheckout;
  }
  r.current_group = group;
  if (reload) return true;  // A reload is neither a loop nor a new step.
  uint32_t* const seen_end = r.recent_pages + r.n_pages - (same_page ? 1 : 0);
  if (r.n_pages >= 2 && r.recent_pages[r.n_pages - 2] == hash) {
    ++r.back_and_forth;
  } else if (std::find(r.recent_pages, seen_end, hash) != seen_end) {
    ++r.loops;
  }
  if (r.n_pages == kRecentPages) {
    std::memmove(r.recent_pages, r.recent_pages + 1,
                 sizeof(uint32_t) * (kRecentPages - 1));
    --r.n_pages;
  }
  r.recent_pages[r.n_pages++] = hash;
  if (r.n_steps == kRecentSteps) {
    std::memmove(r.recent_steps, r.recent_steps + 1,
                 sizeof(uint16_t) * (kRecentSteps - 1));
    --r.n_steps;
  }
  r.recent_steps[r.n_steps++] = group;
  r.path_rule = MatchPathRule(p, r);
  return false;
}

uint8_t MatchPathRule(const CompiledPolicy& p, const SessionRecord& r) {
  uint8_t found = 0;
  double best = -1;
  const std::vector<CompiledPathRule>& rules = p.path_rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    const CompiledPathRule& rule = rules[i];
    const size_t n = rule.steps.size();
    if (n > r.n_steps || rule.strength <= best) continue;
    if (rule.from_search_engine && !(r.flags & kFromSearchEngine)) continue;
    if (rule.not_from_search_engine && (r.flags & kFromSearchEngine)) continue;
    bool match = true;
    for (size_t j = 0; j < n && match; ++j) {
      const CompiledStep& st = rule.steps[j];
      const uint16_t g = r.recent_steps[r.n_steps - n + j];
      match = st.by_role ? p.Group(g).role == st.role : g == st.group;
    }
    if (match) {
      best = rule.strength;
      found = static_cast<uint8_t>(i + 1);
    }
  }
  return found;
}

int64_t DeclineUntil(const CompiledPolicy& p, const MemoryRecord& m) {
  return m.last_decline_ms + p.gates().decline_cooldown_ms;
}

int64_t IgnoreUntil(const CompiledPolicy& p, const MemoryRecord& m) {
  return m.last_ignore_ms + p.gates().ignored_cooldown_ms;
}

bool MemoryExpired(const CompiledPolicy& p, const MemoryRecord& m,
                   int64_t now) {
  if ((m.flags & kHasDecline) &&
      (p.gates().decline_forever || now < DeclineUntil(p, m))) {
    return false;
  }
  if ((m.flags & kHasIgnore) && now < IgnoreUntil(p, m)) return false;
  return true;
}

int64_t MemoryTtl(const CompiledPolicy& p, const MemoryRecord& m,
                  int64_t now) {
  if ((m.flags & kHasDecline) && p.gates().decline_forever) return 0;
  int64_t until = now;
  if (m.flags & kHasDecline) until = std::max(until, DeclineUntil(p, m));
  if (m.flags & kHasIgnore) until = std::max(until, IgnoreUntil(p, m));
  // A session timeout beyond the cooldown, and never less than that: a
  // record must outlast the session that made it.
  return until - now + std::max<int64_t>(p.timeout_ms(), 1000);
}

void RecordOutcome(const CompiledPolicy& p, VisitorState& v, const Event& e) {
  if (!v.has_memory) {
    v.memory = MemoryRecord{};
    v.has_memory = true;
  }
  MemoryRecord* m = &v.memory;
  v.write_memory = true;
  if (e.type == EventType::kOfferDeclined) {
    // The latest decline counts; a late report never moves it back.
    m->last_decline_ms = (m->flags & kHasDecline)
                             ? std::max(m->last_decline_ms, e.ts_ms)
                             : e.ts_ms;
    m->flags |= kHasDecline;
    SatInc(m->declines);
  } else {
    if ((m->flags & kHasIgnore) && e.ts_ms >= IgnoreUntil(p, *m)) {
      m->ignored = 0;  // The earlier ignores have been forgiven.
    }
    m->last_ignore_ms = (m->flags & kHasIgnore)
                            ? std::max(m->last_ignore_ms, e.ts_ms)
                            : e.ts_ms;
    m->flags |= kHasIgnore;
    SatInc(m->ignored);
  }
  v.memory_ttl_ms = MemoryTtl(p, *m, e.ts_ms);
}

absl::Status ApplyEvent(const CompiledPolicy& p, VisitorState& v,
                        const Event& e, const PageFacts& facts) {
  SessionRecord* r = v.has_session ? &v.session : nullptr;
  const bool memory_event = e.type == EventType::kOfferDeclined ||
                            e.type == EventType::kOfferIgnored;
  if (r != nullptr && e.ts_ms < r->last_event_ms) {
    if (!memory_event) {
      return absl::InvalidArgumentError(
          absl::StrCat("time went backwards for visitor: ", e.ts_ms,
                       " < last event ", r->last_event_ms));
    }
    // A decline or ignore reported late: it goes to the do-not-re-offer
    // memory as of its own time, without moving the visitor's clock.
    RecordOutcome(p, v, e);
    r->flags &= ~kOfferPending;
    v.write_session = true;
    ++v.delta.events_observed;
    return absl::OkStatus();
  }
  // All checks passed: from here on the event is applied whole.
  v.expire_some = true;
  v.now_ms = e.ts_ms;
  v.write_session = true;
  if (r == nullptr) {
    r = &v.session;
    v.has_session = true;
    StartSession(*r, e.ts_ms);
    ++v.delta.sessions_started;
    if (p.gates().max_offer_share > 0) v.session_started_ms = e.ts_ms;
  } else if (e.ts_ms - r->last_event_ms > p.timeout_ms()) {
    StartSession(*r, e.ts_ms);
    ++v.delta.sessions_expired;
    ++v.delta.sessions_started;
    if (p.gates().max_offer_share > 0) v.session_started_ms = e.ts_ms;
  }
  ++v.delta.events_observed;
  r->last_event_ms = e.ts_ms;
  // Dwell runs from the visitor's own last event: an offer shown is not
  // the visitor's doing.
  if (RestartsDwell(e.type)) r->last_activity_ms = e.ts_ms;

  switch (e.type) {
    case EventType::kPageView: {
      if (r->pages_viewed == 0 && facts.from_search_engine) {
        r->flags |= kFromSearchEngine;
      }
      const PageMatcher::Match& m = facts.page;
      SatInc(r->pages_viewed);
      const bool reload =
          PushPage(p, *r, m.group, m.page_hash, e.ts_ms, /*is_search=*/false);
      if (!reload && p.Group(m.group).role == proto::ROLE_HELP) {
        SatInc(r->help_hits);
      }
      break;
    }
    case EventType::kSearch: {
      SatInc(r->searches);
      if (e.count == 0) SatInc(r->zero_result_searches);
      const PageMatcher::Match& m = facts.page;
      PushPage(p, *r, m.group, m.page_hash, e.ts_ms, /*is_search=*/true);
      break;
    }
    case EventType::kCart:
      r->cart_value = static_cast<float>(e.value);
      if (r->flags & kInCheckout) r->checkout_since_ms = e.ts_ms;
      break;
    case EventType::kPurchase:
      r->cart_value = 0;
      if (r->flags & kInCheckout) r->checkout_since_ms = e.ts_ms;
      break;
    case EventType::kHelpContact:
    case EventType::kOfferAccepted:
      r->flags |= kEngaged;
      r->flags &= ~kOfferPending;
      break;
    case EventType::kOfferShown:
      if (r->flags & kOfferPending) {
        r->flags &= ~kOfferPending;  // beckon's own offer: counted.
      } else {
        if (r->offers < 0xff) ++r->offers;
        r->last_offer_ms = e.ts_ms;
        r->flags |= kHasOffer;
      }
      break;
    case EventType::kOfferDeclined:
    case EventType::kOfferIgnored:
      r->flags &= ~kOfferPending;
      RecordOutcome(p, v, e);
      break;
    case EventType::kAgents:
      break;  // Not a visitor's event: the engine sets the agents.
  }
  return absl::OkStatus();
}

}  // namespace beckon::internal
