// Deliberate protocol bugs, in the failpoint build only (runtime/failpoints.h).
//
// They exist to show that the simulator's and the property tests' checkers
// catch real safety violations: keel-sim --scenario raft --inject-bug NAME
// and raft_bugs_test switch them on through Config::bugs. Without
// KEEL_FAILPOINTS neither the switches nor the wrong code below exist.
#ifndef KEEL_RAFT_FAILPOINTS_H_
#define KEEL_RAFT_FAILPOINTS_H_

#include "runtime/failpoints.h"

#if KEEL_FAILPOINTS

#include <cstdint>

#include "raft/types.h"

namespace keel::raft {

class RaftLog;

namespace failpoints {

struct Bugs {
  // A member grants its vote to any candidate with an up-to-date log, even
  // if it already voted for another one in the same term.
  bool double_vote = false;
  // A leader commits an entry of an earlier term as soon as a quorum has
  // it (the mistake of the Raft paper's figure 8).
  bool commit_old_term = false;
  // A leader answers ReadIndex at once with its commit index, without
  // confirming with a quorum that it still leads: a deposed leader that has
  // not yet heard of its successor answers reads that miss writes the
  // successor committed.
  bool stale_read_index = false;
};

// Bugs::double_vote: whether a vote request of `type` is granted whatever
// this member already voted for in the term (the log check still applies).
bool VotesRegardless(const Bugs& bugs, MessageType type);

// Bugs::commit_old_term: commits `log` up to `quorum_index` (what a quorum
// holds) whatever the term of the entry there. True if the commit index
// moved.
bool CommitByCounting(RaftLog& log, uint64_t quorum_index);

// Bugs::stale_read_index: whether a leader answers a ReadIndex request with
// its commit index at once, skipping the heartbeat round that confirms it
// still leads.
bool AnswersReadIndexUnconfirmed(const Bugs& bugs);

}  // namespace failpoints
}  // namespace keel::raft

#endif  // KEEL_FAILPOINTS

#endif  // KEEL_RAFT_FAILPOINTS_H_
