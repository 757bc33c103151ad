// Putting a member together: server, services, listeners.
#include "node/node.h"

#include <algorithm>

#include "net/health_service.h"
#include "net/tls_network.h"
#include "node/http_endpoints.h"
#include "node/member_tls.h"
#include "node/self_repair.h"
#include "node/server_config.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

Task<absl::StatusOr<std::unique_ptr<Node>>> Node::Start(
    Env& env, ServerConfig config, NodeOptions options) {
  std::unique_ptr<Node> member(new Node(env, std::move(options)));
  // Checked before any file is made for --auto-tls.
  KEEL_CO_RETURN_IF_ERROR(config.Validate());
  absl::StatusOr<std::shared_ptr<net::TlsContext>> client_tls = ClientTlsContext(env, config);
  if (!client_tls.ok()) co_return client_tls.status();
  member->client_tls_ = std::move(*client_tls);
  auto server = co_await Server::Open(env, std::move(config), member->options_.storage);
  if (!server.ok()) co_return server.status();
  member->server_ = std::move(*server);
  Server& s = *member->server_;
  net::GrpcServerOptions grpc_options;
  // etcd: --max-request-bytes plus gRPC's framing overhead.
  grpc_options.max_receive_message_bytes =
      static_cast<size_t>(s.config().max_request_bytes) + 512 * 1024;
  member->grpc_.set_options(grpc_options);
  member->services_ = std::make_unique<MemberServices>(env, s, member->options_.watch);
  member->services_->Register(member->grpc_, member->http_);
  member->metrics_ = std::make_unique<MetricsSources>(MetricsSources{
      .server = s,
      .grpc = member->grpc_,
      .defragmenter = member->services_->maintenance().defragmenter(),
      .level = s.config().metrics == "extensive" ? MetricsLevel::kExtensive
                                                 : MetricsLevel::kBasic,
      .process = member->options_.process_metrics});
  RegisterMetricsEndpoint(member->http_, *member->metrics_);
  RegisterMetricsEndpoint(member->metrics_http_, *member->metrics_);
  RegisterHealthEndpoint(member->metrics_http_, env.clock(), s.raft(), s.reads());
  absl::Status started = s.Start();
  if (!started.ok()) co_return started;
  if (s.config().initial_corrupt_check) {
    // Before any client is served, as etcd checks.
    absl::Status checked = co_await s.corruption_checker().InitialCheck();
    if (!checked.ok()) {
      if (IsKeySpaceDamage(checked)) s.MarkKeySpaceForRepair(checked);
      co_await s.Stop();
      co_return checked;
    }
  }
  absl::Status listening = member->Listen();
  if (!listening.ok()) co_return listening;
  co_return member;
}

absl::Status Node::Bind(const std::string& url, net::GrpcServer& grpc, net::HttpRouter& http) {
  KEEL_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  auto listener = env_.net().Listen(parsed.HostPort());
  if (!listener.ok()) {
    return absl::Status(listener.status().code(),
                        StrCat("listen on ", url, ": ", listener.status().message()));
  }
  bound_addresses_.push_back((*listener)->address());
  if (parsed.scheme == "https") {
    // Validate() saw to it that an https URL has client TLS.
    KEEL_ASSERT(client_tls_ != nullptr);
    *listener = net::TlsListen(std::move(*listener), client_tls_, env_);
  }
  bound_.push_back(std::move(*listener));
  // HTTP/1.1 bodies carry the gateway's JSON: base64 makes a request that
  // gRPC would accept a third larger.
  net::ServerOptions options;
  options.http1.max_body_bytes = std::max(
      options.http1.max_body_bytes, grpc.options().max_receive_message_bytes / 3 * 4 + 64 * 1024);
  listeners_.push_back(std::make_unique<net::Server>(env_.clock(), grpc, http, options));
  return absl::OkStatus();
}

absl::Status Node::Listen() {
  const ServerConfig& config = server_->config();
  for (const std::string& url : config.listen_client_urls) {
    KEEL_RETURN_IF_ERROR(Bind(url, grpc_, http_));
  }
  client_listener_count_ = listeners_.size();
  for (const std::string& url : config.listen_metrics_urls) {
    KEEL_RETURN_IF_ERROR(Bind(url, metrics_grpc_, metrics_http_));
  }
  tasks_ = std::make_unique<net::TaskGroup>(env_.clock().executor());
  tasks_->Start(ServeWhenReady());
  return absl::OkStatus();
}

Task<void> Node::ServeWhenReady() {
  co_await server_->ready().Wait();
  KEEL_ASSERT(bound_.size() == listeners_.size());
  for (size_t i = 0; i < listeners_.size(); i++) {
    listeners_[i]->Start(std::move(bound_[i]));
    env_.log().Info(i < client_listener_count_ ? "serving client traffic" : "serving metrics",
                    {{"address", bound_addresses_[i]}});
  }
  bound_.clear();
  serving_ = true;
}

Node::~Node() {
  // The waiting task, then connections: their handlers use the services
  // and the server.
  tasks_.reset();
  listeners_.clear();
  bound_.clear();
  services_.reset();
  server_.reset();
}

Task<void> Node::Stop(Duration grace) {
  if (tasks_ != nullptr) tasks_->CancelAll();
  if (serving_) {
    for (auto& listener : listeners_) co_await listener->Shutdown(grace);
  }
  bound_.clear();
  co_await server_->Stop();
}

std::vector<std::string> Node::client_addresses() const {
  return {bound_addresses_.begin(), bound_addresses_.begin() + client_listener_count_};
}

std::vector<std::string> Node::metrics_addresses() const {
  return {bound_addresses_.begin() + client_listener_count_, bound_addresses_.end()};
}

}  // namespace keel::node
