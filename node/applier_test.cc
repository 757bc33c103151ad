// Tests of the applier chain (node/applier.h) as a table: each row starts
// from a key space holding one key and one lease, raises the alarms it
// names, sets the quota, applies one request as the next raft entry through
// QuotaApplier -> CorruptApplier -> BackendApplier, and states the outcome:
// the status, whether the key space changed (revision), and, for every row,
// that the entry was consumed (the applied index moved to it), which is
// what makes replay after a crash a no-op.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/applier.h"
#include "node/backend_applier.h"
#include "node/corrupt_applier.h"
#include "node/errors.h"
#include "node/key_space.h"
#include "node/quota.h"
#include "node/quota_applier.h"
#include "sim/sim_testing.h"

namespace keel::node {
namespace {

constexpr uint64_t kMember = 0x1111;
constexpr int64_t kLease = 42;

// A quota of one byte: every write that grows the key space is over it.
constexpr int64_t kTinyQuota = 1;
// No quota at all.
constexpr int64_t kNoQuota = -1;

struct Row {
  std::string name;
  std::vector<etcdserverpb::AlarmType> alarms;
  int64_t quota_bytes = kNoQuota;
  std::function<void(internal::InternalRaftRequest*)> request;
  // OK, or the etcd error expected.
  std::optional<EtcdError> error;
  absl::StatusCode code = absl::StatusCode::kOk;  // when `error` is unset
  // Whether the request's changes reached the key space (a new revision).
  bool changed = false;
};

internal::InternalRaftRequest::RequestCase Kind(const Row& row) {
  internal::InternalRaftRequest request;
  row.request(&request);
  return request.request_case();
}

void PutRequest(internal::InternalRaftRequest* r) {
  r->mutable_put()->set_key("new");
  r->mutable_put()->set_value("v");
}
void TxnWithPut(internal::InternalRaftRequest* r) {
  auto* put = r->mutable_txn()->add_success()->mutable_request_put();
  put->set_key("new");
  put->set_value("v");
}
void TxnWithDelete(internal::InternalRaftRequest* r) {
  r->mutable_txn()->add_success()->mutable_request_delete_range()->set_key("k");
}
void DeleteRequest(internal::InternalRaftRequest* r) { r->mutable_delete_range()->set_key("k"); }
void CompactRequest(internal::InternalRaftRequest* r) { r->mutable_compaction()->set_revision(1); }
void GrantRequest(internal::InternalRaftRequest* r) {
  r->mutable_lease_grant()->set_id(7);
  r->mutable_lease_grant()->set_ttl(60);
}
void RevokeRequest(internal::InternalRaftRequest* r) { r->mutable_lease_revoke()->set_id(kLease); }

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override { Fresh(); }

  // A new key space (in a new directory) holding the starting state.
  void Fresh() {
    corrupt_.reset();
    backend_.reset();
    headers_.reset();
    key_space_.reset();
    next_index_ = 0;
    compactions_ = 0;
    KeySpaceOptions options;
    options.dir = "kv" + std::to_string(++spaces_);
    options.leveldb_background = store::LevelDbBackground::kQueue;
    options.leveldb_write_buffer_bytes = 64 << 10;
    auto space = KeySpace::Open(h_.env(), options);
    ASSERT_TRUE(space.ok()) << space.status();
    key_space_ = std::move(*space);
    headers_ = std::make_unique<ResponseHeaders>(*key_space_, 1, kMember, [] { return 1; });
    backend_ = std::make_unique<BackendApplier>(*key_space_, *headers_, [this] { compactions_++; });
    corrupt_ = std::make_unique<CorruptApplier>(*backend_, key_space_->alarms());
    // The starting state: one key, attached to one lease.
    internal::InternalRaftRequest grant;
    grant.mutable_lease_grant()->set_id(kLease);
    grant.mutable_lease_grant()->set_ttl(60);
    ASSERT_TRUE(Apply(*backend_, grant).status.ok());
    internal::InternalRaftRequest put;
    put.mutable_put()->set_key("k");
    put.mutable_put()->set_value("v");
    put.mutable_put()->set_lease(kLease);
    ASSERT_TRUE(Apply(*backend_, put).status.ok());
  }

  ApplyResult Apply(Applier& applier, const internal::InternalRaftRequest& request) {
    next_index_++;
    const ApplyContext context{.entry = {next_index_, 1}, .header = &request.header()};
    return ApplyRequest(applier, context, request);
  }

