// The durability checker: an acknowledged write stays visible until a later
// write replaces it, whatever crashed in between.
//
//   lost-write   a read at revision h that saw key k last modified at m, or
//                saw k absent, while an acknowledged write of k created a
//                revision r with m < r <= h (for a put: the read would show
//                r or later; for a delete: the key would have been
//                re-created after r). Absence only counts when nothing else
//                could have deleted the key: no acknowledged range delete,
//                no unknown-outcome write touching it, no lease on it.
//   final-state  the final read-out (ranges marked final) happened at a
//                revision no older than any acknowledged write, and shows
//                every key's last acknowledged write unless it was replaced.
//
// It needs no linearization, so it also explains the failures the
// linearizability checker reports in the plainest terms.
#ifndef KEEL_CHECK_DURABILITY_CHECKER_H_
#define KEEL_CHECK_DURABILITY_CHECKER_H_

#include <string>
#include <vector>

#include "check/history.h"
#include "check/violation.h"

namespace keel::check {

struct DurabilityResult {
  std::vector<Violation> violations;
  std::vector<std::string> notes;
};

DurabilityResult CheckDurability(const History& history, size_t max_violations = 50);

}  // namespace keel::check

#endif  // KEEL_CHECK_DURABILITY_CHECKER_H_
