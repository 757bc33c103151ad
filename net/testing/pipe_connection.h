// In-memory connections and a Network made of them, for net/'s unit tests
// (and anyone else's): bytes written to one end are read from the other, in
// order, through a bounded buffer, with no sockets and no real time. Runs on
// whatever executor drives the test (ManualClock in net/'s tests).
#ifndef KEEL_NET_TESTING_PIPE_CONNECTION_H_
#define KEEL_NET_TESTING_PIPE_CONNECTION_H_

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/executor.h"
#include "runtime/network.h"
#include "runtime/sync.h"

namespace keel::net::testing {

// Bytes one direction of a pipe buffers before the writer suspends.
inline constexpr size_t kDefaultPipeBufferBytes = 64 * 1024;

struct PipeState;

// One end of a pipe.
class PipeConnection final : public Connection {
 public:
  PipeConnection(std::shared_ptr<PipeState> state, int side,
                 std::string local_address, std::string peer_address);
  ~PipeConnection() override;

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override;
  Task<absl::Status> Write(std::string_view data) override;
  void Close() override;
  std::string local_address() const override { return local_address_; }
  std::string peer_address() const override { return peer_address_; }

  // Breaks the pipe like a TCP reset: both ends' pending and later reads and
  // writes fail with Unavailable, and buffered bytes are dropped.
  void Reset();

  // Total bytes this end has written.
  size_t bytes_written() const;

  const std::shared_ptr<PipeState>& state() const { return state_; }

 private:
  std::shared_ptr<PipeState> state_;
  const int side_;
  const std::string local_address_;
  const std::string peer_address_;
};

// A connected pair; bytes written to `first` are read from `second` and the
// other way round.
std::pair<std::unique_ptr<PipeConnection>, std::unique_ptr<PipeConnection>>
MakePipe(Executor& executor, std::string first_address,
         std::string second_address,
         size_t buffer_bytes = kDefaultPipeBufferBytes);

// A Network of pipes: Listen registers an address, Connect makes a pipe to
// it (Unavailable "connection refused" if nobody listens).
class PipeNetwork final : public Network {
 public:
  explicit PipeNetwork(Executor& executor,
                       size_t buffer_bytes = kDefaultPipeBufferBytes)
      : executor_(executor), buffer_bytes_(buffer_bytes) {}
  ~PipeNetwork() override;

  absl::StatusOr<std::unique_ptr<Listener>> Listen(
      std::string_view address) override;
  Task<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
      std::string_view address) override;

  // Connections made so far, in order.
  size_t connections_made() const { return pipes_.size(); }
  // Resets connection `index` (see PipeConnection::Reset).
  void ResetConnection(size_t index);

 private:
  class PipeListener;
  friend class PipeListener;

  Executor& executor_;
  const size_t buffer_bytes_;
  std::map<std::string, PipeListener*> listeners_;
  uint16_t next_port_ = 40000;
  uint16_t next_client_port_ = 50000;
  std::deque<std::shared_ptr<PipeState>> pipes_;
};

}  // namespace keel::net::testing

#endif  // KEEL_NET_TESTING_PIPE_CONNECTION_H_
