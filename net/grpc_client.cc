// GrpcChannel: the nghttp2 client session, per-call state shared with
// ClientStream handles, and the unary and streaming call paths.
#include "net/grpc_client.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <vector>

#include "net/grpc_wire.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/strings.h"

namespace keel::net {
namespace internal {

// One call, shared by the channel (while its stream is open) and the
// caller's handle. `channel` is null once the channel has let go of it.
struct ClientCall {
  ClientCall(GrpcChannel* channel, size_t max_message_bytes)
      : channel(channel), decoder(max_message_bytes) {}

  GrpcChannel* channel;
  int32_t stream_id = -1;
  bool stream_closed = false;
  size_t header_bytes = 0;

  // Response.
  GrpcFrameDecoder decoder;
  size_t unconsumed_bytes = 0;
  int http_status = 0;
  std::optional<int> grpc_status;
  std::string grpc_message;
  std::optional<absl::Status> final_status;
  int header_blocks = 0;       // HEADERS frames received.
  bool trailers_only = false;  // The first one ended the stream.
  WaitQueue readable;  // A message arrived or the call ended.

  // Request.
  std::string out;
  size_t out_offset = 0;
  bool local_closed = false;
  bool data_deferred = false;
  WaitQueue writable;

  size_t buffered() const { return out.size() - out_offset; }

  // The status once the response has ended (END_STREAM seen).
  absl::Status StatusFromResponse() const {
    if (grpc_status.has_value()) {
      return StatusFromGrpcCode(*grpc_status, DecodeGrpcMessage(grpc_message));
    }
    if (http_status != 0 && http_status != 200) {
      return StatusFromHttpStatus(http_status);
    }
    return absl::InternalError(
        "server closed the stream without sending trailers");
  }

