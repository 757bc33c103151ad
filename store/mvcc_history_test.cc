// Events: the listener sees each apply's changes with prev_kv, and history
// reads return the same events for any range of revisions and keys, in
// batches that never split a revision, until compaction removes them.
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

const std::string kAll("\0", 1);

class RecordingListener : public MvccListener {
 public:
  void OnApply(int64_t revision, std::span<const Event> events) override {
    for (const Event& e : events) {
      EXPECT_EQ(e.kv.mod_revision, revision);
      events_.push_back(e);
    }
  }
  std::vector<Event> events_;
};

TEST_F(MvccTest, TheListenerSeesEveryChangeWithItsPreviousPair) {
  RecordingListener listener;
  mvcc_->SetListener(&listener);
  Put("a", "1");
  Put("a", "2");
  Delete("nothing");
  ASSERT_TRUE(Txn(TxnRequest{.success = {DeleteOp("a"), PutOp("b", "3")}}).ok());
  ASSERT_EQ(listener.events_.size(), 4u);
  EXPECT_EQ(listener.events_[0].type, EventType::kPut);
  EXPECT_FALSE(listener.events_[0].prev_kv.has_value());
  EXPECT_EQ(listener.events_[1].prev_kv->value, "1");
  EXPECT_EQ(listener.events_[1].kv.version, 2);
  const Event& del = listener.events_[2];
  EXPECT_EQ(del.type, EventType::kDelete);
  EXPECT_EQ(del.kv, (KeyValue{.key = "a", .mod_revision = 4}));
  EXPECT_EQ(del.prev_kv->value, "2");
  mvcc_->SetListener(nullptr);
}

TEST_F(MvccTest, HistoryReturnsTheSameEventsTheListenerSaw) {
  RecordingListener listener;
  mvcc_->SetListener(&listener);
  Put("a", "1");
  Put("b", "1");
  Put("a", "2");
  Delete("a", "c");
  Put("a", "3");
  mvcc_->SetListener(nullptr);
  absl::StatusOr<EventBatch> all = mvcc_->Events(kAll, kAll, 1, 0, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->events, listener.events_);
  EXPECT_EQ(all->last_revision, 6);
}

TEST_F(MvccTest, HistoryKeepsToTheKeysAndRevisionsAsked) {
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("a", "2");  // 4
  Put("c", "1");  // 5
  absl::StatusOr<EventBatch> a = mvcc_->Events("a", "", 2, 4, 100);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->events.size(), 1u);
  EXPECT_EQ(a->events[0].kv.value, "2");
  EXPECT_EQ(a->events[0].prev_kv->value, "1");
  EXPECT_EQ(a->last_revision, 4);
  absl::StatusOr<EventBatch> bc = mvcc_->Events("b", "d", 0, 0, 100);
  ASSERT_TRUE(bc.ok());
  ASSERT_EQ(bc->events.size(), 2u);
  EXPECT_EQ(bc->events[1].kv.key, "c");
  EXPECT_TRUE(IsFutureRev(mvcc_->Events("a", "", 0, 6, 10).status()));
}

TEST_F(MvccTest, HistoryBatchesStopBetweenRevisions) {
  Put("a", "1");  // 2
  ASSERT_TRUE(
      Txn(TxnRequest{.success = {PutOp("b", "1"), PutOp("c", "1")}}).ok());  // 3
  Put("d", "1");  // 4
  absl::StatusOr<EventBatch> first = mvcc_->Events(kAll, kAll, 1, 0, 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->events.size(), 3u);
  EXPECT_EQ(first->last_revision, 3);
  absl::StatusOr<EventBatch> rest =
      mvcc_->Events(kAll, kAll, first->last_revision, 0, 2);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->events.size(), 1u);
  EXPECT_EQ(rest->events[0].kv.key, "d");
  EXPECT_EQ(rest->last_revision, 4);
}

TEST_F(MvccTest, HistoryBelowTheCompactionIsCompacted) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("a", "3");  // 4
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 3).ok());
  CompactFully();
  EXPECT_TRUE(IsCompacted(mvcc_->Events("a", "", 1, 0, 10).status()));
  absl::StatusOr<EventBatch> from_compaction = mvcc_->Events("a", "", 2, 0, 10);
  ASSERT_TRUE(from_compaction.ok()) << from_compaction.status();
  ASSERT_EQ(from_compaction->events.size(), 2u);
  EXPECT_FALSE(from_compaction->events[0].prev_kv.has_value());
  EXPECT_EQ(from_compaction->events[1].prev_kv->value, "2");
}

TEST_F(MvccTest, APutSupersededInItsOwnTxnVanishesAtTheCompactionPoint) {
  // etcd's duplicate-key check lets sibling nested txns put and then delete
  // one key; compaction at that revision keeps neither change.
  Put("k", "1");  // 2
  ASSERT_TRUE(Txn(TxnRequest{.success = {
                      TxnOp(TxnRequest{.success = {PutOp("n", "x")}}),
                      TxnOp(TxnRequest{.success = {DeleteOp("a", "z")}})}})
                  .ok());  // 3: put n (3.0), delete k (3.1), delete n (3.2)
  absl::StatusOr<EventBatch> before = mvcc_->Events(kAll, kAll, 2, 0, 10);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->events.size(), 3u);
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 3).ok());
  for (bool compacted : {false, true}) {
    if (compacted) CompactFully();
    absl::StatusOr<EventBatch> after = mvcc_->Events(kAll, kAll, 2, 0, 10);
    ASSERT_TRUE(after.ok());
    EXPECT_TRUE(after->events.empty());
  }
}

}  // namespace
}  // namespace keel::store
