// Putting a member together: server, services, listeners.
#include "node/node.h"

#include "net/health_service.h"
#include "node/services.h"
#include "node/server_config.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

Task<absl::StatusOr<std::unique_ptr<Node>>> Node::Start(
    Env& env, ServerConfig config, NodeOptions options) {
  std::unique_ptr<Node> member(new Node(env, std::move(options)));
  auto server = co_await Server::Open(env, std::move(config), member->options_.storage);
  if (!server.ok()) co_return server.status();
  member->server_ = std::move(*server);
  Server& s = *member->server_;

  net::GrpcServerOptions grpc_options;
  // etcd: --max-request-bytes plus gRPC's framing overhead.
  grpc_options.max_receive_message_bytes =
      static_cast<size_t>(s.config().max_request_bytes) + 512 * 1024;
  member->grpc_.set_options(grpc_options);
  RegisterKvService(member->grpc_, s);
  RegisterMaintenanceService(member->grpc_, s);
  RegisterClusterService(member->grpc_, s);
  member->health_.Register(member->grpc_);
  member->watch_service_ = std::make_unique<WatchService>(
      s.watch_hub(), env.clock(), env.random(),
      [&s] { return s.Header(); }, [&s] { return s.leader() != 0; },
      member->options_.watch);
  RegisterWatchService(member->grpc_, *member->watch_service_);
  // Its forwarding channel to the leader runs in this (the member's) process.
  member->lease_service_ = std::make_unique<LeaseService>(s);
  RegisterLeaseService(member->grpc_, *member->lease_service_);
  RegisterHttpEndpoints(member->http_, s);

  absl::Status started = s.Start();
  if (!started.ok()) co_return started;
  absl::Status listening = member->Listen();
  if (!listening.ok()) co_return listening;
  co_return member;
}

absl::Status Node::Listen() {
  for (const std::string& url : server_->config().listen_client_urls) {
    KEEL_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
    if (parsed.scheme != "http") {
      return absl::UnimplementedError(
          StrCat("--listen-client-urls ", url, ": TLS is not supported yet"));
    }
    auto listener = env_.net().Listen(parsed.HostPort());
    if (!listener.ok()) {
      return absl::Status(listener.status().code(),
                          StrCat("listen on ", url, ": ", listener.status().message()));
    }
    auto server = std::make_unique<net::Server>(env_.clock(), grpc_, http_);
    server->Start(std::move(*listener));
    env_.log().Info("serving client traffic", {{"address", server->address()}});
    listeners_.push_back(std::move(server));
  }
  return absl::OkStatus();
}

Node::~Node() {
  // Connections first: their handlers use the services and the server.
  listeners_.clear();
  watch_service_.reset();
  lease_service_.reset();
  server_.reset();
}

Task<void> Node::Stop(Duration grace) {
  for (auto& listener : listeners_) co_await listener->Shutdown(grace);
  co_await server_->Stop();
}

std::vector<std::string> Node::client_addresses() const {
  std::vector<std::string> out;
  for (const auto& listener : listeners_) out.push_back(listener->address());
  return out;
}

}  // namespace keel::node
