// Crash: a child process records declines and saves snapshots with
// Engine::SnapshotToFile, reporting on a pipe after each save that returned
// OK which declines it covered; the parent SIGKILLs it at random moments, a
// few hundred times, many of them during a save (the state is large enough
// that a save takes tens of milliseconds). After each kill:
//
//   - the file restores (RestoreFromFile succeeds: never half-loaded, never
//     an error that loses the file), in the next child and in the parent;
//   - every decline confirmed saved is there: the parent restores the file
//     into an engine of its own and Decide suppresses each such visitor with
//     reason `declined` (the cooldown is 30 days; the check is an hour on);
//   - leftover temporaries stay bounded: none older than a minute survives
//     a later save (docs/concepts.md, "Snapshot files"), and at the end,
//     aged past that minute, one more save removes them all.
//
// Prints "crash: <kills> kills survived, <n> declines checked, <k> leftover
// temporaries max". BECKON_CRASH_KILLS (default 300) and
// BECKON_CRASH_SECONDS (default 80, a bound on the kill loop) size the run.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

constexpr char kSnapshotName[] = "state.snap";
constexpr int kDeclinesPerSave = 32;
constexpr int kSessionsPerSave = 200;
// Temporaries older than this are removed by the next save
// (docs/concepts.md); a second of slack for file time granularity.
constexpr int64_t kStaleAgeNs = 61'000'000'000;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* s = std::getenv(name);
  const int64_t v = s ? std::atoll(s) : 0;
  return v > 0 ? v : fallback;
}

int64_t RealtimeNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Engine::Options CrashOptions() {
  Engine::Options o;
  // A key of its own, the same in every process (whatever the default is).
  o.visitor_key = {0x63726173682d6b65ULL, 0x792d666f722d7465ULL};
  return o;
}

// Every child of generation `gen` works at simulated times from here on:
// far enough apart that visitors never collide, close enough that the seeded
// sessions stay live (timeout 30 min) for the whole run.
int64_t GenerationTime(int gen) { return kT0 + int64_t{gen} * 2 * kSec; }
// Where the parent checks: after every child's events, within the cooldown.
constexpr int64_t kCheckTime = kT0 + 60 * kMin;

std::string DeclineId(int gen, int k) {
  return absl::StrCat("g", gen, "-d", k);
}

// One line on the pipe; lines are short, so each write is atomic.
void Say(int fd, const std::string& line) {
  const std::string l = line + "\n";
  ssize_t n;
  do {
    n = ::write(fd, l.data(), l.size());
  } while (n < 0 && errno == EINTR);
}

// The child. Restores the file if there is one, then records declines and
// sessions and saves, forever (until killed), or once with `once`. Reports:
//   R <ns> <memory records>        restored (or "R <ns> 0" for no file)
//   F <message>                     a failure; then exits non-zero
//   S <ns> <declines covered>       a save returned OK: declines g<gen>-d0..
// where <ns> is the CLOCK_REALTIME at the start of what the line reports.
[[noreturn]] void Child(int fd, const std::string& dir, int gen,
                        int seed_sessions, bool once) {
  const std::string file = dir + "/" + kSnapshotName;
  absl::StatusOr<std::unique_ptr<Engine>> made =
      Engine::Create(TestPolicy(), CrashOptions());
  if (!made.ok()) {
    Say(fd, absl::StrCat("F create: ", made.status().ToString()));
    ::_exit(2);
  }
  Engine& e = **made;
  const int64_t restore_ns = RealtimeNs();
  struct stat st;
  if (::stat(file.c_str(), &st) == 0) {
    const absl::Status s = e.RestoreFromFile(file);
    if (!s.ok()) {
      Say(fd, absl::StrCat("F restore: ", s.ToString()));
      ::_exit(3);
    }
  }
  Say(fd, absl::StrCat("R ", restore_ns, " ", e.Stats().memory_records));
  int64_t t = GenerationTime(gen);
  for (int i = 0; i < seed_sessions; ++i) {
    const std::string v = absl::StrCat("seed-", i);
    (void)e.Observe(Event::PageView(t, v, i % 3 ? "/p/1" : "/help/returns"));
  }
  int declines = 0;
  int sessions = 0;
  while (true) {
    t += 1;
    for (int i = 0; i < kDeclinesPerSave; ++i) {
      const absl::Status s = e.Observe(Event::OfferDeclined(
          t, DeclineId(gen, declines), "/help", Channel::kChat));
      if (!s.ok()) {
        Say(fd, absl::StrCat("F decline: ", s.ToString()));
        ::_exit(4);
      }
      ++declines;
    }
    for (int i = 0; i < kSessionsPerSave; ++i) {
      (void)e.Observe(
          Event::PageView(t, absl::StrCat("g", gen, "-s", sessions++), "/c/x"));
    }
    const int64_t save_ns = RealtimeNs();
    const absl::Status s = e.SnapshotToFile(file);
    if (!s.ok()) {
      Say(fd, absl::StrCat("F save: ", s.ToString()));
      ::_exit(5);
    }
    Say(fd, absl::StrCat("S ", save_ns, " ", declines));
    if (once) ::_exit(0);
  }
}

