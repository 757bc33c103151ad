// ChaosCluster: several RawNodes under a random schedule of ticks, message
// deliveries (reordered, lost, duplicated), partitions, crashes that lose
// everything not yet persisted, restarts, compactions, proposals, reads,
// leadership transfers and (optionally) membership changes, with checkers
// for Raft's safety properties:
//
//   election safety        at most one leader per term
//   log matching           two persisted logs that hold an entry with the
//                          same index and term agree on everything before it
//   leader completeness    a new leader's log holds every entry applied
//                          anywhere (i.e. committed) in an earlier term
//   state machine safety   no two members apply different entries at one
//                          index; a committed entry never changes (the
//                          state hash after each index is unique, including
//                          for installed snapshots)
//   linearizable reads     a ReadIndex answer is at least every commit
//                          index any member had persisted when it was asked
//   progress               once faults stop, the group commits a proposal
//
// The schedule is drawn from one seed, so a failure replays exactly; the
// property tests (raft_property_test.cc) let RapidCheck pick seeds and
// shrink the number of steps.
#ifndef KEEL_RAFT_RAFTTEST_CHAOS_CLUSTER_H_
#define KEEL_RAFT_RAFTTEST_CHAOS_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/config.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "runtime/random.h"

namespace keel::raft::rafttest {

struct ChaosOptions {
  size_t members = 3;
  bool pre_vote = false;
  bool check_quorum = false;
  // Members 1..3 start as voters and the others outside the group; random
  // configuration changes (simple and joint) are proposed.
  bool membership_changes = false;
  // Largest MsgApp payload; small values mean one entry per message, which
  // makes acknowledgements of single old entries possible.
  uint64_t max_size_per_msg = 64;
#if KEEL_FAILPOINTS
  // Deliberate bugs every member runs with (raft/failpoints.h).
  failpoints::Bugs bugs;
#endif
  // Also check that no member changes its persisted vote within a term (an
  // implementation invariant that catches double voting before it elects
  // two leaders; the bug tests turn it off to show election safety does).
  bool check_votes = true;
  // Probabilities of faults: per delivered message in percent, per step in
  // tenths of a percent.
  int loss_percent = 10;
  int duplicate_percent = 5;
  int crash_per_mille = 4;
  int partition_per_mille = 8;
};

// Three members under the schedule of the Raft paper's figure 8 made
// likely: an old-term entry acknowledged on its own (one entry per
// append), a leader change before the new leader's own entry arrives, and
// a competing log of a later term (heavy loss, partitions and crashes).
ChaosOptions FigureEightSchedule();

class ChaosCluster {
 public:
  ChaosCluster(uint64_t seed, const ChaosOptions& options);
  ~ChaosCluster();

  // Runs `steps` random actions; stops early once a violation is found.
  void RunRandomSteps(size_t steps);
  // Heals the network, restarts crashed members and runs fault-free
  // rounds until a proposal commits (or reports a progress violation).
  void Settle(size_t max_rounds);
  // Compares every pair of persisted logs (log matching).
  void CheckLogMatching();

  const std::vector<std::string>& violations() const { return violations_; }
  // The last events, for failure messages.
  std::string RecentEvents() const;
  // Every member's role, term, log and the leader's view of its followers.
  std::string DescribeState() const;
  size_t network_size() const { return network_.size(); }
  // Counters that show the schedule exercised something.
  struct Stats {
    size_t leaders_elected = 0;
    size_t entries_applied = 0;
    size_t snapshots_installed = 0;
    size_t crashes = 0;
    size_t reads_answered = 0;
    size_t conf_changes_applied = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Member;
  class ChaosStorage;

  void Act();
  void Tick(Member& m);
  void ProcessReady(Member& m);
  void Persist(Member& m, const Ready& rd);
  void Apply(Member& m, const Ready& rd);
  void ApplyEntry(Member& m, const Entry& entry);
  void Deliver(size_t index);
  void Crash(Member& m);
  void Restart(Member& m);
  void Compact(Member& m);
  void Propose(Member& m);
  void ProposeConfChange(Member& m);
  void ReadIndex(Member& m);
  void TransferLeader(Member& m);
  void Partition();
  // Records m as leader of its term if it leads; checks election safety
  // and leader completeness when a leader is first seen.
  void CheckLeader(Member& m, const Ready& rd);
  void Violation(std::string what);
  void Event(std::string what);
  bool Connected(uint64_t from, uint64_t to) const;
  Member* Leader();

  Random random_;
  ChaosOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  // The initial members, bootstrapped into the group.
  std::vector<Peer> peers_;
  // Messages in flight, in no particular order.
  std::vector<Message> network_;
  // Members on the minority side of a partition, or empty.
  std::set<uint64_t> partition_;

  // Global knowledge for the checkers.
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied_entries_;
  std::map<uint64_t, uint64_t> state_hashes_;
  // For each applied index, the smallest term any member was in when it
  // applied it: the entry was committed in that term or earlier.
  std::map<uint64_t, uint64_t> commit_term_bound_;
  uint64_t max_persisted_commit_ = 0;
  std::map<std::string, uint64_t> read_floor_;
  uint64_t next_proposal_ = 0;
  size_t step_ = 0;

  std::vector<std::string> violations_;
  std::deque<std::string> events_;
  Stats stats_;
};

}  // namespace keel::raft::rafttest

#endif  // KEEL_RAFT_RAFTTEST_CHAOS_CLUSTER_H_
