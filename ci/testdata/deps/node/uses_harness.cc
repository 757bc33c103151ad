// Library code may not include test support, even along an allowed edge.
#include "net/server.h"
#include "net/testing/server_harness.h"  // want: node -> net
#include "node/lease_testing.h"  // want: node -> node
