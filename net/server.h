// Server: the client port. Accepts connections on a keel Listener and serves
// each with gRPC over HTTP/2 or with HTTP/1.1, on the same port.
//
// Each accepted connection gets a driver coroutine that reads until it can
// tell the protocol: bytes that begin the HTTP/2 client preface
// ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") go to an Http2ServerSession serving
// the GrpcServer's methods, anything else to an Http1Connection serving the
// HttpRouter's routes. Everything goes through keel's Network, so the same
// server runs on sockets and in the simulator.
//
// Shutdown(grace) stops accepting, sends GOAWAY on every HTTP/2 connection
// and closes idle HTTP/1.1 ones, waits up to `grace` for calls in flight to
// finish, and then cuts whatever is left.
#ifndef KEEL_NET_SERVER_H_
#define KEEL_NET_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "net/grpc_server.h"
#include "net/http1_connection.h"
#include "net/http2_server_session.h"
#include "net/http2_session.h"
#include "net/http_message.h"
#include "net/task_group.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/task.h"

namespace keel::net {

// etcd's --grpc-keepalive-interval and --grpc-keepalive-timeout defaults.
inline constexpr Duration kDefaultKeepaliveInterval = Seconds(2 * 3600);
inline constexpr Duration kDefaultKeepaliveTimeout = Seconds(20);

struct ServerOptions {
  Http2PumpOptions http2{.keepalive_interval = kDefaultKeepaliveInterval,
                         .keepalive_timeout = kDefaultKeepaliveTimeout};
  Http1Options http1;
};

class Server {
 public:
  // `clock`, `grpc` and `http` must outlive the server.
  Server(Clock& clock, const GrpcServer& grpc, const HttpRouter& http,
         ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Abrupt: destroys every connection and handler still running.
  ~Server();

  // Starts accepting on `listener` in the background, charged to the
  // calling process. Call once. Does not suspend.
  void Start(std::unique_ptr<Listener> listener);

  // The listener's address ("127.0.0.1:2379"); empty before Start().
  std::string address() const;

  // Graceful stop as described above. Idempotent. Suspends.
  Task<void> Shutdown(Duration grace);

  // Connections being served (including ones still being sniffed).
  size_t connection_count() const { return connections_.size(); }

  // Serves one connection to its end: sniffs, then runs HTTP/2 or HTTP/1.1.
  // Public so tests and tools can serve a connection they made themselves.
  // Suspends.
  Task<void> ServeConnection(std::unique_ptr<Connection> connection);

 private:
  // What Shutdown() needs to reach a live connection; lives in the
  // connection's driver frame.
  struct Entry {
    Connection* connection = nullptr;
    Http2ServerSession* http2 = nullptr;
    Http1Connection* http1 = nullptr;
  };
  class Registration;

  Task<void> AcceptLoop();

  Clock& clock_;
  const GrpcServer& grpc_;
  const HttpRouter& http_;
  const ServerOptions options_;
  std::unique_ptr<Listener> listener_;
  std::string address_;
  uint64_t accept_task_ = 0;
  uint64_t next_connection_ = 1;
  std::map<uint64_t, Entry*> connections_;
  bool shutting_down_ = false;
  // Declared last: connection frames go before the state they use.
  TaskGroup tasks_;
};

}  // namespace keel::net

#endif  // KEEL_NET_SERVER_H_
