// The members of the cluster scenario: real keel members (node::Node, the
// Server plus its gRPC services and listeners, as tools/keel runs it) on
// simulated machines 10.0.0.1.. with their storage on the simulated disks.
//
// Each machine's boot starts a Node from the same configuration every
// time (a member restarted after a kill or power loss reopens its data
// directory; etcd's --initial-cluster is ignored once it has data), serves
// until the server stops on its own (a fatal storage error) and returns;
// the machine then restarts it after a pause, as a supervisor would. A
// member that refuses to start (its disk failed it) is restarted the same
// way. node(i) is the live member on machine i, null while it is down,
// starting or stopped.
//
// Membership: the first `count` machines form the initial cluster; `spares`
// more start outside it. Each machine has a seat: inside the cluster (its
// member ID and whether it is a learner, as the membership operator,
// cluster_operator.h, last learned them) or outside (a spare, or a member
// removed). A machine outside boots nothing (its process idles, so a
// supervisor's restart or the nemesis's does not bring a removed member
// back); one seated by a runtime MemberAdd boots with
// --initial-cluster-state existing and the --initial-cluster the add
// answered, as etcd's runbook starts a new member. A seat the operator could
// not confirm (a change whose outcome it never learned) is uncertain until
// Reconcile() reads the leader's member list.
//
// Pure bookkeeping over SimWorld: nothing here suspends except the boot
// coroutines the machines run.
#ifndef KEEL_SIM_SCENARIOS_CLUSTER_MEMBERS_H_
#define KEEL_SIM_SCENARIOS_CLUSTER_MEMBERS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/node.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim::cluster {

inline constexpr uint16_t kClientPort = 2379;
inline constexpr uint16_t kPeerPort = 2380;

struct MemberTuning {
  int64_t heartbeat_interval_ms = 100;
  int64_t election_timeout_ms = 1000;
  // Small, so runs take snapshots and slow members catch up from them.
  uint64_t snapshot_count = 400;
  uint64_t snapshot_catchup_entries = 100;
  // Snapshot data per chunk frame (ServerConfig::snapshot_chunk_bytes);
  // small ones make every snapshot a multi-chunk transfer.
  uint64_t snapshot_chunk_bytes = node::ServerConfig{}.snapshot_chunk_bytes;
  // Raft's byte bound per follower (ServerConfig::max_inflight_bytes).
  uint64_t max_inflight_bytes = node::ServerConfig{}.max_inflight_bytes;
  // --strict-reconfig-check.
  bool strict_reconfig_check = true;
};

// The server's deliberate defects a run turns on (node::failpoints::
// ServerBugs): they exist only in the failpoint build keel-sim links.
struct ServerBugs {
  bool ack_before_sync = false;
  bool lease_early_expiry = false;
  bool lock_skips_wait = false;
  // The leader labels a snapshot it sends with the configuration of its
  // last log compaction rather than the one as applied (node's
  // RaftNodeConfig::failpoint_snapshot_stale_conf): a member added since
  // then does not find itself in the snapshot and never catches up.
  bool snapshot_stale_conf = false;
  bool any() const { return ack_before_sync || lease_early_expiry || lock_skips_wait ||
                          snapshot_stale_conf; }
};

// A machine's place in the cluster, as the scenario knows it.
struct Seat {
  bool member = false;
  uint64_t id = 0;       // the member ID while a member (0: not known yet)
  bool learner = false;
  // The outcome of the last change to this seat was never learned.
  bool uncertain = false;
  // --initial-cluster for a member added at runtime ("" for the initial
  // ones, which bootstrap the cluster).
  std::string join_cluster;
};

// Snapshot transfers over a run, summed over every member's incarnations.
struct SnapshotTally {
  uint64_t sent = 0;            // accepted by the receiver
  uint64_t sent_in_chunks = 0;  // of those, the ones that took several chunks
  uint64_t chunks = 0;          // chunk frames of the ones sent
  uint64_t installed = 0;       // leader snapshots installed by followers
};

