// The checkers check histories from anywhere: nothing of the simulator.
#include "check/history.h"
#include "runtime/assert.h"
#include "sim/sim_world.h"  // want: check -> sim
