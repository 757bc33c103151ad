// Tests of the Lessor alone: the apply side on a real Mvcc (LevelDB in
// memory) and the primary's expiry and checkpoint queues on a ManualClock.
#include "node/lessor.h"

#include <memory>

#include "gtest/gtest.h"
#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "node/errors.h"
#include "runtime/manual_clock.h"

namespace keel::node {
namespace {

constexpr int64_t kLease = 7;

class LessorTest : public ::testing::Test {
 protected:
  LessorTest() : leveldb_env_(leveldb::NewMemEnv(leveldb::Env::Default())) {
    options_.min_ttl_seconds = 2;
    options_.expired_retry_interval = Seconds(3);
    options_.checkpoint_interval = Seconds(60);
    Reopen();
  }

  void Reopen() {
    lessor_.reset();
    mvcc_.reset();
    store::MvccOptions options;
    options.path = "/kv";
    options.env = leveldb_env_.get();
    auto opened = store::Mvcc::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    mvcc_ = std::move(*opened);
    index_ = mvcc_->applied().index;
    lessor_ = std::make_unique<Lessor>(clock_, *mvcc_, options_);
    ASSERT_TRUE(lessor_->Load().ok());
  }

  store::EntryId Next() { return store::EntryId{++index_, 1}; }

  int64_t Grant(int64_t id, int64_t ttl) {
    absl::StatusOr<int64_t> granted = lessor_->Grant(Next(), id, ttl);
    EXPECT_TRUE(granted.ok()) << granted.status();
    return granted.value_or(0);
  }
  void Put(const std::string& key, int64_t lease) {
    store::PutRequest request;
    request.key = key;
    request.value = "v";
    request.lease = lease;
    ASSERT_TRUE(mvcc_->Put(Next(), request).ok());
  }
  int64_t KeyCount() {
    store::RangeRequest request;
    request.key = std::string(1, '\0');
    request.range_end = std::string(1, '\0');
    request.count_only = true;
    auto result = mvcc_->Range(request);
    EXPECT_TRUE(result.ok());
    return result.ok() ? result->count : -1;
  }

  Executor executor_;
  ManualClock clock_{executor_};
  std::unique_ptr<leveldb::Env> leveldb_env_;
  LessorOptions options_;
  std::unique_ptr<store::Mvcc> mvcc_;
  std::unique_ptr<Lessor> lessor_;
  uint64_t index_ = 0;
};

TEST(MinLeaseTtl, IsOneAndAHalfElectionTimeoutsRoundedUpToASecond) {
  EXPECT_EQ(MinLeaseTtlSeconds(1000, 100), 2);  // 15 ticks of 100 ms
  EXPECT_EQ(MinLeaseTtlSeconds(500, 100), 1);   // 7 ticks: 0.7 s
  EXPECT_EQ(MinLeaseTtlSeconds(5000, 500), 8);  // 15 ticks of 500 ms
}

TEST_F(LessorTest, GrantRaisesTheTtlToTheMinimumAndPersistsTheLease) {
  EXPECT_EQ(Grant(kLease, 1), 2);
  EXPECT_EQ(Grant(kLease + 1, 30), 30);
  auto records = mvcc_->Leases();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0], (store::LeaseRecord{kLease, 2, 0}));
  EXPECT_EQ((*records)[1], (store::LeaseRecord{kLease + 1, 30, 0}));
  Reopen();
  EXPECT_EQ(lessor_->Ids(), (std::vector<int64_t>{kLease, kLease + 1}));
  EXPECT_EQ(lessor_->Lookup(kLease)->granted_ttl_seconds, 2);
}

