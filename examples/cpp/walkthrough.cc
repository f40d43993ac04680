// A walk-through of beckon on the built-in default policy: plays visitor
// sessions through the engine and prints every decision with its reasons.
//
//   beckon_walkthrough            # the story, readable
//
// A host does the same: Observe() each event as it happens, Decide() after
// it, and when the answer is "wait" with a recheck time, set one timer.
#include <cstdio>
#include <string>

#include "beckon/beckon.hpp"

namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // A Tuesday in November 2023.

// "+2:25" (minutes:seconds since the story began), "+7d 0:00" later on.
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

void Print(const beckon::Decision& d, int64_t now) {
  std::printf("    %-8s p=%.2f (threshold %.2f) [%s]",
              std::string(beckon::ActionName(d.action)).c_str(),
              d.probability, d.threshold,
              std::string(beckon::ReasonName(d.reason)).c_str());
  if (d.recheck_at_ms) {
    std::printf("  recheck at %s", Clock(*d.recheck_at_ms).c_str());
  }
  std::printf("\n");
  for (const std::string& r : d.reasons()) std::printf("      - %s\n", r.c_str());
}

class Host {
 public:
  explicit Host(beckon::Engine& engine) : engine_(engine) {}

  // Observes an event, then asks; prints both.
  void Event(const beckon::Event& e, const char* what) {
    std::printf("%7s  %-10s %s\n", Clock(e.ts_ms).c_str(),
                std::string(e.visitor).c_str(), what);
    if (absl::Status s = engine_.Observe(e); !s.ok()) {
      std::printf("    rejected: %s\n", std::string(s.message()).c_str());
      return;
    }
    if (e.type != beckon::EventType::kAgents) Ask(e.visitor, e.ts_ms);
  }

  // Asks at `now`, as a host's timer would.
  beckon::Decision Ask(std::string_view visitor, int64_t now) {
    absl::StatusOr<beckon::Decision> d = engine_.Decide(visitor, now);
    if (!d.ok()) {
      std::printf("    error: %s\n", std::string(d.status().message()).c_str());
      return {};
    }
    Print(*d, now);
    return *d;
  }

  // Follows recheck times until the answer is no longer "wait".
  beckon::Decision FollowTimer(std::string_view visitor,
                               const beckon::Decision& first) {
    beckon::Decision d = first;
    while (d.action == beckon::Action::kWait && d.recheck_at_ms) {
      const int64_t t = *d.recheck_at_ms;
      std::printf("%7s  %-10s (timer fires; nothing else happened)\n",
                  Clock(t).c_str(), std::string(visitor).c_str());
      d = Ask(visitor, t);
    }
    return d;
  }

 private:
  beckon::Engine& engine_;
};

}  // namespace

int main() {
  beckon::Policy policy = beckon::Policy::Default();
  absl::StatusOr<std::unique_ptr<beckon::Engine>> engine =
      beckon::Engine::Create(policy);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  Host host(**engine);
  using E = beckon::Event;
  const int64_t s = 1000;  // One second.

  std::printf("beckon %s walk-through on the built-in policy \"%s\"\n\n",
              beckon::Version(), policy.name().c_str());
  std::printf("1. A visitor who gets stuck looking for how to return an item\n\n");
  host.Event(E::Agents(kT0, 3), "3 agents free");
  host.Event(E::PageView(kT0, "anna", "/",
                         "https://www.google.com/search?q=shop+returns"),
             "lands on / from a search engine");
  host.Event(E::PageView(kT0 + 20 * s, "anna", "/p/4711"), "views /p/4711");
  host.Event(E::Search(kT0 + 70 * s, "anna", "/search?q=return+label", 0),
             "searches \"return label\": no results");
  host.Event(E::Search(kT0 + 85 * s, "anna", "/search?q=returns", 0),
             "searches \"returns\": no results");
  host.Event(E::PageView(kT0 + 100 * s, "anna", "/help/returns"),
             "opens /help/returns");
  beckon::Decision d = host.Ask("anna", kT0 + 110 * s);
  d = host.FollowTimer("anna", d);

  std::printf("\n2. She says \"no thanks\"; beckon leaves her alone, even "
              "next week\n\n");
  host.Event(E::OfferShown(kT0 + 146 * s, "anna", "/help/returns",
                           beckon::Channel::kChat),
             "the chat invitation is shown");
  host.Event(E::OfferDeclined(kT0 + 150 * s, "anna", "/help/returns",
                              beckon::Channel::kChat),
             "declines it");
  const int64_t week = 7LL * 86400 * s;
  host.Event(E::PageView(kT0 + week, "anna", "/checkout/payment"),
             "a week later: a new session, stuck in checkout");
  host.Ask("anna", kT0 + week + 10 * 60 * s);

  std::printf("\n3. A browsing visitor: wait, then nothing (no offer without "
              "signs of trouble)\n\n");
  host.Event(E::PageView(kT0 + 200 * s, "ben", "/c/shoes"), "views /c/shoes");
  host.Event(E::PageView(kT0 + 230 * s, "ben", "/p/1001"), "views /p/1001");
  host.Event(E::Cart(kT0 + 260 * s, "ben", "/p/1001", 59.90), "adds to cart");

  std::printf("\n4. No agent is free: nobody is invited\n\n");
  host.Event(E::Agents(kT0 + 300 * s, 0), "0 agents free");
  host.Event(E::PageView(kT0 + 300 * s, "carl", "/checkout/address"),
             "views /checkout/address");
  host.Event(E::PageView(kT0 + 301 * s, "carl", "/checkout/address"),
             "reloads it (form error?)");
  host.Ask("carl", kT0 + 301 * s + 12 * 60 * s);

  const beckon::EngineStats st = (*engine)->Stats();
  std::printf("\nstats: %llu sessions started, %llu live, %llu memory records; "
              "decisions: %llu offer, %llu wait, %llu suppress\n",
              static_cast<unsigned long long>(st.sessions_started),
              static_cast<unsigned long long>(st.live_sessions),
              static_cast<unsigned long long>(st.memory_records),
              static_cast<unsigned long long>(st.decisions_by_action[0]),
              static_cast<unsigned long long>(st.decisions_by_action[1]),
              static_cast<unsigned long long>(st.decisions_by_action[2]));
  return 0;
}
