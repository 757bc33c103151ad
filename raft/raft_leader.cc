// Raft, leader side: proposals, log replication (batching, pipelining and
// flow control per follower), commitment, heartbeats, check quorum,
// snapshots to lagging followers, leadership transfer and ReadIndex.
#include <algorithm>
#include <utility>

#include "raft/errors.h"
#include "raft/raft.h"
#include "runtime/assert.h"

namespace keel::raft {

absl::Status Raft::StepLeader(Message m) {
  switch (m.type()) {
    case raftpb::MsgBeat:
      BcastHeartbeat();
      return absl::OkStatus();
    case raftpb::MsgCheckQuorum:
      CheckQuorum();
      return absl::OkStatus();
    case raftpb::MsgProp:
      return HandleProposal(std::move(m));
    case raftpb::MsgReadIndex:
      HandleReadIndex(std::move(m));
      return absl::OkStatus();
    default:
      break;
  }
  // Everything else is about one follower.
  auto it = trk_.progress.find(m.from());
  if (it == trk_.progress.end()) {
    Log(LogLevel::kDebug, id_, " no progress available for ", m.from());
    return absl::OkStatus();
  }
  Progress& pr = it->second;
  switch (m.type()) {
    case raftpb::MsgAppResp:
      HandleAppendResponse(m, pr);
      break;
    case raftpb::MsgHeartbeatResp:
      HandleHeartbeatResponse(m, pr);
      break;
    case raftpb::MsgSnapStatus:
      HandleSnapshotStatus(m, pr);
      break;
    case raftpb::MsgUnreachable:
      // The transport lost a message; stop streaming optimistically and
      // probe instead.
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      Log(LogLevel::kDebug, id_, " failed to send message to ", m.from(),
          " because it is unreachable [", pr.String(), "]");
      break;
    case raftpb::MsgTransferLeader:
      HandleTransferLeader(m, pr);
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void Raft::CheckQuorum() {
  // The leader always counts itself as active.
  if (auto self = trk_.progress.find(id_); self != trk_.progress.end()) {
    self->second.recent_active = true;
  }
  if (!trk_.QuorumActive()) {
    Log(LogLevel::kWarn, id_,
        " stepped down to follower since quorum is not active");
    BecomeFollower(term_, kNone);
  }
  // Start the next round: everyone must be heard from again.
  for (auto& [id, pr] : trk_.progress) {
    if (id != id_) pr.recent_active = false;
  }
}

absl::Status Raft::HandleProposal(Message m) {
  KEEL_ASSERT_MSG(m.entries_size() > 0, "stepped empty MsgProp");
  if (!trk_.progress.contains(id_)) {
    // This leader was removed from the configuration.
    return MakeError(Error::kProposalDropped);
  }
  if (lead_transferee_ != kNone) {
    Log(LogLevel::kDebug, id_, " [term ", term_,
        "] transfer leadership to ", lead_transferee_,
        " is in progress; dropping proposal");
    return MakeError(Error::kProposalDropped);
  }
  std::vector<Entry> entries;
  entries.reserve(m.entries_size());
  for (Entry& entry : *m.mutable_entries()) entries.push_back(std::move(entry));
  for (size_t i = 0; i < entries.size(); i++) {
    Entry& entry = entries[i];
    if (entry.type() == raftpb::EntryNormal) continue;
    ConfChangeV2 change;
    bool parsed;
    if (entry.type() == raftpb::EntryConfChange) {
      ConfChange v1;
      parsed = v1.ParseFromString(entry.data());
      if (parsed) change = AsV2(v1);
    } else {
      parsed = change.ParseFromString(entry.data());
    }
    // Only one configuration change may be in flight: the leader refuses a
    // new one until the previous one (and this term's first entry) is
    // applied, and joint configurations must be left before anything else.
    const bool already_pending = pending_conf_index_ > log_.applied();
    const bool already_joint = trk_.config.joint();
    const bool wants_leave_joint = change.changes_size() == 0;
    std::string refused;
    if (!parsed) {
      refused = "cannot decode the conf change";
    } else if (already_pending) {
      refused = StrCat("possible unapplied conf change at index ",
                       pending_conf_index_, " (applied to ", log_.applied(), ")");
    } else if (already_joint && !wants_leave_joint) {
      refused = "must transition out of joint config first";
    } else if (!already_joint && wants_leave_joint) {
      refused = "not in joint state; refusing empty conf change";
    }
    if (!refused.empty()) {
      Log(LogLevel::kInfo, id_, " ignoring conf change ",
          ConfChangesToString(change.changes()),
          " at config ", trk_.config.String(), ": ", refused);
      // Keep the slot (the caller's entry count stays right) but make it a
      // no-op.
      entry = Entry();
    } else {
      pending_conf_index_ = log_.LastIndex() + i + 1;
    }
  }
  if (!AppendEntry(std::move(entries))) {
    Log(LogLevel::kDebug, id_,
        " appending new entries to log would exceed uncommitted entry size "
        "limit; dropping proposal");
    return MakeError(Error::kProposalDropped);
  }
  BcastAppend();
  return absl::OkStatus();
}

bool Raft::AppendEntry(std::vector<Entry> entries) {
  uint64_t index = log_.LastIndex();
  for (Entry& entry : entries) {
    entry.set_term(term_);
    entry.set_index(++index);
  }
  if (!IncreaseUncommittedSize(entries)) return false;
  const uint64_t last_index = log_.Append(std::move(entries));
  KEEL_ASSERT(last_index == index);
  // The leader's own log counts toward the quorum right away; the Ready
  // contract has the application persist it before anything is sent or
  // applied.
  auto self = trk_.progress.find(id_);
  KEEL_ASSERT(self != trk_.progress.end());
  self->second.MaybeUpdate(last_index);
  MaybeCommit();
  return true;
}

bool Raft::IncreaseUncommittedSize(const std::vector<Entry>& entries) {
  const uint64_t size = PayloadSize(entries);
  // Always accept a proposal when nothing is uncommitted, so one large
  // entry can never be refused forever.
  if (uncommitted_size_ > 0 && size > 0 &&
      uncommitted_size_ + size > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += size;
  return true;
}

bool Raft::MaybeCommit() {
  const uint64_t quorum_index = trk_.Committed();
#if KEEL_FAILPOINTS
  if (bugs_.commit_old_term) return failpoints::CommitByCounting(log_, quorum_index);
#endif
  // Figure 2: commit N only if log[N].term == currentTerm.
  return log_.MaybeCommit(quorum_index, term_);
}

bool Raft::MaybeSendAppend(uint64_t to, bool send_if_empty) {
  auto it = trk_.progress.find(to);
  KEEL_ASSERT(it != trk_.progress.end());
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  absl::StatusOr<uint64_t> prev_term = log_.Term(pr.next - 1);
  absl::StatusOr<std::vector<Entry>> entries =
      log_.EntriesFrom(pr.next, max_msg_size_);
  if ((!entries.ok() || entries->empty()) && !send_if_empty) return false;
  if (!prev_term.ok() || !entries.ok()) {
    // The entries the follower needs were compacted: send a snapshot.
    return MaybeSendSnapshot(to, pr);
  }
  Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgApp);
  m.set_index(pr.next - 1);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  if (!entries->empty()) {
    const uint64_t last = entries->back().index();
    switch (pr.state) {
      case ProgressState::kReplicate:
        // Pipelining: assume the append succeeds and keep streaming, up to
        // the in-flight limits.
        pr.OptimisticUpdate(last);
        pr.inflights.Add(last, PayloadSize(*entries));
        break;
      case ProgressState::kProbe:
        // One append at a time until we know where the follower's log ends.
        pr.probe_sent = true;
        break;
      case ProgressState::kSnapshot:
        KEEL_UNREACHABLE();
    }
    m.mutable_entries()->Reserve(static_cast<int>(entries->size()));
    for (Entry& entry : *entries) *m.add_entries() = std::move(entry);
  }
  Send(std::move(m));
  return true;
}

bool Raft::MaybeSendSnapshot(uint64_t to, Progress& pr) {
  if (!pr.recent_active) {
    Log(LogLevel::kDebug, id_, " ignore sending snapshot to ", to,
        " since it is not recently active");
    return false;
  }
  absl::StatusOr<raftpb::Snapshot> snapshot = log_.Snapshot();
  if (!snapshot.ok()) {
    KEEL_ASSERT_MSG(IsError(snapshot.status(),
                            Error::kSnapshotTemporarilyUnavailable),
                    "storage failed to return a snapshot");
    Log(LogLevel::kDebug, id_, " failed to send snapshot to ", to,
        " because snapshot is temporarily unavailable");
    return false;
  }
  KEEL_ASSERT_MSG(!IsEmptySnapshot(*snapshot), "need non-empty snapshot");
  const uint64_t index = snapshot->metadata().index();
  Log(LogLevel::kDebug, id_, " [firstindex: ", log_.FirstIndex(),
      ", commit: ", log_.committed(), "] sent snapshot[index: ", index,
      ", term: ", snapshot->metadata().term(), "] to ", to, " [",
      pr.String(), "]");
  pr.BecomeSnapshot(index);
  Log(LogLevel::kDebug, id_, " paused sending replication messages to ", to,
      " [", pr.String(), "]");
  Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgSnap);
  *m.mutable_snapshot() = *std::move(snapshot);
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(uint64_t to, const std::string& context) {
  // Never tell a follower to commit beyond what it is known to hold: its
  // log past match may still diverge from ours.
  const Progress& pr = trk_.progress.at(to);
  Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgHeartbeat);
  m.set_commit(std::min(pr.match, log_.committed()));
  m.set_context(context);
  Send(std::move(m));
}

void Raft::BcastAppend() {
  for (const auto& [id, pr] : trk_.progress) {
    if (id != id_) SendAppend(id);
  }
}

void Raft::BcastHeartbeat() {
  BcastHeartbeatWithContext(read_only_.LastPendingRequestContext());
}

void Raft::BcastHeartbeatWithContext(const std::string& context) {
  for (const auto& [id, pr] : trk_.progress) {
    if (id != id_) SendHeartbeat(id, context);
  }
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.reject()) {
    Log(LogLevel::kDebug, id_, " received MsgAppResp(rejected, hint: (index ",
        m.reject_hint(), ", term ", m.log_term(), ")) from ", m.from(),
        " for index ", m.index());
    // Fast backtracking: the follower told us the last index at which its
    // term is <= the term we sent. Skip in our own log to the last index
    // whose term is <= the follower's term there; everything between
    // cannot match.
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) {
      next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term());
    }
    if (pr.MaybeDecrTo(m.index(), next_probe)) {
      Log(LogLevel::kDebug, id_, " decreased progress of ", m.from(),
          " to [", pr.String(), "]");
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from());
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index())) return;
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match >= pr.pending_snapshot) {
        Log(LogLevel::kDebug, id_,
            " recovered from needing snapshot, resumed sending replication "
            "messages to ", m.from(), " [", pr.String(), "]");
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeLE(m.index());
      break;
  }
  if (MaybeCommit()) {
    ReleasePendingReadIndexMessages();
    BcastAppend();
  } else if (was_paused) {
    // The follower was paused (full window, or a probe in flight); it may
    // now take more.
    SendAppend(m.from());
  }
  // Send as much as the window allows, without empty appends.
  while (MaybeSendAppend(m.from(), /*send_if_empty=*/false)) {
  }
  if (m.from() == lead_transferee_ && pr.match == log_.LastIndex()) {
    Log(LogLevel::kInfo, id_, " sent MsgTimeoutNow to ", m.from(),
        " after received MsgAppResp");
    SendTimeoutNow(m.from());
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.probe_sent = false;
  // A follower that answers heartbeats but whose window is full may have
  // lost appends; free one slot so replication can make progress.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) {
    pr.inflights.FreeFirstOne();
  }
  if (pr.match < log_.LastIndex()) SendAppend(m.from());

  if (read_only_.option() != ReadOnlyOption::kSafe || m.context().empty()) {
    return;
  }
  const VoteMap* acks = read_only_.RecvAck(m.from(), m.context());
  if (acks == nullptr) return;
  if (trk_.config.voters.GetVoteResult(*acks) != VoteResult::kWon) return;
  // A quorum confirmed our leadership after these requests arrived.
  for (const ReadIndexStatus& status : read_only_.Advance(m.context())) {
    RespondToReadIndex(status.request, status.index);
  }
}

