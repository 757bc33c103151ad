// The table of etcd 3.4's client-visible errors: code and exact text, as
// clientv3's rpctypes matches them.
#include "node/errors.h"

#include "runtime/assert.h"
#include "store/mvcc_errors.h"

namespace keel::node {
namespace {

struct ErrorInfo {
  absl::StatusCode code;
  std::string_view message;
};

ErrorInfo Lookup(EtcdError error) {
  switch (error) {
    case EtcdError::kEmptyKey:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: key is not provided"};
    case EtcdError::kKeyNotFound:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: key not found"};
    case EtcdError::kValueProvided:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: value is provided"};
    case EtcdError::kLeaseProvided:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: lease is provided"};
    case EtcdError::kTooManyOps:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: too many operations in txn request"};
    case EtcdError::kInvalidSortOption:
      // etcd 3.5's check (3.4 has none and panics on an unknown target).
      return {absl::StatusCode::kInvalidArgument, "etcdserver: invalid sort option"};
    case EtcdError::kDuplicateKey:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: duplicate key given in txn request"};
    case EtcdError::kCompacted:
      return {absl::StatusCode::kOutOfRange, "etcdserver: mvcc: required revision has been compacted"};
    case EtcdError::kFutureRev:
      return {absl::StatusCode::kOutOfRange, "etcdserver: mvcc: required revision is a future revision"};
    case EtcdError::kNoSpace:
      return {absl::StatusCode::kResourceExhausted, "etcdserver: mvcc: database space exceeded"};
    case EtcdError::kLeaseNotFound:
      return {absl::StatusCode::kNotFound, "etcdserver: requested lease not found"};
    case EtcdError::kLeaseExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: lease already exists"};
    case EtcdError::kLeaseTTLTooLarge:
      return {absl::StatusCode::kOutOfRange, "etcdserver: too large lease TTL"};
    case EtcdError::kWatchCanceled:
      return {absl::StatusCode::kCancelled, "etcdserver: watch canceled"};
    case EtcdError::kMemberExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: member ID already exist"};
    case EtcdError::kPeerURLExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: Peer URLs already exists"};
    case EtcdError::kMemberNotEnoughStarted:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: re-configuration failed due to not enough started members"};
    case EtcdError::kMemberBadURLs:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: given member URLs are invalid"};
    case EtcdError::kMemberNotFound:
      return {absl::StatusCode::kNotFound, "etcdserver: member not found"};
    case EtcdError::kMemberNotLearner:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: can only promote a learner member"};
    case EtcdError::kLearnerNotReady:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader"};
    case EtcdError::kTooManyLearners:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: too many learner members in cluster"};
    case EtcdError::kRequestTooLarge:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: request is too large"};
    case EtcdError::kTooManyRequests:
      return {absl::StatusCode::kResourceExhausted, "etcdserver: too many requests"};
    case EtcdError::kRootUserNotExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: root user does not exist"};
    case EtcdError::kRootRoleNotExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: root user does not have root role"};
    case EtcdError::kUserAlreadyExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: user name already exists"};
    case EtcdError::kUserEmpty:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: user name is empty"};
    case EtcdError::kUserNotFound:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: user name not found"};
    case EtcdError::kRoleAlreadyExist:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: role name already exists"};
    case EtcdError::kRoleNotFound:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: role name not found"};
    case EtcdError::kRoleEmpty:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: role name is empty"};
    case EtcdError::kAuthFailed:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: authentication failed, invalid user ID or password"};
    case EtcdError::kPermissionDenied:
      return {absl::StatusCode::kPermissionDenied, "etcdserver: permission denied"};
    case EtcdError::kRoleNotGranted:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: role is not granted to the user"};
    case EtcdError::kPermissionNotGranted:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: permission is not granted to the role"};
    case EtcdError::kAuthNotEnabled:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: authentication is not enabled"};
    case EtcdError::kInvalidAuthToken:
      return {absl::StatusCode::kUnauthenticated, "etcdserver: invalid auth token"};
    case EtcdError::kInvalidAuthMgmt:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: invalid auth management"};
    case EtcdError::kAuthOldRevision:
      return {absl::StatusCode::kInvalidArgument, "etcdserver: revision of auth store is old"};
    case EtcdError::kNoLeader:
      return {absl::StatusCode::kUnavailable, "etcdserver: no leader"};
    case EtcdError::kNotLeader:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: not leader"};
    case EtcdError::kLeaderChanged:
      return {absl::StatusCode::kUnavailable, "etcdserver: leader changed"};
    case EtcdError::kNotCapable:
      return {absl::StatusCode::kUnavailable, "etcdserver: not capable"};
    case EtcdError::kStopped:
      return {absl::StatusCode::kUnavailable, "etcdserver: server stopped"};
    case EtcdError::kTimeout:
      return {absl::StatusCode::kUnavailable, "etcdserver: request timed out"};
    case EtcdError::kTimeoutDueToLeaderFail:
      return {absl::StatusCode::kUnavailable, "etcdserver: request timed out, possibly due to previous leader failure"};
    case EtcdError::kTimeoutDueToConnectionLost:
      return {absl::StatusCode::kUnavailable, "etcdserver: request timed out, possibly due to connection lost"};
    case EtcdError::kTimeoutWaitAppliedIndex:
      return {absl::StatusCode::kUnavailable, "etcdserver: request timed out, waiting for the applied index took too long"};
    case EtcdError::kUnhealthy:
      return {absl::StatusCode::kUnavailable, "etcdserver: unhealthy cluster"};
    case EtcdError::kCorrupt:
      return {absl::StatusCode::kDataLoss, "etcdserver: corrupt cluster"};
    case EtcdError::kNotSupportedForLearner:
      return {absl::StatusCode::kUnavailable, "etcdserver: rpc not supported for learner"};
    case EtcdError::kBadLeaderTransferee:
      return {absl::StatusCode::kFailedPrecondition, "etcdserver: bad leader transferee"};
    case EtcdError::kLeaderTransferTimeout:
      return {absl::StatusCode::kUnknown,
              "etcdserver: request timed out, leader transfer took too long"};
  }
  KEEL_UNREACHABLE();
}

}  // namespace

absl::Status MakeError(EtcdError error) {
  const ErrorInfo info = Lookup(error);
  return absl::Status(info.code, absl::string_view(info.message.data(),
                                                   info.message.size()));
}

bool IsError(const absl::Status& status, EtcdError error) {
  const ErrorInfo info = Lookup(error);
  return status.code() == info.code &&
         std::string_view(status.message().data(), status.message().size()) ==
             info.message;
}

std::string_view ErrorMessage(EtcdError error) { return Lookup(error).message; }

absl::Status FromStoreError(const absl::Status& status) {
  if (status.ok()) return status;
  if (store::IsCompacted(status)) return MakeError(EtcdError::kCompacted);
  if (store::IsFutureRev(status)) return MakeError(EtcdError::kFutureRev);
  if (store::IsKeyNotFound(status)) return MakeError(EtcdError::kKeyNotFound);
  if (store::IsEmptyKey(status)) return MakeError(EtcdError::kEmptyKey);
  if (store::IsValueProvided(status)) return MakeError(EtcdError::kValueProvided);
  if (store::IsLeaseProvided(status)) return MakeError(EtcdError::kLeaseProvided);
  if (store::IsDuplicateKey(status)) return MakeError(EtcdError::kDuplicateKey);
  if (store::IsLeaseNotFound(status)) return MakeError(EtcdError::kLeaseNotFound);
  return status;
}

}  // namespace keel::node
