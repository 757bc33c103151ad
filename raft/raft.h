// Raft: the protocol state machine of one member (etcd's `raft` struct).
//
// Input arrives as messages (Step) and clock ticks (Tick); output
// accumulates as messages to send, entries to persist, entries to apply and
// read states, which RawNode packages into a Ready. Nothing here blocks,
// performs I/O or reads a clock. RawNode is the public interface; this
// class is exposed for raft's own unit tests, which drive it directly as
// etcd's tests do.
//
// Rules that this file and raft_leader.cc / raft_follower.cc implement are
// cited by the Raft paper's figure 2 and by etcd's extensions (pre-vote,
// check quorum, learners, joint consensus, leadership transfer, ReadIndex).
#ifndef KEEL_RAFT_RAFT_H_
#define KEEL_RAFT_RAFT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/config.h"
#include "raft/confchange.h"
#include "raft/raft_log.h"
#include "raft/read_only.h"
#include "raft/tracker.h"
#include "raft/types.h"
#include "runtime/log.h"
#include "runtime/strings.h"

namespace keel::raft {

enum class CampaignType : uint8_t {
  kPreElection,
  kElection,
  // Forced by MsgTimeoutNow during a leadership transfer: voters grant it
  // even while they believe a leader is alive.
  kTransfer,
};

// The context a transfer campaign's vote requests carry.
inline constexpr std::string_view kCampaignTransferContext = "CampaignTransfer";

class Raft {
 public:
  // Requires config.Validate().ok() and a readable storage.
  explicit Raft(const Config& config);

  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Processes one message, local or from a peer. kProposalDropped when a
  // proposal cannot be accepted; OK otherwise (messages that are stale or
  // invalid are ignored, as the protocol requires).
  absl::Status Step(Message m);

  // Advances the logical clock by one tick.
  void Tick();

  // Role transitions; public for tests.
  void BecomeFollower(uint64_t term, uint64_t lead);
  void BecomeCandidate();
  void BecomePreCandidate();
  void BecomeLeader();

  // Applies a committed configuration change; returns the new ConfState.
  // InvalidArgument (configuration unchanged) if the change is not
  // allowed from the current configuration.
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChangeV2& change);

  // Sends appends to every follower that is not paused; public for tests.
  void BcastAppend();
  // Commits what a quorum of Match acknowledges, if it is of the current
  // term; public for tests.
  bool MaybeCommit();

  // The application applied everything up to index (called by Advance);
  // may start leaving a joint configuration.
  void AdvanceApplied(uint64_t index);
  // Committed entries carrying `bytes` of payload were handed out.
  void ReduceUncommittedSize(uint64_t bytes);

  // Outbox and read states, moved out (RawNode::Ready).
  std::vector<Message> TakeMessages();
  std::vector<ReadState> TakeReadStates();
  const std::vector<Message>& messages() const { return msgs_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }

  SoftState GetSoftState() const { return SoftState{lead_, state_}; }
  HardState GetHardState() const;

  // Whether this member may campaign (it is a voter).
  bool Promotable() const;

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t lead() const { return lead_; }
  StateType state() const { return state_; }
  bool is_learner() const { return is_learner_; }
  uint64_t lead_transferee() const { return lead_transferee_; }
  uint64_t pending_conf_index() const { return pending_conf_index_; }
  uint64_t uncommitted_size() const { return uncommitted_size_; }
  int election_elapsed() const { return election_elapsed_; }
  int heartbeat_elapsed() const { return heartbeat_elapsed_; }
  int election_timeout() const { return election_timeout_; }
  int randomized_election_timeout() const {
    return randomized_election_timeout_;
  }
  const RaftLog& log() const { return log_; }
  RaftLog& mutable_log() { return log_; }
  const ProgressTracker& tracker() const { return trk_; }
  ProgressTracker& mutable_tracker() { return trk_; }
  const ReadOnly& read_only() const { return read_only_; }
  size_t pending_read_index_count() const {
    return pending_read_index_messages_.size();
  }

  // Test hooks.
  void set_randomized_election_timeout(int ticks) {
    randomized_election_timeout_ = ticks;
  }
  void set_election_elapsed(int ticks) { election_elapsed_ = ticks; }

