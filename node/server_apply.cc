// The applier: committed entries, in index order, into the key space, the
// membership and raft's configuration; results to the proposers' waiters.
// Every entry reaches the Mvcc exactly once (applied or skipped), so the
// applied index written with it makes replay after a crash a no-op.
#include <algorithm>
#include <utility>

#include "node/errors.h"
#include "node/kv_convert.h"
#include "node/server.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

Task<void> Server::ApplyLoop() {
  LoopGuard guard(*this);
  while (!stopping_) {
    if (apply_queue_.empty()) {
      if (!apply_work_.is_set()) co_await apply_work_.Wait();
      apply_work_.Reset();
      continue;
    }
    ApplyWork work = std::move(apply_queue_.front());
    apply_queue_.pop_front();
    if (work.snapshot.has_value()) {
      const auto& metadata = work.snapshot->metadata();
      absl::Status installed = InstallSnapshot(metadata.index(), metadata.term());
      if (!installed.ok()) {
        Fail(installed);
        co_return;
      }
      conf_state_ = metadata.conf_state();
      conf_history_.clear();
      snapshot_conf_state_ = metadata.conf_state();
      snapshot_index_ = metadata.index();
      applied_index_ = std::max(applied_index_, mvcc_->applied().index);
      applied_changed_.WakeAll();
    }
    for (const raft::Entry& entry : work.entries) {
      absl::Status status = ApplyEntry(entry);
      if (!status.ok()) {
        Fail(status);
        co_return;
      }
      // Entries below a key space installed from a leader's snapshot were
      // skipped: the applied index stays the key space's.
      applied_index_ = std::max(applied_index_, entry.index());
      AckEarly();  // nothing unless SimBugs::ack_before_sync (server_sim_bugs.cc)
    }
    applied_changed_.WakeAll();
    absl::Status compacted = co_await MaybeCompactLog();
    if (!compacted.ok()) {
      Fail(compacted);
      co_return;
    }
    // Let the raft loop and the network run between batches.
    co_await Yield();
  }
}

absl::Status Server::ApplyEntry(const raft::Entry& entry) {
  switch (entry.type()) {
    case raftpb::EntryNormal:
      return ApplyNormal(entry);
    case raftpb::EntryConfChange:
      return ApplyConfChange(entry);
    case raftpb::EntryConfChangeV2: {
      // keel's member API proposes only single changes; a V2 change is
      // applied to raft so the configurations never diverge.
      raftpb::ConfChangeV2 change;
      if (!change.ParseFromString(entry.data())) {
        return absl::DataLossError(StrCat("conf change at index ", entry.index(),
                                          " does not parse"));
      }
      auto state = raw_->ApplyConfChange(change);
      if (state.ok()) {
        conf_state_ = *state;
        conf_history_[entry.index()] = conf_state_;
      }
      if (entry.index() <= mvcc_->applied().index) return absl::OkStatus();
      return mvcc_->SkipEntry({entry.index(), entry.term()});
    }
    default:
      return absl::DataLossError(StrCat("entry at index ", entry.index(),
                                        " has unknown type ", entry.type()));
  }
}

absl::Status Server::ApplyNormal(const raft::Entry& entry) {
  // Already in the key space: a replay after restart.
  if (entry.index() <= mvcc_->applied().index) return absl::OkStatus();
  const store::EntryId entry_id{entry.index(), entry.term()};
  // The empty entry a new leader appends. Once the leader applies its own,
  // everything earlier leaders committed is applied here, so the lessor
  // can take over expiries (etcd promotes at the same point), extending
  // every lease by an election timeout.
  if (entry.data().empty()) {
    if (is_leader() && entry.term() == term_) {
      lessor_->Promote(Milliseconds(config_.election_timeout_ms), term_);
    }
    return mvcc_->SkipEntry(entry_id);
  }
  internal::InternalRaftRequest request;
  if (!request.ParseFromString(entry.data())) {
    return absl::DataLossError(
        StrCat("committed entry at index ", entry.index(), " does not parse"));
  }
  ApplyResult result = ApplyRequest(entry_id, request);
  result.index = entry.index();
  // A store failure (not a request error) must stop the member: the entry
  // may not have been recorded.
  if (!result.status.ok() && (absl::IsInternal(result.status) ||
                              absl::IsDataLoss(result.status))) {
    return result.status;
  }
  waiters_.Deliver(request.header().id(), std::move(result));
  return absl::OkStatus();
}

