// RawNode: the public interface of raft, a pure state machine driven by its
// owner. The owner feeds it ticks and messages and, whenever HasReady(),
// takes a Ready, acts on it in the order documented on Ready, and calls
// Advance(). Nothing here blocks or performs I/O, so a coroutine driver
// (node/) or a test harness can run it step by step.
#ifndef KEEL_RAFT_RAW_NODE_H_
#define KEEL_RAFT_RAW_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/config.h"
#include "raft/raft.h"
#include "raft/status.h"
#include "raft/types.h"

namespace keel::raft {

// Everything a RawNode asks its owner to do, in one batch.
//
// Ordering contract (etcd's rules; break them and the group can lose
// committed data or elect two leaders):
//   1. Persist first: install `snapshot` (if any), append `entries` (which
//      may replace a suffix of what was persisted before: truncate from
//      entries[0].index), then record `hard_state` (if any). When
//      must_sync, all of it must be durable (fsynced) before step 2.
//   2. Only then send `messages`. A vote, a vote response or an append
//      response must never leave before the term, vote and entries it
//      promises are on disk. For each MsgSnap sent, report the outcome with
//      ReportSnapshot(); for a peer that cannot be reached, call
//      ReportUnreachable().
//   3. Apply: restore the state machine from `snapshot` (if any), then
//      apply `committed_entries` in order. Call ApplyConfChange() for each
//      configuration change entry as it is applied. Serve reads in
//      `read_states` once the applied index reaches their index.
//   4. Call Advance(). No other Ready may be taken before it. Tick(),
//      Step() and the proposal calls may be made while a Ready is being
//      handled (for example while step 1 waits for the disk); their effects
//      show up in the next Ready.
struct Ready {
  // Set when the leader or this member's role changed. Never persisted.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed; persist before sending.
  std::optional<HardState> hard_state;
  // Answers to ReadIndex requests.
  std::vector<ReadState> read_states;
  // Entries to append to stable storage before sending messages.
  std::vector<Entry> entries;
  // A snapshot received from the leader, to persist and apply.
  std::optional<raftpb::Snapshot> snapshot;
  // Entries known committed, to apply in order (after the snapshot).
  std::vector<Entry> committed_entries;
  // Messages to send once step 1 is durable.
  std::vector<Message> messages;
  // Whether entries or hard_state must be synced before sending: true when
  // there are entries, or the term or vote changed (a commit index alone
  // may be lost and relearned).
  bool must_sync = false;

  bool empty() const;
};

// One member of the initial configuration, for Bootstrap.
struct Peer {
  uint64_t id = kNone;
  std::string context;
};

class RawNode {
 public:
  // InvalidArgument if the config is invalid. The storage's initial state
  // (hard state, snapshot configuration, log) is loaded; storage errors are
  // fatal.
  static absl::StatusOr<std::unique_ptr<RawNode>> Create(const Config& config);

  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Starts a new group on empty storage: appends one ConfChangeAddNode
  // entry per peer at term 1, commits them and applies them to the
  // configuration (the entries still reach the application as committed
  // entries, so it can record membership). FailedPrecondition if the
  // storage is not empty, InvalidArgument if peers is empty.
  absl::Status Bootstrap(std::span<const Peer> peers);

  // Advances the logical clock. Followers campaign after an election
  // timeout; leaders send heartbeats and run check quorum.
  void Tick();

  // Starts an election now (pre-vote first if configured).
  absl::Status Campaign();

  // Proposes data to be appended to the log. kProposalDropped if there is
  // no leader, leadership is being transferred, the uncommitted-size limit
  // is reached or forwarding is disabled. Success means only that the
  // proposal was accepted for now: it may still be lost, so watch the
  // committed entries for it.
  absl::Status Propose(std::string data);

  // Proposes a configuration change, under the same terms as Propose. The
  // leader turns a change into a no-op entry if another change is still
  // unapplied (or it has not applied its first entry of the term).
  absl::Status ProposeConfChange(const ConfChange& change);
  absl::Status ProposeConfChange(const ConfChangeV2& change);

  // Applies a committed configuration change (call it when applying its
  // entry) and returns the new configuration, to store with snapshots.
  // InvalidArgument, with the configuration unchanged, if the change is
  // not valid from the current configuration; every member reaches the
  // same verdict, so the application treats the entry as a no-op.
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& change);
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChangeV2& change);

  // Steps a message received from a peer. kStepLocalMessage for local
  // message types; kStepPeerNotFound for a response from a non-member;
  // kProposalDropped for a MsgProp that cannot be accepted.
  absl::Status Step(Message m);

  // Requests a linearizable read. `context` identifies the request (it must
  // be non-empty and unique among pending requests); the answer arrives as
  // a ReadState with that context. Requests are dropped silently when there
  // is no leader or leadership changes: retry after a timeout.
  void ReadIndex(std::string context);

  // Asks the leader to hand leadership to transferee. On a follower the
  // request is forwarded to the leader as a request to transfer to this
  // member (etcd's behaviour).
  void TransferLeader(uint64_t transferee);

  // The transport failed to deliver a message to id.
  void ReportUnreachable(uint64_t id);
  // The outcome of sending a MsgSnap to id.
  void ReportSnapshot(uint64_t id, bool ok);

  // Whether Ready() would return anything.
  bool HasReady() const;
  // Takes the pending work; see Ready's ordering contract. Requires that
  // the previous Ready was advanced.
  raft::Ready Ready();
  // Reports the last Ready handled (persisted, sent, applied).
  void Advance();

  raft::Status Status() const { return GetStatus(*raft_); }

  // The state machine, for tests and checkers that inspect it.
  const Raft& raft() const { return *raft_; }
  Raft& mutable_raft() { return *raft_; }

 private:
  explicit RawNode(const Config& config);

  // What Advance() needs to know about the Ready it acknowledges.
  struct Handed {
    uint64_t applied_to = 0;
    uint64_t committed_bytes = 0;
    uint64_t stable_index = 0;
    uint64_t stable_term = 0;
    uint64_t snapshot_index = 0;
  };

  std::unique_ptr<Raft> raft_;
  SoftState previous_soft_state_;
  HardState previous_hard_state_;
  std::optional<Handed> handed_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RAW_NODE_H_
