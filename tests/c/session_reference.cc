// The session of the host examples (examples/c/session.c,
// examples/php/session.php, examples/node/session.js) played on the C++
// engine directly, printing the same lines. The host tests compare each
// host's output with this program's: what a host prints through the C ABI
// must be what the C++ engine decides.
//
//   session_reference [REDIS_URL]
//
// With a Redis URL the engines keep their visitors in Redis (the hosts take
// the same argument), without one in memory.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/beckon.hpp"

namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kSec = 1000;

std::string Clock(int64_t ts_ms) {
  const long long s = (ts_ms - kT0) / 1000;
  char buf[32];
  if (s >= 86400) {
    std::snprintf(buf, sizeof(buf), "+%lldd %lld:%02lld", s / 86400,
                  s % 86400 / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "+%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what,
                 v.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(v);
}

void Must(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

class Host {
 public:
  explicit Host(std::unique_ptr<beckon::Engine> engine)
      : engine_(std::move(engine)) {}

  beckon::Engine& engine() { return *engine_; }
  void Replace(std::unique_ptr<beckon::Engine> engine) {
    engine_ = std::move(engine);
  }

  // Observes `e`, prints the event line (and a rejection); asks after a
  // visitor event that was accepted.
  void Event(const beckon::Event& e, const char* who, const char* what) {
    std::printf("%7s  %-10s %s\n", Clock(e.ts_ms).c_str(), who, what);
    const absl::Status s = engine_->Observe(e);
    if (!s.ok()) {
      std::printf("    rejected: %s: %s\n",
                  absl::StatusCodeToString(s.code()).c_str(),
                  std::string(s.message()).c_str());
      return;
    }
    if (e.type != beckon::EventType::kAgents) Ask(e.visitor, e.ts_ms);
  }

  beckon::Decision Ask(std::string_view visitor, int64_t now) {
    beckon::Decision d = Must(engine_->Decide(visitor, now), "Decide");
    std::printf("    %-8s p=%.4f (threshold %.4f) [%s]",
                std::string(beckon::ActionName(d.action)).c_str(),
                d.probability, d.threshold,
                std::string(beckon::ReasonName(d.reason)).c_str());
    if (d.recheck_at_ms) {
      std::printf("  recheck at %s", Clock(*d.recheck_at_ms).c_str());
    }
    std::printf("\n");
    for (const std::string& r : d.reasons()) {
      std::printf("      - %s\n", r.c_str());
    }
    return d;
  }

  void FollowTimer(std::string_view visitor, beckon::Decision d) {
    while (d.action == beckon::Action::kWait && d.recheck_at_ms) {
      const int64_t t = *d.recheck_at_ms;
      std::printf("%7s  %-10s (timer fires; nothing else happened)\n",
                  Clock(t).c_str(), std::string(visitor).c_str());
      d = Ask(visitor, t);
    }
  }

 private:
  std::unique_ptr<beckon::Engine> engine_;
};

}  // namespace

int main(int argc, char** argv) {
  using E = beckon::Event;
  const beckon::Policy policy = beckon::Policy::Default();
  beckon::Engine::Options options;
  if (argc > 1 && argv[1][0] != '\0') {
    options.store = beckon::StoreKind::kRedis;
    options.redis = Must(beckon::RedisOptions::FromUrl(argv[1]), "FromUrl");
  }
  Host host(Must(beckon::Engine::Create(policy, options), "Engine::Create"));
  const int64_t week = 7LL * 86400 * kSec;

  std::printf("beckon %s (ABI %d) on the policy \"%s\"\n", beckon::Version(),
              BECKON_ABI_VERSION, policy.name().c_str());

  std::printf(
      "\n1. A visitor gets stuck looking for how to return an item\n\n");
  host.Event(E::Agents(kT0, 3), "(site)", "3 agents free");
  host.Event(E::PageView(kT0, "anna", "/",
                         "https://www.google.com/search?q=shop+returns"),
             "anna", "lands on / from a search engine");
  host.Event(E::PageView(kT0 + 20 * kSec, "anna", "/p/4711"), "anna",
             "views /p/4711");
  host.Event(E::Search(kT0 + 70 * kSec, "anna", "/search?q=return+label", 0),
             "anna", "searches \"return label\": no results");
  host.Event(E::Search(kT0 + 85 * kSec, "anna", "/search?q=returns", 0), "anna",
             "searches \"returns\": no results");
  host.Event(E::PageView(kT0 + 100 * kSec, "anna", "/help/returns"), "anna",
             "opens /help/returns");
  host.FollowTimer("anna", host.Ask("anna", kT0 + 110 * kSec));

  std::printf("\n2. She says \"no thanks\"; a late page view is rejected\n\n");
  // Offer outcomes are reported without asking again.
  for (const auto& [e, what] :
       {std::pair{E::OfferShown(kT0 + 146 * kSec, "anna", "/help/returns",
                                beckon::Channel::kChat),
                  "the chat invitation is shown"},
        std::pair{E::OfferDeclined(kT0 + 150 * kSec, "anna", "/help/returns",
                                   beckon::Channel::kChat),
                  "declines it"}}) {
    std::printf("%7s  %-10s %s\n", Clock(e.ts_ms).c_str(), "anna", what);
    Must(host.engine().Observe(e), "Observe");
  }
  host.Event(E::PageView(kT0 + 140 * kSec, "anna", "/help/returns"), "anna",
             "a page view reported late, out of order");

  std::printf("\n3. A browsing visitor buys; nobody interrupts\n\n");
  host.Event(E::PageView(kT0 + 200 * kSec, "ben", "/c/shoes"), "ben",
             "views /c/shoes");
  host.Event(E::PageView(kT0 + 230 * kSec, "ben", "/p/1001"), "ben",
             "views /p/1001");
  host.Event(E::Cart(kT0 + 260 * kSec, "ben", "/p/1001", 59.90), "ben",
             "adds to cart (59.90)");
  host.Event(E::Purchase(kT0 + 290 * kSec, "ben", "/checkout/done", 59.90),
             "ben", "buys (59.90)");

  std::printf("\n4. No agent is free: nobody is invited\n\n");
  host.Event(E::Agents(kT0 + 300 * kSec, 0), "(site)", "0 agents free");
  host.Event(E::PageView(kT0 + 300 * kSec, "carl", "/checkout/address"), "carl",
             "views /checkout/address");
  host.Event(E::PageView(kT0 + 301 * kSec, "carl", "/checkout/address"), "carl",
             "reloads it (form error?)");
  host.Ask("carl", kT0 + 301 * kSec + 12 * 60 * kSec);

  std::printf("\n5. The shop restarts: snapshot, a new engine, restore\n\n");
  const std::string snapshot =
      Must(host.engine().SnapshotOrError(), "Snapshot");
  const std::string policy_bytes = host.engine().policy().ToBytes();
  host.Replace(nullptr);
  host.Replace(Must(
      beckon::Engine::Create(
          Must(beckon::Policy::FromBytes(policy_bytes), "FromBytes"), options),
      "Engine::Create"));
  Must(host.engine().Restore(snapshot), "Restore");
  std::printf("    restored a snapshot of %lu bytes\n",
              static_cast<unsigned long>(snapshot.size()));

  std::printf(
      "\n6. A week later she is back: beckon still leaves her "
      "alone\n\n");
  host.Event(E::Agents(kT0 + week, 2), "(site)", "2 agents free");
  host.Event(E::PageView(kT0 + week, "anna", "/checkout/payment"), "anna",
             "a new session, stuck in checkout");
  host.Ask("anna", kT0 + week + 10 * 60 * kSec);
  std::printf("%7s  %-10s %s\n", Clock(kT0 + week + 10 * 60 * kSec).c_str(),
              "(site)", "the host's periodic expiry of idle sessions");
  Must(host.engine().Expire(kT0 + week + 10 * 60 * kSec), "Expire");

  const beckon::EngineStats st = host.engine().Stats();
  std::printf(
      "\nstats since the restart: %llu sessions started, %llu live, "
      "%llu memory records, %llu events observed, %llu rejected; "
      "decisions: %llu offer, %llu wait, %llu suppress\n",
      static_cast<unsigned long long>(st.sessions_started),
      static_cast<unsigned long long>(st.live_sessions),
      static_cast<unsigned long long>(st.memory_records),
      static_cast<unsigned long long>(st.events_observed),
      static_cast<unsigned long long>(st.events_rejected),
      static_cast<unsigned long long>(st.decisions_by_action[0]),
      static_cast<unsigned long long>(st.decisions_by_action[1]),
      static_cast<unsigned long long>(st.decisions_by_action[2]));
  return 0;
}
