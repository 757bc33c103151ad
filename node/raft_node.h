// RaftNode: raft as a running member drives it (etcd's raftNode).
//
// It owns the RawNode, the durable log (LogStore), the peer transport and
// the loops that connect them: the ticker, and the Ready loop, which for
// each Ready persists entries and hard state, sends messages (a leader its
// appends before its own fsync, as etcd does), hands raft's ReadIndex
// answers back, and queues committed entries and snapshots for the
// applier. It tracks the leader and term for readers, retries ReadIndex
// requests that went unanswered, streams snapshots to followers the log
// cannot catch up, and compacts the log behind the applier.
//
// It knows nothing of keys or leases. What it needs of the state machine it
// serves is the RaftNodeHost below: write its state to a snapshot file and
// check one received, make applied state durable before the log that holds
// it is released, and know whether a proposal's caller still waits. The
// keel member (node/server.h) implements it over the key space; keel-sim's
// raft scenario implements it over a small hash state machine.
//
// The applier tells it how far it got (Applied), so it knows the
// configuration as applied at that index: a snapshot sent to a follower is
// labelled with that index, its term and that configuration (etcd's
// createMergedSnapshotMessage), not with the log's compaction point, so a
// learner added since the last compaction finds itself in the snapshot; and
// the log is compacted only up to it.
//
// A member that joins a running cluster starts with an empty log and no
// Bootstrap: raft has no configuration until the leader's entries or
// snapshot bring one, and it never campaigns meanwhile. Its transport
// answers a leader it does not know yet through a remote (net/peer_transport.h).
//
// Single-threaded: every method runs on the member's loop. The loops run
// until the MemberLife stops; Shutdown() then ends what is left.
#ifndef KEEL_NODE_RAFT_NODE_H_
#define KEEL_NODE_RAFT_NODE_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/peer_transport.h"
#include "net/task_group.h"
#include "node/log_store.h"
#include "node/member_life.h"
#include "raft/raw_node.h"
#include "runtime/failpoints.h"
#include "runtime/env.h"
#include "runtime/sync.h"

namespace keel::node {

// What the Ready loop hands the applier: a leader's snapshot to install
// first (if any), then committed entries in index order.
struct ApplyWork {
  std::optional<raftpb::Snapshot> snapshot;
  std::vector<raft::Entry> entries;
};

// What RaftNodeHost::WriteSnapshotFile wrote.
struct WrittenSnapshot {
  uint64_t size_bytes = 0;
  // The last entry the state machine in the file holds: its applied index
  // and that entry's term.
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
};

// What a RaftNode needs of the member it serves. Called on the member's
// loop; none of these may destroy the RaftNode.
class RaftNodeHost {
 public:
  virtual ~RaftNodeHost() = default;

  // Whether the caller of proposal `id` (RaftNode::Propose) still waits for
  // it: a proposal whose caller gave up is withdrawn, not proposed.
  virtual bool ProposalWanted(uint64_t id) = 0;
  // Proposal `id` will not be proposed: raft refused it, or its deadline
  // passed while no leader would take it.
  virtual void ProposalFailed(uint64_t id, absl::Status status) = 0;
  // Raft answered ReadIndex request `read_id` with `index`.
  virtual void ReadIndexAnswered(uint64_t read_id, uint64_t index) = 0;

