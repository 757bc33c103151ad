// TCP connections and listeners on the epoll loop.
//
// A connection's coroutines (Read, Write, Accept) hold the socket's shared
// state themselves rather than the Connection object, so destroying or
// closing a connection while another coroutine reads from it wakes that
// reader with Unavailable instead of leaving it in freed memory.
#include "runtime/posix_network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <span>
#include <string>
#include <utility>

#include "runtime/assert.h"
#include "runtime/posix_errors.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/sync.h"

namespace keel {
namespace {

// Pending connections the kernel queues before Accept takes them (the
// kernel caps it at net.core.somaxconn).
constexpr int kListenBacklog = 1024;

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
};

// Numeric IPv4, numeric IPv6 and "localhost" only: resolving names would
// block the loop.
absl::StatusOr<SocketAddress> ResolveAddress(std::string_view address) {
  std::string host;
  uint16_t port = 0;
  KEEL_RETURN_IF_ERROR(SplitHostPort(address, &host, &port));
  if (host == "localhost") host = "127.0.0.1";
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  out = SocketAddress{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return absl::InvalidArgumentError(StrCat(
      "address ", address, ": host must be a numeric IP address or localhost"));
}

std::string FormatAddress(const sockaddr_storage& storage) {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return StrCat(text, ":", ntohs(v4->sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return StrCat("[", text, "]:", ntohs(v6->sin6_port));
  }
  return "unknown";
}

// The socket's own or its peer's address; empty if the kernel no longer
// knows it (a peer that reset before we asked).
std::string SocketName(int fd, bool peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  const int rc = peer ? getpeername(fd, address, &length)
                      : getsockname(fd, address, &length);
  if (rc != 0) return "";
  return FormatAddress(storage);
}

// Small messages (raft heartbeats, gRPC frames) must not wait for Nagle.
// Failure costs only latency, so it is not an error.
void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// A failed connect is Unavailable (refused, unreachable, timed out), unless
// this process ran out of descriptors or memory.
absl::Status ConnectError(int error, std::string_view address) {
  absl::Status status = ErrnoToStatus(error, StrCat("connect ", address));
  if (absl::IsResourceExhausted(status)) return status;
  return absl::UnavailableError(status.message());
}

// A broken stream is Unavailable whatever the errno: callers reconnect.
absl::Status StreamError(int error, std::string_view operation) {
  return absl::UnavailableError(ErrnoToStatus(error, operation).message());
}

// What a connection's coroutines share with it.
struct Stream {
  explicit Stream(std::shared_ptr<IoHandle> handle) : io(std::move(handle)) {}

  std::shared_ptr<IoHandle> io;
  // Writes take turns, so each Write's bytes reach the peer contiguously
  // even when one suspends on a full buffer halfway.
  bool writing = false;
  WaitQueue write_turn;
};

// Releases the write turn however the writing frame ends.
class WriteTurn {
 public:
  explicit WriteTurn(Stream& stream) : stream_(stream) {
    KEEL_ASSERT(!stream_.writing);
    stream_.writing = true;
  }
  WriteTurn(const WriteTurn&) = delete;
  WriteTurn& operator=(const WriteTurn&) = delete;
  ~WriteTurn() {
    stream_.writing = false;
    stream_.write_turn.WakeAll();
  }

 private:
  Stream& stream_;
};

Task<absl::StatusOr<size_t>> ReadSome(std::shared_ptr<Stream> stream,
                                      std::span<char> buffer) {
  while (true) {
    IoHandle& io = *stream->io;
    if (io.closed()) co_return absl::UnavailableError("read: connection closed");
    const ssize_t n = ::read(io.fd(), buffer.data(), buffer.size());
    if (n >= 0) co_return static_cast<size_t>(n);
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) co_return StreamError(error, "read");
    co_await io.Readable();
  }
}

Task<absl::Status> WriteAll(std::shared_ptr<Stream> stream,
                            std::string_view data) {
  while (stream->writing) co_await stream->write_turn.Wait();
  WriteTurn turn(*stream);
  size_t written = 0;
  while (written < data.size()) {
    IoHandle& io = *stream->io;
    if (io.closed()) co_return absl::UnavailableError("write: connection closed");
    // MSG_NOSIGNAL: a peer that went away is EPIPE here, not SIGPIPE.
    const ssize_t n = ::send(io.fd(), data.data() + written,
                             data.size() - written, MSG_NOSIGNAL);
    if (n >= 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) co_return StreamError(error, "write");
    co_await io.Writable();
  }
  KEEL_ASSERT(written == data.size());
  co_return absl::OkStatus();
}

class PosixConnection final : public Connection {
 public:
  explicit PosixConnection(std::shared_ptr<IoHandle> io)
      : local_address_(SocketName(io->fd(), /*peer=*/false)),
        peer_address_(SocketName(io->fd(), /*peer=*/true)),
        stream_(std::make_shared<Stream>(std::move(io))) {}
  ~PosixConnection() override { Close(); }

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override {
    KEEL_ASSERT_MSG(!buffer.empty(), "a read needs room for one byte");
    return ReadSome(stream_, buffer);
  }
  Task<absl::Status> Write(std::string_view data) override {
    return WriteAll(stream_, data);
  }
  void Close() override { stream_->io->Close(); }

  std::string local_address() const override { return local_address_; }
  std::string peer_address() const override { return peer_address_; }

 private:
  const std::string local_address_;
  const std::string peer_address_;
  std::shared_ptr<Stream> stream_;
};

// Wraps a connected socket; closes `fd` on failure.
absl::StatusOr<std::unique_ptr<Connection>> WrapConnected(PosixLoop& loop,
                                                          int fd) {
  SetNoDelay(fd);
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<IoHandle> io,
                        IoHandle::Create(loop, fd));
  return std::unique_ptr<Connection>(
      std::make_unique<PosixConnection>(std::move(io)));
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> AcceptOne(
    std::shared_ptr<IoHandle> io) {
  while (true) {
    if (io->closed()) co_return absl::UnavailableError("accept: listener closed");
    const int fd =
        accept4(io->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) co_return WrapConnected(io->loop(), fd);
    const int error = errno;
    switch (error) {
      case EAGAIN:
        co_await io->Readable();
        break;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
        // The connection died in the backlog; take the next one.
        break;
      default:
        // EMFILE and friends are ResourceExhausted: the caller decides
        // whether to back off. The pending connection stays queued.
        co_return ErrnoToStatus(error, "accept");
    }
  }
}

class PosixListener final : public Listener {
 public:
  PosixListener(std::shared_ptr<IoHandle> io, std::string address)
      : io_(std::move(io)), address_(std::move(address)) {}
  ~PosixListener() override { io_->Close(); }

  Task<absl::StatusOr<std::unique_ptr<Connection>>> Accept() override {
    return AcceptOne(io_);
  }
  std::string address() const override { return address_; }

 private:
  std::shared_ptr<IoHandle> io_;
  const std::string address_;
};

Task<absl::StatusOr<std::unique_ptr<Connection>>> ConnectTo(
    PosixLoop& loop, absl::StatusOr<SocketAddress> target,
    std::string address) {
  if (!target.ok()) co_return target.status();
  const int fd =
      ::socket(target->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return ConnectError(errno, address);
  SetNoDelay(fd);
  // A nonblocking connect that reports EINTR goes on in the background,
  // exactly like EINPROGRESS.
  int pending = 0;
  if (::connect(fd, target->get(), target->length) != 0) pending = errno;
  if (pending != 0 && pending != EINPROGRESS && pending != EINTR) {
    ::close(fd);
    co_return ConnectError(pending, address);
  }
  // Registered after connect() so the first edge reported is the
  // handshake's, not the unconnected socket's.
  KEEL_CO_ASSIGN_OR_RETURN(std::shared_ptr<IoHandle> io,
                           IoHandle::Create(loop, fd));
  while (pending != 0) {
    co_await io->Writable();
    KEEL_ASSERT(!io->closed());
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(io->fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
      error = errno;
    }
    if (error != 0) co_return ConnectError(error, address);
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    // Connected once the peer is known; ENOTCONN is an early wake-up.
    if (getpeername(io->fd(), reinterpret_cast<sockaddr*>(&peer),
                    &peer_length) == 0) {
      pending = 0;
    }
  }
  co_return std::unique_ptr<Connection>(
      std::make_unique<PosixConnection>(std::move(io)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> PosixNetwork::Listen(
    std::string_view address) {
  KEEL_ASSIGN_OR_RETURN(SocketAddress local, ResolveAddress(address));
  const int fd =
      ::socket(local.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, StrCat("listen ", address));
  const int one = 1;
  // A restarted member must get its port back while its old connections
  // linger in TIME_WAIT; this does not let two listeners share a port.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, local.get(), local.length) != 0 ||
      ::listen(fd, kListenBacklog) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoToStatus(error, StrCat("listen ", address));
  }
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<IoHandle> io,
                        IoHandle::Create(loop_, fd));
  std::string bound = SocketName(io->fd(), /*peer=*/false);
  KEEL_ASSERT(!bound.empty());
  return std::unique_ptr<Listener>(
      std::make_unique<PosixListener>(std::move(io), std::move(bound)));
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> PosixNetwork::Connect(
    std::string_view address) {
  // Parsed now, while `address` is alive; the coroutine owns copies.
  return ConnectTo(loop_, ResolveAddress(address), std::string(address));
}

}  // namespace keel
