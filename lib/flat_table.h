// A capacity-bounded open-addressing table of fixed-size records keyed by a
// 64-bit visitor hash, with approximate recency. The in-memory store keeps
// one per shard for sessions and one for decline/ignore memory
// (lib/memory_store.cc).
//
// Layout: three arrays of one length (any multiple of 8; the home slot is
// the multiply-high of the mixed key and the length):
//   - a control byte per slot: 0 empty, else occupied | class | overflow |
//     a 5-bit tag of the key's hash (most probes for an absent key stop at
//     the control bytes, 64 to a cache line);
//   - a 32-bit last-touched stamp per slot (a per-table counter, bumped by
//     every Put; every 2^30 Puts ages are clamped to 2^30 so that unsigned
//     differences never wrap);
//   - the slots themselves: the key and the record (as Codec stores it)
//     inline, so a lookup reads the home slot's control byte, its stamp and
//     its record, three lines whose addresses are known from the hash
//     (Prefetch issues them together).
// Linear probing; deletion shifts the rest of the cluster back (no
// tombstones), so a lookup stops at the first empty slot.
//
// Recency is approximate: when a new record needs room, the oldest (by
// stamp) of the first kSample records of the lowest class found from the new
// key's home slot onward is evicted; with at most kSample such records in
// the table that is exactly the least recently touched one. The home slot is
// where the failed lookup just looked, so sampling costs no extra cache
// misses, and home slots are independent of age, so the victim is close to
// the oldest of kSample records drawn at random (1/(kSample+1) would be
// its expected age rank; flat_table_test measures 0.137 at 7/8 full, where
// neighbours in a cluster are not quite independent in age).
//
// Sweep() walks a CLOCK hand over the slots, a few per call, for
// incremental expiry: every record is visited once per turn.
//
// Classes (Classes::Of(record), Classes::kClasses of them) rank records for
// eviction as the old recency lists did: a record of the lowest class that
// has any records is evicted first, whatever its age, and a new record
// ranked below every stored one is not kept. Counts per class are exact, so
// the ranking is exact; only the choice within a class is sampled.
//
// Memory: slot_count() starts at 0 and grows by a quarter (rehashing)
// whenever a new record would push the load past 7/8, up to the length that
// holds `capacity` at 7/8; then nothing is allocated again (Clear and Swap
// keep or exchange the arrays). An engine sized for a million visitors that
// sees a hundred holds tables for a hundred, and the load stays between 0.7
// and 7/8 once past the first few growths. (Doubling a power-of-two table
// would leave it anywhere between 7/16 and 7/8 full: at a million visitors
// over 64 shards, 15,625 sessions a shard, just past 16,384 x 7/8, it cost
// 195 bytes per visitor against 122 at 100,000.)
//
// Codec packs a Record into the slot (Codec::Stored) and back; a record it
// cannot pack losslessly (Pack returns false) is kept whole in a side map
// (which allocates), its slot marked overflow. Codec::kExact says Pack never
// fails.
//
// Not thread-safe: the shard's lock guards it.
#ifndef BECKON_LIB_FLAT_TABLE_H_
#define BECKON_LIB_FLAT_TABLE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"

namespace beckon::internal {

// Stores records as they are.
template <typename Record>
struct PlainCodec {
  using Stored = Record;
  static constexpr bool kExact = true;
  static bool Pack(const Record& r, Stored* s) {
    *s = r;
    return true;
  }
  static void Unpack(const Stored& s, Record* r) { *r = s; }
};

// Every record in one class: eviction is by (sampled) age alone.
template <typename Record>
struct OneClass {
  static constexpr int kClasses = 1;
  static int Of(const Record&) { return 0; }
};

template <typename Record, typename Classes = OneClass<Record>,
          typename Codec = PlainCodec<Record>>
class FlatTable {
  struct Slot_ {
    uint64_t key;
    typename Codec::Stored rec;
  };

