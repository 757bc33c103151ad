// RawNode: Ready/Advance bookkeeping around Raft, and the public entry
// points that turn calls into messages.
#include "raft/raw_node.h"

#include <utility>

#include "raft/confchange.h"
#include "raft/errors.h"
#include "runtime/assert.h"

namespace keel::raft {

bool Ready::empty() const {
  return !soft_state.has_value() && !hard_state.has_value() &&
         read_states.empty() && entries.empty() && !snapshot.has_value() &&
         committed_entries.empty() && messages.empty();
}

absl::StatusOr<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  if (absl::Status status = config.Validate(); !status.ok()) return status;
  return std::unique_ptr<RawNode>(new RawNode(config));
}

RawNode::RawNode(const Config& config)
    : raft_(std::make_unique<Raft>(config)),
      previous_soft_state_(raft_->GetSoftState()),
      previous_hard_state_(raft_->GetHardState()) {}

absl::Status RawNode::Bootstrap(std::span<const Peer> peers) {
  if (peers.empty()) {
    return absl::InvalidArgumentError(
        "must provide at least one peer to Bootstrap");
  }
  if (raft_->log().LastIndex() != 0) {
    return absl::FailedPreconditionError("can't bootstrap a nonempty Storage");
  }
  KEEL_ASSERT(!handed_.has_value());
  // Report the bootstrap's hard state in the first Ready.
  previous_hard_state_ = HardState();
  raft_->BecomeFollower(1, kNone);
  std::vector<Entry> entries;
  entries.reserve(peers.size());
  for (const Peer& peer : peers) {
    ConfChange change;
    change.set_type(raftpb::ConfChangeAddNode);
    change.set_node_id(peer.id);
    change.set_context(peer.context);
    Entry& entry = entries.emplace_back();
    entry.set_type(raftpb::EntryConfChange);
    entry.set_term(1);
    entry.set_index(entries.size());
    entry.set_data(change.SerializeAsString());
  }
  raft_->mutable_log().Append(std::move(entries));
  // The entries are committed by construction: every member bootstraps
  // with the same ones. Applying them here gives raft its configuration
  // now; the application still sees them as committed entries.
  raft_->mutable_log().CommitTo(peers.size());
  for (const Peer& peer : peers) {
    ConfChange change;
    change.set_type(raftpb::ConfChangeAddNode);
    change.set_node_id(peer.id);
    absl::StatusOr<ConfState> state = raft_->ApplyConfChange(AsV2(change));
    if (!state.ok()) return state.status();
  }
  return absl::OkStatus();
}

void RawNode::Tick() { raft_->Tick(); }

absl::Status RawNode::Campaign() {
  Message m;
  m.set_type(raftpb::MsgHup);
  return raft_->Step(std::move(m));
}

