// GrpcChannel: a gRPC client over one keel Connection (HTTP/2 on nghttp2).
//
// keelctl, keel-bench and the simulator's clients all talk to keel through
// this, so simulated clients exercise the same wire path as real ones. One
// channel multiplexes any number of concurrent calls on its connection:
//  - Call(): a unary call with optional deadline (sent as grpc-timeout and
//    enforced locally) and metadata;
//  - OpenStream(): a bidirectional stream (Write, CloseSend, Read, Finish,
//    Cancel); server- and client-streaming calls use it one-sidedly.
// A call's result is the server's grpc-status and decoded grpc-message as an
// absl::Status. Transport failures map as grpc-go maps them: a reset stream
// to "stream terminated by RST_STREAM with error code: ...", a stream ended
// without trailers to Internal "server closed the stream without sending
// trailers", and a lost connection fails every call still open with
// Unavailable. After a GOAWAY from the server the channel refuses new calls
// (Unavailable) and lets the open ones finish; callers dial a new channel.
//
// The channel runs its connection in background tasks charged to the
// process that constructs it; construct it from that process's coroutine.
// Destroying the channel cancels those tasks, closes the connection and
// fails every call still open with Unavailable; ClientStream handles that
// outlive it stay safe to use (they report that status).
#ifndef KEEL_NET_GRPC_CLIENT_H_
#define KEEL_NET_GRPC_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "net/grpc_wire.h"
#include "net/http2_session.h"
#include "net/task_group.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/task.h"

namespace keel::net {

// Option structs that may travel into coroutines have a user-provided
// constructor on purpose: GCC 12 copies an aggregate temporary that lives
// across a co_await bitwise into the coroutine frame, which corrupts its
// std::string members. Not being aggregates, they are built in place (and
// designated initializers, which would invite the bug, do not compile).
struct ChannelOptions {
  ChannelOptions() {}
  // Largest response message accepted (etcd's clientv3 allows 2 GiB - 1).
  size_t max_receive_message_bytes = kGrpcMaxMessageBytes;
  // :authority of every request; empty means the connection's peer address.
  std::string authority;
  // Keepalive pings (off by default).
  Http2PumpOptions pump;
};

struct CallOptions {
  CallOptions() {}
  static CallOptions WithTimeout(Duration timeout) {
    CallOptions options;
    options.timeout = timeout;
    return options;
  }
  // Deadline relative to the start of the call; none if unset.
  std::optional<Duration> timeout;
  // Extra request headers ("hasleader", "authorization", ...), names lowercase.
  Metadata metadata;
};

namespace internal {
struct ClientCall;
}  // namespace internal

class GrpcChannel;

// One open call. Owned by the caller; destroying it while the call is open
// cancels it (RST_STREAM CANCEL). Only one coroutine may Read at a time and
// one may Write at a time.
class ClientStream {
 public:
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // Queues one request message, suspending while this stream's send buffer
  // is full. Fails with the call's final status if it has ended (OK ending
  // included, reported as FailedPrecondition), and with FailedPrecondition
  // after CloseSend().
  Task<absl::Status> Write(std::string message);

  // Half-closes: no more requests (END_STREAM). Idempotent; does not suspend.
  void CloseSend();

  // The next response message, suspending until one arrives. nullopt once
  // the call has ended; Finish() then gives its status.
  Task<std::optional<std::string>> Read();

  // Suspends until the call ends and returns its status. Responses not yet
  // read are discarded.
  Task<absl::Status> Finish();

  // Resets the stream (RST_STREAM CANCEL). The call ends with Cancelled
  // "context canceled" unless it had already ended. Does not suspend.
  void Cancel();

  // The final status, if the call has ended.
  std::optional<absl::Status> status() const;

  // True if the response was Trailers-Only: a single HEADERS frame carrying
  // the status and ending the stream (how servers send early errors).
  bool trailers_only() const;

 private:
  friend class GrpcChannel;
  explicit ClientStream(std::shared_ptr<internal::ClientCall> call)
      : call_(std::move(call)) {}
  std::shared_ptr<internal::ClientCall> call_;
};

class GrpcChannel final : private Http2Session {
 public:
  // Takes the connection and starts running HTTP/2 on it (client preface and
  // SETTINGS go out at once). Does not suspend.
  GrpcChannel(std::unique_ptr<Connection> connection, Clock& clock,
              ChannelOptions options = {});
  ~GrpcChannel() override;

