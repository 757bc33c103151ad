// Hand-written watch streams the watch checker must accept or reject. The
// KV writes are always the same:
//   rev 2 put a=1 | rev 3 put b=1 | rev 4 txn{put a=2, put b=2} | rev 5 delete a
#include "check/watch_checker.h"

#include "gtest/gtest.h"
#include "check/checker.h"
#include "check/history_test_util.h"

namespace keel::check {
namespace {

using testing::Created;
using testing::DeleteEvent;
using testing::Events;
using testing::HistoryBuilder;
using testing::Kv;
using testing::Progress;
using testing::PutEvent;

Event A2() { return PutEvent(Kv("a", "1", 2, 2, 1)); }
Event B3() { return PutEvent(Kv("b", "1", 3, 3, 1)); }
Event A4() { return PutEvent(Kv("a", "2", 2, 4, 2)); }
Event B4() { return PutEvent(Kv("b", "2", 3, 4, 2)); }
Event A5() { return DeleteEvent("a", 5); }

void AddWrites(HistoryBuilder& b) {
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(0, "b", "1", 30, 40, 3);
  TxnRequest t;
  t.success.push_back(PutRequest{"a", "2"});
  t.success.push_back(PutRequest{"b", "2"});
  OpId txn = b.rec().Invoke(0, t, 50);
  TxnResponse r;
  r.succeeded = true;
  r.responses.emplace_back(std::in_place_type<PutResponse>);
  r.responses.emplace_back(std::in_place_type<PutResponse>);
  b.rec().Ok(txn, r, 4, 60);
  b.Delete(0, "a", 70, 80, 5, 1);
}

// A watch of [a, c) from `start` receiving `responses`.
OpId AddWatch(HistoryBuilder& b, int64_t start, std::vector<WatchResponse> responses,
              bool prev_kv = false, int64_t invoke = 5) {
  WatchRequest w;
  w.key = "a";
  w.range_end = "c";
  w.start_revision = start;
  w.prev_kv = prev_kv;
  OpId id = b.rec().StartWatch(9, w, invoke);
  for (WatchResponse& r : responses) b.rec().WatchReceived(id, std::move(r));
  b.rec().EndWatch(id, 1000);
  return id;
}

std::vector<Violation> Check(History h) {
  absl::StatusOr<CheckReport> report = CheckHistory(h);
  EXPECT_TRUE(report.ok()) << report.status();
  std::vector<Violation> out;
  for (const Violation& v : report->violations) {
    EXPECT_EQ(v.checker, "watch") << FormatViolation(v);
    out.push_back(v);
  }
  return out;
}

std::string Describe(const std::vector<Violation>& vs) {
  std::string out;
  for (const auto& v : vs) out += FormatViolation(v) + "\n";
  return out;
}

void ExpectClean(History h) {
  std::vector<Violation> vs = Check(std::move(h));
  EXPECT_TRUE(vs.empty()) << Describe(vs);
}

void ExpectProperty(History h, const std::string& property) {
  std::vector<Violation> vs = Check(std::move(h));
  bool found = false;
  for (const auto& v : vs) found = found || v.property == property;
  EXPECT_TRUE(found) << "wanted " << property << "\n" << Describe(vs);
}

TEST(WatchCheckerTest, AcceptsCompleteStreamFromRevision) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2,
           {Created(6, 1), Events(25, 2, {A2()}), Events(45, 3, {B3()}),
            Events(65, 4, {A4(), B4()}), Events(85, 5, {A5()}), Progress(90, 5)});
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, AcceptsStreamFromNowAndBatchedRevisions) {
  HistoryBuilder b;
  AddWrites(b);
  // Created at header 3: events start at revision 4. A slow watcher gets
  // two revisions in one response, with the current header.
  AddWatch(b, 0, {Created(45, 3), Events(90, 5, {A4(), B4(), A5()})}, false, 45);
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, AcceptsFragmentedRevision) {
  HistoryBuilder b;
  AddWrites(b);
  WatchResponse first = Events(65, 4, {A4()});
  first.fragment = true;
  AddWatch(b, 4, {Created(6, 1), first, Events(66, 4, {B4()})});
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, AcceptsPrevKv) {
  HistoryBuilder b;
  AddWrites(b);
  Event a4 = A4();
  a4.prev_kv = Kv("a", "1", 2, 2, 1);
  Event a5 = A5();
  a5.prev_kv = Kv("a", "2", 2, 4, 2);
  Event b4 = B4();
  b4.prev_kv = Kv("b", "1", 3, 3, 1);
  AddWatch(b, 4, {Created(6, 1), Events(65, 4, {a4, b4}), Events(85, 5, {a5})}, true);
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, AcceptsCompactedStartReportedAsCompacted) {
  HistoryBuilder b;
  AddWrites(b);
  b.Compact(1, 4, 90, 95, 5);
  WatchResponse compacted;
  compacted.time_ns = 101;
  compacted.revision = 5;
  compacted.compact_revision = 4;
  compacted.canceled = true;
  AddWatch(b, 2, {Created(100, 5), compacted}, false, 100);
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, RejectsGap) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2, {Created(6, 1), Events(25, 2, {A2()}), Events(65, 4, {A4(), B4()})});
  ExpectProperty(b.Build(), "reliable");
}

TEST(WatchCheckerTest, RejectsDuplicate) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2, {Created(6, 1), Events(25, 2, {A2()}), Events(26, 2, {A2()}),
                  Events(45, 3, {B3()})});
  ExpectProperty(b.Build(), "unique");
}

