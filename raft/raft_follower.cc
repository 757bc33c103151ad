// Raft, candidate and follower side: vote counting, appending a leader's
// entries (with the conflict hints that let it backtrack fast),
// heartbeats, snapshot installation, forwarding to the leader.
#include <algorithm>
#include <iterator>
#include <utility>

#include "raft/errors.h"
#include "raft/raft.h"
#include "runtime/assert.h"

namespace keel::raft {

absl::Status Raft::StepCandidate(Message m) {
  // A pre-candidate counts pre-votes, a candidate counts votes; the other
  // kind is stale.
  const MessageType my_response = state_ == StateType::kPreCandidate
                                      ? raftpb::MsgPreVoteResp
                                      : raftpb::MsgVoteResp;
  switch (m.type()) {
    case raftpb::MsgProp:
      Log(LogLevel::kInfo, id_, " no leader at term ", term_,
          "; dropping proposal");
      return MakeError(Error::kProposalDropped);
    case raftpb::MsgApp:
      // Figure 2: a candidate that hears from a leader of its term (the
      // term check already ran) becomes its follower.
      BecomeFollower(m.term(), m.from());
      HandleAppendEntries(std::move(m));
      return absl::OkStatus();
    case raftpb::MsgHeartbeat:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return absl::OkStatus();
    case raftpb::MsgSnap:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(std::move(m));
      return absl::OkStatus();
    case raftpb::MsgTimeoutNow:
      Log(LogLevel::kDebug, id_, " [term ", term_, " state ",
          StateTypeName(state_), "] ignored MsgTimeoutNow from ", m.from());
      return absl::OkStatus();
    default:
      break;
  }
  if (m.type() != my_response) return absl::OkStatus();
  const VoteTally tally = Poll(m.from(), m.type(), !m.reject());
  Log(LogLevel::kInfo, id_, " has received ", tally.granted, " ",
      raftpb::MessageType_Name(m.type()), " votes and ", tally.rejected,
      " vote rejections");
  switch (tally.result) {
    case VoteResult::kWon:
      if (state_ == StateType::kPreCandidate) {
        Campaign(CampaignType::kElection);
      } else {
        BecomeLeader();
        BcastAppend();
      }
      break;
    case VoteResult::kLost:
      // A pre-candidate returns to its unchanged term; a candidate stays in
      // its new one. Either waits for a leader or its next timeout.
      BecomeFollower(term_, kNone);
      break;
    case VoteResult::kPending:
      break;
  }
  return absl::OkStatus();
}

absl::Status Raft::StepFollower(Message m) {
  switch (m.type()) {
    case raftpb::MsgProp:
      if (lead_ == kNone) {
        Log(LogLevel::kInfo, id_, " no leader at term ", term_,
            "; dropping proposal");
        return MakeError(Error::kProposalDropped);
      }
      if (disable_proposal_forwarding_) {
        Log(LogLevel::kInfo, id_, " not forwarding to leader ", lead_,
            " at term ", term_, "; dropping proposal");
        return MakeError(Error::kProposalDropped);
      }
      m.set_to(lead_);
      Send(std::move(m));
      break;
    case raftpb::MsgApp:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleAppendEntries(std::move(m));
      break;
    case raftpb::MsgHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      break;
    case raftpb::MsgSnap:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleSnapshot(std::move(m));
      break;
    case raftpb::MsgTransferLeader:
      if (lead_ == kNone) {
        Log(LogLevel::kInfo, id_, " no leader at term ", term_,
            "; dropping leader transfer msg");
        break;
      }
      m.set_to(lead_);
      Send(std::move(m));
      break;
    case raftpb::MsgTimeoutNow:
      if (Promotable()) {
        Log(LogLevel::kInfo, id_, " [term ", term_,
            "] received MsgTimeoutNow from ", m.from(),
            " and starts an election to get leadership.");
        // Skip pre-vote: the leader asked us, so the group will follow.
        Hup(CampaignType::kTransfer);
      } else {
        Log(LogLevel::kInfo, id_, " received MsgTimeoutNow from ", m.from(),
            " but is not promotable");
      }
      break;
    case raftpb::MsgReadIndex:
      if (lead_ == kNone) {
        Log(LogLevel::kInfo, id_, " no leader at term ", term_,
            "; dropping index reading msg");
        break;
      }
      m.set_to(lead_);
      Send(std::move(m));
      break;
    case raftpb::MsgReadIndexResp:
      if (m.entries_size() != 1) {
        Log(LogLevel::kError, id_, " invalid format of MsgReadIndexResp from ",
            m.from(), ", entries count: ", m.entries_size());
        break;
      }
      read_states_.push_back(ReadState{m.index(), m.entries(0).data()});
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void Raft::HandleAppendEntries(Message m) {
  Message response;
  response.set_to(m.from());
  response.set_type(raftpb::MsgAppResp);
  if (m.index() < log_.committed()) {
    // Everything up to our commit index matches the leader's log already;
    // tell it where we are.
    response.set_index(log_.committed());
    Send(std::move(response));
    return;
  }
  std::vector<Entry> entries(
      std::make_move_iterator(m.mutable_entries()->begin()),
      std::make_move_iterator(m.mutable_entries()->end()));
  std::optional<uint64_t> last_new = log_.MaybeAppend(
      m.index(), m.log_term(), m.commit(), std::move(entries));
  if (last_new.has_value()) {
    response.set_index(*last_new);
    Send(std::move(response));
    return;
  }
  // Figure 2, AppendEntries 2: reject when our log has no entry at index
  // with the leader's term. Hint where the leader should try next: the
  // largest index at which our term is <= the leader's term at m.index
  // (any later index of ours either is missing or carries a term the
  // leader's log cannot have there).
  uint64_t hint_index = std::min(m.index(), log_.LastIndex());
  hint_index = log_.FindConflictByTerm(hint_index, m.log_term());
  absl::StatusOr<uint64_t> hint_term = log_.Term(hint_index);
  KEEL_ASSERT_MSG(hint_term.ok(), "term of the rejection hint must be known");
  Log(LogLevel::kDebug, id_, " [logterm: ", log_.ZeroTermOnCompacted(m.index()),
      ", index: ", m.index(), "] rejected MsgApp [logterm: ", m.log_term(),
      ", index: ", m.index(), "] from ", m.from());
  response.set_index(m.index());
  response.set_reject(true);
  response.set_reject_hint(hint_index);
  response.set_log_term(*hint_term);
  Send(std::move(response));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(m.commit());
  Message response;
  response.set_to(m.from());
  response.set_type(raftpb::MsgHeartbeatResp);
  response.set_context(m.context());
  Send(std::move(response));
}

void Raft::HandleSnapshot(Message m) {
  const uint64_t index = m.snapshot().metadata().index();
  const uint64_t term = m.snapshot().metadata().term();
  Message response;
  response.set_to(m.from());
  response.set_type(raftpb::MsgAppResp);
  if (Restore(std::move(*m.mutable_snapshot()))) {
    Log(LogLevel::kInfo, id_, " [commit: ", log_.committed(),
        "] restored snapshot [index: ", index, ", term: ", term, "]");
    response.set_index(log_.LastIndex());
  } else {
    Log(LogLevel::kInfo, id_, " [commit: ", log_.committed(),
        "] ignored snapshot [index: ", index, ", term: ", term, "]");
    response.set_index(log_.committed());
  }
  Send(std::move(response));
}

bool Raft::Restore(raftpb::Snapshot snapshot) {
  const uint64_t index = snapshot.metadata().index();
  const uint64_t term = snapshot.metadata().term();
  if (index <= log_.committed()) return false;
  if (state_ != StateType::kFollower) {
    // Only a leader of our term sends snapshots, and hearing from it made
    // us a follower. Defend anyway: never install while leading.
    Log(LogLevel::kWarn, id_,
        " attempted to restore snapshot as leader; should never happen");
    BecomeFollower(term_ + 1, kNone);
    return false;
  }
  // A snapshot whose configuration does not include us is bogus (learners
  // and outgoing voters are members too).
  const ConfState& conf_state = snapshot.metadata().conf_state();
  auto contains = [this](const auto& ids) {
    return std::find(ids.begin(), ids.end(), id_) != ids.end();
  };
  if (!contains(conf_state.voters()) && !contains(conf_state.learners()) &&
      !contains(conf_state.voters_outgoing())) {
    Log(LogLevel::kWarn, id_,
        " attempted to restore snapshot but it is not in the ConfState; "
        "should never happen");
    return false;
  }
  // If we already hold the snapshot's last entry, our log matches the
  // leader's up to it: just commit.
  if (log_.MatchTerm(index, term)) {
    Log(LogLevel::kInfo, id_, " [commit: ", log_.committed(),
        ", lastindex: ", log_.LastIndex(), ", lastterm: ", log_.LastTerm(),
        "] fast-forwarded commit to snapshot [index: ", index,
        ", term: ", term, "]");
    log_.CommitTo(index);
    return false;
  }
  Log(LogLevel::kInfo, "log [committed=", log_.committed(),
      ", applied=", log_.applied(), ", unstable.offset=",
      log_.unstable().offset(), ", len(unstable.Entries)=",
      log_.unstable().entries().size(), "] starts to restore snapshot [index: ",
      index, ", term: ", term, "]");
  const ConfState expected = conf_state;
  log_.Restore(std::move(snapshot));
  // The configuration comes from the snapshot, built from scratch.
  trk_ = ProgressTracker(trk_.max_inflight, trk_.max_inflight_bytes);
  absl::StatusOr<ConfigAndProgress> restored =
      RestoreConfig(trk_, log_.LastIndex(), expected);
  KEEL_ASSERT_MSG(restored.ok(), "unable to restore config from snapshot");
  const ConfState switched = SwitchToConfig(*std::move(restored));
  KEEL_ASSERT(ConfStatesEquivalent(switched, expected));
  Progress& self = trk_.progress.at(id_);
  self.MaybeUpdate(self.next - 1);
  Log(LogLevel::kInfo, id_, " [commit: ", log_.committed(),
      ", lastindex: ", log_.LastIndex(), ", lastterm: ", log_.LastTerm(),
      "] restored snapshot [index: ", index, ", term: ", term, "]");
  return true;
}

}  // namespace keel::raft
