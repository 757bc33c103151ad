// The errors raft returns or expects that some caller branches on.
//
// Each is an absl::Status carrying a payload that names the kind, so a
// storage implementation's own errors (an I/O failure that happens to use
// the same status code) are never mistaken for one of these. Build them with
// MakeError() and test for them with IsError(); never compare messages.
#ifndef KEEL_RAFT_ERRORS_H_
#define KEEL_RAFT_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace keel::raft {

enum class Error {
  // Storage: the requested index is at or below the snapshot (compacted).
  kCompacted,
  // Storage: the requested index is beyond the last index, or not held.
  kUnavailable,
  // Storage: a snapshot cannot be produced right now; raft retries later.
  kSnapshotTemporarilyUnavailable,
  // MemoryStorage: a snapshot older than the one held was offered.
  kSnapshotOutOfDate,
  // Propose: there is no leader, a leadership transfer is in progress, the
  // uncommitted-size limit is reached or this member was removed.
  kProposalDropped,
  // RawNode::Step: a local message type (MsgHup, MsgBeat, ...) was passed.
  kStepLocalMessage,
  // RawNode::Step: a response from a member that is not in the config.
  kStepPeerNotFound,
};

// Returns the status for `kind`, with etcd's message text.
absl::Status MakeError(Error kind);

// True when `status` was made by MakeError(kind).
bool IsError(const absl::Status& status, Error kind);

}  // namespace keel::raft

#endif  // KEEL_RAFT_ERRORS_H_
