// The per-call rules of a member's gRPC services, as interceptors on
// net::GrpcServer (etcd's v3rpc/interceptor.go):
//  - a call carrying metadata `hasleader: true` fails with "etcdserver: no
//    leader" while this member knows no leader;
//  - a call that may propose (Put, DeleteRange, a Txn that writes, Compact,
//    LeaseGrant, LeaseRevoke, Alarm) whose gRPC deadline passes answers
//    with the cause etcd names (Proposer::ProposalTimeout) instead of
//    gRPC's "context deadline exceeded", which reads keep;
//  - while this member is a learner, every call but Status and a
//    serializable Range fails with "etcdserver: rpc not supported for
//    learner" (etcd's isRPCSupportedForLearner; streams are refused too).
#ifndef KEEL_NODE_INTERCEPTORS_H_
#define KEEL_NODE_INTERCEPTORS_H_

#include "absl/status/status.h"
#include "net/grpc_server.h"
#include "node/member_store.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "runtime/clock.h"

namespace keel::node {

// etcd's rule for requests that carry `hasleader: true`.
absl::Status CheckLeaderRequirement(const net::CallContext& context, const RaftNode& raft);

// etcd's rule for a learner member: OK for what a learner answers.
absl::Status CheckLearnerSupport(std::string_view method, const google::protobuf::Message* request,
                                 const MemberStore& members, uint64_t self);

// Adds the rules to `grpc`. The references must outlive it.
void InstallInterceptors(net::GrpcServer& grpc, Clock& clock, const RaftNode& raft,
                         const Proposer& proposer, const MemberStore& members);

}  // namespace keel::node

#endif  // KEEL_NODE_INTERCEPTORS_H_
