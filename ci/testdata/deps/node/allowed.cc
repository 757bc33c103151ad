// Edges node may have, and forbidden ones that are not includes.
#include "client/etcd_client.h"
#include "net/server.h"
#include "raft/raw_node.h"
#include "store/mvcc.h"
#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "local.h"
// #include "sim/sim_world.h"
/* #include "tools/flags.h"
#include "sim/sim_world.h" */
const char* kText = "// #include \"sim/sim_world.h\"";
const char* kRaw = R"(
#include "sim/sim_world.h"
)";
const long kBig = 1'000'000;  // a digit separator is no character literal
const char kQuote = '"';
#include "proto/rpc.pb.h"
