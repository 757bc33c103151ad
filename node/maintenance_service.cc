// The Maintenance service: Status, Hash and HashKV. (Alarm, Defragment,
// Snapshot and MoveLeader come with the maintenance work.)
#include "node/errors.h"
#include "node/services.h"
#include "runtime/strings.h"

namespace keel::node {

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
        // etcd lists "no leader" first among the errors (endpoint status
        // shows it in its ERRORS column).
        if (status.leader == 0) {
          response.add_errors(std::string(ErrorMessage(EtcdError::kNoLeader)));
        }
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
}

}  // namespace keel::node
