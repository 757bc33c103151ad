// ClusterMembership: the membership changes a member applies and what it
// does about them: the member list (MemberStore, in the key space), where
// the raft node reaches each peer, and publishing this member's own name
// and client URLs through raft once it starts (etcd's publish).
//
// Conf changes reach it from the apply loop, which asks Validate first (a
// refused change is a no-op everywhere) and then applies the change to
// raft's configuration; the member list then follows in the same entry, so every
// member holds the same list at the same index.
#ifndef KEEL_NODE_CLUSTER_MEMBERSHIP_H_
#define KEEL_NODE_CLUSTER_MEMBERSHIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/membership.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "runtime/env.h"
#include "runtime/sync.h"

namespace keel::node {

// Learners a cluster may hold at once (etcd's maxLearners).
inline constexpr size_t kMaxLearners = 1;

// What this member publishes about itself.
struct LocalMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> client_urls;
};

class ClusterMembership {
 public:
  // `bootstrap_members` are the members of --initial-cluster when this
  // start bootstrapped a new cluster (raft talks to them before the entries
  // that record them are applied), else empty. References must outlive
  // this.
  ClusterMembership(Env& env, KeySpace& key_space, RaftNode& raft, Proposer& proposer,
                    MemberLife& life, LocalMember self,
                    std::vector<Member> bootstrap_members);
  ClusterMembership(const ClusterMembership&) = delete;
  ClusterMembership& operator=(const ClusterMembership&) = delete;

  const MemberStore& members() const { return key_space_.members(); }

  // Points the raft node at every member's peer URLs (the applied list,
  // then bootstrap members it lacks) and tells it the removed ones. At
  // start, and after the key space was replaced by a snapshot.
  void SyncPeers();

  // etcd's ValidateConfigurationChange against the applied member list:
  // OK, or the client error that refuses `change` (a removed or unknown ID,
  // an ID or peer URL in use, a promotion of a non-learner, a second
  // learner). Every member decides alike at the same index; a refused
  // change reaches neither raft nor the list. DataLoss if the context
  // does not parse.
  absl::Status Validate(const raft::ConfChange& change) const;

  // Applies a committed conf change that raft accepted: adds, promotes,
  // updates or removes the member, and tells the raft node. DataLoss if its
  // context does not parse; the store's errors. (The apply loop stops the
  // member once a change removing it is recorded.)
  absl::Status Apply(const raft::ConfChange& change);

  // Publishes this member's name and client URLs through raft until it
  // succeeds or the member stops; ready() is set then. A restart whose
  // attributes are already published is ready at once. Runs in the member's
  // process (spawned by Start()).
  Task<void> PublishAttributes();

  // Set once this member's name and client URLs are in the member list:
  // etcd serves clients only from then on, so MemberList never shows a
  // running member without its client URLs.
  Event& ready() { return ready_; }

 private:
  void SetPeer(const Member& member);

  Env& env_;
  KeySpace& key_space_;
  RaftNode& raft_;
  Proposer& proposer_;
  MemberLife& life_;
  const LocalMember self_;
  const std::vector<Member> bootstrap_members_;
  Event ready_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CLUSTER_MEMBERSHIP_H_
