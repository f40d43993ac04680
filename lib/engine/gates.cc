#include "engine/gates.h"

#include <cmath>

#include "engine/session_rules.h"

namespace beckon::internal {

GateCheck DeclinedGate(const GateInput& in) {
  GateCheck c;
  const MemoryRecord* m = in.memory;
  if (m == nullptr || !(m->flags & kHasDecline)) return c;
  c.since_ms = in.now_ms - m->last_decline_ms;
  if (in.policy.gates().decline_forever) {
    c.closed = true;
    c.permanent = true;
    return c;
  }
  const int64_t until = DeclineUntil(in.policy, *m);
  if (in.now_ms < until) {
    c.closed = true;
    c.open_at_ms = until;
  }
  return c;
}

GateCheck IgnoredGate(const GateInput& in) {
  GateCheck c;
  const MemoryRecord* m = in.memory;
  if (m == nullptr || !(m->flags & kHasIgnore) ||
      m->ignored < in.policy.gates().ignored_cap) {
    return c;
  }
  const int64_t until = IgnoreUntil(in.policy, *m);
  if (in.now_ms < until) {
    c.closed = true;
    c.open_at_ms = until;
    c.since_ms = in.now_ms - m->last_ignore_ms;
  }
  return c;
}

GateCheck EngagedGate(const GateInput& in) {
  GateCheck c;
  if (in.session.flags & kEngaged) {
    c.closed = true;
    c.permanent = true;
  }
  return c;
}

GateCheck SessionCapGate(const GateInput& in) {
  GateCheck c;
  if (in.session.offers >= in.policy.gates().max_offers_per_session) {
    c.closed = true;
    c.permanent = true;
  }
  return c;
}

GateCheck MinGapGate(const GateInput& in) {
  GateCheck c;
  const SessionRecord& r = in.session;
  if (!(r.flags & kHasOffer)) return c;
  const int64_t until = r.last_offer_ms + in.policy.gates().min_gap_ms;
  if (in.now_ms < until) {
    c.closed = true;
    c.open_at_ms = until;
    c.since_ms = in.now_ms - r.last_offer_ms;
  }
  return c;
}

bool HoldoutGate(const CompiledPolicy& p, std::string_view visitor) {
  return p.InHoldout(visitor);
}

int64_t RateCapFor(const CompiledPolicy& p, int64_t free_agents) {
  return static_cast<int64_t>(std::floor(static_cast<double>(free_agents) /
                                         p.gates().expected_accept_rate));
}

int64_t OfferShareCapFor(const CompiledPolicy& p, int64_t sessions) {
  // A little below the exact product first, so that a share like 0.1 of 30
  // sessions is 3, not 4 by a rounding error.
  return static_cast<int64_t>(std::ceil(
      p.gates().max_offer_share * static_cast<double>(sessions) - 1e-9));
}

}  // namespace beckon::internal
