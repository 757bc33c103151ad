// MemberAdmin: the strict reconfiguration checks and the conf-change
// proposals of the Cluster service.
#include "node/member_admin.h"

#include <algorithm>
#include <utility>

#include "node/errors.h"
#include "node/server_config.h"
#include "proto/internal.pb.h"

namespace keel::node {
namespace {

std::string ContextOf(uint64_t id, const std::vector<std::string>& peer_urls,
                      bool is_learner, bool is_promote) {
  internal::ConfChangeMember context;
  context.set_id(id);
  for (const std::string& url : peer_urls) context.add_peer_urls(url);
  context.set_is_learner(is_learner);
  context.set_is_promote(is_promote);
  return context.SerializeAsString();
}

bool Started(const Member& member) { return !member.name.empty(); }

}  // namespace

absl::Status CheckPeerUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return MakeError(EtcdError::kMemberBadURLs);
  for (const std::string& url : urls) {
    if (!ParseUrl(url).ok()) return MakeError(EtcdError::kMemberBadURLs);
  }
  return absl::OkStatus();
}

std::vector<const Member*> MemberAdmin::Voters() const {
  std::vector<const Member*> voters;
  for (const auto& [id, member] : members_.members()) {
    if (!member.is_learner) voters.push_back(&member);
  }
  return voters;
}

bool MemberAdmin::ConnectedSince(uint64_t id, TimePoint since) const {
  if (id == raft_.id()) return true;
  const net::PeerStatus status = raft_.PeerStatus(id);
  return status.active && status.active_since <= since;
}

size_t MemberAdmin::VotersConnected() const {
  const TimePoint since = env_.clock().Now() - kHealthInterval;
  size_t connected = 0;
  for (const Member* voter : Voters()) connected += ConnectedSince(voter->id, since);
  return connected;
}

absl::Status MemberAdmin::MayAdd(bool is_learner) const {
  if (!options_.strict_reconfig_check) return absl::OkStatus();
  const std::vector<const Member*> voters = Voters();
  if (!is_learner) {
    // etcd's IsReadyToAddVotingMember: the new member counts towards the
    // quorum but not as started.
    const size_t members = voters.size() + 1;
    size_t started = 0;
    for (const Member* voter : voters) started += Started(*voter);
    // A one-member cluster growing to two (restoring a cluster from one
    // member's data) is let through.
    const bool restoring = started == 1 && members == 2;
    if (!restoring && started < members / 2 + 1) {
      return MakeError(EtcdError::kMemberNotEnoughStarted);
    }
  }
  if (VotersConnected() != voters.size()) {
    env_.log().Warn("rejecting member add request; local member has not been connected to all "
                    "peers, reconfigure breaks active quorum",
                    {{"local-member-id", FormatId(raft_.id())}});
    return MakeError(EtcdError::kUnhealthy);
  }
  return absl::OkStatus();
}

absl::Status MemberAdmin::MayRemove(uint64_t id) const {
  if (!options_.strict_reconfig_check) return absl::OkStatus();
  const Member* target = members_.Find(id);
  // Removing a learner never changes the quorum.
  if (target != nullptr && target->is_learner) return absl::OkStatus();
  const std::vector<const Member*> voters = Voters();
  // etcd's IsReadyToRemoveVotingMember: the voters left must hold a
  // started quorum.
  size_t members = 0;
  size_t started = 0;
  for (const Member* voter : voters) {
    if (voter->id == id) continue;
    members++;
    started += Started(*voter);
  }
  if (started < members / 2 + 1) return MakeError(EtcdError::kMemberNotEnoughStarted);
  // A member this one has no connection to is not part of the active
  // quorum: removing it is safe.
  if (id != raft_.id() && !raft_.PeerStatus(id).active) return absl::OkStatus();
  const size_t active = VotersConnected();
  if (active < 1 || active - 1 < 1 + (voters.size() - 1) / 2) {
    env_.log().Warn("rejecting member remove request; local member has not been connected to "
                    "enough peers, reconfigure breaks active quorum",
                    {{"local-member-id", FormatId(raft_.id())},
                     {"requested-member-remove", FormatId(id)}});
    return MakeError(EtcdError::kUnhealthy);
  }
  return absl::OkStatus();
}

