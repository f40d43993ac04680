// The recheck time: when deciding again would give an offer if nothing else
// happens, so that a host sets one timer instead of polling.
#ifndef BECKON_LIB_ENGINE_RECHECK_H_
#define BECKON_LIB_ENGINE_RECHECK_H_

#include <cstdint>
#include <optional>

#include "engine/compiled_policy.h"
#include "engine/features.h"

namespace beckon::internal {

// The earliest t in [from, end of session] at which the session's score
// passes `threshold` (SessionScore::Ready), if nothing else happens; nullopt
// if it does not within the session.
std::optional<int64_t> ReadyTime(const CompiledPolicy& p,
                                 const SessionScore& score, int64_t from,
                                 double threshold);

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_RECHECK_H_
