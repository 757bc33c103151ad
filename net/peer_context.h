// Internals of the peer transport shared by its pieces (pipeline, snapshot
// sender and receiver, acceptor): the Env, the options, guarded calls into
// the server's callbacks, reconnect backoff, and dialing a peer (connect plus
// handshake). Not for use outside net/peer_*.
#ifndef KEEL_NET_PEER_CONTEXT_H_
#define KEEL_NET_PEER_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/peer_frame.h"
#include "net/peer_types.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::net::peer {

// A member id as etcd prints it: lower-case hex without leading zeros.
std::string IdText(uint64_t id);

class PeerContext {
 public:
  PeerContext(Env& env, PeerTransportOptions options,
              PeerTransportCallbacks callbacks);
  PeerContext(const PeerContext&) = delete;
  PeerContext& operator=(const PeerContext&) = delete;

  Env& env() const { return env_; }
  Logger& log() const { return env_.log(); }
  // The network peers are reached through (options.network or env.net()).
  Network& network() const {
    return options_.network != nullptr ? *options_.network : env_.net();
  }
  const PeerTransportOptions& options() const { return options_; }
  uint64_t local_id() const { return options_.local_id; }
  uint64_t cluster_id() const { return options_.cluster_id; }
  const std::string& local_id_text() const { return local_id_text_; }

  // The server's callbacks, each counted so that re-entry into the member-set
  // methods from inside one can be asserted against.
  void DeliverMessage(raftpb::Message message);
  absl::Status DeliverSnapshot(ReceivedSnapshot snapshot);
  bool can_deliver_snapshots() const {
    return static_cast<bool>(callbacks_.on_snapshot) &&
           !options_.snapshot_dir.empty();
  }
  void ReportUnreachable(uint64_t peer_id);
  void ReportSnapshot(uint64_t peer_id, bool ok);
  void ReportRemoved(uint64_t peer_id);
  absl::StatusOr<std::unique_ptr<SnapshotSource>> OpenSnapshot(
      raftpb::Message& message);
  bool in_callback() const { return callback_depth_ > 0; }

  // The delay before reconnect attempt number `failures` (0-based), with
  // jitter from env.random().
  Duration Backoff(int failures);

  // Runs `task` for at most `timeout`; DeadlineExceeded(`what`) if the time
  // ran out (the task's frame is then destroyed). Suspends.
  template <typename T>
  Task<absl::StatusOr<T>> Within(Duration timeout, std::string_view what,
                                 Task<absl::StatusOr<T>> task);
  Task<absl::Status> Within(Duration timeout, std::string_view what,
                            Task<absl::Status> task);

 private:
  class CallbackScope;

  Env& env_;
  const PeerTransportOptions options_;
  const PeerTransportCallbacks callbacks_;
  const std::string local_id_text_;
  int callback_depth_ = 0;
};

template <typename T>
Task<absl::StatusOr<T>> PeerContext::Within(Duration timeout,
                                            std::string_view what,
                                            Task<absl::StatusOr<T>> task) {
  // Copied: `what` may not outlive the first suspension.
  const std::string label(what);
  std::optional<absl::StatusOr<T>> result =
      co_await env_.clock().WithTimeout(timeout, std::move(task));
  if (!result.has_value()) {
    co_return absl::DeadlineExceededError(StrCat(label, " timed out"));
  }
  co_return std::move(*result);
}

// A connection that passed the handshake, and the reader that must be used
// for every later read of it (it may already hold bytes past the handshake).
struct PeerLink {
  explicit PeerLink(std::unique_ptr<Connection> connection_in)
      : connection(std::move(connection_in)),
        reader(std::make_unique<FrameReader>(connection.get())) {}

  std::unique_ptr<Connection> connection;
  std::unique_ptr<FrameReader> reader;
};

// Connects to `address`, sends a handshake of `kind` to `peer_id` and reads
// the reply. Rejections are logged as etcd logs them and returned as
// FailedPrecondition (a removed-member rejection is also reported through
// on_removed); a failed or slow connect or reply is Unavailable or
// DeadlineExceeded. Suspends.
Task<absl::StatusOr<std::unique_ptr<PeerLink>>> DialPeer(PeerContext& context,
                                                         uint64_t peer_id,
                                                         std::string address,
                                                         StreamKind kind);

// Writes `data` within the write timeout. Suspends.
Task<absl::Status> WriteWithin(PeerContext& context, Connection& connection,
                               std::string_view data);

// Reads one frame within the read timeout. Suspends.
Task<absl::StatusOr<Frame>> ReadFrameWithin(PeerContext& context,
                                            FrameReader& reader);

}  // namespace keel::net::peer

#endif  // KEEL_NET_PEER_CONTEXT_H_
