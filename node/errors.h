// etcd's client-visible errors, in one place.
//
// Clients (clientv3, etcdctl) branch on the exact gRPC code and message text
// (rpctypes.ErrorDesc), so every error that leaves the server is built here
// with etcd 3.4's code and string. Lower layers return their own distinct
// errors (store's compacted revision, raft's dropped proposal); the services
// map them at the edge with these helpers.
#ifndef KEEL_NODE_ERRORS_H_
#define KEEL_NODE_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace keel::node {

enum class EtcdError {
  // KV
  kEmptyKey,
  kKeyNotFound,
  kValueProvided,
  kLeaseProvided,
  kTooManyOps,
  kDuplicateKey,
  kInvalidSortOption,
  kCompacted,
  kFutureRev,
  kNoSpace,
  // Lease
  kLeaseNotFound,
  kLeaseExist,
  kLeaseTTLTooLarge,
  // Watch
  kWatchCanceled,
  // Membership
  kMemberExist,
  kPeerURLExist,
  kMemberNotEnoughStarted,
  kMemberBadURLs,
  kMemberNotFound,
  kMemberNotLearner,
  kLearnerNotReady,
  kTooManyLearners,
  // Requests
  kRequestTooLarge,
  kTooManyRequests,
  // Auth
  kRootUserNotExist,
  kRootRoleNotExist,
  kUserAlreadyExist,
  kUserEmpty,
  kUserNotFound,
  kRoleAlreadyExist,
  kRoleNotFound,
  kRoleEmpty,
  kAuthFailed,
  kPermissionDenied,
  kRoleNotGranted,
  kPermissionNotGranted,
  kAuthNotEnabled,
  kInvalidAuthToken,
  kInvalidAuthMgmt,
  kAuthOldRevision,
  // Server state
  kNoLeader,
  kNotLeader,
  kLeaderChanged,
  kNotCapable,
  kStopped,
  kTimeout,
  kTimeoutDueToLeaderFail,
  kTimeoutDueToConnectionLost,
  kTimeoutWaitAppliedIndex,
  kUnhealthy,
  kCorrupt,
  kNotSupportedForLearner,
  kBadLeaderTransferee,
  // Not in etcd's gRPC table: togRPCError answers it with code Unknown.
  kLeaderTransferTimeout,
};

// The status etcd returns for `error`: its gRPC code and exact message.
absl::Status MakeError(EtcdError error);

// True if `status` is exactly `error` (same code and message).
bool IsError(const absl::Status& status, EtcdError error);

// The message text alone, e.g. "etcdserver: key is not provided".
std::string_view ErrorMessage(EtcdError error);

// Maps an error of the store (store/mvcc_errors.h) to etcd's; other errors
// pass through unchanged.
absl::Status FromStoreError(const absl::Status& status);

}  // namespace keel::node

#endif  // KEEL_NODE_ERRORS_H_