struct Report {
  bool restored = false;
  int64_t restore_ns = 0;
  std::vector<std::pair<int64_t, int>> saves;  // (start ns, declines).
  std::vector<std::string> failures;
  int64_t first_line_ns = 0;
};

Report Parse(const std::string& text) {
  Report r;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f[0] == "R" && f.size() == 3) {
      r.restored = true;
      r.restore_ns = std::atoll(f[1].c_str());
    } else if (f[0] == "S" && f.size() == 3) {
      r.saves.emplace_back(std::atoll(f[1].c_str()), std::atoi(f[2].c_str()));
    } else {
      r.failures.push_back(std::string(line));
    }
  }
  return r;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct Spawned {
  pid_t pid = -1;
  int fd = -1;
};

Spawned Spawn(const std::string& dir, int gen, int seed_sessions, bool once) {
  int p[2];
  if (::pipe(p) != 0) return {};
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    Child(p[1], dir, gen, seed_sessions, once);
  }
  ::close(p[1]);
  return {pid, p[0]};
}

// The files in `dir` other than the snapshot: temporaries of saves, with
// their mtimes.
std::vector<std::pair<std::string, int64_t>> Leftovers(const std::string& dir) {
  std::vector<std::pair<std::string, int64_t>> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const struct dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name == kSnapshotName) continue;
    struct stat st;
    if (::lstat((dir + "/" + name).c_str(), &st) != 0) continue;
    out.emplace_back(
        name, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec);
  }
  ::closedir(d);
  return out;
}

// Waits until a file other than the snapshot is created in the watched
// directory (a save's temporary), or `until`. Returns whether one was.
bool WaitForTemporary(int watch_fd,
                      std::chrono::steady_clock::time_point until) {
  alignas(struct inotify_event) char buf[4096];
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return false;
    struct pollfd p = {watch_fd, POLLIN, 0};
    const int ms =
        static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(until - now)
                .count()) +
        1;
    if (::poll(&p, 1, ms) <= 0) continue;
    const ssize_t n = ::read(watch_fd, buf, sizeof(buf));
    for (ssize_t i = 0; n > 0 && i < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + i);
      if (ev->len > 0 && std::strcmp(ev->name, kSnapshotName) != 0) {
        return true;
      }
      i += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
    }
  }
}

// Drains pending events.
void Drain(int watch_fd) {
  char buf[4096];
  while (::read(watch_fd, buf, sizeof(buf)) > 0) {
  }
}

