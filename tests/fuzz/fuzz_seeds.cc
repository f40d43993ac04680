// Writes seed inputs for the fuzz targets into a directory.
//
//   fuzz_seeds restore DIR        # snapshots of engines with some state
//   fuzz_seeds policy_bytes DIR   # the default policy, binary
//   fuzz_seeds policy_text DIR    # the default policy, text
//
// scripts/fuzz.sh and the normal suite make the Restore seeds this way at
// run time, so they always follow the current snapshot format (none are
// committed). The policy seeds under tests/fuzz/corpus/ were written by the
// two other modes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "beckon/engine.h"
#include "beckon/policy.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using beckon::Channel;
using beckon::Engine;
using beckon::Event;

bool Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return static_cast<bool>(out);
}

// An engine with `visitors` visitors: sessions with pages, searches and a
// cart; every third declined, every fifth ignored; free agents set.
std::string Snapshot(int visitors, bool with_agents) {
  auto engine = Engine::Create(beckon::Policy::Default(),
                               beckon::fuzz::RestoreOptions());
  if (!engine.ok()) beckon::fuzz::Fail("Engine::Create");
  Engine& e = **engine;
  int64_t t = 1'700'000'000'000;
  if (with_agents) (void)e.Observe(Event::Agents(t, 3));
  for (int i = 0; i < visitors; ++i) {
    const std::string v = absl::StrCat("visitor-", i);
    t += 1000;
    (void)e.Observe(Event::PageView(t, v, "/", "https://www.google.com/"));
    (void)e.Observe(Event::PageView(t + 5000, v, "/p/12"));
    (void)e.Observe(Event::Search(t + 9000, v, "/search?q=sizes", i % 2));
    (void)e.Observe(Event::PageView(t + 12000, v, "/help/returns"));
    (void)e.Observe(Event::Cart(t + 20000, v, "/cart", 25.5 * i));
    (void)e.Decide(v, t + 90000);
    if (i % 3 == 0) {
      (void)e.Observe(Event::OfferDeclined(t + 95000, v, "/cart",
                                           Channel::kChat));
    }
    if (i % 5 == 0) {
      (void)e.Observe(Event::OfferIgnored(t + 96000, v, "/cart",
                                          Channel::kChat));
    }
  }
  return e.Snapshot();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds restore|policy_bytes|policy_text DIR\n");
    return 2;
  }
  const std::string what = argv[1];
  const std::filesystem::path dir = argv[2];
  std::filesystem::create_directories(dir);
  bool ok = true;
  if (what == "restore") {
    ok &= Write(dir / "empty", Snapshot(0, false));
    ok &= Write(dir / "agents_only", Snapshot(0, true));
    ok &= Write(dir / "one_visitor", Snapshot(1, true));
    ok &= Write(dir / "seven_visitors", Snapshot(7, true));
    ok &= Write(dir / "forty_visitors", Snapshot(40, false));
  } else if (what == "policy_bytes") {
    ok &= Write(dir / "default", beckon::Policy::Default().ToBytes());
  } else if (what == "policy_text") {
    ok &= Write(dir / "default.txtpb", beckon::Policy::Default().ToText());
  } else {
    std::fprintf(stderr, "fuzz_seeds: unknown target \"%s\"\n", what.c_str());
    return 2;
  }
  if (!ok) {
    std::fprintf(stderr, "fuzz_seeds: cannot write into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