  void End(absl::Status status) {
    if (!final_status.has_value()) final_status = std::move(status);
    readable.WakeAll();
    writable.WakeAll();
  }
};

}  // namespace internal

using internal::ClientCall;

namespace {

nghttp2_nv MakeHeader(std::string_view name, std::string_view value) {
  return nghttp2_nv{
      reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
      name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

absl::Status ChannelClosingStatus() {
  return absl::CancelledError("grpc: the client connection is closing");
}

// Copies queued request bytes into a DATA frame; ends the stream after a
// CloseSend once everything is out.
ssize_t ReadRequestData(nghttp2_session* ng, int32_t stream_id, uint8_t* buf,
                        size_t length, uint32_t* flags,
                        nghttp2_data_source* source, void* user_data) {
  auto* call = static_cast<ClientCall*>(source->ptr);
  const size_t n = std::min(length, call->buffered());
  if (n > 0) {
    std::memcpy(buf, call->out.data() + call->out_offset, n);
    call->out_offset += n;
    if (call->buffered() < kMaxStreamSendBufferBytes) call->writable.WakeAll();
  }
  if (call->buffered() == 0) {
    call->out.clear();
    call->out_offset = 0;
    if (call->local_closed) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      call->data_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

// The next response message; nullopt once the call has ended (an error
// ends it at once, an OK ending after the messages before it).
Task<std::optional<std::string>> ReadMessage(std::shared_ptr<ClientCall> call) {
  while (true) {
    if (call->final_status.has_value() && !call->final_status->ok()) {
      co_return std::nullopt;
    }
    if (std::optional<std::string> message = call->decoder.Next()) {
      co_return message;
    }
    if (call->final_status.has_value()) co_return std::nullopt;
    co_await call->readable.Wait();
  }
}

}  // namespace

// nghttp2's callbacks, forwarding to the channel.
struct GrpcChannel::Callbacks {
  static GrpcChannel* Self(void* user_data) {
    return static_cast<GrpcChannel*>(user_data);
  }
  static ClientCall* CallOf(nghttp2_session* ng, int32_t stream_id) {
    return static_cast<ClientCall*>(
        nghttp2_session_get_stream_user_data(ng, stream_id));
  }

  static int OnHeader(nghttp2_session* ng, const nghttp2_frame* frame,
                      const uint8_t* name_bytes, size_t name_length,
                      const uint8_t* value_bytes, size_t value_length,
                      uint8_t flags, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientCall* call = CallOf(ng, frame->hd.stream_id);
    if (call == nullptr) return 0;
    call->header_bytes += name_length + value_length + 32;
    if (call->header_bytes > kMaxHeaderListBytes) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM.
    }
    std::string_view name(reinterpret_cast<const char*>(name_bytes), name_length);
    std::string_view value(reinterpret_cast<const char*>(value_bytes),
                           value_length);
    if (name == ":status") {
      (void)ParseInt(value, &call->http_status);
    } else if (name == "grpc-status") {
      int code = 0;
      call->grpc_status = ParseInt(value, &code) ? code : 2;  // Unknown.
    } else if (name == "grpc-message") {
      call->grpc_message = std::string(value);
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* ng, const nghttp2_frame* frame,
                         void* user_data) {
    GrpcChannel* self = Self(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
          uint64_t opaque = 0;
          std::memcpy(&opaque, frame->ping.opaque_data, sizeof(opaque));
          self->HandlePingAck(opaque);
        }
        return 0;
      case NGHTTP2_GOAWAY:
        self->goaway_received_ = true;
        return 0;
      case NGHTTP2_RST_STREAM:
        if (ClientCall* call = CallOf(ng, frame->hd.stream_id)) {
          call->End(StatusFromRstStream(frame->rst_stream.error_code));
        }
        return 0;
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        break;
      default:
        return 0;
    }
    ClientCall* call = CallOf(ng, frame->hd.stream_id);
    if (call == nullptr) return 0;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && call->header_blocks++ == 0) {
      call->trailers_only = end_stream;
    }
    if (end_stream) call->End(call->StatusFromResponse());
    return 0;
  }

  static int OnDataChunk(nghttp2_session* ng, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* user_data) {
    GrpcChannel* self = Self(user_data);
    nghttp2_session_consume_connection(ng, length);
    ClientCall* call = CallOf(ng, stream_id);
    if (call == nullptr || call->final_status.has_value()) {
      nghttp2_session_consume_stream(ng, stream_id, length);
      return 0;
    }
    call->unconsumed_bytes += length;
    absl::Status status = call->decoder.Append(
        std::string_view(reinterpret_cast<const char*>(data), length));
    if (!status.ok()) {
      self->CancelCall(*call, std::move(status));
    } else if (call->decoder.ready_count() > 0) {
      call->readable.WakeAll();
    }
    self->MaybeConsumeStream(*call);
    return 0;
  }

  static int OnStreamClose(nghttp2_session* ng, int32_t stream_id,
                           uint32_t error_code, void* user_data) {
    GrpcChannel* self = Self(user_data);
    auto it = self->calls_.find(stream_id);
    if (it == self->calls_.end()) return 0;
    std::shared_ptr<ClientCall> call = std::move(it->second);
    self->calls_.erase(it);
    call->stream_closed = true;
    call->channel = nullptr;
    call->End(error_code != NGHTTP2_NO_ERROR ? StatusFromRstStream(error_code)
                                             : call->StatusFromResponse());
    return 0;
  }
};

GrpcChannel::GrpcChannel(std::unique_ptr<Connection> connection, Clock& clock,
                         ChannelOptions options)
    : clock_(clock),
      connection_(std::move(connection)),
      options_(std::move(options)),
      tasks_(clock.executor()) {
  KEEL_ASSERT(connection_ != nullptr);
  authority_ = options_.authority.empty() ? connection_->peer_address()
                                          : options_.authority;
  nghttp2_session_callbacks* callbacks = nullptr;
  KEEL_ASSERT(nghttp2_session_callbacks_new(&callbacks) == 0);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks,
                                                       &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            &Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                         &Callbacks::OnStreamClose);
  nghttp2_option* option = nullptr;
  KEEL_ASSERT(nghttp2_option_new(&option) == 0);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session* ng = nullptr;
  KEEL_ASSERT(nghttp2_session_client_new2(&ng, callbacks, this, option) == 0);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  Adopt(ng);

  // Buggify: HTTP/2's default stream window, so responses larger than it
  // wait for WINDOW_UPDATEs.
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
       static_cast<uint32_t>(Buggify() ? kDefaultHttp2WindowBytes : kStreamWindowBytes)},
  };
  KEEL_ASSERT(nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings,
                                      std::size(settings)) == 0);
  KEEL_ASSERT(nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0,
                                                    kConnectionWindowBytes) == 0);
  tasks_.Start(RunPump());
}

GrpcChannel::~GrpcChannel() {
  Executor::Scope scope(clock_.executor());
  tasks_.CancelAll();
  FailAll(ChannelClosingStatus());
  connection_->Close();
  nghttp2_session_del(session_);
  session_ = nullptr;
}

Task<void> GrpcChannel::RunPump() {
  (void)co_await PumpHttp2(*this, *connection_, clock_, std::string(),
                           options_.pump);
}

