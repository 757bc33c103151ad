// Status: a snapshot of one member's raft state for observers (the
// /metrics and `endpoint status` paths, tests, the simulator's checkers).
#ifndef KEEL_RAFT_STATUS_H_
#define KEEL_RAFT_STATUS_H_

#include <cstdint>
#include <string>

#include "raft/progress.h"
#include "raft/tracker.h"
#include "raft/types.h"

namespace keel::raft {

class Raft;

struct Status {
  uint64_t id = kNone;
  HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t lead_transferee = kNone;
  TrackerConfig config;
  // Followers' progress; filled on the leader only.
  ProgressMap progress;

  // etcd's JSON form: {"id":"1","term":2,"vote":"1","commit":5,"lead":"1",
  // "raftState":"StateLeader","applied":5,"progress":{...},
  // "leadtransferee":"0"}.
  std::string String() const;
};

Status GetStatus(const Raft& raft);

}  // namespace keel::raft

#endif  // KEEL_RAFT_STATUS_H_
