// Server: one etcd member.
//
// It owns the raft RawNode, the durable raft log (LogStore), the Mvcc, the
// membership, the proposal waiters and the linearizable-read batches, and
// runs three coroutines in its process: the ticker, the raft loop
// (server_raft.cc) and the applier (server_apply.cc). The same class runs in
// production (tools/keel) and in keel-sim; everything outside comes from its
// Env. doc/node.md explains the loops and the durability rules.
//
// The public methods are what the services (KV, Maintenance, Cluster, ...)
// call. They suspend until the request is answered and return etcd's errors
// (node/errors.h).
#ifndef KEEL_NODE_SERVER_H_
#define KEEL_NODE_SERVER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/apply_result.h"
#include "node/lessor.h"
#include "node/log_store.h"
#include "node/member_store.h"
#include "net/peer_transport.h"
#include "net/task_group.h"
#include "node/server_config.h"
#include "node/waiters.h"
#include "node/watch_hub.h"
#include "proto/internal.pb.h"
#include "proto/rpc.pb.h"
#include "raft/raw_node.h"
#include "runtime/env.h"
#include "runtime/sync.h"
#include "store/leveldb_env.h"
#include "store/mvcc.h"

namespace keel::node {

// Opens the raft log for a member: `create` for a member with no log yet.
using LogStoreFactory = std::function<Task<absl::StatusOr<std::unique_ptr<LogStore>>>(
    Env& env, bool create, uint64_t member_id, uint64_t cluster_id)>;

// How a member's storage is opened: what differs between production, the
// simulator and unit tests.
struct StorageOptions {
  // LevelDB's background work: a thread in production, the loop (after
  // each call) in the simulator.
  store::LevelDbBackground leveldb_background = store::LevelDbBackground::kThread;
  // The memtable size. Small in the simulator (see store/leveldb_db.h).
  size_t leveldb_write_buffer_bytes = 16 << 20;
  // Unit tests: run LevelDB on this Env (memenv) instead of keel's
  // FileSystem. Not owned.
  leveldb::Env* leveldb_env_override = nullptr;
  // Unit tests: the raft log. Empty means the WAL in the data directory.
  LogStoreFactory open_log;
};

// Figures the Status RPC and tests read.
struct ServerStatus {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  int64_t revision = 0;
  bool is_learner = false;
};

class Server {
 public:
  // Opens the member's state (key space, membership, raft log) from its data
  // directory, or bootstraps a new member from the configuration.
  // InvalidArgument for a bad configuration; FailedPrecondition if the data
  // belongs to another cluster or member; DataLoss if it is damaged or
  // partial. Suspends (the WAL's recovery).
  static Task<absl::StatusOr<std::unique_ptr<Server>>> Open(
      Env& env, ServerConfig config, StorageOptions storage);
  // Without Stop(): a kill. LevelDB's teardown writes nothing more.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the peer transport (listening on the first --listen-peer-urls)
  // and spawns the ticker, the raft loop, the applier and the compactor in
  // env's process. Must run in a coroutine of that process. Errors from
  // listening (address in use, bad URL).
  absl::Status Start();
  // Refuses new requests, fails waiting ones with "server stopped", waits for
  // requests inside to leave and stops the loops. Suspends.
  Task<void> Stop();

  // A raft message from a peer (the transport's delivery callback).
  void ReceiveMessage(raft::Message message);
  // Delivery outcomes from the transport.
  void ReportUnreachable(uint64_t peer);
  void ReportSnapshot(uint64_t peer, bool ok);
  // The peer transport, once started (null before Start()).
  net::PeerTransport* transport() { return transport_.get(); }

  // ---- KV ----
  Task<absl::StatusOr<etcdserverpb::RangeResponse>> Range(
      etcdserverpb::RangeRequest request);
  Task<absl::StatusOr<etcdserverpb::PutResponse>> Put(
      etcdserverpb::PutRequest request);
  Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> DeleteRange(
      etcdserverpb::DeleteRangeRequest request);
  Task<absl::StatusOr<etcdserverpb::TxnResponse>> Txn(
      etcdserverpb::TxnRequest request);
  Task<absl::StatusOr<etcdserverpb::CompactionResponse>> Compact(
      etcdserverpb::CompactionRequest request);

  // Proposes `request` through raft and waits for it to be applied here.
  // Errors: kRequestTooLarge, kTooManyRequests, kStopped, a timeout as
  // ProposalTimeout names it, or the request's own error from the applier.
  Task<ApplyResult> Propose(internal::InternalRaftRequest request);

