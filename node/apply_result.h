// ApplyResult: what applying one committed entry produced, handed to the
// proposal's waiter on the member that proposed it.
#ifndef KEEL_NODE_APPLY_RESULT_H_
#define KEEL_NODE_APPLY_RESULT_H_

#include <variant>

#include "absl/status/status.h"
#include "proto/rpc.pb.h"

namespace keel::node {

struct ApplyResult {
  // The request's outcome: OK, or an etcd error from node/errors.h.
  absl::Status status;
  // The response, when status is OK. monostate for requests answered with
  // nothing but their status (member attributes, lease expiry).
  std::variant<std::monostate, etcdserverpb::PutResponse,
               etcdserverpb::DeleteRangeResponse, etcdserverpb::TxnResponse,
               etcdserverpb::CompactionResponse,
               etcdserverpb::LeaseGrantResponse,
               etcdserverpb::LeaseRevokeResponse,
               etcdserverpb::LeaseCheckpointResponse,
               etcdserverpb::AlarmResponse>
      response;
  // The raft index the entry was applied at.
  uint64_t index = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_APPLY_RESULT_H_
