// --force-new-cluster: a surviving member restarts as the only member of
// its cluster, keeping its data (etcd's restartAsStandaloneNode).
//
// Before raft starts, the member's log loses its uncommitted tail and gains,
// after the last committed entry and committed at once, one conf change
// removing each other member of the configuration as of that entry (and
// adding this member if it is not in it). Applying them leaves a one-voter
// configuration, so the member elects itself and serves; the removed
// members are refused if they come back. The cluster ID and this member's
// ID stay. Nothing happens for a member without a log (a new member).
#ifndef KEEL_NODE_FORCE_NEW_CLUSTER_H_
#define KEEL_NODE_FORCE_NEW_CLUSTER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "node/bootstrap.h"
#include "node/server_config.h"
#include "runtime/env.h"

namespace keel::node {

// The conf changes that make `self` the only member of the configuration
// whose members are `ids`, as log entries from `index` at `term`.
std::vector<raft::Entry> StandaloneConfChanges(const std::vector<uint64_t>& ids,
                                               const Member& self, uint64_t term,
                                               uint64_t index);

// Rewrites the tail of `member`'s log as above. The log's errors;
// FailedPrecondition if the key space is ahead of the log (it was installed
// from a snapshot whose entries are not in the log yet). Suspends (the
// log's sync).
Task<absl::Status> ForceNewCluster(Env& env, const ServerConfig& config,
                                   BootstrappedMember* member);

}  // namespace keel::node

#endif  // KEEL_NODE_FORCE_NEW_CLUSTER_H_