void GrpcChannel::OnConnectionLost(const absl::Status& reason) {
  closed_ = true;
  FailAll(absl::UnavailableError(reason.message()));
}

void GrpcChannel::FailAll(const absl::Status& status) {
  // The pump no longer runs nghttp2, so the calls can be let go of.
  for (auto& [stream_id, call] : calls_) {
    call->channel = nullptr;
    call->End(status);
  }
  calls_.clear();
  ping_waiters_.WakeAll();
}

void GrpcChannel::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [stream_id, call] : calls_) call->End(ChannelClosingStatus());
  ping_waiters_.WakeAll();
  // The pump sees the closed connection, ends, and releases the calls.
  connection_->Close();
}

void GrpcChannel::HandlePingAck(uint64_t opaque) {
  Http2Session::HandlePingAck(opaque);
  ping_waiters_.WakeAll();
}

void GrpcChannel::CancelCall(ClientCall& call, absl::Status status) {
  KEEL_ASSERT(call.channel == this);
  call.End(std::move(status));
  if (!call.stream_closed) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call.stream_id,
                              NGHTTP2_CANCEL);
    NotifyOutput();
  }
}

void GrpcChannel::ResumeSending(ClientCall& call) {
  if (call.data_deferred) {
    call.data_deferred = false;
    nghttp2_session_resume_data(session_, call.stream_id);
  }
  NotifyOutput();
}

void GrpcChannel::MaybeConsumeStream(ClientCall& call) {
  if (call.unconsumed_bytes == 0) return;
  if (!call.final_status.has_value() &&
      call.decoder.ready_bytes() >= kMaxStreamReceiveQueueBytes) {
    return;  // The reader is behind; let the server wait.
  }
  nghttp2_session_consume_stream(session_, call.stream_id, call.unconsumed_bytes);
  call.unconsumed_bytes = 0;
  NotifyOutput();
}

absl::StatusOr<std::unique_ptr<ClientStream>> GrpcChannel::OpenStream(
    std::string path, CallOptions options) {
  if (closed_) return absl::UnavailableError("transport is closing");
  if (goaway_received_) {
    return absl::UnavailableError("the connection is draining");
  }
  auto call = std::make_shared<ClientCall>(this, options_.max_receive_message_bytes);
  std::vector<nghttp2_nv> headers = {
      MakeHeader(":method", "POST"),
      MakeHeader(":scheme", "http"),
      MakeHeader(":path", path),
      MakeHeader(":authority", authority_),
      MakeHeader("content-type", "application/grpc"),
      MakeHeader("te", "trailers"),
      MakeHeader("user-agent", "keel-grpc"),
  };
  std::string timeout;
  if (options.timeout.has_value()) {
    timeout = FormatGrpcTimeout(*options.timeout);
    headers.push_back(MakeHeader("grpc-timeout", timeout));
  }
  for (const auto& [name, value] : options.metadata) {
    headers.push_back(MakeHeader(name, value));
  }
  nghttp2_data_provider provider;
  provider.source.ptr = call.get();
  provider.read_callback = &ReadRequestData;
  const int32_t stream_id = nghttp2_submit_request(
      session_, nullptr, headers.data(), headers.size(), &provider, call.get());
  if (stream_id < 0) {
    return absl::UnavailableError(
        AsAbsl(StrCat("http2: ", nghttp2_strerror(stream_id))));
  }
  call->stream_id = stream_id;
  calls_.emplace(stream_id, call);
  NotifyOutput();
  return std::unique_ptr<ClientStream>(new ClientStream(std::move(call)));
}

Task<absl::StatusOr<std::string>> GrpcChannel::UnaryCall(std::string path,
                                                         std::string request,
                                                         CallOptions options) {
  const std::optional<Duration> timeout = options.timeout;
  absl::StatusOr<std::unique_ptr<ClientStream>> stream =
      OpenStream(std::move(path), std::move(options));
  if (!stream.ok()) co_return stream.status();
  std::shared_ptr<ClientCall> call = (*stream)->call_;
  // One message and the half-close go out right behind the HEADERS.
  AppendGrpcFrame(request, &call->out);
  call->local_closed = true;
  ResumeSending(*call);
  if (!timeout.has_value()) co_return co_await UnaryExchange(call);
  Clock& clock = clock_;
  std::optional<absl::StatusOr<std::string>> result =
      co_await clock.WithTimeout(*timeout, UnaryExchange(call));
  if (result.has_value()) co_return std::move(*result);
  // The channel may be gone by now; only the call is safe to look at.
  absl::Status expired = ContextDeadlineExceeded();
  if (call->channel != nullptr) {
    call->channel->CancelCall(*call, expired);
  } else {
    call->End(expired);
  }
  co_return expired;
}

