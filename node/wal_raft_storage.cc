// WalRaftStorage: MemoryStorage in front, store::Wal behind; see
// wal_raft_storage.h.
#include "node/wal_raft_storage.h"

#include <utility>

#include "raft/errors.h"
#include "raft/types.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

raftpb::Snapshot SnapshotOf(const raftpb::SnapshotMetadata& metadata) {
  raftpb::Snapshot snapshot;
  *snapshot.mutable_metadata() = metadata;
  return snapshot;
}

}  // namespace

WalRaftStorage::WalRaftStorage(Clock& clock, std::unique_ptr<store::Wal> wal,
                               const store::WalState& state)
    : clock_(clock), wal_(std::move(wal)), memory_(state.snapshot.conf_state()) {
  if (state.snapshot.index() > 0) {
    const absl::Status applied = memory_.ApplySnapshot(SnapshotOf(state.snapshot));
    KEEL_ASSERT(applied.ok());
  }
  const absl::Status appended = memory_.Append(state.entries);
  KEEL_ASSERT(appended.ok());
  memory_.SetHardState(state.hard_state);
}

Task<absl::StatusOr<std::unique_ptr<WalRaftStorage>>> WalRaftStorage::Create(
    Env& env, store::WalOptions options, store::WalIdentity identity,
    raftpb::ConfState initial) {
  store::WalState state;
  *state.snapshot.mutable_conf_state() = initial;
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<store::Wal> wal,
      co_await store::Wal::Create(env, std::move(options), identity, std::move(initial)));
  co_return std::unique_ptr<WalRaftStorage>(new WalRaftStorage(env.clock(), std::move(wal), state));
}

Task<absl::StatusOr<std::unique_ptr<WalRaftStorage>>> WalRaftStorage::Open(
    Env& env, store::WalOptions options, store::WalIdentity expected) {
  store::WalState state;
  store::WalRecoveryReport report;
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<store::Wal> wal,
      co_await store::Wal::Open(env, std::move(options), expected, &state, &report));
  std::unique_ptr<WalRaftStorage> storage(new WalRaftStorage(env.clock(), std::move(wal), state));
  storage->recovery_ = std::move(report);
  co_return storage;
}

absl::StatusOr<raft::InitialState> WalRaftStorage::GetInitialState() {
  return memory_.GetInitialState();
}

absl::StatusOr<std::vector<raft::Entry>> WalRaftStorage::Entries(
    uint64_t lo, uint64_t hi, uint64_t max_size) {
  return memory_.Entries(lo, hi, max_size);
}

absl::StatusOr<uint64_t> WalRaftStorage::Term(uint64_t index) {
  return memory_.Term(index);
}

absl::StatusOr<uint64_t> WalRaftStorage::LastIndex() { return memory_.LastIndex(); }

absl::StatusOr<uint64_t> WalRaftStorage::FirstIndex() { return memory_.FirstIndex(); }

absl::StatusOr<raftpb::Snapshot> WalRaftStorage::Snapshot() {
  return memory_.Snapshot();
}

Task<absl::Status> WalRaftStorage::Save(raftpb::HardState hard_state,
                                        std::vector<raftpb::Entry> entries,
                                        raftpb::Snapshot snapshot,
                                        bool must_sync) {
  const bool has_snapshot = !raft::IsEmptySnapshot(snapshot);
  const bool has_hard_state = !raft::IsEmptyHardState(hard_state);
  // Order matters for a torn tail: the snapshot comes first and the hard
  // state last, so a commit index never survives without its entries.
  if (has_snapshot) {
    KEEL_CO_RETURN_IF_ERROR(wal_->AppendSnapshot(snapshot.metadata()));
  }
  KEEL_CO_RETURN_IF_ERROR(wal_->AppendEntries(entries));
  if (has_hard_state) KEEL_CO_RETURN_IF_ERROR(wal_->AppendHardState(hard_state));
  if (has_snapshot || (!unsafe_no_fsync_ && (must_sync || !entries.empty()))) {
    KEEL_CO_RETURN_IF_ERROR(co_await TimedSync());
  } else {
    KEEL_CO_RETURN_IF_ERROR(wal_->Flush());
  }
  if (has_snapshot) {
    snapshot.clear_data();  // the store holds the data
    KEEL_CO_RETURN_IF_ERROR(memory_.ApplySnapshot(snapshot));
  }
  KEEL_CO_RETURN_IF_ERROR(memory_.Append(entries));
  if (has_hard_state) memory_.SetHardState(hard_state);
  KEEL_ASSERT(*memory_.LastIndex() == wal_->last_index());
  co_return absl::OkStatus();
}

Task<absl::Status> WalRaftStorage::Compact(uint64_t index,
                                           raftpb::ConfState conf_state) {
  const uint64_t snapshot_index = wal_->snapshot().index();
  if (index <= snapshot_index) co_return raft::MakeError(raft::Error::kSnapshotOutOfDate);
  KEEL_ASSERT_MSG(index <= *memory_.LastIndex(), "compaction beyond the last entry");
  KEEL_CO_ASSIGN_OR_RETURN(const uint64_t term, memory_.Term(index));
  raftpb::SnapshotMetadata marker;
  marker.set_index(index);
  marker.set_term(term);
  *marker.mutable_conf_state() = conf_state;
  KEEL_CO_RETURN_IF_ERROR(wal_->AppendCompaction(marker));
  KEEL_CO_RETURN_IF_ERROR(co_await TimedSync());
  KEEL_CO_RETURN_IF_ERROR(
      memory_.CreateSnapshot(index, &conf_state, std::string()).status());
  KEEL_CO_RETURN_IF_ERROR(memory_.Compact(index));
  co_return co_await wal_->ReleaseTo(index);
}

Task<absl::Status> WalRaftStorage::TimedSync() {
  const TimePoint start = clock_.Now();
  absl::Status synced = co_await wal_->Sync();
  fsync_seconds_.ObserveDuration(clock_.Now() - start);
  co_return synced;
}

}  // namespace keel::node