  // What a proposal made at `start` that timed out reports, as etcd tells
  // its causes apart (clients match the text):
  //  - DeadlineExceeded "context deadline exceeded" if this member has
  //    known no leader since `start`: the proposal never reached raft (etcd's
  //    raft takes no proposal without a leader);
  //  - kTimeoutDueToLeaderFail if a leader was elected after `start` and at
  //    most two election timeouts before it (the old leader likely took the
  //    proposal down with it);
  //  - kTimeoutDueToConnectionLost if the connection to the leader (on the
  //    leader: to a quorum) was not up the whole time since `start`;
  //  - else kTimeout.
  // The gRPC deadline of a write reports this too.
  absl::Status ProposalTimeout(TimePoint start) const;

  // Waits until this member has applied everything committed before the
  // call (ReadIndex). kTimeout if leadership cannot be confirmed in time.
  Task<absl::Status> LinearizableBarrier();

  // ---- Lease (server_lease.cc) ----
  // Grants through raft; an ID of 0 gets a fresh positive one. Errors:
  // kLeaseTTLTooLarge (before proposing), kLeaseExist, Propose's.
  Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> LeaseGrant(
      etcdserverpb::LeaseGrantRequest request);
  // Revokes through raft. kLeaseNotFound, Propose's errors.
  Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> LeaseRevoke(
      etcdserverpb::LeaseRevokeRequest request);
  // On the leader: renews lease `id` and returns its TTL. kNotLeader if
  // this member is not the leader (the caller forwards), kLeaseNotFound,
  // kTimeoutWaitAppliedIndex, kTimeout, kStopped. Suspends.
  Task<absl::StatusOr<int64_t>> LeaseRenew(int64_t id);
  // On the leader: the lease's remaining and granted TTL (and keys if
  // asked). kNotLeader, kLeaseNotFound and LeaseRenew's other errors.
  Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> LeaseTimeToLive(
      etcdserverpb::LeaseTimeToLiveRequest request);
  // Every lease, soonest expiry first (etcd's order), after a linearizable
  // barrier. The barrier's errors.
  Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> LeaseLeases();
  const Lessor& lessor() const { return *lessor_; }

  // ---- state ----
  etcdserverpb::ResponseHeader Header(int64_t revision = 0) const;
  ServerStatus GetStatus() const;
  uint64_t id() const { return id_; }
  uint64_t cluster_id() const { return cluster_id_; }
  uint64_t leader() const { return leader_; }
  bool is_leader() const { return leader_ == id_ && id_ != 0; }
  uint64_t term() const { return term_; }
  uint64_t applied_index() const { return applied_index_; }
  // How many leader snapshots this member installed since it started.
  int snapshots_installed() const { return snapshots_installed_; }
  // Raft's view (on the leader, each follower's progress and in-flight
  // window), for tests and the simulator. Only after Open succeeded.
  raft::Status RaftStatus() const { return raw_->Status(); }
  const ServerConfig& config() const { return config_; }
  const MemberStore& members() const { return *members_; }
  store::Mvcc& mvcc() { return *mvcc_; }
  WatchHub& watch_hub() { return *watch_hub_; }
  Env& env() { return env_; }
  Duration request_timeout() const;
  // Waits until the applied index reaches `index`.
  Task<void> WaitApplied(uint64_t index);
  // Signalled whenever the leader changes.
  WaitQueue& leader_changed() { return leader_changed_; }
  // Set once this member's name and client URLs are in the member list
  // (published through raft, or already there after a restart): etcd
  // serves clients only from then on, so MemberList never shows a running
  // member without its client URLs.
  Event& ready() { return ready_; }
  // Set once the server has stopped (or failed) for good.
  Event& stopped() { return stopped_; }
  // Why the server stopped on its own (a fatal storage error, removal).
  const absl::Status& fatal_error() const { return fatal_; }

 private:
  struct Proposal {
    uint64_t id;
    std::string data;
    TimePoint deadline;
  };
  struct ReadBatch {
    uint64_t id = 0;
    std::optional<uint64_t> index;
    absl::Status status;
    Event done;
    TimePoint sent_at{};
  };
  struct ApplyWork {
    std::optional<raftpb::Snapshot> snapshot;
    std::vector<raft::Entry> entries;
  };

