// The lease checker:
//
//   single-revision  the keys of a revoked or expired lease vanish in one
//                    revision: once one of them is seen gone (with nothing
//                    else able to delete it), none may still be seen
//                    attached at that revision or later;
//   early-expiry     a lease does not expire while kept alive: a grant or
//                    keepalive sent at time t and answered with TTL s keeps
//                    it alive until t + s (sending time is the conservative
//                    end: the leader refreshes later, never earlier), unless
//                    it was revoked; and a lease seen expired is never
//                    renewed again;
//   ttl              TimeToLive never reports more remaining time than was
//                    granted, its granted TTL is the one the grant returned,
//                    and a keepalive never reports more than was granted.
//
// A lease is seen expired by a keepalive answered TTL 0, a TimeToLive
// answered -1, or (with the committed history) a key of the lease that a
// read found gone or a watch saw deleted at a revision the linearization
// attributes to the lease's expiry, provided no unknown-outcome operation
// could have deleted that key instead. Times are the clients' clocks; for
// real clusters give a tolerance for clock error.
#ifndef KEEL_CHECK_LEASE_CHECKER_H_
#define KEEL_CHECK_LEASE_CHECKER_H_

#include <cstdint>
#include <vector>

#include "check/history.h"
#include "check/linearizability.h"
#include "check/violation.h"

namespace keel::check {

struct LeaseOptions {
  int64_t clock_tolerance_ns = 0;
  size_t max_violations = 50;
};

std::vector<Violation> CheckLeases(const History& history, const CommittedHistory* committed,
                                   const LeaseOptions& options = {});

}  // namespace keel::check

#endif  // KEEL_CHECK_LEASE_CHECKER_H_
