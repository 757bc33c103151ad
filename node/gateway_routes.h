// etcd's JSON gateway on the client port: every route etcd 3.4's
// grpc-gateway serves (rpc.proto's google.api.http paths), under /v3/,
// /v3beta/ and /v3alpha/ (etcd 3.4 serves the first two; 3.3's clients
// still default to the last). net/json_gateway.h does the serving: each
// route calls the gRPC method's own registered handler.
#ifndef KEEL_NODE_GATEWAY_ROUTES_H_
#define KEEL_NODE_GATEWAY_ROUTES_H_

#include <span>
#include <string>
#include <vector>

#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/json_gateway.h"

namespace keel::node {

// The routes, one per HTTP path. Serving another service over the gateway
// (v3lock's /v3/lock/lock, v3election's /v3/election/campaign, ...) is one
// entry here each, once its methods are registered on the GrpcServer.
std::span<const net::GatewayRoute> EtcdGatewayRoutes();

// Registers every route under every prefix; `cors_origins` as etcd's
// --cors. `grpc` must hold the methods' handlers and outlive `http`.
void RegisterEtcdGateway(net::HttpRouter& http, const net::GrpcServer& grpc,
                         std::vector<std::string> cors_origins);

}  // namespace keel::node

#endif  // KEEL_NODE_GATEWAY_ROUTES_H_