void Raft::HandleSnapshotStatus(const Message& m, Progress& pr) {
  if (pr.state != ProgressState::kSnapshot) return;
  if (!m.reject()) {
    pr.BecomeProbe();
    Log(LogLevel::kDebug, id_,
        " snapshot succeeded, resumed sending replication messages to ",
        m.from(), " [", pr.String(), "]");
  } else {
    // The follower never got it; probe from scratch.
    pr.pending_snapshot = 0;
    pr.BecomeProbe();
    Log(LogLevel::kDebug, id_,
        " snapshot failed, resumed sending replication messages to ",
        m.from(), " [", pr.String(), "]");
  }
  // Wait for the follower's MsgAppResp (or a heartbeat response) before
  // probing, so the snapshot is not followed by a useless append.
  pr.probe_sent = true;
}

void Raft::HandleTransferLeader(const Message& m, Progress& pr) {
  if (pr.is_learner) {
    Log(LogLevel::kDebug, id_, " is learner. Ignored transferring leadership");
    return;
  }
  const uint64_t transferee = m.from();
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) {
      Log(LogLevel::kInfo, id_, " [term ", term_,
          "] transfer leadership to ", transferee,
          " is in progress, ignores request to same node ", transferee);
      return;
    }
    Log(LogLevel::kInfo, id_, " [term ", term_,
        "] abort previous transferring leadership to ", lead_transferee_);
    AbortLeaderTransfer();
  }
  if (transferee == id_) {
    Log(LogLevel::kDebug, id_,
        " is already leader. Ignored transferring leadership to self");
    return;
  }
  Log(LogLevel::kInfo, id_, " [term ", term_,
      "] starts to transfer leadership to ", transferee);
  // The transfer must finish within an election timeout (TickHeartbeat).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(transferee);
    Log(LogLevel::kInfo, id_, " sends MsgTimeoutNow to ", transferee,
        " immediately as ", transferee, " already has up-to-date log");
  } else {
    // Catch the transferee up first; HandleAppendResponse sends
    // MsgTimeoutNow once it matches.
    SendAppend(transferee);
  }
}