ApplyResult Server::ApplyRequest(const store::EntryId& entry_id,
                                 internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  ApplyResult out;
  switch (request.request_case()) {
    case Request::kPut: {
      auto result = mvcc_->Put(entry_id, FromWire(request.put()));
      if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
      etcdserverpb::PutResponse response;
      ToWire(std::move(*result), &response);
      *response.mutable_header() = Header(response.header().revision());
      out.response = std::move(response);
      return out;
    }
    case Request::kDeleteRange: {
      auto result = mvcc_->DeleteRange(entry_id, FromWire(request.delete_range()));
      if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
      etcdserverpb::DeleteRangeResponse response;
      ToWire(std::move(*result), &response);
      *response.mutable_header() = Header(response.header().revision());
      out.response = std::move(response);
      return out;
    }
    case Request::kTxn: {
      auto result = mvcc_->Txn(entry_id, FromWire(request.txn()));
      if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
      etcdserverpb::TxnResponse response;
      ToWire(std::move(*result), &response);
      *response.mutable_header() = Header(response.header().revision());
      out.response = std::move(response);
      return out;
    }
    case Request::kCompaction: {
      auto result = mvcc_->Compact(entry_id, request.compaction().revision());
      if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
      compact_work_.Set();
      etcdserverpb::CompactionResponse response;
      *response.mutable_header() = Header();
      out.response = std::move(response);
      return out;
    }
    case Request::kLeaseGrant:
    case Request::kLeaseRevoke:
    case Request::kLeaseCheckpoint:
    case Request::kLeaseExpire:
      return ApplyLeaseRequest(entry_id, request);
    case Request::kMemberAttributes: {
      const auto& attributes = request.member_attributes();
      absl::Status status = members_->SetAttributes(
          attributes.member_id(), attributes.name(),
          {attributes.client_urls().begin(), attributes.client_urls().end()});
      if (!status.ok() && !absl::IsNotFound(status)) return ApplyResult{status};
      absl::Status skipped = mvcc_->SkipEntry(entry_id);
      if (!skipped.ok()) return ApplyResult{skipped};
      return ApplyResult{status};
    }
    default: {
      // A request this version cannot apply. Every member refuses it the
      // same way, so the key spaces stay equal.
      absl::Status skipped = mvcc_->SkipEntry(entry_id);
      if (!skipped.ok()) return ApplyResult{skipped};
      return ApplyResult{absl::UnimplementedError(
          StrCat("request type ", static_cast<int>(request.request_case()),
                 " is not supported by this member"))};
    }
  }
}

ApplyResult Server::ApplyLeaseRequest(const store::EntryId& entry_id,
                                      internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  ApplyResult out;
  switch (request.request_case()) {
    case Request::kLeaseGrant: {
      const auto& grant = request.lease_grant();
      absl::StatusOr<int64_t> ttl = lessor_->Grant(entry_id, grant.id(), grant.ttl());
      if (!ttl.ok()) return ApplyResult{ttl.status()};
      etcdserverpb::LeaseGrantResponse response;
      *response.mutable_header() = Header();
      response.set_id(grant.id());
      response.set_ttl(*ttl);
      out.response = std::move(response);
      return out;
    }
    case Request::kLeaseRevoke: {
      absl::StatusOr<int64_t> revision =
          lessor_->Revoke(entry_id, request.lease_revoke().id());
      if (!revision.ok()) return ApplyResult{revision.status()};
      etcdserverpb::LeaseRevokeResponse response;
      *response.mutable_header() = Header(*revision);
      out.response = std::move(response);
      return out;
    }
    case Request::kLeaseCheckpoint: {
      absl::Status status = lessor_->Checkpoint(entry_id, request.lease_checkpoint());
      if (!status.ok()) return ApplyResult{status};
      etcdserverpb::LeaseCheckpointResponse response;
      *response.mutable_header() = Header();
      out.response = std::move(response);
      return out;
    }
    case Request::kLeaseExpire: {
      const auto& ids = request.lease_expire().ids();
      absl::StatusOr<int> revoked =
          lessor_->Expire(entry_id, std::vector<int64_t>(ids.begin(), ids.end()));
      return ApplyResult{revoked.status()};
    }
    default:
      KEEL_ASSERT_MSG(false, "not a lease request");
      return ApplyResult{absl::InternalError("not a lease request")};
  }
}

