// A minimal consumer of an installed or vendored beckon: one page view, one
// decision. Exits 0 only if the engine was created and decided.
#include <cstdint>
#include <cstdio>
#include <string>

#include "beckon/beckon.hpp"

int main() {
  constexpr int64_t kT0 = 1700000000000;

  auto engine = beckon::Engine::Create(beckon::Policy::Default());
  if (!engine.ok()) {
    std::fprintf(stderr, "Engine::Create failed: %s\n",
                 engine.status().ToString().c_str());
    return 1;
  }

  const absl::Status observed =
      (*engine)->Observe(beckon::Event::PageView(kT0, "v1", "/help/x"));
  if (!observed.ok()) {
    std::fprintf(stderr, "Observe failed: %s\n", observed.ToString().c_str());
    return 1;
  }

  const absl::StatusOr<beckon::Decision> decision =
      (*engine)->Decide("v1", kT0 + 60 * 1000);
  if (!decision.ok()) {
    std::fprintf(stderr, "Decide failed: %s\n",
                 decision.status().ToString().c_str());
    return 1;
  }

  std::printf("beckon %s: %s\n", beckon::Version(),
              std::string(beckon::ActionName(decision->action)).c_str());
  return 0;
}
