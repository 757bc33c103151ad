// MaintenanceService: etcd's Maintenance service on gRPC: Status, Hash,
// HashKV, Snapshot and Alarm. (Defragment and MoveLeader come with the
// maintenance work.)
#ifndef KEEL_NODE_MAINTENANCE_SERVICE_H_
#define KEEL_NODE_MAINTENANCE_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "node/applied_index.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "node/response_header.h"

namespace keel::node {

// What the service reads and does; all must outlive it.
struct MaintenanceParts {
  Env& env;
  KeySpace& key_space;
  const RaftNode& raft;
  Proposer& proposer;
  const AppliedIndex& applied;
  const ResponseHeaders& headers;
  const MemberLife& life;
  // Where Snapshot writes its temporary file (the member's snap directory).
  std::string snap_dir;
};

class MaintenanceService {
 public:
  explicit MaintenanceService(MaintenanceParts parts) : parts_(std::move(parts)) {}

  etcdserverpb::StatusResponse Status() const;
  absl::StatusOr<etcdserverpb::HashResponse> Hash();
  absl::StatusOr<etcdserverpb::HashKVResponse> HashKV(const etcdserverpb::HashKVRequest& request);
  // Through raft, as etcd does (every action, also GET). Propose's errors.
  Task<absl::StatusOr<etcdserverpb::AlarmResponse>> Alarm(etcdserverpb::AlarmRequest request);

  void Register(net::GrpcServer& grpc);

 private:
  using SnapshotStream =
      net::TypedServerStream<etcdserverpb::SnapshotRequest, etcdserverpb::SnapshotResponse>;
  // The key space as of the call, written to a file under the snap
  // directory as etcd's snapshot file (node/snapshot_bbolt.h), then
  // streamed as it is: what etcdctl snapshot save, status and restore take.
  Task<absl::Status> StreamSnapshot(SnapshotStream& stream);

  MaintenanceParts parts_;
  uint64_t saves_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MAINTENANCE_SERVICE_H_