TEST(WatchCheckerTest, RejectsOutOfOrder) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2, {Created(6, 1), Events(45, 3, {B3()}), Events(46, 3, {A2()})});
  ExpectProperty(b.Build(), "ordered");
}

TEST(WatchCheckerTest, RejectsReorderedEventsWithinRevision) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 4, {Created(6, 1), Events(65, 4, {B4(), A4()})});
  ExpectProperty(b.Build(), "ordered");
}

TEST(WatchCheckerTest, RejectsSplitRevision) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 4, {Created(6, 1), Events(65, 4, {A4()}), Events(66, 4, {B4()})});
  ExpectProperty(b.Build(), "atomic");
}

TEST(WatchCheckerTest, RejectsEventAfterProgressNotificationPassedIt) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2, {Created(6, 1), Events(25, 2, {A2()}), Progress(50, 3), Events(51, 3, {B3()})});
  ExpectProperty(b.Build(), "bookmarkable");
}

// The answer to a WatchProgressRequest is stream-wide (watch_id -1) and
// makes the same claim.
TEST(WatchCheckerTest, RejectsEventAfterStreamWideProgressResponsePassedIt) {
  HistoryBuilder b;
  AddWrites(b);
  WatchResponse progress = Progress(50, 3);
  progress.watch_id = -1;
  AddWatch(b, 2, {Created(6, 1), Events(25, 2, {A2()}), progress, Events(51, 3, {B3()})});
  ExpectProperty(b.Build(), "bookmarkable");
}

TEST(WatchCheckerTest, RejectsResumedWatchSkippingItsStartRevision) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 3, {Created(6, 1), Events(65, 4, {A4(), B4()})});
  ExpectProperty(b.Build(), "resumable");
}

TEST(WatchCheckerTest, RejectsEventOfAWriteThatNeverHappened) {
  HistoryBuilder b;
  AddWrites(b);
  AddWatch(b, 2, {Created(6, 1), Events(25, 2, {PutEvent(Kv("a", "bogus", 2, 2, 1))})});
  ExpectProperty(b.Build(), "reliable");
}

TEST(WatchCheckerTest, RejectsSilentlySkippedCompaction) {
  HistoryBuilder b;
  AddWrites(b);
  b.Compact(1, 4, 90, 95, 5);
  // A write after the compaction: a member at revision 6 has applied it.
  b.Put(0, "c", "1", 96, 97, 6);
  AddWatch(b, 2, {Created(100, 6), Events(101, 6, {A4(), B4(), A5()})}, false, 100);
  ExpectProperty(b.Build(), "compaction");
}

// Found by keel-sim --scenario cluster --seed 15: a member that restarted
// behind the others served a watch before applying a compaction the old
// leader had acknowledged. etcd serves watches from the local store, so
// that is allowed while the member's revision is still the compaction's.
TEST(WatchCheckerTest, AcceptsAMemberThatHasNotAppliedTheCompactionYet) {
  HistoryBuilder b;
  AddWrites(b);
  b.Compact(1, 4, 90, 95, 5);
  AddWatch(b, 2, {Created(100, 5), Events(101, 5, {A2(), B3(), A4(), B4(), A5()})}, false,
           100);
  ExpectClean(b.Build());
}

// Found by keel-sim --scenario cluster --seed 200 (with leases): etcd's
// compaction at revision C removes a tombstone written at C, while a watch
// from C is not compacted, so it may miss that delete.
TEST(WatchCheckerTest, AcceptsAWatchFromACompactionRevisionMissingItsDelete) {
  HistoryBuilder b;
  AddWrites(b);
  b.Compact(1, 5, 90, 95, 5);
  AddWatch(b, 5, {Created(100, 5)}, false, 100);
  b.Put(0, "a", "3", 110, 120, 6);
  Event a6 = PutEvent(Kv("a", "3", 6, 6, 1));
  AddWatch(b, 5, {Created(100, 5), Events(121, 6, {a6})}, false, 100);
  ExpectClean(b.Build());
}

TEST(WatchCheckerTest, RejectsAWatchFromBeforeACompactionRevisionMissingItsDelete) {
  HistoryBuilder b;
  AddWrites(b);
  b.Compact(1, 5, 90, 95, 5);
  b.Put(0, "a", "3", 110, 120, 6);
  Event a6 = PutEvent(Kv("a", "3", 6, 6, 1));
  // From 4 (before the compaction happened): the delete at 5 is due.
  AddWatch(b, 4, {Created(6, 1), Events(65, 4, {A4(), B4()}), Events(121, 6, {a6})});
  ExpectProperty(b.Build(), "reliable");
}

TEST(WatchCheckerTest, RejectsWrongPrevKv) {
  HistoryBuilder b;
  AddWrites(b);
  Event a5 = A5();
  a5.prev_kv = Kv("a", "1", 2, 2, 1);  // stale: the value before revision 4
  AddWatch(b, 5, {Created(6, 1), Events(85, 5, {a5})}, true);
  ExpectProperty(b.Build(), "prev_kv");
}

TEST(WatchCheckerTest, StreamChecksRunWithoutCommittedHistory) {
  HistoryBuilder b;
  AddWatch(b, 2, {Created(6, 1), Events(45, 3, {B3()}), Events(46, 2, {A2()})});
  History h = b.Build();
  std::vector<Violation> vs = CheckWatches(h, nullptr);
  ASSERT_FALSE(vs.empty());
  EXPECT_EQ(vs[0].property, "ordered");
}

}  // namespace
}  // namespace keel::check
