// TlsConnection: TLS (OpenSSL) over any keel Connection, through memory BIOs.
//
// OpenSSL never touches a socket here: bytes read from the inner connection
// are fed to a memory BIO, and what OpenSSL writes to its output BIO is
// written to the inner connection. So the same code runs over real sockets
// and over the simulator's network. Time and randomness come from the Env:
// certificates are verified at env.clock().WallUnixMicros(), and with env
// randomness on (net/tls_random.h: the simulator and tests) every random
// byte of a handshake comes from env.random(). What is not deterministic
// in production, on purpose: OpenSSL's own DRBG supplies the randomness
// (keel's Random is not cryptographic); that path is tested on real
// sockets only.
//
// A server-side connection (Accept) handshakes on its first Read or Write,
// so an accept loop never waits on a slow client; a failed handshake is
// logged with the remote address ("rejected connection", as etcd logs it)
// and fails that Read or Write with Unavailable. A plaintext HTTP request on
// a TLS port gets Go's answer ("HTTP/1.0 400 Bad Request ... Client sent an
// HTTP request to an HTTPS server.") before the connection closes. A
// client-side connection (Connect) handshakes before it is returned.
//
// One Read and one Write may run at once (the HTTP/2 pumps do that); the
// output of both goes out in the order OpenSSL produced it. Close() cannot
// suspend, so it sends no close_notify: the peer sees the end of the stream,
// which every HTTP/2 and gRPC peer treats as the close.
#ifndef KEEL_NET_TLS_CONNECTION_H_
#define KEEL_NET_TLS_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/tls_context.h"
#include "runtime/env.h"
#include "runtime/network.h"
#include "runtime/sync.h"
#include "runtime/task.h"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace keel::net {

class TlsConnection final : public Connection {
 public:
  // Server side over an accepted connection; the handshake waits for the
  // first Read or Write. `context` must be a server context. Does not
  // suspend.
  static std::unique_ptr<TlsConnection> Accept(std::unique_ptr<Connection> inner,
                                               std::shared_ptr<TlsContext> context, Env& env);

  // Client side: handshakes over `inner` and returns the connection, or
  // Unavailable with OpenSSL's reason ("certificate verify failed: certificate
  // has expired"). The server's certificate must be valid for `server_name`
  // (a host name or an IP address; empty: any name), unless the context
  // skips verification. Suspends.
  static Task<absl::StatusOr<std::unique_ptr<TlsConnection>>> Connect(
      std::unique_ptr<Connection> inner, std::shared_ptr<TlsContext> context, Env& env,
      std::string server_name);

  ~TlsConnection() override;

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override;
  Task<absl::Status> Write(std::string_view data) override;
  void Close() override;
  std::string local_address() const override { return inner_->local_address(); }
  std::string peer_address() const override { return inner_->peer_address(); }

  // Runs the handshake if it has not run, and returns its outcome. Other
  // callers wait for the one running it. Suspends.
  Task<absl::Status> Handshake();

  // After a handshake: the ALPN protocol agreed ("h2"; empty if none) and
  // the Common Name of the peer's certificate (empty without one).
  std::string alpn_protocol() const;
  std::string peer_common_name() const;

 private:
  enum class State { kFresh, kRunning, kDone, kFailed };

  TlsConnection(std::unique_ptr<Connection> inner, std::shared_ptr<TlsContext> context, Env& env,
                std::string server_name);
  Task<absl::Status> RunHandshake();
  // Why the last OpenSSL call failed, with the verification result if the
  // peer's certificate was refused; empties OpenSSL's error queue.
  std::string FailureReason(int error);
  absl::Status CheckPeerIdentity();
  // Writes everything OpenSSL has produced to the inner connection, in order.
  Task<absl::Status> Flush();
  // Reads once from the inner connection into OpenSSL's input BIO; 0 at the
  // end of the stream.
  Task<absl::StatusOr<size_t>> Fill();
  Task<void> AnswerPlaintextHttp();

  std::unique_ptr<Connection> inner_;
  std::shared_ptr<TlsContext> context_;
  Env& env_;
  const std::string server_name_;
  SSL* ssl_ = nullptr;
  BIO* input_ = nullptr;   // owned by ssl_
  BIO* output_ = nullptr;  // owned by ssl_
  State state_ = State::kFresh;
  absl::Status handshake_status_;
  Event handshake_done_;
  // Set by the first fatal error after the handshake; every later call fails.
  absl::Status broken_;
  Mutex flushing_;
  std::vector<char> inbound_;
  // The first bytes the peer sent, to recognise a plaintext HTTP client.
  std::string first_bytes_;
};

}  // namespace keel::net

#endif  // KEEL_NET_TLS_CONNECTION_H_
