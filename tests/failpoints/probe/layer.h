// A layer whose type differs between the builds, as raft/config.h does.
#ifndef KEEL_TESTS_FAILPOINTS_PROBE_LAYER_H_
#define KEEL_TESTS_FAILPOINTS_PROBE_LAYER_H_

#include "runtime/failpoints.h"

namespace probe {

KEEL_FAILPOINT_BUILD_TAG();

struct Options {
  int value = 1;
#if KEEL_FAILPOINTS
  bool bug = false;
#endif
};

int Layer(const Options& options);

}  // namespace probe

#endif  // KEEL_TESTS_FAILPOINTS_PROBE_LAYER_H_
