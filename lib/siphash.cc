#include "siphash.h"

#include <cstring>

namespace beckon::internal {
namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline uint64_t Load64Le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct State {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  }
};

}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data) {
  State s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
          0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  const size_t full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t m = Load64Le(p + i);
    s.v3 ^= m;
    s.Round();
    s.Round();
    s.v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(n) << 56;
  for (size_t i = full; i < n; ++i) {
    b |= static_cast<uint64_t>(p[i]) << (8 * (i - full));
  }
  s.v3 ^= b;
  s.Round();
  s.Round();
  s.v0 ^= b;
  s.v2 ^= 0xff;
  s.Round();
  s.Round();
  s.Round();
  s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace beckon::internal