absl::Status Server::ApplyConfChange(const raft::Entry& entry) {
  raft::ConfChange change;
  if (!change.ParseFromString(entry.data())) {
    return absl::DataLossError(
        StrCat("conf change at index ", entry.index(), " does not parse"));
  }
  auto state = raw_->ApplyConfChange(change);
  const bool replay = entry.index() <= mvcc_->applied().index;
  if (!state.ok()) {
    // Every member refuses the same change; it is a no-op.
    waiters_.Deliver(change.id(), ApplyResult{state.status()});
    if (replay) return absl::OkStatus();
    return mvcc_->SkipEntry({entry.index(), entry.term()});
  }
  conf_state_ = *state;
  conf_history_[entry.index()] = conf_state_;
  if (replay) return absl::OkStatus();
  absl::Status status = ApplyMemberChange(change);
  if (!status.ok()) return status;
  absl::Status skipped = mvcc_->SkipEntry({entry.index(), entry.term()});
  if (!skipped.ok()) return skipped;
  waiters_.Deliver(change.id(), ApplyResult{absl::OkStatus()});
  if (change.type() == raftpb::ConfChangeRemoveNode && change.node_id() == id_) {
    Fail(absl::FailedPreconditionError(
        "the member has been permanently removed from the cluster"));
  }
  return absl::OkStatus();
}

absl::Status Server::ApplyMemberChange(const raft::ConfChange& change) {
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode: {
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      Member member;
      if (const Member* existing = members_->Find(change.node_id())) {
        member = *existing;  // A learner's promotion keeps its attributes.
      } else {
        member.id = change.node_id();
        member.name = context.name();
        member.peer_urls.assign(context.peer_urls().begin(), context.peer_urls().end());
      }
      member.is_learner = change.type() == raftpb::ConfChangeAddLearnerNode;
      KEEL_RETURN_IF_ERROR(members_->Put(member));
      if (transport_ != nullptr && member.id != id_) UpdatePeer(member);
      return absl::OkStatus();
    }
    case raftpb::ConfChangeRemoveNode:
      KEEL_RETURN_IF_ERROR(members_->Remove(change.node_id()));
      if (transport_ != nullptr && change.node_id() != id_ &&
          transport_->HasPeer(change.node_id())) {
        absl::Status removed = transport_->RemovePeer(change.node_id());
        if (!removed.ok()) return removed;
      }
      return absl::OkStatus();
    case raftpb::ConfChangeUpdateNode: {
      internal::ConfChangeMember context;
      if (!context.ParseFromString(change.context())) {
        return absl::DataLossError("conf change context does not parse");
      }
      const Member* existing = members_->Find(change.node_id());
      if (existing == nullptr) return absl::OkStatus();
      Member member = *existing;
      member.peer_urls.assign(context.peer_urls().begin(), context.peer_urls().end());
      KEEL_RETURN_IF_ERROR(members_->Put(member));
      if (transport_ != nullptr && member.id != id_) UpdatePeer(member);
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

Task<absl::Status> Server::MaybeCompactLog() {
  if (applied_index_ - snapshot_index_ <= config_.snapshot_count) {
    co_return absl::OkStatus();
  }
  // Keep the catch-up entries behind so a follower that is a little behind
  // catches up from the log instead of needing a snapshot.
  const uint64_t keep = config_.snapshot_catchup_entries;
  // The log can only be compacted up to what it holds: after a leader's
  // snapshot the key space may be ahead of the log.
  absl::StatusOr<uint64_t> last_index = log_store_->storage().LastIndex();
  if (!last_index.ok()) co_return last_index.status();
  const uint64_t applied_in_log = std::min(applied_index_, *last_index);
  if (applied_in_log <= keep) co_return absl::OkStatus();
  const uint64_t index = applied_in_log - keep;
  if (index <= snapshot_index_) co_return absl::OkStatus();
  // The configuration at `index`: the last change at or before it.
  raft::ConfState conf_state = snapshot_conf_state_;
  for (auto it = conf_history_.begin(); it != conf_history_.end() && it->first <= index;
       it = conf_history_.erase(it)) {
    snapshot_conf_state_ = it->second;
    conf_state = it->second;
  }
  // The key space must be durable up to the compaction point before the raft
  // log that also holds those entries is released.
  absl::Status synced = mvcc_->SyncBarrier();
  if (!synced.ok()) co_return synced;
  absl::Status status = co_await log_store_->Compact(index, conf_state);
  if (!status.ok()) co_return status;
  env_.log().Info("compacted raft log", {{"compact-index", index},
                                         {"applied-index", applied_index_}});
  snapshot_index_ = index;
  co_return absl::OkStatus();
}

Task<void> Server::CompactLoop() {
  LoopGuard guard(*this);
  while (!stopping_) {
    if (!mvcc_->compaction_pending()) {
      compaction_done_.WakeAll();
      if (!compact_work_.is_set()) co_await compact_work_.Wait();
      compact_work_.Reset();
      continue;
    }
    auto more = mvcc_->CompactStep();
    if (!more.ok()) {
      Fail(more.status());
      co_return;
    }
    // One bounded batch at a time, so writes and heartbeats go on.
    co_await Yield();
  }
}

}  // namespace keel::node
