// RaftMember: one member of the `raft` scenario's cluster, the main() of a
// simulated machine: a RawNode over a RaftLogFile on the machine's disk and
// a RaftTransport on its network, driven the way etcd's server drives raft.
//
// Run() recovers the log (a corrupt log is refused: the member never
// starts on it), rebuilds MemoryStorage from it, bootstraps if it is an
// initial member whose log is empty (etcd's server does the same when it
// finds no WAL), and then runs:
//   - the Ready loop, in Ready's documented order: write the entries and
//     hard state, one Sync if must_sync; then send the messages; then apply
//     the committed entries (configuration changes through
//     ApplyConfChange, which also teaches the transport where members
//     listen); then Advance(). Any write or sync error ends Run(): the
//     member never carries on after a failed fsync, its process restarts
//     and recovers from disk. A Ready's snapshot (a leader's) is made
//     durable with the hard state before MemoryStorage and the state
//     machine take it, as etcd's server orders it. After applying, every
//     snapshot_every entries the member snapshots its state machine
//     (applied index, state hash, the peers it knows), makes that durable,
//     and compacts MemoryStorage, keeping a few trailing entries for
//     followers slightly behind; it also snapshots right after applying a
//     configuration change, so a member just added finds itself in the
//     snapshot it may be sent. A restart starts from the newest snapshot.
//   - a ticker (one raft tick per tick_interval);
//   - the transport's readers, which Step every message in;
//   - a client that proposes entries and counts those it sees applied.
// A member that applies its own removal stops, as etcd's does; messages
// from members known to be removed are dropped (etcd's transport rejects
// them).
//
// The scenario's operator reaches a live member through the methods below,
// as an admin RPC handled on the member's loop would: they call into the
// RawNode and wake the Ready loop, and never suspend.
#ifndef KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_
#define KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "raft/config.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "runtime/env.h"
#include "runtime/log.h"
#include "runtime/random.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "sim/scenarios/raft_checker.h"
#include "sim/scenarios/raft_log_file.h"
#include "sim/scenarios/raft_transport.h"

namespace keel::sim {

inline constexpr uint16_t kRaftPort = 7100;

// Knobs shared by every member of a run (drawn from the seed).
struct RaftTuning {
  Duration tick_interval = Milliseconds(100);
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
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
  // A member snapshots its state machine and compacts its log after
  // applying this many entries since its last snapshot; 0: never.
  uint64_t snapshot_every = 0;
  // Entries kept in MemoryStorage behind a snapshot, for followers that
  // are only slightly behind.
  uint64_t snapshot_keep_entries = 0;
  // Simulation only: a member's snapshot data holds the state of the index
  // before the one its metadata claims (--inject-bug stale-snapshot).
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
  uint64_t proposed = 0;
  uint64_t acknowledged = 0;  // a client saw its proposal applied
  uint64_t recoveries = 0;
  uint64_t torn_tails = 0;
  uint64_t disk_stops = 0;  // a write or sync failed: the member stopped
  uint64_t conf_changes_applied = 0;
  uint64_t removed_stops = 0;
  // Readies after which a leader held a follower back because its bytes in
  // flight reached max_inflight_bytes (not its message count).
  uint64_t byte_pauses = 0;
  uint64_t reads = 0;  // ReadIndex requests issued by clients
  uint64_t snapshots_taken = 0;      // by members of their own state
  uint64_t snapshots_sent = 0;       // MsgSnap handed to a connection
  uint64_t snapshots_installed = 0;  // a leader's, by a follower
  uint64_t log_shrinks = 0;          // log files rewritten to their state
};

// What the members of one run share: the checker, the tuning, the figures
// and whether clients propose.
class RaftMember;

struct RaftCluster {
  RaftChecker checker;
  RaftTuning tuning;
  RaftClusterStats stats;
  bool clients_enabled = true;
  // Told when a member first finds itself leader of a term (the operator
  // uses it to cut some new leaders off before they commit anything).
  std::function<void(RaftMember& leader)> on_elected;
};

class RaftMember {
 public:
  // Passes raft's log lines to the process's logger, leaving out the ones
  // a partition repeats for every message (stale terms, dropped
  // proposals), which would crowd everything else out of a failure's log
  // tail.
  class RaftLogSink : public LogSink {
   public:
    explicit RaftLogSink(Logger& out) : out_(out) {}
    void Write(const LogRecord& record) override;

   private:
    Logger& out_;
  };

