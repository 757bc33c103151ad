// Uses the layer's header only (an inline use of its type).
#include "layer.h"

namespace probe {

int User() { return Options{}.value + 1; }

}  // namespace probe
