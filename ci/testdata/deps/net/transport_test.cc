// A test may use the simulator and other folders' test support.
#include "net/testing/pipe_connection.h"
#include "runtime/task.h"
#include "sim/sim_testing.h"
#include "sim/sim_world.h"