TEST_F(LessorTest, RefusedGrantsStillConsumeTheirEntry) {
  Grant(kLease, 10);
  const store::EntryId duplicate = Next();
  EXPECT_TRUE(IsError(lessor_->Grant(duplicate, kLease, 10).status(), EtcdError::kLeaseExist));
  EXPECT_EQ(mvcc_->applied().index, duplicate.index);
  EXPECT_TRUE(IsError(lessor_->Grant(Next(), kLease + 1, kMaxLeaseTtlSeconds + 1).status(),
                      EtcdError::kLeaseTTLTooLarge));
  EXPECT_TRUE(IsError(lessor_->Grant(Next(), 0, 10).status(), EtcdError::kLeaseNotFound));
  EXPECT_EQ(mvcc_->applied().index, index_);
  EXPECT_EQ(lessor_->size(), 1u);
  EXPECT_EQ(Grant(kLease + 2, kMaxLeaseTtlSeconds), kMaxLeaseTtlSeconds);
}

TEST_F(LessorTest, RevokeDeletesEveryAttachedKeyAtOneRevision) {
  Grant(kLease, 10);
  Put("a", kLease);
  Put("b", kLease);
  Put("c", 0);
  const int64_t before = mvcc_->current_revision();
  auto revision = lessor_->Revoke(Next(), kLease);
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_EQ(*revision, before + 1);
  EXPECT_EQ(KeyCount(), 1);
  EXPECT_FALSE(lessor_->Lookup(kLease).has_value());
  EXPECT_TRUE(IsError(lessor_->Revoke(Next(), kLease).status(), EtcdError::kLeaseNotFound));
  EXPECT_EQ(mvcc_->applied().index, index_) << "a refused revoke consumes its entry";
}

TEST_F(LessorTest, AFollowerNeverExpiresLeasesNorRenewsThem) {
  Grant(kLease, 2);
  clock_.RunFor(Seconds(100));
  EXPECT_TRUE(lessor_->FindExpired(100).empty());
  EXPECT_EQ(lessor_->Renew(kLease).outcome, RenewOutcome::kNotPrimary);
}

TEST_F(LessorTest, PromotionGivesEveryLeaseItsTtlPlusTheExtensionFromNow) {
  Grant(kLease, 10);
  clock_.RunFor(Seconds(100));
  lessor_->Promote(Seconds(1), /*term=*/2);
  EXPECT_TRUE(lessor_->IsPrimaryFor(2));
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 10)
      << "never reports more than granted, extension or not";
  clock_.RunFor(Seconds(11) - Milliseconds(1));
  EXPECT_TRUE(lessor_->FindExpired(100).empty());
  clock_.RunFor(Milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(100), std::vector<int64_t>{kLease});
  EXPECT_EQ(lessor_->Renew(kLease).outcome, RenewOutcome::kExpired);
  EXPECT_TRUE(lessor_->FindExpired(100).empty()) << "not handed out twice at once";
  clock_.RunFor(Seconds(3));
  EXPECT_EQ(lessor_->FindExpired(100), std::vector<int64_t>{kLease})
      << "handed out again after the retry interval";
}

TEST_F(LessorTest, ListsLeasesSoonestExpiryFirstOnThePrimaryAndByIdOtherwise) {
  Grant(kLease, 30);
  Grant(kLease + 1, 10);
  Grant(kLease + 2, 12);
  EXPECT_EQ(lessor_->IdsByExpiry(), (std::vector<int64_t>{kLease, kLease + 1, kLease + 2}));
  lessor_->Promote(Seconds(0), 2);
  EXPECT_EQ(lessor_->IdsByExpiry(), (std::vector<int64_t>{kLease + 1, kLease + 2, kLease}));
  clock_.RunFor(Seconds(5));
  // Now expires at 15 s, after kLease + 2's 12 s.
  ASSERT_EQ(lessor_->Renew(kLease + 1).outcome, RenewOutcome::kRenewed);
  EXPECT_EQ(lessor_->IdsByExpiry(), (std::vector<int64_t>{kLease + 2, kLease + 1, kLease}));
}

