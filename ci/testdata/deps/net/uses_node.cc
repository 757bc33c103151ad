// net knows nothing of node; and outside tests, nothing of sim.
#include "net/server.h"
#include "node/server.h"  // want: net -> node
#include "sim/sim_network.h"  // want: net -> sim
