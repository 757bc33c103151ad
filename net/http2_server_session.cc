// Http2ServerSession: nghttp2 callbacks, the per-call state and its data
// provider, and the coroutine that runs each handler.
#include "net/http2_server_session.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "net/grpc_wire.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/strings.h"
#include "runtime/sync.h"

namespace keel::net {
namespace {

// The opaque data of the PING that separates the GOAWAY notice from the
// final GOAWAY ("keelgoaw" read as little-endian).
constexpr uint64_t kShutdownPingOpaque = 0x77616f676c65656bULL;

nghttp2_nv MakeHeader(std::string_view name, std::string_view value) {
  return nghttp2_nv{
      reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
      name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool IsGrpcOwnedHeader(std::string_view name) {
  return name == "content-type" || name == "te" || name == "grpc-timeout" ||
         name == "grpc-encoding" || name == "grpc-accept-encoding";
}

}  // namespace

// One call: the request as it arrives, the messages waiting for the handler,
// and the response bytes waiting for flow control.
class Http2ServerSession::Call final : public ServerStream {
 public:
  Call(Http2ServerSession* session, int32_t stream_id, size_t max_message_bytes)
      : session_(session), stream_id_(stream_id), decoder_(max_message_bytes) {}

  Task<std::optional<std::string>> Read() override;
  Task<absl::Status> Write(std::string message) override;

  Http2ServerSession* session_;
  const int32_t stream_id_;
  CallContext context_;
  // Request headers gRPC itself reads.
  std::string http_method_;
  std::string content_type_;
  std::string grpc_encoding_;
  std::optional<std::string> timeout_;
  size_t header_bytes_ = 0;

  // Inbound.
  GrpcFrameDecoder decoder_;
  bool remote_closed_ = false;
  size_t unconsumed_bytes_ = 0;  // Received but not yet given back as window.
  WaitQueue readable_;

  // Outbound.
  std::string out_;
  size_t out_offset_ = 0;
  bool headers_submitted_ = false;
  bool data_deferred_ = false;
  std::optional<absl::Status> final_status_;
  WaitQueue writable_;

  uint64_t task_id_ = 0;  // The RunCall task, 0 before it starts.
  // The registered method, once found; its stats count this call.
  const GrpcServer::Method* method_ = nullptr;
  TimePoint started_{};

  size_t buffered() const { return out_.size() - out_offset_; }
};

Task<std::optional<std::string>> Http2ServerSession::Call::Read() {
  while (true) {
    if (std::optional<std::string> message = decoder_.Next()) {
      session_->MaybeConsumeStream(this);
      if (method_ != nullptr) {
        method_->stats.msg_received.Inc();
        method_->stats.received_bytes.Inc(message->size());
      }
      co_return message;
    }
    if (remote_closed_ || session_->connection_lost_) co_return std::nullopt;
    co_await readable_.Wait();
  }
}

Task<absl::Status> Http2ServerSession::Call::Write(std::string message) {
  KEEL_ASSERT(!final_status_.has_value());
  if (message.size() > kGrpcMaxMessageBytes) {
    co_return absl::ResourceExhaustedError(
        AsAbsl(StrCat("grpc: trying to send message larger than max (",
                      message.size(), " vs. ", kGrpcMaxMessageBytes, ")")));
  }
  while (buffered() >= kMaxStreamSendBufferBytes && !session_->connection_lost_) {
    co_await writable_.Wait();
  }
  if (session_->connection_lost_) {
    co_return absl::UnavailableError("transport is closing");
  }
  if (out_offset_ > 0 && out_offset_ * 2 >= out_.size()) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  AppendGrpcFrame(message, &out_);
  if (method_ != nullptr) {
    method_->stats.msg_sent.Inc();
    method_->stats.sent_bytes.Inc(message.size());
  }
  nghttp2_session* ng = session_->session_;
  if (!headers_submitted_) {
    headers_submitted_ = true;
    const nghttp2_nv headers[] = {MakeHeader(":status", "200"),
                                  MakeHeader("content-type", "application/grpc")};
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = [](nghttp2_session* ng, int32_t stream_id,
                                uint8_t* buf, size_t length, uint32_t* flags,
                                nghttp2_data_source* source,
                                void* user_data) -> ssize_t {
      auto* call = static_cast<Call*>(source->ptr);
      KEEL_ASSERT(call->stream_id_ == stream_id);
      const size_t n = std::min(length, call->buffered());
      if (n > 0) {
        std::memcpy(buf, call->out_.data() + call->out_offset_, n);
        call->out_offset_ += n;
        if (call->buffered() < kMaxStreamSendBufferBytes) {
          call->writable_.WakeAll();
        }
        return static_cast<ssize_t>(n);
      }
      if (call->final_status_.has_value()) {
        // End the data without END_STREAM; the trailers carry it.
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const std::string code =
            StrCat(static_cast<int>(call->final_status_->code()));
        const std::string text =
            EncodeGrpcMessage(AsStd(call->final_status_->message()));
        const nghttp2_nv trailers[] = {MakeHeader("grpc-status", code),
                                       MakeHeader("grpc-message", text)};
        nghttp2_submit_trailer(ng, stream_id, trailers, 2);
        return 0;
      }
      call->data_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    };
    nghttp2_submit_response(ng, stream_id_, headers, 2, &provider);
  } else if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(ng, stream_id_);
  }
  session_->NotifyOutput();
  co_return absl::OkStatus();
}

// nghttp2's callbacks, forwarding to the session.
struct Http2ServerSession::Callbacks {
  static Http2ServerSession* Self(void* user_data) {
    return static_cast<Http2ServerSession*>(user_data);
  }
  static Call* CallOf(nghttp2_session* ng, int32_t stream_id) {
    return static_cast<Call*>(nghttp2_session_get_stream_user_data(ng, stream_id));
  }