TEST_F(LessorTest, ReloadSwitchesToAnotherKeySpaceAndStopsBeingPrimary) {
  Grant(kLease, 30);
  lessor_->Promote(Seconds(0), 2);
  // Another key space, as a snapshot brings: it holds a different lease.
  std::unique_ptr<leveldb::Env> other_env(leveldb::NewMemEnv(leveldb::Env::Default()));
  store::MvccOptions options;
  options.path = "/kv";
  options.env = other_env.get();
  auto other = store::Mvcc::Open(options);
  ASSERT_TRUE(other.ok()) << other.status();
  const store::LeaseRecord record{kLease + 5, 40, 0};
  ASSERT_TRUE((*other)->PutLeases(store::EntryId{1, 1}, {&record, 1}).ok());
  ASSERT_TRUE(lessor_->Reload(**other).ok());
  EXPECT_FALSE(lessor_->primary());
  EXPECT_EQ(lessor_->Ids(), std::vector<int64_t>{kLease + 5});
  EXPECT_EQ(lessor_->Lookup(kLease + 5)->granted_ttl_seconds, 40);
  // Apply-side changes go to the new key space.
  EXPECT_TRUE(lessor_->Revoke(store::EntryId{2, 1}, kLease + 5).ok());
  EXPECT_TRUE((*other)->Leases()->empty());
  EXPECT_EQ(mvcc_->Leases()->size(), 1u) << "the old key space is left alone";
  lessor_.reset();
}

TEST_F(LessorTest, RenewRestartsTheFullTtl) {
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 10);
  for (int i = 0; i < 10; i++) {
    clock_.RunFor(Seconds(8));
    RenewResult renewed = lessor_->Renew(kLease);
    EXPECT_EQ(renewed.outcome, RenewOutcome::kRenewed);
    EXPECT_EQ(renewed.ttl_seconds, 10);
    EXPECT_TRUE(lessor_->FindExpired(100).empty());
  }
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 10);
  clock_.RunFor(Seconds(4));
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 6);
  EXPECT_EQ(lessor_->Renew(kLease + 1).outcome, RenewOutcome::kNotFound);
}

#if KEEL_FAILPOINTS
// keel-sim's lease-early-expiry defect (failpoint build only): keepalives
// are answered but do not move the expiry.
TEST_F(LessorTest, TheSimulatorsDefectIgnoresKeepalivesForExpiry) {
  options_.failpoint_ignore_keepalives = true;
  Reopen();
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 10);
  clock_.RunFor(Seconds(8));
  RenewResult renewed = lessor_->Renew(kLease);
  EXPECT_EQ(renewed.outcome, RenewOutcome::kRenewed);
  EXPECT_EQ(renewed.ttl_seconds, 10);
  clock_.RunFor(Seconds(2));
  EXPECT_EQ(lessor_->FindExpired(100), std::vector<int64_t>{kLease});
}
#endif  // KEEL_FAILPOINTS

TEST_F(LessorTest, DemotionForgetsEveryExpiry) {
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 2);
  lessor_->Demote();
  EXPECT_FALSE(lessor_->primary());
  clock_.RunFor(Seconds(10));
  EXPECT_TRUE(lessor_->FindExpired(100).empty());
  lessor_->Promote(Seconds(0), 3);
  EXPECT_FALSE(lessor_->IsPrimaryFor(2));
  EXPECT_TRUE(lessor_->FindExpired(100).empty()) << "a new primary starts a full TTL";
}

TEST_F(LessorTest, ExpireRevokesOnlyLeasesThatStillExist) {
  Grant(kLease, 10);
  Put("k", kLease);
  auto none = lessor_->Expire(Next(), {kLease + 1});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(mvcc_->applied().index, index_);
  auto one = lessor_->Expire(Next(), {kLease + 1, kLease});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  EXPECT_EQ(KeyCount(), 0);
  Grant(1, 10);
  Grant(2, 10);
  EXPECT_TRUE(absl::IsInvalidArgument(lessor_->Expire(Next(), {1, 2}).status()));
  EXPECT_EQ(lessor_->size(), 2u);
  EXPECT_EQ(mvcc_->applied().index, index_);
}