 private:
  // --- raft.cc: lifecycle, ticks, terms, elections ---
  void LoadState(const HardState& state);
  void Reset(uint64_t term);
  void TickElection();
  void TickHeartbeat();
  bool PastElectionTimeout() const;
  void ResetRandomizedElectionTimeout();
  // Handles the term of an incoming message; false when it must be dropped.
  bool StepTerm(const Message& m);
  void Hup(CampaignType type);
  void Campaign(CampaignType type);
  VoteTally Poll(uint64_t id, MessageType type, bool granted);
  void HandleVoteRequest(const Message& m);
  ConfState SwitchToConfig(ConfigAndProgress next);
  void Send(Message m);

  // --- raft_leader.cc: replication, heartbeats, leader-only requests ---
  absl::Status StepLeader(Message m);
  absl::Status HandleProposal(Message m);
  void HandleReadIndex(Message m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  void HandleSnapshotStatus(const Message& m, Progress& pr);
  void HandleTransferLeader(const Message& m, Progress& pr);
  void CheckQuorum();
  bool AppendEntry(std::vector<Entry> entries);
  void SendAppend(uint64_t to) { MaybeSendAppend(to, true); }
  bool MaybeSendAppend(uint64_t to, bool send_if_empty);
  bool MaybeSendSnapshot(uint64_t to, Progress& pr);
  void SendHeartbeat(uint64_t to, const std::string& context);
  void BcastHeartbeat();
  void BcastHeartbeatWithContext(const std::string& context);
  void SendTimeoutNow(uint64_t to);
  // A leader that is not a voter of its own configuration (it was removed
  // or demoted) transfers leadership to the voter furthest along. etcd
  // leaves this to the application; doing it here matters for liveness:
  // voters that have not yet applied the change may still need this
  // member's vote, which it only gives to a log at least as long as its own.
  void MaybeHandOffLeadership();
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }
  bool CommittedEntryInCurrentTerm() const;
  void SendReadIndexResponse(Message m);
  void RespondToReadIndex(const Message& request, uint64_t index);
  void ReleasePendingReadIndexMessages();
  bool IncreaseUncommittedSize(const std::vector<Entry>& entries);

  // --- raft_follower.cc: candidates and followers ---
  absl::Status StepCandidate(Message m);
  absl::Status StepFollower(Message m);
  void HandleAppendEntries(Message m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(Message m);
  bool Restore(raftpb::Snapshot snapshot);

  template <typename... Args>
  void Log(LogLevel level, const Args&... args) const {
    if (logger_ != nullptr && logger_->enabled(level)) {
      logger_->Log(level, StrCat(args...));
    }
  }

  const uint64_t id_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  std::vector<ReadState> read_states_;
  RaftLog log_;
  const uint64_t max_msg_size_;
  const uint64_t max_uncommitted_size_;
  ProgressTracker trk_;
  StateType state_ = StateType::kFollower;
  bool is_learner_ = false;
  std::vector<Message> msgs_;
  uint64_t lead_ = kNone;
  // The member leadership is being transferred to, or kNone.
  uint64_t lead_transferee_ = kNone;
  // The index of the latest configuration change this leader appended (or
  // its first entry of the term); no new change is accepted until the
  // application has applied up to it.
  uint64_t pending_conf_index_ = 0;
  // Payload bytes this leader appended that are not yet committed.
  uint64_t uncommitted_size_ = 0;
  ReadOnly read_only_;
  // Ticks since the election timer was reset (followers, candidates), or
  // since the last check-quorum round (leaders).
  int election_elapsed_ = 0;
  // Ticks since the last heartbeat broadcast (leaders only).
  int heartbeat_elapsed_ = 0;
  const bool check_quorum_;
  const bool pre_vote_;
  const int heartbeat_timeout_;
  const int election_timeout_;
  // In [election_timeout_, 2 * election_timeout_), redrawn on every reset.
  int randomized_election_timeout_ = 0;
  const bool disable_proposal_forwarding_;
  Random& random_;
  Logger* const logger_;
#if KEEL_FAILPOINTS
  const failpoints::Bugs bugs_;
#endif
  // ReadIndex requests that arrived before this leader committed an entry
  // of its term.
  std::vector<Message> pending_read_index_messages_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RAFT_H_
