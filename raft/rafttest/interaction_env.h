// InteractionEnv: several RawNodes, their storage and a message pool, driven
// step by step by the commands of raft/testdata/*.txt (etcd's rafttest
// design). Everything a node does is written to the output: its log lines,
// each Ready it hands out, the messages delivered or dropped.
//
// Commands (arguments in brackets are optional):
//   add-nodes <n> [voters=(..)] [learners=(..)] [index=<i>] [content=<s>]
//             [pre-vote=true] [check-quorum=true] [election-ticks=<n>]
//             [heartbeat-ticks=<n>] [max-size-per-msg=<b>]
//             [max-inflight-msgs=<n>] [max-inflight-bytes=<b>]
//             [max-uncommitted-size=<b>] [read-only=lease]
//       new nodes; with index > 0 they start from a snapshot at that index
//       holding the configuration, otherwise from an empty log.
//   campaign <id>            the node starts an election
//   propose <id> <data>      a proposal
//   propose-conf-change <id> [transition=auto|implicit|explicit] [v1=true]
//       the input line holds the changes: "v2 l3 r4"
//   tick-election <id>       ticks until the election timer fires (one
//                            check-quorum round for a leader)
//   tick-heartbeat <id>      ticks one heartbeat interval
//   tick <id> <n>            ticks n times
//   process-ready <id>...    handles one Ready: persist, apply, queue messages
//   deliver-msgs <id>... [drop=(..)]  steps queued messages into the nodes
//   drop <id>...             drops every queued message to the nodes
//   stabilize [<id>...]      handles Readies and delivers until quiet
//   partition <id>...        messages between these nodes and the others are
//                            dropped on delivery; heal undoes it
//   heal
//   transfer-leadership from=<id> to=<id>
//   read-index <id> <context>
//   report-snapshot <id> <peer> ok|fail
//   report-unreachable <id> <peer>
//   compact <id> <new-first-index>  snapshot the state machine and compact
//   restart <id>             crash: lose everything not persisted, restart
//   status <id>              configuration and the leader's progress
//   raft-log <id>            the persisted log
//   raft-state               term, role and leader of every node
//   log-level debug|info|warn|error|none
#ifndef KEEL_RAFT_RAFTTEST_INTERACTION_ENV_H_
#define KEEL_RAFT_RAFTTEST_INTERACTION_ENV_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "raft/raw_node.h"
#include "raft/rafttest/datadriven.h"
#include "raft/storage.h"
#include "runtime/log.h"
#include "runtime/random.h"

namespace keel::raft::rafttest {

// Collects log lines into the current command's output.
class OutputSink : public LogSink {
 public:
  void Write(const LogRecord& record) override;
  std::string output;
};

// A MemoryStorage whose Snapshot() is the node's latest applied state, as
// an application that snapshots on demand would return (etcd's harness does
// the same), so a leader can always catch up a new member.
class InteractionStorage : public MemoryStorage {
 public:
  InteractionStorage(const ConfState& state,
                     const std::vector<raftpb::Snapshot>* history)
      : MemoryStorage(state), history_(history) {}
  absl::StatusOr<raftpb::Snapshot> Snapshot() override;

 private:
  const std::vector<raftpb::Snapshot>* history_;
};

struct InteractionNode {
  uint64_t id = 0;
  std::unique_ptr<InteractionStorage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<Config> config;
  std::unique_ptr<RawNode> node;
  // The state machine after each applied index, starting with the
  // snapshot the node started from; data is the applied payloads joined.
  std::vector<raftpb::Snapshot> history;
};

class InteractionEnv {
 public:
  InteractionEnv();

  // Runs one command; returns its output.
  std::string Handle(const TestData& data);

 private:
  absl::Status AddNodes(const TestData& data);
  absl::Status Campaign(const TestData& data);
  absl::Status Propose(const TestData& data);
  absl::Status ProposeConfChange(const TestData& data);
  absl::Status TickElection(const TestData& data);
  absl::Status TickHeartbeat(const TestData& data);
  absl::Status ProcessReady(uint64_t id);
  // Delivers the queued messages to `to`; returns how many there were.
  size_t DeliverMessages(uint64_t to, bool drop);
  absl::Status Stabilize(const std::vector<uint64_t>& ids);
  absl::Status Compact(const TestData& data);
  absl::Status Restart(uint64_t id);
  void Status(uint64_t id);
  void RaftLog(uint64_t id);
  void RaftState();

  absl::Status StartNode(InteractionNode& node);
  InteractionNode& node(uint64_t id);
  bool Partitioned(uint64_t from, uint64_t to) const;
  // Writes `text` to the output, indented by the current depth.
  void Print(const std::string& text);
  std::vector<uint64_t> Ids(const TestData& data);

  OutputSink sink_;
  Logger logger_;
  // Pointers stay valid as nodes are added (storage points at history).
  std::vector<std::unique_ptr<InteractionNode>> nodes_;
  // Messages sent and not yet delivered, in send order.
  std::vector<Message> messages_;
  // Nodes cut off from the others, or empty.
  std::set<uint64_t> partition_;
  bool quiet_ = false;
};

}  // namespace keel::raft::rafttest

#endif  // KEEL_RAFT_RAFTTEST_INTERACTION_ENV_H_
