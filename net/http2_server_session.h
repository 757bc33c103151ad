// Http2ServerSession: gRPC calls served over one HTTP/2 connection.
//
// The session turns an nghttp2 server session into calls of a GrpcServer:
// a request's HEADERS pick the method, its DATA frames are split into gRPC
// messages, and a handler coroutine per call (run in the session's
// TaskGroup) reads and writes them. Responses go out as HEADERS, DATA and
// trailers (grpc-status, grpc-message), or as one Trailers-Only HEADERS frame
// when the call ends before writing anything; the trailers are submitted
// from nghttp2's data callback once a call's buffered data is drained.
//
// Settings follow etcd: MAX_CONCURRENT_STREAMS 2^32-1, MAX_FRAME_SIZE 16384,
// plus keel's stream and connection windows (http2_session.h). Flow control
// is manual: the connection window reopens as data arrives, a stream's
// window only as its handler reads, so a slow handler slows its own client.
//
// Shutdown() is graceful: a GOAWAY notice and a PING, then, when the PING
// comes back, the final GOAWAY naming the last stream accepted. Calls already
// running finish; once none is left the session is no longer alive() and the
// pump closes the connection.
#ifndef KEEL_NET_HTTP2_SERVER_SESSION_H_
#define KEEL_NET_HTTP2_SERVER_SESSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "net/grpc_server.h"
#include "net/http2_session.h"
#include "net/task_group.h"
#include "runtime/clock.h"

namespace keel::net {

class Http2ServerSession final : public Http2Session {
 public:
  // `server` and `clock` must outlive the session. Queues the server's
  // SETTINGS and connection WINDOW_UPDATE. Does not suspend.
  Http2ServerSession(const GrpcServer& server, Clock& clock,
                     std::string peer_address);
  // Destroys every handler frame, then the nghttp2 session.
  ~Http2ServerSession() override;

  // Starts the graceful shutdown described above. Idempotent.
  void Shutdown();
  bool shutting_down() const { return shutdown_started_; }

  // Calls whose stream is still open.
  size_t open_calls() const { return calls_.size(); }
  // Handlers still running.
  size_t running_handlers() const { return tasks_.size(); }

  void OnConnectionLost(const absl::Status& reason) override;

 private:
  class Call;
  friend class Call;
  struct Callbacks;
  friend struct Callbacks;

  void HandlePingAck(uint64_t opaque) override;

  // Request lifecycle, called from nghttp2 callbacks.
  Call* BeginCall(int32_t stream_id);
  void StartCall(Call* call);
  void HandleData(Call* call, std::string_view data);
  void HandleRemoteClose(Call* call);
  void HandleStreamClose(int32_t stream_id);
  void HandleHeadersSent(int32_t stream_id, bool end_stream);

  // The coroutine of one call: the handler under its deadline, then the
  // final status.
  Task<void> RunCall(Call* call);
  Task<absl::Status> RunHandler(Call* call);
  // Ends `call` with `status` (trailers, or Trailers-Only). Cancels its
  // handler if one is running and `cancel_handler` is set.
  void FinishCall(Call* call, absl::Status status, bool cancel_handler);
  // Counts the call as handled with `code` in its method's stats.
  void CountHandled(Call* call, int code);
  void RejectStream(int32_t stream_id, uint32_t http2_error_code);
  // Re-opens the stream window for bytes whose messages were read.
  void MaybeConsumeStream(Call* call);

  const GrpcServer& server_;
  Clock& clock_;
  const std::string peer_address_;
  std::map<int32_t, std::unique_ptr<Call>> calls_;
  bool shutdown_started_ = false;
  bool connection_lost_ = false;
  // Declared last: destroyed (with every handler frame) before calls_.
  TaskGroup tasks_;
};

}  // namespace keel::net

#endif  // KEEL_NET_HTTP2_SERVER_SESSION_H_
