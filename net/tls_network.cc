// TLS listeners and dialling.
#include "net/tls_network.h"

#include <utility>

#include "net/tls_connection.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

class TlsListener final : public Listener {
 public:
  TlsListener(std::unique_ptr<Listener> inner, std::shared_ptr<TlsContext> context, Env& env)
      : inner_(std::move(inner)), context_(std::move(context)), env_(env) {}

  Task<absl::StatusOr<std::unique_ptr<Connection>>> Accept() override {
    absl::StatusOr<std::unique_ptr<Connection>> accepted = co_await inner_->Accept();
    if (!accepted.ok()) co_return accepted.status();
    co_return std::unique_ptr<Connection>(
        TlsConnection::Accept(std::move(*accepted), context_, env_));
  }
  std::string address() const override { return inner_->address(); }

 private:
  std::unique_ptr<Listener> inner_;
  std::shared_ptr<TlsContext> context_;
  Env& env_;
};

}  // namespace

std::unique_ptr<Listener> TlsListen(std::unique_ptr<Listener> listener,
                                    std::shared_ptr<TlsContext> server, Env& env) {
  return std::make_unique<TlsListener>(std::move(listener), std::move(server), env);
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> TlsDial(Network& network,
                                                          std::shared_ptr<TlsContext> client,
                                                          Env& env, std::string address) {
  std::string host;
  uint16_t port = 0;
  absl::Status split = SplitHostPort(address, &host, &port);
  if (!split.ok()) co_return split;
  absl::StatusOr<std::unique_ptr<Connection>> plain = co_await network.Connect(address);
  if (!plain.ok()) co_return plain.status();
  absl::StatusOr<std::unique_ptr<TlsConnection>> secured =
      co_await TlsConnection::Connect(std::move(*plain), std::move(client), env, host);
  if (!secured.ok()) {
    co_return absl::UnavailableError(StrCat("connection to ", address,
                                            " failed: ", secured.status().message()));
  }
  co_return std::unique_ptr<Connection>(std::move(*secured));
}

absl::StatusOr<std::unique_ptr<Listener>> TlsNetwork::Listen(std::string_view address) {
  if (server_ == nullptr) return absl::FailedPreconditionError("TLS listener without a server context");
  absl::StatusOr<std::unique_ptr<Listener>> inner = env_.net().Listen(address);
  if (!inner.ok()) return inner.status();
  return TlsListen(std::move(*inner), server_, env_);
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> TlsNetwork::Connect(std::string_view address) {
  if (client_ == nullptr) {
    co_return absl::FailedPreconditionError("TLS dial without a client context");
  }
  co_return co_await TlsDial(env_.net(), client_, env_, std::string(address));
}

}  // namespace keel::net
