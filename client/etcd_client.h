// EtcdClient: etcd's v3 client API over keel's gRPC client, on any Env.
//
// keel-sim's clients, keel-bench and keelctl all talk to a cluster through
// this, so it runs on the simulated network exactly as on real sockets. It
// holds a list of endpoints ("host:port") and one GrpcChannel per endpoint,
// dialled when first needed. Calls go to the pinned endpoint; when it
// cannot be reached or answers Unavailable, the client pins the next one.
//
// Retries follow clientv3's rule, made stricter where clientv3 can lie:
//  - a request that was never sent (no endpoint could be dialled, or the
//    channel was already closed) is retried on the next endpoint, whatever
//    it is;
//  - a read-only request (Range, LeaseTimeToLive, LeaseLeases, MemberList,
//    a keepalive) is retried on the next endpoint after any Unavailable;
//  - a request that changes state (Put, DeleteRange, Txn, Compact,
//    LeaseGrant, LeaseRevoke) is never retried once sent: its error goes
//    back to the caller, who cannot know whether it took effect (see
//    MayHaveTakenEffect in client/outcome.h). clientv3 retries LeaseGrant
//    and LeaseRevoke; a retried revoke that reports "lease not found" after
//    the first one succeeded would hide an effect, so keel does not.
// Every error is the absl::Status the server sent (etcd's code and message,
// "etcdserver: mvcc: required revision has been compacted" as OutOfRange),
// or the transport's (Unavailable on a lost connection, DeadlineExceeded
// "context deadline exceeded" when the call's timeout passes).
//
// A call's timeout bounds everything it does: dialling, waiting between
// attempts, and the attempts themselves. Without one (and without a
// default in the options) a call can wait forever for an endpoint.
//
// Threading and ownership: construct the client and call it from coroutines
// of one process (the Env's): channels run their connections in tasks of the
// process that dials them. Destroying the client closes every channel; the
// WatchStream and LeaseKeepAliveStream objects it handed out stay safe to
// use and report Unavailable / Cancelled.
#ifndef KEEL_CLIENT_ETCD_CLIENT_H_
#define KEEL_CLIENT_ETCD_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/grpc_client.h"
#include "net/tls_network.h"
#include "proto/rpc.pb.h"
#include "proto/v3election.pb.h"
#include "runtime/env.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::client {

// Not aggregates on purpose (see net::ChannelOptions): GCC 12 corrupts
// aggregate temporaries holding strings that live across a co_await.
struct ClientOptions {
  ClientOptions() {}
  // "host:port" of every member to use, in the order to try them.
  std::vector<std::string> endpoints;
  // Bound on one connection attempt (clientv3's DialTimeout).
  Duration dial_timeout = Seconds(2);
  // Timeout of calls that set none; unset: such calls may wait forever.
  std::optional<Duration> default_timeout;
  // Pause before the n-th retry: n times this, capped at retry_backoff_max
  // (clientv3 waits 25ms between retries).
  Duration retry_backoff = Milliseconds(25);
  Duration retry_backoff_max = Milliseconds(500);
  net::ChannelOptions channel;
  // With a client TLS context, every endpoint is dialled with TLS: the
  // server's certificate is verified against the context's CAs and the
  // endpoint's host, and the context's certificate is presented if it has
  // one (net/tls_network.h). Null: plaintext.
  std::shared_ptr<net::TlsContext> tls;
  // With a user name, the client authenticates (Auth.Authenticate) before
  // its first call and sends the token with every call after, as clientv3
  // does; a call refused with "etcdserver: invalid auth token" (the token
  // expired or the member restarted) authenticates again and is retried once.
  std::string username;
  std::string password;
};

struct RequestOptions {
  RequestOptions() {}
  static RequestOptions WithTimeout(Duration timeout) {
    RequestOptions options;
    options.timeout = timeout;
    return options;
  }
  // Bound on the whole call, retries included; the client's default if unset.
  std::optional<Duration> timeout;
  // Sends `hasleader: true` (clientv3's WithRequireLeader): the member
  // refuses with "etcdserver: no leader" while it knows no leader.
  bool require_leader = false;
};

