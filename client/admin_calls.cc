// EtcdClient's Cluster, Maintenance, Auth and Election calls: the typed
// wrappers over Call / CallAt, and the two server-streaming methods.
#include "client/etcd_client.h"
#include "client/streams.h"
#include "runtime/strings.h"

namespace keel::client {

// ---- Cluster ----

Task<absl::StatusOr<etcdserverpb::MemberAddResponse>> EtcdClient::MemberAdd(
    etcdserverpb::MemberAddRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::MemberAddResponse>(
      kMemberAddPath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::MemberRemoveResponse>> EtcdClient::MemberRemove(
    uint64_t member_id, RequestOptions options) {
  etcdserverpb::MemberRemoveRequest request;
  request.set_id(member_id);
  co_return co_await TypedCall<etcdserverpb::MemberRemoveResponse>(
      kMemberRemovePath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::MemberUpdateResponse>> EtcdClient::MemberUpdate(
    etcdserverpb::MemberUpdateRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::MemberUpdateResponse>(
      kMemberUpdatePath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> EtcdClient::MemberPromote(
    uint64_t member_id, RequestOptions options) {
  etcdserverpb::MemberPromoteRequest request;
  request.set_id(member_id);
  co_return co_await TypedCall<etcdserverpb::MemberPromoteResponse>(
      kMemberPromotePath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

// ---- Maintenance ----

Task<absl::StatusOr<etcdserverpb::AlarmResponse>> EtcdClient::Alarm(
    etcdserverpb::AlarmRequest request, RequestOptions options) {
  // Listing alarms is a read; activating or deactivating one is not.
  const Retry retry = request.action() == etcdserverpb::AlarmRequest::GET
                          ? Retry::kOnUnavailable
                          : Retry::kIfNotSent;
  co_return co_await TypedCall<etcdserverpb::AlarmResponse>(
      kAlarmPath, request.SerializeAsString(), retry, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::DefragmentResponse>> EtcdClient::Defragment(
    std::string endpoint, RequestOptions options) {
  const etcdserverpb::DefragmentRequest request;
  co_return co_await TypedCallAt<etcdserverpb::DefragmentResponse>(
      std::move(endpoint), kDefragmentPath, request.SerializeAsString(), std::move(options));
}

Task<absl::StatusOr<etcdserverpb::MoveLeaderResponse>> EtcdClient::MoveLeader(
    std::string endpoint, uint64_t target_id, RequestOptions options) {
  etcdserverpb::MoveLeaderRequest request;
  request.set_targetid(target_id);
  co_return co_await TypedCallAt<etcdserverpb::MoveLeaderResponse>(
      std::move(endpoint), kMoveLeaderPath, request.SerializeAsString(), std::move(options));
}

Task<absl::StatusOr<std::unique_ptr<ServerStream<etcdserverpb::SnapshotResponse>>>>
EtcdClient::Snapshot(std::string endpoint, RequestOptions options) {
  const std::optional<size_t> index = IndexOf(endpoint);
  if (!index.has_value()) {
    co_return absl::InvalidArgumentError(AsAbsl(StrCat("unknown endpoint ", endpoint)));
  }
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  {
    RequestOptions bounded = options;
    if (deadline.has_value()) bounded.timeout = *deadline - env_.clock().Now();
    absl::Status authenticated = co_await MaybeAuthenticate(bounded);
    if (!authenticated.ok()) co_return authenticated;
  }
  absl::StatusOr<net::GrpcChannel*> channel = co_await ConnectTo(*index, deadline);
  if (!channel.ok()) co_return channel.status();
  net::CallOptions call;
  AddToken(call);
  absl::StatusOr<std::unique_ptr<net::ClientStream>> stream =
      (*channel)->OpenStream(kSnapshotPath, std::move(call));
  if (!stream.ok()) co_return stream.status();
  const etcdserverpb::SnapshotRequest request;
  absl::Status sent = co_await (*stream)->Write(request.SerializeAsString());
  if (!sent.ok()) co_return sent;
  (*stream)->CloseSend();
  co_return std::make_unique<ServerStream<etcdserverpb::SnapshotResponse>>(
      std::move(*stream), std::move(endpoint));
}

// ---- Auth ----

Task<absl::StatusOr<etcdserverpb::AuthenticateResponse>> EtcdClient::Authenticate(
    std::string name, std::string password, RequestOptions options) {
  etcdserverpb::AuthenticateRequest request;
  request.set_name(std::move(name));
  request.set_password(std::move(password));
  absl::StatusOr<std::string> bytes = co_await CallOnce(
      kAuthenticatePath, request.SerializeAsString(), Retry::kOnUnavailable, std::move(options));
  if (!bytes.ok()) co_return bytes.status();
  etcdserverpb::AuthenticateResponse response;
  if (!response.ParseFromString(*bytes)) {
    co_return absl::InternalError("grpc: failed to unmarshal the received message proto");
  }
  co_return response;
}

// ---- Election ----

Task<absl::StatusOr<std::unique_ptr<ServerStream<v3electionpb::LeaderResponse>>>>
EtcdClient::Observe(std::string name, RequestOptions options) {
  size_t index = 0;
  absl::StatusOr<std::unique_ptr<net::ClientStream>> stream =
      co_await OpenStream(kObservePath, std::move(options), /*require_leader=*/false, &index);
  if (!stream.ok()) co_return stream.status();
  v3electionpb::LeaderRequest request;
  request.set_name(std::move(name));
  absl::Status sent = co_await (*stream)->Write(request.SerializeAsString());
  if (!sent.ok()) co_return sent;
  (*stream)->CloseSend();
  co_return std::make_unique<ServerStream<v3electionpb::LeaderResponse>>(std::move(*stream),
                                                                         endpoints_[index]);
}

}  // namespace keel::client
