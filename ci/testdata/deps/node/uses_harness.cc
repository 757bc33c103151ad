// Library code may not include test support, even along an allowed edge.
#include "net/server.h"
#include "net/testing/server_harness.h"  // want: node -> net
#include "node/testing/sim_members.h"  // want: node -> node