  // Writes the state machine as of now to a new file at `path`, for a
  // follower. It holds at least every entry reported through
  // RaftNode::Applied before the call (it may hold more: a state machine
  // ahead of the applier while a restart replays the log). Returns what it
  // wrote. Suspends.
  virtual Task<absl::StatusOr<WrittenSnapshot>> WriteSnapshotFile(std::string path) = 0;
  // Checks a snapshot file received from the leader before raft may
  // persist the snapshot (after that the member cannot start without it).
  virtual absl::Status CheckSnapshotFile(const std::string& path) = 0;
  // Makes everything applied so far durable: the log up to
  // RaftNode::applied_index() is about to be released.
  virtual absl::Status SyncAppliedState() = 0;
};

// Watches raft inside the Ready loop (keel-sim's raft checker). Null in
// production; every call is a no-op unless set.
class RaftNodeObserver {
 public:
  virtual ~RaftNodeObserver() = default;
  // Raft may have changed role or term (after ticks, steps and proposals).
  virtual void OnStepped(const raft::Raft& raft) {}
  // Raft took proposal `id` (RaftNode::Propose); on a leader it is the last
  // entry of its log now.
  virtual void OnProposed(uint64_t id, const std::string& data, const raft::Raft& raft) {}
  // Messages about to be handed to the transport.
  virtual void OnSending(const std::vector<raft::Message>& messages) {}
  // A Ready's snapshot, entries and hard state are durable (as must_sync
  // asked).
  virtual void OnPersisted(const raft::Ready& ready) {}
};

struct RaftNodeConfig {
  RaftNodeConfig() {}
  uint64_t id = 0;
  uint64_t cluster_id = 0;
  int64_t heartbeat_interval_ms = 100;
  int64_t election_timeout_ms = 1000;
  // etcd fast-forwards the election clock at boot, so a fresh cluster
  // elects a leader after one timeout instead of up to two.
  bool initial_election_tick_advance = true;
  bool pre_vote = true;
  uint64_t max_size_per_msg = 1024 * 1024;
  uint64_t max_inflight_msgs = 512;
  uint64_t max_inflight_bytes = 8u << 20;
  // Applied entries between log compactions (--snapshot-count), and the
  // entries kept behind one for slightly slow followers.
  uint64_t snapshot_count = 100000;
  uint64_t snapshot_catchup_entries = 5000;
  // Installed snapshot files kept in snap_dir (--max-snapshots; 0: all).
  uint64_t max_snapshots = 5;
  // The peer listener ("10.0.0.1:2380").
  std::string listen_address;
  // The network of the peer transport; null: env.net() (see
  // net::PeerTransportOptions::network).
  Network* peer_network = nullptr;
  // Where this member tells peers it listens (its advertised peer URLs),
  // so a member that does not know it yet can answer it.
  std::vector<std::string> advertise_peer_urls;
  // Plain HTTP served on the peer listener (the /members a joining member
  // asks); null for none. Must outlive the raft node.
  const net::HttpRouter* peer_http_router = nullptr;
  // Where snapshot files live ("<data-dir>/member/snap").
  std::string snap_dir;
  uint64_t snapshot_chunk_bytes = 0;  // 0: the transport's default
#if KEEL_FAILPOINTS
  // Deliberate protocol bugs handed to raft's Config as they are
  // (raft/failpoints.h): keel-sim's raft scenario sets them. The field
  // exists only in the failpoint build.
  raft::failpoints::Bugs raft_bugs;
  // failpoints::ServerBugs::snapshot_stale_conf.
  bool failpoint_snapshot_stale_conf = false;
#endif
};

class RaftNode {
 public:
  // Builds the RawNode on `log`'s state. `applied` is where the state
  // machine stands (raft hands out every entry after the log's snapshot
  // again; the applier skips what it holds). InvalidArgument for a bad
  // config; the log's errors.
  static absl::StatusOr<std::unique_ptr<RaftNode>> Create(
      Env& env, RaftNodeConfig config, std::unique_ptr<LogStore> log,
      RaftNodeHost& host, MemberLife& life);
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // A new member of a new cluster: starts the group with `peers` (raft's
  // Bootstrap). The log must be empty. A member joining a running cluster
  // does not call it: it waits, with no configuration, for the leader.
  absl::Status Bootstrap(std::span<const raft::Peer> peers);

  void set_observer(RaftNodeObserver* observer) { observer_ = observer; }

  // Starts the transport (listening on config.listen_address) and spawns
  // the ticker and the Ready loop in env's process. Peers are added with
  // SetPeer before or after. Errors from listening.
  absl::Status Start();
  // The member is stopping: wakes the loops so they leave.
  void Interrupt();
  // After the member stopped and every loop left: ends snapshot sends and
  // closes the transport. Idempotent.
  void Shutdown();

  // ---- inputs (never suspend; the Ready loop picks them up) ----

  // Queues a proposal with `id` (the host's, for ProposalWanted and
  // ProposalFailed) until `deadline`. Proposals raft drops for want of a
  // leader are retried at each tick until then. kTooManyRequests when
  // kMaxPendingProposals are queued.
  absl::Status Propose(uint64_t id, std::string data, TimePoint deadline);
  // A membership change, straight to raft. Raft's errors (a change pending,
  // no leader).
  absl::Status ProposeConfChange(const raft::ConfChange& change);
  // Asks raft to hand leadership to `transferee`.
  void TransferLeadership(uint64_t transferee);
  // Asks raft for a read index; answered through the host's
  // ReadIndexAnswered, re-asked every kReadIndexRetry until then. `read_id`
  // need be unique only among this RaftNode's reads.
  void ReadIndex(uint64_t read_id);
  // Whether ReadIndex(read_id) is still waiting to be handed to raft.
  bool ReadQueued(uint64_t read_id) const {
    return std::find(reads_to_issue_.begin(), reads_to_issue_.end(), read_id) !=
           reads_to_issue_.end();
  }
  // Stops re-asking every outstanding read (they were failed).
  void ForgetReads() {
    reads_to_issue_.clear();
    reads_in_flight_.clear();
  }
  // A raft message from a peer.
  void Receive(raft::Message message);

