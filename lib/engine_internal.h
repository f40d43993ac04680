// The bindings' access to an engine's internals (not installed).
#ifndef BECKON_LIB_ENGINE_INTERNAL_H_
#define BECKON_LIB_ENGINE_INTERNAL_H_

#include <memory>

#include "beckon/decision.h"
#include "beckon/engine.h"

namespace beckon::internal {

struct EngineInternal {
  // What `decision` of `engine` reads to make its reasons: a host whose
  // decisions may outlive the engine (the C ABI's decision handles, Python's
  // Decision objects) holds this beside them.
  static std::shared_ptr<const void> ExplainerOf(const Engine& engine,
                                                 const Decision& decision);
  // The explainer `decision` reads (nullptr for a default-made decision).
  static const void* ExplainerOf(const Decision& decision);
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_ENGINE_INTERNAL_H_