  // Counts a loop in while it runs, so Stop() can wait for all of them.
  class LoopGuard {
   public:
    explicit LoopGuard(Server& server) : server_(server) { server_.loops_running_++; }
    ~LoopGuard() {
      server_.loops_running_--;
      server_.loop_exited_.WakeAll();
    }

   private:
    Server& server_;
  };

  Server(Env& env, ServerConfig config, StorageOptions storage);
  absl::Status OpenKeySpace();
  store::MvccOptions KeySpaceOptions(std::string path) const;
  absl::Status DecideIdentity(bool* bootstrap);
  // A restart: --name must be the name the data dir's member was recorded
  // with. FailedPrecondition naming both otherwise.
  absl::Status CheckStoredIdentity();
  Task<absl::Status> OpenLog(bool create);
  absl::Status StartRaft(bool bootstrap);
  absl::Status Bootstrap();

  // Publishes this member's name and client URLs through raft once, as
  // etcd does at start (MemberList shows them to clients).
  Task<void> PublishAttributes();

  // server_raft.cc
  Task<void> TickLoop();
  Task<void> RaftLoop();
  void FeedRaft();
  Task<absl::Status> HandleReady(raft::Ready ready);
  void HandleReadStates(const std::vector<raft::ReadState>& states);
  void IssueReads();
  void SendMessages(std::vector<raft::Message> messages);

  // server_snapshot.cc
  Task<void> SendRaftSnapshot(raft::Message message);
  absl::Status AcceptSnapshot(net::ReceivedSnapshot snapshot);
  absl::Status InstallSnapshot(uint64_t index, uint64_t term);
  absl::Status ReopenKeySpace();
  std::string SnapDir() const;
  std::string KeySpaceDir() const;
  std::string SnapshotFilePath(uint64_t term, uint64_t index) const;
  void RemoveOldSnapshotFiles(uint64_t below_index);

  // server_apply.cc
  Task<void> ApplyLoop();
  Task<void> CompactLoop();
  absl::Status ApplyEntry(const raft::Entry& entry);
  absl::Status ApplyNormal(const raft::Entry& entry);
  absl::Status ApplyConfChange(const raft::Entry& entry);
  ApplyResult ApplyRequest(const store::EntryId& entry_id,
                           internal::InternalRaftRequest& request);
  ApplyResult ApplyLeaseRequest(const store::EntryId& entry_id,
                                internal::InternalRaftRequest& request);
  absl::Status ApplyMemberChange(const raft::ConfChange& change);
  void UpdatePeer(const Member& member);
  Task<absl::Status> MaybeCompactLog();
  void Fail(absl::Status status);

  // server_lease.cc
  absl::Status InitLessor();
  Task<void> LeaseLoop();
  Task<void> RevokeExpiredLeases(std::vector<int64_t> ids);
  Task<void> CheckpointLeases(
      std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches);
  // True while this member is the leader and its lessor was promoted in
  // the current term.
  bool LessorPrimaryNow() const;
  // Waits (until `deadline`) for this member's lessor to be primary.
  // kNotLeader, kTimeout, kStopped.
  Task<absl::Status> WaitLessorPrimary(TimePoint deadline);
  // Waits until the lessor or the leader changes, the server stops, or
  // `deadline` passes.
  Task<void> WaitLeaseChange(TimePoint deadline);
  // A fresh lease ID in etcd's format (never 0 unless the counter wraps:
  // the caller retries).
  int64_t NextLeaseId();

  // server_sim_bugs.cc: SimBugs::ack_before_sync, a deliberate defect.
  // Notes a put, delete or txn this leader just appended to its log.
  void NoteEarlyAck(const Proposal& proposal);
  // Answers the noted proposal that follows the applied index, if any, with
  // a previewed result (before its entry is persisted or committed).
  void AckEarly();
  ApplyResult PreviewWrite(const internal::InternalRaftRequest& request);

  // server_kv.cc
  template <typename Response>
  Task<absl::StatusOr<Response>> ProposeFor(internal::InternalRaftRequest request);
  uint64_t NewRequestId();
  void FailReads(const absl::Status& status);

  Env& env_;
  const ServerConfig config_;
  const StorageOptions storage_options_;
  uint64_t id_ = 0;
  uint64_t cluster_id_ = 0;