class ClusterMembers {
 public:
  // Adds `count` member machines and `spares` outside machines to `world`
  // (not started). Every member runs with `bugs` (deliberate defects; none
  // in a normal run).
  ClusterMembers(SimWorld& world, int count, MemberTuning tuning, ServerBugs bugs = {},
                 int spares = 0);
  ClusterMembers(const ClusterMembers&) = delete;
  ClusterMembers& operator=(const ClusterMembers&) = delete;

  // Machines, the spares included.
  size_t size() const { return machines_.size(); }
  size_t initial() const { return initial_; }
  const std::vector<SimMachine*>& machines() const { return machines_; }
  // "10.0.0.1:2379", ...: the initial members' client endpoints, in machine
  // order (the clients'; `all`: every machine's).
  std::vector<std::string> ClientEndpoints(bool all = false) const;
  std::string PeerUrl(size_t m) const;
  // The machine whose peer URL is in `urls`, if any.
  std::optional<size_t> MachineOf(const std::vector<std::string>& urls) const;
  // etcd's --initial-cluster for `members` ("m1=http://10.0.0.1:2380,...").
  std::string InitialClusterOf(const std::vector<node::Member>& members) const;

  const Seat& seat(size_t m) const { return seats_[m]; }
  void set_seat(size_t m, Seat seat) { seats_[m] = std::move(seat); }
  // Members by seat, and those of them that vote.
  size_t SeatedMembers() const;
  size_t SeatedVoters() const;
  // With a leader, settles each uncertain seat by the leader's member list
  // as applied (and starts a machine seated so that is not running).
  // Returns a description of each certain seat the list contradicts: a
  // change the cluster acknowledged and lost, or made without saying so.
  std::vector<std::string> Reconcile();

  // Starts every machine.
  void StartAll();
  // The live member of machine `m`, or null.
  node::Node* node(size_t m) const { return nodes_[m]; }
  // The index of a machine whose member believes it leads (the one with
  // the highest term if several do), or -1.
  int Leader() const;
  // Node starts that succeeded, and those that failed, so far.
  uint64_t starts() const { return starts_; }
  uint64_t failed_starts() const { return failed_starts_; }
  uint64_t fatal_stops() const { return fatal_stops_; }
  // Starts that rebuilt a damaged key space (node/self_repair.h).
  uint64_t repairs() const { return repairs_; }
  // Snapshot transfers so far: the members gone, plus the live ones.
  SnapshotTally snapshots() const;

  // True if there is a leader and every member in its member list (voters
  // and learners, the ones added or replaced at runtime included) is up and
  // unpaused, all follow the leader in its term, all have applied the same
  // index, hold the same member list, and their key spaces have the same
  // Hash at the same revision. Reads the Mvcc (cheap at the sizes a run
  // reaches).
  bool Converged() const;
  // The members in the leader's list that have not caught up with it (not
  // running, or behind), by machine name; empty without a leader.
  std::vector<std::string> Lagging() const;
  // One line per member: up/down, role, term, leader, applied index,
  // revision; for failure messages.
  std::string Describe() const;

 private:
  class OnExit;

  Task<void> Boot(Env& env, size_t m);
  static SnapshotTally TallyOf(node::Node& member);

  SimWorld& world_;
  const MemberTuning tuning_;
  const ServerBugs bugs_;
  // The leader's applied member list, or null without a leader.
  const std::map<uint64_t, node::Member>* LeaderMembers() const;

  std::string initial_cluster_;
  size_t initial_ = 0;
  std::vector<Seat> seats_;
  std::vector<SimMachine*> machines_;
  std::vector<node::Node*> nodes_;
  uint64_t starts_ = 0;
  uint64_t failed_starts_ = 0;
  uint64_t fatal_stops_ = 0;
  uint64_t repairs_ = 0;
  // Of the member incarnations that have exited (or are stopping: kept_).
  SnapshotTally exited_snapshots_;
  std::vector<bool> kept_;
};

}  // namespace keel::sim::cluster

#endif  // KEEL_SIM_SCENARIOS_CLUSTER_MEMBERS_H_
