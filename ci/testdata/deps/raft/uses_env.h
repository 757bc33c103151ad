// raft may use runtime's leaf headers, not the Env.
#include "proto/raft.pb.h"
#include "runtime/assert.h"
#include "runtime/env.h"  // want: raft -> runtime
#include "runtime/strings.h"
#include "store/wal.h"  // want: raft -> store