  // ---- peers ----

  // Adds or updates where member `id` listens (its peer URLs).
  void SetPeer(uint64_t id, const std::vector<std::string>& peer_urls);
  // Forgets member `id`, known to the transport or not; its messages are
  // refused from now on.
  absl::Status RemovePeer(uint64_t id);
  bool HasPeer(uint64_t id) const;
  // Whether the connection to `id` is up, and since when.
  net::PeerStatus PeerStatus(uint64_t id) const;
  // Null before Start() and after Shutdown().
  net::PeerTransport* transport() { return transport_.get(); }
  bool started() const { return transport_ != nullptr; }

  // ---- the applier's side ----

  // The next work to apply, suspending until there is some; nullopt once
  // the member is stopping.
  Task<std::optional<ApplyWork>> NextApplyWork();
  // Every committed entry up to `index` is in the state machine (applied,
  // or skipped because it held it already). The applier reports each entry
  // (or at least the last of each ApplyWork) in order.
  void Applied(uint64_t index);
  // Applies a committed conf change (at `index`, the entry after every one
  // reported applied) to raft's configuration and records it for log
  // compaction; the entry counts as applied. Raft's refusal (every member
  // refuses alike) leaves the configuration as it was.
  absl::StatusOr<raft::ConfState> ApplyConfChange(const raft::ConfChange& change,
                                                  uint64_t index);
  absl::StatusOr<raft::ConfState> ApplyConfChange(const raftpb::ConfChangeV2& change,
                                                  uint64_t index);
  // A leader's snapshot is installed in the state machine: it is applied up
  // to metadata.index() with metadata.conf_state().
  void SnapshotInstalled(const raftpb::SnapshotMetadata& metadata);
  // Compacts the log up to applied_index() less the catch-up entries, once
  // snapshot_count entries were applied since the last compaction: the
  // host syncs its state first. The log's errors (fatal). Suspends.
  Task<absl::Status> MaybeCompactLog();
  // "<snap_dir>/<term>-<index>.snap": where a received snapshot is kept
  // until the state machine holds it.
  std::string SnapshotFilePath(uint64_t term, uint64_t index) const;
  // Once the key space holds the snapshot at `installed_index`: removes
  // the installed snapshot files beyond the newest max_snapshots
  // (SnapshotFilesToPurge).
  void PurgeSnapshotFiles(uint64_t installed_index);

  // ---- state, mirrored from raft for readers ----

  uint64_t id() const { return config_.id; }
  uint64_t cluster_id() const { return config_.cluster_id; }
  uint64_t leader() const { return leader_; }
  bool is_leader() const { return leader_ == config_.id; }
  uint64_t term() const { return term_; }
  uint64_t commit_index() const { return commit_index_; }
  // The last entry the applier reported in the state machine (Applied,
  // ApplyConfChange, SnapshotInstalled); conf_state() is the configuration
  // as of it. Raft's own applied index runs ahead: it counts what was
  // handed to the applier.
  uint64_t applied_index() const { return applied_index_; }
  // The last index the log holds durably.
  uint64_t persisted_index() const { return persisted_index_; }
  // The index the log was last compacted at (its snapshot).
  uint64_t snapshot_index() const { return snapshot_index_; }
  // The configuration as applied (at applied_index()).
  const raft::ConfState& conf_state() const { return conf_state_; }
  // When this member last saw a leader elected (etcd's leadElectedTime).
  std::optional<TimePoint> leader_elected_at() const { return leader_elected_at_; }
  // Since when no leader is known (meaningful while leader() is 0).
  TimePoint leaderless_since() const { return leaderless_since_; }
  // Signalled whenever the leader changes.
  WaitQueue& leader_changed() { return leader_changed_; }
  raft::Status Status() const { return raw_->Status(); }
  const raft::RawNode& raw_node() const { return *raw_; }
  const RaftNodeConfig& config() const { return config_; }