void Raft::MaybeHandOffLeadership() {
  if (state_ != StateType::kLeader || Promotable() ||
      lead_transferee_ != kNone) {
    return;
  }
  // The voter furthest along needs the least catching up.
  uint64_t target = kNone;
  uint64_t target_match = 0;
  for (uint64_t id : trk_.config.voters.incoming) {
    const Progress& pr = trk_.progress.at(id);
    if (target == kNone || pr.match > target_match) {
      target = id;
      target_match = pr.match;
    }
  }
  if (target == kNone) return;
  Log(LogLevel::kInfo, id_, " is no longer a voter; handing leadership to ",
      target);
  Message m;
  m.set_type(raftpb::MsgTransferLeader);
  m.set_from(target);
  HandleTransferLeader(m, trk_.progress.at(target));
}

void Raft::SendTimeoutNow(uint64_t to) {
  Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgTimeoutNow);
  Send(std::move(m));
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.ZeroTermOnCompacted(log_.committed()) == term_;
}

void Raft::HandleReadIndex(Message m) {
  if (m.entries_size() != 1) {
    Log(LogLevel::kError, id_, " invalid MsgReadIndex from ", m.from(),
        ", entries count: ", m.entries_size());
    return;
  }
  if (trk_.IsSingleton() && trk_.config.voters.incoming.contains(id_)) {
    // We are the only voter: nobody else can have been elected. (A leader
    // that was removed and whose configuration is one other voter must
    // not take this shortcut: that voter may already lead a later term.)
    RespondToReadIndex(m, log_.committed());
    return;
  }
  // Until this leader has committed an entry of its term, its commit index
  // may lag what earlier leaders committed; hold the request.
  if (!CommittedEntryInCurrentTerm()) {
    pending_read_index_messages_.push_back(std::move(m));
    return;
  }
  SendReadIndexResponse(std::move(m));
}

