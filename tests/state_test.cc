// Visitor state: snapshot and restore, capacity, expiry, record size.
#include <cstdio>
#include <atomic>
#include <limits>
#include <fstream>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine_test_util.h"
#include "file_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/state_store.h"
#include "lib/visitor_store.h"

namespace beckon::testing {
namespace {

using ::testing::HasSubstr;

void Decline(Engine& e, std::string_view v, int64_t t) {
  StuckVisitor(e, v, t);
  ASSERT_EQ(MustDecide(e, v, t + kStuckOfferAfter).action, Action::kOffer);
  MustObserve(e, Event::OfferDeclined(t + kStuckOfferAfter + kSec, v, "/help",
                                      Channel::kChat));
}

// Whether `v`'s decline still holds at `t`: stuck there, it is suppressed
// for the decline rather than offered.
bool StillDeclined(Engine& e, std::string_view v, int64_t t) {
  StuckVisitor(e, v, t);
  return MustDecide(e, v, t + kStuckOfferAfter).reason == Reason::kDeclined;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/beckon_state_" + name;
}

TEST(State, DeclineSurvivesSnapshotAndRestoreIntoANewEngine) {
  auto before = MakeEngine(TestPolicy());
  Decline(*before, "anna", kT0);
  const std::string snap = before->Snapshot();
  before.reset();  // The process restarts.

  auto after = MakeEngine(TestPolicy());
  ASSERT_TRUE(after->Restore(snap).ok());
  for (int day : {0, 3, 29}) {
    const int64_t t = kT0 + day * kDay + 2 * kMin;
    StuckVisitor(*after, "anna", t);
    EXPECT_EQ(MustDecide(*after, "anna", t + kStuckOfferAfter).reason,
              Reason::kDeclined)
        << "day " << day;
  }
}

TEST(State, SnapshotToFileAndBack) {
  auto a = MakeEngine(TestPolicy());
  Decline(*a, "anna", kT0);
  MustObserve(*a, Event::PageView(kT0 + 5 * kMin, "ben", "/checkout/x"));
  MustObserve(*a, Event::Agents(kT0 + 5 * kMin, 2));
  const std::string path = TempPath("file.snap");
  ASSERT_TRUE(a->SnapshotToFile(path).ok());
  EXPECT_FALSE(beckon_test_files::TempLeftBeside(path));  // Written atomically: no leftover.

  auto b = MakeEngine(TestPolicy());
  ASSERT_TRUE(b->RestoreFromFile(path).ok());
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
  // Live sessions come back whole: ben decides the same in both.
  const Decision da = MustDecide(*a, "ben", kT0 + 9 * kMin);
  const Decision db = MustDecide(*b, "ben", kT0 + 9 * kMin);
  EXPECT_EQ(da.action, db.action);
  EXPECT_EQ(da.probability, db.probability);
  EXPECT_EQ(da.threshold, db.threshold);  // Agents restored too.
  std::remove(path.c_str());
  EXPECT_EQ(b->RestoreFromFile(path).code(), absl::StatusCode::kNotFound);
}

TEST(State, SnapshotHoldsNoRawVisitorIds) {
  auto e = MakeEngine(TestPolicy());
  Decline(*e, "visitor-cookie-8c1f2a", kT0);
  EXPECT_EQ(e->Snapshot().find("visitor-cookie-8c1f2a"), std::string::npos);
}

TEST(State, RestoreRejectsBadSnapshotsAndChangesNothing) {
  auto e = MakeEngine(TestPolicy());
  Decline(*e, "anna", kT0);
  const std::string good = e->Snapshot();

  Engine::Options other;
  other.visitor_key = {42, 43};
  auto stranger = MakeEngine(TestPolicy(), other);
  Decline(*stranger, "zed", kT0);

  std::string truncated = good.substr(0, good.size() / 2);
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"this is not a snapshot", "invalid snapshot"},
      {truncated, "invalid snapshot"},
      {stranger->Snapshot(), "another visitor_key"},
      {std::string("\x08\x07", 2), "format_version 7"},
  };
  for (const Case& c : cases) {
    const absl::Status s = e->Restore(c.bytes);
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(Str(s.message()), HasSubstr(c.message));
    EXPECT_EQ(e->Snapshot(), good);
  }
}

