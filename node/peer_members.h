// The peer port's /members endpoint (etcd's peerMembersHandler) and its
// client (etcd's GetClusterFromRemotePeers), through which a member that
// joins a running cluster (--initial-cluster-state existing) learns the
// cluster ID and the members, its own ID among them, before raft starts.
//
// GET /members answers the member list as applied, as etcd encodes it: a
// JSON array of {"id":"<hex>","peerURLs":[...],"isLearner":true,
// "name":"...","clientURLs":[...]} (empty fields omitted), newline ended,
// with the cluster ID in the X-Etcd-Cluster-ID header. The peer listener
// serves it beside raft's connections (net::PeerTransportOptions::
// http_router).
#ifndef KEEL_NODE_PEER_MEMBERS_H_
#define KEEL_NODE_PEER_MEMBERS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http_message.h"
#include "node/member_store.h"
#include "node/membership.h"
#include "node/server_config.h"
#include "runtime/env.h"

namespace keel::node {

// Registers GET /members on `router`; `members` must outlive it.
void RegisterPeerMembersEndpoint(net::HttpRouter& router, const MemberStore& members,
                                 uint64_t cluster_id);

// The body /members answers for `members`.
std::string EncodeMembersJson(const std::vector<Member>& members);
// Parses EncodeMembersJson's output (and etcd's). InvalidArgument if it
// is not such an array.
absl::StatusOr<std::vector<Member>> DecodeMembersJson(std::string_view json);

struct RemoteCluster {
  uint64_t cluster_id = 0;
  std::vector<Member> members;
};

// Asks each peer URL in turn for /members until one answers; each try is
// bounded by `timeout`. Unavailable "could not retrieve cluster information
// from the given URLs" if none does. Suspends.
Task<absl::StatusOr<RemoteCluster>> FetchClusterFromPeers(Env& env,
                                                          std::vector<std::string> peer_urls,
                                                          Duration timeout);

// etcd's ValidateClusterAndAssignIDs for a joining member: the members
// --initial-cluster names (`local`) must be exactly the running cluster's,
// matched by peer URLs; returns `local` with the remote IDs, names and
// learner flags. FailedPrecondition otherwise, in etcd's words.
absl::StatusOr<std::vector<Member>> MatchJoiningMembers(const std::vector<Member>& local,
                                                        const RemoteCluster& remote);

}  // namespace keel::node

#endif  // KEEL_NODE_PEER_MEMBERS_H_
