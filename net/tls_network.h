// TLS over keel's Network: a listener whose connections speak TLS, and a
// Network that layers TLS over another one for both directions.
//
// The peer transport and the gRPC client take a Network; handing them a
// TlsNetwork instead of env.net() is all it takes to make them speak TLS.
// Accepted connections handshake on their first use (TlsConnection::Accept),
// so a slow or hostile client never holds up an accept loop; dialled ones
// handshake before Connect returns, and the server's certificate must be
// valid for the host of the address dialled.
#ifndef KEEL_NET_TLS_NETWORK_H_
#define KEEL_NET_TLS_NETWORK_H_

#include <memory>
#include <string>
#include <string_view>

#include "net/tls_context.h"
#include "runtime/env.h"
#include "runtime/network.h"

namespace keel::net {

// Wraps every connection `listener` accepts in a server-side TlsConnection.
// `env` must outlive the listener and its connections.
std::unique_ptr<Listener> TlsListen(std::unique_ptr<Listener> listener,
                                    std::shared_ptr<TlsContext> server, Env& env);

// Connects through `network` and handshakes as a client. Unavailable when
// the connection or the handshake fails (the handshake's reason in the
// message). Suspends.
Task<absl::StatusOr<std::unique_ptr<Connection>>> TlsDial(Network& network,
                                                          std::shared_ptr<TlsContext> client,
                                                          Env& env, std::string address);

class TlsNetwork final : public Network {
 public:
  // `server` serves Listen (may be null: Listen is then FailedPrecondition);
  // `client` serves Connect (may be null likewise). `env` must outlive this.
  TlsNetwork(Env& env, std::shared_ptr<TlsContext> server, std::shared_ptr<TlsContext> client)
      : env_(env), server_(std::move(server)), client_(std::move(client)) {}

  absl::StatusOr<std::unique_ptr<Listener>> Listen(std::string_view address) override;
  Task<absl::StatusOr<std::unique_ptr<Connection>>> Connect(std::string_view address) override;

 private:
  Env& env_;
  std::shared_ptr<TlsContext> server_;
  std::shared_ptr<TlsContext> client_;
};

}  // namespace keel::net

#endif  // KEEL_NET_TLS_NETWORK_H_
