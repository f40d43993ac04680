// The gates: rules that forbid an offer whatever the score. Each is one
// function; the engine runs them in the documented order (docs/concepts.md):
// the visitor gates from kVisitorGates (declined, ignored, engaged,
// session_cap, min_gap), then the score, then the site gates (holdout,
// no_agents, rate_cap, offer_rate_cap).
#ifndef BECKON_LIB_ENGINE_GATES_H_
#define BECKON_LIB_ENGINE_GATES_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "beckon/decision.h"
#include "engine/compiled_policy.h"
#include "visitor_store.h"

namespace beckon::internal {

// What a visitor gate sees.
struct GateInput {
  const CompiledPolicy& policy;
  const SessionRecord& session;
  const MemoryRecord* memory;  // nullptr: no do-not-re-offer memory.
  int64_t now_ms;
};

// What a visitor gate says.
struct GateCheck {
  bool closed = false;
  // Closed until a new session or another event (not by time alone).
  bool permanent = false;
  int64_t open_at_ms = 0;  // If closed and not permanent: when it opens.
  int64_t since_ms = 0;    // For the reasons: ms since what closed it.
};

using VisitorGateFn = GateCheck (*)(const GateInput&);

struct VisitorGate {
  Reason reason;
  VisitorGateFn check;
};

GateCheck DeclinedGate(const GateInput& in);
GateCheck IgnoredGate(const GateInput& in);
GateCheck EngagedGate(const GateInput& in);
GateCheck SessionCapGate(const GateInput& in);
GateCheck MinGapGate(const GateInput& in);

// The visitor gates, in the order they are checked: the first that is
// closed is the decision's reason; all closed ones together say when the
// visitor could be offered again.
inline constexpr std::array<VisitorGate, 5> kVisitorGates = {{
    {Reason::kDeclined, &DeclinedGate},
    {Reason::kIgnored, &IgnoredGate},
    {Reason::kEngaged, &EngagedGate},
    {Reason::kSessionCap, &SessionCapGate},
    {Reason::kMinGap, &MinGapGate},
}};

// Site gates. holdout: the visitor is in the stable holdout group.
bool HoldoutGate(const CompiledPolicy& p, std::string_view visitor);
// rate_cap: offers allowed in any rate window with `free_agents` (> 0) free.
int64_t RateCapFor(const CompiledPolicy& p, int64_t free_agents);

// offer_rate_cap: offers allowed in any rate window in which `sessions`
// sessions started, ceil(gates.max_offer_share * sessions) (share > 0).
int64_t OfferShareCapFor(const CompiledPolicy& p, int64_t sessions);

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_GATES_H_
