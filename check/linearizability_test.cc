// Hand-written KV histories the linearizability checker must accept or
// reject.
#include "check/linearizability.h"

#include "gtest/gtest.h"
#include "check/history_test_util.h"

namespace keel::check {
namespace {

using testing::HistoryBuilder;
using testing::Kv;

std::string Explain(const LinResult& r) {
  std::string out;
  for (const Violation& v : r.violations) out += FormatViolation(v) + "\n";
  return out + r.note;
}

void ExpectLinearizable(const History& h, const LinOptions& options = {}) {
  LinResult r = CheckLinearizability(h, options);
  EXPECT_EQ(r.verdict, Verdict::kOk) << Explain(r);
  EXPECT_TRUE(r.committed.has_value());
}

// Expects a violation with `property` naming (at least) `ops`.
void ExpectViolation(const History& h, const std::string& property,
                     const std::vector<OpId>& ops, const LinOptions& options = {}) {
  LinResult r = CheckLinearizability(h, options);
  ASSERT_EQ(r.verdict, Verdict::kViolation) << Explain(r);
  bool found = false;
  for (const Violation& v : r.violations) {
    if (v.property != property) continue;
    bool all = true;
    for (OpId id : ops) {
      all = all && std::find(v.ops.begin(), v.ops.end(), id) != v.ops.end();
    }
    found = found || all;
  }
  EXPECT_TRUE(found) << "wanted " << property << "\n" << Explain(r);
}

TEST(LinearizabilityTest, AcceptsConcurrentPutsAndGets) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(1, "a", "2", 15, 25, 3);
  b.Get(2, "a", 18, 30, 2, Kv("a", "1", 2, 2, 1));  // concurrent with the second put
  b.Get(2, "a", 40, 50, 3, Kv("a", "2", 2, 3, 2));
  b.Get(3, "b", 12, 60, 3, std::nullopt);
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsTxnCompareAndSwap) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Cas(1, "a", "1", "2", 30, 40, 3, true);
  b.Cas(2, "a", "1", "3", 35, 45, 3, false, Kv("a", "2", 2, 3, 2));
  b.Cas(3, "missing", "x", "y", 50, 60, 3, false);
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsUnknownWriteThatTookEffect) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "2", 30);
  b.Get(2, "a", 50, 60, 3, Kv("a", "2", 2, 3, 2));
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsUnknownWriteThatDidNotTakeEffect) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "2", 30);
  b.Get(2, "a", 50, 60, 2, Kv("a", "1", 2, 2, 1));
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsUnknownWriteThatAppliesAfterTheClientGaveUp) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "2", 30);
  b.Get(2, "a", 100, 110, 2, Kv("a", "1", 2, 2, 1));
  b.Put(1, "b", "1", 120, 130, 3);
  b.Get(2, "a", 200, 210, 4, Kv("a", "2", 2, 4, 2));
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsUnobservedUnknownWritesSharingGaps) {
  HistoryBuilder b;
  b.Put(0, "c", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "x", 21);
  b.PutUnknown(2, "b", "y", 22);
  b.PutUnknown(3, "d", "never", 23);
  b.Put(0, "c", "2", 30, 40, 5);
  b.Get(0, "b", 50, 60, 5, Kv("b", "y", 3, 3, 1));
  b.Get(0, "a", 50, 60, 5, Kv("a", "x", 4, 4, 1));
  b.Get(0, "d", 50, 60, 5, std::nullopt);
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsUnknownWriteRevealedOnlyByVersion) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "lost?", 21);
  b.PutUnknown(2, "b", "other", 22);
  b.Put(0, "a", "3", 30, 40, 4);
  // Version 3: the unknown put of "a" happened (at revision 3).
  b.Get(0, "a", 50, 60, 4, Kv("a", "3", 2, 4, 3));
  b.Get(0, "b", 50, 60, 4, std::nullopt);
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsReadsAtOldRevisions) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(0, "a", "2", 30, 40, 3);
  b.Get(1, "a", 50, 60, 3, Kv("a", "1", 2, 2, 1), false, 2);
  b.Get(1, "a", 50, 60, 3, std::nullopt, false, 1);
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsStaleSerializableReads) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(0, "a", "2", 30, 40, 3);
  b.Get(1, "a", 50, 60, 2, Kv("a", "1", 2, 2, 1), /*serializable=*/true);
  b.Get(1, "a", 70, 80, 3, Kv("a", "2", 2, 3, 2), true);
  // Served by a lagging member after a failover: etcd allows going back.
  b.Get(1, "a", 90, 95, 2, Kv("a", "1", 2, 2, 1), true);
  History h = b.Build();
  ExpectLinearizable(h);
  LinOptions monotonic;
  monotonic.serializable_monotonic = true;
  ExpectViolation(h, "serializable-monotonic", {4, 3}, monotonic);
}

TEST(LinearizabilityTest, AcceptsDeletes) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Delete(0, "a", 30, 40, 3, 1);
  b.Get(1, "a", 50, 60, 3, std::nullopt);
  b.Delete(1, "a", 70, 80, 3, 0);
  b.Put(0, "a", "2", 90, 100, 4);
  b.Get(1, "a", 110, 120, 4, Kv("a", "2", 4, 4, 1));
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, AcceptsLeaseExpiryDeletingKeys) {
  HistoryBuilder b;
  b.Grant(0, 7, 5, 0, 5, 1);
  b.Put(0, "a", "1", 10, 20, 2, 7);
  b.Put(0, "b", "1", 10, 20, 3, 7);
  b.Get(1, "a", 30, 40, 3, Kv("a", "1", 2, 2, 1, 7));
  b.Get(1, "a", 50, 60, 4, std::nullopt);  // revision 4: the lease expired
  b.Get(1, "b", 50, 60, 4, std::nullopt);
  ExpectLinearizable(b.Build());
}