  // A unary call: sends `request`, returns the response bytes or the call's
  // status. With options.timeout, the call ends with DeadlineExceeded
  // "context deadline exceeded" when it passes (and the stream is reset).
  // Suspends.
  //
  Task<absl::StatusOr<std::string>> Call(std::string path, std::string request,
                                         CallOptions options = {}) {
    return UnaryCall(std::move(path), std::move(request), std::move(options));
  }

  // Typed unary call. A response that does not parse is Internal.
  template <typename Resp, typename Req>
  Task<absl::StatusOr<Resp>> Call(std::string path, const Req& request,
                                  CallOptions options = {}) {
    return TypedCall<Resp>(std::move(path), request.SerializeAsString(),
                           std::move(options));
  }

  // Opens a stream. Unavailable if the channel is closed or draining after a
  // GOAWAY. The request headers go out at once. options.timeout is sent as
  // grpc-timeout and enforced by the server (DEADLINE_EXCEEDED); a caller
  // that wants a local bound wraps its reads in Clock::WithTimeout. Does not
  // suspend.
  absl::StatusOr<std::unique_ptr<ClientStream>> OpenStream(
      std::string path, CallOptions options = {});

  // Sends a PING and waits for its ACK. DeadlineExceeded after `timeout`,
  // Unavailable if the connection is gone. Suspends.
  Task<absl::Status> Ping(Duration timeout);

  // True until the connection is lost or the server sent GOAWAY.
  bool usable() const { return !closed_ && !goaway_received_; }
  bool closed() const { return closed_; }
  // Calls whose stream is open.
  size_t open_calls() const { return calls_.size(); }

  // Closes the connection; every open call fails with Unavailable. Idempotent.
  void Close();

 private:
  struct Callbacks;
  friend struct Callbacks;
  friend class ClientStream;

  void OnConnectionLost(const absl::Status& reason) override;
  void HandlePingAck(uint64_t opaque) override;
  Task<void> RunPump();

  // Ends `call` locally with `status` and resets its stream.
  void CancelCall(internal::ClientCall& call, absl::Status status);
  void ResumeSending(internal::ClientCall& call);
  void MaybeConsumeStream(internal::ClientCall& call);
  void FailAll(const absl::Status& status);
  Task<absl::StatusOr<std::string>> UnaryExchange(
      std::shared_ptr<internal::ClientCall> call);
  Task<absl::StatusOr<std::string>> UnaryCall(std::string path,
                                              std::string request,
                                              CallOptions options);
  template <typename Resp>
  Task<absl::StatusOr<Resp>> TypedCall(std::string path, std::string request,
                                       CallOptions options);

  Clock& clock_;
  std::unique_ptr<Connection> connection_;
  ChannelOptions options_;
  std::string authority_;
  std::map<int32_t, std::shared_ptr<internal::ClientCall>> calls_;
  bool closed_ = false;
  bool goaway_received_ = false;
  uint64_t next_ping_ = 0;
  WaitQueue ping_waiters_;
  // Declared last: the pump goes first on destruction.
  TaskGroup tasks_;
};

namespace internal {
Task<absl::StatusOr<std::unique_ptr<GrpcChannel>>> DialGrpc(
    Network& network, Clock& clock, std::string address,
    ChannelOptions options);
}  // namespace internal

// Connects to `address` and returns a channel on the connection.
// Unavailable if the connection fails. Suspends.
inline Task<absl::StatusOr<std::unique_ptr<GrpcChannel>>> DialGrpc(
    Network& network, Clock& clock, std::string address,
    ChannelOptions options = {}) {
  return internal::DialGrpc(network, clock, std::move(address),
                            std::move(options));
}

template <typename Resp>
Task<absl::StatusOr<Resp>> GrpcChannel::TypedCall(std::string path,
                                                  std::string request,
                                                  CallOptions options) {
  absl::StatusOr<std::string> bytes = co_await UnaryCall(
      std::move(path), std::move(request), std::move(options));
  if (!bytes.ok()) co_return bytes.status();
  Resp response;
  if (!response.ParseFromString(*bytes)) {
    co_return absl::InternalError(
        "grpc: failed to unmarshal the received message proto: cannot parse "
        "invalid wire-format data");
  }
  co_return response;
}

}  // namespace keel::net

#endif  // KEEL_NET_GRPC_CLIENT_H_
