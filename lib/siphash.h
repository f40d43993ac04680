// SipHash-2-4: a keyed 64-bit hash, stable across platforms and releases.
// beckon uses it for visitor keys (with the engine's secret key) and for the
// holdout draw (with a key derived from the policy's salt).
#ifndef BECKON_LIB_SIPHASH_H_
#define BECKON_LIB_SIPHASH_H_

#include <cstdint>
#include <string_view>

namespace beckon::internal {

uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data);

}  // namespace beckon::internal

#endif  // BECKON_LIB_SIPHASH_H_
