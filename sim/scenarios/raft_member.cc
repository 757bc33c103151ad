// RaftMember: running and stopping, the apply loop, the client, and what
// the raft node asks of the member (RaftNodeHost) and tells the checker
// (RaftNodeObserver). Start-up is in raft_member_start.cc.
#include "sim/scenarios/raft_member.h"

#include <algorithm>
#include <utility>

#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/wal.h"

namespace keel::sim {
namespace {

Duration Between(Random& random, Duration min, Duration max) {
  if (max <= min) return min;
  return min + Duration(static_cast<int64_t>(
                   random.Uniform(static_cast<uint64_t>((max - min).count()) + 1)));
}

}  // namespace

RaftMember::RaftMember(Env& env, RaftCluster& cluster, std::string name,
                       uint64_t incarnation, RaftMemberFlags flags)
    : env_(env),
      cluster_(cluster),
      name_(std::move(name)),
      incarnation_(incarnation),
      flags_(std::move(flags)),
      random_(env.random().Next()) {
  KEEL_ASSERT(flags_.id != raft::kNone);
  KEEL_ASSERT(!flags_.address.empty());
}

RaftMember::~RaftMember() {
  if (raft_ != nullptr) cluster_.checker.Detach(flags_.id);
}

Task<void> RaftMember::Run() {
  const absl::Status opened = co_await Open();
  if (!opened.ok()) {
    stop_reason_ = opened.ToString();
    env_.log().Error("member cannot start", {{"error", stop_reason_}});
    co_return;
  }
  if (removed_) {
    stop_reason_ = "removed from the cluster";
    co_return;
  }
  raft_->set_observer(this);
  cluster_.checker.Attach(flags_.id, &raft_->raw_node());
  const absl::Status started = raft_->Start();
  if (!started.ok()) {
    stop_reason_ = started.ToString();
    env_.log().Error("member cannot start", {{"error", stop_reason_}});
    co_return;
  }
  running_ = true;
  ConnectPeers();
  env_.Spawn(ApplyLoop());
  env_.Spawn(Client());
  co_await life_.stopping_event().Wait();
  running_ = false;
  raft_->Interrupt();
  co_await life_.WaitLoopsExited();
  raft_->Shutdown();
  stop_reason_ = std::string(life_.fatal().message());
  removed_ = removed_ || node::IsMemberRemoved(life_.fatal());
  if (removed_) {
    cluster_.stats.removed_stops++;
  } else {
    cluster_.stats.disk_stops++;
    env_.log().Error("member stops", {{"reason", stop_reason_}});
  }
}

// ---- applying ----

Task<void> RaftMember::ApplyLoop() {
  node::MemberLife::LoopGuard guard(life_);
  while (!life_.stopping()) {
    std::optional<node::ApplyWork> work = co_await raft_->NextApplyWork();
    if (!work.has_value()) break;
    if (!work->entries.empty() && Buggify()) {
      co_await env_.clock().Sleep(Microseconds(random_.Uniform(50'000)));
      if (life_.stopping()) break;
    }
    if (work->snapshot.has_value()) {
      const absl::Status installed = InstallSnapshot(work->snapshot->metadata());
      if (!installed.ok()) {
        life_.Fail(absl::Status(installed.code(),
                                StrCat("snapshot install failed: ", installed.message())));
        co_return;
      }
    }
    for (const raftpb::Entry& entry : work->entries) {
      Apply(entry);
      if (removed_) {
        life_.Fail(absl::FailedPreconditionError("removed from the cluster"));
        co_return;
      }
    }
    ServeReads();
    const std::vector<std::string> segments = wal_->segment_names();
    const absl::Status compacted = co_await raft_->MaybeCompactLog();
    if (!compacted.ok()) {
      life_.Fail(absl::Status(compacted.code(),
                              StrCat("raft log compaction failed: ", compacted.message())));
      co_return;
    }
    const std::vector<std::string> kept = wal_->segment_names();
    for (const std::string& segment : segments) {
      if (!std::binary_search(kept.begin(), kept.end(), segment)) {
        cluster_.stats.segments_released++;
      }
    }
  }
}

void RaftMember::Apply(const raftpb::Entry& entry) {
  cluster_.checker.OnApplied(flags_.id, incarnation_, entry);
  // Held already: a restart replays the log from its snapshot, and a
  // leader's snapshot may hold more than its label says.
  const bool held = entry.index() <= state_.applied_index();
  if (!held) state_.Apply(entry);
  if (entry.type() == raftpb::EntryConfChange || entry.type() == raftpb::EntryConfChangeV2) {
    ApplyConfChange(entry, held);
  } else {
    KEEL_ASSERT(entry.type() == raftpb::EntryNormal);
  }
  raft_->Applied(entry.index());
  // A proposal of this incarnation's client: "p/<name>/<incarnation>/<seq>/".
  const std::string prefix = StrCat("p/", name_, "/", incarnation_, "/");
  const std::string_view data = entry.data();
  if (data.substr(0, prefix.size()) != prefix) return;
  const std::string_view rest = data.substr(prefix.size());
  uint64_t seq = 0;
  if (!ParseInt(rest.substr(0, rest.find('/')), &seq)) return;
  if (outstanding_.erase(seq) > 0) {
    cluster_.stats.acknowledged++;
    cluster_.checker.OnAcknowledged(entry.index());
  }
}

void RaftMember::ApplyConfChange(const raftpb::Entry& entry, bool held) {
  // The operator proposes single changes (ConfChange, carrying the new
  // member's address as etcd does); raft itself may append a V2 change to
  // leave a joint configuration. Raft's configuration takes every one,
  // held or not: it was rebuilt from the log's snapshot.
  raft::ConfChangeV2 change;
  absl::StatusOr<raft::ConfState> state;
  if (entry.type() == raftpb::EntryConfChange) {
    raft::ConfChange single;
    const bool parsed = single.ParseFromString(entry.data());
    KEEL_ASSERT_MSG(parsed, "a committed ConfChange decodes");
    state = raft_->ApplyConfChange(single, entry.index());
    raft::ConfChangeSingle* only = change.add_changes();
    only->set_type(single.type());
    only->set_node_id(single.node_id());
    change.set_context(single.context());
  } else {
    const bool parsed = change.ParseFromString(entry.data());
    KEEL_ASSERT_MSG(parsed, "a committed ConfChangeV2 decodes");
    state = raft_->ApplyConfChange(change, entry.index());
  }
  // A leader counts its commit under the new configuration at once.
  cluster_.checker.ObserveRole(flags_.id, raft());
  if (!state.ok()) {
    // Every member reaches the same verdict: the entry is a no-op.
    env_.log().Info("configuration change refused",
                    {{"index", entry.index()}, {"error", state.status().ToString()}});
    return;
  }
  if (held) return;
  cluster_.stats.conf_changes_applied++;
  for (const raft::ConfChangeSingle& single : change.changes()) {
    const uint64_t id = single.node_id();
    switch (single.type()) {
      case raftpb::ConfChangeAddNode:
      case raftpb::ConfChangeAddLearnerNode:
        state_.AddMember(id, change.context());
        if (id != flags_.id && !change.context().empty()) raft_->SetPeer(id, {change.context()});
        break;
      case raftpb::ConfChangeRemoveNode:
        state_.RemoveMember(id);
        if (id == flags_.id) {
          removed_ = true;
        } else {
          (void)raft_->RemovePeer(id);
        }
        break;
      default:
        break;
    }
  }
}

absl::Status RaftMember::InstallSnapshot(const raftpb::SnapshotMetadata& metadata) {
  const std::string file = raft_->SnapshotFilePath(metadata.term(), metadata.index());
  KEEL_ASSIGN_OR_RETURN(RaftStateMachine state, ReadStateFile(env_.fs(), file));
  // A state machine ahead of the label (replaying its log after a restart)
  // keeps its own state, as a key space that holds the index does.
  const bool ahead = state_.applied_index() >= metadata.index();
  if (ahead) state = state_;
  cluster_.checker.OnSnapshotInstalled(flags_.id, incarnation_, metadata, state.applied_index(),
                                       state.hash());
  if (state.applied_index() < metadata.index()) {
    return absl::DataLossError(StrCat("the snapshot labelled index ", metadata.index(),
                                      " holds the state of index ", state.applied_index()));
  }
  state_ = std::move(state);
  if (!ahead) {
    KEEL_RETURN_IF_ERROR(
        WriteStateFile(env_.fs(), std::string(kRaftStateFile), state_.Encode(false)));
  }
  raft_->SnapshotInstalled(metadata);
  raft_->PurgeSnapshotFiles(metadata.index());
  ConnectPeers();
  removed_ = state_.removed().contains(flags_.id);
  cluster_.stats.snapshots_installed++;
  return absl::OkStatus();
}

absl::StatusOr<size_t> RaftMember::WriteState(const std::string& path) {
  const std::string data = state_.Encode(cluster_.tuning.stale_snapshot);
  KEEL_RETURN_IF_ERROR(WriteStateFile(env_.fs(), path, data));
  // What the file claims, which the stale-snapshot bug makes a lie.
  absl::StatusOr<RaftStateMachine> written = RaftStateMachine::Decode(data);
  KEEL_ASSERT(written.ok());
  raftpb::SnapshotMetadata label;
  label.set_index(written->applied_index());
  label.set_term(written->applied_term());
  cluster_.checker.OnSnapshotTaken(flags_.id, label, written->applied_index(), written->hash());
  return data.size();
}

// ---- the client ----

Task<void> RaftMember::Client() {
  node::MemberLife::LoopGuard guard(life_);
  const RaftTuning& tuning = cluster_.tuning;
  while (true) {
    co_await env_.clock().Sleep(
        Between(random_, tuning.propose_interval_min, tuning.propose_interval_max));
    if (life_.stopping()) co_return;
    if (!cluster_.clients_enabled) continue;
    const TimePoint now = env_.clock().Now();
    std::erase_if(outstanding_, [&](const auto& proposal) {
      return now - proposal.second > tuning.proposal_timeout;
    });
    for (size_t i = 0; i < tuning.proposals_per_wake; i++) {
      if (outstanding_.size() >= tuning.max_outstanding) break;
      const uint64_t seq = ++next_proposal_;
      std::string data = StrCat("p/", name_, "/", incarnation_, "/", seq, "/");
      const size_t filler = random_.Uniform(Buggify() ? 8192 : 128);
      for (size_t j = 0; j < filler; j++) data.push_back(static_cast<char>('a' + j % 26));
      if (!raft_->Propose(seq, std::move(data), now + tuning.proposal_timeout).ok()) break;
      outstanding_[seq] = now;
    }
    if (tuning.read_every != 0 && ++wakes_ % tuning.read_every == 0) {
      const uint64_t read_id = ++next_read_;
      cluster_.checker.OnReadIssued(ReadContext(read_id));
      raft_->ReadIndex(read_id);
      cluster_.stats.reads++;
    }
  }
}

std::string RaftMember::ReadContext(uint64_t read_id) const {
  return StrCat("r/", name_, "/", incarnation_, "/", read_id);
}

void RaftMember::ReadIndexAnswered(uint64_t read_id, uint64_t index) {
  waiting_reads_[read_id] = index;
  ServeReads();
}

void RaftMember::ServeReads() {
  std::erase_if(waiting_reads_, [this](const auto& read) {
    if (read.second > raft_->applied_index()) return false;
    cluster_.checker.OnReadAnswered(flags_.id, ReadContext(read.first), read.second);
    return true;
  });
}

// ---- node::RaftNodeHost ----

Task<absl::StatusOr<node::WrittenSnapshot>> RaftMember::WriteSnapshotFile(std::string path) {
  // Now and then the state runs ahead of the label the raft node took:
  // the follower then skips what the file holds beyond it.
  if (Buggify()) co_await env_.clock().Sleep(Microseconds(random_.Uniform(100'000)));
  if (life_.stopping()) co_return absl::UnavailableError("member is stopping");
  absl::StatusOr<size_t> written = WriteState(path);
  if (!written.ok()) co_return written.status();
  cluster_.stats.snapshots_sent++;
  co_return node::WrittenSnapshot{.size_bytes = *written,
                                  .applied_index = state_.applied_index(),
                                  .applied_term = state_.applied_term()};
}

absl::Status RaftMember::CheckSnapshotFile(const std::string& path) {
  return ReadStateFile(env_.fs(), path).status();
}

absl::Status RaftMember::SyncAppliedState() {
  KEEL_RETURN_IF_ERROR(WriteState(std::string(kRaftStateFile)).status());
  cluster_.stats.snapshots_taken++;
  return absl::OkStatus();
}

// ---- node::RaftNodeObserver ----

void RaftMember::OnStepped(const raft::Raft& raft) {
  cluster_.checker.ObserveRole(flags_.id, raft);
  if (raft.state() != raft::StateType::kLeader) return;
  if (raft.term() != led_term_) {
    led_term_ = raft.term();
    if (cluster_.on_elected) cluster_.on_elected(*this);
  }
  for (const auto& [id, pr] : raft.tracker().progress) {
    const raft::Inflights& window = pr.inflights;
    if (window.max_bytes() != 0 && window.bytes() >= window.max_bytes() &&
        window.Count() < window.max_count()) {
      cluster_.stats.byte_pauses++;
      break;
    }
  }
}

void RaftMember::OnProposed(uint64_t id, const std::string& data, const raft::Raft& raft) {
  cluster_.stats.proposed++;
}

void RaftMember::OnSending(const std::vector<raft::Message>& messages) {
  cluster_.checker.OnSending(flags_.id, messages);
}

void RaftMember::OnPersisted(const raft::Ready& ready) {
  if (ready.snapshot.has_value()) {
    cluster_.checker.OnSnapshotPersisted(flags_.id, ready.snapshot->metadata());
  }
  // As WalRaftStorage::Save syncs: a snapshot or entries always, a hard
  // state alone when raft asks.
  const bool synced = ready.snapshot.has_value() || !ready.entries.empty() || ready.must_sync;
  cluster_.checker.OnPersisted(flags_.id, ready.entries,
                               ready.hard_state.has_value() ? &*ready.hard_state : nullptr,
                               synced);
}

}  // namespace keel::sim
