#include "layer.h"

namespace probe {

KEEL_FAILPOINT_BUILD_TAG_DEFINITION();

int Layer(const Options& options) { return options.value; }

}  // namespace probe
