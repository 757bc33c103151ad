// RaftMember: one member of the `raft` scenario's cluster, the main() of a
// simulated machine. It runs the production raft pieces on the machine's
// simulated disk and network: a node::RaftNode (the Ready loop, ticks,
// ReadIndex, snapshots and log compaction) over a node::WalLogStore on a
// node::WalRaftStorage in "raft/wal", talking to its peers through the
// net::PeerTransport that RaftNode::Start starts. What the scenario adds is
// what a server adds: a state machine (RaftStateMachine), an apply loop, a
// client, and a supervisor's start-up.
//
// Run() opens the WAL (creating it on a fresh disk; a damaged one is
// refused: the member never starts on it), reads the state machine's
// durable state ("raft/state"), installs a leader's snapshot that the WAL
// holds and the state does not (the file under "raft/snap"), builds the
// RaftNode, and bootstraps it if it is an initial member whose log is empty
// (a member joining a running cluster starts with an empty log, knows no
// peer, and waits for the leader). Then it runs until the member stops:
//   - the apply loop: committed entries in order into the state machine
//     (skipping what it already holds after a restart or a snapshot whose
//     data runs ahead of its label), conf changes to raft and to the peers
//     it talks to, a leader's snapshots installed from their file; then
//     RaftNode::MaybeCompactLog, which writes the state durably first
//     (SyncAppliedState) and compacts the log behind it;
//   - a client that proposes entries (RaftNode::Propose) and counts those
//     it sees applied, and asks for linearizable read indexes
//     (RaftNode::ReadIndex), answered once applied that far.
// A write or sync error, a damaged snapshot, or this member's removal stops
// it (RaftNode fails its MemberLife); its process then exits and the
// supervisor restarts it from disk.
//
// The checker (RaftChecker) sees everything through the RaftNodeObserver
// hooks (role and term after each step, messages before they are sent, each
// Ready made durable) and through this member's apply, snapshot and start-up
// paths. The operator reaches a live member through the methods below, as
// an admin RPC handled on the member's loop would.
#ifndef KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_
#define KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "node/member_life.h"
#include "node/raft_node.h"
#include "raft/raw_node.h"
#include "runtime/env.h"
#include "runtime/random.h"
#include "runtime/task.h"
#include "sim/scenarios/raft_checker.h"
#include "sim/scenarios/raft_state_machine.h"

namespace keel::store {
class Wal;
}  // namespace keel::store

namespace keel::sim {

inline constexpr uint16_t kRaftPort = 7100;
inline constexpr uint64_t kRaftClusterId = 0x7a5c;
// Where a member keeps its WAL, its snapshot files and its state machine.
inline constexpr std::string_view kRaftWalDir = "raft/wal";
inline constexpr std::string_view kRaftSnapDir = "raft/snap";
inline constexpr std::string_view kRaftStateFile = "raft/state";

// Knobs shared by every member of a run (drawn from the seed).
struct RaftTuning {
  Duration tick_interval = Milliseconds(100);
  int election_ticks = 10;
  bool pre_vote = true;
  uint64_t max_size_per_msg = 64 << 10;
  size_t max_inflight_msgs = 256;
  // Payload bytes in flight per follower; 0 means no limit.
  uint64_t max_inflight_bytes = 0;
  raft::failpoints::Bugs bugs;  // deliberate bugs (raft/failpoints.h)
  // Client pacing: one proposal per interval drawn from [min, max], while
  // fewer than max_outstanding of this member's proposals are unapplied.
  Duration propose_interval_min = Milliseconds(5);
  Duration propose_interval_max = Milliseconds(40);
  size_t max_outstanding = 64;
  // Proposals made per wake-up (more than one for throughput runs).
  size_t proposals_per_wake = 1;
  // Proposals not applied within this long are given up on.
  Duration proposal_timeout = Seconds(5);
  // A client asks for a linearizable read index every this many wake-ups
  // (and answers it once its member has applied that far); 0: never.
  size_t read_every = 0;
  // A member compacts its log after applying this many entries since the
  // last compaction (RaftNodeConfig::snapshot_count); 0: never.
  uint64_t snapshot_every = 0;
  // Entries kept behind a compaction, for followers that are only slightly
  // behind (RaftNodeConfig::snapshot_catchup_entries).
  uint64_t snapshot_keep_entries = 0;
  // Snapshot data per chunk on the wire; 0: the transport's default.
  uint64_t snapshot_chunk_bytes = 0;
  // Simulation only: a member's state files hold the state of the entry
  // before the one they claim (--inject-bug stale-snapshot).
  bool stale_snapshot = false;
};

// What one machine is told at start, like etcd's command line.
struct RaftMemberFlags {
  uint64_t id = 0;
  // Where the member listens for peers ("10.0.0.2:7100").
  std::string address;
  // --initial-cluster-state new: bootstrap with initial_peers if the log is
  // empty. Otherwise the member joins an existing cluster and waits for
  // its leader.
  bool initial = false;
  std::vector<raft::Peer> initial_peers;
};

// Figures every member adds to.
struct RaftClusterStats {
  uint64_t proposed = 0;      // proposals raft took
  uint64_t acknowledged = 0;  // a client saw its proposal applied
  uint64_t recoveries = 0;    // WALs opened at start
  uint64_t torn_tails = 0;    // of those, with a torn tail cut off
  // Starts refused on a log that read as damaged while reads flipped bits.
  uint64_t refusals = 0;
  uint64_t disk_stops = 0;    // a write or sync failed: the member stopped
  uint64_t conf_changes_applied = 0;
  uint64_t removed_stops = 0;
  // Steps after which a leader held a follower back because its bytes in
  // flight reached max_inflight_bytes (not its message count).
  uint64_t byte_pauses = 0;
  uint64_t reads = 0;  // ReadIndex requests issued by clients
  uint64_t snapshots_taken = 0;      // durable states written before a compaction
  uint64_t snapshots_sent = 0;       // snapshot files written for a follower
  uint64_t snapshots_installed = 0;  // a leader's, by a follower
  uint64_t segments_released = 0;    // WAL segments a compaction let go
};

class RaftMember;

// What the members of one run share: the checker, the tuning, the figures
// and whether clients propose.
struct RaftCluster {
  RaftChecker checker;
  RaftTuning tuning;
  RaftClusterStats stats;
  bool clients_enabled = true;
  // Told when a member first finds itself leader of a term (the operator
  // uses it to cut some new leaders off before they commit anything).
  std::function<void(RaftMember& leader)> on_elected;
};

class RaftMember final : public node::RaftNodeHost, public node::RaftNodeObserver {
 public:
  RaftMember(Env& env, RaftCluster& cluster, std::string name, uint64_t incarnation,
             RaftMemberFlags flags);
  RaftMember(const RaftMember&) = delete;
  RaftMember& operator=(const RaftMember&) = delete;
  ~RaftMember() override;

