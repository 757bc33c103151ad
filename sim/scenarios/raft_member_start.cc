// RaftMember's start-up: the WAL, the state machine's durable state (and a
// leader's snapshot the WAL holds but the state does not), the raft node.
#include <utility>

#include "node/snapshot_io.h"
#include "node/wal_log_store.h"
#include "node/wal_raft_storage.h"
#include "raft/describe.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/scenarios/raft_member.h"
#include "store/wal.h"

namespace keel::sim {
namespace {

// Small segments, so compactions release some (a seed writes far less than
// a production segment) and recovery reads several.
constexpr uint64_t kWalSegmentBytes = 16 << 10;
constexpr int kWalMaxSegments = 2;
// Wal::Open refuses a record that fails its checksum; a read may flip a bit
// the disk does not hold, so a refusal is tried again before it stands.
constexpr int kWalOpenAttempts = 8;

}  // namespace

Task<absl::StatusOr<std::unique_ptr<node::LogStore>>> RaftMember::OpenLog() {
  store::WalOptions options;
  options.dir = std::string(kRaftWalDir);
  options.segment_bytes = kWalSegmentBytes;
  options.max_segments = kWalMaxSegments;
  const store::WalIdentity identity{.member_id = flags_.id, .cluster_id = kRaftClusterId};
  absl::StatusOr<std::unique_ptr<node::WalRaftStorage>> wal =
      absl::NotFoundError("not opened");
  if (!store::Wal::Exists(env_.fs(), kRaftWalDir)) {
    wal = co_await node::WalRaftStorage::Create(env_, options, identity, raftpb::ConfState());
  } else {
    for (int attempt = 0; attempt < kWalOpenAttempts; attempt++) {
      wal = co_await node::WalRaftStorage::Open(env_, options, identity);
      if (!absl::IsDataLoss(wal.status())) break;
    }
  }
  if (!wal.ok()) co_return wal.status();
  cluster_.stats.recoveries++;
  if ((*wal)->recovery().torn_bytes > 0) cluster_.stats.torn_tails++;
  wal_ = &(*wal)->wal();
  co_return std::unique_ptr<node::LogStore>(
      std::make_unique<node::WalLogStore>(std::move(*wal), /*no_fsync=*/false));
}

absl::Status RaftMember::LoadState(const raftpb::SnapshotMetadata& log_snapshot) {
  absl::StatusOr<RaftStateMachine> state = ReadStateFile(env_.fs(), std::string(kRaftStateFile));
  if (state.ok()) {
    state_ = std::move(*state);
  } else if (!absl::IsNotFound(state.status())) {
    return state.status();
  }
  if (log_snapshot.index() > state_.applied_index()) {
    // A leader's snapshot the WAL recorded but the state did not take: the
    // member crashed between persisting it and installing it. Its file was
    // kept for exactly this.
    const std::string file =
        node::SnapshotFilePath(std::string(kRaftSnapDir), log_snapshot.term(), log_snapshot.index());
    absl::StatusOr<RaftStateMachine> snapshot = ReadStateFile(env_.fs(), file);
    if (!snapshot.ok()) {
      return absl::DataLossError(StrCat("the WAL holds a snapshot at index ", log_snapshot.index(),
                                        " but its file does not serve: ",
                                        snapshot.status().ToString()));
    }
    state_ = std::move(*snapshot);
    KEEL_RETURN_IF_ERROR(
        WriteStateFile(env_.fs(), std::string(kRaftStateFile), state_.Encode(false)));
  }
  if (state_.applied_index() > 0) {
    // The state machine starts from here, raft from the log's snapshot.
    cluster_.checker.OnSnapshotInstalled(flags_.id, incarnation_, log_snapshot,
                                         state_.applied_index(), state_.hash());
  }
  removed_ = state_.removed().contains(flags_.id);
  return absl::OkStatus();
}

Task<absl::Status> RaftMember::Open() {
  KEEL_CO_RETURN_IF_ERROR(CreateDirs(env_.fs(), kRaftSnapDir));
  absl::StatusOr<std::unique_ptr<node::LogStore>> log = co_await OpenLog();
  if (!log.ok()) {
    refused_ = absl::IsDataLoss(log.status());
    co_return log.status();
  }
  raft::Storage& storage = (*log)->storage();
  RecoveredLog recovered;
  KEEL_CO_ASSIGN_OR_RETURN(recovered.snapshot, storage.Snapshot());
  KEEL_CO_ASSIGN_OR_RETURN(const uint64_t first, storage.FirstIndex());
  KEEL_CO_ASSIGN_OR_RETURN(const uint64_t last, storage.LastIndex());
  if (last >= first) {
    KEEL_CO_ASSIGN_OR_RETURN(recovered.entries, storage.Entries(first, last + 1, UINT64_MAX));
  }
  KEEL_CO_ASSIGN_OR_RETURN(const raft::InitialState initial, storage.GetInitialState());
  recovered.hard_state = initial.hard_state;
  cluster_.checker.OnRecovered(flags_.id, recovered);
  env_.log().Info("raft log recovered",
                  {{"snapshot", recovered.snapshot.metadata().index()},
                   {"entries", recovered.entries.size()},
                   {"hard_state", raft::DescribeHardState(recovered.hard_state)}});

  const absl::Status loaded = LoadState(recovered.snapshot.metadata());
  if (!loaded.ok()) {
    refused_ = absl::IsDataLoss(loaded);
    co_return loaded;
  }
  const bool log_empty = last == 0 && initial.hard_state.term() == 0;
  if (log_empty && state_.applied_index() > 0) {
    refused_ = true;
    co_return absl::DataLossError(StrCat("applied state at index ", state_.applied_index(),
                                         " but an empty raft log"));
  }

  const RaftTuning& tuning = cluster_.tuning;
  node::RaftNodeConfig config;
  config.id = flags_.id;
  config.cluster_id = kRaftClusterId;
  config.heartbeat_interval_ms = tuning.tick_interval.count() / 1'000'000;
  config.election_timeout_ms = config.heartbeat_interval_ms * tuning.election_ticks;
  config.pre_vote = tuning.pre_vote;
  config.max_size_per_msg = tuning.max_size_per_msg;
  config.max_inflight_msgs = tuning.max_inflight_msgs;
  config.max_inflight_bytes = tuning.max_inflight_bytes;
  // Never compacting: a count no run reaches.
  config.snapshot_count = tuning.snapshot_every == 0 ? UINT64_MAX / 2 : tuning.snapshot_every;
  config.snapshot_catchup_entries = tuning.snapshot_keep_entries;
  config.listen_address = flags_.address;
  config.advertise_peer_urls = {flags_.address};
  config.snap_dir = std::string(kRaftSnapDir);
  config.snapshot_chunk_bytes = tuning.snapshot_chunk_bytes;
  config.raft_bugs = tuning.bugs;
  KEEL_CO_ASSIGN_OR_RETURN(raft_,
                           node::RaftNode::Create(env_, config, std::move(*log), *this, life_));
  if (flags_.initial && log_empty) {
    KEEL_CO_RETURN_IF_ERROR(raft_->Bootstrap(flags_.initial_peers));
    env_.log().Info("bootstrapped", {{"peers", flags_.initial_peers.size()}});
  }
  co_return absl::OkStatus();
}

void RaftMember::ConnectPeers() {
  // The initial members (a new cluster's, before their conf changes are
  // applied), then those the state machine knows, then the removed ones,
  // which are refused from the start. A member joining a running cluster
  // knows none: the leader finds it.
  if (flags_.initial) {
    for (const raft::Peer& peer : flags_.initial_peers) {
      if (peer.id != flags_.id && !state_.removed().contains(peer.id)) {
        raft_->SetPeer(peer.id, {peer.context});
      }
    }
  }
  for (const auto& [id, address] : state_.peers()) {
    if (id != flags_.id) raft_->SetPeer(id, {address});
  }
  for (uint64_t id : state_.removed()) {
    if (id != flags_.id) (void)raft_->RemovePeer(id);
  }
}

}  // namespace keel::sim