  static int OnBeginHeaders(nghttp2_session* ng, const nghttp2_frame* frame,
                            void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    Call* call = Self(user_data)->BeginCall(frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, call);
    return 0;
  }

  static int OnHeader(nghttp2_session* ng, const nghttp2_frame* frame,
                      const uint8_t* name_bytes, size_t name_length,
                      const uint8_t* value_bytes, size_t value_length,
                      uint8_t flags, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;  // Request trailers carry nothing gRPC uses.
    }
    Call* call = CallOf(ng, frame->hd.stream_id);
    if (call == nullptr) return 0;
    call->header_bytes_ += name_length + value_length + 32;
    if (call->header_bytes_ > kMaxHeaderListBytes) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM.
    }
    std::string_view name(reinterpret_cast<const char*>(name_bytes), name_length);
    std::string value(reinterpret_cast<const char*>(value_bytes), value_length);
    if (name == ":path") {
      call->context_.method = std::move(value);
    } else if (name == ":authority") {
      call->context_.authority = std::move(value);
    } else if (name == ":method") {
      call->http_method_ = std::move(value);
    } else if (name == "content-type") {
      call->content_type_ = std::move(value);
    } else if (name == "grpc-encoding") {
      call->grpc_encoding_ = std::move(value);
    } else if (name == "grpc-timeout") {
      call->timeout_ = std::move(value);
    } else if (!name.empty() && name.front() != ':' && !IsGrpcOwnedHeader(name)) {
      call->context_.metadata.emplace_back(std::string(name), std::move(value));
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* ng, const nghttp2_frame* frame,
                         void* user_data) {
    Http2ServerSession* self = Self(user_data);
    if (frame->hd.type == NGHTTP2_PING) {
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
        uint64_t opaque = 0;
        std::memcpy(&opaque, frame->ping.opaque_data, sizeof(opaque));
        self->HandlePingAck(opaque);
      }
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
      return 0;
    }
    Call* call = CallOf(ng, frame->hd.stream_id);
    if (call == nullptr) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self->StartCall(call);
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      // StartCall may have ended the stream already; look the call up again.
      if (Call* still = CallOf(ng, frame->hd.stream_id)) {
        self->HandleRemoteClose(still);
      }
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* ng, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* user_data) {
    Http2ServerSession* self = Self(user_data);
    // The connection window reopens at once; streams are paced by reads.
    nghttp2_session_consume_connection(ng, length);
    Call* call = CallOf(ng, stream_id);
    if (call == nullptr) {
      nghttp2_session_consume_stream(ng, stream_id, length);
      return 0;
    }
    self->HandleData(call, std::string_view(reinterpret_cast<const char*>(data),
                                            length));
    return 0;
  }

