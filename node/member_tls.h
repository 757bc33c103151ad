// The member's TLS contexts, from its flags (etcd's ClientTLSInfo and
// PeerTLSInfo).
//
// Client side: one server context for every https client URL
// (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth,
// --client-crl-file, --client-cert-allowed-hostname). ALPN: http/1.1 to a
// client that offers it (curl: /health, /version, the JSON gateway), h2 to
// one that offers h2 alone (every gRPC client). Peer side: a server
// context for the peer listener and a client context for dialling peers,
// both with the peer certificate (--peer-* flags); peers verify each
// other's certificates against --peer-trusted-ca-file, except with
// --peer-auto-tls, where (as in etcd) a self-signed peer is accepted
// without verification. --cipher-suites, --tls-min-version and
// --tls-max-version apply to both sides. With --auto-tls/--peer-auto-tls and
// no files, a self-signed pair is made in <data-dir>/fixtures/{client,peer}
// for the hosts of the listen URLs.
//
// Errors are start-up errors naming the flag at fault (InvalidArgument).
#ifndef KEEL_NODE_MEMBER_TLS_H_
#define KEEL_NODE_MEMBER_TLS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "net/tls_context.h"
#include "node/server_config.h"
#include "runtime/env.h"

namespace keel::node {

// The client listeners' context; null when client TLS is off.
absl::StatusOr<std::shared_ptr<net::TlsContext>> ClientTlsContext(Env& env,
                                                                  const ServerConfig& config);

struct PeerTlsContexts {
  std::shared_ptr<net::TlsContext> server;  // null when peer TLS is off
  std::shared_ptr<net::TlsContext> client;
};
absl::StatusOr<PeerTlsContexts> PeerTlsContextsFor(Env& env, const ServerConfig& config);

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBER_TLS_H_
