// Fuzz target: a sequence of engine calls decoded from the input.
//
// The input picks a policy (the default one with fuzzed gates and a low
// threshold, so that offers happen) and engine options, then a sequence of
// calls: Observe of every event type with fuzzed fields and timestamps (late
// declines and ignores among them), Decide, Expire, a Snapshot/Restore round
// trip into a fresh engine. Beside it runs a model of the two promises a
// visitor notices, checked on every offer:
//   - never an offer to a visitor within the decline cooldown of a decline
//     the engine accepted (or ever, with decline_forever);
//   - never an offer while the latest accepted agents count is 0.
// A broken promise, a failed round trip or a malformed decision aborts (a
// finding), as does any crash or sanitizer report.
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "lib/policy_internal.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using beckon::Channel;
using beckon::Engine;
using beckon::Event;
using beckon::EventType;
using beckon::fuzz::Bytes;
using beckon::fuzz::Fail;

constexpr int64_t kDay = 86400 * 1000LL;
constexpr std::array<int64_t, 12> kSteps = {
    0, 1, 999, 1000, 59999, 60000, 3599999, 3600000,
    30 * kDay - 1, 30 * kDay, 31 * kDay, 400 * kDay};
constexpr std::array<int64_t, 5> kCooldownsS = {0, 1, 60, 3600, 30 * 86400};
constexpr std::array<std::string_view, 8> kPages = {
    "/", "/help/returns", "/p/12", "/checkout/pay", "/search?q=x",
    "/cart", "/c/shoes", "https://shop.example/faq/sizes?x=1"};
constexpr std::array<std::string_view, 4> kReferrers = {
    "", "https://www.google.com/search?q=x", "https://bing.com/", "garbage"};

beckon::Policy MakePolicy(Bytes& in) {
  beckon::proto::Policy p =
      beckon::internal::PolicyInternal::Message(beckon::Policy::Default());
  auto& g = *p.mutable_gates();
  const uint8_t a = in.U8(), b = in.U8(), c = in.U8();
  g.set_decline_cooldown_s(kCooldownsS[a % kCooldownsS.size()]);
  g.set_decline_forever((a >> 3) & 1);
  g.set_max_offers_per_session(1 + (a >> 4) % 4);
  g.set_min_gap_s(kCooldownsS[b % 3]);
  g.set_ignored_cap(1 + (b >> 2) % 3);
  g.set_ignored_cooldown_s(kCooldownsS[(b >> 4) % kCooldownsS.size()]);
  g.set_holdout_fraction((c & 1) ? 0.2 : 0);
  g.set_expected_accept_rate((c & 2) ? 0.01 : 0.3);
  g.set_rate_window_s((c & 4) ? 1 : 3600);
  auto& m = *p.mutable_model();
  m.set_bias((c & 8) ? 3 : m.bias());
  m.set_decision_threshold((c & 16) ? 0.02 : m.decision_threshold());
  m.set_allow_before_dwell_threshold((c >> 5) & 1);
  g.set_threshold_at_one_agent(
      std::max(g.threshold_at_one_agent(), m.decision_threshold()));
  p.mutable_session()->set_timeout_s((c & 64) ? 60 : 1800);
  absl::StatusOr<beckon::Policy> policy =
      beckon::internal::PolicyInternal::FromProto(p);
  if (!policy.ok()) Fail("fuzzed policy is invalid:", policy.status().message());
  return *policy;
}

class Run {
 public:
  Run(Bytes& in) : in_(in), policy_(MakePolicy(in)) {
    const uint8_t o = in.U8();
    options_.shards = (o & 1) ? 1 : 16;
    options_.max_sessions = (o & 2) ? 3 : 100000;
    options_.max_memory_records = 100000;
    engine_ = NewEngine();
    now_ = static_cast<int64_t>(in.U32()) * 1000;
  }

