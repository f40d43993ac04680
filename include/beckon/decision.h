// Decisions: what the engine answers to "offer help now?".
//
// A Decision carries the action, the model's probability, the reason code,
// the numbers behind it (readable reasons are made from them on request),
// and `recheck_at_ms`: the earliest time the answer could
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
// below_threshold); the site gates holdout, no_agents, then rate_cap and
// offer_rate_cap together (the smaller cap binds); else score.
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
  kOfferRateCap = 13,    // Gate: site-wide offers above the policy's share
                         // of sessions (gates.max_offer_share).
};

inline constexpr int kReasonCount = 14;

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

// The number of features the model scores (docs/concepts.md lists them).
inline constexpr int kDecisionFeatureCount = 12;

namespace internal {
class Explainer;
struct DecisionAccess;
}  // namespace internal

// The numbers the readable reasons are made of: what the gate or the score
// saw when the decision was made. Fixed size: deciding builds no text.
struct DecisionDetail {
  bool has_session = false;  // False for no_session and store_unavailable.
  // The visitor's features at the decision's time, in feature order, and
  // their weights' products (valid if has_session).
  double features[kDecisionFeatureCount] = {};
  double dwell_s = 0;            // Dwell on the current page, seconds.
  double dwell_threshold_s = 0;  // The current page group's threshold.
  // For declined, ignored and min_gap: ms since the decline, the last
  // ignored offer or the last offer.
  int64_t since_ms = 0;
  // For rate_cap: offers in the window, free agents, the cap they make.
  int64_t in_window = 0;
  int64_t free_agents = 0;
  int64_t rate_cap = 0;
  // For offer_rate_cap: sessions started in the window (the cap is
  // ceil(gates.max_offer_share * that); in_window and rate_cap as above).
  int64_t sessions_in_window = 0;
  float cart_value = 0;          // The session's cart value.
  uint16_t group = 0;            // The current page group (policy index).
  uint16_t help_hits = 0, searches = 0, zero_result_searches = 0;
  uint16_t loops = 0, back_and_forth = 0, pages_viewed = 0;
  uint16_t ignored = 0;          // For ignored: offers left unanswered.
  uint8_t offers = 0;            // Offers this session.
  uint8_t path_rule = 0;         // Matching path rule + 1; 0: none.
  // An exploration decision that went on below the threshold.
  bool explored = false;
  // A policy with an uplift model (docs/uplift.md), once the probability
  // reached the threshold: the expected uplift of an offer, the score held
  // against min_uplift (the uplift; with model.uplift.by_value, the uplift
  // times order_value, the order at stake), and the least it must be.
  // Below it the decision is kWait, kBelowThreshold.
  bool has_uplift = false;
  double uplift = 0;
  double uplift_score = 0;
  double order_value = 0;  // With by_value only.
  double min_uplift = 0;
};

class Decision {
 public:
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
  // The chance, over the engine's random draws (the holdout's, per visitor,
  // and exploration's, per decision: model.exploration), that this decision
  // goes past the score and the holdout, all else as it is: 1 -
  // holdout_fraction past the threshold, exploration's share times that in
  // its zone, 0 otherwise (docs/uplift.md). The decision log records it:
  // the propensity off-policy estimates need.
  double offer_probability = 0;
  // If nothing else happens: for kWait, the earliest time (ms) at which
  // deciding again gives an offer (or a site gate's suppress); for a
  // suppress by a gate that lapses (declined, ignored, min_gap, rate_cap,
  // offer_rate_cap),
  // the earliest time the visitor could be offered once it has lapsed.
  // nullopt if there is none within the session, or the gate only lifts
  // with a new session or another event (engaged, session_cap, holdout,
  // no_agents).
  std::optional<int64_t> recheck_at_ms;
  // What the reasons are made of.
  DecisionDetail detail;

  // Readable reasons, made on request (deciding makes no text): for a gate,
  // what it saw ("declined an offer 2 d ago (cooldown 30 d)"); otherwise the
  // reason, then the largest feature contributions, largest first ("dwell
  // 48 s on /checkout/* (threshold 35 s)"). Reads the policy of the engine
  // that made the decision: call it while that engine exists (a
  // default-constructed decision reads no policy).
  std::vector<std::string> reasons() const;
  // How many reasons reasons() returns, without making them.
  size_t reason_count() const;
  // Every feature's contribution, in feature order (empty if no session).
  std::vector<Contribution> contributions() const;
  // The policy the decision was made under: its name, and its version (16
  // hex digits of a hash of its encoding: policies that differ in anything
  // differ in version). Empty for a default-constructed decision. Like
  // reasons(), valid while the engine exists.
  std::string_view policy_name() const;
  std::string_view policy_version() const;

 private:
  friend struct internal::DecisionAccess;
  const internal::Explainer* explainer_ = nullptr;
  std::string note_;  // store_unavailable: the store's error.
};

}  // namespace beckon

#endif  // BECKON_DECISION_H_
