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
// Pure bookkeeping over SimWorld: nothing here suspends except the boot
// coroutines the machines run.
#ifndef KEEL_SIM_SCENARIOS_CLUSTER_MEMBERS_H_
#define KEEL_SIM_SCENARIOS_CLUSTER_MEMBERS_H_

#include <cstdint>
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
};

// The server's deliberate defects a run turns on (node::failpoints::
// ServerBugs): they exist only in the failpoint build keel-sim links.
struct ServerBugs {
  bool ack_before_sync = false;
  bool lease_early_expiry = false;
  bool any() const { return ack_before_sync || lease_early_expiry; }
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
  // Adds `count` member machines to `world` (not started). Every member
  // runs with `bugs` (deliberate defects; none in a normal run).
  ClusterMembers(SimWorld& world, int count, MemberTuning tuning, ServerBugs bugs = {});
  ClusterMembers(const ClusterMembers&) = delete;
  ClusterMembers& operator=(const ClusterMembers&) = delete;

  size_t size() const { return machines_.size(); }
  const std::vector<SimMachine*>& machines() const { return machines_; }
  // "10.0.0.1:2379", ...: the client endpoints, in machine order.
  std::vector<std::string> ClientEndpoints() const;

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

  // True if every member is up and unpaused, all follow one leader in one
  // term, all have applied the same index, and their key spaces have the
  // same Hash at the same revision. Reads the Mvcc (cheap at the sizes a
  // run reaches).
  bool Converged() const;
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
  std::string initial_cluster_;
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
