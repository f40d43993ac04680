// Helpers shared by the engine's tests.
#ifndef BECKON_TESTS_ENGINE_TEST_UTIL_H_
#define BECKON_TESTS_ENGINE_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>

#include "beckon/beckon.hpp"
#include "beckon/policy.pb.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"

namespace beckon::testing {

inline constexpr int64_t kT0 = 1'700'000'000'000;
inline constexpr int64_t kSec = 1000;
inline constexpr int64_t kMin = 60 * kSec;
inline constexpr int64_t kDay = 86400 * kSec;

// The default policy with `edit` applied; holdout off unless edited back on,
// so gate tests see the plain behaviour.
inline Policy TestPolicy(
    const std::function<void(proto::Policy&)>& edit = nullptr) {
  proto::Policy p = internal::PolicyInternal::Message(Policy::Default());
  p.mutable_gates()->set_holdout_fraction(0);
  if (edit) edit(p);
  absl::StatusOr<Policy> policy = internal::PolicyInternal::FromProto(p);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : Policy::Default();
}

inline std::unique_ptr<Engine> MakeEngine(
    const Policy& policy, Engine::Options options = Engine::Options()) {
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Create(policy, options);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *std::move(e) : nullptr;
}

inline Decision MustDecide(Engine& engine, std::string_view visitor,
                           int64_t now) {
  absl::StatusOr<Decision> d = engine.Decide(visitor, now);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : Decision();
}

inline void MustObserve(Engine& engine, const Event& e) {
  const absl::Status s = engine.Observe(e);
  ASSERT_TRUE(s.ok()) << s;
}

// A visitor who is plainly stuck on the returns help page from `t`: in from
// a search engine, two failed searches, then the help page (group /help/*,
// dwell threshold 45 s). Under the default policy with plenty of agents the
// visitor is offered help once that dwell is reached: kStuckOfferAfter.
inline void StuckVisitor(Engine& engine, std::string_view v, int64_t t) {
  MustObserve(engine, Event::PageView(t, v, "/", "https://www.google.com/"));
  MustObserve(engine, Event::Search(t + 10 * kSec, v, "/search?q=a", 0));
  MustObserve(engine, Event::Search(t + 20 * kSec, v, "/search?q=b", 0));
  MustObserve(engine, Event::PageView(t + 30 * kSec, v, "/help/returns"));
}
inline constexpr int64_t kStuckOfferAfter = 30 * kSec + 45 * kSec;

inline std::string Str(absl::string_view s) { return std::string(s); }

}  // namespace beckon::testing

#endif  // BECKON_TESTS_ENGINE_TEST_UTIL_H_
