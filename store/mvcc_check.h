// Request checks etcd makes before a request reaches raft (etcdserver/api/
// v3rpc/key.go): keys present, ignore_value/ignore_lease not combined with
// a value or lease, and no key written twice by one txn. The server calls
// them before proposing; the Mvcc calls them again when applying, so an
// apply never sees a request that breaks them.
#ifndef KEEL_STORE_MVCC_CHECK_H_
#define KEEL_STORE_MVCC_CHECK_H_

#include "absl/status/status.h"
#include "store/mvcc_types.h"

namespace keel::store {

// ErrEmptyKey.
absl::Status CheckRange(const RangeRequest& request);
// ErrEmptyKey, ErrValueProvided, ErrLeaseProvided.
absl::Status CheckPut(const PutRequest& request);
// ErrEmptyKey.
absl::Status CheckDeleteRange(const DeleteRangeRequest& request);
// Every compare and operation (recursively) as above, then ErrDuplicateKey
// if the success or the failure branch could put one key twice, or put a
// key that one of its deletes covers (etcd's checkIntervals; deletes may
// overlap each other). Unlike etcd, a delete with range_end "\0" covers
// every key from its key on: etcd's interval check misses that case, and
// the txn then fails inside etcd's apply.
absl::Status CheckTxn(const TxnRequest& request);

// etcd's isTxnReadonly: every operation of both branches is a range (a
// nested txn counts as a write). etcd serves such txns without raft.
bool IsReadOnlyTxn(const TxnRequest& request);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_CHECK_H_
