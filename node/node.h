// Node: a whole keel member as an operator runs it: the Server plus its
// client-facing services (KV, Watch, Lease, Maintenance, Cluster over gRPC,
// HTTP /health and /version, on every --listen-client-urls) and
// its peer listener. tools/keel runs one in production; keel-sim's cluster
// scenario runs several on simulated machines, through the same code.
#ifndef KEEL_NODE_NODE_H_
#define KEEL_NODE_NODE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "net/health_service.h"
#include "net/http_message.h"
#include "net/server.h"
#include "node/lease_service.h"
#include "node/server.h"
#include "node/watch_service.h"
#include "runtime/env.h"

namespace keel::node {

struct NodeOptions {
  NodeOptions() {}
  StorageOptions storage;
  WatchServiceOptions watch;
};

class Node {
 public:
  // Opens the server, registers every service, listens on the client URLs
  // and starts everything. Must run in a coroutine of env's process, which
  // then owns the member. Errors: the Server's, and Listen's for a client
  // URL (address in use). Suspends.
  static Task<absl::StatusOr<std::unique_ptr<Node>>> Start(
      Env& env, ServerConfig config, NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Graceful stop: client connections get `grace` to finish, then the
  // server stops. Suspends.
  Task<void> Stop(Duration grace);

  Server& server() { return *server_; }
  LeaseService& lease_service() { return *lease_service_; }
  // The client addresses actually bound ("127.0.0.1:2379").
  std::vector<std::string> client_addresses() const;

 private:
  Node(Env& env, NodeOptions options) : env_(env), options_(std::move(options)) {}
  absl::Status Listen();

  Env& env_;
  const NodeOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<WatchService> watch_service_;
  std::unique_ptr<LeaseService> lease_service_;
  net::GrpcServer grpc_;
  net::HealthService health_;
  net::HttpRouter http_;
  std::vector<std::unique_ptr<net::Server>> listeners_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_NODE_H_
