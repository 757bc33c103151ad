// What a checker reports when a history breaks a guarantee.
#ifndef KEEL_CHECK_VIOLATION_H_
#define KEEL_CHECK_VIOLATION_H_

#include <string>
#include <vector>

#include "check/history.h"

namespace keel::check {

struct Violation {
  std::string checker;      // "linearizability", "watch", "lease", "durability"
  std::string property;     // e.g. "real-time", "response", "reliable"
  std::vector<OpId> ops;    // the operations involved, fewest that show it
  std::string explanation;  // for humans
  std::string expected;     // the state the model expected, if any
};

// Multi-line text: "[checker/property] ops 3, 7: explanation\n  expected: ...".
std::string FormatViolation(const Violation& v);

}  // namespace keel::check

#endif  // KEEL_CHECK_VIOLATION_H_
