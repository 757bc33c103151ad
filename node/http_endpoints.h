// The plain-HTTP endpoints etcd serves on its client port: /version and
// /health, with etcd 3.4's bodies, headers and status codes.
#ifndef KEEL_NODE_HTTP_ENDPOINTS_H_
#define KEEL_NODE_HTTP_ENDPOINTS_H_

#include "net/http_message.h"
#include "node/raft_node.h"
#include "node/read_index.h"
#include "runtime/clock.h"

namespace keel::node {

// The references must outlive the router's use of them.
void RegisterHttpEndpoints(net::HttpRouter& http, Clock& clock, const RaftNode& raft,
                           ReadIndexBatcher& reads);
// /health alone (the metrics listeners serve it beside /metrics, as etcd's
// do).
void RegisterHealthEndpoint(net::HttpRouter& http, Clock& clock, const RaftNode& raft,
                            ReadIndexBatcher& reads);

}  // namespace keel::node

#endif  // KEEL_NODE_HTTP_ENDPOINTS_H_
