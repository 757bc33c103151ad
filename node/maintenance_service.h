// MaintenanceService: etcd's Maintenance service on gRPC: Status, Hash,
// HashKV, Snapshot, Alarm, Defragment and MoveLeader.
#ifndef KEEL_NODE_MAINTENANCE_SERVICE_H_
#define KEEL_NODE_MAINTENANCE_SERVICE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "node/applied_index.h"
#include "node/defragmenter.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "node/read_index.h"
#include "node/response_header.h"

namespace keel::node {

// What the service reads and does; all must outlive it.
struct MaintenanceParts {
  Env& env;
  KeySpace& key_space;
  RaftNode& raft;
  Proposer& proposer;
  const AppliedIndex& applied;
  const ResponseHeaders& headers;
  MemberLife& life;
  // Defragment's barrier: it first catches up with what the cluster committed.
  ReadIndexBatcher& reads;
  // How long MoveLeader waits when the call has no deadline.
  Duration request_timeout = Seconds(7);
  // Where Snapshot writes its temporary file (the member's snap directory).
  std::string snap_dir;
};

class MaintenanceService {
 public:
  explicit MaintenanceService(MaintenanceParts parts)
      : parts_(std::move(parts)), defragmenter_(parts_.env, parts_.key_space, parts_.life) {}

  // dbSize is the LevelDB files on disk (KeySpace::SizeBytes, what the
  // quota counts); dbSizeInUse the live entries in them (Defragmenter::
  // InUseBytes): what the files would shrink to after a Defragment. So
  // right after a compaction dbSizeInUse drops and dbSize does not, as
  // etcd's bbolt keeps the freed pages until a defrag.
  Task<etcdserverpb::StatusResponse> Status();
  Defragmenter& defragmenter() { return defragmenter_; }
  absl::StatusOr<etcdserverpb::HashResponse> Hash();
  absl::StatusOr<etcdserverpb::HashKVResponse> HashKV(const etcdserverpb::HashKVRequest& request);
  // Through raft, as etcd does (every action, also GET). Propose's errors.
  Task<absl::StatusOr<etcdserverpb::AlarmResponse>> Alarm(etcdserverpb::AlarmRequest request);
  // Online (Defragmenter): reads and writes go on meanwhile. etcd's empty
  // response; kStopped, LevelDB's errors.
  Task<absl::StatusOr<etcdserverpb::DefragmentResponse>> Defragment();
  // Hands leadership to `target_id` through raft (TransferLeader) and waits
  // until this member sees it lead, polling every heartbeat as etcd does,
  // until `deadline` (the call's; without one, the request timeout). Errors
  // as etcd's: kNotLeader on a member that does not lead,
  // kBadLeaderTransferee for a target that is not a voting member,
  // kLeaderTransferTimeout when the deadline passes first.
  Task<absl::StatusOr<etcdserverpb::MoveLeaderResponse>> MoveLeader(
      const etcdserverpb::MoveLeaderRequest& request, std::optional<TimePoint> deadline);

  void Register(net::GrpcServer& grpc);

 private:
  using SnapshotStream =
      net::TypedServerStream<etcdserverpb::SnapshotRequest, etcdserverpb::SnapshotResponse>;
  // The key space as of the call, written to a file under the snap
  // directory as etcd's snapshot file (node/snapshot_bbolt.h), then
  // streamed as it is: what etcdctl snapshot save, status and restore take.
  Task<absl::Status> StreamSnapshot(SnapshotStream& stream);

  MaintenanceParts parts_;
  Defragmenter defragmenter_;
  uint64_t saves_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MAINTENANCE_SERVICE_H_
