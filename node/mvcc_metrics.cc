// MvccMetrics: counting a request's operations as etcd does.
#include "node/mvcc_metrics.h"

namespace keel::node {
namespace {

struct Ops {
  uint64_t ranges = 0;
  uint64_t puts = 0;
  uint64_t deletes = 0;
};

void AddBranch(const etcdserverpb::TxnRequest& request,
               const etcdserverpb::TxnResponse& response, Ops& ops) {
  const auto& branch = response.succeeded() ? request.success() : request.failure();
  for (int i = 0; i < branch.size(); i++) {
    const etcdserverpb::RequestOp& op = branch[i];
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange: ops.ranges++; break;
      case etcdserverpb::RequestOp::kRequestPut: ops.puts++; break;
      case etcdserverpb::RequestOp::kRequestDeleteRange: ops.deletes++; break;
      case etcdserverpb::RequestOp::kRequestTxn:
        if (i < response.responses_size()) {
          AddBranch(op.request_txn(), response.responses(i).response_txn(), ops);
        }
        break;
      default: break;
    }
  }
}

}  // namespace

void MvccMetrics::Count(uint64_t range_ops, uint64_t put_ops, uint64_t delete_ops) {
  ranges.Inc(range_ops);
  puts.Inc(put_ops);
  deletes.Inc(delete_ops);
  if (range_ops + put_ops + delete_ops > 1) txns.Inc();
}

void MvccMetrics::CountTxn(const etcdserverpb::TxnRequest& request,
                           const etcdserverpb::TxnResponse& response) {
  Ops ops;
  AddBranch(request, response, ops);
  Count(ops.ranges, ops.puts, ops.deletes);
}

}  // namespace keel::node
