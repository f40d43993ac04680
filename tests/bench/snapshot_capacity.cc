// Capacity planning figures for docs/operations.md: memory per live session
// and per decline record, and the time and peak memory of Snapshot,
// SnapshotToFile and RestoreFromFile, at a given number of visitors.
//   snapshot_capacity [visitors=1000000] [dir=/tmp] [big] [pages=1]
// With "big": sessions only, saved to a file and restored into a fresh
// engine after the first is gone; `40000000 /tmp big 3` makes a 2.05 GiB
// snapshot (past protobuf's 2 GiB message limit) and needs ~13 GB.
// Peak memory is the growth of the resident set's high-water mark over the
// step (reset before each step through /proc/self/clear_refs).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "beckon/beckon.hpp"

namespace {

long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string f = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, f.size(), f) == 0) return std::atol(line.c_str() + f.size());
  }
  return -1;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }
double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  const std::string path = dir + "/beckon_capacity.snap";
  const long pages = argc > 4 ? std::atol(argv[4]) : 1;  // Per visitor.
  beckon::Engine::Options o;
  o.max_sessions = 2 * n;
  o.max_memory_records = 2 * n;
  o.visitor_key = {1, 2};
  auto created = beckon::Engine::Create(beckon::Policy::Default(), o);
  if (!created.ok()) return 1;
  beckon::Engine& e = **created;
  const int64_t t0 = 1'700'000'000'000;
  const long rss0 = StatusKb("VmRSS");
  for (long i = 0; i < n; ++i) {
    const std::string v = "visitor-" + std::to_string(i);
    for (long k = 0; k < pages; ++k) {
      if (!e.Observe(beckon::Event::PageView(
                         t0 + i / 10000 + k,  v,
                         "/p/" + std::to_string((i + k) % 5000)))
               .ok()) {
        return 2;
      }
    }
  }
  const long rss1 = StatusKb("VmRSS");
  if (argc > 3 && std::string(argv[3]) == "big") {
    auto t = std::chrono::steady_clock::now();
    if (absl::Status s = e.SnapshotToFile(path); !s.ok()) {
      std::printf("SnapshotToFile: %s\n", s.ToString().c_str());
      return 4;
    }
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    std::printf("%ld sessions: SnapshotToFile %.1f s, %.2f GiB\n", n,
                Seconds(t), static_cast<double>(f.tellg()) / (1 << 30));
    created->reset();
    auto fresh = beckon::Engine::Create(beckon::Policy::Default(), o);
    if (!fresh.ok()) return 5;
    t = std::chrono::steady_clock::now();
    if (absl::Status s = (*fresh)->RestoreFromFile(path); !s.ok()) {
      std::printf("RestoreFromFile: %s\n", s.ToString().c_str());
      return 6;
    }
    std::printf("RestoreFromFile %.1f s: %lu live sessions\n", Seconds(t),
                static_cast<unsigned long>((*fresh)->Stats().live_sessions));
    std::remove(path.c_str());
    return (*fresh)->Stats().live_sessions == static_cast<uint64_t>(n) ? 0 : 7;
  }
  // Declines of other visitors (no session kept for them beyond the above).
  for (long i = 0; i < n; ++i) {
    const std::string v = "decliner-" + std::to_string(i);
    if (!e.Observe(beckon::Event::OfferDeclined(t0 + n + i, v, "/help", beckon::Channel::kChat)).ok()) return 3;
  }
  const long rss2 = StatusKb("VmRSS");
  std::printf("visitors %ld: RSS +%.0f B per live session, +%.0f B per decline record\n",
              n, (rss1 - rss0) * 1024.0 / n, (rss2 - rss1) * 1024.0 / n);
  ResetPeak();
  long base = StatusKb("VmRSS");
  auto t = std::chrono::steady_clock::now();
  size_t bytes = 0;
  {
    const std::string s = e.Snapshot();
    bytes = s.size();
  }
  std::printf("Snapshot: %.2f s, %.1f MiB, peak +%.0f MiB\n", Seconds(t),
              bytes / 1048576.0, (StatusKb("VmHWM") - base) / 1024.0);
  ResetPeak();
  base = StatusKb("VmRSS");
  t = std::chrono::steady_clock::now();
  if (!e.SnapshotToFile(path).ok()) return 4;
  std::printf("SnapshotToFile: %.2f s, peak +%.0f MiB\n", Seconds(t),
              (StatusKb("VmHWM") - base) / 1024.0);
  auto other = beckon::Engine::Create(beckon::Policy::Default(), o);
  if (!other.ok()) return 5;
  ResetPeak();
  base = StatusKb("VmRSS");
  t = std::chrono::steady_clock::now();
  if (!(*other)->RestoreFromFile(path).ok()) return 6;
  std::printf("RestoreFromFile: %.2f s, peak +%.0f MiB (the restored state included)\n",
              Seconds(t), (StatusKb("VmHWM") - base) / 1024.0);
  std::remove(path.c_str());
  return 0;
}