 public:
  static constexpr int kClasses = Classes::kClasses;
  static_assert(kClasses == 1 || kClasses == 2, "one class bit");
  // Records of the victim's class compared per eviction.
  static constexpr int kSample = 8;
  // Load at which the table doubles: 7/8.
  static constexpr uint64_t kLoadNum = 7, kLoadDen = 8;

  // The engine keeps a shard's capacity below 2^32; clamped anyway so that
  // the slot count below cannot overflow.
  // `seed` varies the slot of each key (see Mix): a table refilled from
  // another's contents should not share its seed.
  explicit FlatTable(uint64_t capacity, uint64_t seed = 0)
      : capacity_(std::min(capacity, uint64_t{1} << 40)), seed_(seed) {
    // The fewest slots holding `capacity` at 7/8, a multiple of 8.
    const uint64_t need = (capacity_ * kLoadDen + kLoadNum - 1) / kLoadNum;
    max_slots_ = std::max(kMinSlots, (need + 7) / 8 * 8);
  }
  FlatTable(const FlatTable&) = delete;
  FlatTable& operator=(const FlatTable&) = delete;

  // Exchanges contents (capacity included) with `other`, allocating nothing.
  void Swap(FlatTable& other) {
    std::swap(capacity_, other.capacity_);
    std::swap(max_slots_, other.max_slots_);
    std::swap(seed_, other.seed_);
    std::swap(slot_count_, other.slot_count_);
    ctrl_.swap(other.ctrl_);
    stamp_.swap(other.stamp_);
    slot_.swap(other.slot_);
    std::swap(size_, other.size_);
    for (int c = 0; c < kClasses; ++c) std::swap(count_[c], other.count_[c]);
    std::swap(clock_, other.clock_);
    std::swap(hand_, other.hand_);
    overflow_.swap(other.overflow_);
  }

  size_t size() const { return size_; }
  uint64_t capacity() const { return capacity_; }
  size_t size_of_class(int c) const { return count_[c]; }
  // Slots allocated now, and at most.
  uint64_t slot_count() const { return slot_count_; }
  uint64_t max_slot_count() const { return max_slots_; }
  // Records kept whole in the side map (Codec could not pack them).
  size_t overflow_count() const { return overflow_.size(); }
  // Bytes the arrays take per slot.
  static constexpr size_t kBytesPerSlot = 1 + sizeof(uint32_t) + sizeof(Slot_);

  // Starts loading the lines a lookup of `key` reads first.
  void Prefetch(uint64_t key) const {
    if (slot_count_ == 0) return;
    const uint64_t i = Home(Mix(key));
    __builtin_prefetch(&ctrl_[i]);
    __builtin_prefetch(&stamp_[i]);
    __builtin_prefetch(&slot_[i]);
  }

  // Copies `key`'s record into *out and returns true, or returns false.
  bool Get(uint64_t key, Record* out) const {
    const uint64_t i = Lookup(key);
    if (i == kNone) return false;
    Load(i, out);
    return true;
  }
  bool Contains(uint64_t key) const { return Lookup(key) != kNone; }

  // What Put did.
  struct PutResult {
    bool stored = true;
    // The class of the record that made room (the new record's own when it
    // was not stored), or -1 if nothing was evicted.
    int evicted_class = -1;
  };

