// RaftChecker: raft's safety properties, checked against what the members
// of a simulated cluster persist, elect and apply, as they do it.
//
// The members report every event that can change a property (a role or
// term observed after a tick, a step or a Ready; a Ready made durable; a
// log recovered at start; an entry applied), and the checker keeps its own
// record of each member's durable log and hard state. Properties:
//
//   election safety       at most one leader per term
//   vote safety           a durable vote never changes within a term
//   log matching          two entries with the same index and term are the
//                         same entry with the same predecessor term, so
//                         logs that share an entry share the prefix before
//   durability            a restarted member holds every entry and the
//                         hard state it had synced (later surviving writes
//                         may have replaced a suffix with newer terms)
//   commitment            the checker derives what is committed on its
//                         own, by Raft's rule: entry (i, T) and everything
//                         before it are committed once a quorum of term T's
//                         leader's configuration acknowledged i in term T:
//                         the leader (or any member) by making entries of
//                         term T up to i durable while its durable term is
//                         T, a follower by sending an append response for i
//                         in term T once its log is durable. An entry a member
//                         applies must be committed by that rule;
//                         committed entries never change (no member
//                         overwrites one) and every later leader holds them
//                         (checked when a leader is first seen and when a
//                         commit is found while a later leader lives)
//   state machine safety  every member applies the same entry at each
//                         index, each index once, in order, per incarnation
//   snapshots             a member's state machine jumps forward only to
//                         the canonical one: a snapshot labelled index i
//                         (taken: a member's durable state or a file for a
//                         follower; installed: a leader's, or the member's
//                         own at restart) must hold the state of some index
//                         j >= i (a state machine may run ahead of its
//                         raft log's label while a restart replays the
//                         log), name the term of the entry applied at i,
//                         and hold the state hash the first member to
//                         apply 1..j reached (MixRaftState over those
//                         entries). A snapshot persisted stands for the
//                         committed prefix up to i in the member's durable
//                         log, so the properties above keep reasoning
//                         about whole logs
//   linearizable reads    a read index answered to a client is at least
//                         the index of every entry acknowledged to any
//                         client (applied by its proposer) before the read
//                         was issued
//
// The derived commit is sound: a member that acknowledged (j, T) in term T
// had (j, T) in its log before it could vote in any later term, and sends
// the acknowledgement only once that log is durable, so it never votes for
// a candidate of a later term whose log lacks the entry; every later leader
// needed a vote from the quorum and so has it. (The follower may have moved
// to a later term in the same Ready, so its durable term need not be T.)
// Leader completeness binds leaders of terms after the commit's term; a
// leader of an older term may still appear late (a paused candidate
// counting its votes) without the entry. The derived commit is also never
// behind raft's own commit index, because a leader counts exactly these
// acknowledgements, and commits only entries of its term by counting; the
// check "applied implies committed" therefore fails exactly when a member
// applies something raft's rule does not justify (an old-term entry
// committed by counting, say).
//
// Failure messages name the members ("n2(id 5)"), terms and indexes.
#ifndef KEEL_SIM_SCENARIOS_RAFT_CHECKER_H_
#define KEEL_SIM_SCENARIOS_RAFT_CHECKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proto/raft.pb.h"
#include "raft/raft.h"
#include "raft/raw_node.h"

namespace keel::sim {

// A member's durable raft log as it found it at start.
struct RecoveredLog {
  raftpb::HardState hard_state;
  // The log's snapshot (its compaction point, or a leader's snapshot);
  // metadata().index() == 0 when there is none.
  raftpb::Snapshot snapshot;
  // Contiguous from snapshot.metadata().index() + 1.
  std::vector<raftpb::Entry> entries;
};

// The running hash of a member's state machine after applying `entry` to
// the state `hash` (0 before index 1). The checker keeps the same hash of
// the canonical history to judge snapshots.
uint64_t MixRaftState(uint64_t hash, const raftpb::Entry& entry);

class RaftChecker {
 public:
  RaftChecker() = default;
  RaftChecker(const RaftChecker&) = delete;
  RaftChecker& operator=(const RaftChecker&) = delete;

  // How member `id` is named in messages ("n2").
  void Name(uint64_t id, std::string name);
  // The entries every initial member bootstraps with: committed by
  // construction.
  void Bootstrap(const std::vector<raftpb::Entry>& entries);
  // Called once, with the first failure's message.
  void set_on_failure(std::function<void(const std::string&)> on_failure) {
    on_failure_ = std::move(on_failure);
  }

  // A live RawNode of member `id`, consulted when a commit is found while a
  // later leader lives. Detach before the node dies.
  void Attach(uint64_t id, const raft::RawNode* node);
  void Detach(uint64_t id);

