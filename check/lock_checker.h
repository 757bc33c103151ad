// CheckFencedWrites: the lock workload's safety property (doc/locks.md).
//
// Each lock holder writes only through a txn guarded by its lock key's
// create revision, the fencing token: `If(create_revision(key) == token)
// Then(put ...)`. Holders of one lock follow each other in token order, so
// the acknowledged fenced writes, in the order of the revisions they
// committed at, must carry tokens that never decrease: once a holder with
// a higher token has written, no write of an earlier holder may commit.
// A lock that answered a second holder while the first still held it
// lets their writes interleave (5, 7, 5), which this reports.
//
// Only acknowledged writes are checked; a write whose outcome the client
// does not know adds nothing (its revision is unknown).
#ifndef KEEL_CHECK_LOCK_CHECKER_H_
#define KEEL_CHECK_LOCK_CHECKER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "check/violation.h"

namespace keel::check {

// One acknowledged fenced write.
struct FencedWrite {
  int client = 0;
  std::string lock;      // the lock's name
  int64_t token = 0;     // the holder's lock key create revision
  int64_t revision = 0;  // the revision the write committed at
};

// Violations of property "fencing" (interleaved holders) and "revision"
// (two acknowledged writes at one revision), at most `max_violations`.
std::vector<Violation> CheckFencedWrites(std::vector<FencedWrite> writes,
                                         size_t max_violations = 20);

}  // namespace keel::check

#endif  // KEEL_CHECK_LOCK_CHECKER_H_