  // Stores `rec` as `key`'s record, touched now, inserting it if absent and
  // evicting as the file comment says if the table is full.
  PutResult Put(uint64_t key, const Record& rec) {
    PutResult res;
    const int cls = Classes::Of(rec);
    const uint64_t h = Mix(key);
    uint64_t i = kNone;  // Where `key` is, or the empty slot it would take.
    if (slot_count_ != 0) {
      i = Probe(h, key);
      if (ctrl_[i] != 0) {  // Present.
        const int old = ClassOf(ctrl_[i]);
        if (old != cls) {
          --count_[old];
          ++count_[cls];
        }
        StoreAt(i, h, key, rec, cls);
        return res;
      }
    }
    if (size_ >= capacity_) {
      int lowest = 0;
      while (lowest < kClasses && count_[lowest] == 0) ++lowest;
      if (lowest == kClasses || lowest > cls) {
        res.stored = false;
        res.evicted_class = cls;
        return res;
      }
      res.evicted_class = lowest;
      const uint64_t home = Home(h);
      const uint64_t victim = Victim(home, lowest);
      if (Dist(home, victim) < Dist(home, i)) {
        // The victim lies between the new key's home and the empty slot
        // its probe reached, all occupied: the new record may take the
        // victim's slot, with no shifting and no second probe.
        --count_[ClassOf(ctrl_[victim])];
        if (!Codec::kExact && (ctrl_[victim] & kOverflow)) {
          overflow_.erase(slot_[victim].key);
        }
        ctrl_[victim] = 0;
        ++count_[cls];
        StoreAt(victim, h, key, rec, cls);
        return res;
      }
      EraseAt(victim);
      i = Probe(h, key);
    } else if (size_ + 1 > slot_count_ * kLoadNum / kLoadDen) {
      Grow();
      i = Probe(h, key);
    }
    ++size_;
    ++count_[cls];
    StoreAt(i, h, key, rec, cls);
    return res;
  }

  // Makes room for `n` records (at most the capacity) without growing
  // again: for bulk loads (Replace), where keys in an order correlated with
  // their slots (one table's slot order, say) would otherwise crowd the
  // front of a smaller table before each growth.
  void Reserve(uint64_t n) {
    n = std::min(n, capacity_);
    const uint64_t need = (n * kLoadDen + kLoadNum - 1) / kLoadNum;
    const uint64_t slots = std::min(max_slots_, (need + 7) / 8 * 8);
    if (slots > slot_count_) Resize(std::max(slots, kMinSlots));
  }

  // Loads n records into this empty table: get(j) is the j-th
  // (key, record) pair, oldest first, the first of equal keys kept.
  // REQUIRES: empty, n <= capacity (so nothing is evicted). The records go
  // in by home slot, each stamped with its rank: the recency order is the
  // one given, and the inserts probe no further than a random order would,
  // whatever the order given (an order correlated with the hash, as one
  // table's contents can be, makes linear probing crawl: 750 probe steps
  // a record in a restore of 1M sessions and 1M declines). Allocates an
  // index. Returns how many were loaded.
  template <typename Get>
  size_t BulkLoad(size_t n, Get get) {
    Reserve(n);
    if (slot_count_ == 0) return 0;
    std::vector<std::pair<uint64_t, uint32_t>> order;  // (home, rank).
    order.reserve(n);
    for (size_t j = 0; j < n; ++j) {
      order.emplace_back(Home(Mix(get(j).first)), static_cast<uint32_t>(j));
    }
    std::sort(order.begin(), order.end());
    size_t loaded = 0;
    for (const auto& [home, j] : order) {
      const auto& [key, rec] = get(j);
      const uint64_t h = Mix(key);
      const uint64_t i = Probe(h, key);
      if (ctrl_[i] != 0) continue;  // A later duplicate (ranks ascend).
      const int cls = Classes::Of(rec);
      ++size_;
      ++count_[cls];
      StoreAt(i, h, key, rec, cls, j + 1);
      ++loaded;
    }
    clock_ = static_cast<uint32_t>(n);
    return loaded;
  }

  // Erases `key`'s record; returns whether there was one.
  bool Erase(uint64_t key) {
    const uint64_t i = Lookup(key);
    if (i == kNone) return false;
    EraseAt(i);
    return true;
  }

