// MaintenanceService: Status, Hash, HashKV, Snapshot, Alarm, Defragment and
// MoveLeader.
#include "node/maintenance_service.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_format.h"
#include "node/errors.h"
#include "node/snapshot_bbolt.h"
#include "node/version.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

// etcd streams snapshots in 32 KiB pieces.
constexpr size_t kSnapshotPieceBytes = 32 * 1024;

// Removes the temporary snapshot file however the call ends (finished,
// failed, cancelled by the client, or its process killed).
struct RemoveOnExit {
  FileSystem& fs;
  std::string path;
  ~RemoveOnExit() { (void)fs.Remove(path); }
};

}  // namespace

Task<etcdserverpb::StatusResponse> MaintenanceService::Status() {
  const int64_t db_size = parts_.key_space.SizeBytes();
  const int64_t in_use = co_await defragmenter_.InUseBytes(db_size);
  const RaftNode& raft = parts_.raft;
  etcdserverpb::StatusResponse response;
  *response.mutable_header() = parts_.headers.Make();
  response.set_version(std::string(kEtcdServerVersion));
  response.set_dbsize(db_size);
  response.set_dbsizeinuse(in_use);
  response.set_leader(raft.leader());
  response.set_raftindex(raft.commit_index());
  response.set_raftterm(raft.term());
  response.set_raftappliedindex(parts_.applied.index());
  if (const Member* self = parts_.key_space.members().Find(raft.id())) {
    response.set_islearner(self->is_learner);
  }
  // etcd lists "no leader" first among the errors (endpoint status shows
  // it in its ERRORS column), then the alarms raised.
  if (raft.leader() == 0) {
    response.add_errors(std::string(ErrorMessage(EtcdError::kNoLeader)));
  }
  for (const etcdserverpb::AlarmMember& alarm : parts_.key_space.alarms().List()) {
    response.add_errors(StrCat("memberID:", alarm.memberid(), " alarm:",
                               etcdserverpb::AlarmType_Name(alarm.alarm()), " "));
  }
  if (!parts_.life.fatal().ok()) {
    response.add_errors(std::string(parts_.life.fatal().message()));
  }
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::DefragmentResponse>> MaintenanceService::Defragment() {
  // `etcdctl compact` answers once the leader applied the compaction; a
  // defrag sent right after to a follower must find it applied there too,
  // or the follower keeps the superseded revisions. So catch up with what
  // the cluster committed first (a read barrier). Without a leader the
  // defrag runs on what is applied: defragmenting is local, and etcd's needs
  // no quorum either.
  if (absl::Status caught_up = co_await parts_.reads.Barrier(); !caught_up.ok()) {
    parts_.env.log().Info("defragment without catching up with the cluster",
                          {{"error", caught_up.ToString()}});
  }
  absl::Status status = co_await defragmenter_.Defragment();
  if (!status.ok()) co_return FromStoreError(status);
  // etcd answers with an empty response, header unset.
  co_return etcdserverpb::DefragmentResponse();
}

Task<absl::StatusOr<etcdserverpb::MoveLeaderResponse>> MaintenanceService::MoveLeader(
    const etcdserverpb::MoveLeaderRequest& request, std::optional<TimePoint> deadline) {
  RaftNode& raft = parts_.raft;
  if (!raft.is_leader()) co_return MakeError(EtcdError::kNotLeader);
  const uint64_t transferee = request.targetid();
  const Member* target = parts_.key_space.members().Find(transferee);
  if (target == nullptr || target->is_learner) {
    co_return MakeError(EtcdError::kBadLeaderTransferee);
  }
  Clock& clock = parts_.env.clock();
  const TimePoint until = deadline.value_or(clock.Now() + parts_.request_timeout);
  const Duration poll = Milliseconds(raft.config().heartbeat_interval_ms);
  parts_.env.log().Info("leadership transfer starting",
                        {{"current-leader-member-id", FormatId(raft.id())},
                         {"transferee-member-id", FormatId(transferee)}});
  // To itself: raft ignores it, and this member already leads.
  raft.TransferLeadership(transferee);
  while (raft.leader() != transferee) {
    if (clock.Now() >= until) co_return MakeError(EtcdError::kLeaderTransferTimeout);
    co_await clock.SleepUntil(std::min(until, clock.Now() + poll));
    if (parts_.life.stopping()) co_return MakeError(EtcdError::kStopped);
  }
  parts_.env.log().Info("leadership transfer finished",
                        {{"old-leader-member-id", FormatId(raft.id())},
                         {"new-leader-member-id", FormatId(transferee)}});
  co_return etcdserverpb::MoveLeaderResponse();
}

absl::StatusOr<etcdserverpb::HashResponse> MaintenanceService::Hash() {
  auto hash = parts_.key_space.mvcc().Hash();
  if (!hash.ok()) return FromStoreError(hash.status());
  etcdserverpb::HashResponse response;
  *response.mutable_header() = parts_.headers.Make(hash->revision);
  response.set_hash(hash->hash);
  return response;
}

absl::StatusOr<etcdserverpb::HashKVResponse> MaintenanceService::HashKV(
    const etcdserverpb::HashKVRequest& request) {
  auto hash = parts_.key_space.mvcc().HashKV(request.revision());
  if (!hash.ok()) return FromStoreError(hash.status());
  etcdserverpb::HashKVResponse response;
  *response.mutable_header() = parts_.headers.Make(hash->revision);
  response.set_hash(hash->hash);
  response.set_compact_revision(hash->compact_revision);
  return response;
}

Task<absl::StatusOr<etcdserverpb::AlarmResponse>> MaintenanceService::Alarm(
    etcdserverpb::AlarmRequest request) {
  internal::InternalRaftRequest proposal;
  *proposal.mutable_alarm() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::AlarmResponse>(
      std::move(proposal));
}

Task<absl::Status> MaintenanceService::StreamSnapshot(SnapshotStream& stream) {
  FileSystem& fs = parts_.env.fs();
  const std::string path =
      JoinPath(parts_.snap_dir, absl::StrFormat("save-%016x.tmp", ++saves_));
  (void)fs.Remove(path);
  RemoveOnExit cleanup{fs, path};
  // etcd's own format (snapshot_bbolt.h): a bbolt database followed by its
  // SHA-256, streamed as it is, so etcdctl's `snapshot save` checks and
  // `snapshot restore` into a real etcd accept it.
  auto written = co_await WriteEtcdSnapshotFile(parts_.env, parts_.key_space.mvcc(),
                                                parts_.key_space.members().members(),
                                                parts_.key_space.auth().Records(), path);
  if (!written.ok()) {
    parts_.env.log().Warn("failed to write a snapshot for a client",
                          {{"error", written.status().ToString()}});
    co_return absl::InternalError(StrCat("etcdserver: ", written.status().message()));
  }
  auto file = fs.Open(path, {.read_only = true});
  if (!file.ok()) co_return absl::InternalError(std::string(file.status().message()));
  const uint64_t total = written->file_bytes;
  uint64_t sent = 0;
  parts_.env.log().Info("sending database snapshot to client", {{"total-bytes", total}});
  while (sent < total) {
    const uint64_t n = std::min<uint64_t>(kSnapshotPieceBytes, total - sent);
    auto read = (*file)->ReadAt(sent, n);
    if (!read.ok() || read->size() != n) {
      co_return absl::InternalError("etcdserver: snapshot file changed while sending");
    }
    sent += n;
    etcdserverpb::SnapshotResponse response;
    *response.mutable_header() = parts_.headers.Make();
    response.set_remaining_bytes(total - sent);
    response.set_blob(std::move(*read));
    absl::Status status = co_await stream.Write(response);
    if (!status.ok()) co_return status;
  }
  KEEL_ASSERT(sent == total);
  parts_.env.log().Info("sent database snapshot to client", {{"total-bytes", total}});
  co_return absl::OkStatus();
}

void MaintenanceService::Register(net::GrpcServer& grpc) {
  using namespace etcdserverpb;
  grpc.AddUnary<StatusRequest, StatusResponse>(
      "/etcdserverpb.Maintenance/Status",
      [this](net::CallContext&, StatusRequest) -> Task<absl::StatusOr<StatusResponse>> {
        co_return co_await Status();
      });
  grpc.AddUnary<DefragmentRequest, DefragmentResponse>(
      "/etcdserverpb.Maintenance/Defragment",
      [this](net::CallContext&, DefragmentRequest) -> Task<absl::StatusOr<DefragmentResponse>> {
        co_return co_await Defragment();
      });
  grpc.AddUnary<MoveLeaderRequest, MoveLeaderResponse>(
      "/etcdserverpb.Maintenance/MoveLeader",
      [this](net::CallContext& call,
             MoveLeaderRequest request) -> Task<absl::StatusOr<MoveLeaderResponse>> {
        // etcd's wait ends with its own error when the client's context
        // does; the client is gone by then, but its deadline says which.
        call.deadline_status = [] { return MakeError(EtcdError::kLeaderTransferTimeout); };
        co_return co_await MoveLeader(request, call.deadline);
      });
  grpc.AddUnary<HashRequest, HashResponse>(
      "/etcdserverpb.Maintenance/Hash",
      [this](net::CallContext&, HashRequest) -> Task<absl::StatusOr<HashResponse>> {
        co_return Hash();
      });
  grpc.AddUnary<HashKVRequest, HashKVResponse>(
      "/etcdserverpb.Maintenance/HashKV",
      [this](net::CallContext&, HashKVRequest request) -> Task<absl::StatusOr<HashKVResponse>> {
        co_return HashKV(request);
      });
  grpc.AddUnary<AlarmRequest, AlarmResponse>(
      "/etcdserverpb.Maintenance/Alarm",
      [this](net::CallContext&, AlarmRequest request) -> Task<absl::StatusOr<AlarmResponse>> {
        co_return co_await Alarm(std::move(request));
      });
  grpc.AddServerStream<SnapshotRequest, SnapshotResponse>(
      "/etcdserverpb.Maintenance/Snapshot",
      [this](net::CallContext&, SnapshotRequest, SnapshotStream& stream) -> Task<absl::Status> {
        co_return co_await StreamSnapshot(stream);
      });
}

}  // namespace keel::node
