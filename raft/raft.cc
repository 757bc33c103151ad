// Raft: construction, ticks, terms, elections and configuration switches.
// Leader behaviour is in raft_leader.cc, candidate and follower behaviour
// in raft_follower.cc.
#include "raft/raft.h"

#include <algorithm>
#include <utility>

#include "raft/errors.h"
#include "runtime/assert.h"

namespace keel::raft {
namespace {

uint64_t CommittedSizePerReady(const Config& config) {
  if (config.max_committed_size_per_ready != 0) {
    return config.max_committed_size_per_ready;
  }
  return config.max_size_per_msg;
}

// Number of configuration changes among entries.
size_t CountConfChanges(const std::vector<Entry>& entries) {
  size_t n = 0;
  for (const Entry& entry : entries) {
    if (entry.type() != raftpb::EntryNormal) n++;
  }
  return n;
}

}  // namespace

Raft::Raft(const Config& config)
    : id_(config.id),
      log_(config.storage, CommittedSizePerReady(config)),
      max_msg_size_(config.max_size_per_msg),
      max_uncommitted_size_(config.max_uncommitted_entries_size == 0
                                ? kNoLimit
                                : config.max_uncommitted_entries_size),
      trk_(config.max_inflight_msgs, config.max_inflight_bytes),
      read_only_(config.read_only),
      check_quorum_(config.check_quorum),
      pre_vote_(config.pre_vote),
      heartbeat_timeout_(config.heartbeat_ticks),
      election_timeout_(config.election_ticks),
      disable_proposal_forwarding_(config.disable_proposal_forwarding),
      random_(config.random),
      logger_(config.logger)
#if KEEL_FAILPOINTS
      , bugs_(config.bugs)
#endif
{
  KEEL_ASSERT_MSG(config.Validate().ok(), "invalid raft config");
  absl::StatusOr<InitialState> initial = config.storage.GetInitialState();
  KEEL_ASSERT_MSG(initial.ok(), "storage failed to return its initial state");
  absl::StatusOr<ConfigAndProgress> restored =
      RestoreConfig(trk_, log_.LastIndex(), initial->conf_state);
  KEEL_ASSERT_MSG(restored.ok(), "cannot restore the stored configuration");
  const ConfState state = SwitchToConfig(*std::move(restored));
  KEEL_ASSERT(ConfStatesEquivalent(state, initial->conf_state));
  if (!IsEmptyHardState(initial->hard_state)) LoadState(initial->hard_state);
  if (config.applied > 0) log_.AppliedTo(config.applied);
  BecomeFollower(term_, kNone);
  Log(LogLevel::kInfo, "newRaft ", id_, " [peers: ", trk_.config.voters.String(),
      ", term: ", term_, ", commit: ", log_.committed(),
      ", applied: ", log_.applied(), ", lastindex: ", log_.LastIndex(),
      ", lastterm: ", log_.LastTerm(), "]");
}

HardState Raft::GetHardState() const {
  HardState state;
  state.set_term(term_);
  state.set_vote(vote_);
  state.set_commit(log_.committed());
  return state;
}

std::vector<Message> Raft::TakeMessages() {
  std::vector<Message> out;
  out.swap(msgs_);
  return out;
}

std::vector<ReadState> Raft::TakeReadStates() {
  std::vector<ReadState> out;
  out.swap(read_states_);
  return out;
}

bool Raft::Promotable() const {
  auto it = trk_.progress.find(id_);
  return it != trk_.progress.end() && !it->second.is_learner;
}

void Raft::LoadState(const HardState& state) {
  KEEL_ASSERT_MSG(state.commit() >= log_.committed(),
                  "hard state commit below the log's commit");
  KEEL_ASSERT_MSG(state.commit() <= log_.LastIndex(),
                  "hard state commit beyond the last index");
  log_.set_committed(state.commit());
  term_ = state.term();
  vote_ = state.vote();
}

void Raft::Send(Message m) {
  m.set_from(id_);
  const MessageType type = m.type();
  if (type == raftpb::MsgVote || type == raftpb::MsgVoteResp ||
      type == raftpb::MsgPreVote || type == raftpb::MsgPreVoteResp) {
    // Campaigns carry the term they are for, which for pre-votes is not
    // ours.
    KEEL_ASSERT_MSG(m.term() != 0, "term must be set when sending a vote");
  } else {
    KEEL_ASSERT_MSG(m.term() == 0, "term must not be set by the sender");
    // Proposals and read requests forwarded to the leader carry no term:
    // they are valid in any term.
    if (type != raftpb::MsgProp && type != raftpb::MsgReadIndex) {
      m.set_term(term_);
    }
  }
  msgs_.push_back(std::move(m));
}

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  trk_.ResetVotes();
  const uint64_t last_index = log_.LastIndex();
  for (auto& [id, pr] : trk_.progress) {
    const bool is_learner = pr.is_learner;
    pr = trk_.NewProgress();
    pr.next = last_index + 1;
    pr.is_learner = is_learner;
    if (id == id_) pr.match = last_index;
  }
  pending_conf_index_ = 0;
  uncommitted_size_ = 0;
  read_only_ = ReadOnly(read_only_.option());
  // Requests waiting for this term's first commit cannot be answered by a
  // member that is no longer leader; their clients retry.
  pending_read_index_messages_.clear();
}