Task<absl::StatusOr<std::string>> GrpcChannel::UnaryExchange(
    std::shared_ptr<ClientCall> call) {
  std::optional<std::string> response;
  while (true) {
    std::optional<std::string> message = co_await ReadMessage(call);
    if (!message.has_value()) break;
    if (call->channel != nullptr) call->channel->MaybeConsumeStream(*call);
    if (!response.has_value()) response = std::move(message);
  }
  KEEL_ASSERT(call->final_status.has_value());
  if (!call->final_status->ok()) co_return *call->final_status;
  if (!response.has_value()) {
    co_return absl::InternalError("grpc: server returned no response message");
  }
  co_return std::move(*response);
}

Task<absl::Status> GrpcChannel::Ping(Duration timeout) {
  if (closed_) co_return absl::UnavailableError("transport is closing");
  const uint64_t acked_before = pings_acked();
  SubmitPing(++next_ping_);
  const TimePoint deadline = clock_.Now() + timeout;
  Clock& clock = clock_;
  auto wait = [](GrpcChannel* self, uint64_t acked_before) -> Task<void> {
    while (!self->closed_ && self->pings_acked() == acked_before) {
      co_await self->ping_waiters_.Wait();
    }
  };
  const bool answered =
      co_await clock.WithTimeout(deadline - clock.Now(), wait(this, acked_before));
  if (!answered) co_return absl::DeadlineExceededError("ping not acknowledged");
  if (closed_) co_return absl::UnavailableError("transport is closing");
  co_return absl::OkStatus();
}

// --- ClientStream -------------------------------------------------------------

ClientStream::~ClientStream() {
  if (call_->channel != nullptr && !call_->stream_closed) {
    Executor::Scope scope(call_->channel->clock_.executor());
    call_->channel->CancelCall(*call_, absl::CancelledError("context canceled"));
  }
}

Task<absl::Status> ClientStream::Write(std::string message) {
  if (message.size() > kGrpcMaxMessageBytes) {
    co_return absl::ResourceExhaustedError(
        AsAbsl(StrCat("trying to send message larger than max (",
                      message.size(), " vs. ", kGrpcMaxMessageBytes, ")")));
  }
  while (true) {
    if (call_->final_status.has_value()) {
      if (!call_->final_status->ok()) co_return *call_->final_status;
      co_return absl::FailedPreconditionError("the call has ended");
    }
    if (call_->local_closed) {
      co_return absl::FailedPreconditionError("send after CloseSend");
    }
    if (call_->buffered() < kMaxStreamSendBufferBytes) break;
    co_await call_->writable.Wait();
  }
  KEEL_ASSERT(call_->channel != nullptr);
  AppendGrpcFrame(message, &call_->out);
  call_->channel->ResumeSending(*call_);
  co_return absl::OkStatus();
}

void ClientStream::CloseSend() {
  if (call_->local_closed) return;
  call_->local_closed = true;
  if (call_->channel != nullptr && !call_->stream_closed) {
    call_->channel->ResumeSending(*call_);
  }
}

Task<std::optional<std::string>> ClientStream::Read() {
  std::optional<std::string> message = co_await ReadMessage(call_);
  if (message.has_value() && call_->channel != nullptr) {
    call_->channel->MaybeConsumeStream(*call_);
  }
  co_return message;
}

Task<absl::Status> ClientStream::Finish() {
  while (true) {
    std::optional<std::string> message = co_await Read();
    if (!message.has_value()) break;
  }
  KEEL_ASSERT(call_->final_status.has_value());
  co_return *call_->final_status;
}

void ClientStream::Cancel() {
  if (call_->channel != nullptr && !call_->stream_closed) {
    call_->channel->CancelCall(*call_, absl::CancelledError("context canceled"));
  } else {
    call_->End(absl::CancelledError("context canceled"));
  }
}

std::optional<absl::Status> ClientStream::status() const {
  return call_->final_status;
}

bool ClientStream::trailers_only() const { return call_->trailers_only; }

Task<absl::StatusOr<std::unique_ptr<GrpcChannel>>> internal::DialGrpc(
    Network& network, Clock& clock, std::string address, ChannelOptions options) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      co_await network.Connect(address);
  if (!connection.ok()) co_return connection.status();
  co_return std::make_unique<GrpcChannel>(std::move(*connection), clock,
                                          std::move(options));
}

}  // namespace keel::net
