// ReadIndexBatcher: linearizable reads (etcd's linearizableReadNotify).
//
// A read joins the batch not yet sent to raft; one ReadIndex request
// serves the whole batch. Once raft answers with the commit index the
// leader confirmed with a quorum, every read of the batch waits until this
// member has applied that far, then reads its local state. The batch's
// ReadIndex is issued after every read in it arrived, which is what
// linearizability needs.
#ifndef KEEL_NODE_READ_INDEX_H_
#define KEEL_NODE_READ_INDEX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "node/applied_index.h"
#include "node/member_life.h"
#include "node/raft_node.h"
#include "runtime/env.h"
#include "runtime/sync.h"

namespace keel::node {

class ReadIndexBatcher {
 public:
  // Every reference must outlive the batcher.
  ReadIndexBatcher(Env& env, RaftNode& raft, AppliedIndex& applied, MemberLife& life,
                   Duration timeout)
      : env_(env), raft_(raft), applied_(applied), life_(life), timeout_(timeout) {}
  ReadIndexBatcher(const ReadIndexBatcher&) = delete;
  ReadIndexBatcher& operator=(const ReadIndexBatcher&) = delete;

  // Waits until this member has applied everything committed before the
  // call. kTimeout if leadership cannot be confirmed in time,
  // kTimeoutWaitAppliedIndex if applying lags, kStopped. Suspends.
  Task<absl::Status> Barrier();

  // Raft answered batch `read_id` (the raft node's host calls this).
  void Answered(uint64_t read_id, uint64_t index);
  // Fails every open and sent batch (the member is stopping).
  void FailAll(const absl::Status& status);

 private:
  struct Batch {
    std::optional<uint64_t> index;
    absl::Status status;
    Event done;
  };

  Env& env_;
  RaftNode& raft_;
  AppliedIndex& applied_;
  MemberLife& life_;
  const Duration timeout_;
  // The newest batch (open to joiners while raft has not been asked), and
  // every batch not yet answered, by id.
  std::shared_ptr<Batch> open_;
  uint64_t open_id_ = 0;
  std::map<uint64_t, std::shared_ptr<Batch>> sent_;
  uint64_t next_id_ = 1;
};

}  // namespace keel::node

#endif  // KEEL_NODE_READ_INDEX_H_