  // Calls fn(key, record, class, age) for every record, in slot order; age
  // is how many Puts ago it was touched (ties possible beyond 2^30).
  template <typename Fn>
  void ForEach(Fn fn) const {
    Record r;
    for (uint64_t i = 0; i < slot_count_; ++i) {
      if (ctrl_[i] == 0) continue;
      Load(i, &r);
      fn(slot_[i].key, r, ClassOf(ctrl_[i]), clock_ - stamp_[i]);
    }
  }

  // Calls fn(key, record&) on every record, in slot order; `fn` may change
  // the record but not its class. Touches no stamp (the recency order is
  // kept). A changed record that no longer packs moves to the side map.
  template <typename Fn>
  void ForEachMutable(Fn fn) {
    Record r;
    for (uint64_t i = 0; i < slot_count_; ++i) {
      if (ctrl_[i] == 0) continue;
      Load(i, &r);
      fn(slot_[i].key, r);
      StoreAt(i, Mix(slot_[i].key), slot_[i].key, r, ClassOf(ctrl_[i]),
              stamp_[i]);
    }
  }

  // Calls fn(key, record) in eviction order: class by class from the
  // lowest, each from least to most recently touched. Putting the records
  // into an empty table in this order rebuilds the order. Allocates (a
  // sort): for snapshots and tests, not the hot path.
  template <typename Fn>
  void ForEachOldestFirst(Fn fn) const {
    std::vector<std::pair<uint64_t, uint64_t>> order;  // (rank, slot).
    order.reserve(size_);
    for (uint64_t i = 0; i < slot_count_; ++i) {
      if (ctrl_[i] == 0) continue;
      const uint64_t rank = (uint64_t{1} - ClassOf(ctrl_[i])) << 33 |
                            uint64_t{clock_ - stamp_[i]};
      order.emplace_back(rank, i);
    }
    // Highest rank first: the lower class, then the larger age.
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    Record r;
    for (const auto& [rank, i] : order) {
      Load(i, &r);
      fn(slot_[i].key, r);
    }
  }

  // Erases every record for which pred(key, record) is true; returns how
  // many. O(slot_count); allocates the list of keys to erase.
  template <typename Pred>
  size_t EraseIf(Pred pred) {
    std::vector<uint64_t> doomed;
    ForEach([&](uint64_t key, const Record& r, int, uint32_t) {
      if (pred(key, r)) doomed.push_back(key);
    });
    for (uint64_t key : doomed) Erase(key);
    return doomed.size();
  }

  // What a Sweep callback asks for.
  enum class SweepStep { kKeep, kErase, kStop };

  // Visits up to `max_slots` slots from a hand that persists between calls
  // (a CLOCK hand: every slot is visited once per turn), calling
  // fn(key, record) for each record there and erasing it if fn returns
  // kErase; stops early at kStop (that record is visited again next time).
  // Returns true if the hand completed a turn (passed the last slot).
  template <typename Fn>
  bool Sweep(uint64_t max_slots, Fn fn) {
    bool turned = false;
    if (slot_count_ == 0) return false;
    max_slots = std::min(max_slots, slot_count_);
    Record r;
    for (uint64_t n = 0; n < max_slots; ++n) {
      const uint64_t i = hand_;
      if (ctrl_[i] != 0) {
        Load(i, &r);
        const SweepStep step = fn(slot_[i].key, r);
        if (step == SweepStep::kStop) break;
        // An erase shifts the cluster's next record into slot i: it is
        // visited on the next step (or the next call), not skipped.
        if (step == SweepStep::kErase) {
          EraseAt(i);
          continue;
        }
      }
      hand_ = Next(i);
      if (hand_ == 0) turned = true;
    }
    return turned;
  }

  // Drops every record; keeps the arrays.
  void Clear() {
    if (slot_count_ != 0) std::memset(ctrl_.get(), 0, slot_count_);
    size_ = 0;
    for (int c = 0; c < kClasses; ++c) count_[c] = 0;
    hand_ = 0;
    overflow_.clear();
  }

