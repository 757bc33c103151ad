// MvccMetrics: etcd's etcd_mvcc_{range,put,delete,txn}_total for this
// member's key space, counted as etcd's metricsTxnWrite/metricsTxnRead do:
// each request adds its ranges, puts and deletes (a delete range is one,
// whatever it removes; a txn counts the operations of the branch it took,
// nested ones included), and a request of more than one operation is also
// one txn. Writes count where they are applied (on every member), reads
// where they are served. Plain counters: the member's one thread updates
// them.
#ifndef KEEL_NODE_MVCC_METRICS_H_
#define KEEL_NODE_MVCC_METRICS_H_

#include <cstdint>

#include "proto/rpc.pb.h"
#include "runtime/metrics.h"

namespace keel::node {

struct MvccMetrics {
  metrics::Counter ranges;
  metrics::Counter puts;
  metrics::Counter deletes;
  metrics::Counter txns;

  void Count(uint64_t range_ops, uint64_t put_ops, uint64_t delete_ops);
  // A txn whose answer is `response`: the operations of the branch taken.
  void CountTxn(const etcdserverpb::TxnRequest& request,
                const etcdserverpb::TxnResponse& response);
};

}  // namespace keel::node

#endif  // KEEL_NODE_MVCC_METRICS_H_