absl::Status RawNode::Propose(std::string data) {
  Message m;
  m.set_type(raftpb::MsgProp);
  m.set_from(raft_->id());
  m.add_entries()->set_data(std::move(data));
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeConfChange(const ConfChange& change) {
  Message m;
  m.set_type(raftpb::MsgProp);
  Entry* entry = m.add_entries();
  entry->set_type(raftpb::EntryConfChange);
  entry->set_data(change.SerializeAsString());
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeConfChange(const ConfChangeV2& change) {
  Message m;
  m.set_type(raftpb::MsgProp);
  Entry* entry = m.add_entries();
  entry->set_type(raftpb::EntryConfChangeV2);
  entry->set_data(change.SerializeAsString());
  return raft_->Step(std::move(m));
}

absl::StatusOr<ConfState> RawNode::ApplyConfChange(const ConfChange& change) {
  return raft_->ApplyConfChange(AsV2(change));
}

absl::StatusOr<ConfState> RawNode::ApplyConfChange(const ConfChangeV2& change) {
  return raft_->ApplyConfChange(change);
}

absl::Status RawNode::Step(Message m) {
  // Local messages are raft's own business; a peer must not inject them.
  if (IsLocalMessage(m.type())) return MakeError(Error::kStepLocalMessage);
  if (IsResponseMessage(m.type()) &&
      !raft_->tracker().progress.contains(m.from())) {
    return MakeError(Error::kStepPeerNotFound);
  }
  return raft_->Step(std::move(m));
}

void RawNode::ReadIndex(std::string context) {
  KEEL_ASSERT_MSG(!context.empty(), "ReadIndex needs a non-empty context");
  Message m;
  m.set_type(raftpb::MsgReadIndex);
  m.add_entries()->set_data(std::move(context));
  (void)raft_->Step(std::move(m));
}

void RawNode::TransferLeader(uint64_t transferee) {
  Message m;
  m.set_type(raftpb::MsgTransferLeader);
  m.set_from(transferee);
  (void)raft_->Step(std::move(m));
}

void RawNode::ReportUnreachable(uint64_t id) {
  Message m;
  m.set_type(raftpb::MsgUnreachable);
  m.set_from(id);
  (void)raft_->Step(std::move(m));
}

void RawNode::ReportSnapshot(uint64_t id, bool ok) {
  Message m;
  m.set_type(raftpb::MsgSnapStatus);
  m.set_from(id);
  m.set_reject(!ok);
  (void)raft_->Step(std::move(m));
}

bool RawNode::HasReady() const {
  if (handed_.has_value()) return false;
  const Raft& r = *raft_;
  if (r.GetSoftState() != previous_soft_state_) return true;
  const HardState hard_state = r.GetHardState();
  if (!IsEmptyHardState(hard_state) &&
      !HardStatesEqual(hard_state, previous_hard_state_)) {
    return true;
  }
  const RaftLog& log = r.log();
  if (log.unstable().snapshot().has_value()) return true;
  if (!r.messages().empty() || !log.UnstableEntries().empty()) return true;
  if (log.HasNextEntries() || !r.read_states().empty()) return true;
  return false;
}

raft::Ready RawNode::Ready() {
  KEEL_ASSERT_MSG(!handed_.has_value(), "Ready() before Advance()");
  Raft& r = *raft_;
  const RaftLog& log = r.log();
  raft::Ready rd;
  rd.entries = log.UnstableEntries();
  rd.committed_entries = log.NextEntries();
  rd.messages = r.TakeMessages();
  rd.read_states = r.TakeReadStates();
  if (log.unstable().snapshot().has_value()) {
    rd.snapshot = *log.unstable().snapshot();
  }
  const SoftState soft_state = r.GetSoftState();
  if (soft_state != previous_soft_state_) {
    rd.soft_state = soft_state;
    previous_soft_state_ = soft_state;
  }
  const HardState hard_state = r.GetHardState();
  if (!HardStatesEqual(hard_state, previous_hard_state_)) {
    rd.hard_state = hard_state;
  }
  rd.must_sync = !rd.entries.empty() ||
                 hard_state.term() != previous_hard_state_.term() ||
                 hard_state.vote() != previous_hard_state_.vote();
  previous_hard_state_ = hard_state;

  Handed handed;
  if (!rd.committed_entries.empty()) {
    handed.applied_to = rd.committed_entries.back().index();
    handed.committed_bytes = PayloadSize(rd.committed_entries);
  } else if (rd.snapshot.has_value()) {
    handed.applied_to = rd.snapshot->metadata().index();
  }
  if (!rd.entries.empty()) {
    handed.stable_index = rd.entries.back().index();
    handed.stable_term = rd.entries.back().term();
  }
  if (rd.snapshot.has_value()) {
    handed.snapshot_index = rd.snapshot->metadata().index();
  }
  handed_ = handed;
  return rd;
}

void RawNode::Advance() {
  KEEL_ASSERT_MSG(handed_.has_value(), "Advance() without Ready()");
  const Handed handed = *handed_;
  handed_.reset();
  if (handed.applied_to > 0) raft_->AdvanceApplied(handed.applied_to);
  raft_->ReduceUncommittedSize(handed.committed_bytes);
  if (handed.stable_index > 0) {
    raft_->mutable_log().StableTo(handed.stable_index, handed.stable_term);
  }
  if (handed.snapshot_index > 0) {
    raft_->mutable_log().StableSnapshotTo(handed.snapshot_index);
  }
}

}  // namespace keel::raft
