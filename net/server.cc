// Server: the accept loop, protocol sniffing, and graceful shutdown.
#include "net/server.h"

#include <vector>

#include "runtime/assert.h"

namespace keel::net {

// Registers a connection's Entry with the server for the driver's lifetime.
class Server::Registration {
 public:
  Registration(Server& server, Entry* entry)
      : server_(server), id_(server.next_connection_++) {
    server_.connections_.emplace(id_, entry);
  }
  ~Registration() { server_.connections_.erase(id_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Server& server_;
  const uint64_t id_;
};

Server::Server(Clock& clock, const GrpcServer& grpc, const HttpRouter& http,
               ServerOptions options)
    : clock_(clock),
      grpc_(grpc),
      http_(http),
      options_(options),
      tasks_(clock.executor()) {}

Server::~Server() {
  tasks_.CancelAll();
  KEEL_ASSERT(connections_.empty());
}

void Server::Start(std::unique_ptr<Listener> listener) {
  KEEL_ASSERT(listener_ == nullptr);
  KEEL_ASSERT(!shutting_down_);
  listener_ = std::move(listener);
  address_ = listener_->address();
  accept_task_ = tasks_.Start(AcceptLoop());
}

std::string Server::address() const { return address_; }

Task<void> Server::AcceptLoop() {
  while (true) {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        co_await listener_->Accept();
    if (!connection.ok()) co_return;  // The listener is closed.
    tasks_.Start(ServeConnection(std::move(*connection)));
  }
}

Task<void> Server::ServeConnection(std::unique_ptr<Connection> connection) {
  Entry entry{.connection = connection.get()};
  Registration registration(*this, &entry);
  // Read until the bytes either diverge from the HTTP/2 preface or complete
  // it; whatever was read is handed to the chosen protocol.
  std::string initial;
  std::vector<char> buffer(kConnectionReadChunkBytes);
  bool http2 = false;
  while (true) {
    if (shutting_down_) {
      connection->Close();
      co_return;
    }
    absl::StatusOr<size_t> n = co_await connection->Read(buffer);
    if (!n.ok() || *n == 0) {
      connection->Close();
      co_return;
    }
    initial.append(buffer.data(), *n);
    const size_t k = std::min(initial.size(), kHttp2ClientPreface.size());
    if (std::string_view(initial).substr(0, k) != kHttp2ClientPreface.substr(0, k)) {
      break;
    }
    if (initial.size() >= kHttp2ClientPreface.size()) {
      http2 = true;
      break;
    }
  }
  if (http2) {
    Http2ServerSession session(grpc_, clock_, connection->peer_address());
    entry.http2 = &session;
    if (shutting_down_) session.Shutdown();
    (void)co_await PumpHttp2(session, *connection, clock_, std::move(initial),
                             options_.http2);
    entry.http2 = nullptr;
  } else {
    Http1Connection http1(*connection, http_, clock_, options_.http1);
    entry.http1 = &http1;
    if (shutting_down_) http1.Shutdown();
    co_await http1.Run(std::move(initial));
    entry.http1 = nullptr;
  }
}

Task<void> Server::Shutdown(Duration grace) {
  if (!shutting_down_) {
    shutting_down_ = true;
    tasks_.Cancel(accept_task_);
    listener_.reset();
    for (auto& [id, entry] : connections_) {
      if (entry->http2 != nullptr) {
        entry->http2->Shutdown();
      } else if (entry->http1 != nullptr) {
        entry->http1->Shutdown();
      } else {
        entry->connection->Close();  // Still sniffing: nothing in flight.
      }
    }
  }
  const bool drained = co_await clock_.WithTimeout(grace, tasks_.WaitEmpty());
  if (!drained) tasks_.CancelAll();
}

}  // namespace keel::net
