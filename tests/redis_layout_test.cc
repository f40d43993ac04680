// A rolling policy change on the Redis store (issue 14): engines whose
// policies have other page groups share one Redis. Each publishes its
// layout under <prefix>{site}:layout:<16 hex>; a session written under
// another layout is mapped onto the reader's groups by pattern, as a hot
// swap on the memory store maps it, and written back under the reader's.
// Checked against the memory store: the Redis engines decide exactly as
// one in-memory engine of the same policy that saw every event. Declines
// never depend on the layout. A missing or damaged layout key reads as no
// session and counts as a store error. SetPolicy swaps layouts under load.
//
// Every test skips, saying so, only where redis-server (or, for the
// cluster, redis-cli) is not installed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beckon/beckon.hpp"
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/redis/redis_server.h"

namespace beckon::testing {
namespace {

using ::beckon::redis_test::RedisCluster;
using ::beckon::redis_test::RedisServer;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr std::array<uint64_t, 2> kFleetKey = {0x0123456789abcdefULL,
                                               0xfedcba9876543210ULL};

Engine::Options RedisOptionsFor(const std::string& url) {
  Engine::Options o;
  o.store = StoreKind::kRedis;
  o.visitor_key = kFleetKey;
  absl::StatusOr<RedisOptions> r = RedisOptions::FromUrl(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status();
  if (r.ok()) o.redis = *r;
  o.redis.key_prefix = "beckon:";
  o.redis.command_timeout_ms = 2000;
  o.redis.connect_timeout_ms = 2000;
  o.redis.backoff_min_ms = 5;
  o.redis.backoff_max_ms = 40;
  return o;
}

Engine::Options MemoryOptions() {
  Engine::Options o;
  o.visitor_key = kFleetKey;
  return o;
}

// Raises the bar so high that nothing is offered: decisions then change
// no state, so in-memory references can decide alongside the Redis engines.
void NoOffers(proto::Policy& p) {
  p.mutable_model()->set_decision_threshold(0.999);
  p.mutable_gates()->set_threshold_at_one_agent(0.9995);
}

// Policy A: the default groups, at most one offer a session.
Policy PolicyA(bool offers = true) {
  return TestPolicy([&](proto::Policy& p) {
    p.set_name("a");
    p.mutable_gates()->set_max_offers_per_session(1);
    if (!offers) NoOffers(p);
  });
}

// Policy B: A's groups in reverse order, without /help/returns (its pages
// fall to the unlisted group), /help/* renamed in place by a dwell of 20 s,
// and a new group /new/* first: every index differs from A's.
Policy PolicyB(bool offers = true) {
  return TestPolicy([&](proto::Policy& p) {
    p.set_name("b");
    p.mutable_gates()->set_max_offers_per_session(1);
    if (!offers) NoOffers(p);
    proto::Policy q = p;
    p.clear_groups();
    proto::PageGroup* fresh = p.add_groups();
    *fresh = q.groups(0);
    fresh->set_pattern("/new/*");
    for (int i = q.groups_size() - 1; i >= 0; --i) {
      if (q.groups(i).pattern() == "/help/returns") continue;
      proto::PageGroup* g = p.add_groups();
      *g = q.groups(i);
      if (g->pattern() == "/help/*") g->set_dwell_threshold_s(20);
    }
    p.clear_url_rules();
    for (const auto& r : q.url_rules()) {
      if (r.group() != "/help/returns") *p.add_url_rules() = r;
    }
  });
}

std::string Describe(const absl::StatusOr<Decision>& d) {
  if (!d.ok()) return "error " + d.status().ToString();
  std::string s = std::string(ActionName(d->action)) + "/" +
                  std::string(ReasonName(d->reason));
  absl::StrAppendFormat(&s, " p=%.17g th=%.17g", d->probability, d->threshold);
  for (const std::string& r : d->reasons()) absl::StrAppend(&s, " | ", r);
  return s;
}

// The layout keys in Redis.
std::vector<std::string> LayoutKeys(redis_test::RedisClient& c) {
  absl::StatusOr<std::vector<std::string>> keys =
      c.ScanKeys("beckon:{site}:layout:*");
  EXPECT_TRUE(keys.ok()) << keys.status();
  std::vector<std::string> out = keys.ok() ? *keys : std::vector<std::string>();
  std::sort(out.begin(), out.end());
  return out;
}

// One visitor's events handed alternately to two Redis engines of
// policies A and B; after each, both decide. The reference is one
// in-memory engine swapped to the policy of whichever engine handles each
// event; a decision under the other policy is made on a copy of it
// restored into an engine of that policy (a read maps the record without
// writing it, as a Redis read does). The Redis engines must decide exactly
// as the reference: a record of the other layout is mapped by pattern just
// as the memory store maps it.
// Covers dwell (the group a page is in), the path rule (matched again
// under the reader's policy) and the session's features. (The policies
// offer nothing here; offers are DeclinesHoldAcrossLayouts'.)
void AlternatingVisitorDecidesAsOneEngine(Engine& ra, Engine& rb) {
  const Policy pa = PolicyA(false), pb = PolicyB(false);
  auto m = MakeEngine(pa, MemoryOptions());
  ASSERT_TRUE(m);
  auto as = [&](const Policy& p) { ASSERT_TRUE(m->SetPolicy(p).ok()); };
  auto reference = [&](const Policy& p, const std::string& id, int64_t t) {
    if (m->policy().name() == p.name()) return Describe(m->Decide(id, t));
    auto copy = MakeEngine(p, MemoryOptions());
    EXPECT_TRUE(copy->Restore(m->Snapshot()).ok());
    return Describe(copy->Decide(id, t));
  };
  const std::string v = "rolling-visitor";
  const std::vector<Event> events = {
      Event::PageView(kT0, v, "/", "https://www.google.com/"),
      Event::Search(kT0 + 10 * kSec, v, "/search?q=a", 0),
      Event::Search(kT0 + 20 * kSec, v, "/search?q=b", 0),
      Event::PageView(kT0 + 30 * kSec, v, "/help/faq"),
      Event::PageView(kT0 + 40 * kSec, v, "/returns/policy"),
      Event::PageView(kT0 + 50 * kSec, v, "/help/shipping"),
  };
  int i = 0;
  std::vector<std::string> seen_b;
  for (const Event& e : events) {
    const bool by_a = i++ % 2 == 0;
    MustObserve(by_a ? ra : rb, e);
    as(by_a ? pa : pb);
    MustObserve(*m, e);
    for (int64_t later : {2 * kSec, 8 * kSec}) {
      const int64_t t = e.ts_ms + later;
      EXPECT_EQ(Describe(ra.Decide(v, t)), reference(pa, v, t))
          << "A after event " << i;
      const std::string b = Describe(rb.Decide(v, t));
      EXPECT_EQ(b, reference(pb, v, t)) << "B after event " << i;
      seen_b.push_back(b);
    }
  }
  // The scenario reached what it is about: B's own group and path rule on
  // a session A wrote.
  EXPECT_THAT(seen_b, Contains(HasSubstr("threshold 20 s")))
      << ::testing::PrintToString(seen_b);
  EXPECT_THAT(seen_b, Contains(HasSubstr("path: search engine, site search")));
}

// An offer made by either engine counts toward the session's cap on the
// other, and a decline recorded by either suppresses the visitor on both.
void DeclinesHoldAcrossLayouts(Engine& ra, Engine& rb) {
  for (int by = 0; by < 2; ++by) {
    Engine& decliner = by == 0 ? ra : rb;
    Engine& other = by == 0 ? rb : ra;
    const std::string v = absl::StrCat("decliner-", by);
    StuckVisitor(decliner, v, kT0);
    // B's /help/* waits 20 s, A's /help/returns 45 s: offered by both then.
    const Decision d = MustDecide(decliner, v, kT0 + kStuckOfferAfter);
    ASSERT_EQ(d.action, Action::kOffer) << Describe(d);
    EXPECT_EQ(MustDecide(other, v, kT0 + kStuckOfferAfter + 500).reason,
              Reason::kSessionCap);
    MustObserve(decliner,
                Event::OfferDeclined(kT0 + kStuckOfferAfter + kSec, v, "/help",
                                     Channel::kChat));
    int64_t day = kT0;
    for (Engine* e : {&other, &decliner}) {  // One state: a session a day.
      day += kDay;
      StuckVisitor(*e, v, day);
      EXPECT_EQ(MustDecide(*e, v, day + kStuckOfferAfter).reason,
                Reason::kDeclined)
          << v;
    }
  }
}

class RedisLayout : public ::testing::Test {
 protected:
  void SetUp() override {
    BECKON_REQUIRE_REDIS_SERVER();
    absl::StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  Engine::Options Options() const { return RedisOptionsFor(server_->url()); }
  std::unique_ptr<redis_test::RedisClient> Client() const {
    auto c = server_->Client();
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisLayout, EachEnginePublishesItsLayoutOnce) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  auto a1 = MakeEngine(PolicyA(), Options());
  auto a2 = MakeEngine(PolicyA(), Options());
  ASSERT_TRUE(a1 && a2);
  const std::vector<std::string> one = LayoutKeys(*c);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_THAT(one[0], ::testing::MatchesRegex(
                          "beckon:\\{site\\}:layout:[0-9a-f]{16}"));
  auto text = c->MustCommand({"GET", one[0]});
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(text->str, HasSubstr("beckon layout 1"));
  EXPECT_THAT(text->str, HasSubstr("/help/returns"));
  auto ttl = c->MustCommand({"PTTL", one[0]});
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->integer, -1);  // Kept: documented in docs/operations.md.
  auto b = MakeEngine(PolicyB(), Options());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(LayoutKeys(*c).size(), 2u);
  // A policy with the same groups (another threshold) is the same layout.
  ASSERT_TRUE(a1->SetPolicy(TestPolicy([](proto::Policy& p) {
                  p.mutable_gates()->set_max_offers_per_session(1);
                  p.mutable_gates()->set_min_gap_s(120);
                })).ok());
  EXPECT_EQ(LayoutKeys(*c).size(), 2u);
}

TEST_F(RedisLayout, TwoLayoutsShareOneVisitorStateByPattern) {
  auto ra = MakeEngine(PolicyA(false), Options());
  auto rb = MakeEngine(PolicyB(false), Options());
  ASSERT_TRUE(ra && rb);
  AlternatingVisitorDecidesAsOneEngine(*ra, *rb);
  ra = MakeEngine(PolicyA(), Options());
  rb = MakeEngine(PolicyB(), Options());
  ASSERT_TRUE(ra && rb);
  DeclinesHoldAcrossLayouts(*ra, *rb);
  EXPECT_EQ(ra->Stats().store_errors, 0u);
  EXPECT_EQ(rb->Stats().store_errors, 0u);
}

TEST_F(RedisLayout, AMissingOrDamagedLayoutKeyIsNoSessionAndAStoreError) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  auto ra = MakeEngine(PolicyA(), Options());
  ASSERT_NE(ra, nullptr);
  const std::vector<std::string> keys = LayoutKeys(*c);
  ASSERT_EQ(keys.size(), 1u);
  const std::string a_key = keys[0];
  auto good = c->MustCommand({"GET", a_key});
  ASSERT_TRUE(good.ok());
  // "gone" has a session and a decline, "kept" only a session.
  StuckVisitor(*ra, "gone", kT0);
  ASSERT_EQ(MustDecide(*ra, "gone", kT0 + kStuckOfferAfter).action,
            Action::kOffer);
  MustObserve(*ra, Event::OfferDeclined(kT0 + kStuckOfferAfter + kSec, "gone",
                                        "/help", Channel::kChat));
  StuckVisitor(*ra, "kept", kT0);

  const std::string damaged = good->str.substr(0, good->str.size() - 1) + "X";
  int64_t day = kT0;
  for (const std::string& value : {std::string(), damaged}) {
    SCOPED_TRACE(value.empty() ? "missing" : "damaged");
    day += kDay;
    if (value.empty()) {
      ASSERT_TRUE(c->MustCommand({"DEL", a_key}).ok());
    } else {
      ASSERT_TRUE(c->MustCommand({"SET", a_key, value}).ok());
    }
    auto rb = MakeEngine(PolicyB(), Options());  // A fresh layout cache.
    ASSERT_NE(rb, nullptr);
    const uint64_t errors = rb->Stats().store_errors;
    const int64_t t = kT0 + kStuckOfferAfter + 2 * kSec;
    EXPECT_EQ(MustDecide(*rb, "kept", t).reason, Reason::kNoSession);
    EXPECT_EQ(rb->Stats().store_errors, errors + 1);
    // The decline memory does not depend on the layout.
    StuckVisitor(*rb, "gone", day);
    EXPECT_EQ(MustDecide(*rb, "gone", day + kStuckOfferAfter).reason,
              Reason::kDeclined);
    // The next event starts a session over it, under B's layout, which A
    // (whose engines know their own layout) reads.
    MustObserve(*rb, Event::PageView(t + kSec, "kept", "/help/faq"));
    const Decision d = MustDecide(*ra, "kept", t + 10 * kSec);
    EXPECT_EQ(d.reason, Reason::kDwell) << Describe(d);
    // B's /help/faq page is in A's /help/* group (45 s).
    EXPECT_THAT(d.reasons()[0], HasSubstr("threshold 45 s"));
    StuckVisitor(*ra, "kept", t + 20 * kSec);  // A's session again.
  }
}

TEST_F(RedisLayout, SetPolicyToOtherGroupsUnderLoadLosesNoEventOrDecline) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  auto e = MakeEngine(PolicyA(), Options());
  // A second engine that stays on A throughout, as the rest of a fleet.
  auto fleet = MakeEngine(PolicyA(), Options());
  ASSERT_TRUE(e && fleet);
  constexpr int kThreads = 2;
  constexpr int kVisitors = 150;
  std::atomic<int> running{kThreads};
  std::atomic<uint64_t> sent{0};
  std::atomic<int> failed{0};
  const std::vector<std::string> pages = {"/help/returns", "/help/faq", "/p/1",
                                          "/c/shoes", "/checkout/pay", "/"};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Engine& on = t == 0 ? *e : *fleet;
      for (int i = 0; i < kVisitors; ++i) {
        const std::string v = absl::StrCat("t", t, "-", i);
        int64_t ts = kT0 + i;
        for (int k = 0; k < 6; ++k, ts += 7 * kSec) {
          Engine& by = k % 2 == 0 ? on : (t == 0 ? *fleet : *e);
          if (by.Observe(Event::PageView(ts, v, pages[(i + k) % 6])).ok()) {
            sent.fetch_add(1);
          } else {
            failed.fetch_add(1);
          }
          if (!by.Decide(v, ts + 3 * kSec).ok()) failed.fetch_add(1);
        }
        if (i % 2 == 0) {
          if (on.Observe(Event::OfferDeclined(ts, v, "/", Channel::kChat))
                  .ok()) {
            sent.fetch_add(1);
          } else {
            failed.fetch_add(1);
          }
        }
      }
      running.fetch_sub(1);
    });
  }
  int swaps = 0;
  while (running.load() > 0 || swaps < 4) {
    ASSERT_TRUE(e->SetPolicy(swaps % 2 == 0 ? PolicyB() : PolicyA()).ok());
    ++swaps;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(sent.load(), kThreads * kVisitors * 6u + kThreads * kVisitors / 2);
  EXPECT_EQ(e->Stats().events_observed + fleet->Stats().events_observed,
            sent.load());
  // One session per visitor, started once: none was dropped and restarted
  // by a layout change.
  EXPECT_EQ(e->Stats().live_sessions,
            static_cast<uint64_t>(kThreads * kVisitors));
  EXPECT_EQ(e->Stats().sessions_started + fleet->Stats().sessions_started,
            static_cast<uint64_t>(kThreads * kVisitors));
  EXPECT_EQ(e->Stats().store_errors, 0u);
  EXPECT_EQ(fleet->Stats().store_errors, 0u);
  EXPECT_GE(swaps, 4);
  // Every decline held, on both engines.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kVisitors; i += 2) {
      const std::string v = absl::StrCat("t", t, "-", i);
      Engine& by = i % 4 == 0 ? *e : *fleet;
      StuckVisitor(by, v, kT0 + kDay);
      EXPECT_EQ(MustDecide(by, v, kT0 + kDay + kStuckOfferAfter).reason,
                Reason::kDeclined)
          << v;
    }
  }
}

