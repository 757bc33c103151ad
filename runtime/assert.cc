// The failure path of KEEL_ASSERT: one line on stderr, then abort.
#include "runtime/assert.h"

#include <cstdio>
#include <cstdlib>

namespace keel::internal {

void AssertFail(const char* condition, const char* file, int line,
                const char* message) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s%s%s\n", file, line,
               condition, message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace keel::internal
