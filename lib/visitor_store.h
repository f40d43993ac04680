// Per-visitor state: small fixed-size records, kept by the in-memory store
// in per-shard flat tables (flat_table.h) and by the Redis store as values.
#ifndef BECKON_LIB_VISITOR_STORE_H_
#define BECKON_LIB_VISITOR_STORE_H_

#include <cstdint>

namespace beckon::internal {

inline constexpr int kRecentPages = 6;  // Pages remembered for loops.
inline constexpr int kRecentSteps = 8;  // Steps remembered for path rules.

// Session flags.
enum : uint8_t {
  kEngaged = 1 << 0,         // Accepted an offer or contacted help.
  kOfferPending = 1 << 1,    // beckon offered; offer_shown not yet seen.
  kFromSearchEngine = 1 << 2,
  kInCheckout = 1 << 3,
  kHasOffer = 1 << 4,        // last_offer_ms is set.
};
inline constexpr uint8_t kSessionFlagsMask = 0x1f;

// One live session. Everything the features need, kept incrementally.
struct SessionRecord {
  int64_t session_start_ms;
  int64_t last_event_ms;      // Any event: the session timeout counts from it.
  int64_t last_activity_ms;   // The visitor's own last event: dwell from it.
  int64_t checkout_since_ms;  // Last checkout progress (if kInCheckout).
  int64_t last_offer_ms;      // If kHasOffer.
  float cart_value;
  uint32_t recent_pages[kRecentPages];  // Oldest first; n_pages valid.
  uint16_t recent_steps[kRecentSteps];  // Group per step; n_steps valid.
  uint16_t current_group;
  uint16_t pages_viewed;
  uint16_t help_hits;
  uint16_t searches;
  uint16_t zero_result_searches;
  uint16_t loops;
  uint16_t back_and_forth;
  uint8_t offers;
  uint8_t flags;
  uint8_t n_pages;
  uint8_t n_steps;
  uint8_t path_rule;  // Best matching path rule + 1; 0: none.
  // The low byte of the engine's policy generation the group indices are of
  // (in memory only: Engine::SetPolicy remaps older records; not stored in
  // snapshots or Redis, whose records carry their groups' layout instead).
  uint8_t generation;
};

// Memory flags.
enum : uint8_t {
  kHasDecline = 1 << 0,
  kHasIgnore = 1 << 1,
};

// Do-not-re-offer memory: outlives the session.
struct MemoryRecord {
  int64_t last_decline_ms;
  int64_t last_ignore_ms;
  uint16_t declines;
  uint16_t ignored;
  uint8_t flags;
};

// Memory records in two classes by what they hold: ignore-only records
// (class 0) are evicted before any record with a decline (class 1), so a
// flood of ignored offers never costs a visitor their decline.
struct DeclinesLast {
  static constexpr int kClasses = 2;
  static constexpr int kIgnoreOnly = 0;
  static constexpr int kDeclines = 1;
  static int Of(const MemoryRecord& m) {
    return (m.flags & kHasDecline) ? kDeclines : kIgnoreOnly;
  }
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_VISITOR_STORE_H_
