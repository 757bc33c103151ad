// ElectionService: etcd's v3election service on gRPC
// (/v3electionpb.Election/{Campaign, Proclaim, Leader, Observe, Resign}),
// as etcd's v3election server runs clientv3's Election over an in-process
// client: here over the member's Contention (node/contention.h). The
// methods are public so that every route to them (gRPC, the JSON gateway)
// calls the same code; the per-call rules are the member's interceptors.
//
// Errors as etcd's: "election: no leader" (Leader with no candidate),
// "election: not leader" (Proclaim by a key that no longer leads),
// "\"leader\" field must be provided" (Proclaim or Resign without one),
// all with code Unknown, and the KV front end's.
#ifndef KEEL_NODE_ELECTION_SERVICE_H_
#define KEEL_NODE_ELECTION_SERVICE_H_

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "node/auth_frontend.h"
#include "node/contention.h"
#include "node/lease_service.h"
#include "proto/v3election.pb.h"

namespace keel::node {

class ElectionService {
 public:
  using ObserveStream =
      net::TypedServerStream<v3electionpb::LeaderRequest, v3electionpb::LeaderResponse>;

  // The parts must outlive the service, and it every call it serves.
  ElectionService(Contention& contention, AuthFrontend& auth, LeaseService& leases)
      : contention_(contention), auth_(auth), leases_(leases) {}

  // Waits until the caller leads `name` with `lease` (0: a new 60 s lease),
  // then answers its leader key.
  Task<absl::StatusOr<v3electionpb::CampaignResponse>> Campaign(
      net::CallContext& context, v3electionpb::CampaignRequest request);
  Task<absl::StatusOr<v3electionpb::ProclaimResponse>> Proclaim(
      net::CallContext& context, v3electionpb::ProclaimRequest request);
  Task<absl::StatusOr<v3electionpb::LeaderResponse>> Leader(net::CallContext& context,
                                                           v3electionpb::LeaderRequest request);
  Task<absl::StatusOr<v3electionpb::ResignResponse>> Resign(net::CallContext& context,
                                                           v3electionpb::ResignRequest request);
  // Streams the leader, then every change, until the call ends or a read
  // or write fails (that status).
  Task<absl::Status> Observe(net::CallContext& context, v3electionpb::LeaderRequest request,
                             ObserveStream& stream);

  // Registers the five methods with `grpc`.
  void Register(net::GrpcServer& grpc);

 private:
  Contention& contention_;
  AuthFrontend& auth_;
  LeaseService& leases_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_ELECTION_SERVICE_H_
