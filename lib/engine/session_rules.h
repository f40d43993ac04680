// The session rules: what each event does to a visitor's session and
// do-not-re-offer memory (session start and timeout, page steps, reloads,
// loops and back-and-forth, checkout progress, dwell start, search-engine
// entry, path rules, declines and ignores). One home for these rules: the
// engine applies them on Observe, and the offline code (trainer, replay)
// can call them to measure exactly what the engine sees.
#ifndef BECKON_LIB_ENGINE_SESSION_RULES_H_
#define BECKON_LIB_ENGINE_SESSION_RULES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "beckon/event.h"
#include "engine/compiled_policy.h"
#include "page_matcher.h"
#include "state_store.h"
#include "visitor_store.h"

namespace beckon::internal {

// What an event's URL and referrer say, worked out before the store's lock
// (the work is proportional to their length): the rules never read the
// strings themselves.
struct PageFacts {
  PageMatcher::Match page{kUnlistedGroup, 0};  // kPageView, kSearch.
  bool from_search_engine = false;             // kPageView.
};

// Classifies a kPageView's or kSearch's page and a kPageView's referrer
// (nothing for other events). The caller checks their lengths first.
PageFacts ClassifyEventPage(const CompiledPolicy& p, const Event& e);

// Whether an event restarts the visitor's dwell: every event the visitor
// made, so all but kOfferShown (an offer shown is the host's doing). The
// trainer measures dwell with the same rule (internal::PageDwells).
inline bool RestartsDwell(EventType t) { return t != EventType::kOfferShown; }

// Starts a new session at `ts`.
void StartSession(SessionRecord& r, int64_t ts);

// Moves the visitor to a page (a view, or a search on a results page) and
// returns true if it was a reload. Each search is a step, even on the same
// results page; repeating a search there is not a return to a seen page.
bool PushPage(const CompiledPolicy& p, SessionRecord& r, uint16_t group,
              uint32_t page_hash, int64_t ts, bool is_search);

// The best matching path rule + 1 for the session's recent steps; 0: none.
uint8_t MatchPathRule(const CompiledPolicy& p, const SessionRecord& r);

// When a memory record's decline / ignore cooldown ends.
int64_t DeclineUntil(const CompiledPolicy& p, const MemoryRecord& m);
int64_t IgnoreUntil(const CompiledPolicy& p, const MemoryRecord& m);
// True if every cooldown of the record has passed at `now_ms`.
bool MemoryExpired(const CompiledPolicy& p, const MemoryRecord& m,
                   int64_t now_ms);
// How long a memory record matters after `now_ms` (0: forever).
int64_t MemoryTtl(const CompiledPolicy& p, const MemoryRecord& m,
                  int64_t now_ms);

// Records a kOfferDeclined or kOfferIgnored in the visitor's memory.
void RecordOutcome(const CompiledPolicy& p, VisitorState& v, const Event& e);

// The event's effect on one visitor's state. The event has been checked
// already (type, ids, values), but for the visitor's clock: a timestamp
// before the visitor's last event is InvalidArgument and changes nothing,
// except a late decline or ignore, which goes to the memory as of its own
// time. `e.page` and `e.referrer` are not read: `facts` says what they were.
absl::Status ApplyEvent(const CompiledPolicy& p, VisitorState& v,
                        const Event& e, const PageFacts& facts);

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_SESSION_RULES_H_
