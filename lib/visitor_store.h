// Per-visitor state: small fixed-size records in per-shard LRU tables.
#ifndef BECKON_LIB_VISITOR_STORE_H_
#define BECKON_LIB_VISITOR_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

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

// A capacity-bounded table of records keyed by a 64-bit visitor hash, in
// least-recently-touched order. Records live in a slab; no allocation once
// the slab has grown to capacity. Not thread-safe: the shard's lock guards it.
template <typename Record>
class LruTable {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;

  explicit LruTable(uint64_t capacity) : capacity_(capacity) {}

  size_t size() const { return index_.size(); }
  uint64_t capacity() const { return capacity_; }

  // Returns the record for `key`, or nullptr.
  Record* Find(uint64_t key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &nodes_[it->second].rec;
  }

  // Marks `key`'s record most recently used. REQUIRES: present.
  void Touch(uint64_t key) {
    const uint32_t slot = index_.find(key)->second;
    Unlink(slot);
    PushFront(slot);
  }

  // Inserts a zeroed record for `key` (REQUIRES: absent), evicting the least
  // recently used record if full. Returns the record; *evicted tells whether
  // one was evicted.
  Record* Insert(uint64_t key, bool* evicted) {
    *evicted = false;
    if (index_.size() >= capacity_ && tail_ != kNil) {
      Erase(nodes_[tail_].key);
      *evicted = true;
    }
    uint32_t slot;
    if (free_ != kNil) {
      slot = free_;
      free_ = nodes_[slot].next;
    } else {
      slot = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    Node& n = nodes_[slot];
    n.rec = Record{};
    n.key = key;
    index_.emplace(key, slot);
    PushFront(slot);
    return &n.rec;
  }

  void Erase(uint64_t key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    const uint32_t slot = it->second;
    index_.erase(it);
    Unlink(slot);
    nodes_[slot].next = free_;
    free_ = slot;
  }

  // The least recently used record, or nullptr.
  const Record* Oldest(uint64_t* key) const {
    if (tail_ == kNil) return nullptr;
    *key = nodes_[tail_].key;
    return &nodes_[tail_].rec;
  }

  // Calls fn(key, record) from least to most recently used.
  template <typename Fn>
  void ForEachOldestFirst(Fn fn) const {
    for (uint32_t s = tail_; s != kNil; s = nodes_[s].prev) {
      fn(nodes_[s].key, nodes_[s].rec);
    }
  }

  // Erases every record for which pred(key, record) is true; returns how
  // many. O(size).
  template <typename Pred>
  size_t EraseIf(Pred pred) {
    std::vector<uint64_t> doomed;
    ForEachOldestFirst([&](uint64_t key, const Record& r) {
      if (pred(key, r)) doomed.push_back(key);
    });
    for (uint64_t key : doomed) Erase(key);
    return doomed.size();
  }

  void Clear() {
    nodes_.clear();
    index_.clear();
    head_ = tail_ = free_ = kNil;
  }

 private:
  struct Node {
    Record rec;
    uint64_t key;
    uint32_t prev = kNil;
    uint32_t next = kNil;
  };

  void Unlink(uint32_t s) {
    Node& n = nodes_[s];
    if (n.prev != kNil) nodes_[n.prev].next = n.next; else head_ = n.next;
    if (n.next != kNil) nodes_[n.next].prev = n.prev; else tail_ = n.prev;
    n.prev = n.next = kNil;
  }
  void PushFront(uint32_t s) {
    Node& n = nodes_[s];
    n.prev = kNil;
    n.next = head_;
    if (head_ != kNil) nodes_[head_].prev = s;
    head_ = s;
    if (tail_ == kNil) tail_ = s;
  }

  uint64_t capacity_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  uint32_t head_ = kNil;
  uint32_t tail_ = kNil;
  uint32_t free_ = kNil;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_VISITOR_STORE_H_
