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
#include "proto/rpc.pb.h"
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

  // ---- Maintenance and Cluster ----
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

  // Connections dialled so far (tests and figures).
  uint64_t dials() const { return dials_; }

 private:
  enum class Retry { kIfNotSent, kOnUnavailable };
  struct Endpoint;

  // One unary call with the retry policy; the response bytes or the status.
  Task<absl::StatusOr<std::string>> Call(std::string path, std::string request,
                                         Retry retry, RequestOptions options);
  template <typename Resp>
  Task<absl::StatusOr<Resp>> TypedCall(std::string path, std::string request,
                                       Retry retry, RequestOptions options);
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
  const ClientOptions options_;
  const std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<Endpoint>> state_;
  // Channels replaced after they became unusable, kept until their calls end.
  std::vector<std::unique_ptr<net::GrpcChannel>> retired_;
  size_t pinned_ = 0;
  uint64_t dials_ = 0;
};

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

}  // namespace keel::client

#endif  // KEEL_CLIENT_ETCD_CLIENT_H_