void Raft::SendReadIndexResponse(Message m) {
#if KEEL_FAILPOINTS
  if (failpoints::AnswersReadIndexUnconfirmed(bugs_)) {
    RespondToReadIndex(m, log_.committed());
    return;
  }
#endif
  switch (read_only_.option()) {
    case ReadOnlyOption::kSafe: {
      const std::string context = m.entries(0).data();
      read_only_.AddRequest(log_.committed(), std::move(m));
      // The leader acknowledges its own heartbeat.
      read_only_.RecvAck(id_, context);
      BcastHeartbeatWithContext(context);
      break;
    }
    case ReadOnlyOption::kLeaseBased:
      RespondToReadIndex(m, log_.committed());
      break;
  }
}

void Raft::RespondToReadIndex(const Message& request, uint64_t index) {
  if (request.from() == kNone || request.from() == id_) {
    read_states_.push_back(ReadState{index, request.entries(0).data()});
    return;
  }
  Message response;
  response.set_to(request.from());
  response.set_type(raftpb::MsgReadIndexResp);
  response.set_index(index);
  *response.mutable_entries() = request.entries();
  Send(std::move(response));
}

void Raft::ReleasePendingReadIndexMessages() {
  if (pending_read_index_messages_.empty()) return;
  if (!CommittedEntryInCurrentTerm()) {
    Log(LogLevel::kError, id_,
        " pending MsgReadIndex should be released only after first commit in "
        "current term");
    return;
  }
  std::vector<Message> pending;
  pending.swap(pending_read_index_messages_);
  for (Message& m : pending) SendReadIndexResponse(std::move(m));
}

}  // namespace keel::raft
