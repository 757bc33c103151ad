// Watch and LeaseKeepAlive streams: protobuf framing over a ClientStream.
#include "client/streams.h"

namespace keel::client {
namespace {

absl::Status ParseError() {
  return absl::InternalError(
      "grpc: failed to unmarshal the received message proto: cannot parse "
      "invalid wire-format data");
}

}  // namespace

Task<absl::Status> WatchStream::Send(const etcdserverpb::WatchRequest& request) {
  std::string bytes = request.SerializeAsString();
  co_return co_await stream_->Write(std::move(bytes));
}

Task<absl::Status> WatchStream::Create(etcdserverpb::WatchCreateRequest request) {
  etcdserverpb::WatchRequest wrapper;
  *wrapper.mutable_create_request() = std::move(request);
  co_return co_await Send(wrapper);
}

Task<absl::Status> WatchStream::Cancel(int64_t watch_id) {
  etcdserverpb::WatchRequest wrapper;
  wrapper.mutable_cancel_request()->set_watch_id(watch_id);
  co_return co_await Send(wrapper);
}

Task<absl::Status> WatchStream::RequestProgress() {
  etcdserverpb::WatchRequest wrapper;
  wrapper.mutable_progress_request();
  co_return co_await Send(wrapper);
}

Task<std::optional<etcdserverpb::WatchResponse>> WatchStream::Receive() {
  if (parse_error_.has_value()) co_return std::nullopt;
  std::optional<std::string> bytes = co_await stream_->Read();
  if (!bytes.has_value()) co_return std::nullopt;
  etcdserverpb::WatchResponse response;
  if (!response.ParseFromString(*bytes)) {
    parse_error_ = ParseError();
    stream_->Cancel();
    co_return std::nullopt;
  }
  co_return response;
}

std::optional<absl::Status> WatchStream::status() const {
  if (parse_error_.has_value()) return parse_error_;
  return stream_->status();
}

Task<absl::Status> LeaseKeepAliveStream::Send(int64_t lease_id) {
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  std::string bytes = request.SerializeAsString();
  co_return co_await stream_->Write(std::move(bytes));
}

Task<std::optional<etcdserverpb::LeaseKeepAliveResponse>> LeaseKeepAliveStream::Receive() {
  if (parse_error_.has_value()) co_return std::nullopt;
  std::optional<std::string> bytes = co_await stream_->Read();
  if (!bytes.has_value()) co_return std::nullopt;
  etcdserverpb::LeaseKeepAliveResponse response;
  if (!response.ParseFromString(*bytes)) {
    parse_error_ = ParseError();
    stream_->Cancel();
    co_return std::nullopt;
  }
  co_return response;
}

std::optional<absl::Status> LeaseKeepAliveStream::status() const {
  if (parse_error_.has_value()) return parse_error_;
  return stream_->status();
}

}  // namespace keel::client
