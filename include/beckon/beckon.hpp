// beckon: decides when an online shop should proactively offer help to a
// visitor, and when to leave them alone. The stable C++ API.
//
// Start with beckon/engine.h.
#ifndef BECKON_BECKON_HPP_
#define BECKON_BECKON_HPP_

#include "beckon/decision.h"
#include "beckon/engine.h"
#include "beckon/event.h"
#include "beckon/policy.h"
#include "beckon/version.h"

namespace beckon {
// Returns the release version, "MAJOR.MINOR.PATCH".
const char* Version();
}  // namespace beckon

#endif  // BECKON_BECKON_HPP_
