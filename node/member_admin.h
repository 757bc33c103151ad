// MemberAdmin: runtime membership changes as the Cluster service asks for
// them (etcd's EtcdServer.AddMember, RemoveMember, UpdateMember and
// PromoteMember).
//
// Each change is checked here first (--strict-reconfig-check: a change
// that would leave the cluster without a quorum of started, connected
// voting members is refused, with etcd's isReadyTo* rules; a learner is
// promoted only once it is in sync with the leader), then proposed as a
// raft conf change and waited for until applied here. The member list's own
// verdict (an ID or peer URL in use, an unknown member, a second learner)
// comes at apply time (ClusterMembership::Validate), so every member
// decides alike. On success each call returns the member list as applied
// right after the change.
//
// "Started" is etcd's: a member whose name is known (static bootstrap
// names its members; one added at runtime is named when it publishes).
// "Connected" is the peer transport's view: the message connection to the
// member has been up for at least kHealthInterval.
#ifndef KEEL_NODE_MEMBER_ADMIN_H_
#define KEEL_NODE_MEMBER_ADMIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/member_store.h"
#include "node/membership.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "runtime/env.h"

namespace keel::node {

// etcd's HealthInterval: how long a peer connection must have been up for
// the member to count as connected.
inline constexpr Duration kHealthInterval = Seconds(5);
// etcd's readyPercent: a learner is in sync when its match index is at
// least this share of the leader's.
inline constexpr double kLearnerReadyPercent = 0.9;

struct MemberAdminOptions {
  bool strict_reconfig_check = true;
};

class MemberAdmin {
 public:
  // References must outlive this.
  MemberAdmin(Env& env, RaftNode& raft, Proposer& proposer, const MemberStore& members,
              MemberAdminOptions options)
      : env_(env), raft_(raft), proposer_(proposer), members_(members), options_(options) {}
  MemberAdmin(const MemberAdmin&) = delete;
  MemberAdmin& operator=(const MemberAdmin&) = delete;

  // What a successful change returns: the member it added (for Add) and
  // the members after the change, by ID.
  struct Result {
    Member member;
    std::vector<Member> members;
  };

  // etcd's MemberAdd: a new member at `peer_urls` (a voter, or a learner),
  // its ID derived from the URLs and the wall clock as etcd derives it.
  // kMemberBadURLs for a URL that does not parse; under the strict check
  // kMemberNotEnoughStarted / kUnhealthy (voters only); then the member
  // list's refusals and the proposal's timeouts.
  Task<absl::StatusOr<Result>> Add(std::vector<std::string> peer_urls, bool is_learner);
  // etcd's MemberRemove. Under the strict check a voter's removal needs
  // the remaining voters' quorum started (kMemberNotEnoughStarted) and,
  // unless the member is down, connected (kUnhealthy).
  Task<absl::StatusOr<Result>> Remove(uint64_t id);
  // etcd's MemberUpdate: new peer URLs for a member.
  Task<absl::StatusOr<Result>> Update(uint64_t id, std::vector<std::string> peer_urls);
  // etcd's MemberPromote on the leader: kNotLeader on any other member (the
  // service forwards); kLearnerNotReady for a learner behind the leader;
  // under the strict check kMemberNotEnoughStarted.
  Task<absl::StatusOr<Result>> Promote(uint64_t id);

  // The checks alone, for tests and the service.
  absl::Status MayAdd(bool is_learner) const;
  absl::Status MayRemove(uint64_t id) const;
  absl::Status MayPromote(uint64_t id) const;

 private:
  Task<absl::StatusOr<Result>> Configure(raft::ConfChange change);
  std::vector<const Member*> Voters() const;
  // Whether `id`'s peer connection has been up since at least `since`
  // (this member always is).
  bool ConnectedSince(uint64_t id, TimePoint since) const;
  size_t VotersConnected() const;

  Env& env_;
  RaftNode& raft_;
  Proposer& proposer_;
  const MemberStore& members_;
  const MemberAdminOptions options_;
};

// Checks peer URLs as etcd's types.NewURLs does (http or https scheme, a
// host:port, no path). kMemberBadURLs otherwise, or for none.
absl::Status CheckPeerUrls(const std::vector<std::string>& urls);

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBER_ADMIN_H_
