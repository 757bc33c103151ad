// Violation formatting; see violation.h.
#include "check/violation.h"

#include "runtime/strings.h"

namespace keel::check {

std::string FormatViolation(const Violation& v) {
  std::string out = StrCat("[", v.checker, "/", v.property, "]");
  if (!v.ops.empty()) {
    out.append(v.ops.size() == 1 ? " op " : " ops ");
    for (size_t i = 0; i < v.ops.size(); ++i) {
      if (i > 0) out.append(", ");
      StrAppend(&out, v.ops[i]);
    }
  }
  StrAppend(&out, ": ", v.explanation);
  if (!v.expected.empty()) StrAppend(&out, "\n    expected ", v.expected);
  return out;
}

}  // namespace keel::check
