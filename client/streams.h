// The two long-lived etcd streams a client opens: Watch and LeaseKeepAlive.
//
// Both are thin, typed views of one gRPC stream on one endpoint, handed out
// by EtcdClient::Watch and EtcdClient::LeaseKeepAlive. They do not resume on
// another endpoint by themselves (clientv3's watcher does): a caller that
// records histories wants to see every stream end, and resumes by opening a
// new stream from the last revision it saw. The owner may destroy a stream
// at any time; that cancels it (RST_STREAM CANCEL). One coroutine may send
// and one may receive at a time. Safe to use after the client is destroyed
// (they report the end of the stream).
#ifndef KEEL_CLIENT_STREAMS_H_
#define KEEL_CLIENT_STREAMS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "net/grpc_client.h"
#include "proto/rpc.pb.h"
#include "runtime/task.h"

namespace keel::client {

class WatchStream {
 public:
  // Use EtcdClient::Watch.
  WatchStream(std::unique_ptr<net::ClientStream> stream, std::string endpoint)
      : stream_(std::move(stream)), endpoint_(std::move(endpoint)) {}
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // The endpoint the stream runs on.
  const std::string& endpoint() const { return endpoint_; }

  // Sends a create request. The server answers with a response marked
  // `created` (carrying the watch id), or `canceled` with a reason. Fails
  // only if the stream has ended (its status). Suspends while the send
  // buffer is full.
  Task<absl::Status> Create(etcdserverpb::WatchCreateRequest request);
  // Sends a cancel request for `watch_id`; the server answers `canceled`.
  Task<absl::Status> Cancel(int64_t watch_id);
  // Asks for a progress notification (etcd 3.4's WatchProgressRequest):
  // a response with no events whose header revision every watcher on the
  // stream has caught up with.
  Task<absl::Status> RequestProgress();

  // The next response, suspending until one arrives; nullopt once the
  // stream has ended, and then status() says why (the server's error, for
  // example "etcdserver: no leader", or the transport's). A response that
  // does not parse ends the stream with Internal.
  Task<std::optional<etcdserverpb::WatchResponse>> Receive();

  // The stream's final status once it has ended.
  std::optional<absl::Status> status() const;

  // Ends the stream (RST_STREAM CANCEL); Receive then returns nullopt.
  void Close() { stream_->Cancel(); }

 private:
  Task<absl::Status> Send(const etcdserverpb::WatchRequest& request);

  std::unique_ptr<net::ClientStream> stream_;
  std::string endpoint_;
  std::optional<absl::Status> parse_error_;
};

class LeaseKeepAliveStream {
 public:
  // Use EtcdClient::LeaseKeepAlive.
  LeaseKeepAliveStream(std::unique_ptr<net::ClientStream> stream, std::string endpoint)
      : stream_(std::move(stream)), endpoint_(std::move(endpoint)) {}
  LeaseKeepAliveStream(const LeaseKeepAliveStream&) = delete;
  LeaseKeepAliveStream& operator=(const LeaseKeepAliveStream&) = delete;

  const std::string& endpoint() const { return endpoint_; }

  // Sends one keepalive for `lease_id`. Fails only if the stream has ended.
  Task<absl::Status> Send(int64_t lease_id);
  // The next response (TTL 0: the lease was not found), or nullopt once the
  // stream has ended; status() then says why.
  Task<std::optional<etcdserverpb::LeaseKeepAliveResponse>> Receive();
  std::optional<absl::Status> status() const;
  void Close() { stream_->Cancel(); }

 private:
  std::unique_ptr<net::ClientStream> stream_;
  std::string endpoint_;
  std::optional<absl::Status> parse_error_;
};

// A server-streaming call's responses (Maintenance.Snapshot,
// Election.Observe), typed. Handed out by EtcdClient.
template <typename Resp>
class ServerStream {
 public:
  ServerStream(std::unique_ptr<net::ClientStream> stream, std::string endpoint)
      : stream_(std::move(stream)), endpoint_(std::move(endpoint)) {}
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  const std::string& endpoint() const { return endpoint_; }

  // The next response, or nullopt once the call has ended; status() then
  // says how (OK when the server finished the stream). Suspends.
  Task<std::optional<Resp>> Receive() {
    if (parse_error_.has_value()) co_return std::nullopt;
    std::optional<std::string> bytes = co_await stream_->Read();
    if (!bytes.has_value()) co_return std::nullopt;
    Resp response;
    if (!response.ParseFromString(*bytes)) {
      parse_error_ = absl::InternalError(
          "grpc: failed to unmarshal the received message proto: cannot parse "
          "invalid wire-format data");
      stream_->Cancel();
      co_return std::nullopt;
    }
    co_return response;
  }
  std::optional<absl::Status> status() const {
    if (parse_error_.has_value()) return parse_error_;
    return stream_->status();
  }
  void Close() { stream_->Cancel(); }

 private:
  std::unique_ptr<net::ClientStream> stream_;
  std::string endpoint_;
  std::optional<absl::Status> parse_error_;
};

}  // namespace keel::client

#endif  // KEEL_CLIENT_STREAMS_H_