TEST_F(LessorTest, CheckpointsRecordRemainingTtlAndANewPrimaryResumesFromThem) {
  options_.checkpoint_enabled = true;
  Reopen();
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 600);
  Grant(kLease + 1, 30);  // shorter than the interval: never checkpointed
  clock_.RunFor(Seconds(59));
  EXPECT_TRUE(lessor_->FindDueCheckpoints(100).empty());
  clock_.RunFor(Seconds(1));
  auto due = lessor_->FindDueCheckpoints(100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id(), kLease);
  EXPECT_EQ(due[0].remaining_ttl(), 540);
  etcdserverpb::LeaseCheckpointRequest request;
  *request.add_checkpoints() = due[0];
  ASSERT_TRUE(lessor_->Checkpoint(Next(), request).ok());
  EXPECT_TRUE(lessor_->HasCheckpoint(kLease));
  clock_.RunFor(Seconds(60));
  due = lessor_->FindDueCheckpoints(100);
  ASSERT_EQ(due.size(), 1u) << "checkpointing goes on while the lease lives";
  EXPECT_EQ(due[0].remaining_ttl(), 480);

  // A restarted member that becomes leader resumes from the checkpoint.
  Reopen();
  lessor_->Promote(Seconds(1), 3);
  clock_.RunFor(Seconds(10));
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 531);
}

TEST_F(LessorTest, WithoutCheckpointingARestartResetsLeasesToTheirFullTtl) {
  options_.checkpoint_enabled = true;
  Reopen();
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 600);
  clock_.RunFor(Seconds(60));
  etcdserverpb::LeaseCheckpointRequest request;
  *request.add_checkpoints() = lessor_->FindDueCheckpoints(100).at(0);
  ASSERT_TRUE(lessor_->Checkpoint(Next(), request).ok());
  options_.checkpoint_enabled = false;
  Reopen();
  lessor_->Promote(Seconds(0), 3);
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 600);
  EXPECT_FALSE(lessor_->HasCheckpoint(kLease));
  clock_.RunFor(Seconds(600));
  EXPECT_TRUE(lessor_->FindDueCheckpoints(100).empty());
}

TEST_F(LessorTest, AClearedCheckpointLetsTheLeaseRunItsFullTtlAgain) {
  options_.checkpoint_enabled = true;
  Reopen();
  lessor_->Promote(Seconds(0), 2);
  Grant(kLease, 600);
  etcdserverpb::LeaseCheckpointRequest request;
  auto* checkpoint = request.add_checkpoints();
  checkpoint->set_id(kLease);
  checkpoint->set_remaining_ttl(100);
  ASSERT_TRUE(lessor_->Checkpoint(Next(), request).ok());
  checkpoint->set_remaining_ttl(0);
  ASSERT_TRUE(lessor_->Checkpoint(Next(), request).ok());
  EXPECT_FALSE(lessor_->HasCheckpoint(kLease));
  lessor_->Promote(Seconds(0), 3);
  EXPECT_EQ(lessor_->Lookup(kLease)->remaining_seconds, 600);
}

TEST_F(LessorTest, PromotionSpreadsManySimultaneousExpiries) {
  for (int64_t id = 1; id <= 3000; id++) Grant(id, 10);
  lessor_->Promote(Seconds(1), 2);
  clock_.RunFor(Seconds(11));
  // Without spreading all 3000 would expire in this one second; etcd keeps
  // it near 3/4 of the revoke rate.
  const std::vector<int64_t> first = lessor_->FindExpired(10000);
  EXPECT_GE(first.size(), 700u);
  EXPECT_LE(first.size(), 760u);
  for (int64_t id : first) ASSERT_TRUE(lessor_->Revoke(Next(), id).ok());
  clock_.RunFor(Seconds(10));
  EXPECT_EQ(lessor_->FindExpired(10000).size() + first.size(), 3000u);
}

TEST_F(LessorTest, FindExpiredHonoursItsLimitInExpiryOrder) {
  lessor_->Promote(Seconds(0), 2);
  for (int64_t id = 1; id <= 10; id++) Grant(id, 20 - id);
  clock_.RunFor(Seconds(30));
  EXPECT_EQ(lessor_->FindExpired(3), (std::vector<int64_t>{10, 9, 8}));
  EXPECT_EQ(lessor_->FindExpired(100).size(), 7u);
}

}  // namespace
}  // namespace keel::node
