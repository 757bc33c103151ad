// Construction and recognition of raft's distinct errors.
#include "raft/errors.h"

#include "absl/strings/cord.h"
#include "runtime/assert.h"

namespace keel::raft {
namespace {

constexpr char kPayloadUrl[] = "keel.raft/error";

struct ErrorInfo {
  absl::StatusCode code;
  const char* name;
  const char* message;
};

ErrorInfo Info(Error kind) {
  switch (kind) {
    case Error::kCompacted:
      return {absl::StatusCode::kOutOfRange, "compacted",
              "requested index is unavailable due to compaction"};
    case Error::kUnavailable:
      return {absl::StatusCode::kNotFound, "unavailable",
              "requested entry at index is unavailable"};
    case Error::kSnapshotTemporarilyUnavailable:
      return {absl::StatusCode::kUnavailable, "snapshot_temporarily_unavailable",
              "snapshot is temporarily unavailable"};
    case Error::kSnapshotOutOfDate:
      return {absl::StatusCode::kFailedPrecondition, "snapshot_out_of_date",
              "requested index is older than the existing snapshot"};
    case Error::kProposalDropped:
      return {absl::StatusCode::kUnavailable, "proposal_dropped",
              "raft proposal dropped"};
    case Error::kStepLocalMessage:
      return {absl::StatusCode::kInvalidArgument, "step_local_message",
              "raft: cannot step raft local message"};
    case Error::kStepPeerNotFound:
      return {absl::StatusCode::kNotFound, "step_peer_not_found",
              "raft: cannot step as peer not found"};
  }
  KEEL_UNREACHABLE();
}

}  // namespace

absl::Status MakeError(Error kind) {
  const ErrorInfo info = Info(kind);
  absl::Status status(info.code, info.message);
  status.SetPayload(kPayloadUrl, absl::Cord(info.name));
  return status;
}

bool IsError(const absl::Status& status, Error kind) {
  if (status.ok()) return false;
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return false;
  return *payload == Info(kind).name;
}

}  // namespace keel::raft