TEST_F(RedisLayout, SetPolicyToOtherGroupsCarriesTheLiveEnginesSessions) {
  auto e = MakeEngine(PolicyA(), Options());
  auto mb = MakeEngine(PolicyB(), MemoryOptions());
  ASSERT_TRUE(e && mb);
  for (Engine* x : {e.get(), mb.get()}) {
    MustObserve(*x, Event::PageView(kT0, "v", "/", "https://www.google.com/"));
    MustObserve(*x, Event::Search(kT0 + 10 * kSec, "v", "/search?q=x", 0));
    MustObserve(*x, Event::PageView(kT0 + 20 * kSec, "v", "/help/faq"));
  }
  ASSERT_TRUE(e->SetPolicy(PolicyB()).ok());
  EXPECT_EQ(e->policy().name(), "b");
  const int64_t t = kT0 + 41 * kSec;
  EXPECT_EQ(Describe(e->Decide("v", t)), Describe(mb->Decide("v", t)));
  EXPECT_THAT(MustDecide(*e, "v", t).reasons(),
              Contains("dwell 21 s on /help/* (threshold 20 s)"));
}

TEST_F(RedisLayout, ABadPolicyOrRedisDownChangesNothing) {
  auto e = MakeEngine(PolicyA(), Options());
  ASSERT_NE(e, nullptr);
  StuckVisitor(*e, "v", kT0);
  const absl::Status timeout = e->SetPolicy(TestPolicy([](proto::Policy& p) {
    p.mutable_session()->set_timeout_s(600);
    p.add_groups()->CopyFrom(p.groups(0));
    p.mutable_groups(p.groups_size() - 1)->set_pattern("/new/*");
  }));
  EXPECT_TRUE(absl::IsFailedPrecondition(timeout)) << timeout;
  EXPECT_THAT(timeout.message(), HasSubstr("session.timeout_s"));
  EXPECT_EQ(e->policy().name(), "a");
  // Redis down: the new layout cannot be published, so the policy stays.
  server_->Kill();
  const absl::Status down = e->SetPolicy(PolicyB());
  EXPECT_TRUE(absl::IsUnavailable(down)) << down;
  EXPECT_THAT(down.message(), HasSubstr("the policy is unchanged"));
  EXPECT_EQ(e->policy().name(), "a");
  ASSERT_TRUE(server_->Restart().ok());
  // Still A's session, under A's layout, read by A.
  const Decision d = MustDecide(*e, "v", kT0 + kStuckOfferAfter);
  EXPECT_EQ(d.action, Action::kOffer) << Describe(d);
  EXPECT_EQ(d.policy_name(), "a");
  // And now the swap goes through.
  ASSERT_TRUE(e->SetPolicy(PolicyB()).ok());
  auto c = Client();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(LayoutKeys(*c).size(), 2u);
}

// --- Redis Cluster: the layout keys live in the {site} slot ----------------

TEST(RedisLayoutCluster, TwoLayoutsShareOneVisitorStateByPattern) {
  BECKON_REQUIRE_REDIS_CLUSTER_TOOLS();
  absl::StatusOr<std::unique_ptr<RedisCluster>> cluster = RedisCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Engine::Options a = RedisOptionsFor((*cluster)->node(0).url() + "?cluster=1");
  Engine::Options b = RedisOptionsFor((*cluster)->node(2).url() + "?cluster=1");
  auto ra = MakeEngine(PolicyA(false), a);
  auto rb = MakeEngine(PolicyB(false), b);
  ASSERT_TRUE(ra && rb);
  AlternatingVisitorDecidesAsOneEngine(*ra, *rb);
  ra = MakeEngine(PolicyA(), a);
  rb = MakeEngine(PolicyB(), b);
  ASSERT_TRUE(ra && rb);
  DeclinesHoldAcrossLayouts(*ra, *rb);
  EXPECT_EQ(ra->Stats().store_errors, 0u);
  EXPECT_EQ(rb->Stats().store_errors, 0u);
}

}  // namespace
}  // namespace beckon::testing
