// PosixNetwork: keel's Network on nonblocking TCP sockets and the epoll loop.
//
// Every socket is nonblocking, close-on-exec and TCP_NODELAY (raft and gRPC
// send small latency-bound messages), and registered with the loop once.
// Reads and writes try the syscall first and wait for readiness only on
// EAGAIN; Write suspends on a full send buffer until every byte is queued.
// Addresses are "host:port" where host is a numeric IPv4 address, a numeric
// IPv6 address in brackets ("[::1]:2379") or "localhost" (127.0.0.1): the
// loop never blocks on DNS, and etcd's clusters name members by address.
//
// Errors follow network.h: a malformed or unresolvable address is
// InvalidArgument, a port in use AlreadyExists, a refused, reset or closed
// connection Unavailable, running out of descriptors ResourceExhausted.
#ifndef KEEL_RUNTIME_POSIX_NETWORK_H_
#define KEEL_RUNTIME_POSIX_NETWORK_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/network.h"
#include "runtime/posix_loop.h"
#include "runtime/task.h"

namespace keel {

class PosixNetwork final : public Network {
 public:
  // Sockets are registered with `loop`, which must outlive every listener
  // and connection this network makes.
  explicit PosixNetwork(PosixLoop& loop) : loop_(loop) {}

  // Binds with SO_REUSEADDR (a restarted member gets its port back while old
  // connections sit in TIME_WAIT) and listens. Does not suspend.
  absl::StatusOr<std::unique_ptr<Listener>> Listen(
      std::string_view address) override;

  // Connects without blocking the loop; suspends until the handshake ends.
  Task<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
      std::string_view address) override;

 private:
  PosixLoop& loop_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_POSIX_NETWORK_H_
