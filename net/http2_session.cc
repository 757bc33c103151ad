// Http2Session's byte pump and the reader/writer/keepalive loops that connect
// it to a keel Connection.
#include "net/http2_session.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <span>
#include <vector>

#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/sync.h"
#include "runtime/when.h"

namespace keel::net {

Http2Session::~Http2Session() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

absl::Status Http2Session::Receive(std::string_view bytes) {
  KEEL_ASSERT(session_ != nullptr);
  if (failed_) return absl::FailedPreconditionError("http2 session failed");
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) {
    failed_ = true;
    // Best effort: tell the peer why before the connection goes.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    NotifyOutput();
    return absl::InvalidArgumentError(
        AsAbsl(StrCat("http2: ", nghttp2_strerror(static_cast<int>(rv)))));
  }
  KEEL_ASSERT(static_cast<size_t>(rv) == bytes.size());
  NotifyOutput();  // ACKs and WINDOW_UPDATEs may be queued now.
  return absl::OkStatus();
}

absl::Status Http2Session::TakeOutput(size_t max_bytes, std::string* out) {
  KEEL_ASSERT(session_ != nullptr);
  while (out->size() < max_bytes) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failed_ = true;
      return absl::InternalError(
          AsAbsl(StrCat("http2: ", nghttp2_strerror(static_cast<int>(n)))));
    }
    if (n == 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool Http2Session::alive() const {
  return nghttp2_session_want_read(session_) != 0 ||
         nghttp2_session_want_write(session_) != 0;
}

bool Http2Session::wants_read() const {
  return !failed_ && nghttp2_session_want_read(session_) != 0;
}

void Http2Session::SubmitPing(uint64_t opaque) {
  uint8_t data[8];
  std::memcpy(data, &opaque, sizeof(data));
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, data);
  NotifyOutput();
}

namespace {

// State the pump's loops share; lives in PumpHttp2's frame.
struct PumpState {
  Http2Session& session;
  Connection& connection;
  Clock& clock;
  TimePoint last_read;
  uint64_t reads = 0;  // Successful reads so far.
  Event never;  // Awaited by a loop that has nothing more to do.
};

Task<absl::Status> ReadLoop(PumpState& state, std::string initial) {
  if (!initial.empty()) {
    // A protocol error here winds the session down through the writer.
    (void)state.session.Receive(initial);
  }
  std::vector<char> buffer(kConnectionReadChunkBytes);
  while (state.session.wants_read()) {
    // Buggify: a read of a few bytes, so frames reach nghttp2 in pieces.
    absl::StatusOr<size_t> n = co_await state.connection.Read(
        std::span<char>(buffer).first(Buggify() ? kBuggifiedReadBytes : buffer.size()));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::OkStatus();  // The peer closed.
    state.last_read = state.clock.Now();
    state.reads++;
    (void)state.session.Receive(std::string_view(buffer.data(), *n));
  }
  // The session will not read again; the writer finishes it.
  co_await state.never.Wait();
  co_return absl::OkStatus();
}

Task<absl::Status> WriteLoop(PumpState& state) {
  std::string out;
  while (true) {
    out.clear();
    // Buggify: output handed to the connection in small writes.
    KEEL_CO_RETURN_IF_ERROR(state.session.TakeOutput(
        Buggify() ? kBuggifiedWriteBytes : kMaxWriteChunkBytes, &out));
    if (!out.empty()) {
      KEEL_CO_RETURN_IF_ERROR(co_await state.connection.Write(out));
      continue;
    }
    if (!state.session.alive()) co_return absl::OkStatus();
    co_await state.session.output_waiters().Wait();
  }
}

Task<absl::Status> KeepaliveLoop(PumpState& state, Http2PumpOptions options) {
  if (options.keepalive_interval <= Duration::zero()) {
    co_await state.never.Wait();
    co_return absl::OkStatus();
  }
  uint64_t opaque = 0;
  while (true) {
    const TimePoint idle_since = state.last_read;
    co_await state.clock.SleepUntil(idle_since + options.keepalive_interval);
    if (state.last_read != idle_since) continue;  // Traffic arrived.
    // Anything read after the ping proves the peer alive (time alone cannot:
    // in simulation the answer may arrive at the same instant).
    const uint64_t reads_before = state.reads;
    state.session.SubmitPing(++opaque);
    co_await state.clock.Sleep(options.keepalive_timeout);
    if (state.reads == reads_before) {
      co_return absl::UnavailableError("keepalive ping not acknowledged");
    }
  }
}

}  // namespace

Task<absl::Status> PumpHttp2(Http2Session& session, Connection& connection,
                             Clock& clock, std::string initial,
                             Http2PumpOptions options) {
  PumpState state{.session = session,
                  .connection = connection,
                  .clock = clock,
                  .last_read = clock.Now()};
  std::vector<Task<absl::Status>> loops;
  loops.push_back(ReadLoop(state, std::move(initial)));
  loops.push_back(WriteLoop(state));
  loops.push_back(KeepaliveLoop(state, options));
  AnyResult<absl::Status> first = co_await WhenAny(std::move(loops));
  absl::Status reason;
  switch (first.index) {
    case 0:  // The reader: the peer closed or the connection broke.
      reason = first.value.ok()
                   ? absl::UnavailableError("connection closed by peer")
                   : absl::UnavailableError(AsAbsl(StrCat(
                         "connection error: ", first.value.message())));
      break;
    case 1:  // The writer: the session finished, or writing failed.
      reason = first.value.ok() ? absl::UnavailableError("transport is closing")
                                : first.value;
      break;
    default:  // Keepalive gave up.
      reason = first.value;
      break;
  }
  session.OnConnectionLost(reason);
  connection.Close();
  if (session.failed()) {
    co_return absl::InvalidArgumentError("http2 protocol error");
  }
  co_return first.index == 2 ? first.value : absl::OkStatus();
}

}  // namespace keel::net
