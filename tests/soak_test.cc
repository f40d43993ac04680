// Soak: a randomized multi-threaded run of the engine, checked against a
// small reference model of the rules (docs/concepts.md sections 3, 7 and 8).
//
// Four threads each own their visitors, so the model of a visitor is touched
// by one thread only and is exact whatever the interleaving: it knows the
// session (timeout, offers, last offer, engaged, the pending own offer) and
// the decline/ignore memory. Site-wide state changes only at barriers
// between rounds: the free-agent count, Snapshot + Restore (of the state
// just taken, so the model stays exact) and SnapshotToFile +
// RestoreFromFile. Within a round other threads call Snapshot, Stats and
// Expire(round start) concurrently (none of which changes what the model
// predicts). The rate window is the one shared thing the model does not
// predict: it can only turn an offer into a suppress.
//
// Checked at every Decide:
//   violations (safety): an offer without a live session, within a decline
//   cooldown, with the ignored gate closed, in an engaged session, at the
//   session cap, within the minimum gap, or with 0 free agents reported;
//   mismatches (exactness): with a visitor gate closed, the decision is that
//   gate's suppress (the first in the documented order); without a live
//   session it is wait / no_session.
//
// BECKON_SOAK_SECONDS sets the wall-clock length (default 30).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine_test_util.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kVisitorsPerThread = 48;
constexpr int kOpsPerRound = 200;  // Per thread and round.

// The gates of the run: short enough that cooldowns, gaps and session
// timeouts open and close many times within the run's simulated hours.
constexpr int64_t kTimeoutMs = 300 * kSec;
constexpr int64_t kDeclineCooldownMs = 900 * kSec;
constexpr int64_t kIgnoredCooldownMs = 400 * kSec;
constexpr uint32_t kIgnoredCap = 2;
constexpr uint32_t kSessionCap = 3;
constexpr int64_t kMinGapMs = 60 * kSec;

Policy SoakPolicy() {
  return TestPolicy([](proto::Policy& p) {
    auto* g = p.mutable_gates();
    g->set_decline_cooldown_s(kDeclineCooldownMs / 1000);
    g->set_ignored_cap(kIgnoredCap);
    g->set_ignored_cooldown_s(kIgnoredCooldownMs / 1000);
    g->set_max_offers_per_session(kSessionCap);
    g->set_min_gap_s(kMinGapMs / 1000);
    g->set_holdout_fraction(0.05);
    p.mutable_session()->set_timeout_s(kTimeoutMs / 1000);
    // Most visitors reach the threshold once they have dwelt long enough,
    // so the gates, not the score, decide most of the time.
    p.mutable_model()->set_bias(0.5);
  });
}

// The reference model of one visitor.
struct Visitor {
  std::string id;
  // Session.
  bool has_session = false;
  int64_t last_event = 0;
  uint32_t offers = 0;
  std::optional<int64_t> last_offer;
  bool engaged = false;
  bool pending = false;  // The engine's own offer, not yet shown.
  // Memory.
  std::optional<int64_t> last_decline;
  std::optional<int64_t> last_ignore;
  uint32_t ignored = 0;

  bool Live(int64_t t) const {
    return has_session && t - last_event <= kTimeoutMs;
  }
  // Every visitor event (docs/concepts.md section 2, steps 2 and 3).
  void Touch(int64_t t) {
    if (!has_session || t - last_event > kTimeoutMs) {
      has_session = true;
      offers = 0;
      last_offer.reset();
      engaged = false;
      pending = false;
    }
    last_event = t;
  }
  // The first closed visitor gate at t, in the documented order.
  std::optional<Reason> ClosedGate(int64_t t) const {
    if (last_decline && t < *last_decline + kDeclineCooldownMs) {
      return Reason::kDeclined;
    }
    if (last_ignore && ignored >= kIgnoredCap &&
        t < *last_ignore + kIgnoredCooldownMs) {
      return Reason::kIgnored;
    }
    if (engaged) return Reason::kEngaged;
    if (offers >= kSessionCap) return Reason::kSessionCap;
    if (last_offer && t < *last_offer + kMinGapMs) return Reason::kMinGap;
    return std::nullopt;
  }
};

