// LeaseService: etcd's Lease gRPC service (/etcdserverpb.Lease/*).
//
// LeaseGrant and LeaseRevoke go through raft (LeaseCoordinator).
// LeaseKeepAlive (a bidirectional stream) and LeaseTimeToLive need the
// leader's lessor, which holds the expiries: the leader answers them
// itself; any other member forwards each request to the leader over a gRPC
// channel to the leader's advertised client URL (etcd forwards over its
// peer HTTP instead), re-dialled when the leader changes, for up to the
// request timeout. A member that finds no leader in that time answers
// "etcdserver: no leader". Forwarded requests carry kForwardedMetadata so a
// member that is no longer the leader refuses them ("etcdserver: not
// leader") instead of forwarding again; the forwarder then retries.
// LeaseLeases is served locally after a linearizable barrier.
//
// etcd's answers for a lease that does not exist: keepalive answers TTL 0
// (not an error), TimeToLive answers TTL -1, revoke fails with
// "etcdserver: requested lease not found".
#ifndef KEEL_NODE_LEASE_SERVICE_H_
#define KEEL_NODE_LEASE_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "node/lease_coordinator.h"
#include "node/member_store.h"
#include "node/raft_node.h"
#include "node/response_header.h"
#include "runtime/sync.h"

namespace keel::node {

// Marks a request one member forwarded to the leader.
inline constexpr std::string_view kForwardedMetadata = "keel-forwarded-to-leader";
// How long a forwarder waits before trying the leader again after a failed
// attempt (unless the leader changes first).
inline constexpr Duration kLeaseForwardRetry = Milliseconds(100);

// The host:port of the leader's first usable client URL, where a member
// forwards what only the leader may answer (lease calls, MemberPromote).
// Unavailable if the member list holds none.
absl::StatusOr<std::string> LeaderClientAddress(const MemberStore& members, uint64_t leader);

// What the service works with; all must outlive it.
struct LeaseServiceParts {
  Env& env;
  LeaseCoordinator& leases;
  RaftNode& raft;
  const MemberStore& members;
  const ResponseHeaders& headers;
  // etcd's ReqTimeout: how long a forwarded request keeps trying.
  Duration request_timeout;
};

class LeaseService {
 public:
  using KeepAliveStream = net::TypedServerStream<etcdserverpb::LeaseKeepAliveRequest,
                                                 etcdserverpb::LeaseKeepAliveResponse>;

  // The service must outlive every call it serves. Construct and destroy it
  // in the member's process (the forwarding channel runs there).
  explicit LeaseService(LeaseServiceParts parts);
  ~LeaseService();
  LeaseService(const LeaseService&) = delete;
  LeaseService& operator=(const LeaseService&) = delete;

  // The RPCs (the per-call rules are interceptors). Suspend.
  Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> Grant(
      net::CallContext& context, etcdserverpb::LeaseGrantRequest request);
  Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> Revoke(
      net::CallContext& context, etcdserverpb::LeaseRevokeRequest request);
  // Serves one keepalive stream until the client half-closes (OK), a read
  // or write fails (that status) or a renewal fails with something other
  // than a missing lease (that error, ending the stream as etcd does).
  Task<absl::Status> KeepAlive(const net::CallContext& context, KeepAliveStream& stream);
  Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> TimeToLive(
      const net::CallContext& context, etcdserverpb::LeaseTimeToLiveRequest request);
  Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> Leases(
      const net::CallContext& context, etcdserverpb::LeaseLeasesRequest request);

  // etcd's LeaseRenew: on the leader locally, else forwarded (unless
  // `forwarded`: then kNotLeader if this member is not the leader). The TTL,
  // or kLeaseNotFound, kNoLeader, kTimeout, kStopped.
  Task<absl::StatusOr<int64_t>> Renew(int64_t id, bool forwarded);
  // etcd's LeaseTimeToLive, routed as Renew. kLeaseNotFound if the lease
  // does not exist.
  Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> TimeToLiveOnLeader(
      etcdserverpb::LeaseTimeToLiveRequest request, bool forwarded);

  // Who a call's token names (AuthFrontend::Caller), for the revocations
  // the auth applier checks. Unset: every call is anonymous.
  using CallerResolver = std::function<absl::StatusOr<AuthInfo>(const net::CallContext&)>;
  void set_callers(CallerResolver callers) { callers_ = std::move(callers); }

  // Channels dialled to leaders so far (for tests).
  int dials() const { return dials_; }

 private:
  // A channel to `leader`'s first client URL: the cached one if it is to
  // the same leader and still usable, else a new one. Unavailable if the
  // leader's client URLs are unknown or the dial fails. Suspends.
  Task<absl::StatusOr<std::shared_ptr<net::GrpcChannel>>> LeaderChannel(
      uint64_t leader, TimePoint deadline);
  // Drops the cached channel if it is `channel` (it failed).
  void DropChannel(const std::shared_ptr<net::GrpcChannel>& channel);
  // Waits for a leader change, or until `until` (bounded by `deadline`).
  Task<void> Backoff(TimePoint until);

  LeaseServiceParts parts_;
  CallerResolver callers_;
  Mutex dial_mutex_;
  std::shared_ptr<net::GrpcChannel> channel_;
  uint64_t channel_leader_ = 0;
  std::string channel_address_;
  int dials_ = 0;
};

// Registers /etcdserverpb.Lease/{LeaseGrant, LeaseRevoke, LeaseKeepAlive,
// LeaseTimeToLive, LeaseLeases} with `service`.
void RegisterLeaseService(net::GrpcServer& grpc, LeaseService& service);

}  // namespace keel::node

#endif  // KEEL_NODE_LEASE_SERVICE_H_