  sim::SimHarness h_{1};
  std::unique_ptr<KeySpace> key_space_;
  std::unique_ptr<ResponseHeaders> headers_;
  std::unique_ptr<BackendApplier> backend_;
  std::unique_ptr<CorruptApplier> corrupt_;
  uint64_t next_index_ = 0;
  int compactions_ = 0;
  int spaces_ = 0;
};

TEST_F(ApplierTest, TheChainAppliesOrRefusesEachRequestAndAlwaysConsumesItsEntry) {
  using etcdserverpb::CORRUPT;
  using etcdserverpb::NOSPACE;
  const std::vector<Row> rows = {
      {"put", {}, kNoQuota, PutRequest, {}, absl::StatusCode::kOk, true},
      {"put over this member's quota is applied but answered NOSPACE", {}, kTinyQuota,
       PutRequest, EtcdError::kNoSpace, absl::StatusCode::kOk, true},
      {"put under NOSPACE is refused", {NOSPACE}, kNoQuota, PutRequest, EtcdError::kNoSpace},
      {"txn that puts under NOSPACE is refused", {NOSPACE}, kNoQuota, TxnWithPut,
       EtcdError::kNoSpace},
      {"txn that only deletes under NOSPACE is applied", {NOSPACE}, kNoQuota, TxnWithDelete,
       {}, absl::StatusCode::kOk, true},
      {"delete under NOSPACE is applied", {NOSPACE}, kNoQuota, DeleteRequest, {},
       absl::StatusCode::kOk, true},
      {"lease grant under NOSPACE is refused", {NOSPACE}, kNoQuota, GrantRequest,
       EtcdError::kNoSpace},
      {"lease grant over quota is applied but answered NOSPACE", {}, kTinyQuota, GrantRequest,
       EtcdError::kNoSpace},
      {"compaction under NOSPACE is applied", {NOSPACE}, kNoQuota, CompactRequest, {}},
      {"lease revoke under NOSPACE deletes its keys", {NOSPACE}, kNoQuota, RevokeRequest, {},
       absl::StatusCode::kOk, true},
      {"put under CORRUPT is refused", {CORRUPT}, kNoQuota, PutRequest, EtcdError::kCorrupt},
      {"delete under CORRUPT is refused", {CORRUPT}, kNoQuota, DeleteRequest,
       EtcdError::kCorrupt},
      {"txn under CORRUPT is refused", {CORRUPT}, kNoQuota, TxnWithDelete, EtcdError::kCorrupt},
      {"compaction under CORRUPT is refused", {CORRUPT}, kNoQuota, CompactRequest,
       EtcdError::kCorrupt},
      {"lease grant under CORRUPT is refused", {CORRUPT}, kNoQuota, GrantRequest,
       EtcdError::kCorrupt},
      {"lease revoke under CORRUPT is refused", {CORRUPT}, kNoQuota, RevokeRequest,
       EtcdError::kCorrupt},
      {"a request this version cannot apply is refused alike everywhere", {}, kNoQuota,
       [](internal::InternalRaftRequest* r) { r->mutable_header()->set_id(1); }, {},
       absl::StatusCode::kUnimplemented},
      {"an expiry the leader of this term decided revokes the lease and its key", {}, kNoQuota,
       [](internal::InternalRaftRequest* r) {
         r->mutable_header()->set_leader_term(1);  // entries here are of term 1
         r->mutable_lease_expire()->add_ids(kLease);
       },
       {}, absl::StatusCode::kOk, true},
      {"an expiry a deposed leader decided, appended in a later term, is refused", {},
       kNoQuota,
       [](internal::InternalRaftRequest* r) {
         r->mutable_header()->set_leader_term(2);
         r->mutable_lease_expire()->add_ids(kLease);
       },
       {}, absl::StatusCode::kFailedPrecondition},
      {"a checkpoint a deposed leader decided is refused too", {}, kNoQuota,
       [](internal::InternalRaftRequest* r) {
         r->mutable_header()->set_leader_term(2);
         auto* checkpoint = r->mutable_lease_checkpoint()->add_checkpoints();
         checkpoint->set_id(kLease);
         checkpoint->set_remaining_ttl(1);
       },
       {}, absl::StatusCode::kFailedPrecondition},
      {"attributes of a member that is not in the cluster change nothing", {}, kNoQuota,
       [](internal::InternalRaftRequest* r) { r->mutable_member_attributes()->set_member_id(9); },
       {}, absl::StatusCode::kNotFound},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Fresh();
    for (etcdserverpb::AlarmType alarm : row.alarms) {
      internal::InternalRaftRequest raise;
      raise.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
      raise.mutable_alarm()->set_memberid(kMember);
      raise.mutable_alarm()->set_alarm(alarm);
      ASSERT_TRUE(Apply(*backend_, raise).status.ok());
    }
    Quota quota(*key_space_, row.quota_bytes);
    QuotaApplier head(*corrupt_, quota, key_space_->alarms());
    internal::InternalRaftRequest request;
    row.request(&request);
    const int64_t revision_before = key_space_->mvcc().current_revision();
    ApplyResult result = Apply(head, request);
    if (row.error.has_value()) {
      EXPECT_TRUE(IsError(result.status, *row.error)) << result.status;
    } else {
      EXPECT_EQ(result.status.code(), row.code) << result.status;
    }
    EXPECT_EQ(key_space_->mvcc().current_revision() > revision_before, row.changed)
        << "revision " << revision_before << " -> " << key_space_->mvcc().current_revision();
    EXPECT_EQ(key_space_->mvcc().applied().index, next_index_) << "the entry was not consumed";
    if (Kind(row) == internal::InternalRaftRequest::kCompaction && result.status.ok()) {
      EXPECT_EQ(compactions_, 1);
    }
  }
}

TEST_F(ApplierTest, AlarmsAreRaisedListedAndClearedThroughTheChain) {
  Quota quota(*key_space_, kNoQuota);
  QuotaApplier head(*corrupt_, quota, key_space_->alarms());
  auto alarm = [&](etcdserverpb::AlarmRequest::AlarmAction action, uint64_t member,
                   etcdserverpb::AlarmType type) {
    internal::InternalRaftRequest request;
    request.mutable_alarm()->set_action(action);
    request.mutable_alarm()->set_memberid(member);
    request.mutable_alarm()->set_alarm(type);
    ApplyResult result = Apply(head, request);
    EXPECT_TRUE(result.status.ok()) << result.status;
    return std::get<etcdserverpb::AlarmResponse>(result.response);
  };
  using etcdserverpb::AlarmRequest;
  EXPECT_EQ(alarm(AlarmRequest::ACTIVATE, 2, etcdserverpb::NOSPACE).alarms_size(), 1);
  // Raising it again answers nothing new, as etcd does.
  EXPECT_EQ(alarm(AlarmRequest::ACTIVATE, 2, etcdserverpb::NOSPACE).alarms_size(), 0);
  EXPECT_EQ(alarm(AlarmRequest::ACTIVATE, 1, etcdserverpb::CORRUPT).alarms_size(), 1);
  etcdserverpb::AlarmResponse all = alarm(AlarmRequest::GET, 0, etcdserverpb::NONE);
  ASSERT_EQ(all.alarms_size(), 2);
  EXPECT_EQ(all.alarms(0).memberid(), 1u);  // by member, then type
  EXPECT_EQ(all.alarms(0).alarm(), etcdserverpb::CORRUPT);
  EXPECT_EQ(all.alarms(1).memberid(), 2u);
  EXPECT_EQ(alarm(AlarmRequest::GET, 0, etcdserverpb::NOSPACE).alarms_size(), 1);
  EXPECT_EQ(alarm(AlarmRequest::DEACTIVATE, 2, etcdserverpb::NOSPACE).alarms_size(), 1);
  EXPECT_FALSE(key_space_->alarms().Active(etcdserverpb::NOSPACE));
  EXPECT_TRUE(key_space_->alarms().Active(etcdserverpb::CORRUPT));
}

TEST_F(ApplierTest, AlarmsSurviveReopeningTheKeySpace) {
  internal::InternalRaftRequest raise;
  raise.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  raise.mutable_alarm()->set_memberid(kMember);
  raise.mutable_alarm()->set_alarm(etcdserverpb::NOSPACE);
  ASSERT_TRUE(Apply(*backend_, raise).status.ok());
  ASSERT_TRUE(key_space_->Close().ok());
  const std::string dir = key_space_->dir();
  corrupt_.reset();
  backend_.reset();
  headers_.reset();
  key_space_.reset();
  KeySpaceOptions options;
  options.dir = dir;
  options.leveldb_background = store::LevelDbBackground::kQueue;
  auto reopened = KeySpace::Open(h_.env(), options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->alarms().Active(etcdserverpb::NOSPACE));
  ASSERT_EQ((*reopened)->alarms().List().size(), 1u);
  EXPECT_EQ((*reopened)->alarms().List()[0].memberid(), kMember);
}

}  // namespace
}  // namespace keel::node