void Raft::Tick() {
  if (state_ == StateType::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  election_elapsed_++;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Message hup;
    hup.set_type(raftpb::MsgHup);
    hup.set_from(id_);
    (void)Step(std::move(hup));
  }
}

void Raft::TickHeartbeat() {
  heartbeat_elapsed_++;
  election_elapsed_++;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      Message check;
      check.set_type(raftpb::MsgCheckQuorum);
      check.set_from(id_);
      (void)Step(std::move(check));
    }
    // A transfer that has not finished within an election timeout is
    // abandoned, so proposals are accepted again.
    if (state_ == StateType::kLeader && lead_transferee_ != kNone) {
      Log(LogLevel::kInfo, id_, " [term ", term_,
          "] aborted transferring leadership to ", lead_transferee_,
          " after an election timeout");
      AbortLeaderTransfer();
    }
  }
  if (state_ != StateType::kLeader) return;
  // Retry a hand-off that an election timeout abandoned.
  MaybeHandOffLeadership();
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    Message beat;
    beat.set_type(raftpb::MsgBeat);
    beat.set_from(id_);
    (void)Step(std::move(beat));
  }
}

bool Raft::PastElectionTimeout() const {
  return election_elapsed_ >= randomized_election_timeout_;
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      election_timeout_ +
      static_cast<int>(random_.Uniform(static_cast<uint64_t>(election_timeout_)));
  KEEL_ASSERT(randomized_election_timeout_ >= election_timeout_);
  KEEL_ASSERT(randomized_election_timeout_ < 2 * election_timeout_);
}

void Raft::BecomeFollower(uint64_t term, uint64_t lead) {
  Reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
  Log(LogLevel::kInfo, id_, " became follower at term ", term_);
}

void Raft::BecomeCandidate() {
  KEEL_ASSERT_MSG(state_ != StateType::kLeader,
                  "invalid transition [leader -> candidate]");
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
  Log(LogLevel::kInfo, id_, " became candidate at term ", term_);
}

void Raft::BecomePreCandidate() {
  KEEL_ASSERT_MSG(state_ != StateType::kLeader,
                  "invalid transition [leader -> pre-candidate]");
  // A pre-candidate changes neither its term nor its vote: losing the
  // pre-vote must leave no trace.
  trk_.ResetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
  Log(LogLevel::kInfo, id_, " became pre-candidate at term ", term_);
}

void Raft::BecomeLeader() {
  KEEL_ASSERT_MSG(state_ != StateType::kFollower,
                  "invalid transition [follower -> leader]");
  Reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  Progress& self = trk_.progress.at(id_);
  self.BecomeReplicate();
  self.recent_active = true;
  // A new leader appends an empty entry of its term: committing it commits
  // everything before it (figure 8: earlier terms' entries are never
  // committed by counting replicas).
  std::vector<Entry> empty(1);
  const bool appended = AppendEntry(std::move(empty));
  KEEL_ASSERT_MSG(appended, "empty entry was dropped");
  // No configuration change is accepted until that entry is applied: a
  // leader must commit an entry of its own term before changing membership
  // (the fix for the single-server change bug), and any change pending in
  // the log before it must be applied first.
  pending_conf_index_ = log_.LastIndex();
  Log(LogLevel::kInfo, id_, " became leader at term ", term_);
}

