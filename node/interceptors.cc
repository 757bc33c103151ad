// The hasleader and write-deadline interceptors.
#include "node/interceptors.h"

#include <string_view>

#include "node/errors.h"
#include "node/request_checks.h"
#include "proto/rpc.pb.h"

namespace keel::node {
namespace {

// Whether the call may propose a raft entry, so that its deadline passing
// means what etcd's parseProposeCtxErr says.
bool MayPropose(std::string_view method, const google::protobuf::Message* request) {
  if (method == "/etcdserverpb.KV/Txn") {
    const auto* txn = dynamic_cast<const etcdserverpb::TxnRequest*>(request);
    return txn != nullptr && TxnWrites(*txn);
  }
  return method == "/etcdserverpb.KV/Put" || method == "/etcdserverpb.KV/DeleteRange" ||
         method == "/etcdserverpb.KV/Compact" || method == "/etcdserverpb.Lease/LeaseGrant" ||
         method == "/etcdserverpb.Lease/LeaseRevoke" ||
         method == "/etcdserverpb.Maintenance/Alarm";
}

}  // namespace

absl::Status CheckLeaderRequirement(const net::CallContext& context, const RaftNode& raft) {
  std::optional<std::string_view> has_leader = context.Get("hasleader");
  if (has_leader.has_value() && *has_leader == "true" && raft.leader() == 0) {
    return MakeError(EtcdError::kNoLeader);
  }
  return absl::OkStatus();
}

absl::Status CheckLearnerSupport(std::string_view method, const google::protobuf::Message* request,
                                 const MemberStore& members, uint64_t self) {
  const Member* member = members.Find(self);
  if (member == nullptr || !member->is_learner) return absl::OkStatus();
  if (method == "/etcdserverpb.Maintenance/Status") return absl::OkStatus();
  if (method == "/etcdserverpb.KV/Range") {
    const auto* range = dynamic_cast<const etcdserverpb::RangeRequest*>(request);
    if (range != nullptr && range->serializable()) return absl::OkStatus();
  }
  return MakeError(EtcdError::kNotSupportedForLearner);
}

void InstallInterceptors(net::GrpcServer& grpc, Clock& clock, const RaftNode& raft,
                         const Proposer& proposer, const MemberStore& members) {
  // First, as etcd checks it before anything else.
  grpc.AddInterceptor([&raft, &members](net::CallContext& context,
                                        const google::protobuf::Message* request) {
    return CheckLearnerSupport(context.method, request, members, raft.id());
  });
  grpc.AddInterceptor([&raft](net::CallContext& context, const google::protobuf::Message*) {
    return CheckLeaderRequirement(context, raft);
  });
  grpc.AddInterceptor([&clock, &proposer](net::CallContext& context,
                                          const google::protobuf::Message* request) {
    if (MayPropose(context.method, request)) {
      const TimePoint start = clock.Now();
      context.deadline_status = [&proposer, start] { return proposer.ProposalTimeout(start); };
    }
    return absl::OkStatus();
  });
}

}  // namespace keel::node
