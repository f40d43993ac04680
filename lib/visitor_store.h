// Per-visitor state: small fixed-size records in per-shard LRU tables.
#ifndef BECKON_LIB_VISITOR_STORE_H_
#define BECKON_LIB_VISITOR_STORE_H_

#include <cstdint>
#include <utility>
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

// Every record in one recency list: the table is plain LRU.
template <typename Record>
struct OneList {
  static constexpr int kLists = 1;
  static int Of(const Record&) { return 0; }
};

// Memory records in two recency lists by what they hold: ignore-only
// records (list 0) are evicted before any record with a decline (list 1),
// so a flood of ignored offers never costs a visitor their decline.
struct DeclinesLast {
  static constexpr int kLists = 2;
  static constexpr int kIgnoreOnly = 0;
  static constexpr int kDeclines = 1;
  static int Of(const MemoryRecord& m) {
    return (m.flags & kHasDecline) ? kDeclines : kIgnoreOnly;
  }
};

// A capacity-bounded table of records keyed by a 64-bit visitor hash. The
// records sit in Lists::kLists recency lists, Lists::Of(record) saying which;
// when full, the least recently touched record of the lowest non-empty list
// is evicted, and a new record ranked below every stored one is not kept.
// Records live in one slab with one index whatever the lists (a node does
// not store its list: it is derived from the record, which only Put
// changes). No allocation once the slab has grown to capacity. Not
// thread-safe: the shard's lock guards it.
template <typename Record, typename Lists = OneList<Record>>
class LruTable {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;
  static constexpr int kLists = Lists::kLists;

  explicit LruTable(uint64_t capacity) : capacity_(capacity) {
    for (int l = 0; l < kLists; ++l) heads_[l] = tails_[l] = kNil;
  }

  // Exchanges contents (capacity included) with `other`, allocating nothing.
  void Swap(LruTable& other) {
    std::swap(capacity_, other.capacity_);
    nodes_.swap(other.nodes_);
    index_.swap(other.index_);
    for (int l = 0; l < kLists; ++l) {
      std::swap(heads_[l], other.heads_[l]);
      std::swap(tails_[l], other.tails_[l]);
    }
    std::swap(free_, other.free_);
  }

  size_t size() const { return index_.size(); }
  uint64_t capacity() const { return capacity_; }

  // Returns the record for `key`, or nullptr.
  const Record* Find(uint64_t key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &nodes_[it->second].rec;
  }

  // What Put did.
  struct PutResult {
    bool stored = true;
    // The list of the record that made room (the new record itself when
    // it was not stored), or -1 if nothing was evicted.
    int evicted_list = -1;
  };

  // Stores `rec` as `key`'s record, the most recently touched of its list,
  // inserting it if absent and evicting as the class comment says if full.
  PutResult Put(uint64_t key, const Record& rec) {
    PutResult res;
    const int list = Lists::Of(rec);
    if (auto it = index_.find(key); it != index_.end()) {
      const uint32_t slot = it->second;
      Unlink(slot);
      nodes_[slot].rec = rec;
      PushFront(slot, list);
      return res;
    }
    if (index_.size() >= capacity_) {
      int lowest = 0;
      while (lowest < kLists && tails_[lowest] == kNil) ++lowest;
      if (lowest > list || lowest == kLists) {
        res.stored = false;
        res.evicted_list = list;
        return res;
      }
      Erase(nodes_[tails_[lowest]].key);
      res.evicted_list = lowest;
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
    n.rec = rec;
    n.key = key;
    index_.emplace(key, slot);
    PushFront(slot, list);
    return res;
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

  // The least recently touched record of `list`, or nullptr.
  const Record* Oldest(uint64_t* key, int list = 0) const {
    if (tails_[list] == kNil) return nullptr;
    *key = nodes_[tails_[list]].key;
    return &nodes_[tails_[list]].rec;
  }

  // Calls fn(key, record&) on every record, in no particular order; `fn`
  // may change the record but not which list it belongs in.
  template <typename Fn>
  void ForEachMutable(Fn fn) {
    for (int l = 0; l < kLists; ++l) {
      for (uint32_t s = tails_[l]; s != kNil; s = nodes_[s].prev) {
        fn(nodes_[s].key, nodes_[s].rec);
      }
    }
  }

  // Calls fn(key, record) in eviction order: list by list from the lowest,
  // each from least to most recently touched. Putting the records into an
  // empty table in this order rebuilds every list's order.
  template <typename Fn>
  void ForEachOldestFirst(Fn fn) const {
    for (int l = 0; l < kLists; ++l) {
      for (uint32_t s = tails_[l]; s != kNil; s = nodes_[s].prev) {
        fn(nodes_[s].key, nodes_[s].rec);
      }
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
    for (int l = 0; l < kLists; ++l) heads_[l] = tails_[l] = kNil;
    free_ = kNil;
  }

 private:
  struct Node {
    Record rec;
    uint64_t key;
    uint32_t prev = kNil;
    uint32_t next = kNil;
  };

  // Unlinks slot `s` from the list its record is in.
  void Unlink(uint32_t s) {
    Node& n = nodes_[s];
    const int l = Lists::Of(n.rec);
    if (n.prev != kNil) nodes_[n.prev].next = n.next; else heads_[l] = n.next;
    if (n.next != kNil) nodes_[n.next].prev = n.prev; else tails_[l] = n.prev;
    n.prev = n.next = kNil;
  }
  // REQUIRES: Lists::Of(nodes_[s].rec) == l.
  void PushFront(uint32_t s, int l) {
    Node& n = nodes_[s];
    n.prev = kNil;
    n.next = heads_[l];
    if (heads_[l] != kNil) nodes_[heads_[l]].prev = s;
    heads_[l] = s;
    if (tails_[l] == kNil) tails_[l] = s;
  }

  uint64_t capacity_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  uint32_t heads_[kLists];
  uint32_t tails_[kLists];
  uint32_t free_ = kNil;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_VISITOR_STORE_H_