TEST(Crash, KilledSavesLoseNoConfirmedDecline) {
  const int kills_wanted = static_cast<int>(EnvInt("BECKON_CRASH_KILLS", 300));
  const int64_t seconds = EnvInt("BECKON_CRASH_SECONDS", 80);
  const int seed_sessions =
      static_cast<int>(EnvInt("BECKON_CRASH_SESSIONS", 40'000));
  const std::string dir =
      ::testing::TempDir() + "beckon_crash." + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << dir << ": " << strerror(errno);
  const std::string file = dir + "/" + kSnapshotName;

  // Generation 0 seeds the file with many sessions (so that saves take long
  // enough to be interrupted), saves once and exits.
  const auto t_seed = std::chrono::steady_clock::now();
  // The parent watches the directory: the seed's save shows how long a
  // temporary lives (created .. renamed), and later kills aim at that.
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0) << strerror(errno);
  ASSERT_GE(::inotify_add_watch(watch, dir.c_str(), IN_CREATE | IN_MOVED_FROM),
            0);
  Spawned seed = Spawn(dir, 0, seed_sessions, /*once=*/true);
  ASSERT_GT(seed.pid, 0);
  int status = 0;
  double write_ms = 5;
  {
    std::chrono::steady_clock::time_point created{};
    alignas(struct inotify_event) char buf[4096];
    while (::waitpid(seed.pid, &status, WNOHANG) != seed.pid) {
      struct pollfd p = {watch, POLLIN, 0};
      if (::poll(&p, 1, 2) <= 0) continue;
      const auto now = std::chrono::steady_clock::now();
      const ssize_t n = ::read(watch, buf, sizeof(buf));
      for (ssize_t i = 0; n > 0 && i < n;) {
        const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + i);
        if (ev->mask & IN_CREATE) created = now;
        if ((ev->mask & IN_MOVED_FROM) &&
            created != std::chrono::steady_clock::time_point{}) {
          write_ms = std::max(
              0.5,
              std::chrono::duration<double, std::milli>(now - created).count());
        }
        i += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      }
    }
  }
  // From here on creations only (the same watch, a new mask).
  ASSERT_GE(::inotify_add_watch(watch, dir.c_str(), IN_CREATE), 0);
  Report seeded = Parse(ReadAll(seed.fd));
  ::close(seed.fd);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "seed child failed: "
      << (seeded.failures.empty()
              ? std::string("status ") + std::to_string(status)
              : seeded.failures[0]);
  ASSERT_EQ(seeded.saves.size(), 1u);
  const double seed_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - t_seed)
                             .count();
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);

  // Confirmed declines: per generation, how many (g<gen>-d0 .. d<n-1>).
  std::vector<int> confirmed(1, seeded.saves[0].second);
  uint64_t confirmed_total = static_cast<uint64_t>(confirmed[0]);

  std::mt19937_64 rng(0xc0ffee);
  // How long a child takes to restore and to save, learned as the run goes
  // (EWMA); kill delays are drawn over about three saves after the restore.
  double restore_ms = seed_ms / 2, save_ms = seed_ms / 2;
  int kills = 0, kills_in_save = 0, kills_before_restore = 0;
  size_t leftover_max = 0;
  uint64_t checks = 0;
  int64_t cleanup_ns = 0;  // A save that completed started its cleanup here.
  std::set<std::string> seen;  // Temporaries seen so far.
  const auto loop_end =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  // A temporary lives from its creation to its rename: learned from the
  // seed's save, then as the run goes.
  int kills_aimed = 0;
  int gen = 1;
  for (; kills < kills_wanted && std::chrono::steady_clock::now() < loop_end;
       ++gen) {
    Drain(watch);
    Spawned c = Spawn(dir, gen, 0, /*once=*/false);
    ASSERT_GT(c.pid, 0);
    const auto born = std::chrono::steady_clock::now();
    if (gen % 2 == 0) {
      // At a random moment: one kill in eight in the first milliseconds
      // (during the restore), the rest over the restore and three saves.
      const double span =
          rng() % 8 == 0 ? restore_ms : restore_ms + 3 * save_ms;
      std::this_thread::sleep_until(
          born +
          std::chrono::microseconds(static_cast<int64_t>(
              std::uniform_real_distribution<double>(0, span * 1000)(rng))));
    } else {
      // During a write: once a save creates its temporary, at a random
      // moment of the time a temporary lives (write, fsync, rename).
      const auto give_up =
          born + std::chrono::microseconds(
                     static_cast<int64_t>((restore_ms + 3 * save_ms) * 1000));
      if (WaitForTemporary(watch, give_up)) {
        ++kills_aimed;
        std::this_thread::sleep_for(std::chrono::microseconds(
            static_cast<int64_t>(std::uniform_real_distribution<double>(
                0, write_ms * 1200)(rng))));
      }
    }
    ::kill(c.pid, SIGKILL);
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    Report r = Parse(ReadAll(c.fd));
    ::close(c.fd);
    for (const std::string& f : r.failures)
      ADD_FAILURE() << "gen " << gen << ": " << f;
    ASSERT_TRUE(r.failures.empty());
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      FAIL() << "gen " << gen << " ended by itself, status " << status;
    }
    ++kills;
    if (!r.restored) ++kills_before_restore;
    // Learn the timings (the pipe lines carry the child's clock).
    if (r.restored && !r.saves.empty()) {
      const double ms = (r.saves[0].first - r.restore_ns) / 1e6;
      restore_ms = 0.8 * restore_ms + 0.2 * std::max(1.0, ms);
    }
    for (size_t i = 1; i < r.saves.size(); ++i) {
      const double ms = (r.saves[i].first - r.saves[i - 1].first) / 1e6;
      save_ms = 0.8 * save_ms + 0.2 * std::max(1.0, ms);
    }
    confirmed.push_back(r.saves.empty() ? 0 : r.saves.back().second);
    confirmed_total += static_cast<uint64_t>(confirmed.back());
    // A completed save i started its cleanup of stale temporaries after the
    // child's previous line (the restore line, or save i-1's).
    for (size_t i = 0; i < r.saves.size(); ++i) {
      cleanup_ns =
          std::max(cleanup_ns, i == 0 ? r.restore_ns : r.saves[i - 1].first);
    }

    // Leftover temporaries: bounded, and none that a later save should have
    // removed.
    const auto left = Leftovers(dir);
    leftover_max = std::max(leftover_max, left.size());
    bool fresh = false;
    for (const auto& entry : left) fresh |= seen.insert(entry.first).second;
    if (fresh) ++kills_in_save;
    for (const auto& [name, mtime] : left) {
      EXPECT_GT(mtime, cleanup_ns - kStaleAgeNs)
          << name << " is over a minute older than a save that completed "
          << "after it, yet still there";
    }

    // The file restores, and every confirmed decline is in it.
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << "the snapshot file is gone";
    absl::StatusOr<std::unique_ptr<Engine>> check =
        Engine::Create(TestPolicy(), CrashOptions());
    ASSERT_TRUE(check.ok()) << check.status();
    const absl::Status restored = (*check)->RestoreFromFile(file);
    ASSERT_TRUE(restored.ok()) << "after kill " << kills << ": " << restored;
    ASSERT_GE((*check)->Stats().memory_records, confirmed_total);
    for (int g = 0; g < static_cast<int>(confirmed.size()); ++g) {
      for (int k = 0; k < confirmed[g]; ++k) {
        const std::string v = DeclineId(g, k);
        ASSERT_TRUE(
            (*check)->Observe(Event::PageView(kCheckTime, v, "/")).ok());
        const absl::StatusOr<Decision> d = (*check)->Decide(v, kCheckTime);
        ASSERT_TRUE(d.ok()) << d.status();
        ASSERT_EQ(d->reason, Reason::kDeclined)
            << v << " was confirmed saved but is not declined after kill "
            << kills << " (" << ReasonName(d->reason) << ")";
        ++checks;
      }
    }
  }

  // A restart a few minutes later: the temporaries left by the kills are
  // then over a minute old, and the next save removes them (at most 100 per
  // save, docs/concepts.md).
  const auto left = Leftovers(dir);
  for (const auto& [name, mtime] : left) {
    const std::string path = dir + "/" + name;
    struct timespec old[2];
    old[0].tv_sec = old[1].tv_sec = ::time(nullptr) - 300;
    old[0].tv_nsec = old[1].tv_nsec = 0;
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, AT_SYMLINK_NOFOLLOW), 0);
  }
  // Each save removes at most 100: as many saves as that takes, each
  // removing min(100, what is left), and then none is left.
  size_t after = left.size();
  for (int save = 0; save < 1 + static_cast<int>(left.size()) / 100; ++save) {
    Spawned last = Spawn(dir, gen + 1 + save, 0, /*once=*/true);
    ASSERT_EQ(::waitpid(last.pid, &status, 0), last.pid);
    Report lr = Parse(ReadAll(last.fd));
    ::close(last.fd);
    ASSERT_TRUE(lr.failures.empty()) << lr.failures[0];
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    const size_t now = Leftovers(dir).size();
    EXPECT_EQ(now, after > 100 ? after - 100 : 0)
        << after << " aged temporaries before save " << save;
    after = now;
  }
  EXPECT_EQ(after, 0u);

  std::printf(
      "crash: %d kills survived, %llu declines checked, %zu leftover "
      "temporaries max (%d kills left a temporary, %d aimed at a write, "
      "%d before the restore ended; temporary lives ~%.1f ms; %llu decline "
      "checks; %zu left at the end, %zu after aged saves; save ~%.0f ms, "
      "restore ~%.0f ms; snapshot %lld bytes)\n",
      kills, static_cast<unsigned long long>(confirmed_total), leftover_max,
      kills_in_save, kills_aimed, kills_before_restore, write_ms,
      static_cast<unsigned long long>(checks), left.size(), after, save_ms,
      restore_ms, static_cast<long long>(st.st_size));
  EXPECT_GE(kills, std::min(kills_wanted, 100));
  // Enough kills hit a save for the test to mean something.
  EXPECT_GE(kills_in_save, kills / 10);

  ::close(watch);
  for (const auto& [name, mtime] : Leftovers(dir)) {
    std::remove((dir + "/" + name).c_str());
  }
  std::remove(file.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace beckon::testing