void Raft::Hup(CampaignType type) {
  if (state_ == StateType::kLeader) {
    Log(LogLevel::kDebug, id_, " ignoring MsgHup because already leader");
    return;
  }
  if (!Promotable()) {
    Log(LogLevel::kWarn, id_, " is unpromotable and can not campaign");
    return;
  }
  // A member with configuration changes committed but not applied does not
  // know its final configuration yet, so it must not campaign.
  // Entries covered by a snapshot not yet applied are not read: the
  // snapshot's configuration is already in effect.
  const uint64_t first_unapplied =
      std::max(log_.applied() + 1, log_.FirstIndex());
  if (log_.committed() >= first_unapplied) {
    absl::StatusOr<std::vector<Entry>> unapplied =
        log_.Slice(first_unapplied, log_.committed() + 1, kNoLimit);
    KEEL_ASSERT_MSG(unapplied.ok(), "cannot read unapplied entries");
    if (size_t n = CountConfChanges(*unapplied); n != 0) {
      Log(LogLevel::kWarn, id_, " cannot campaign at term ", term_,
          " since there are still ", n,
          " pending configuration changes to apply");
      return;
    }
  }
  Log(LogLevel::kInfo, id_, " is starting a new election at term ", term_);
  Campaign(type);
}

void Raft::Campaign(CampaignType type) {
  if (!Promotable()) {
    Log(LogLevel::kWarn, id_, " is unpromotable; campaign() should not be called");
  }
  uint64_t term;
  MessageType vote_type;
  if (type == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_type = raftpb::MsgPreVote;
    // The pre-vote asks about the term we would campaign in.
    term = term_ + 1;
  } else {
    BecomeCandidate();
    vote_type = raftpb::MsgVote;
    term = term_;
  }
  if (Poll(id_, VoteResponseType(vote_type), true).result == VoteResult::kWon) {
    // A single-voter configuration wins on our own vote.
    if (type == CampaignType::kPreElection) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BcastAppend();
    }
    return;
  }
  for (uint64_t id : trk_.config.voters.Ids()) {
    if (id == id_) continue;
    Log(LogLevel::kInfo, id_, " [logterm: ", log_.LastTerm(),
        ", index: ", log_.LastIndex(), "] sent ",
        raftpb::MessageType_Name(vote_type), " request to ", id, " at term ",
        term_);
    Message m;
    m.set_term(term);
    m.set_to(id);
    m.set_type(vote_type);
    m.set_index(log_.LastIndex());
    m.set_log_term(log_.LastTerm());
    if (type == CampaignType::kTransfer) {
      m.set_context(std::string(kCampaignTransferContext));
    }
    Send(std::move(m));
  }
}

VoteTally Raft::Poll(uint64_t id, MessageType type, bool granted) {
  if (granted) {
    Log(LogLevel::kInfo, id_, " received ", raftpb::MessageType_Name(type),
        " from ", id, " at term ", term_);
  } else {
    Log(LogLevel::kInfo, id_, " received ", raftpb::MessageType_Name(type),
        " rejection from ", id, " at term ", term_);
  }
  trk_.RecordVote(id, granted);
  return trk_.TallyVotes();
}

