// The errors of the MVCC key space that callers branch on.
//
// Each carries etcd's message, so node/errors.cc can map it to the exact
// gRPC status etcd clients expect (for example ErrCompacted becomes
// OutOfRange "etcdserver: mvcc: required revision has been compacted").
// Everything else the store returns is Internal or DataLoss from LevelDB,
// after which the server must stop applying.
#ifndef KEEL_STORE_MVCC_ERRORS_H_
#define KEEL_STORE_MVCC_ERRORS_H_

#include "absl/status/status.h"

namespace keel::store {

// OutOfRange "mvcc: required revision has been compacted".
absl::Status ErrCompacted();
// OutOfRange "mvcc: required revision is a future revision".
absl::Status ErrFutureRev();
// InvalidArgument "etcdserver: key not found" (ignore_value or
// ignore_lease on a missing key).
absl::Status ErrKeyNotFound();
// InvalidArgument "etcdserver: key is not provided".
absl::Status ErrEmptyKey();
// InvalidArgument "etcdserver: value is provided".
absl::Status ErrValueProvided();
// InvalidArgument "etcdserver: lease is provided".
absl::Status ErrLeaseProvided();
// InvalidArgument "etcdserver: duplicate key given in txn request".
absl::Status ErrDuplicateKey();
// NotFound "lease not found" (etcd's lessor error; the gRPC message is
// "etcdserver: requested lease not found").
absl::Status ErrLeaseNotFound();
// FailedPrecondition "mvcc: entry already applied": the raft entry is at or
// below the applied index, so the apply was skipped and changed nothing.
absl::Status ErrAlreadyApplied();

bool IsCompacted(const absl::Status& status);
bool IsFutureRev(const absl::Status& status);
bool IsKeyNotFound(const absl::Status& status);
bool IsEmptyKey(const absl::Status& status);
bool IsValueProvided(const absl::Status& status);
bool IsLeaseProvided(const absl::Status& status);
bool IsDuplicateKey(const absl::Status& status);
bool IsLeaseNotFound(const absl::Status& status);
bool IsAlreadyApplied(const absl::Status& status);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_ERRORS_H_
