// The release binaries hold no simulator.
#include "node/server.h"
#include "sim/sim_world.h"  // want: tools -> sim