absl::Status Raft::Step(Message m) {
  if (!StepTerm(m)) return absl::OkStatus();
  switch (m.type()) {
    case raftpb::MsgHup:
      Hup(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
      return absl::OkStatus();
    case raftpb::MsgVote:
    case raftpb::MsgPreVote:
      HandleVoteRequest(m);
      return absl::OkStatus();
    default:
      break;
  }
  switch (state_) {
    case StateType::kLeader:
      return StepLeader(std::move(m));
    case StateType::kCandidate:
    case StateType::kPreCandidate:
      return StepCandidate(std::move(m));
    case StateType::kFollower:
      return StepFollower(std::move(m));
  }
  KEEL_UNREACHABLE();
}

bool Raft::StepTerm(const Message& m) {
  const MessageType type = m.type();
  if (m.term() == 0) return true;  // local message
  if (m.term() > term_) {
    if (type == raftpb::MsgVote || type == raftpb::MsgPreVote) {
      // Leader lease: while we hear from a leader, a vote request for a
      // later term comes from a member that is partitioned or out of date;
      // ignoring it keeps it from deposing a healthy leader. A transfer
      // campaign is the leader's own request and is always heard.
      const bool force = m.context() == kCampaignTransferContext;
      const bool in_lease = check_quorum_ && lead_ != kNone &&
                            election_elapsed_ < election_timeout_;
      if (!force && in_lease) {
        Log(LogLevel::kInfo, id_, " [logterm: ", log_.LastTerm(),
            ", index: ", log_.LastIndex(), ", vote: ", vote_, "] ignored ",
            raftpb::MessageType_Name(type), " from ", m.from(),
            " [logterm: ", m.log_term(), ", index: ", m.index(), "] at term ",
            term_, ": lease is not expired (remaining ticks: ",
            election_timeout_ - election_elapsed_, ")");
        return false;
      }
    }
    if (type == raftpb::MsgPreVote) {
      // A pre-vote does not change our term: the candidate may never
      // campaign for real.
    } else if (type == raftpb::MsgPreVoteResp && !m.reject()) {
      // A granted pre-vote carries the term we will campaign in; we
      // change terms when the real election starts.
    } else {
      Log(LogLevel::kInfo, id_, " [term: ", term_, "] received a ",
          raftpb::MessageType_Name(type), " message with higher term from ",
          m.from(), " [term: ", m.term(), "]");
      if (type == raftpb::MsgApp || type == raftpb::MsgHeartbeat ||
          type == raftpb::MsgSnap) {
        BecomeFollower(m.term(), m.from());
      } else {
        BecomeFollower(m.term(), kNone);
      }
    }
    return true;
  }
  if (m.term() < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (type == raftpb::MsgHeartbeat || type == raftpb::MsgApp)) {
      // A leader cut off from the group may still be at an old term. With
      // check quorum or pre-vote our higher term would never reach it
      // through a vote, so answer: the response's term makes it step down.
      Message response;
      response.set_to(m.from());
      response.set_type(raftpb::MsgAppResp);
      Send(std::move(response));
    } else if (type == raftpb::MsgPreVote) {
      // Reject explicitly so the pre-candidate learns our term and does not
      // wait out its election timeout.
      Log(LogLevel::kInfo, id_, " [logterm: ", log_.LastTerm(),
          ", index: ", log_.LastIndex(), ", vote: ", vote_, "] rejected ",
          raftpb::MessageType_Name(type), " from ", m.from(),
          " [logterm: ", m.log_term(), ", index: ", m.index(), "] at term ",
          term_);
      Message response;
      response.set_to(m.from());
      response.set_term(term_);
      response.set_type(raftpb::MsgPreVoteResp);
      response.set_reject(true);
      Send(std::move(response));
    } else {
      Log(LogLevel::kInfo, id_, " [term: ", term_, "] ignored a ",
          raftpb::MessageType_Name(type), " message with lower term from ",
          m.from(), " [term: ", m.term(), "]");
    }
    return false;
  }
  return true;
}

void Raft::HandleVoteRequest(const Message& m) {
  // We can vote for the candidate if we already did in this term, if we
  // have voted for no one and know of no leader, or (pre-vote) if the
  // candidate's term is ahead of ours.
  bool can_vote = vote_ == m.from() || (vote_ == kNone && lead_ == kNone) ||
                  (m.type() == raftpb::MsgPreVote && m.term() > term_);
#if KEEL_FAILPOINTS
  if (failpoints::VotesRegardless(bugs_, m.type())) can_vote = true;
#endif
  const MessageType response_type = VoteResponseType(m.type());
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    Log(LogLevel::kInfo, id_, " [logterm: ", log_.LastTerm(),
        ", index: ", log_.LastIndex(), ", vote: ", vote_, "] cast ",
        raftpb::MessageType_Name(m.type()), " for ", m.from(),
        " [logterm: ", m.log_term(), ", index: ", m.index(), "] at term ",
        term_);
    // The response carries the request's term: for a pre-vote that is the
    // future term, which the pre-candidate checks it against.
    Message response;
    response.set_to(m.from());
    response.set_term(m.term());
    response.set_type(response_type);
    Send(std::move(response));
    if (m.type() == raftpb::MsgVote) {
      // Granting a vote resets our election timer (figure 2, followers).
      election_elapsed_ = 0;
      vote_ = m.from();
    }
    return;
  }
  Log(LogLevel::kInfo, id_, " [logterm: ", log_.LastTerm(),
      ", index: ", log_.LastIndex(), ", vote: ", vote_, "] rejected ",
      raftpb::MessageType_Name(m.type()), " from ", m.from(),
      " [logterm: ", m.log_term(), ", index: ", m.index(), "] at term ", term_);
  Message response;
  response.set_to(m.from());
  response.set_term(term_);
  response.set_type(response_type);
  response.set_reject(true);
  Send(std::move(response));
}