  void Step() {
    const uint8_t op = in_.U8();
    now_ += kSteps[(op >> 4) % kSteps.size()];
    if (now_ > int64_t{253402300799999}) now_ = 0;  // Wraps; then rejected.
    const std::string visitor = Visitor();
    const int64_t late = now_ - kSteps[in_.U8() % kSteps.size()];
    const std::string_view page = Page();
    const Channel ch = static_cast<Channel>(in_.U8() % 6);
    switch (op % 14) {
      case 0:
        Observe(Event::PageView(now_, visitor, page,
                                kReferrers[in_.U8() % kReferrers.size()]));
        break;
      case 1:
        Observe(Event::Search(now_, visitor, page,
                              static_cast<int8_t>(in_.U8())));
        break;
      case 2: Observe(Event::Cart(now_, visitor, page, Money())); break;
      case 3: Observe(Event::HelpContact(now_, visitor, page, ch)); break;
      case 4: Observe(Event::OfferShown(now_, visitor, page, ch)); break;
      case 5: Observe(Event::OfferAccepted(now_, visitor, page, ch)); break;
      case 6: Observe(Event::OfferDeclined(late, visitor, page, ch)); break;
      case 7: Observe(Event::OfferIgnored(late, visitor, page, ch)); break;
      case 8: Observe(Event::Purchase(now_, visitor, page, Money())); break;
      case 9: {
        static constexpr int64_t kAgents[] = {0, 1, 2, 5, -1, 1000001};
        Observe(Event::Agents(now_, kAgents[in_.U8() % 6]));
        break;
      }
      case 10:
      case 11: Decide(visitor); break;
      case 12: (void)engine_->Expire(now_); break;
      case 13: RoundTrip(); break;
    }
  }

 private:
  std::unique_ptr<Engine> NewEngine() {
    auto e = Engine::Create(policy_, options_);
    if (!e.ok()) Fail("Engine::Create:", e.status().message());
    return *std::move(e);
  }

  std::string Visitor() {
    const uint8_t v = in_.U8();
    if (v < 250) return absl::StrCat("v", v % 5);
    return std::string(in_.Str(140));  // Maybe empty or too long.
  }
  std::string_view Page() {
    const uint8_t p = in_.U8();
    if (p < 240) return kPages[p % kPages.size()];
    return in_.Str(64);
  }
  double Money() {
    static constexpr double kMoney[] = {0, 9.99, 250, -1, 1e15, NAN, INFINITY};
    return kMoney[in_.U8() % 7];
  }

  void Observe(const Event& e) {
    if (!engine_->Observe(e).ok()) return;
    if (e.type == EventType::kOfferDeclined) {
      auto [it, fresh] = declines_.emplace(std::string(e.visitor), e.ts_ms);
      if (!fresh) it->second = std::max(it->second, e.ts_ms);
    } else if (e.type == EventType::kAgents) {
      agents_ = e.count;
    }
  }

  void Decide(const std::string& visitor) {
    absl::StatusOr<beckon::Decision> d = engine_->Decide(visitor, now_);
    if (!d.ok()) return;
    if (!(d->probability >= 0 && d->probability <= 1)) {
      Fail("probability out of [0, 1]");
    }
    if (d->action != beckon::Action::kOffer) return;
    const auto& g = beckon::internal::PolicyInternal::Message(policy_).gates();
    if (auto it = declines_.find(visitor); it != declines_.end()) {
      if (g.decline_forever() ||
          now_ < it->second + g.decline_cooldown_s() * 1000) {
        Fail("offer within the decline cooldown to", visitor);
      }
    }
    if (agents_ == 0) Fail("offer with no free agent to", visitor);
  }

  void RoundTrip() {
    const std::string snapshot = engine_->Snapshot();
    std::unique_ptr<Engine> fresh = NewEngine();
    if (absl::Status s = fresh->Restore(snapshot); !s.ok()) {
      Fail("an engine's own snapshot does not restore:", s.message());
    }
    const beckon::EngineStats a = engine_->Stats(), b = fresh->Stats();
    if (a.live_sessions != b.live_sessions ||
        a.memory_records != b.memory_records) {
      Fail("snapshot round trip changed the counts");
    }
    engine_ = std::move(fresh);
  }

  Bytes& in_;
  beckon::Policy policy_;
  Engine::Options options_;
  std::unique_ptr<Engine> engine_;
  int64_t now_ = 0;
  std::map<std::string, int64_t> declines_;  // Raw id -> latest decline.
  int64_t agents_ = -1;                      // Latest accepted; -1: none.
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trapped = beckon::fuzz::TrapProtobufLogs();
  (void)trapped;
  Bytes in(data, size);
  Run run(in);
  for (int i = 0; i < 2000 && !in.empty(); ++i) run.Step();
  return 0;
}
