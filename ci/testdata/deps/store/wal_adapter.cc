// A store file that reaches up into raft: the edge the layering forbids.
#include "proto/raft.pb.h"
#include "raft/storage.h"  // want: store -> raft
#include "runtime/env.h"
#include "store/wal.h"
