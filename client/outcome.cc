// Classifying etcd errors by what they say about a request's effect.
#include "client/outcome.h"

namespace keel::client {

bool MayHaveTakenEffect(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    // Request checks: bad keys, too many ops, duplicate keys in a txn, a
    // lease given with ignore_lease, ...
    case absl::StatusCode::kInvalidArgument:
    // "requested lease not found": checked on the apply path, where the
    // whole request is refused as one.
    case absl::StatusCode::kNotFound:
    // "required revision has been compacted" / "is a future revision".
    case absl::StatusCode::kOutOfRange:
    // "lease already exists", "revision of auth store is old", ...
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    // "too many requests" (refused before raft), "request is too large".
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
      return false;
    default:
      // Unavailable (lost connection, request timed out, leader changed, no
      // leader), DeadlineExceeded, Cancelled, Internal, Unknown, Aborted.
      return true;
  }
}

bool IsRetryableRead(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

}  // namespace keel::client
