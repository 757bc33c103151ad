// ClusterMembership: applying conf changes to the member list and the raft
// node's peers, and publishing this member's attributes.
#include "node/cluster_membership.h"

#include <utility>

#include "node/errors.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

Task<void> SleepFor(Clock& clock, Duration duration) { co_await clock.Sleep(duration); }

}  // namespace

ClusterMembership::ClusterMembership(Env& env, KeySpace& key_space, RaftNode& raft,
                                     Proposer& proposer, MemberLife& life,
                                     LocalMember self,
                                     std::vector<Member> bootstrap_members)
    : env_(env),
      key_space_(key_space),
      raft_(raft),
      proposer_(proposer),
      life_(life),
      self_(std::move(self)),
      bootstrap_members_(std::move(bootstrap_members)) {
  KEEL_ASSERT(self_.id != 0);
  KEEL_ASSERT(self_.id == raft.id());
}

void ClusterMembership::SetPeer(const Member& member) {
  if (member.id == self_.id || !raft_.started()) return;
  raft_.SetPeer(member.id, member.peer_urls);
}

void ClusterMembership::SyncPeers() {
  for (const auto& [id, member] : members().members()) SetPeer(member);
  // A new member knows its peers from --initial-cluster before the bootstrap
  // entries that record them are applied; raft talks to them at once.
  for (const Member& member : bootstrap_members_) {
    if (!raft_.HasPeer(member.id) && !members().IsRemoved(member.id)) SetPeer(member);
  }
  // Removed members are refused from the start, before they call (they
  // may not know yet); the transport keeps only what it is told.
  for (uint64_t id : members().removed()) (void)raft_.RemovePeer(id);
}

absl::Status ClusterMembership::Validate(const raft::ConfChange& change) const {
  const MemberStore& store = members();
  const uint64_t id = change.node_id();
  if (store.IsRemoved(id)) return MakeError(EtcdError::kMemberNotFound);
  const Member* existing = store.Find(id);
  // Peer URLs held by members other than `except`.
  auto url_taken = [&store](const std::string& url, uint64_t except) {
    for (const auto& [other_id, other] : store.members()) {
      if (other_id == except) continue;
      for (const std::string& taken : other.peer_urls) {
        if (taken == url) return true;
      }
    }
    return false;
  };
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode: {
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      if (context.is_promote()) {
        if (existing == nullptr) return MakeError(EtcdError::kMemberNotFound);
        if (!existing->is_learner) return MakeError(EtcdError::kMemberNotLearner);
        return absl::OkStatus();
      }
      if (existing != nullptr) return MakeError(EtcdError::kMemberExist);
      for (const std::string& url : context.peer_urls()) {
        if (url_taken(url, /*except=*/0)) return MakeError(EtcdError::kPeerURLExist);
      }
      if (change.type() == raftpb::ConfChangeAddLearnerNode) {
        size_t learners = 0;
        for (const auto& [other_id, other] : store.members()) learners += other.is_learner;
        if (learners + 1 > kMaxLearners) return MakeError(EtcdError::kTooManyLearners);
      }
      return absl::OkStatus();
    }
    case raftpb::ConfChangeRemoveNode:
      if (existing == nullptr) return MakeError(EtcdError::kMemberNotFound);
      return absl::OkStatus();
    case raftpb::ConfChangeUpdateNode: {
      if (existing == nullptr) return MakeError(EtcdError::kMemberNotFound);
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      for (const std::string& url : context.peer_urls()) {
        if (url_taken(url, /*except=*/id)) return MakeError(EtcdError::kPeerURLExist);
      }
      return absl::OkStatus();
    }
    default:
      return absl::DataLossError(StrCat("conf change of unknown type ", change.type()));
  }
}

absl::Status ClusterMembership::Apply(const raft::ConfChange& change) {
  MemberStore& members = key_space_.members();
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode: {
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      Member member;
      if (const Member* existing = members.Find(change.node_id())) {
        member = *existing;  // A learner's promotion keeps its attributes.
      } else {
        member.id = change.node_id();
        member.name = context.name();
        member.peer_urls.assign(context.peer_urls().begin(), context.peer_urls().end());
      }
      member.is_learner = change.type() == raftpb::ConfChangeAddLearnerNode;
      KEEL_RETURN_IF_ERROR(members.Put(member));
      SetPeer(member);
      KEEL_ASSERT(members.Find(change.node_id()) != nullptr);
      return absl::OkStatus();
    }
    case raftpb::ConfChangeRemoveNode: {
      KEEL_RETURN_IF_ERROR(members.Remove(change.node_id()));
      KEEL_RETURN_IF_ERROR(raft_.RemovePeer(change.node_id()));
      KEEL_ASSERT(members.IsRemoved(change.node_id()));
      return absl::OkStatus();
    }
    case raftpb::ConfChangeUpdateNode: {
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      const Member* existing = members.Find(change.node_id());
      if (existing == nullptr) return absl::OkStatus();
      Member member = *existing;
      member.peer_urls.assign(context.peer_urls().begin(), context.peer_urls().end());
      KEEL_RETURN_IF_ERROR(members.Put(member));
      SetPeer(member);
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

Task<void> ClusterMembership::PublishAttributes() {
  MemberLife::LoopGuard guard(life_);
  while (!life_.stopping()) {
    const Member* self = members().Find(self_.id);
    if (self != nullptr && self->name == self_.name &&
        self->client_urls == self_.client_urls) {
      ready_.Set();
      co_return;  // Already published (a restart with the same flags).
    }
    internal::InternalRaftRequest request;
    auto* attributes = request.mutable_member_attributes();
    attributes->set_member_id(self_.id);
    attributes->set_name(self_.name);
    for (const auto& url : self_.client_urls) attributes->add_client_urls(url);
    ApplyResult result = co_await proposer_.Propose(std::move(request));
    if (result.status.ok()) {
      env_.log().Info("published local member to cluster through raft",
                      {{"local-member-id", FormatId(self_.id)}, {"name", self_.name}});
      ready_.Set();
      co_return;
    }
    if (life_.stopping()) co_return;
    env_.log().Warn("failed to publish local member to cluster through raft",
                    {{"error", result.status.ToString()}});
    // Retry after an election timeout, unless the member stops first.
    std::vector<Task<void>> race;
    race.push_back(SleepFor(env_.clock(), Milliseconds(raft_.config().election_timeout_ms)));
    race.push_back(life_.stopping_event().Wait());
    co_await WhenAny(std::move(race));
  }
}

}  // namespace keel::node
