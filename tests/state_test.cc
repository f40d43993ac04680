// Visitor state: snapshot and restore, capacity, expiry, record size.
#include <cstdio>
#include <atomic>
#include <limits>
#include <fstream>
#include <thread>

#include "engine_test_util.h"
#include "file_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
  EXPECT_EQ(v.reasons[0], "dwell 60 s, below the page's threshold 120 s");
  const Decision w = MustDecide(*b, "w", kT0 + 30 * kSec);  // Now unlisted.
  EXPECT_EQ(w.reasons[0], "dwell 29 s, below the page's threshold 60 s");
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