  std::unique_ptr<store::LevelDbEnv> leveldb_env_;
  std::unique_ptr<store::Mvcc> mvcc_;
  std::unique_ptr<MemberStore> members_;
  // The members of --initial-cluster, when this start bootstrapped.
  std::vector<Member> bootstrap_members_;
  // Fed by the Mvcc with every apply's events.
  std::unique_ptr<WatchHub> watch_hub_;
  std::unique_ptr<LogStore> log_store_;
  std::unique_ptr<raft::RawNode> raw_;
  std::unique_ptr<Lessor> lessor_;
  std::unique_ptr<net::PeerTransport> transport_;
  // Snapshots being written and sent to followers (SendRaftSnapshot). They
  // read the key space, so they end (CancelAll) before it closes: a stop,
  // a kill (the destructor) or a fatal error must not leave one behind
  // holding a LevelDB iterator on a closed database.
  net::TaskGroup snapshot_sends_;
  raft::ConfState conf_state_;
  // The configuration as of each conf change applied since the last log
  // compaction, so the log can be compacted at an older index than the
  // applied one (keeping catch-up entries) with the right configuration.
  std::map<uint64_t, raft::ConfState> conf_history_;
  // The configuration at snapshot_index_.
  raft::ConfState snapshot_conf_state_;

  // Raft loop inputs, drained at each turn.
  std::deque<raft::Message> inbox_;
  std::deque<Proposal> proposals_;
  std::deque<Proposal> dropped_;  // retried each tick until their deadline
  int64_t pending_ticks_ = 0;
  Event work_;
  WaiterRegistry waiters_;
  // SimBugs::ack_before_sync: this leader's own writes it appended in
  // `term`, by log index, not yet answered.
  struct EarlyAck {
    uint64_t id = 0;
    uint64_t term = 0;
    internal::InternalRaftRequest request;
  };
  std::map<uint64_t, EarlyAck> early_acks_;

  // Linearizable reads: the batch still open for joiners, and those sent.
  std::shared_ptr<ReadBatch> open_read_;
  std::map<uint64_t, std::shared_ptr<ReadBatch>> reads_in_flight_;
  uint64_t next_read_id_ = 1;

  // Applier input and progress.
  std::deque<ApplyWork> apply_queue_;
  Event apply_work_;
  uint64_t applied_index_ = 0;
  uint64_t snapshot_index_ = 0;
  int snapshots_installed_ = 0;
  WaitQueue applied_changed_;
  // Physical compaction runs in bounded steps off the apply path.
  Event compact_work_;
  WaitQueue compaction_done_;

  // Raft state mirrored for readers.
  uint64_t leader_ = 0;
  // When this member last saw a leader elected (etcd's leadElectedTime).
  std::optional<TimePoint> leader_elected_at_;
  // Since when this member has known no leader (meaningful while leader_ is
  // 0; the epoch until a first leader).
  TimePoint leaderless_since_{};
  uint64_t term_ = 0;
  uint64_t commit_index_ = 0;
  WaitQueue leader_changed_;

  // Leases: set once when the server stops (wakes lease waits); the
  // leader's expiry and checkpoint proposals in flight.
  Event lease_stop_;
  bool revoking_leases_ = false;
  bool checkpointing_leases_ = false;
  // NextLeaseId's counter: 0 until the first grant.
  uint64_t lease_id_suffix_ = 0;

  Gate gate_;
  bool stopping_ = false;
  bool stopped_cleanly_ = false;
  Event ready_;
  Event stopped_;
  absl::Status fatal_;
  int loops_running_ = 0;
  WaitQueue loop_exited_;
};

// Proposals queued for raft and not yet handed to it; more are refused with
// "etcdserver: too many requests" (etcd's maxGapBetweenApplyAndCommitIndex
// plays the same role).
inline constexpr size_t kMaxPendingProposals = 5000;
// How often a linearizable read batch is re-requested if no answer came
// (leadership changed, the message was lost).
inline constexpr Duration kReadIndexRetry = Milliseconds(500);
// How often the leader looks for expired leases and due checkpoints
// (etcd's lessor runLoop).
inline constexpr Duration kLeaseLoopInterval = Milliseconds(500);
// Expired-lease revocations in flight at once (etcd's maxPendingRevokes).
inline constexpr size_t kMaxPendingLeaseRevokes = 16;
// How long a lease request waits for the applier to catch up with the
// commit index (etcd's applyTimeout).
inline constexpr Duration kLeaseApplyTimeout = Seconds(1);

}  // namespace keel::node

#endif  // KEEL_NODE_SERVER_H_
