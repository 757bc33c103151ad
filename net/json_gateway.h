// The JSON gateway: gRPC methods served as HTTP/1.1 POSTs with JSON bodies,
// as grpc-gateway serves them in front of etcd (net/json_mapping.h has the
// mapping and the error shapes).
//
// A route names an HTTP path (under each of the gateway's prefixes) and the
// gRPC method it calls. The gateway does not implement any method: it
// decodes the JSON into the method's request message and calls the very
// handler the GrpcServer registered for that path, so the interceptor chain
// (auth token from `Authorization`, learner refusal, ...), size limits and
// the service logic are the same as over HTTP/2. The request and response
// types come from the method's descriptor in protobuf's generated pool.
//
//  - Unary methods answer with one JSON object (Content-Length).
//  - Streaming methods answer chunked, one {"result":{...}} line per
//    response message, flushed as it is written; the call lives as long as
//    the HTTP request (a watch stays open until the client goes away).
//    A client-streaming method reads every object of the body as one
//    request message, then sees the client's half-close.
//  - Only POST (OPTIONS answers 200 for CORS preflight); anything else is
//    Go's 405 "Method Not Allowed".
//  - Metadata: `Authorization` becomes "authorization" (the auth token),
//    `Grpc-Metadata-NAME` becomes NAME, as grpc-gateway forwards them.
//  - CORS as etcd's handler: with "*" among the origins (or none given),
//    every answer allows "*"; otherwise an allowed Origin is echoed.
#ifndef KEEL_NET_JSON_GATEWAY_H_
#define KEEL_NET_JSON_GATEWAY_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/grpc_server.h"
#include "net/http_message.h"

namespace keel::net {

struct GatewayRoute {
  std::string_view path;    // After the prefix: "kv/range".
  std::string_view method;  // The gRPC path: "/etcdserverpb.KV/Range".
};

struct JsonGatewayOptions {
  // Each route is served under every prefix ("/v3/" + "kv/range").
  std::vector<std::string> prefixes = {"/v3/"};
  // Allowed CORS origins (etcd's --cors); empty or containing "*": any.
  std::vector<std::string> cors_origins;
};

// Registers every route on `http`. `grpc` must outlive the router and
// already hold its methods; the route's method must exist in protobuf's
// generated pool (asserted). A route whose method `grpc` does not serve
// answers Unimplemented (501).
void RegisterJsonGateway(HttpRouter& http, const GrpcServer& grpc,
                         std::span<const GatewayRoute> routes,
                         const JsonGatewayOptions& options);

}  // namespace keel::net

#endif  // KEEL_NET_JSON_GATEWAY_H_