// A barrier for a fixed number of threads (std::barrier is C++20).
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t gen = gen_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++gen_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return gen_ != gen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int n_;
  int waiting_ = 0;
  uint64_t gen_ = 0;
};

struct Rng {
  uint64_t x;
  uint64_t Next() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
};

struct Tally {
  uint64_t ops = 0;
  uint64_t offers = 0;
  uint64_t decisions = 0;
  uint64_t violations = 0;
  uint64_t mismatches = 0;
  uint64_t errors = 0;             // Calls that failed (none should).
  std::vector<std::string> first;  // The first few problems, for the log.
  void Problem(uint64_t& counter, std::string what) {
    ++counter;
    if (first.size() < 10) first.push_back(std::move(what));
  }
};

double SoakSeconds() {
  const char* s = std::getenv("BECKON_SOAK_SECONDS");
  const double v = s ? std::atof(s) : 0;
  return v > 0 ? v : 30;
}

TEST(Soak, RandomConcurrentRunKeepsEveryGate) {
  Engine::Options o;
  o.shards = 16;
  o.visitor_key = {0x736f616b2d6b6579ULL, 0x0123456789abcdefULL};
  // Room for everything: the model assumes nothing is evicted (checked).
  o.max_sessions = 1 << 20;
  o.max_memory_records = 1 << 20;
  std::unique_ptr<Engine> engine = MakeEngine(SoakPolicy(), o);
  ASSERT_NE(engine, nullptr);
  Engine& e = *engine;

  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(SoakSeconds() * 1000));
  const std::string file =
      ::testing::TempDir() + "soak_snapshot." + std::to_string(::getpid());

  Barrier barrier(kThreads);
  // Written by thread 0 between the two barriers of a round's start, read
  // by every thread after the second.
  int64_t round_start = kT0;
  int64_t agents = -1;  // Not reported yet.
  bool stop = false;
  constexpr int64_t kRoundMs = kOpsPerRound * 250;  // Simulated, per round.
  std::atomic<uint64_t> restores{0}, file_restores{0}, rounds{0};
  std::vector<Tally> tallies(kThreads);

  auto work = [&](int ti) {
    Tally& tally = tallies[ti];
    Rng rng{0x9e3779b97f4a7c15ULL * (ti + 7)};
    std::vector<Visitor> vs(kVisitorsPerThread);
    uint64_t fresh = 0;
    for (auto& v : vs) {
      v.id = "t" + std::to_string(ti) + "-v" + std::to_string(fresh++);
    }
    const char* pages[] = {"/",           "/help/returns", "/p/1", "/p/2",
                           "/checkout/a", "/checkout/b",   "/faq", "/c/x",
                           "/contact",    "/cart"};
    auto check = [&](absl::Status s, const char* what) {
      if (!s.ok())
        tally.Problem(tally.errors,
                      std::string(what) + ": " + std::string(s.message()));
    };
    while (true) {
      barrier.Wait();
      if (ti == 0) {
        const bool out = std::chrono::steady_clock::now() >= deadline;
        if (out) {
          stop = true;
        } else if (rounds.load() > 0) {
          round_start += kRoundMs;
          // Site-wide changes, while no other thread runs.
          const uint64_t r = rng.Below(100);
          if (r < 5) {
            const std::string snap = e.Snapshot();
            const EngineStats before = e.Stats();
            check(e.Restore(snap), "Restore");
            const EngineStats after = e.Stats();
            if (after.live_sessions != before.live_sessions ||
                after.memory_records != before.memory_records) {
              tally.Problem(tally.mismatches, "Restore changed record counts");
            }
            ++restores;
          } else if (r < 6) {
            check(e.SnapshotToFile(file), "SnapshotToFile");
            check(e.RestoreFromFile(file), "RestoreFromFile");
            ++file_restores;
          }
          if (rng.Below(3) != 0) {
            static constexpr int64_t kAgents[] = {0, 0, 1, 2, 3, 5, 20, 1000};
            agents = kAgents[rng.Below(8)];
            check(e.Observe(Event::Agents(round_start, agents)), "Agents");
          }
        }
        ++rounds;
      }
      barrier.Wait();
      if (stop) break;
      const int64_t start = round_start;
      const int64_t site_agents = agents;
      // Half of the visitors sit this round out, so sessions time out. A
      // visitor whose session could time out within the round sits it out
      // too: Observe also removes other visitors' sessions that are idle
      // past the timeout at its own event's time (docs/concepts.md section
      // 12), and another thread's clock may be up to a round ahead of this
      // one's, so whether such a session is still there is not exact.
      std::vector<int> active;
      for (int i = 0; i < kVisitorsPerThread; ++i) {
        const Visitor& v = vs[i];
        const int64_t dies = v.last_event + kTimeoutMs;
        if (v.has_session && dies >= start && dies < start + kRoundMs) continue;
        if (rng.Below(2)) active.push_back(i);
      }
      if (active.empty()) continue;
      int64_t t = start;
      for (int op = 0; op < kOpsPerRound; ++op) {
        t += static_cast<int64_t>(rng.Below(250));  // < kRoundMs / ops.
        Visitor& v = vs[active[rng.Below(active.size())]];
        ++tally.ops;
        const uint64_t what = rng.Below(100);
        if (what < 40) {
          const absl::StatusOr<Decision> d = e.Decide(v.id, t);
          if (!d.ok()) {
            tally.Problem(tally.errors,
                          "Decide: " + std::string(d.status().message()));
            continue;
          }
          ++tally.decisions;
          const bool offer = d->action == Action::kOffer;
          const std::string at = v.id + " at " + std::to_string(t - kT0);
          if (!v.Live(t)) {
            if (offer)
              tally.Problem(tally.violations, "offer, no session: " + at);
            if (d->reason != Reason::kNoSession) {
              tally.Problem(tally.mismatches, "not no_session: " + at);
            }
            continue;
          }
          const std::optional<Reason> gate = v.ClosedGate(t);
          if (offer && gate) {
            tally.Problem(tally.violations, "offer with " +
                                                std::string(ReasonName(*gate)) +
                                                " closed: " + at);
          }
          if (offer && site_agents == 0) {
            tally.Problem(tally.violations, "offer with 0 free agents: " + at);
          }
          if (gate && (d->action != Action::kSuppress || d->reason != *gate)) {
            tally.Problem(tally.mismatches,
                          "expected " + std::string(ReasonName(*gate)) +
                              ", got " + std::string(ReasonName(d->reason)) +
                              ": " + at);
          }
          if (offer) {
            ++tally.offers;
            ++v.offers;
            v.last_offer = t;
            v.pending = true;
            v.last_event = std::max(v.last_event, t);
          }
          continue;
        }
        Event ev;
        if (what < 68) {
          ev = Event::PageView(t, v.id, pages[rng.Below(10)],
                               rng.Below(8) ? "" : "https://www.google.com/");
        } else if (what < 74) {
          ev = Event::Search(t, v.id, "/search?q=x",
                             static_cast<int64_t>(rng.Below(3)));
        } else if (what < 77) {
          ev = Event::Cart(t, v.id, "/cart",
                           static_cast<double>(rng.Below(300)));
        } else if (what < 83) {
          ev = Event::OfferShown(t, v.id, "/", Channel::kChat);
        } else if (what < 87) {
          ev = Event::OfferDeclined(t, v.id, "/", Channel::kChat);
        } else if (what < 95) {
          ev = Event::OfferIgnored(t, v.id, "/", Channel::kChat);
        } else if (what < 97) {
          ev = rng.Below(2)
                   ? Event::HelpContact(t, v.id, "/", Channel::kChat)
                   : Event::OfferAccepted(t, v.id, "/", Channel::kChat);
        } else if (what < 98) {
          ev = Event::Purchase(t, v.id, "/checkout/done", 10);
        } else {
          // A fresh visitor takes this one's place (the state grows).
          v = Visitor();
          v.id = "t" + std::to_string(ti) + "-v" + std::to_string(fresh++);
          ev = Event::PageView(t, v.id, "/");
        }
        const absl::Status s = e.Observe(ev);
        if (!s.ok()) {
          tally.Problem(tally.errors, "Observe " +
                                          std::string(EventTypeName(ev.type)) +
                                          ": " + std::string(s.message()));
          continue;
        }
        v.Touch(t);
        switch (ev.type) {
          case EventType::kOfferShown:
            if (v.pending) {
              v.pending = false;
            } else {
              ++v.offers;
              v.last_offer = t;
            }
            break;
          case EventType::kHelpContact:
          case EventType::kOfferAccepted:
            v.engaged = true;
            v.pending = false;
            break;
          case EventType::kOfferDeclined:
            v.last_decline = t;
            v.pending = false;
            break;
          case EventType::kOfferIgnored:
            if (v.last_ignore && t >= *v.last_ignore + kIgnoredCooldownMs) {
              v.ignored = 0;  // Forgiven.
            }
            ++v.ignored;
            v.last_ignore = t;
            v.pending = false;
            break;
          default:
            break;
        }
        // Concurrent readers and the expiry of what is idle at the round's
        // start (which nothing later in the round can still be using).
        if (op % 100 == 50 && rng.Below(4) == 0) {
          if (ti == 1) (void)e.Snapshot();
          if (ti == 2) check(e.Expire(start), "Expire");
          if (ti == 3) (void)e.Stats();
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(work, i);
  for (auto& th : threads) th.join();
  std::remove(file.c_str());

  Tally all;
  for (const Tally& t : tallies) {
    all.ops += t.ops;
    all.offers += t.offers;
    all.decisions += t.decisions;
    all.violations += t.violations;
    all.mismatches += t.mismatches;
    all.errors += t.errors;
    for (const std::string& s : t.first) ADD_FAILURE() << s;
  }
  const EngineStats st = e.Stats();
  std::printf(
      "soak: %llu operations, %llu offers, %llu violations (%llu decisions, "
      "%llu mismatches, %llu errors; %llu rounds, %llu restores, %llu from "
      "file; %llu sessions, %llu memory records)\n",
      static_cast<unsigned long long>(all.ops),
      static_cast<unsigned long long>(all.offers),
      static_cast<unsigned long long>(all.violations),
      static_cast<unsigned long long>(all.decisions),
      static_cast<unsigned long long>(all.mismatches),
      static_cast<unsigned long long>(all.errors),
      static_cast<unsigned long long>(rounds.load()),
      static_cast<unsigned long long>(restores.load()),
      static_cast<unsigned long long>(file_restores.load()),
      static_cast<unsigned long long>(st.live_sessions),
      static_cast<unsigned long long>(st.memory_records));
  EXPECT_EQ(all.violations, 0u);
  EXPECT_EQ(all.mismatches, 0u);
  EXPECT_EQ(all.errors, 0u);
  // The model is exact only if nothing was evicted.
  EXPECT_EQ(st.sessions_evicted, 0u);
  EXPECT_EQ(st.memory_evicted, 0u);
  // The run exercised what it checks.
  EXPECT_GT(all.offers, 1000u);
  EXPECT_GT(restores.load() + file_restores.load(), 0u);
  EXPECT_GT(st.decisions_by_reason[static_cast<int>(Reason::kDeclined)], 0u);
  EXPECT_GT(st.decisions_by_reason[static_cast<int>(Reason::kNoAgents)], 0u);
  EXPECT_GT(st.decisions_by_reason[static_cast<int>(Reason::kSessionCap)], 0u);
  EXPECT_GT(st.decisions_by_reason[static_cast<int>(Reason::kMinGap)], 0u);
}

}  // namespace
}  // namespace beckon::testing