  static int OnStreamClose(nghttp2_session* ng, int32_t stream_id,
                           uint32_t error_code, void* user_data) {
    Self(user_data)->HandleStreamClose(stream_id);
    return 0;
  }

  static int OnFrameSend(nghttp2_session* ng, const nghttp2_frame* frame,
                         void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS) {
      Self(user_data)->HandleHeadersSent(
          frame->hd.stream_id, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
    }
    return 0;
  }
};

Http2ServerSession::Http2ServerSession(const GrpcServer& server, Clock& clock,
                                       std::string peer_address)
    : server_(server),
      clock_(clock),
      peer_address_(std::move(peer_address)),
      tasks_(clock.executor()) {
  nghttp2_session_callbacks* callbacks = nullptr;
  KEEL_ASSERT(nghttp2_session_callbacks_new(&callbacks) == 0);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                          &Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks,
                                                       &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            &Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                         &Callbacks::OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks,
                                                       &Callbacks::OnFrameSend);
  nghttp2_option* option = nullptr;
  KEEL_ASSERT(nghttp2_option_new(&option) == 0);
  nghttp2_option_set_no_auto_window_update(option, 1);
  // nghttp2's HTTP messaging checks reset a stream whose :authority is not
  // a plain host:port, but grpc-go (etcdctl) sends the endpoint as written,
  // "http://127.0.0.1:2379", when it dials one endpoint (endpoint status),
  // and Go's server (etcd) accepts it. StartCall checks what gRPC needs
  // (:path, POST, content-type) itself.
  nghttp2_option_set_no_http_messaging(option, 1);
  nghttp2_session* ng = nullptr;
  KEEL_ASSERT(nghttp2_session_server_new2(&ng, callbacks, this, option) == 0);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  Adopt(ng);

  // Buggify: HTTP/2's default stream window, so requests larger than it
  // wait for WINDOW_UPDATEs.
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
       std::numeric_limits<uint32_t>::max()},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 16384},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
       static_cast<uint32_t>(Buggify() ? kDefaultHttp2WindowBytes : kStreamWindowBytes)},
  };
  KEEL_ASSERT(nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings,
                                      std::size(settings)) == 0);
  KEEL_ASSERT(nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0,
                                                    kConnectionWindowBytes) == 0);
}

Http2ServerSession::~Http2ServerSession() {
  // Handlers refer to their calls; they go first.
  tasks_.CancelAll();
  nghttp2_session_del(session_);
  session_ = nullptr;
  // Calls the connection's end cut off: grpc-go counts them Canceled.
  for (auto& [stream_id, call] : calls_) {
    if (call->method_ != nullptr && !call->final_status_.has_value()) {
      CountHandled(call.get(), static_cast<int>(absl::StatusCode::kCancelled));
    }
  }
  calls_.clear();
}

void Http2ServerSession::Shutdown() {
  if (shutdown_started_) return;
  shutdown_started_ = true;
  nghttp2_submit_shutdown_notice(session_);
  SubmitPing(kShutdownPingOpaque);
}