absl::Status MemberAdmin::MayPromote(uint64_t id) const {
  // Only the leader knows how far the learner got.
  if (!raft_.is_leader()) return MakeError(EtcdError::kNotLeader);
  const raft::Status status = raft_.Status();
  auto learner = status.progress.find(id);
  if (learner != status.progress.end()) {
    auto leader = status.progress.find(raft_.id());
    const uint64_t leader_match = leader == status.progress.end() ? 0 : leader->second.match;
    if (static_cast<double>(learner->second.match) <
        static_cast<double>(leader_match) * kLearnerReadyPercent) {
      return MakeError(EtcdError::kLearnerNotReady);
    }
  }
  if (!options_.strict_reconfig_check) return absl::OkStatus();
  // etcd's IsReadyToPromoteMember: the learner counts as a started voter.
  size_t members = 1;
  size_t started = 1;
  for (const Member* voter : Voters()) {
    members++;
    started += Started(*voter);
  }
  if (started < members / 2 + 1) return MakeError(EtcdError::kMemberNotEnoughStarted);
  return absl::OkStatus();
}

Task<absl::StatusOr<MemberAdmin::Result>> MemberAdmin::Configure(raft::ConfChange change) {
  const uint64_t id = change.node_id();
  const absl::Status applied = co_await proposer_.ProposeConfChange(std::move(change));
  if (!applied.ok()) co_return applied;
  Result result;
  if (const Member* member = members_.Find(id)) result.member = *member;
  for (const auto& [member_id, member] : members_.members()) result.members.push_back(member);
  co_return result;
}

Task<absl::StatusOr<MemberAdmin::Result>> MemberAdmin::Add(std::vector<std::string> peer_urls,
                                                           bool is_learner) {
  if (absl::Status urls = CheckPeerUrls(peer_urls); !urls.ok()) co_return urls;
  std::sort(peer_urls.begin(), peer_urls.end());
  // etcd's NewMember for a runtime add: no cluster token, the wall clock's
  // seconds mixed in so a member re-added at the same URLs gets a new ID.
  const int64_t now = env_.clock().WallUnixMicros() / 1000000;
  const uint64_t id = ComputeMemberId(peer_urls, "", now);
  if (absl::Status may = MayAdd(is_learner); !may.ok()) co_return may;
  raft::ConfChange change;
  change.set_type(is_learner ? raftpb::ConfChangeAddLearnerNode : raftpb::ConfChangeAddNode);
  change.set_node_id(id);
  change.set_context(ContextOf(id, peer_urls, is_learner, /*is_promote=*/false));
  auto result = co_await Configure(std::move(change));
  if (!result.ok()) co_return result.status();
  // The response names the member as it was asked for (etcd builds it
  // from the request, not from the list).
  result->member = Member{.id = id, .peer_urls = peer_urls, .is_learner = is_learner};
  co_return result;
}

Task<absl::StatusOr<MemberAdmin::Result>> MemberAdmin::Remove(uint64_t id) {
  if (absl::Status may = MayRemove(id); !may.ok()) co_return may;
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeRemoveNode);
  change.set_node_id(id);
  co_return co_await Configure(std::move(change));
}

Task<absl::StatusOr<MemberAdmin::Result>> MemberAdmin::Update(
    uint64_t id, std::vector<std::string> peer_urls) {
  // etcd's MemberUpdate takes the URLs as given (no parse check).
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeUpdateNode);
  change.set_node_id(id);
  const Member* member = members_.Find(id);
  change.set_context(ContextOf(id, peer_urls, member != nullptr && member->is_learner,
                               /*is_promote=*/false));
  co_return co_await Configure(std::move(change));
}

Task<absl::StatusOr<MemberAdmin::Result>> MemberAdmin::Promote(uint64_t id) {
  if (absl::Status may = MayPromote(id); !may.ok()) co_return may;
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeAddNode);
  change.set_node_id(id);
  change.set_context(ContextOf(id, {}, /*is_learner=*/false, /*is_promote=*/true));
  co_return co_await Configure(std::move(change));
}

}  // namespace keel::node
