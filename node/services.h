// The client-facing services of a member, registered with net's gRPC
// registry and HTTP router: KV, Maintenance (Status, Hash, HashKV), Cluster
// (MemberList), gRPC health, and the HTTP /health and /version endpoints.
// Each handler is a thin adapter: it applies etcd's interceptor rules (the
// `hasleader` metadata), calls the Server, and fills the response header.
// Watch and Lease register themselves from their own files.
#ifndef KEEL_NODE_SERVICES_H_
#define KEEL_NODE_SERVICES_H_

#include <string_view>

#include "net/grpc_server.h"
#include "net/http_message.h"
#include "node/server.h"

namespace keel::node {

// The etcd version keel reports (Status.version, /version): the API it
// speaks, so clients that gate features on the server version treat keel
// as the etcd 3.4 it is compatible with.
inline constexpr std::string_view kEtcdServerVersion = "3.4.23";
inline constexpr std::string_view kEtcdClusterVersion = "3.4.0";

void RegisterKvService(net::GrpcServer& grpc, Server& server);
void RegisterMaintenanceService(net::GrpcServer& grpc, Server& server);
void RegisterClusterService(net::GrpcServer& grpc, Server& server);
void RegisterHttpEndpoints(net::HttpRouter& http, Server& server);

// etcd's rule for requests that carry `hasleader: true`: fail with
// "etcdserver: no leader" while the member knows no leader.
absl::Status CheckLeaderRequirement(const net::CallContext& context,
                                    const Server& server);

// Makes a write whose gRPC deadline passes before it is applied answer as
// etcd does, with Server::ProposalTimeout's error for a proposal made now,
// instead of gRPC's "context deadline exceeded" (which etcd sends for reads).
void AnswerDeadlineAsProposalTimeout(net::CallContext& context, Server& server);

// The member's on-disk key-space size in bytes (the LevelDB files).
int64_t DbSizeBytes(Server& server);

}  // namespace keel::node

#endif  // KEEL_NODE_SERVICES_H_
