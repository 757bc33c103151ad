// runtime is below the protos' users and needs none of them.
#include "proto/raft.pb.h"  // want: runtime -> proto
#include "runtime/task.h"
