// Conversions between etcd's wire messages (etcdserverpb) and the store's
// plain structs (store/mvcc_types.h). The services and the applier use them
// so neither the store nor raft knows about the wire format.
#ifndef KEEL_NODE_KV_CONVERT_H_
#define KEEL_NODE_KV_CONVERT_H_

#include "proto/rpc.pb.h"
#include "store/mvcc_types.h"

namespace keel::node {

store::RangeRequest FromWire(const etcdserverpb::RangeRequest& request);
store::PutRequest FromWire(const etcdserverpb::PutRequest& request);
store::DeleteRangeRequest FromWire(const etcdserverpb::DeleteRangeRequest& request);
store::TxnRequest FromWire(const etcdserverpb::TxnRequest& request);

// The results carry no header; the caller fills it (cluster, member, term).
// Results are consumed (keys and values moved out).
void ToWire(store::RangeResult&& result, etcdserverpb::RangeResponse* out);
void ToWire(store::PutResult&& result, etcdserverpb::PutResponse* out);
void ToWire(store::DeleteRangeResult&& result,
            etcdserverpb::DeleteRangeResponse* out);
void ToWire(store::TxnResult&& result, etcdserverpb::TxnResponse* out);

}  // namespace keel::node

#endif  // KEEL_NODE_KV_CONVERT_H_
