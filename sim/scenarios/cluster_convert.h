// Conversions between etcd's wire messages (proto/rpc.proto, mvcc.proto)
// and the checker's history model (check/history.h), for the cluster
// scenario's clients: requests are drawn as history requests, sent as
// protos, and the protos that come back are recorded as history responses.
// Pure functions; nothing here suspends or fails (every history request has
// a wire form, and every field the model holds is read from the response).
#ifndef KEEL_SIM_SCENARIOS_CLUSTER_CONVERT_H_
#define KEEL_SIM_SCENARIOS_CLUSTER_CONVERT_H_

#include "proto/mvcc.pb.h"
#include "proto/rpc.pb.h"
#include "check/history.h"

namespace keel::sim::cluster {

// ---- requests: history -> wire ----
etcdserverpb::PutRequest ToProto(const check::PutRequest& request);
etcdserverpb::RangeRequest ToProto(const check::RangeRequest& request);
etcdserverpb::DeleteRangeRequest ToProto(const check::DeleteRequest& request);
etcdserverpb::TxnRequest ToProto(const check::TxnRequest& request);
etcdserverpb::CompactionRequest ToProto(const check::CompactRequest& request);
etcdserverpb::WatchCreateRequest ToProto(const check::WatchRequest& request);

// ---- responses: wire -> history ----
check::KeyValue FromProto(const mvccpb::KeyValue& kv);
check::PutResponse FromProto(const etcdserverpb::PutResponse& response);
check::RangeResponse FromProto(const etcdserverpb::RangeResponse& response);
check::DeleteResponse FromProto(const etcdserverpb::DeleteRangeResponse& response);
check::TxnResponse FromProto(const etcdserverpb::TxnResponse& response);
// A watch response received at `time_ns`.
check::WatchResponse FromProto(const etcdserverpb::WatchResponse& response,
                               int64_t time_ns);

}  // namespace keel::sim::cluster

#endif  // KEEL_SIM_SCENARIOS_CLUSTER_CONVERT_H_
