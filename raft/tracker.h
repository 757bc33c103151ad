// ProgressTracker: the active configuration (who votes, who learns) and the
// leader's Progress for every member of it, plus the votes of an election.
#ifndef KEEL_RAFT_TRACKER_H_
#define KEEL_RAFT_TRACKER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "raft/progress.h"
#include "raft/quorum.h"
#include "raft/types.h"

namespace keel::raft {

// A configuration. Invariants (checked by confchange): learners and voters
// are disjoint; learners_next is a subset of voters.outgoing and only
// non-empty while joint; auto_leave only while joint.
struct TrackerConfig {
  JointConfig voters;
  // Leave the joint configuration automatically once it is applied.
  bool auto_leave = false;
  absl::btree_set<uint64_t> learners;
  // Outgoing voters that become learners when the joint config is left (a
  // member cannot be a voter and a learner at once).
  absl::btree_set<uint64_t> learners_next;

  bool joint() const { return !voters.outgoing.empty(); }
  // "voters=(1 2)&&(1) learners=(3) learners_next=(4) autoleave".
  std::string String() const;
  bool operator==(const TrackerConfig&) const = default;
};

struct VoteTally {
  size_t granted = 0;
  size_t rejected = 0;
  VoteResult result = VoteResult::kPending;
};

struct ProgressTracker {
  ProgressTracker(size_t max_inflight, uint64_t max_inflight_bytes)
      : max_inflight(max_inflight), max_inflight_bytes(max_inflight_bytes) {}

  // The configuration as stored in snapshots and returned to the
  // application.
  ConfState GetConfState() const;
  // One voter and not joint: the leader alone is the quorum.
  bool IsSingleton() const;
  // The largest index a quorum of voters has acknowledged (Match).
  uint64_t Committed() const;
  // Whether a quorum of voters was recently active.
  bool QuorumActive() const;
  std::vector<uint64_t> VoterNodes() const;
  std::vector<uint64_t> LearnerNodes() const;

  void ResetVotes() { votes.clear(); }
  // Records id's vote; the first vote of a voter in an election counts.
  void RecordVote(uint64_t id, bool granted);
  VoteTally TallyVotes() const;

  // A fresh Progress for this tracker's limits.
  Progress NewProgress() const {
    return Progress(max_inflight, max_inflight_bytes);
  }

  TrackerConfig config;
  ProgressMap progress;
  VoteMap votes;
  size_t max_inflight;
  uint64_t max_inflight_bytes;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_TRACKER_H_