  RaftMember(Env& env, RaftCluster& cluster, std::string name,
             uint64_t incarnation, RaftMemberFlags flags);
  RaftMember(const RaftMember&) = delete;
  RaftMember& operator=(const RaftMember&) = delete;
  ~RaftMember();

  // The member's main(): returns when it must stop (a disk error, a log it
  // refuses, its own removal). Suspends.
  Task<void> Run();

  uint64_t id() const { return flags_.id; }
  const std::string& name() const { return name_; }
  // Null until the log is recovered.
  const raft::RawNode* node() const { return node_.get(); }
  uint64_t applied() const { return applied_; }
  bool removed() const { return removed_; }
  // Whether it refused to start on its log (corrupt, or another member's).
  bool refused() const { return refused_; }
  // Why Run() returned, or empty.
  const std::string& stop_reason() const { return stop_reason_; }

  // Operator calls (no-ops before the node exists).
  void TransferLeader(uint64_t transferee);
  absl::Status ProposeConfChange(const raft::ConfChange& change);
  absl::Status Propose(std::string data);

 private:
  Task<absl::Status> Start();
  Task<void> ReadyLoop();
  // Step 1 of a Ready: writes its snapshot (a leader's), entries and hard
  // state, syncs if raft asks or a snapshot came (the state machine takes
  // a snapshot only once it is durable), then hands them to MemoryStorage.
  // A write or sync error is returned, saying which (the member stops).
  // Suspends.
  Task<absl::Status> Persist(const raft::Ready& rd);
  Task<void> Ticker();
  Task<void> Client();
  void Deliver(raftpb::Message message);
  void Apply(const raftpb::Entry& entry);
  // Answers the clients' read indexes that applied_ has reached.
  void ServeReads();
  void ApplyConfChange(const raftpb::Entry& entry);
  // The state machine as snapshot data, and back (false if it does not
  // decode).
  std::string EncodeState(uint64_t index, uint64_t hash) const;
  bool RestoreState(const raftpb::Snapshot& snapshot);
  // Makes a leader's snapshot the state machine (step 3 of a Ready, or at
  // start).
  void InstallSnapshot(const raftpb::Snapshot& snapshot);
  // Snapshots the state machine, makes it durable and compacts, if
  // snapshot_every entries were applied since the last one. A disk error
  // is returned (the member stops). Suspends.
  Task<absl::Status> MaybeSnapshot();
  // Checker hooks after anything that may change the role or term, and a
  // wake-up for the Ready loop.
  void Poke();

  Env& env_;
  RaftCluster& cluster_;
  const std::string name_;
  const uint64_t incarnation_;
  const RaftMemberFlags flags_;
  Random random_;
  RaftLogSink raft_sink_;
  Logger raft_logger_;
  raft::MemoryStorage storage_;
  std::unique_ptr<raft::Config> config_;
  std::unique_ptr<raft::RawNode> node_;
  std::unique_ptr<RaftLogFile> log_;
  std::unique_ptr<RaftTransport> transport_;
  Event ready_;  // set when the node may have a Ready
  bool member_id_written_ = false;
  uint64_t applied_ = 0;
  uint64_t state_hash_ = 0;
  // The state before the last entry applied (what --inject-bug
  // stale-snapshot puts in a snapshot).
  uint64_t previous_state_hash_ = 0;
  uint64_t snapshot_index_ = 0;  // of the newest snapshot held
  // Set by a configuration change: snapshot after this Ready.
  bool snapshot_due_ = false;
  // The configuration after the last applied entry, for snapshots.
  raft::ConfState conf_state_;
  // Where the members this one learned of listen (the initial peers and
  // those added), part of the state machine so a snapshot carries it.
  std::map<uint64_t, std::string> peer_addresses_;
  bool removed_ = false;
  bool refused_ = false;
  uint64_t led_term_ = 0;  // the last term this member was seen leading
  std::set<uint64_t> removed_ids_;
  std::string stop_reason_;
  // The client's proposals not yet applied: sequence -> when proposed.
  std::map<uint64_t, TimePoint> outstanding_;
  uint64_t next_proposal_ = 0;
  // Client wake-ups, and ReadIndex requests issued, in this incarnation.
  uint64_t wakes_ = 0;
  uint64_t next_read_ = 0;
  // Read indexes answered by raft, served once applied_ reaches them.
  std::vector<raft::ReadState> waiting_reads_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_MEMBER_H_
