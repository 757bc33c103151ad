// Request validation done before anything is proposed, as etcd's v3rpc layer
// does it: empty keys, ignore_value/ignore_lease misuse, the txn op limit,
// and a txn that writes one key twice (or puts a key it also deletes).
// Every error is etcd's (node/errors.h).
#ifndef KEEL_NODE_REQUEST_CHECKS_H_
#define KEEL_NODE_REQUEST_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "proto/rpc.pb.h"

namespace keel::node {

absl::Status CheckRangeRequest(const etcdserverpb::RangeRequest& request);
absl::Status CheckPutRequest(const etcdserverpb::PutRequest& request);
absl::Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& request);
// `max_txn_ops` is --max-txn-ops. Also rejects overlapping writes.
absl::Status CheckTxnRequest(const etcdserverpb::TxnRequest& request,
                             int64_t max_txn_ops);

// Whether a txn writes (puts or deletes), in either branch or a nested txn:
// a txn that only reads is served without a raft entry.
bool TxnWrites(const etcdserverpb::TxnRequest& request);
// Whether every operation of both branches is a range or empty (no nested
// txn): the wire form of store::IsReadOnlyTxn, the txns served without a
// raft entry.
bool TxnOnlyRanges(const etcdserverpb::TxnRequest& request);
// Whether every range of a txn (nested ones too) is serializable: then no
// linearizable barrier is needed.
bool TxnIsSerializable(const etcdserverpb::TxnRequest& request);

}  // namespace keel::node

#endif  // KEEL_NODE_REQUEST_CHECKS_H_