void Http2ServerSession::HandlePingAck(uint64_t opaque) {
  Http2Session::HandlePingAck(opaque);
  if (opaque == kShutdownPingOpaque && shutdown_started_) {
    // Streams the client opened before seeing the notice are now known.
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    NotifyOutput();
  }
}

void Http2ServerSession::OnConnectionLost(const absl::Status& reason) {
  if (connection_lost_) return;
  connection_lost_ = true;
  // Nobody is left to answer: every handler is cancelled.
  tasks_.CancelAll();
}

Http2ServerSession::Call* Http2ServerSession::BeginCall(int32_t stream_id) {
  auto call = std::make_unique<Call>(this, stream_id,
                                     server_.options().max_receive_message_bytes);
  call->context_.peer_address = peer_address_;
  Call* raw = call.get();
  const bool inserted = calls_.emplace(stream_id, std::move(call)).second;
  KEEL_ASSERT(inserted);
  return raw;
}

void Http2ServerSession::RejectStream(int32_t stream_id, uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, code);
  NotifyOutput();
}

void Http2ServerSession::StartCall(Call* call) {
  KEEL_ASSERT(call->task_id_ == 0);
  // grpc-go 1.33 resets requests that are not gRPC (and Go's server those
  // without a :path).
  if (call->http_method_ != "POST" || call->context_.method.empty() ||
      call->content_type_.rfind("application/grpc", 0) != 0) {
    RejectStream(call->stream_id_, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (!call->grpc_encoding_.empty() && call->grpc_encoding_ != "identity") {
    FinishCall(call,
               absl::UnimplementedError(AsAbsl(
                   StrCat("grpc: Decompressor is not installed for "
                          "grpc-encoding \"", call->grpc_encoding_, "\""))),
               false);
    return;
  }
  if (call->timeout_.has_value()) {
    std::optional<Duration> timeout = ParseGrpcTimeout(*call->timeout_);
    if (!timeout.has_value()) {
      FinishCall(call,
                 absl::InternalError(AsAbsl(StrCat(
                     "transport: malformed time-out: ", *call->timeout_))),
                 false);
      return;
    }
    const TimePoint now = clock_.Now();
    call->context_.deadline = *timeout >= TimePoint::max() - now
                                  ? TimePoint::max()
                                  : now + *timeout;
  }
  call->method_ = server_.Find(call->context_.method);
  if (call->method_ == nullptr) {
    FinishCall(call, server_.UnknownMethodStatus(call->context_.method), false);
    return;
  }
  call->method_->stats.started.Inc();
  call->started_ = clock_.Now();
  call->task_id_ = tasks_.Start(RunCall(call));
}

void Http2ServerSession::HandleData(Call* call, std::string_view data) {
  call->unconsumed_bytes_ += data.size();
  if (call->final_status_.has_value()) {
    MaybeConsumeStream(call);  // Nobody reads any more; drop it.
    return;
  }
  absl::Status status = call->decoder_.Append(data);
  if (!status.ok()) {
    FinishCall(call, std::move(status), /*cancel_handler=*/true);
    MaybeConsumeStream(call);
    return;
  }
  if (call->decoder_.ready_count() > 0) call->readable_.WakeAll();
  MaybeConsumeStream(call);
}

void Http2ServerSession::MaybeConsumeStream(Call* call) {
  if (call->unconsumed_bytes_ == 0) return;
  if (!call->final_status_.has_value() &&
      call->decoder_.ready_bytes() >= kMaxStreamReceiveQueueBytes) {
    return;  // The handler is behind; let the client wait.
  }
  nghttp2_session_consume_stream(session_, call->stream_id_,
                                 call->unconsumed_bytes_);
  call->unconsumed_bytes_ = 0;
  NotifyOutput();
}

void Http2ServerSession::HandleRemoteClose(Call* call) {
  call->remote_closed_ = true;
  call->readable_.WakeAll();
}

void Http2ServerSession::HandleStreamClose(int32_t stream_id) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  Call* call = it->second.get();
  // A reset by the client, or the natural end: either way the handler, if
  // still running, has nobody to answer.
  if (call->task_id_ != 0) tasks_.Cancel(call->task_id_);
  if (call->method_ != nullptr && !call->final_status_.has_value()) {
    // Reset before it answered: grpc-go counts the call as Canceled.
    CountHandled(call, static_cast<int>(absl::StatusCode::kCancelled));
  }
  calls_.erase(it);
}

void Http2ServerSession::HandleHeadersSent(int32_t stream_id, bool end_stream) {
  if (!end_stream) return;
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  // The response is complete but the client is still sending: tell it to
  // stop, as grpc-go does (RST_STREAM NO_ERROR after the trailers).
  if (!it->second->remote_closed_) RejectStream(stream_id, NGHTTP2_NO_ERROR);
}

Task<void> Http2ServerSession::RunCall(Call* call) {
  absl::Status status;
  if (call->context_.deadline.has_value()) {
    const Duration remaining = *call->context_.deadline - clock_.Now();
    std::optional<absl::Status> result =
        co_await clock_.WithTimeout(remaining, RunHandler(call));
    if (result.has_value()) {
      status = std::move(*result);
    } else if (call->context_.deadline_status) {
      status = call->context_.deadline_status();
    } else {
      status = ContextDeadlineExceeded();
    }
  } else {
    status = co_await RunHandler(call);
  }
  if (!call->final_status_.has_value()) {
    FinishCall(call, std::move(status), /*cancel_handler=*/false);
  }
}

Task<absl::Status> Http2ServerSession::RunHandler(Call* call) {
  const GrpcServer::Method* method = server_.Find(call->context_.method);
  KEEL_ASSERT(method != nullptr);
  if (method->stream) {
    co_return co_await method->stream(call->context_, *call);
  }
  std::optional<std::string> request = co_await call->Read();
  // grpc-go reports a unary call without a request as io.EOF's text.
  if (!request.has_value()) co_return absl::UnknownError("EOF");
  absl::StatusOr<std::string> response =
      co_await method->unary(call->context_, std::move(*request));
  if (!response.ok()) co_return response.status();
  co_return co_await call->Write(std::move(*response));
}

void Http2ServerSession::FinishCall(Call* call, absl::Status status,
                                    bool cancel_handler) {
  KEEL_ASSERT(!call->final_status_.has_value());
  if (cancel_handler && call->task_id_ != 0) {
    tasks_.Cancel(call->task_id_);
    call->task_id_ = 0;
  }
  call->final_status_ = std::move(status);
  if (call->method_ != nullptr) {
    CountHandled(call, static_cast<int>(call->final_status_->code()));
  }
  if (!call->headers_submitted_) {
    // Trailers-Only: one HEADERS frame that ends the stream.
    call->headers_submitted_ = true;
    const std::string code = StrCat(static_cast<int>(call->final_status_->code()));
    const std::string text = EncodeGrpcMessage(AsStd(call->final_status_->message()));
    const nghttp2_nv headers[] = {MakeHeader(":status", "200"),
                                  MakeHeader("content-type", "application/grpc"),
                                  MakeHeader("grpc-status", code),
                                  MakeHeader("grpc-message", text)};
    nghttp2_submit_response(session_, call->stream_id_, headers, 4, nullptr);
  } else if (call->data_deferred_) {
    call->data_deferred_ = false;
    nghttp2_session_resume_data(session_, call->stream_id_);
  }
  call->writable_.WakeAll();
  NotifyOutput();
}

void Http2ServerSession::CountHandled(Call* call, int code) {
  GrpcMethodStats& stats = call->method_->stats;
  if (code < 0 || code >= kGrpcCodeCount) code = static_cast<int>(absl::StatusCode::kUnknown);
  stats.handled[code].Inc();
  stats.handling_seconds.ObserveDuration(clock_.Now() - call->started_);
}

}  // namespace keel::net
