// The cluster scenario's membership operator: runtime membership changes,
// made the way an operator follows etcd's runbooks, through the Cluster
// service of the running members (keel's EtcdClient, on a machine of its
// own), interleaved with every other fault of the run.
//
// A plan's membership steps (sim/plan.h) are queued when their time comes
// and carried out one at a time, each against the membership as the
// operator knows it then (ClusterMembers' seats), its member drawn from the
// step's seed:
//   member-add-learner  a machine outside the cluster gets its disk wiped,
//                       is added as a learner (MemberAdd), then started with
//                       --initial-cluster-state existing and the
//                       --initial-cluster the add answered; needs no learner
//                       already (etcd allows one);
//   member-promote      the learner is promoted (MemberPromote, through any
//                       voter: a follower forwards it to the leader), asked
//                       again while the leader says it is not in sync yet;
//   member-remove       the learner, or a voter while more than `min_voters`
//                       vote, is removed (MemberRemove); it stops itself
//                       when it learns so;
//   member-replace      etcd's "replace a failed member": a voter is
//                       removed, its process killed and its disk wiped,
//                       then it is added back as a voter (a new member ID)
//                       and started to catch up by log or snapshot.
// A step that does not fit (no machine outside, no learner, too few voters)
// is skipped. A refused call is asked again for a while (kInsist; a
// replacement's add until kSettleLimit), as an operator waits out an
// unhealthy cluster. A change the cluster still refuses with etcd's errors (unhealthy
// cluster under --strict-reconfig-check, not enough started members, a
// learner not in sync) is a legitimate outcome: counted, not a failure. A
// call whose outcome is unknown (timeout, lost connection, leader change)
// is sent again until an answer settles it: etcd's own errors say a change
// already happened ("Peer URLs already exists" for an add, "member not
// found" for a remove, "can only promote a learner member" for a
// promotion). One that is still unknown after kSettleLimit leaves the seat
// uncertain, for ClusterMembers::Reconcile.
//
// Runs in the operator machine's process (Run is its main()); Enqueue and
// Finish are called from the world's callbacks.
#ifndef KEEL_SIM_SCENARIOS_CLUSTER_OPERATOR_H_
#define KEEL_SIM_SCENARIOS_CLUSTER_OPERATOR_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/etcd_client.h"
#include "runtime/env.h"
#include "runtime/random.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "sim/plan.h"
#include "sim/scenarios/cluster_members.h"
#include "sim/sim_world.h"

namespace keel::sim::cluster {

// How long the operator keeps asking to settle one change.
inline constexpr Duration kSettleLimit = Seconds(30);
// How long a refused change is asked for again.
inline constexpr Duration kInsist = Seconds(10);

struct MembershipTally {
  uint64_t steps = 0;     // membership steps whose time came
  uint64_t adds = 0;      // learners added and started
  uint64_t promotes = 0;  // learners promoted
  uint64_t removes = 0;   // members removed (not counting replacements)
  uint64_t replaces = 0;  // voters removed, wiped, added back and started
  uint64_t refused = 0;   // calls the cluster refused with an etcd error
  uint64_t skipped = 0;   // steps that did not fit the membership then
  uint64_t unsettled = 0; // changes whose outcome was never learned
};

class MembershipOperator {
 public:
  // `members` must outlive this; plain removals keep at least `min_voters`
  // voting.
  MembershipOperator(SimWorld& world, ClusterMembers& members, size_t min_voters);
  MembershipOperator(const MembershipOperator&) = delete;
  MembershipOperator& operator=(const MembershipOperator&) = delete;

  // The operator machine's main().
  Task<void> Run(Env& env);
  // Queues a membership step (in plan order).
  void Enqueue(const PlanStep& step);
  // No more steps; those queued still run (on a healed cluster).
  void Finish() { finished_ = true; }
  bool idle() const { return queue_.empty() && !busy_; }
  // Steps queued or under way.
  size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }
  const MembershipTally& tally() const { return tally_; }

 private:
  enum class Outcome { kDone, kRefused, kUnknown };
  struct AddResult {
    Outcome outcome = Outcome::kUnknown;
    uint64_t id = 0;
    std::string join_cluster;
  };

  Task<void> Execute(const PlanStep& step);
  Task<void> AddLearner(Random& random);
  Task<void> Promote();
  Task<void> Remove(Random& random);
  Task<void> Replace(Random& random);
  // The calls, each sent until settled (or until kSettleLimit). A refusal
  // is asked again for `insist` (an operator retries while the cluster is
  // unhealthy; a replacement must get its voter back once it allows it).
  Task<AddResult> CallAdd(size_t m, bool learner, Duration insist);
  Task<Outcome> CallRemove(uint64_t id, Duration insist);
  Task<Outcome> CallPromote(uint64_t id, Duration insist);
  // The endpoint for attempt `attempt`: the seated voters in turn (a
  // learner answers none of these calls).
  std::string EndpointFor(uint64_t attempt) const;
  // The seated machines matching `pick`, by index.
  std::vector<size_t> Seated(bool voters, bool learners) const;
  void Note(const std::string& what);
  // Takes machine `m` off whatever it runs, wipes its disk.
  void Wipe(size_t m);

  SimWorld& world_;
  ClusterMembers& members_;
  const size_t min_voters_;
  Env* env_ = nullptr;
  client::EtcdClient* client_ = nullptr;  // Run's, while it runs
  std::deque<PlanStep> queue_;
  Event wake_;
  bool busy_ = false;
  bool finished_ = false;
  MembershipTally tally_;
};

}  // namespace keel::sim::cluster

#endif  // KEEL_SIM_SCENARIOS_CLUSTER_OPERATOR_H_