  // The member's main(): returns when it stops (a disk error, a log it
  // refuses, its removal). Suspends.
  Task<void> Run();

  uint64_t id() const { return flags_.id; }
  const std::string& name() const { return name_; }
  // Null until the raft node runs.
  const node::RaftNode* node() const { return running_ ? raft_.get() : nullptr; }
  // The raft state machine; only while node() is not null.
  const raft::Raft& raft() const { return raft_->raw_node().raft(); }
  // The last index applied (RaftNode::applied_index()).
  uint64_t applied() const { return raft_->applied_index(); }
  bool removed() const { return removed_; }
  // Whether it refused to start on its disk (a damaged WAL or state).
  bool refused() const { return refused_; }
  // Why Run() returned, or empty.
  const std::string& stop_reason() const { return stop_reason_; }

  // Operator calls; only while node() is not null.
  void TransferLeader(uint64_t transferee) { raft_->TransferLeadership(transferee); }
  absl::Status ProposeConfChange(const raft::ConfChange& change) {
    return raft_->ProposeConfChange(change);
  }

  // node::RaftNodeHost
  bool ProposalWanted(uint64_t id) override { return outstanding_.contains(id); }
  void ProposalFailed(uint64_t id, absl::Status status) override { outstanding_.erase(id); }
  void ReadIndexAnswered(uint64_t read_id, uint64_t index) override;
  Task<absl::StatusOr<node::WrittenSnapshot>> WriteSnapshotFile(std::string path) override;
  absl::Status CheckSnapshotFile(const std::string& path) override;
  absl::Status SyncAppliedState() override;

  // node::RaftNodeObserver
  void OnStepped(const raft::Raft& raft) override;
  void OnProposed(uint64_t id, const std::string& data, const raft::Raft& raft) override;
  void OnSending(const std::vector<raft::Message>& messages) override;
  void OnPersisted(const raft::Ready& ready) override;

 private:
  // Opens the WAL, the state and the raft node (raft_member_start.cc).
  // DataLoss for damage (refused_ is then set); the disk's errors.
  // Suspends.
  Task<absl::Status> Open();
  Task<absl::StatusOr<std::unique_ptr<node::LogStore>>> OpenLog();
  absl::Status LoadState(const raftpb::SnapshotMetadata& log_snapshot);
  void ConnectPeers();

  Task<void> ApplyLoop();
  Task<void> Client();
  void Apply(const raftpb::Entry& entry);
  void ApplyConfChange(const raftpb::Entry& entry, bool held);
  absl::Status InstallSnapshot(const raftpb::SnapshotMetadata& metadata);
  // Writes the state (as the stale-snapshot bug may have it) to `path` and
  // tells the checker what the file holds. Returns the bytes written.
  absl::StatusOr<size_t> WriteState(const std::string& path);
  // Answers the clients' read indexes that the applied index has reached.
  void ServeReads();
  // "r/<name>/<incarnation>/<read id>": unique in the run.
  std::string ReadContext(uint64_t read_id) const;

  Env& env_;
  RaftCluster& cluster_;
  const std::string name_;
  const uint64_t incarnation_;
  const RaftMemberFlags flags_;
  Random random_;
  // Declared before the raft node, which refers to it.
  node::MemberLife life_;
  std::unique_ptr<node::RaftNode> raft_;
  store::Wal* wal_ = nullptr;  // inside raft_'s log
  bool running_ = false;
  RaftStateMachine state_;
  bool removed_ = false;
  bool refused_ = false;
  uint64_t led_term_ = 0;  // the last term this member was seen leading
  std::string stop_reason_;
  // The client's proposals not yet applied: id -> when proposed.
  std::map<uint64_t, TimePoint> outstanding_;
  uint64_t next_proposal_ = 0;
  // Client wake-ups, and ReadIndex requests issued, in this incarnation.
  uint64_t wakes_ = 0;
  uint64_t next_read_ = 0;
  // Read indexes raft answered (read id -> index), served once applied.
  std::map<uint64_t, uint64_t> waiting_reads_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_
