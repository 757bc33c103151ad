// ApplyLoop: installing snapshots and applying entries.
#include "node/apply_loop.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "node/errors.h"
#include "node/self_repair.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

ApplyLoop::ApplyLoop(ApplyParts parts)
    : parts_(parts), last_index_(parts.raft.snapshot_index()) {}

void ApplyLoop::Start() { parts_.env.Spawn(Loop()); }

Task<void> ApplyLoop::Loop() {
  MemberLife::LoopGuard guard(parts_.life);
  while (!parts_.life.stopping()) {
    std::optional<ApplyWork> work = co_await parts_.raft.NextApplyWork();
    if (!work.has_value()) break;
    if (work->snapshot.has_value()) {
      // A defragmentation running off the loop holds the live database.
      co_await parts_.key_space.WaitOffLoopIdle();
      if (parts_.life.stopping()) break;
      absl::Status installed = InstallSnapshot(*work->snapshot);
      if (!installed.ok()) {
        parts_.life.Fail(installed);
        co_return;
      }
    }
    const TimePoint batch_started = parts_.env.clock().Now();
    for (const raft::Entry& entry : work->entries) {
      absl::Status status = ApplyEntry(entry);
      if (!status.ok()) {
        // A DataLoss here is the key space's (the entry itself passed the
        // WAL's checks): the member stops and repairs it (self_repair.h).
        parts_.life.Fail(KeySpaceDataLoss(std::move(status)));
        co_return;
      }
      // Entries below a key space installed from a leader's snapshot were
      // skipped: the applied index stays the key space's.
      parts_.applied.Advance(entry.index());
      parts_.raft.Applied(entry.index());
      if (observer_ != nullptr) observer_->OnApplied(entry);
      // Buggify: a batch applied across several loop turns, so reads,
      // proposals and the raft loop interleave with it.
      if (Buggify()) {
        parts_.applied.Publish();
        co_await Yield();
        if (parts_.life.stopping()) co_return;
      }
    }
    if (!work->entries.empty()) {
      metrics_.backend_commit_seconds.ObserveDuration(parts_.env.clock().Now() - batch_started);
      metrics_.apply_batch_entries.Observe(static_cast<double>(work->entries.size()));
    }
    parts_.applied.Publish();
    absl::Status compacted = co_await parts_.raft.MaybeCompactLog();
    if (!compacted.ok()) {
      parts_.life.Fail(compacted);
      co_return;
    }
    // Let the raft loop and the network run between batches.
    co_await Yield();
  }
  parts_.applied.Publish();
}

absl::Status ApplyLoop::InstallSnapshot(const raftpb::Snapshot& snapshot) {
  const raftpb::SnapshotMetadata& metadata = snapshot.metadata();
  KEEL_ASSERT(metadata.index() > last_index_);
  const std::string file = parts_.raft.SnapshotFilePath(metadata.term(), metadata.index());
  KEEL_RETURN_IF_ERROR(parts_.key_space.InstallSnapshot(
      file, metadata.index(),
      KeySpaceIdentity{.cluster_id = parts_.raft.cluster_id(), .member_id = parts_.raft.id()}));
  parts_.env.log().Info("installed database snapshot",
                        {{"snapshot-index", metadata.index()},
                         {"applied-index", parts_.key_space.mvcc().applied().index},
                         {"revision", parts_.key_space.mvcc().current_revision()}});
  parts_.raft.PurgeSnapshotFiles(metadata.index());
  parts_.raft.SnapshotInstalled(metadata);
  // The members may have changed with the key space.
  parts_.membership.SyncPeers();
  last_index_ = metadata.index();
  parts_.applied.Advance(parts_.key_space.mvcc().applied().index);
  parts_.applied.Publish();
  snapshots_installed_++;
  KEEL_ASSERT(parts_.applied.index() >= metadata.index());
  return absl::OkStatus();
}

bool ApplyLoop::Applied(const raft::Entry& entry) const {
  return entry.index() <= parts_.key_space.mvcc().applied().index;
}

absl::Status ApplyLoop::ApplyEntry(const raft::Entry& entry) {
  // Contiguous after the log's snapshot, committed, and durable here.
  KEEL_ASSERT(entry.index() == last_index_ + 1);
  KEEL_ASSERT(entry.index() <= parts_.raft.commit_index());
  KEEL_ASSERT(entry.index() <= parts_.raft.persisted_index());
  last_index_ = entry.index();
  switch (entry.type()) {
    case raftpb::EntryNormal:
      return ApplyNormal(entry);
    case raftpb::EntryConfChange:
      return ApplyConfChange(entry);
    case raftpb::EntryConfChangeV2:
      return ApplyConfChangeV2(entry);
    default:
      return absl::DataLossError(
          StrCat("entry at index ", entry.index(), " has unknown type ", entry.type()));
  }
}

namespace {

// "150.2ms", as zap prints a Go duration.
std::string FormatDuration(Duration d) {
  return absl::FormatDuration(absl::Nanoseconds(d.count()));
}

// The request's kind ("put", "txn", ...): its field in the oneof.
std::string_view RequestKindName(const internal::InternalRaftRequest& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetReflection()->GetOneofFieldDescriptor(
          request, request.GetDescriptor()->FindOneofByName("request"));
  return field == nullptr ? std::string_view("none") : std::string_view(field->name());
}

}  // namespace

