// Network: stream connections between addresses, as TCP provides them.
//
// Addresses are "host:port" strings. Production implements this with
// nonblocking sockets on the epoll loop (runtime/posix_network.cc); the
// simulator with links that have latency, loss and partitions
// (sim/sim_network.h). Bytes of one connection arrive in order or not at all.
#ifndef KEEL_RUNTIME_NETWORK_H_
#define KEEL_RUNTIME_NETWORK_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/task.h"

namespace keel {

class Connection {
 public:
  virtual ~Connection() = default;

  // Reads at least one and at most buffer.size() bytes, suspending until some
  // arrive. Returns 0 at the end of the stream (the peer closed its side).
  // Unavailable if the connection was reset or closed locally. The buffer
  // must stay valid until the task completes.
  virtual Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) = 0;

  // Queues all of `data` for sending, suspending while the send buffer is
  // full. OK means the bytes were accepted, not that the peer has them.
  // Unavailable if the connection was reset or closed. `data` must stay
  // valid until the task completes.
  virtual Task<absl::Status> Write(std::string_view data) = 0;

  // Closes both directions. Bytes already accepted are still delivered; the
  // peer then reads end of stream. Pending reads and writes of this side fail.
  // Destroying the connection closes it.
  virtual void Close() = 0;

  virtual std::string local_address() const = 0;
  virtual std::string peer_address() const = 0;
};

class Listener {
 public:
  // Destroying the listener stops accepting; established connections live on.
  virtual ~Listener() = default;

  // Suspends until a peer connects. Unavailable once the listener is closed.
  virtual Task<absl::StatusOr<std::unique_ptr<Connection>>> Accept() = 0;

  // The address actually bound, with the port filled in if 0 was asked for.
  virtual std::string address() const = 0;
};

class Network {
 public:
  virtual ~Network() = default;

  // Listens on `address` ("127.0.0.1:2379"; port 0 picks a free port).
  // InvalidArgument for a malformed address, AlreadyExists if it is in use.
  virtual absl::StatusOr<std::unique_ptr<Listener>> Listen(
      std::string_view address) = 0;

  // Connects to `address`, suspending until the connection is established.
  // Unavailable if it is refused or unreachable. Callers bound the wait with
  // Clock::WithTimeout.
  virtual Task<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
      std::string_view address) = 0;
};

// Splits "host:port". InvalidArgument unless the port is a number in
// [0, 65535] and the host is not empty.
absl::Status SplitHostPort(std::string_view address, std::string* host,
                           uint16_t* port);

}  // namespace keel

#endif  // KEEL_RUNTIME_NETWORK_H_