  // After anything that may change member `id`'s role, term or (as
  // leader) configuration.
  void ObserveRole(uint64_t id, const raft::Raft& raft);
  // Member `id` wrote `entries` and `hard_state` (either may be empty) and,
  // if `synced`, made everything written so far durable. Entries are
  // always synced.
  void OnPersisted(uint64_t id, const std::vector<raftpb::Entry>& entries,
                   const raftpb::HardState* hard_state, bool synced);
  // Member `id` is about to send `messages`, everything they promise being
  // durable: its append responses count toward their term's commit.
  void OnSending(uint64_t id, const std::vector<raftpb::Message>& messages);
  // Member `id` recovered `log` at start; all of it is durable.
  void OnRecovered(uint64_t id, const RecoveredLog& log);
  // Member `id`'s disk was erased: the member is gone for good.
  void OnWiped(uint64_t id);
  // Member `id`, in its process incarnation `incarnation`, applied `entry`.
  void OnApplied(uint64_t id, uint64_t incarnation, const raftpb::Entry& entry);
  // Member `id` took a snapshot of its state machine (at `state_index`,
  // with hash `state_hash`, as its data says) and labelled it `metadata`
  // (index 0: no label to check but the state).
  void OnSnapshotTaken(uint64_t id, const raftpb::SnapshotMetadata& metadata,
                       uint64_t state_index, uint64_t state_hash);
  // Member `id` made a leader's snapshot durable: its durable log is now
  // the committed prefix up to the snapshot's index.
  void OnSnapshotPersisted(uint64_t id, const raftpb::SnapshotMetadata& metadata);
  // Member `id`, in incarnation `incarnation`, set its state machine from a
  // snapshot (a leader's, or its own at restart) and applies from
  // metadata.index() + 1 on (entries up to state_index are already in its
  // state machine; it reports them applied all the same).
  void OnSnapshotInstalled(uint64_t id, uint64_t incarnation,
                           const raftpb::SnapshotMetadata& metadata,
                           uint64_t state_index, uint64_t state_hash);
  // A client saw its proposal applied at `index`.
  void OnAcknowledged(uint64_t index);
  // A client of member `id` asked for a read index with `context` (unique
  // in the run), and was later answered `index` (once `id` applied it).
  void OnReadIssued(const std::string& context);
  void OnReadAnswered(uint64_t id, const std::string& context, uint64_t index);
  uint64_t reads_answered() const { return reads_answered_; }
  // Compares every pair of durable logs entry by entry (log matching the
  // slow way, as a cross-check at the end of a run).
  void CheckAllLogs();

  bool failed() const { return !verdict_.ok(); }
  const absl::Status& verdict() const { return verdict_; }
  // The highest index known committed.
  uint64_t committed_index() const { return committed_.size(); }
  uint64_t leaders_seen() const { return leader_of_term_.size(); }
  uint64_t applied_index() const { return applied_.size(); }

 private:
  struct EntryKey {
    uint64_t term = 0;
    uint64_t digest = 0;
    bool operator==(const EntryKey&) const = default;
  };
  struct Durable {
    std::vector<EntryKey> log;  // index i at log[i - 1]
    raftpb::HardState written;  // the latest hard state written
    raftpb::HardState synced;   // the latest one made durable
  };
  struct QuorumConfig {
    std::vector<uint64_t> incoming;
    std::vector<uint64_t> outgoing;
    bool operator==(const QuorumConfig&) const = default;
  };
  struct Applied {
    EntryKey key;
    uint64_t first_by = 0;
  };

  static EntryKey KeyOf(const raftpb::Entry& entry);
  std::string NameOf(uint64_t id) const;
  void Fail(std::string message);
  // Checks and records member `id`'s log growing or being replaced from
  // entries[0].index().
  void ReplaceSuffix(uint64_t id, Durable& durable,
                     const std::vector<raftpb::Entry>& entries, std::string_view how);
  // Records an acknowledgement if `id`'s durable log ends in its durable
  // term, then recomputes that term's commit.
  void NoteAck(uint64_t id);
  void RecomputeCommit(uint64_t term);
  void RecomputeAll();
  void CheckLeaderHolds(uint64_t id, const raft::Raft& raft, uint64_t from,
                        uint64_t to, std::string_view when);
  std::string DescribeAcks(uint64_t term) const;
  // Fails unless a snapshot labelled `metadata` holding (state_index,
  // state_hash) is the canonical state at its index.
  void CheckSnapshot(uint64_t id, std::string_view how,
                     const raftpb::SnapshotMetadata& metadata,
                     uint64_t state_index, uint64_t state_hash);
  // The committed prefix 1..index as durable log keys; Fails (and returns
  // nullopt) if index is not known committed with `term`.
  std::optional<std::vector<EntryKey>> CommittedPrefix(uint64_t id, uint64_t index,
                                                       uint64_t term,
                                                       std::string_view how);

  std::function<void(const std::string&)> on_failure_;
  absl::Status verdict_;
  std::map<uint64_t, std::string> names_;
  std::map<uint64_t, const raft::RawNode*> live_;
  std::map<uint64_t, Durable> durable_;
  // (index, term) -> (digest, term of the entry before it).
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> seen_;
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::map<uint64_t, QuorumConfig> config_of_term_;
  // term -> member -> the last index it acknowledged in that term.
  std::map<uint64_t, std::map<uint64_t, uint64_t>> acked_;
  std::vector<EntryKey> committed_;  // index i at committed_[i - 1]
  std::vector<uint64_t> commit_terms_;  // the term each was found committed in
  std::vector<Applied> applied_;
  // The canonical state hash after applying index i, at state_hashes_[i - 1].
  std::vector<uint64_t> state_hashes_;
  // member -> (incarnation, last applied index)
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> applying_;
  // The highest index acknowledged to a client, and for each read issued
  // and not yet answered, what it was when the read was issued.
  uint64_t max_acknowledged_ = 0;
  std::map<std::string, uint64_t> read_floor_;
  uint64_t reads_answered_ = 0;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_CHECKER_H_