TEST(State, RestoreIsAtomicForConcurrentCallers) {
  constexpr int kN = 2000;
  auto source = MakeEngine(TestPolicy());
  for (int i = 0; i < kN; ++i) {
    MustObserve(*source, Event::OfferDeclined(kT0, "d" + std::to_string(i),
                                              "/", Channel::kChat));
  }
  const std::string snap = source->Snapshot();
  auto e = MakeEngine(TestPolicy());
  // While restores run, another thread records ignored offers for the same
  // visitors. A record slipped in between a restore's clearing and its
  // inserts would shadow the snapshot's decline for that visitor.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int64_t n = 0; !done; ++n) {
      (void)e->Observe(Event::OfferIgnored(kT0 + n, "d" + std::to_string(n % kN),
                                           "/", Channel::kChat));
    }
  });
  for (int round = 0; round < 30; ++round) ASSERT_TRUE(e->Restore(snap).ok());
  done = true;
  writer.join();
  for (int i = 0; i < kN; ++i) {
    const std::string v = "d" + std::to_string(i);
    StuckVisitor(*e, v, kT0 + kDay);
    ASSERT_EQ(MustDecide(*e, v, kT0 + kDay + kStuckOfferAfter).reason,
              Reason::kDeclined)
        << v;
  }
}

