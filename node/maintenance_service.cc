// The Maintenance service: Status, Hash, HashKV and Snapshot. (Alarm,
// Defragment and MoveLeader come with the maintenance work.)
#include <memory>

#include "absl/strings/str_format.h"
#include "node/errors.h"
#include "node/services.h"
#include "node/snapshot_io.h"
#include "runtime/sha256.h"
#include "runtime/strings.h"
#include "store/snapshot_envelope.h"

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

// Maintenance.Snapshot: the key space as of the call, written to a file
// under member/snap, then streamed in etcd's envelope (store/
// snapshot_envelope.h) so that etcdctl snapshot save accepts it.
Task<absl::Status> StreamSnapshot(
    Server& server, uint64_t save_id,
    net::TypedServerStream<etcdserverpb::SnapshotRequest,
                           etcdserverpb::SnapshotResponse>& stream) {
  FileSystem& fs = server.env().fs();
  const std::string path = JoinPath(
      JoinPath(JoinPath(server.config().DataDir(), "member"), "snap"),
      absl::StrFormat("save-%016x.tmp", save_id));
  (void)fs.Remove(path);
  RemoveOnExit cleanup{fs, path};
  auto written = co_await WriteSnapshotFile(server.env(), server.mvcc(), path,
                                            server.id(), server.cluster_id());
  if (!written.ok()) {
    server.env().log().Warn("failed to write a snapshot for a client",
                            {{"error", written.status().ToString()}});
    co_return absl::InternalError(StrCat("etcdserver: ", written.status().message()));
  }
  auto file = fs.Open(path, {.read_only = true});
  if (!file.ok()) co_return absl::InternalError(std::string(file.status().message()));
  const uint64_t file_bytes = written->file_bytes;
  Sha256 hash;
  std::string tail;
  const uint64_t total = file_bytes + store::EnvelopeTail(file_bytes, Sha256()).size();
  uint64_t sent = 0;
  server.env().log().Info("sending database snapshot to client",
                          {{"total-bytes", total}});
  while (sent < total) {
    std::string piece;
    if (sent < file_bytes) {
      const uint64_t n = std::min<uint64_t>(kSnapshotPieceBytes, file_bytes - sent);
      auto read = (*file)->ReadAt(sent, n);
      if (!read.ok() || read->size() != n) {
        co_return absl::InternalError("etcdserver: snapshot file changed while sending");
      }
      piece = std::move(*read);
      hash.Update(piece);
      if (sent + n == file_bytes) tail = store::EnvelopeTail(file_bytes, std::move(hash));
    } else {
      piece = std::move(tail);
      tail.clear();
    }
    sent += piece.size();
    etcdserverpb::SnapshotResponse response;
    *response.mutable_header() = server.Header();
    response.set_remaining_bytes(total - sent);
    response.set_blob(std::move(piece));
    absl::Status status = co_await stream.Write(response);
    if (!status.ok()) co_return status;
  }
  KEEL_ASSERT(sent == total);
  server.env().log().Info("sent database snapshot to client", {{"total-bytes", total}});
  co_return absl::OkStatus();
}

}  // namespace

int64_t DbSizeBytes(Server& server) {
  FileSystem& fs = server.env().fs();
  const std::string dir = JoinPath(JoinPath(server.config().DataDir(), "member"), "kv");
  auto names = fs.List(dir);
  if (!names.ok()) return 0;
  int64_t total = 0;
  for (const std::string& name : *names) {
    auto info = fs.Stat(JoinPath(dir, name));
    if (info.ok() && !info->is_directory) total += static_cast<int64_t>(info->size);
  }
  return total;
}

void RegisterMaintenanceService(net::GrpcServer& grpc, Server& server) {
  using namespace etcdserverpb;
  grpc.AddUnary<StatusRequest, StatusResponse>(
      "/etcdserverpb.Maintenance/Status",
      [&server](net::CallContext& ctx,
                StatusRequest request) -> Task<absl::StatusOr<StatusResponse>> {
        const ServerStatus status = server.GetStatus();
        StatusResponse response;
        *response.mutable_header() = server.Header();
        response.set_version(std::string(kEtcdServerVersion));
        const int64_t db_size = DbSizeBytes(server);
        response.set_dbsize(db_size);
        response.set_dbsizeinuse(db_size);
        response.set_leader(status.leader);
        response.set_raftindex(status.commit_index);
        response.set_raftterm(status.term);
        response.set_raftappliedindex(status.applied_index);
        response.set_islearner(status.is_learner);
        if (!server.fatal_error().ok()) {
          response.add_errors(std::string(server.fatal_error().message()));
        }
        co_return response;
      });
  grpc.AddUnary<HashRequest, HashResponse>(
      "/etcdserverpb.Maintenance/Hash",
      [&server](net::CallContext& ctx,
                HashRequest request) -> Task<absl::StatusOr<HashResponse>> {
        auto hash = server.mvcc().Hash();
        if (!hash.ok()) co_return FromStoreError(hash.status());
        HashResponse response;
        *response.mutable_header() = server.Header(hash->revision);
        response.set_hash(hash->hash);
        co_return response;
      });
  grpc.AddUnary<HashKVRequest, HashKVResponse>(
      "/etcdserverpb.Maintenance/HashKV",
      [&server](net::CallContext& ctx,
                HashKVRequest request) -> Task<absl::StatusOr<HashKVResponse>> {
        auto hash = server.mvcc().HashKV(request.revision());
        if (!hash.ok()) co_return FromStoreError(hash.status());
        HashKVResponse response;
        *response.mutable_header() = server.Header(hash->revision);
        response.set_hash(hash->hash);
        response.set_compact_revision(hash->compact_revision);
        co_return response;
      });
  auto saves = std::make_shared<uint64_t>(0);
  grpc.AddServerStream<SnapshotRequest, SnapshotResponse>(
      "/etcdserverpb.Maintenance/Snapshot",
      [&server, saves](net::CallContext& ctx, SnapshotRequest request,
                       net::TypedServerStream<SnapshotRequest, SnapshotResponse>& stream)
          -> Task<absl::Status> {
        co_return co_await StreamSnapshot(server, ++*saves, stream);
      });
}

}  // namespace keel::node
