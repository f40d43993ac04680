// Decisions: what the engine answers to "offer help now?".
//
// A Decision carries the action, the model's probability, the reason code,
// readable reasons, and `recheck_at_ms`: the earliest time the answer could
// change if nothing else happens. A host that gets `kWait` with a recheck time
// sets one timer for it instead of polling.
#ifndef BECKON_DECISION_H_
#define BECKON_DECISION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beckon {

enum class Action : uint8_t {
  kOffer = 0,     // Offer help now. The engine has recorded the offer.
  kWait = 1,      // Not yet: the visitor does not (yet) look stuck.
  kSuppress = 2,  // A gate forbids an offer; `reason` names it.
};

inline constexpr int kActionCount = 3;

// Why. Checked in this order (docs/concepts.md): no_session; the visitor
// gates declined, ignored, engaged, session_cap, min_gap; the score (dwell,
// below_threshold); the site gates holdout, no_agents, rate_cap; else score.
// store_unavailable comes before all of them: when the visitor store cannot
// be read (Redis down), nothing else can be checked and nobody is offered.
enum class Reason : uint8_t {
  kScore = 0,            // kOffer: the probability reached the threshold.
  kNoSession = 1,        // kWait: no live session for this visitor.
  kDwell = 2,            // kWait: dwell below the page's dwell threshold.
  kBelowThreshold = 3,   // kWait: probability below the threshold.
  kDeclined = 4,         // Gate: declined within the decline cooldown.
  kIgnored = 5,          // Gate: too many ignored offers recently.
  kEngaged = 6,          // Gate: in a conversation or asked for help already.
  kSessionCap = 7,       // Gate: offers this session at the cap.
  kMinGap = 8,           // Gate: too soon after the last offer.
  kHoldout = 9,          // Gate: visitor in the holdout group.
  kNoAgents = 10,        // Gate: no free agent.
  kRateCap = 11,         // Gate: site-wide offers above agent capacity.
  kStoreUnavailable = 12,  // kSuppress: the visitor store could not be read
                           // or written (e.g. Redis down); never an offer.
};

inline constexpr int kReasonCount = 13;

// Returns "offer", "wait" or "suppress".
std::string_view ActionName(Action action);

// Returns the reason code ("score", "declined", "session_cap", ...).
std::string_view ReasonName(Reason reason);

// One feature's part in the score.
struct Contribution {
  std::string feature;   // Feature name, e.g. "dwell_ratio".
  double value = 0;      // The feature's value.
  double contribution = 0;  // weight * value, in log-odds.
};

struct Decision {
  Action action = Action::kWait;
  Reason reason = Reason::kNoSession;
  // The model's probability that the visitor needs help now, in [0, 1]
  // (0 when there is no session).
  double probability = 0;
  // The threshold the probability was held against (raised when free agents
  // are scarce).
  double threshold = 0;
  // kSuppress by kHoldout only: an offer would have been made.
  bool would_offer = false;
  // If nothing else happens: for kWait, the earliest time (ms) at which
  // deciding again gives an offer (or a site gate's suppress); for a
  // suppress by a gate that lapses (declined, ignored, min_gap, rate_cap),
  // the earliest time the visitor could be offered once it has lapsed.
  // nullopt if there is none within the session, or the gate only lifts
  // with a new session or another event (engaged, session_cap, holdout,
  // no_agents).
  std::optional<int64_t> recheck_at_ms;
  // Readable reasons: for a gate, what it saw ("declined 2 d ago (cooldown
  // 30 d)"); otherwise the largest feature contributions, largest first
  // ("dwell 48 s on /checkout/* (threshold 35 s)").
  std::vector<std::string> reasons;
  // Every feature's contribution, in feature order (empty if no session).
  std::vector<Contribution> contributions;
};

}  // namespace beckon

#endif  // BECKON_DECISION_H_
