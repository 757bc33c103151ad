#include "node/mvcc_metrics.h"

#include <gtest/gtest.h>

namespace keel::node {
namespace {

etcdserverpb::TxnRequest TwoBranches() {
  etcdserverpb::TxnRequest txn;
  txn.add_success()->mutable_request_put()->set_key("a");
  txn.add_success()->mutable_request_range()->set_key("a");
  auto* nested = txn.add_success()->mutable_request_txn();
  nested->add_success()->mutable_request_delete_range()->set_key("b");
  nested->add_failure()->mutable_request_put()->set_key("c");
  txn.add_failure()->mutable_request_put()->set_key("d");
  return txn;
}

TEST(MvccMetrics, TxnCountsTheBranchTakenWithNestedOnes) {
  MvccMetrics m;
  etcdserverpb::TxnResponse response;
  response.set_succeeded(true);
  response.add_responses();
  response.add_responses();
  response.add_responses()->mutable_response_txn()->set_succeeded(false);
  m.CountTxn(TwoBranches(), response);
  EXPECT_EQ(m.puts.value(), 2u);  // "a", and "c" of the nested failure branch
  EXPECT_EQ(m.ranges.value(), 1u);
  EXPECT_EQ(m.deletes.value(), 0u);
  EXPECT_EQ(m.txns.value(), 1u);
}

TEST(MvccMetrics, OneOperationIsNoTxn) {
  MvccMetrics m;
  etcdserverpb::TxnResponse failed;
  failed.set_succeeded(false);
  m.CountTxn(TwoBranches(), failed);  // the failure branch: one put
  m.Count(1, 0, 0);
  EXPECT_EQ(m.puts.value(), 1u);
  EXPECT_EQ(m.ranges.value(), 1u);
  EXPECT_EQ(m.txns.value(), 0u);
}

}  // namespace
}  // namespace keel::node