class WatchStream;
class LeaseKeepAliveStream;
template <typename Resp>
class ServerStream;

class EtcdClient {
 public:
  // Does not connect; the first call dials. `env` must outlive the client.
  // InvalidArgument-free by design: an empty endpoint list makes every call
  // fail with Unavailable "there is no address available".
  EtcdClient(Env& env, ClientOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // The endpoint calls go to now.
  const std::string& pinned_endpoint() const;

  // ---- KV (etcdserverpb.KV). Each suspends until answered. ----
  Task<absl::StatusOr<etcdserverpb::RangeResponse>> Range(
      etcdserverpb::RangeRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::PutResponse>> Put(
      etcdserverpb::PutRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> DeleteRange(
      etcdserverpb::DeleteRangeRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::TxnResponse>> Txn(
      etcdserverpb::TxnRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::CompactionResponse>> Compact(
      etcdserverpb::CompactionRequest request, RequestOptions options = {});

  // ---- Lease (etcdserverpb.Lease) ----
  Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> LeaseGrant(
      etcdserverpb::LeaseGrantRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> LeaseRevoke(
      etcdserverpb::LeaseRevokeRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> LeaseTimeToLive(
      etcdserverpb::LeaseTimeToLiveRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> LeaseLeases(
      etcdserverpb::LeaseLeasesRequest request, RequestOptions options = {});
  // One keepalive on a stream of its own (clientv3's KeepAliveOnce), retried
  // on Unavailable like a read. The response is the server's: TTL 0 means
  // the lease was not found (expired or revoked).
  Task<absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse>> LeaseKeepAliveOnce(
      int64_t lease_id, RequestOptions options = {});
  // Opens a LeaseKeepAlive stream on the pinned endpoint (dialling, and
  // failing over, as a call does), with `hasleader: true` as clientv3's
  // lessor sends it. Only options.timeout is used: a bound on finding an
  // endpoint. Unavailable / DeadlineExceeded if none can be reached.
  Task<absl::StatusOr<std::unique_ptr<LeaseKeepAliveStream>>> LeaseKeepAlive(
      RequestOptions options = {});

  // ---- Watch (etcdserverpb.Watch) ----
  // Opens a Watch stream on the pinned endpoint; with
  // options.require_leader, `hasleader: true` goes with it (the member ends
  // the stream with "etcdserver: no leader" when it loses its leader).
  // options.timeout bounds finding an endpoint only.
  Task<absl::StatusOr<std::unique_ptr<WatchStream>>> Watch(RequestOptions options = {});

  // ---- Any unary method ----
  // A unary call of `path` with the client's endpoints, failover, retry rule
  // (`read_only`: retried after Unavailable, else only if never sent) and
  // authentication. The typed calls above and below are this with their
  // method's path; tools that need a method the client has no name for use
  // it directly.
  template <typename Resp, typename Req>
  Task<absl::StatusOr<Resp>> Unary(std::string path, const Req& request, bool read_only,
                                   RequestOptions options = {}) {
    return TypedCall<Resp>(std::move(path), request.SerializeAsString(),
                           read_only ? Retry::kOnUnavailable : Retry::kIfNotSent,
                           std::move(options));
  }
  // The same call to one endpoint only (one of endpoints(), else
  // InvalidArgument), never failing over: per-member maintenance (Status,
  // HashKV, Defragment, MoveLeader on the leader).
  template <typename Resp, typename Req>
  Task<absl::StatusOr<Resp>> UnaryAt(std::string endpoint, std::string path,
                                     const Req& request, RequestOptions options = {}) {
    return TypedCallAt<Resp>(std::move(endpoint), std::move(path),
                             request.SerializeAsString(), std::move(options));
  }

  // ---- Cluster (etcdserverpb.Cluster); changes are never retried once sent ----
  Task<absl::StatusOr<etcdserverpb::MemberAddResponse>> MemberAdd(
      etcdserverpb::MemberAddRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::MemberRemoveResponse>> MemberRemove(
      uint64_t member_id, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::MemberUpdateResponse>> MemberUpdate(
      etcdserverpb::MemberUpdateRequest request, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> MemberPromote(
      uint64_t member_id, RequestOptions options = {});

  // ---- Maintenance (etcdserverpb.Maintenance) ----
  // Alarm get / activate / deactivate, on any member.
  Task<absl::StatusOr<etcdserverpb::AlarmResponse>> Alarm(
      etcdserverpb::AlarmRequest request, RequestOptions options = {});
  // Defragments one member's backend (one of endpoints()).
  Task<absl::StatusOr<etcdserverpb::DefragmentResponse>> Defragment(
      std::string endpoint, RequestOptions options = {});
  // Asks the member at `endpoint` (the leader) to hand leadership to
  // `target_id`.
  Task<absl::StatusOr<etcdserverpb::MoveLeaderResponse>> MoveLeader(
      std::string endpoint, uint64_t target_id, RequestOptions options = {});
  // Opens the Snapshot stream of the member at `endpoint`: the backend in
  // chunks, the last one with remaining_bytes 0. options.timeout bounds
  // the dial only (a snapshot takes as long as it takes).
  Task<absl::StatusOr<std::unique_ptr<ServerStream<etcdserverpb::SnapshotResponse>>>>
  Snapshot(std::string endpoint, RequestOptions options = {});

  // ---- Auth (etcdserverpb.Auth), never retried once sent but for reads ----
  Task<absl::StatusOr<etcdserverpb::AuthenticateResponse>> Authenticate(
      std::string name, std::string password, RequestOptions options = {});

  // The other Auth methods (user and role administration, enable, disable,
  // status) are reached with Unary and the paths below: each is one request
  // and one response, with nothing for the client to add.

  // ---- Election (v3electionpb.Election): the one streaming method ----
  // Opens Observe(`name`) on the pinned endpoint: the current leader, then
  // each new one. Lock, Unlock, Campaign, Proclaim, Leader and Resign are
  // unary (Unary with the paths below). options.timeout bounds the dial.
  Task<absl::StatusOr<std::unique_ptr<ServerStream<v3electionpb::LeaderResponse>>>> Observe(
      std::string name, RequestOptions options = {});

  // ---- Maintenance and Cluster: reads ----
  // Status of one endpoint (which must be one of endpoints(); else
  // InvalidArgument), never failing over to another.
  Task<absl::StatusOr<etcdserverpb::StatusResponse>> Status(
      std::string endpoint, RequestOptions options = {});
  // HashKV of one endpoint, as Status.
  Task<absl::StatusOr<etcdserverpb::HashKVResponse>> HashKV(
      std::string endpoint, int64_t revision, RequestOptions options = {});
  Task<absl::StatusOr<etcdserverpb::MemberListResponse>> MemberList(
      RequestOptions options = {});

  // Closes every channel: calls in flight fail with Unavailable. The client
  // stays usable (the next call dials again). Does not suspend.
  void CloseChannels();

  // Why the last attempt to dial `endpoint` failed (OK if it did not, or
  // if it is not one of endpoints()): tools name it when a call times out.
  absl::Status last_dial_error(std::string_view endpoint) const;

  // Connections dialled so far (tests and figures).
  uint64_t dials() const { return dials_; }

 private:
  enum class Retry { kIfNotSent, kOnUnavailable };
  struct Endpoint;

  // One unary call with the retry policy and the auth token; the response
  // bytes or the status.
  Task<absl::StatusOr<std::string>> Call(std::string path, std::string request,
                                         Retry retry, RequestOptions options);
  // Call without authentication: the attempts themselves.
  Task<absl::StatusOr<std::string>> CallOnce(std::string path, std::string request,
                                             Retry retry, RequestOptions options);
  template <typename Resp>
  Task<absl::StatusOr<Resp>> TypedCall(std::string path, std::string request,
                                       Retry retry, RequestOptions options);
  // A unary call to one endpoint, no failover.
  Task<absl::StatusOr<std::string>> CallAt(std::string endpoint, std::string path,
                                           std::string request, RequestOptions options);
  template <typename Resp>
  Task<absl::StatusOr<Resp>> TypedCallAt(std::string endpoint, std::string path,
                                         std::string request, RequestOptions options);
  // Authenticates if a user is configured and no token is held.
  Task<absl::Status> MaybeAuthenticate(RequestOptions options);
  // Adds the token (if any) to a call's metadata.
  void AddToken(net::CallOptions& call) const;
  // A usable channel, trying endpoints from the pinned one (each dial
  // bounded by dial_timeout and `deadline`). Sets *index to the endpoint's.
  Task<absl::StatusOr<net::GrpcChannel*>> Connect(std::optional<TimePoint> deadline,
                                                  size_t* index);
  // A usable channel to endpoint `index`, dialling if needed.
  Task<absl::StatusOr<net::GrpcChannel*>> ConnectTo(size_t index,
                                                    std::optional<TimePoint> deadline);
  // Unpins endpoint `index` after a failure there.
  void Unpin(size_t index);
  std::optional<TimePoint> DeadlineOf(const RequestOptions& options) const;
  // Waits before retry `attempt`; false if the deadline would pass first.
  Task<bool> Backoff(int attempt, std::optional<TimePoint> deadline);
  // Opens a stream on the pinned endpoint (failing over as a call does);
  // sets *index to the endpoint's.
  Task<absl::StatusOr<std::unique_ptr<net::ClientStream>>> OpenStream(
      std::string path, RequestOptions options, bool require_leader, size_t* index);
  std::optional<size_t> IndexOf(const std::string& endpoint) const;
  // Destroys retired channels whose calls have all ended.
  void CollectRetired();

  Env& env_;
  // Dials with TLS when options.tls is set; else null (env.net()).
  std::unique_ptr<Network> tls_network_;
  const ClientOptions options_;
  const std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<Endpoint>> state_;
  // Channels replaced after they became unusable, kept until their calls end.
  std::vector<std::unique_ptr<net::GrpcChannel>> retired_;
  size_t pinned_ = 0;
  uint64_t dials_ = 0;
  std::string token_;
};

template <typename Resp>
Task<absl::StatusOr<Resp>> EtcdClient::TypedCall(std::string path, std::string request,
                                                 Retry retry, RequestOptions options) {
  absl::StatusOr<std::string> bytes =
      co_await Call(std::move(path), std::move(request), retry, std::move(options));
  if (!bytes.ok()) co_return bytes.status();
  Resp response;
  if (!response.ParseFromString(*bytes)) {
    co_return absl::InternalError(
        "grpc: failed to unmarshal the received message proto: cannot parse "
        "invalid wire-format data");
  }
  co_return response;
}

template <typename Resp>
Task<absl::StatusOr<Resp>> EtcdClient::TypedCallAt(std::string endpoint, std::string path,
                                                   std::string request,
                                                   RequestOptions options) {
  absl::StatusOr<std::string> bytes = co_await CallAt(
      std::move(endpoint), std::move(path), std::move(request), std::move(options));
  if (!bytes.ok()) co_return bytes.status();
  Resp response;
  if (!response.ParseFromString(*bytes)) {
    co_return absl::InternalError(
        "grpc: failed to unmarshal the received message proto: cannot parse "
        "invalid wire-format data");
  }
  co_return response;
}

// gRPC method paths of the etcd API.
inline constexpr char kRangePath[] = "/etcdserverpb.KV/Range";
inline constexpr char kPutPath[] = "/etcdserverpb.KV/Put";
inline constexpr char kDeleteRangePath[] = "/etcdserverpb.KV/DeleteRange";
inline constexpr char kTxnPath[] = "/etcdserverpb.KV/Txn";
inline constexpr char kCompactPath[] = "/etcdserverpb.KV/Compact";
inline constexpr char kLeaseGrantPath[] = "/etcdserverpb.Lease/LeaseGrant";
inline constexpr char kLeaseRevokePath[] = "/etcdserverpb.Lease/LeaseRevoke";
inline constexpr char kLeaseKeepAlivePath[] = "/etcdserverpb.Lease/LeaseKeepAlive";
inline constexpr char kLeaseTimeToLivePath[] = "/etcdserverpb.Lease/LeaseTimeToLive";
inline constexpr char kLeaseLeasesPath[] = "/etcdserverpb.Lease/LeaseLeases";
inline constexpr char kWatchPath[] = "/etcdserverpb.Watch/Watch";
inline constexpr char kStatusPath[] = "/etcdserverpb.Maintenance/Status";
inline constexpr char kHashKVPath[] = "/etcdserverpb.Maintenance/HashKV";
inline constexpr char kMemberListPath[] = "/etcdserverpb.Cluster/MemberList";
inline constexpr char kMemberAddPath[] = "/etcdserverpb.Cluster/MemberAdd";
inline constexpr char kMemberRemovePath[] = "/etcdserverpb.Cluster/MemberRemove";
inline constexpr char kMemberUpdatePath[] = "/etcdserverpb.Cluster/MemberUpdate";
inline constexpr char kMemberPromotePath[] = "/etcdserverpb.Cluster/MemberPromote";
inline constexpr char kAlarmPath[] = "/etcdserverpb.Maintenance/Alarm";
inline constexpr char kDefragmentPath[] = "/etcdserverpb.Maintenance/Defragment";
inline constexpr char kHashPath[] = "/etcdserverpb.Maintenance/Hash";
inline constexpr char kSnapshotPath[] = "/etcdserverpb.Maintenance/Snapshot";
inline constexpr char kMoveLeaderPath[] = "/etcdserverpb.Maintenance/MoveLeader";
inline constexpr char kAuthEnablePath[] = "/etcdserverpb.Auth/AuthEnable";
inline constexpr char kAuthDisablePath[] = "/etcdserverpb.Auth/AuthDisable";
inline constexpr char kAuthStatusPath[] = "/etcdserverpb.Auth/AuthStatus";
inline constexpr char kAuthenticatePath[] = "/etcdserverpb.Auth/Authenticate";
inline constexpr char kUserAddPath[] = "/etcdserverpb.Auth/UserAdd";
inline constexpr char kUserGetPath[] = "/etcdserverpb.Auth/UserGet";
inline constexpr char kUserListPath[] = "/etcdserverpb.Auth/UserList";
inline constexpr char kUserDeletePath[] = "/etcdserverpb.Auth/UserDelete";
inline constexpr char kUserChangePasswordPath[] = "/etcdserverpb.Auth/UserChangePassword";
inline constexpr char kUserGrantRolePath[] = "/etcdserverpb.Auth/UserGrantRole";
inline constexpr char kUserRevokeRolePath[] = "/etcdserverpb.Auth/UserRevokeRole";
inline constexpr char kRoleAddPath[] = "/etcdserverpb.Auth/RoleAdd";
inline constexpr char kRoleGetPath[] = "/etcdserverpb.Auth/RoleGet";
inline constexpr char kRoleListPath[] = "/etcdserverpb.Auth/RoleList";
inline constexpr char kRoleDeletePath[] = "/etcdserverpb.Auth/RoleDelete";
inline constexpr char kRoleGrantPermissionPath[] = "/etcdserverpb.Auth/RoleGrantPermission";
inline constexpr char kRoleRevokePermissionPath[] = "/etcdserverpb.Auth/RoleRevokePermission";
inline constexpr char kLockPath[] = "/v3lockpb.Lock/Lock";
inline constexpr char kUnlockPath[] = "/v3lockpb.Lock/Unlock";
inline constexpr char kCampaignPath[] = "/v3electionpb.Election/Campaign";
inline constexpr char kProclaimPath[] = "/v3electionpb.Election/Proclaim";
inline constexpr char kLeaderPath[] = "/v3electionpb.Election/Leader";
inline constexpr char kObservePath[] = "/v3electionpb.Election/Observe";
inline constexpr char kResignPath[] = "/v3electionpb.Election/Resign";

}  // namespace keel::client

#endif  // KEEL_CLIENT_ETCD_CLIENT_H_
