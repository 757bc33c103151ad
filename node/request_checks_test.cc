// etcd's pre-proposal checks: each rule with one passing and one failing
// request.
#include "node/request_checks.h"

#include "gtest/gtest.h"
#include "node/errors.h"

namespace keel::node {
namespace {

using etcdserverpb::TxnRequest;

void AddPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
            const std::string& key) {
  ops->Add()->mutable_request_put()->set_key(key);
}
void AddDelete(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
               const std::string& key, const std::string& end = "") {
  auto* del = ops->Add()->mutable_request_delete_range();
  del->set_key(key);
  del->set_range_end(end);
}

TEST(RequestChecksTest, EmptyKeysAreRefused) {
  EXPECT_TRUE(IsError(CheckRangeRequest({}), EtcdError::kEmptyKey));
  EXPECT_TRUE(IsError(CheckPutRequest({}), EtcdError::kEmptyKey));
  EXPECT_TRUE(IsError(CheckDeleteRequest({}), EtcdError::kEmptyKey));
}

// A client can send any int for an enum (found by fuzz_server_requests:
// an unknown sort target reached the store's sort and stopped the member).
TEST(RequestChecksTest, UnnamedSortOptionsAreRefused) {
  etcdserverpb::RangeRequest range;
  range.set_key("k");
  range.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  range.set_sort_target(etcdserverpb::RangeRequest::VALUE);
  EXPECT_TRUE(CheckRangeRequest(range).ok());
  range.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(9));
  EXPECT_TRUE(IsError(CheckRangeRequest(range), EtcdError::kInvalidSortOption));
  range.set_sort_target(etcdserverpb::RangeRequest::KEY);
  range.set_sort_order(static_cast<etcdserverpb::RangeRequest::SortOrder>(-1));
  EXPECT_TRUE(IsError(CheckRangeRequest(range), EtcdError::kInvalidSortOption));
  // Inside a txn too.
  TxnRequest txn;
  *txn.add_success()->mutable_request_range() = range;
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kInvalidSortOption));
}

TEST(RequestChecksTest, IgnoreValueWithAValueIsRefused) {
  etcdserverpb::PutRequest put;
  put.set_key("k");
  put.set_ignore_value(true);
  EXPECT_TRUE(CheckPutRequest(put).ok());
  put.set_value("v");
  EXPECT_TRUE(IsError(CheckPutRequest(put), EtcdError::kValueProvided));
  put.clear_value();
  put.set_ignore_lease(true);
  put.set_lease(5);
  EXPECT_TRUE(IsError(CheckPutRequest(put), EtcdError::kLeaseProvided));
}

TEST(RequestChecksTest, TooManyOpsIsRefused) {
  TxnRequest txn;
  for (int i = 0; i < 129; i++) AddPut(txn.mutable_success(), "k" + std::to_string(i));
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kTooManyOps));
  txn.mutable_success()->RemoveLast();
  EXPECT_TRUE(CheckTxnRequest(txn, 128).ok());
}

TEST(RequestChecksTest, PuttingOneKeyTwiceIsRefused) {
  TxnRequest txn;
  AddPut(txn.mutable_success(), "a");
  AddPut(txn.mutable_success(), "a");
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kDuplicateKey));
}

TEST(RequestChecksTest, PuttingADeletedKeyIsRefused) {
  TxnRequest txn;
  AddDelete(txn.mutable_success(), "a", "c");
  AddPut(txn.mutable_success(), "b");
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kDuplicateKey));
  TxnRequest outside;
  AddDelete(outside.mutable_success(), "a", "c");
  AddPut(outside.mutable_success(), "c");
  EXPECT_TRUE(CheckTxnRequest(outside, 128).ok()) << "range_end is exclusive";
}

TEST(RequestChecksTest, BranchesOfANestedTxnMayPutTheSameKey) {
  TxnRequest txn;
  auto* nested = txn.add_success()->mutable_request_txn();
  AddPut(nested->mutable_success(), "a");
  AddPut(nested->mutable_failure(), "a");
  EXPECT_TRUE(CheckTxnRequest(txn, 128).ok());
  AddPut(txn.mutable_success(), "a");
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kDuplicateKey));
}

// The txns served without a raft entry: ranges (or empty ops) only, in both
// branches; a
// nested txn goes through raft even if it only reads (as store::IsReadOnlyTxn).
TEST(RequestChecksTest, OnlyATxnOfRangesIsServedWithoutAnEntry) {
  TxnRequest reads;
  reads.add_success()->mutable_request_range()->set_key("a");
  reads.add_failure()->mutable_request_range()->set_key("b");
  reads.add_failure();  // an empty op, applied as an empty range
  EXPECT_TRUE(TxnOnlyRanges(reads));
  EXPECT_TRUE(TxnOnlyRanges(TxnRequest{}));

  TxnRequest put = reads;
  AddPut(put.mutable_failure(), "c");
  EXPECT_FALSE(TxnOnlyRanges(put));

  TxnRequest nested = reads;
  nested.add_success()->mutable_request_txn()->add_success()->mutable_request_range()->set_key("d");
  EXPECT_FALSE(TxnOnlyRanges(nested));
}

TEST(RequestChecksTest, SuccessAndFailureMayPutTheSameKey) {
  TxnRequest txn;
  AddPut(txn.mutable_success(), "a");
  AddPut(txn.mutable_failure(), "a");
  EXPECT_TRUE(CheckTxnRequest(txn, 128).ok());
}

TEST(RequestChecksTest, CompareNeedsAKey) {
  TxnRequest txn;
  txn.add_compare();
  EXPECT_TRUE(IsError(CheckTxnRequest(txn, 128), EtcdError::kEmptyKey));
}

}  // namespace
}  // namespace keel::node