TEST(State, RestoreRunsBesideObserveAndDecideOnOtherThreads) {
  constexpr int kDeclined = 500;
  // Declines never lapse: the workers' clocks run ten minutes a round, and
  // on a slow machine past the 30-day cooldown before the restores end
  // (an offer then would be right, not a lost decline).
  const Policy policy = TestPolicy(
      [](proto::Policy& p) { p.mutable_gates()->set_decline_forever(true); });
  auto source = MakeEngine(policy);
  for (int i = 0; i < kDeclined; ++i) {
    MustObserve(*source, Event::OfferDeclined(kT0, "d" + std::to_string(i),
                                              "/", Channel::kChat));
  }
  const std::string snap = source->Snapshot();
  auto e = MakeEngine(policy);
  ASSERT_TRUE(e->Restore(snap).ok());
  // Each shard is swapped whole under its own lock: a declined visitor is
  // never offered while restores run, and other visitors go on.
  std::atomic<bool> done{false};
  std::atomic<int> offers_to_declined{0}, offers_to_others{0}, failures{0};
  auto worker = [&](int id) {
    // Each thread its own visitors (declined ones of its parity), each
    // visitor's clock going forward, all stuck as StuckVisitor makes them.
    auto stuck = [&](const std::string& v, int64_t t) {
      if (!e->Observe(Event::PageView(t, v, "/", "https://www.google.com/"))
               .ok() ||
          !e->Observe(Event::Search(t + 10 * kSec, v, "/search?q=a", 0)).ok() ||
          !e->Observe(Event::Search(t + 20 * kSec, v, "/search?q=b", 0)).ok() ||
          !e->Observe(Event::PageView(t + 30 * kSec, v, "/help/returns"))
               .ok()) {
        ++failures;
      }
      absl::StatusOr<Decision> d = e->Decide(v, t + kStuckOfferAfter);
      if (!d.ok()) ++failures;
      return d.ok() && d->action == Action::kOffer;
    };
    for (int64_t n = 0; !done; ++n) {
      const int64_t t = kT0 + kMin + n * 10 * kMin;
      if (stuck("d" + std::to_string((n * 2 + id) % kDeclined), t)) {
        ++offers_to_declined;
      }
      if (stuck("o" + std::to_string(id) + "_" + std::to_string(n), t)) {
        ++offers_to_others;
      }
    }
  };
  std::thread t1(worker, 0), t2(worker, 1);
  for (int round = 0; round < 20; ++round) ASSERT_TRUE(e->Restore(snap).ok());
  done = true;
  t1.join();
  t2.join();
  EXPECT_GT(offers_to_others.load(), 0);  // They would have been offered.
  EXPECT_EQ(offers_to_declined.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  // The last restore is what the engine holds now, visitors seen since
  // aside: every decline, and the snapshot's records.
  ASSERT_TRUE(e->Restore(snap).ok());
  EXPECT_EQ(e->Snapshot(), snap);
  for (int i = 0; i < kDeclined; i += 50) {
    EXPECT_TRUE(StillDeclined(*e, "d" + std::to_string(i), kT0 + kDay)) << i;
  }
}

TEST(State, RestoreSwapsShardByShardHoldingOneLockAtATime) {
  // White-box, on the memory store: while a call holds the last shard's
  // lock, a Restore must still complete every other shard. One that takes
  // every lock first holds shard 0 while it waits for the last one.
  Engine::Options o;
  o.shards = 64;
  std::unique_ptr<internal::VisitorStore> store =
      internal::NewMemoryStore(o, 30 * kMin, 5 * kMin);
  constexpr uint64_t kFirstShardKey = 64 * 5;     // Shard 0.
  constexpr uint64_t kLastShardKey = 64 * 5 + 63; // Shard 63.
  internal::StoreContents c;
  internal::MemoryRecord m{};
  m.flags = internal::kHasDecline;
  m.last_decline_ms = kT0;
  m.declines = 1;
  c.memory = {{kFirstShardKey, m}, {kLastShardKey, m}};

  absl::Notification holding, release;
  std::thread holder([&] {
    ASSERT_TRUE(store
                    ->Update(kLastShardKey, false,
                             [&](internal::VisitorState&, internal::RateGate&) {
                               holding.Notify();
                               release.WaitForNotification();
                               return absl::OkStatus();
                             })
                    .ok());
  });
  holding.WaitForNotification();
  std::thread restorer([&] { ASSERT_TRUE(store->Replace(c).ok()); });
  // Shard 0's restored record shows up while shard 63 is still held.
  absl::Notification seen;
  std::thread poller([&] {
    for (bool has = false; !has;) {
      ASSERT_TRUE(store
                      ->Update(kFirstShardKey, false,
                               [&](internal::VisitorState& v,
                                   internal::RateGate&) {
                                 has = v.has_memory;
                                 return absl::OkStatus();
                               })
                      .ok());
    }
    seen.Notify();
  });
  EXPECT_TRUE(seen.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "Restore held shard 0 while it waited for shard 63";
  release.Notify();
  holder.join();
  restorer.join();
  poller.join();
  EXPECT_EQ(store->Stats().memory_records, 2u);
}

TEST(State, RestoreKeepsTheNewerAgentsReport) {
  auto source = MakeEngine(TestPolicy());
  MustObserve(*source, Event::Agents(kT0, 5));
  const std::string snap = source->Snapshot();
  const std::string no_report = MakeEngine(TestPolicy())->Snapshot();
  const int64_t t = kT0 + 2 * kMin;

  // A report newer than the snapshot's: "no agent free" stays.
  auto newer = MakeEngine(TestPolicy());
  MustObserve(*newer, Event::Agents(kT0 + kMin, 0));
  ASSERT_TRUE(newer->Restore(snap).ok());
  StuckVisitor(*newer, "v", t);
  EXPECT_EQ(MustDecide(*newer, "v", t + kStuckOfferAfter).reason,
            Reason::kNoAgents);
  // Its time stays too: a report between the two is still too old.
  EXPECT_EQ(newer->Observe(Event::Agents(kT0 + kMin - 1, 3)).code(),
            absl::StatusCode::kInvalidArgument);
  // A snapshot with no report at all is older than any report.
  ASSERT_TRUE(newer->Restore(no_report).ok());
  StuckVisitor(*newer, "w", t);
  EXPECT_EQ(MustDecide(*newer, "w", t + kStuckOfferAfter).reason,
            Reason::kNoAgents);

  // A report older than the snapshot's gives way to it.
  auto older = MakeEngine(TestPolicy());
  MustObserve(*older, Event::Agents(kT0 - kMin, 0));
  ASSERT_TRUE(older->Restore(snap).ok());
  StuckVisitor(*older, "v", t);
  EXPECT_EQ(MustDecide(*older, "v", t + kStuckOfferAfter).action,
            Action::kOffer);
  EXPECT_EQ(older->Observe(Event::Agents(kT0 - 1, 3)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(State, RestoreMapsSessionsOntoAnotherPolicyByGroupPattern) {
  auto a = MakeEngine(TestPolicy());
  MustObserve(*a, Event::PageView(kT0, "v", "/checkout/payment"));
  MustObserve(*a, Event::PageView(kT0 + kSec, "w", "/help/returns"));
  // The new policy drops the /help/* group and sets another checkout dwell.
  const Policy next = TestPolicy([](proto::Policy& p) {
    proto::Policy q = p;
    p.clear_groups();
    p.clear_url_rules();
    p.clear_path_rules();
    for (const auto& g : q.groups()) {
      if (g.pattern() == "/help/*") continue;
      *p.add_groups() = g;
      if (g.pattern() == "/checkout/*") {
        p.mutable_groups(p.groups_size() - 1)->set_dwell_threshold_s(120);
      }
    }
    for (const auto& r : q.url_rules()) {
      if (r.group() != "/help/*") *p.add_url_rules() = r;
    }
  });
  auto b = MakeEngine(next);
  ASSERT_TRUE(b->Restore(a->Snapshot()).ok());
  const Decision v = MustDecide(*b, "v", kT0 + 60 * kSec);
  EXPECT_EQ(v.reasons()[0], "dwell 60 s, below the page's threshold 120 s");
  const Decision w = MustDecide(*b, "w", kT0 + 30 * kSec);  // Now unlisted.
  EXPECT_EQ(w.reasons()[0], "dwell 29 s, below the page's threshold 60 s");
}

TEST(State, CapacityEvictsTheLeastRecentlySeenAndCountsIt) {
  Engine::Options o;
  o.shards = 1;
  o.max_sessions = 4;
  auto e = MakeEngine(TestPolicy(), o);
  for (int i = 0; i < 10; ++i) {
    MustObserve(*e, Event::PageView(kT0 + i * kSec, "v" + std::to_string(i),
                                    "/"));
    if (i == 5) MustObserve(*e, Event::PageView(kT0 + i * kSec, "v0", "/p/1"));
  }
  const EngineStats s = e->Stats();
  EXPECT_EQ(s.live_sessions, 4u);
  EXPECT_EQ(s.sessions_evicted, 7u);  // 11 sessions started, 4 kept.
  EXPECT_EQ(s.sessions_started, 11u);
  // The most recently seen survive; v0 was evicted before it came back and
  // again after.
  for (int i = 6; i < 10; ++i) {
    EXPECT_NE(MustDecide(*e, "v" + std::to_string(i), kT0 + 10 * kSec).reason,
              Reason::kNoSession);
  }
  EXPECT_EQ(MustDecide(*e, "v1", kT0 + 10 * kSec).reason, Reason::kNoSession);
}

TEST(State, DeclineMemoryOutlivesTheSessionsEviction) {
  Engine::Options o;
  o.shards = 1;
  o.max_sessions = 2;
  auto e = MakeEngine(TestPolicy(), o);
  Decline(*e, "anna", kT0);
  for (int i = 0; i < 5; ++i) {  // Push anna's session out.
    MustObserve(*e, Event::PageView(kT0 + 2 * kMin + i, "x" + std::to_string(i),
                                    "/"));
  }
  EXPECT_EQ(MustDecide(*e, "anna", kT0 + 3 * kMin).reason, Reason::kNoSession);
  EXPECT_EQ(e->Stats().memory_records, 1u);
  StuckVisitor(*e, "anna", kT0 + 4 * kMin);
  EXPECT_EQ(MustDecide(*e, "anna", kT0 + 4 * kMin + kStuckOfferAfter).reason,
            Reason::kDeclined);
}

TEST(State, MemoryRecordsAreCappedAndCounted) {
  Engine::Options o;
  o.shards = 1;
  o.max_memory_records = 3;
  auto e = MakeEngine(TestPolicy(), o);
  for (int i = 0; i < 5; ++i) {
    MustObserve(*e, Event::OfferDeclined(kT0 + i, "v" + std::to_string(i), "/",
                                         Channel::kChat));
  }
  EXPECT_EQ(e->Stats().memory_records, 3u);
  EXPECT_EQ(e->Stats().memory_evicted, 2u);
}

TEST(State, AFloodOfIgnoredOffersEvictsNoDecline) {
  Engine::Options o;
  o.shards = 1;
  o.max_memory_records = 8;
  auto e = MakeEngine(TestPolicy(), o);
  for (int i = 0; i < 4; ++i) {
    MustObserve(*e, Event::OfferDeclined(kT0 + i, "d" + std::to_string(i), "/",
                                         Channel::kChat));
  }
  // One visitor ignored an offer first and declined the next: its record
  // holds a decline from then on.
  MustObserve(*e, Event::OfferIgnored(kT0 + 10, "both", "/", Channel::kChat));
  MustObserve(*e, Event::OfferDeclined(kT0 + 11, "both", "/", Channel::kChat));
  // Far past capacity: 1,000 ignore-only records of fresh visitors.
  for (int i = 0; i < 1000; ++i) {
    MustObserve(*e, Event::OfferIgnored(kT0 + kSec + i, "i" + std::to_string(i),
                                        "/", Channel::kChat));
  }
  EngineStats s = e->Stats();
  EXPECT_EQ(s.memory_records, 8u);
  EXPECT_EQ(s.memory_evicted, 1000u - 3u);  // 5 declines + 3 ignores kept.
  EXPECT_EQ(s.declines_evicted, 0u);
  for (const char* v : {"d0", "d1", "d2", "d3", "both"}) {
    EXPECT_TRUE(StillDeclined(*e, v, kT0 + kDay)) << v;
  }
}

TEST(State, DeclinesBeyondCapacityAreEvictedOldestFirstAndCountedApart) {
  Engine::Options o;
  o.shards = 1;
  o.max_memory_records = 3;
  auto e = MakeEngine(TestPolicy(), o);
  MustObserve(*e, Event::OfferIgnored(kT0, "ignorer", "/", Channel::kChat));
  for (int i = 0; i < 5; ++i) {
    MustObserve(*e, Event::OfferDeclined(kT0 + 1 + i, "d" + std::to_string(i),
                                         "/", Channel::kChat));
  }
  // The ignore-only record went first, then the two oldest declines.
  EngineStats s = e->Stats();
  EXPECT_EQ(s.memory_records, 3u);
  EXPECT_EQ(s.memory_evicted, 3u);
  EXPECT_EQ(s.declines_evicted, 2u);
  // A shard full of declines keeps no new ignore-only record: counted as
  // evicted, no decline lost.
  MustObserve(*e, Event::OfferIgnored(kT0 + 10, "late", "/", Channel::kChat));
  s = e->Stats();
  EXPECT_EQ(s.memory_records, 3u);
  EXPECT_EQ(s.memory_evicted, 4u);
  EXPECT_EQ(s.declines_evicted, 2u);
  for (const char* v : {"d2", "d3", "d4"}) {
    EXPECT_TRUE(StillDeclined(*e, v, kT0 + kDay)) << v;
  }
  for (const char* v : {"d0", "d1"}) {
    EXPECT_FALSE(StillDeclined(*e, v, kT0 + kDay)) << v;
  }
}

TEST(State, RestoreIntoASmallerEngineKeepsDeclinesBeforeIgnores) {
  auto big = MakeEngine(TestPolicy());
  for (int i = 0; i < 3; ++i) {
    MustObserve(*big, Event::OfferDeclined(kT0 + i, "d" + std::to_string(i),
                                           "/", Channel::kChat));
  }
  for (int i = 0; i < 50; ++i) {  // Ignores, all younger than the declines.
    MustObserve(*big, Event::OfferIgnored(kT0 + kSec + i,
                                          "i" + std::to_string(i), "/",
                                          Channel::kChat));
  }
  Engine::Options o;
  o.shards = 1;
  o.max_memory_records = 4;
  auto small = MakeEngine(TestPolicy(), o);
  ASSERT_TRUE(small->Restore(big->Snapshot()).ok());
  const EngineStats s = small->Stats();
  EXPECT_EQ(s.memory_records, 4u);
  EXPECT_EQ(s.memory_evicted, 49u);
  EXPECT_EQ(s.declines_evicted, 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(StillDeclined(*small, "d" + std::to_string(i), kT0 + kDay));
  }
}

TEST(State, ExpireDropsIdleSessionsAndSpentMemory) {
  auto e = MakeEngine(TestPolicy());
  Decline(*e, "anna", kT0);
  MustObserve(*e, Event::PageView(kT0, "ben", "/"));
  EXPECT_EQ(e->Stats().live_sessions, 2u);
  ASSERT_TRUE(e->Expire(kT0 + 2 * 60 * kMin).ok());
  EXPECT_EQ(e->Stats().live_sessions, 0u);
  EXPECT_EQ(e->Stats().sessions_expired, 2u);
  EXPECT_EQ(e->Stats().memory_records, 1u);  // The decline lasts 30 days.
  ASSERT_TRUE(e->Expire(kT0 + 31 * kDay).ok());
  EXPECT_EQ(e->Stats().memory_records, 0u);
}

TEST(State, ExpireFindsSpentMemoryWhateverItsRecency) {
  auto e = MakeEngine(TestPolicy());
  MustObserve(*e, Event::OfferDeclined(kT0, "declined", "/", Channel::kChat));
  MustObserve(*e, Event::OfferIgnored(kT0 + kSec, "ignored", "/",
                                      Channel::kChat));
  // The ignore (7 days) is younger than the decline (30 days) but spent
  // first.
  ASSERT_TRUE(e->Expire(kT0 + 8 * kDay).ok());
  EXPECT_EQ(e->Stats().memory_records, 1u);
  StuckVisitor(*e, "declined", kT0 + 8 * kDay);
  EXPECT_EQ(MustDecide(*e, "declined", kT0 + 8 * kDay + kStuckOfferAfter)
                .reason,
            Reason::kDeclined);
}

TEST(State, ExpireRejectsTimestampsOutOfRangeAndChangesNothing) {
  auto e = MakeEngine(TestPolicy());
  Decline(*e, "anna", kT0);
  const std::string before = e->Snapshot();
  // A host passing microseconds, or garbage.
  for (int64_t bad : {kT0 * 1000, int64_t{-1},
                      std::numeric_limits<int64_t>::min()}) {
    const absl::Status s = e->Expire(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Str(s.message()), HasSubstr("out of range"));
  }
  EXPECT_EQ(e->Snapshot(), before);
}

TEST(State, OneVisitorsClockRunningAheadCostsNoOneTheirDecline) {
  Engine::Options o;
  o.shards = 1;
  auto e = MakeEngine(TestPolicy(), o);
  Decline(*e, "anna", kT0);
  // A valid but far-future event for another visitor.
  MustObserve(*e, Event::PageView(4102444800000, "mallory", "/"));
  EXPECT_EQ(e->Stats().memory_records, 1u);
  StuckVisitor(*e, "anna", kT0 + kDay);
  EXPECT_EQ(MustDecide(*e, "anna", kT0 + kDay + kStuckOfferAfter).reason,
            Reason::kDeclined);
}

TEST(State, ObserveExpiresIdleSessionsAsItGoes) {
  Engine::Options o;
  o.shards = 1;
  auto e = MakeEngine(TestPolicy(), o);
  for (int i = 0; i < 100; ++i) {
    MustObserve(*e, Event::PageView(kT0 + i, "old" + std::to_string(i), "/"));
  }
  for (int i = 0; i < 30; ++i) {
    MustObserve(*e, Event::PageView(kT0 + kDay + i, "new" + std::to_string(i),
                                    "/"));
  }
  // Each event expires up to two idle sessions: 30 events, 100 idle.
  EXPECT_EQ(e->Stats().live_sessions, 100u - 30u * 2 + 30u);
  EXPECT_EQ(e->Stats().sessions_expired, 60u);
}

TEST(State, RecordsAreSmall) {
  // The per-visitor budget is about 160 bytes including the index; the
  // session record is the bulk of it.
  EXPECT_LE(sizeof(internal::SessionRecord), 112u);
  EXPECT_LE(sizeof(internal::MemoryRecord), 24u);
}

}  // namespace
}  // namespace beckon::testing