 private:
  static constexpr uint64_t kMinSlots = 8;
  static constexpr uint64_t kNone = ~uint64_t{0};
  static constexpr uint8_t kOccupied = 0x80;
  static constexpr uint8_t kClassBit = 0x40;
  static constexpr uint8_t kOverflow = 0x20;
  static constexpr uint8_t kTagMask = 0x1f;
  // Growth: by a quarter, at least kMinSlots.
  static constexpr uint64_t kGrowNum = 5, kGrowDen = 4;
  // Stamps are renormalized every 2^30 Puts so that no age reaches 2^31
  // and unsigned differences never wrap.
  static constexpr uint32_t kMaxAge = uint32_t{1} << 30;

  // Visitor keys are already SipHash outputs, but tests and the shard
  // choice (the low bits) make a multiplicative mix worth its one multiply.
  // The seed matters for refills: which keys a table holds can depend on
  // their slots (the expiry sweep empties the slots behind its hand first),
  // and loading such a set into a smaller table with the same mapping
  // crowds the regions that kept more keys (measured: a restore of 1M
  // sessions whose source had swept part of its tables probed ~600 slots
  // an insert, regions of a shard holding up to 1.35x the mean).
  uint64_t Mix(uint64_t key) const {
    return (key ^ seed_) * 0x9E3779B97F4A7C15ull;
  }
  uint64_t Home(uint64_t h) const { return HomeIn(h, slot_count_); }
  static uint64_t HomeIn(uint64_t h, uint64_t n) {
    return absl::Uint128High64(absl::uint128(h) * n);
  }
  uint64_t Next(uint64_t i) const { return i + 1 == slot_count_ ? 0 : i + 1; }
  // Steps from slot `from` forward to slot `to`, wrapping.
  uint64_t Dist(uint64_t from, uint64_t to) const {
    return to >= from ? to - from : to + slot_count_ - from;
  }
  static uint8_t Tag(uint64_t h) { return (h >> 20) & kTagMask; }
  static int ClassOf(uint8_t c) {
    return kClasses > 1 && (c & kClassBit) ? 1 : 0;
  }

  // The slot holding `key`, or kNone.
  uint64_t Lookup(uint64_t key) const {
    if (slot_count_ == 0) return kNone;
    const uint64_t i = Probe(Mix(key), key);
    return ctrl_[i] == 0 ? kNone : i;
  }
  // The slot holding `key`, or the empty slot ending its probe sequence.
  // REQUIRES: slot_count_ > 0 (and so an empty slot exists).
  uint64_t Probe(uint64_t h, uint64_t key) const {
    const uint8_t tag = Tag(h);
    for (uint64_t i = Home(h);; i = Next(i)) {
      const uint8_t c = ctrl_[i];
      if (c == 0) return i;
      if ((c & kTagMask) == tag && slot_[i].key == key) return i;
    }
  }

  void Load(uint64_t i, Record* out) const {
    if (!Codec::kExact && (ctrl_[i] & kOverflow)) {
      *out = overflow_.find(slot_[i].key)->second;
    } else {
      Codec::Unpack(slot_[i].rec, out);
    }
  }

  void StoreAt(uint64_t i, uint64_t h, uint64_t key, const Record& rec,
               int cls) {
    StoreAt(i, h, key, rec, cls, ++clock_);
    if ((clock_ & (kMaxAge - 1)) == 0) Renormalize();
  }
  void StoreAt(uint64_t i, uint64_t h, uint64_t key, const Record& rec,
               int cls, uint32_t stamp) {
    const bool was_overflow = (ctrl_[i] & kOverflow) != 0;
    uint8_t c = kOccupied | (cls ? kClassBit : 0) | Tag(h);
    slot_[i].key = key;
    if (Codec::Pack(rec, &slot_[i].rec)) {
      if (!Codec::kExact && was_overflow) overflow_.erase(key);
    } else {
      c |= kOverflow;
      overflow_[key] = rec;
    }
    ctrl_[i] = c;
    stamp_[i] = stamp;
  }

