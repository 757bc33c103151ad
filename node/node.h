// Node: a whole keel member as an operator runs it: the Server plus its
// client-facing services (KV, Watch, Lease, Maintenance, Cluster over gRPC,
// HTTP /health and /version, on every --listen-client-urls) and
// its peer listener. tools/keel runs one in production; keel-sim's cluster
// scenario runs several on simulated machines, through the same code.
#ifndef KEEL_NODE_NODE_H_
#define KEEL_NODE_NODE_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "net/health_service.h"
#include "net/http_message.h"
#include "net/server.h"
#include "net/task_group.h"
#include "net/tls_context.h"
#include "node/member_services.h"
#include "node/metrics_endpoint.h"
#include "node/server.h"
#include "node/watch_service.h"
#include "runtime/env.h"

namespace keel::node {

struct NodeOptions {
  NodeOptions() {}
  StorageOptions storage;
  WatchServiceOptions watch;
  // Appends process_* to /metrics (tools/keel passes
  // metrics::WriteProcessMetrics); empty: none, as in simulation.
  std::function<void(metrics::TextWriter&)> process_metrics;
};

class Node {
 public:
  // Opens the server, registers every service, binds the client URLs and
  // starts everything. Client connections are accepted once the server is
  // ready (its attributes published), as etcd does; until then they wait
  // in the listen backlog. Must run in a coroutine of env's process, which
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
  LeaseService& lease_service() { return services_->lease(); }
  MemberServices& services() { return *services_; }
  // The client addresses actually bound ("127.0.0.1:2379").
  std::vector<std::string> client_addresses() const;
  // The --listen-metrics-urls addresses actually bound.
  std::vector<std::string> metrics_addresses() const;
  // Whether client connections are being accepted (the server is ready).
  bool serving() const { return serving_; }

 private:
  Node(Env& env, NodeOptions options) : env_(env), options_(std::move(options)) {}
  absl::Status Listen();
  // Binds `url` and keeps its listener, serving `grpc` and `http` once the
  // server is ready.
  absl::Status Bind(const std::string& url, net::GrpcServer& grpc, net::HttpRouter& http);
  // Waits for the server to be ready, then serves every bound listener.
  Task<void> ServeWhenReady();

  Env& env_;
  const NodeOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<MemberServices> services_;
  net::GrpcServer grpc_;
  net::HttpRouter http_;
  // /metrics' figures; before the routers that use it.
  std::unique_ptr<MetricsSources> metrics_;
  // --listen-metrics-urls: /metrics and /health only (no gRPC method).
  net::GrpcServer metrics_grpc_;
  net::HttpRouter metrics_http_;
  // The https listeners' TLS context; null without client TLS.
  std::shared_ptr<net::TlsContext> client_tls_;
  std::vector<std::unique_ptr<net::Server>> listeners_;
  // Bound, not yet accepting: handed to listeners_[i] when the server is ready.
  std::vector<std::unique_ptr<Listener>> bound_;
  // Client URLs' first, then --listen-metrics-urls'.
  std::vector<std::string> bound_addresses_;
  size_t client_listener_count_ = 0;
  bool serving_ = false;
  // Runs ServeWhenReady; declared last so it goes first (it uses the rest).
  std::unique_ptr<net::TaskGroup> tasks_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_NODE_H_
