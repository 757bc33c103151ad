// The `raft` scenarios: a cluster of RaftMembers on simulated machines, each
// the production node::RaftNode over the WAL and the peer transport with a
// small hash state machine (raft_member.h).
//
//   raft             3 or 5 members under the nemesis (partitions, isolation,
//                    one-way cuts, clogs, kills, power loss, pauses, disk
//                    faults) while an operator transfers leadership,
//                    isolates the leader and changes the membership (removes
//                    members, adds learners on wiped machines, promotes
//                    them), clients proposing throughout and asking for
//                    linearizable read indexes now and then; every safety
//                    property is checked as it happens (RaftChecker), and
//                    at the end the faults stop and the cluster must elect a
//                    leader and converge within kLivenessLimit of simulated
//                    time. Members compact their logs every
//                    snapshot_every entries (drawn per seed), so lagging
//                    and new members catch up by a leader's snapshot; new
//                    members join with an empty log, knowing no peer.
//                    --inject-bug double-vote | commit-old-term |
//                    stale-read-index turns on raft's deliberate defects;
//                    stale-snapshot makes members' state files (durable
//                    state and snapshots) hold the state one entry short of
//                    the index they claim.
//   raft-failover    3 members, no faults: the leader is killed again and
//                    again; the summary lists how long each new election
//                    took (elections_ms=...).
//   raft-throughput  3 members, no faults, clients proposing as fast as the
//                    cluster commits; the summary counts committed entries.
#ifndef KEEL_SIM_SCENARIOS_RAFT_SCENARIO_H_
#define KEEL_SIM_SCENARIOS_RAFT_SCENARIO_H_

#include <string>
#include <vector>

#include "raft/raw_node.h"
#include "runtime/time.h"
#include "sim/scenario.h"

namespace keel::sim {

// After the faults stop, how long the cluster has to elect a leader and
// converge.
inline constexpr Duration kLivenessLimit = Seconds(30);

enum class RaftMode { kChaos, kFailover, kThroughput };

// Runs one seed of the given mode with resolved options.
ScenarioResult RunRaftScenario(const ScenarioOptions& options, RaftMode mode);

// The entries RawNode::Bootstrap appends for `peers` (term 1, one
// ConfChangeAddNode each), which every initial member must hold alike.
std::vector<raftpb::Entry> BootstrapEntries(const std::vector<raft::Peer>& peers);

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_SCENARIO_H_