// keel-sim cluster seed 810 (before plans): an unknown put, overwritten by
// an unknown put that attached a lease, which then expired. The first put
// needs no delete of its own to be gone by the final read.
TEST(LinearizabilityTest, AcceptsPutOverwrittenByALeasedPutWhoseLeaseExpired) {
  HistoryBuilder b;
  b.Grant(0, 7, 2, 0, 5, 1);
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "k", "plain", 30);       // revision 3
  b.PutUnknown(2, "k", "leased", 31, 7);   // revision 4
  b.Get(0, "a", 40, 50, 4, Kv("a", "1", 2, 2, 1));
  b.Get(0, "k", 60, 70, 5, std::nullopt);  // revision 5: the lease expired
  ExpectLinearizable(b.Build());
}

TEST(LinearizabilityTest, RejectsStaleLinearizableRead) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId put = b.Put(0, "a", "2", 30, 40, 3);
  OpId read = b.Get(1, "a", 50, 60, 2, Kv("a", "1", 2, 2, 1));
  ExpectViolation(b.Build(), "real-time", {put, read});
}

TEST(LinearizabilityTest, RejectsStaleValueUnderCurrentHeader) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId put = b.Put(0, "a", "2", 30, 40, 3);
  OpId read = b.Get(1, "a", 50, 60, 3, Kv("a", "1", 2, 2, 1));
  ExpectViolation(b.Build(), "response", {read, put});
}

TEST(LinearizabilityTest, RejectsLostAcknowledgedWrite) {
  HistoryBuilder b;
  OpId put = b.Put(0, "a", "1", 10, 20, 2);
  OpId read = b.Get(1, "a", 30, 40, 2, std::nullopt);
  ExpectViolation(b.Build(), "response", {read, put});
}

TEST(LinearizabilityTest, RejectsReadOfValueNeverWritten) {
  HistoryBuilder b;
  OpId put = b.Put(0, "a", "1", 10, 20, 2);
  OpId read = b.Get(1, "a", 30, 40, 2, Kv("a", "bogus", 2, 2, 1));
  ExpectViolation(b.Build(), "response", {read, put});
}

TEST(LinearizabilityTest, RejectsValueNoUnknownWriteCouldHaveWritten) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.PutUnknown(1, "a", "2", 25);
  OpId read = b.Get(1, "a", 30, 40, 3, Kv("a", "bogus", 2, 3, 2));
  ExpectViolation(b.Build(), "unexplained-revision", {read});
}

TEST(LinearizabilityTest, RejectsRevisionsNothingCouldHaveCreated) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Get(1, "a", 30, 40, 3, Kv("a", "bogus", 2, 3, 2));
  ExpectViolation(b.Build(), "unexplained-revision", {});
}

TEST(LinearizabilityTest, RejectsCompareAndSwapThatSucceededTwice) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId first = b.Cas(1, "a", "1", "2", 30, 40, 3, true);
  OpId second = b.Cas(2, "a", "1", "3", 32, 50, 4, true);
  ExpectViolation(b.Build(), "response", {second, first});
}

TEST(LinearizabilityTest, RejectsTwoWritesWithOneRevision) {
  HistoryBuilder b;
  OpId p1 = b.Put(0, "a", "1", 10, 20, 2);
  OpId p2 = b.Put(1, "b", "1", 10, 20, 2);
  ExpectViolation(b.Build(), "duplicate-revision", {p1, p2});
}

TEST(LinearizabilityTest, RejectsUnknownWriteSeenBeforeItWasInvoked) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId read = b.Get(1, "a", 30, 40, 3, Kv("a", "2", 2, 3, 2));
  b.PutUnknown(2, "a", "2", 100);
  ExpectViolation(b.Build(), "unexplained-revision", {read});
}

TEST(LinearizabilityTest, RejectsSerializableReadOfTheFuture) {
  HistoryBuilder b;
  OpId read = b.Get(1, "a", 5, 8, 2, Kv("a", "1", 2, 2, 1), /*serializable=*/true);
  OpId put = b.Put(0, "a", "1", 10, 20, 2);
  ExpectViolation(b.Build(), "serializable-future", {read, put});
}

TEST(LinearizabilityTest, RejectsReadOfCompactedRevision) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(0, "a", "2", 30, 40, 3);
  OpId compact = b.Compact(0, 3, 50, 60, 3);
  OpId read = b.Get(1, "a", 70, 80, 3, Kv("a", "1", 2, 2, 1), false, 2);
  ExpectViolation(b.Build(), "compacted-read", {compact, read});
}

TEST(LinearizabilityTest, RejectsLeaseKeysRemovedInTwoRevisions) {
  HistoryBuilder b;
  b.Grant(0, 7, 5, 0, 5, 1);
  b.Put(0, "a", "1", 10, 20, 2, 7);
  b.Put(0, "b", "1", 10, 20, 3, 7);
  b.Get(1, "a", 50, 60, 4, std::nullopt);  // a gone at 4 ...
  OpId read = b.Get(1, "b", 50, 60, 4, Kv("b", "1", 3, 3, 1, 7));  // ... b not
  b.Get(1, "b", 70, 80, 5, std::nullopt);
  ExpectViolation(b.Build(), "unexplained-revision", {});
  (void)read;
}

}  // namespace
}  // namespace keel::check
