// What a failed etcd request tells its caller about its effect.
//
// A client that records histories (keel-sim's clients, a robustness harness
// against a real cluster) must tell "the request failed and changed
// nothing" from "the request may or may not have happened". etcd's errors
// fall into both groups: "etcdserver: requested lease not found" and
// "etcdserver: mvcc: required revision has been compacted" are decided
// before anything is proposed, while "etcdserver: request timed out", a
// lost connection or an expired deadline leave a proposal that may still
// commit. When in doubt the answer is "may have taken effect": a checker
// that treats a failed write as possible loses nothing but speed, while one
// that trusts a wrong "no effect" reports false violations.
#ifndef KEEL_CLIENT_OUTCOME_H_
#define KEEL_CLIENT_OUTCOME_H_

#include "absl/status/status.h"

namespace keel::client {

// True unless `status` is OK or an error etcd returns only for a request it
// refused before proposing it (invalid arguments, not found, compacted or
// future revisions, failed preconditions, too many requests, permission
// and authentication errors, unimplemented methods). OK is false: a
// success is not "unknown".
bool MayHaveTakenEffect(const absl::Status& status);

// True if a read-only request that failed with `status` may be sent again,
// on another endpoint (clientv3's isSafeRetryImmutableRPC: Unavailable).
bool IsRetryableRead(const absl::Status& status);

}  // namespace keel::client

#endif  // KEEL_CLIENT_OUTCOME_H_
