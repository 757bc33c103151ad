// Pipes: two bounded byte queues shared by two connection ends.
#include "net/testing/pipe_connection.h"

#include <algorithm>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net::testing {

// One direction of a pipe.
struct PipeDirection {
  std::string bytes;
  bool writer_closed = false;  // The reader sees end of stream after `bytes`.
  bool reader_closed = false;  // Writes fail.
  size_t written = 0;
  WaitQueue readers;
  WaitQueue writers;

  void WakeAll() {
    readers.WakeAll();
    writers.WakeAll();
  }
};

struct PipeState {
  PipeState(Executor& executor, size_t capacity)
      : executor(executor), capacity(capacity) {}
  Executor& executor;
  const size_t capacity;
  PipeDirection directions[2];  // directions[i]: written by side i.
  bool reset = false;

  void Reset() {
    Executor::Scope scope(executor);
    reset = true;
    for (PipeDirection& d : directions) {
      d.bytes.clear();
      d.WakeAll();
    }
  }
};

PipeConnection::PipeConnection(std::shared_ptr<PipeState> state, int side,
                               std::string local_address,
                               std::string peer_address)
    : state_(std::move(state)),
      side_(side),
      local_address_(std::move(local_address)),
      peer_address_(std::move(peer_address)) {}

PipeConnection::~PipeConnection() { Close(); }

Task<absl::StatusOr<size_t>> PipeConnection::Read(std::span<char> buffer) {
  KEEL_ASSERT(!buffer.empty());
  PipeDirection& in = state_->directions[1 - side_];
  while (true) {
    if (state_->reset) co_return absl::UnavailableError("connection reset by peer");
    if (in.reader_closed) co_return absl::UnavailableError("connection closed");
    if (!in.bytes.empty()) {
      const size_t n = std::min(buffer.size(), in.bytes.size());
      std::memcpy(buffer.data(), in.bytes.data(), n);
      in.bytes.erase(0, n);
      in.writers.WakeAll();
      co_return n;
    }
    if (in.writer_closed) co_return size_t{0};
    co_await in.readers.Wait();
  }
}

Task<absl::Status> PipeConnection::Write(std::string_view data) {
  PipeDirection& out = state_->directions[side_];
  while (!data.empty()) {
    if (state_->reset) co_return absl::UnavailableError("connection reset by peer");
    if (out.writer_closed) co_return absl::UnavailableError("connection closed");
    if (out.reader_closed) co_return absl::UnavailableError("broken pipe");
    const size_t room = state_->capacity - std::min(state_->capacity, out.bytes.size());
    if (room == 0) {
      co_await out.writers.Wait();
      continue;
    }
    const size_t n = std::min(room, data.size());
    out.bytes.append(data.substr(0, n));
    out.written += n;
    data.remove_prefix(n);
    out.readers.WakeAll();
  }
  co_return absl::OkStatus();
}

void PipeConnection::Close() {
  PipeDirection& out = state_->directions[side_];
  PipeDirection& in = state_->directions[1 - side_];
  if (out.writer_closed && in.reader_closed) return;
  out.writer_closed = true;
  in.reader_closed = true;
  in.bytes.clear();
  // A test may close (or destroy) an end from outside the loop.
  Executor::Scope scope(state_->executor);
  out.WakeAll();
  in.WakeAll();
}

void PipeConnection::Reset() { state_->Reset(); }

size_t PipeConnection::bytes_written() const {
  return state_->directions[side_].written;
}

std::pair<std::unique_ptr<PipeConnection>, std::unique_ptr<PipeConnection>>
MakePipe(Executor& executor, std::string first_address,
         std::string second_address, size_t buffer_bytes) {
  auto state = std::make_shared<PipeState>(executor, buffer_bytes);
  auto first = std::make_unique<PipeConnection>(state, 0, first_address,
                                                second_address);
  auto second = std::make_unique<PipeConnection>(state, 1, second_address,
                                                 first_address);
  return {std::move(first), std::move(second)};
}

// Accepted connections wait in a channel until Accept takes them.
class PipeNetwork::PipeListener final : public Listener {
 public:
  PipeListener(PipeNetwork* network, std::string address)
      : network_(network), address_(std::move(address)), pending_(kBacklog) {}
  ~PipeListener() override {
    if (network_ != nullptr) network_->listeners_.erase(address_);
  }

  Task<absl::StatusOr<std::unique_ptr<Connection>>> Accept() override {
    std::optional<std::unique_ptr<Connection>> connection =
        co_await pending_.Receive();
    if (!connection.has_value()) {
      co_return absl::UnavailableError("listener closed");
    }
    co_return std::move(*connection);
  }

  std::string address() const override { return address_; }

  bool Offer(std::unique_ptr<Connection> connection) {
    return pending_.TrySend(std::move(connection));
  }
  void Detach() { network_ = nullptr; }

 private:
  static constexpr size_t kBacklog = 128;
  PipeNetwork* network_;
  const std::string address_;
  Channel<std::unique_ptr<Connection>> pending_;
};

PipeNetwork::~PipeNetwork() {
  for (auto& [address, listener] : listeners_) listener->Detach();
}

absl::StatusOr<std::unique_ptr<Listener>> PipeNetwork::Listen(
    std::string_view address) {
  std::string host;
  uint16_t port = 0;
  KEEL_RETURN_IF_ERROR(SplitHostPort(address, &host, &port));
  if (port == 0) port = next_port_++;
  std::string bound = StrCat(host, ":", port);
  if (listeners_.count(bound) != 0) {
    return absl::AlreadyExistsError(AsAbsl(StrCat("address in use: ", bound)));
  }
  auto listener = std::make_unique<PipeListener>(this, bound);
  listeners_.emplace(bound, listener.get());
  return listener;
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> PipeNetwork::Connect(
    std::string_view address) {
  auto it = listeners_.find(std::string(address));
  if (it == listeners_.end()) {
    co_return absl::UnavailableError("connection refused");
  }
  auto [client, server] =
      MakePipe(executor_, StrCat("127.0.0.1:", next_client_port_++),
               std::string(address), buffer_bytes_);
  std::shared_ptr<PipeState> state = client->state();
  if (!it->second->Offer(std::move(server))) {
    co_return absl::UnavailableError("connection refused (backlog full)");
  }
  pipes_.push_back(std::move(state));
  co_return std::unique_ptr<Connection>(std::move(client));
}

void PipeNetwork::ResetConnection(size_t index) {
  KEEL_ASSERT(index < pipes_.size());
  pipes_[index]->Reset();
}

}  // namespace keel::net::testing