absl::StatusOr<ConfState> Raft::ApplyConfChange(const ConfChangeV2& change) {
  Changer changer(trk_, log_.LastIndex());
  absl::StatusOr<ConfigAndProgress> next;
  if (LeaveJoint(change)) {
    next = changer.LeaveJoint();
  } else if (std::optional<bool> auto_leave = EnterJoint(change)) {
    next = changer.EnterJoint(*auto_leave, ChangesOf(change));
  } else {
    next = changer.Simple(ChangesOf(change));
  }
  if (!next.ok()) {
    Log(LogLevel::kWarn, id_, " refused to apply conf change ",
        ConfChangesToString(change.changes()),
        ": ", next.status().message());
    return next.status();
  }
  return SwitchToConfig(*std::move(next));
}

ConfState Raft::SwitchToConfig(ConfigAndProgress next) {
  trk_.config = std::move(next.config);
  trk_.progress = std::move(next.progress);
  Log(LogLevel::kInfo, id_, " switched to configuration ", trk_.config.String());
  ConfState state = trk_.GetConfState();
  auto self = trk_.progress.find(id_);
  const bool member = self != trk_.progress.end();
  is_learner_ = member && self->second.is_learner;
  // A leader that was removed (or demoted) keeps leading until it has
  // handed leadership to a voter: it no longer counts toward quorums, but
  // it keeps replicating what it has.
  if ((!member || is_learner_) && state_ == StateType::kLeader) {
    MaybeHandOffLeadership();
    return state;
  }
  if (state_ != StateType::kLeader || state.voters_size() == 0) return state;
  // The quorum may have changed, so something may now be committed; and new
  // members need their first append.
  if (MaybeCommit()) {
    BcastAppend();
  } else {
    for (const auto& [id, pr] : trk_.progress) {
      if (id != id_) MaybeSendAppend(id, /*send_if_empty=*/false);
    }
  }
  if (lead_transferee_ != kNone && !trk_.progress.contains(lead_transferee_)) {
    AbortLeaderTransfer();
  }
  return state;
}

void Raft::AdvanceApplied(uint64_t index) {
  log_.AppliedTo(index);
  if (trk_.config.auto_leave && index >= pending_conf_index_ &&
      state_ == StateType::kLeader) {
    // The joint configuration is applied: propose leaving it. An empty
    // ConfChangeV2 has no payload, so the uncommitted-size limit never
    // refuses it; a transfer in progress may, and then we try again at the
    // next Advance.
    Message m;
    m.set_type(raftpb::MsgProp);
    Entry* entry = m.add_entries();
    entry->set_type(raftpb::EntryConfChangeV2);
    if (absl::Status status = Step(std::move(m)); !status.ok()) {
      Log(LogLevel::kDebug, id_,
          " not initiating automatic transition out of joint configuration ",
          trk_.config.String(), ": ", status.message());
    } else {
      Log(LogLevel::kInfo, id_,
          " initiating automatic transition out of joint configuration ",
          trk_.config.String());
    }
  }
}

void Raft::ReduceUncommittedSize(uint64_t bytes) {
  // The leader's own empty entry and entries appended in an earlier term
  // were never counted; never go below zero.
  uncommitted_size_ = bytes > uncommitted_size_ ? 0 : uncommitted_size_ - bytes;
}

}  // namespace keel::raft