absl::Status ApplyLoop::ApplyNormal(const raft::Entry& entry) {
  if (Applied(entry)) return absl::OkStatus();
  const store::EntryId entry_id{entry.index(), entry.term()};
  if (entry.data().empty()) {
    // The empty entry a new leader appends.
    parts_.leases.OnLeaderEntryApplied(entry.term());
    return parts_.key_space.mvcc().SkipEntry(entry_id);
  }
  internal::InternalRaftRequest request;
  if (!request.ParseFromString(entry.data())) {
    return absl::DataLossError(
        StrCat("committed entry at index ", entry.index(), " does not parse"));
  }
  const ApplyContext context{.entry = entry_id, .header = &request.header()};
  const TimePoint started = parts_.env.clock().Now();
  ApplyResult result = ApplyRequest(parts_.applier, context, request);
  result.index = entry.index();
  if (const Duration took = parts_.env.clock().Now() - started;
      took > parts_.warning_apply_duration) {
    metrics_.slow_apply.Inc();
    // etcd's warnOfExpensiveRequest words, which operators grep for.
    parts_.env.log().Warn("apply request took too long",
                          {{"took", FormatDuration(took)},
                           {"expected-duration", FormatDuration(parts_.warning_apply_duration)},
                           {"index", entry.index()},
                           {"request", RequestKindName(request)},
                           {"error", std::string(result.status.message())}});
  }
  // A store failure (not a request error) must stop the member: the entry
  // may not have been recorded. "corrupt cluster" shares DataLoss with store
  // failures (etcd's code for it) but is a refusal: the entry was consumed.
  if ((absl::IsInternal(result.status) || absl::IsDataLoss(result.status)) &&
      !IsError(result.status, EtcdError::kCorrupt)) {
    return result.status;
  }
  // Every request consumes its entry, whatever its outcome.
  KEEL_ASSERT(parts_.key_space.mvcc().applied().index == entry.index());
  if (IsError(result.status, EtcdError::kNoSpace)) parts_.no_space.Raise();
  parts_.proposer.Deliver(request.header().id(), std::move(result));
  return absl::OkStatus();
}

absl::Status ApplyLoop::ApplyConfChange(const raft::Entry& entry) {
  raft::ConfChange change;
  if (!change.ParseFromString(entry.data())) {
    return absl::DataLossError(
        StrCat("conf change at index ", entry.index(), " does not parse"));
  }
  const bool replay = Applied(entry);
  MemberStore& members = parts_.key_space.members();
  // The member list decides first, as etcd's applyConfChange does: a change
  // it refuses is withheld from raft on every member. The verdict is
  // recorded before the change is applied, so an entry seen again (a replay,
  // or the list's writes ahead of the applied index at a crash) gets the
  // same verdict without asking a list that may already hold its change.
  KEEL_ASSIGN_OR_RETURN(const std::optional<bool> recorded, members.RefusedAt(entry.index()));
  absl::Status verdict;
  if (recorded.has_value()) {
    if (*recorded) verdict = absl::FailedPreconditionError("refused when first applied");
  } else if (!replay) {
    verdict = parts_.membership.Validate(change);
    if (absl::IsDataLoss(verdict)) return verdict;
    KEEL_RETURN_IF_ERROR(members.RecordVerdict(entry.index(), !verdict.ok()));
  }
  if (!verdict.ok()) {
    if (replay) return absl::OkStatus();
    if (!recorded.has_value()) {
      parts_.env.log().Warn("refused a membership change",
                            {{"index", entry.index()},
                             {"type", raftpb::ConfChangeType_Name(change.type())},
                             {"member-id", FormatId(change.node_id())},
                             {"error", verdict.ToString()}});
    }
    KEEL_RETURN_IF_ERROR(parts_.key_space.mvcc().SkipEntry({entry.index(), entry.term()}));
    parts_.proposer.Deliver(change.id(), ApplyResult{verdict});
    return absl::OkStatus();
  }
  auto state = parts_.raft.ApplyConfChange(change, entry.index());
  if (!state.ok()) {
    // Every member refuses the same change; it is a no-op.
    parts_.proposer.Deliver(change.id(), ApplyResult{state.status()});
    if (replay) return absl::OkStatus();
    return parts_.key_space.mvcc().SkipEntry({entry.index(), entry.term()});
  }
  if (replay) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(parts_.membership.Apply(change));
  KEEL_RETURN_IF_ERROR(parts_.key_space.mvcc().SkipEntry({entry.index(), entry.term()}));
  parts_.proposer.Deliver(change.id(), ApplyResult{absl::OkStatus()});
  if (change.type() == raftpb::ConfChangeRemoveNode && change.node_id() == parts_.raft.id()) {
    parts_.life.Fail(MemberRemovedError());
  }
  return absl::OkStatus();
}

absl::Status ApplyLoop::ApplyConfChangeV2(const raft::Entry& entry) {
  // keel's member API proposes only single changes; a V2 change is applied
  // to raft so the configurations never diverge.
  raftpb::ConfChangeV2 change;
  if (!change.ParseFromString(entry.data())) {
    return absl::DataLossError(
        StrCat("conf change at index ", entry.index(), " does not parse"));
  }
  (void)parts_.raft.ApplyConfChange(change, entry.index());
  if (Applied(entry)) return absl::OkStatus();
  return parts_.key_space.mvcc().SkipEntry({entry.index(), entry.term()});
}

}  // namespace keel::node
