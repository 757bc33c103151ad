// WalStorage: MemoryStorage in front, Wal behind; see wal_storage.h.
#include "store/wal_storage.h"

#include <utility>

#include "raft/errors.h"
#include "raft/types.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"

namespace keel::store {
namespace {

raftpb::Snapshot SnapshotOf(const raftpb::SnapshotMetadata& metadata) {
  raftpb::Snapshot snapshot;
  *snapshot.mutable_metadata() = metadata;
  return snapshot;
}

}  // namespace

WalStorage::WalStorage(std::unique_ptr<Wal> wal, const WalState& state)
    : wal_(std::move(wal)), memory_(state.snapshot.conf_state()) {
  if (state.snapshot.index() > 0) {
    const absl::Status applied = memory_.ApplySnapshot(SnapshotOf(state.snapshot));
    KEEL_ASSERT(applied.ok());
  }
  const absl::Status appended = memory_.Append(state.entries);
  KEEL_ASSERT(appended.ok());
  memory_.SetHardState(state.hard_state);
}

Task<absl::StatusOr<std::unique_ptr<WalStorage>>> WalStorage::Create(
    Env& env, WalOptions options, WalIdentity identity,
    raftpb::ConfState initial) {
  WalState state;
  *state.snapshot.mutable_conf_state() = initial;
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<Wal> wal,
      co_await Wal::Create(env, std::move(options), identity, std::move(initial)));
  co_return std::unique_ptr<WalStorage>(new WalStorage(std::move(wal), state));
}

Task<absl::StatusOr<std::unique_ptr<WalStorage>>> WalStorage::Open(
    Env& env, WalOptions options, WalIdentity expected) {
  WalState state;
  WalRecoveryReport report;
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<Wal> wal,
      co_await Wal::Open(env, std::move(options), expected, &state, &report));
  std::unique_ptr<WalStorage> storage(new WalStorage(std::move(wal), state));
  storage->recovery_ = std::move(report);
  co_return storage;
}

absl::StatusOr<raft::InitialState> WalStorage::GetInitialState() {
  return memory_.GetInitialState();
}

absl::StatusOr<std::vector<raft::Entry>> WalStorage::Entries(uint64_t lo,
                                                             uint64_t hi,
                                                             uint64_t max_size) {
  return memory_.Entries(lo, hi, max_size);
}

absl::StatusOr<uint64_t> WalStorage::Term(uint64_t index) {
  return memory_.Term(index);
}

absl::StatusOr<uint64_t> WalStorage::LastIndex() { return memory_.LastIndex(); }

absl::StatusOr<uint64_t> WalStorage::FirstIndex() { return memory_.FirstIndex(); }

absl::StatusOr<raftpb::Snapshot> WalStorage::Snapshot() {
  return memory_.Snapshot();
}

Task<absl::Status> WalStorage::Save(raftpb::HardState hard_state,
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
    KEEL_CO_RETURN_IF_ERROR(co_await wal_->Sync());
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

Task<absl::Status> WalStorage::Compact(uint64_t index,
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
  KEEL_CO_RETURN_IF_ERROR(co_await wal_->Sync());
  KEEL_CO_RETURN_IF_ERROR(
      memory_.CreateSnapshot(index, &conf_state, std::string()).status());
  KEEL_CO_RETURN_IF_ERROR(memory_.Compact(index));
  co_return co_await wal_->ReleaseTo(index);
}

}  // namespace keel::store