  // Clamps every age to kMaxAge (once every 2^30 Puts, O(slot_count)).
  void Renormalize() {
    for (uint64_t i = 0; i < slot_count_; ++i) {
      if (ctrl_[i] != 0 && clock_ - stamp_[i] > kMaxAge) {
        stamp_[i] = clock_ - kMaxAge;
      }
    }
  }

  // The oldest of the first kSample records of class `cls` from slot
  // `start` on. REQUIRES: count_[cls] > 0.
  uint64_t Victim(uint64_t start, int cls) const {
    uint64_t best = kNone;
    uint32_t best_age = 0;
    int seen = 0;
    for (uint64_t n = 0, i = start; n < slot_count_; ++n, i = Next(i)) {
      const uint8_t c = ctrl_[i];
      if (c == 0 || ClassOf(c) != cls) continue;
      const uint32_t age = clock_ - stamp_[i];
      if (best == kNone || age > best_age) {
        best = i;
        best_age = age;
      }
      if (++seen == kSample) break;
    }
    return best;
  }

  // Empties slot `i`, shifting back the records after it in its cluster
  // that may move closer to their home slot.
  void EraseAt(uint64_t i) {
    --size_;
    --count_[ClassOf(ctrl_[i])];
    if (!Codec::kExact && (ctrl_[i] & kOverflow)) {
      overflow_.erase(slot_[i].key);
    }
    for (uint64_t j = i;;) {
      j = Next(j);
      if (ctrl_[j] == 0) break;
      const uint64_t home = Home(Mix(slot_[j].key));
      // The record at j stays if its home lies cyclically in (i, j].
      if (Dist(home, j) < Dist(i, j)) continue;
      ctrl_[i] = ctrl_[j];
      stamp_[i] = stamp_[j];
      slot_[i] = slot_[j];
      i = j;
    }
    ctrl_[i] = 0;
  }

  // Grows the arrays by a quarter (from 0 to kMinSlots first, to
  // max_slots_ at most) and rehashes.
  void Grow() {
    uint64_t n = slot_count_ * kGrowNum / kGrowDen;
    Resize(std::min(max_slots_,
                    std::max(slot_count_ + kMinSlots, (n + 7) / 8 * 8)));
  }

  // Rehashes into `n` slots. REQUIRES: size_ <= n * 7/8, n a multiple of 8.
  void Resize(uint64_t n) {
    std::unique_ptr<uint8_t[]> ctrl(new uint8_t[n]());
    std::unique_ptr<uint32_t[]> stamp(new uint32_t[n]);
    std::unique_ptr<Slot_[]> slot(new Slot_[n]);
    for (uint64_t i = 0; i < slot_count_; ++i) {
      if (ctrl_[i] == 0) continue;
      uint64_t j = HomeIn(Mix(slot_[i].key), n);
      while (ctrl[j] != 0) j = j + 1 == n ? 0 : j + 1;
      ctrl[j] = ctrl_[i];
      stamp[j] = stamp_[i];
      slot[j] = slot_[i];
    }
    ctrl_ = std::move(ctrl);
    stamp_ = std::move(stamp);
    slot_ = std::move(slot);
    slot_count_ = n;
    hand_ = 0;
  }

  uint64_t capacity_;
  uint64_t seed_;
  uint64_t max_slots_;
  uint64_t slot_count_ = 0;
  std::unique_ptr<uint8_t[]> ctrl_;
  std::unique_ptr<uint32_t[]> stamp_;
  std::unique_ptr<Slot_[]> slot_;
  size_t size_ = 0;
  size_t count_[kClasses] = {};
  uint32_t clock_ = 0;
  uint64_t hand_ = 0;
  absl::flat_hash_map<uint64_t, Record> overflow_;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_FLAT_TABLE_H_