  // For /metrics (node/metrics_endpoint.h).
  struct Metrics {
    // etcd's leaderChanges: a new leader (not "no leader") seen.
    metrics::Counter leader_changes_seen;
    // etcd's heartbeatSendFailures: a leader's heartbeat to a follower
    // went out more than two heartbeat intervals after the previous one
    // (etcd's timeout detector: an overloaded loop or a slow disk).
    metrics::Counter heartbeat_send_failures;
    // By follower: from a heartbeat to its answer, on the leader
    // (etcd_network_peer_round_trip_time_seconds; etcd times a probe of
    // its own instead). A follower answers after its Ready's WAL write, so
    // a slow disk there shows up here too.
    std::map<uint64_t, metrics::Histogram> peer_round_trip_seconds;
  };
  const Metrics& metrics() const { return metrics_; }
  // The log's fsync times; null for a log that keeps none.
  const metrics::Histogram* wal_fsync_seconds() const { return log_->fsync_seconds(); }

 private:
  struct Proposal {
    uint64_t id;
    std::string data;
    TimePoint deadline;
  };

  RaftNode(Env& env, RaftNodeConfig config, std::unique_ptr<LogStore> log,
           RaftNodeHost& host, MemberLife& life);

  // raft_node.cc
  Task<void> TickLoop();
  Task<void> ReadyLoop();
  void FeedRaft();
  void IssueReads();
  Task<absl::Status> HandleReady(raft::Ready ready);
  void HandleReadStates(const std::vector<raft::ReadState>& states);
  void NoteSoftState(const raft::SoftState& soft_state);
  void NoteConfState(const raft::ConfState& state, uint64_t index);
  void SendMessages(std::vector<raft::Message> messages);
  // The heartbeat timeout detector (Metrics::heartbeat_send_failures).
  void NoteHeartbeatSent(uint64_t to);
  void NoteHeartbeatAnswered(uint64_t from);
  void Wake() { work_.Set(); }
  // A ReadIndex request's context for the host's `read_id`, and back
  // (nullopt for a context that is not this run's).
  std::string ReadContext(uint64_t read_id) const;
  std::optional<uint64_t> ParseReadContext(std::string_view context) const;

  // raft_node_snapshot.cc
  Task<void> SendSnapshot(raft::Message message);
  absl::Status AcceptSnapshot(net::ReceivedSnapshot snapshot);

  Env& env_;
  const RaftNodeConfig config_;
  std::unique_ptr<LogStore> log_;
  RaftNodeHost& host_;
  MemberLife& life_;
  // Drawn at creation: ReadIndex contexts of this run are its own.
  const uint64_t read_nonce_;
  RaftNodeObserver* observer_ = nullptr;
  std::unique_ptr<raft::RawNode> raw_;
  std::unique_ptr<net::PeerTransport> transport_;
  // Snapshots being written and sent to followers. They read the state
  // machine, so they end (CancelAll) before it closes.
  net::TaskGroup snapshot_sends_;

  // Ready loop inputs, drained at each turn.
  Event work_;
  int64_t pending_ticks_ = 0;
  std::deque<raft::Message> inbox_;
  std::deque<Proposal> proposals_;
  std::deque<Proposal> dropped_;  // retried each tick until their deadline
  std::deque<uint64_t> reads_to_issue_;
  // ReadIndex requests sent and not answered: id -> when last sent.
  std::map<uint64_t, TimePoint> reads_in_flight_;

  // Applier queue.
  std::deque<ApplyWork> apply_queue_;
  Event apply_work_;

  // The configuration now, at the log's snapshot, and after each change
  // applied since, so the log can be compacted at an older index than the
  // applied one (keeping catch-up entries) with the right configuration.
  raft::ConfState conf_state_;
  raft::ConfState snapshot_conf_state_;
  std::map<uint64_t, raft::ConfState> conf_history_;
  uint64_t snapshot_index_ = 0;
  uint64_t persisted_index_ = 0;
  // Where the applier is (see applied_index()).
  uint64_t applied_index_ = 0;

  // Raft state mirrored for readers.
  uint64_t leader_ = 0;
  uint64_t term_ = 0;
  uint64_t commit_index_ = 0;
  std::optional<TimePoint> leader_elected_at_;
  TimePoint leaderless_since_{};
  WaitQueue leader_changed_;

  Metrics metrics_;
  // When the last heartbeat went to each follower (the timeout detector).
  std::map<uint64_t, TimePoint> last_heartbeat_sent_;
};

// Proposals queued for raft and not yet handed to it; more are refused with
// "etcdserver: too many requests" (etcd's maxGapBetweenApplyAndCommitIndex
// plays the same role).
inline constexpr size_t kMaxPendingProposals = 5000;
// How often an unanswered ReadIndex request is asked again (leadership
// changed, the message was lost).
inline constexpr Duration kReadIndexRetry = Milliseconds(500);

}  // namespace keel::node

#endif  // KEEL_NODE_RAFT_NODE_H_
