// Http2Session: the sans-IO core shared by keel's HTTP/2 server and client,
// and PumpHttp2(), which runs one over a keel Connection.
//
// A session wraps an nghttp2 session used purely in memory: bytes from the
// peer go in through Receive() (nghttp2_session_mem_recv), bytes for the peer
// come out of TakeOutput() (nghttp2_session_mem_send). Subclasses install the
// nghttp2 callbacks and turn frames into gRPC calls. Anything that queues a
// frame (a handler's Write, a finished call, a shutdown) calls
// NotifyOutput(), which wakes the pump's writer. nghttp2 has no timers: PING
// and SETTINGS ACKs and WINDOW_UPDATEs go out with the next TakeOutput, and
// keepalive is the pump's job.
//
// Only the pump calls Receive() and TakeOutput(), so nghttp2 callbacks never
// run inside a handler's coroutine; subclasses may therefore destroy handler
// frames from callbacks.
#ifndef KEEL_NET_HTTP2_SESSION_H_
#define KEEL_NET_HTTP2_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/clock.h"
#include "runtime/executor.h"
#include "runtime/network.h"
#include "runtime/task.h"
#include "runtime/time.h"

struct nghttp2_session;

namespace keel::net {

// The HTTP/2 connection preface a client sends first.
inline constexpr std::string_view kHttp2ClientPreface =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Bytes read from the connection at a time.
inline constexpr size_t kConnectionReadChunkBytes = 64 * 1024;
// At most this much output is handed to one Connection::Write.
inline constexpr size_t kMaxWriteChunkBytes = 256 * 1024;
// Flow-control windows keel advertises: per stream (SETTINGS
// INITIAL_WINDOW_SIZE) and for the whole connection.
inline constexpr int32_t kStreamWindowBytes = 1024 * 1024;
inline constexpr int32_t kConnectionWindowBytes = 16 * 1024 * 1024;
// HTTP/2's initial window (RFC 9113, 6.9.2): what a stream gets under
// Buggify() instead of kStreamWindowBytes.
inline constexpr int32_t kDefaultHttp2WindowBytes = 65535;
// Read and write sizes under Buggify(): a few bytes, or part of a frame.
inline constexpr size_t kBuggifiedReadBytes = 7;
inline constexpr size_t kBuggifiedWriteBytes = 1000;
// A stream's response bytes buffered ahead of flow control before a
// handler's Write suspends (one message is always accepted).
inline constexpr size_t kMaxStreamSendBufferBytes = 256 * 1024;
// Complete request messages a stream may hold unread before keel stops
// reopening that stream's window.
inline constexpr size_t kMaxStreamReceiveQueueBytes = 1024 * 1024;
// Header bytes (names + values + 32 per field, as HTTP/2 counts them) one
// request or response may carry.
inline constexpr size_t kMaxHeaderListBytes = 64 * 1024;

static_assert(kMaxStreamReceiveQueueBytes <= size_t{kConnectionWindowBytes});

class Http2Session {
 public:
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;
  // Frees the nghttp2 session. Subclasses destroy their handler frames first.
  virtual ~Http2Session();

  // Feeds bytes from the peer. On a protocol violation nghttp2 queues a
  // GOAWAY and the session winds down (alive() turns false once it is sent);
  // an error return means the input could not be processed at all (for
  // example a server that did not get the client preface): the caller
  // flushes what output remains and closes. Does not suspend.
  absl::Status Receive(std::string_view bytes);

  // Appends at most about `max_bytes` of frames for the peer to `out`.
  // Internal on an nghttp2 failure (the connection must be closed).
  absl::Status TakeOutput(size_t max_bytes, std::string* out);

  // False once nghttp2 wants neither to read nor to write: after a GOAWAY
  // exchange with no stream left, or after a fatal error. The connection
  // should then be closed.
  bool alive() const;
  bool wants_read() const;
  // True after input nghttp2 could not process at all.
  bool failed() const { return failed_; }

  // Queues a PING; its ACK arrives through HandlePingAck.
  void SubmitPing(uint64_t opaque);
  // PING ACKs received so far (for keepalive and tests).
  uint64_t pings_acked() const { return pings_acked_; }

  // Wakes the pump's writer: call after queuing anything.
  void NotifyOutput() { output_waiters_.WakeAll(); }
  WaitQueue& output_waiters() { return output_waiters_; }

  // Told by the pump when the connection is gone (read error, end of stream,
  // keepalive timeout): fail or cancel everything outstanding. Idempotent.
  virtual void OnConnectionLost(const absl::Status& reason) = 0;

 protected:
  Http2Session() = default;
  // Subclasses create the nghttp2 session, then hand it over.
  void Adopt(nghttp2_session* session) { session_ = session; }
  // Called by subclasses' frame callbacks for a PING with the ACK flag.
  virtual void HandlePingAck(uint64_t opaque) { pings_acked_++; }

  nghttp2_session* session_ = nullptr;
  bool failed_ = false;

 private:
  uint64_t pings_acked_ = 0;
  WaitQueue output_waiters_;
};

struct Http2PumpOptions {
  // Ping the peer after this long without receiving anything; zero turns
  // keepalive off. etcd's server default is 2 hours, grpc-go clients use 10
  // seconds at least.
  Duration keepalive_interval = Duration::zero();
  // Close the connection if nothing arrives this long after such a ping.
  Duration keepalive_timeout = Seconds(20);
};

// Runs `session` over `connection` until the session is done (alive() is
// false and its last frames are written), the peer closes or resets the
// connection, or keepalive gives up. `initial` holds bytes already read (the
// sniffed preface). Always calls session.OnConnectionLost() before
// returning, then closes the connection. Returns OK when the session finished
// or the peer closed, InvalidArgument if the peer's bytes were not HTTP/2,
// Unavailable if keepalive gave up. Suspends.
Task<absl::Status> PumpHttp2(Http2Session& session, Connection& connection,
                             Clock& clock, std::string initial,
                             Http2PumpOptions options);

}  // namespace keel::net

#endif  // KEEL_NET_HTTP2_SESSION_H_
