// Site-wide offers over a sliding window, in kBuckets buckets. The memory
// store keeps one; the Redis store rebuilds one from the stored buckets, so
// both count with this code.
#ifndef BECKON_LIB_RATE_WINDOW_H_
#define BECKON_LIB_RATE_WINDOW_H_

#include <algorithm>
#include <cstdint>

namespace beckon::internal {

class RateWindow {
 public:
  static constexpr int kBuckets = 60;

  explicit RateWindow(int64_t window_ms)
      : width_ms_(std::max<int64_t>(1, (window_ms + kBuckets - 1) / kBuckets)) {
    for (auto& b : buckets_) b = Bucket{-1, 0};
  }

  int64_t width_ms() const { return width_ms_; }
  int64_t BucketOf(int64_t now_ms) const { return now_ms / width_ms_; }

  // Counts offers in the window ending at now_ms, and any recorded at later
  // times (decisions for different visitors may arrive slightly out of
  // order; an offer made "later" is still a recent one).
  int64_t Count(int64_t now_ms) const {
    const int64_t cur = now_ms / width_ms_;
    int64_t n = 0;
    for (const Bucket& b : buckets_) {
      if (b.index > cur - kBuckets) n += b.count;
    }
    return n;
  }

  void Add(int64_t now_ms) { AddToBucket(now_ms / width_ms_, 1); }

  // Adds `count` offers to bucket `index` (a stored bucket being loaded).
  void AddToBucket(int64_t index, int64_t count) {
    if (index < 0) return;
    Bucket& b = buckets_[index % kBuckets];
    // A bucket already reused for a later time: these offers are a whole
    // window older than it, outside every window that bucket still counts in.
    if (b.index > index) return;
    if (b.index != index) b = Bucket{index, 0};
    b.count += count;
  }

  // Returns the earliest time >= now_ms at which fewer than `cap` offers
  // are in the window, if no offer is added.
  int64_t TimeBelow(int64_t now_ms, int64_t cap) const {
    const int64_t cur = now_ms / width_ms_;
    int64_t n = Count(now_ms);
    for (int64_t idx = std::max<int64_t>(0, cur - kBuckets + 1);
         idx <= cur && n >= cap; ++idx) {
      const Bucket& b = buckets_[idx % kBuckets];
      if (b.index != idx) continue;
      n -= b.count;
      if (n < cap) return (idx + kBuckets) * width_ms_;
    }
    return n < cap ? now_ms : (cur + kBuckets + 1) * width_ms_;
  }

 private:
  struct Bucket {
    int64_t index;
    int64_t count;
  };
  int64_t width_ms_;
  Bucket buckets_[kBuckets];
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_RATE_WINDOW_H_
