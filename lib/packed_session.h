// How the in-memory store keeps a SessionRecord in its table slot: 80 bytes
// instead of 104, losslessly. The engine, the snapshot codec and the Redis
// store see the SessionRecord unchanged; only the slot is packed.
//   - the four later timestamps as 32-bit offsets from session_start_ms
//     (a session would have to last 24.8 days not to fit), 0 kept as 0;
//   - the recent steps' groups in a byte each (kUnlistedGroup as 0xff).
// A record that does not fit (a longer session, a policy with 255 groups or
// more, a timestamp before its session's start) is not packed: the table
// keeps it whole in its side map (flat_table.h).
//
// Every field of SessionRecord must be carried here: a field added there
// and not here would be lost by the in-memory store (sizeof may not tell:
// SessionRecord has a byte of padding, PackedSession one spare byte: the
// generation took both).
#ifndef BECKON_LIB_PACKED_SESSION_H_
#define BECKON_LIB_PACKED_SESSION_H_

#include <cstdint>
#include <cstring>
#include <limits>

#include "visitor_store.h"

namespace beckon::internal {

struct PackedSession {
  int64_t session_start_ms;
  // Offsets from session_start_ms; kZeroTime: the value 0.
  int32_t last_event;
  int32_t last_activity;
  int32_t checkout_since;
  int32_t last_offer;
  float cart_value;
  uint32_t recent_pages[kRecentPages];
  uint8_t recent_steps[kRecentSteps];  // kUnlistedStep: 0xFFFF.
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
  uint8_t path_rule;
  uint8_t generation;
};
static_assert(sizeof(PackedSession) <= 80, "a session slot of 88 bytes");

struct SessionCodec {
  using Stored = PackedSession;
  static constexpr bool kExact = false;
  static constexpr int32_t kZeroTime = std::numeric_limits<int32_t>::min();
  static constexpr uint8_t kUnlistedStep = 0xff;

  static bool PackTime(int64_t t, int64_t start, int32_t* out) {
    if (t == 0) {
      *out = kZeroTime;
      return true;
    }
    int64_t d;
    if (__builtin_sub_overflow(t, start, &d) ||
        d <= std::numeric_limits<int32_t>::min() ||
        d > std::numeric_limits<int32_t>::max()) {
      return false;
    }
    *out = static_cast<int32_t>(d);
    return true;
  }
  static int64_t UnpackTime(int32_t d, int64_t start) {
    return d == kZeroTime ? 0 : start + d;
  }

  static bool Pack(const SessionRecord& r, PackedSession* p) {
    p->session_start_ms = r.session_start_ms;
    if (!PackTime(r.last_event_ms, r.session_start_ms, &p->last_event) ||
        !PackTime(r.last_activity_ms, r.session_start_ms,
                  &p->last_activity) ||
        !PackTime(r.checkout_since_ms, r.session_start_ms,
                  &p->checkout_since) ||
        !PackTime(r.last_offer_ms, r.session_start_ms, &p->last_offer)) {
      return false;
    }
    for (int i = 0; i < kRecentSteps; ++i) {
      const uint16_t g = r.recent_steps[i];
      if (g == 0xFFFF) {
        p->recent_steps[i] = kUnlistedStep;
      } else if (g < kUnlistedStep) {
        p->recent_steps[i] = static_cast<uint8_t>(g);
      } else {
        return false;
      }
    }
    p->cart_value = r.cart_value;
    std::memcpy(p->recent_pages, r.recent_pages, sizeof(p->recent_pages));
    p->current_group = r.current_group;
    p->pages_viewed = r.pages_viewed;
    p->help_hits = r.help_hits;
    p->searches = r.searches;
    p->zero_result_searches = r.zero_result_searches;
    p->loops = r.loops;
    p->back_and_forth = r.back_and_forth;
    p->offers = r.offers;
    p->flags = r.flags;
    p->n_pages = r.n_pages;
    p->n_steps = r.n_steps;
    p->path_rule = r.path_rule;
    p->generation = r.generation;
    return true;
  }

  static void Unpack(const PackedSession& p, SessionRecord* r) {
    const int64_t start = p.session_start_ms;
    r->session_start_ms = start;
    r->last_event_ms = UnpackTime(p.last_event, start);
    r->last_activity_ms = UnpackTime(p.last_activity, start);
    r->checkout_since_ms = UnpackTime(p.checkout_since, start);
    r->last_offer_ms = UnpackTime(p.last_offer, start);
    r->cart_value = p.cart_value;
    std::memcpy(r->recent_pages, p.recent_pages, sizeof(p.recent_pages));
    for (int i = 0; i < kRecentSteps; ++i) {
      const uint8_t g = p.recent_steps[i];
      r->recent_steps[i] = g == kUnlistedStep ? uint16_t{0xFFFF} : g;
    }
    r->current_group = p.current_group;
    r->pages_viewed = p.pages_viewed;
    r->help_hits = p.help_hits;
    r->searches = p.searches;
    r->zero_result_searches = p.zero_result_searches;
    r->loops = p.loops;
    r->back_and_forth = p.back_and_forth;
    r->offers = p.offers;
    r->flags = p.flags;
    r->n_pages = p.n_pages;
    r->n_steps = p.n_steps;
    r->path_rule = p.path_rule;
    r->generation = p.generation;
  }
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_PACKED_SESSION_H_
