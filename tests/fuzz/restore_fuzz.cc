// Fuzz target: Engine::Restore, the loader of snapshots.
//
// Format-agnostic: it only calls the public API. Whatever the bytes, Restore
// accepts or rejects them; a rejected snapshot changes nothing (the engine's
// own snapshot stays what it was), and an accepted one snapshots again into
// bytes that restore into a fresh engine with the same counts. The seed
// corpus is made at fuzz time by restore_seeds (from Engine::Snapshot of
// engines with some state), so it follows the snapshot format.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "beckon/engine.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::unique_ptr<beckon::Engine> NewEngine() {
  auto e = beckon::Engine::Create(beckon::Policy::Default(),
                                  beckon::fuzz::RestoreOptions());
  if (!e.ok()) beckon::fuzz::Fail("Engine::Create:", e.status().message());
  return *std::move(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trapped = beckon::fuzz::TrapProtobufLogs();
  (void)trapped;
  using beckon::fuzz::Fail;
  std::unique_ptr<beckon::Engine> engine = NewEngine();
  // Some state of its own, so that "changes nothing" can be seen.
  (void)engine->Observe(beckon::Event::PageView(1000, "own", "/help/x"));
  (void)engine->Observe(
      beckon::Event::OfferDeclined(2000, "own", "/help/x", beckon::Channel::kChat));
  const std::string before = engine->Snapshot();

  absl::Status s =
      engine->Restore({reinterpret_cast<const char*>(data), size});
  if (!s.ok()) {
    if (s.message().empty()) Fail("Restore: error without text");
    if (engine->Snapshot() != before) Fail("a rejected Restore changed state");
    return 0;
  }
  const beckon::EngineStats stats = engine->Stats();
  const std::string again = engine->Snapshot();
  std::unique_ptr<beckon::Engine> fresh = NewEngine();
  if (absl::Status r = fresh->Restore(again); !r.ok()) {
    Fail("a restored engine's snapshot does not restore:", r.message());
  }
  const beckon::EngineStats fresh_stats = fresh->Stats();
  if (fresh_stats.live_sessions != stats.live_sessions ||
      fresh_stats.memory_records != stats.memory_records) {
    Fail("snapshot round trip changed the counts");
  }
  // The restored state works: decide and expire over it.
  (void)engine->Decide("own", 3000);
  (void)engine->Expire(int64_t{4} << 40);
  return 0;
}
