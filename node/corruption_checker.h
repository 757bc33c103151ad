// CorruptionChecker: comparing this member's key space with its peers'
// (etcd 3.4's CheckInitialHashKV and monitorKVHash,
// --experimental-initial-corrupt-check and --experimental-corrupt-check-time).
//
// Peers are asked for Maintenance.HashKV at this member's revision over
// their client URLs, through keel's client (etcd 3.4.23 asks the same
// question over the peer URLs' /members/hashkv; the answer is the same
// message). A peer that cannot answer (down, behind: "future revision",
// ahead past a compaction: "compacted") is skipped, as etcd skips it.
//
// InitialCheck, before the member serves clients: a peer whose hash
// differs at the same revision and compact revision is a mismatch; any
// mismatch refuses the start with etcd's "<id> found data inconsistency
// with peers". Different compact revisions are only logged.
//
// The periodic check runs on the leader every `check_every`: it hashes its
// key space, asks the peers at that revision, confirms it still leads (a
// linearizable read barrier) and hashes again. Its own hash changing at an
// unchanged revision, a peer ahead of it (revision or compact revision),
// or a peer at the same compact revision with another hash raises the
// CORRUPT alarm through raft (etcd raises it with member ID 0), once per
// check. With CORRUPT raised every member refuses writes
// (node/corrupt_applier.h) until an operator disarms it.
#ifndef KEEL_NODE_CORRUPTION_CHECKER_H_
#define KEEL_NODE_CORRUPTION_CHECKER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "node/read_index.h"
#include "proto/rpc.pb.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::node {

struct CorruptionCheckParts {
  Env& env;
  KeySpace& key_space;
  const RaftNode& raft;
  ReadIndexBatcher& reads;
  Proposer& proposer;
  MemberLife& life;
  // Bound on each peer's answer (etcd: the request timeout).
  Duration request_timeout;
};

class CorruptionChecker {
 public:
  // `check_every` zero: no periodic check.
  CorruptionChecker(CorruptionCheckParts parts, Duration check_every)
      : parts_(parts), check_every_(check_every) {}

  // The start-up check (see above). FailedPrecondition on a mismatch; the
  // local hash's errors.
  Task<absl::Status> InitialCheck();
  // Starts the periodic loop, if any.
  void Start();
  // One periodic check, on the leader (a no-op elsewhere). Returns whether
  // it raised CORRUPT.
  Task<bool> CheckNow();

 private:
  struct PeerHash {
    uint64_t id = 0;
    absl::StatusOr<etcdserverpb::HashKVResponse> response;
  };
  // Every other member with client URLs, asked at `revision`.
  Task<std::vector<PeerHash>> PeerHashes(int64_t revision);
  Task<void> Loop();

  CorruptionCheckParts parts_;
  const Duration check_every_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CORRUPTION_CHECKER_H_
