// The gRPC method registry: what a server answers, by path.
//
// net/ knows no etcd service. node/ registers each method under its gRPC path
// ("/etcdserverpb.KV/Range") with a handler; the HTTP/2 session
// (net/http2_server_session.h) looks the path up for every call and runs the
// handler as a coroutine of the connection.
//
// Handlers:
//  - Unary: gets the request bytes, returns the response bytes or a status.
//  - Streaming: gets a ServerStream to Read() requests from and Write()
//    responses to, and returns the call's final status. Server-streaming and
//    client-streaming methods are the same thing used one-sidedly.
// The returned status travels as grpc-status (its absl code number is the
// gRPC code) and grpc-message (percent-encoded on the wire). A call that
// fails before any response was written gets a Trailers-Only response, as
// grpc-go sends it.
//
// Cancellation: if the client resets the stream, the connection is lost, or
// the call's deadline (grpc-timeout) passes, the handler's coroutine frame is
// destroyed where it is suspended (keel's cancellation); on a deadline the
// client is told DEADLINE_EXCEEDED "context deadline exceeded" (or what the
// handler put in CallContext::deadline_status). Handlers
// therefore keep their state in RAII objects. The CallContext and ServerStream
// references stay valid for the handler's whole life.
//
// Interceptors: per-call rules every method shares (etcd's: refuse a
// `hasleader` call while no leader is known; say why a write's deadline
// passed; soon the auth token) run in one chain in front of every typed
// handler, in the order added, after the request is parsed (as grpc-go's
// interceptors see it). The first that returns an error answers the call;
// they may also set CallContext fields. Whoever serves the same methods
// by another route (the JSON gateway) runs the same chain (Intercept).
//
// Handlers are kept in std::function; the registry must outlive every
// connection serving it (a handler's coroutine refers to its closure).
#ifndef KEEL_NET_GRPC_SERVER_H_
#define KEEL_NET_GRPC_SERVER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "net/grpc_stats.h"
#include "net/grpc_wire.h"
#include "runtime/metrics.h"
#include "runtime/status_macros.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::net {

// Request metadata: lowercased header names and their values, in arrival
// order, without HTTP/2 pseudo-headers and without the headers gRPC itself
// consumes (content-type, te, grpc-timeout, grpc-encoding,
// grpc-accept-encoding). Binary ("-bin") values are kept base64-encoded as
// sent.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// What a handler knows about its call. Not an aggregate, so that a
// temporary one survives a co_await under GCC 12 (see ChannelOptions).
struct CallContext {
  CallContext() {}
  std::string method;        // "/etcdserverpb.KV/Range"
  std::string authority;     // :authority, "host:port"
  std::string peer_address;  // The connection's remote address.
  Metadata metadata;
  // From grpc-timeout; the handler is cut off when it passes.
  std::optional<TimePoint> deadline;
  // What the client is told when the deadline cuts the handler off, asked
  // at that moment; unset means DEADLINE_EXCEEDED "context deadline
  // exceeded", grpc-go's text. A handler sets it when its service answers
  // an expired context with errors of its own (etcd's writes say
  // "etcdserver: request timed out..."). It must not refer to the
  // handler's frame, which is gone by then.
  std::function<absl::Status()> deadline_status;

  // The first value of metadata `key` (lowercase), e.g. "hasleader",
  // "authorization", "client-api-version"; nullopt if absent.
  std::optional<std::string_view> Get(std::string_view key) const;
};

// The call as a streaming handler sees it.
class ServerStream {
 public:
  virtual ~ServerStream() = default;

  // The next request message, suspending until one arrives. nullopt once the
  // client has half-closed and every message has been read. Reading is what
  // opens the client's flow-control window: a handler that does not read
  // stops the client from sending.
  virtual Task<std::optional<std::string>> Read() = 0;

  // Queues one response message, suspending while this call's send buffer is
  // full (it drains as the client's flow-control window allows). The first
  // Write sends the response headers. Unavailable if the call can no longer
  // send (the connection is closing).
  virtual Task<absl::Status> Write(std::string message) = 0;
};

// Sees a call before its handler: `request` is the parsed request of a
// unary or server-streaming call, null for a bidirectional stream (its
// messages come later). An error refuses the call with that status.
using Interceptor =
    std::function<absl::Status(CallContext&, const google::protobuf::Message* request)>;

using UnaryHandler =
    std::function<Task<absl::StatusOr<std::string>>(CallContext&, std::string)>;
using StreamHandler =
    std::function<Task<absl::Status>(CallContext&, ServerStream&)>;

// A ServerStream that parses requests as Req and serializes Resp.
template <typename Req, typename Resp>
class TypedServerStream {
 public:
  explicit TypedServerStream(ServerStream& raw) : raw_(raw) {}

  // The next request; nullopt after the client's half-close. Internal if a
  // message does not parse (the handler should return that status).
  Task<absl::StatusOr<std::optional<Req>>> Read() {
    std::optional<std::string> bytes = co_await raw_.Read();
    if (!bytes.has_value()) co_return std::optional<Req>();
    Req request;
    if (!request.ParseFromString(*bytes)) {
      co_return absl::InternalError(
          "grpc: failed to unmarshal the received message proto: cannot "
          "parse invalid wire-format data");
    }
    co_return std::optional<Req>(std::move(request));
  }

  Task<absl::Status> Write(const Resp& response) {
    return raw_.Write(response.SerializeAsString());
  }

  ServerStream& raw() { return raw_; }

 private:
  ServerStream& raw_;
};

struct GrpcServerOptions {
  // Largest request message accepted; a larger one fails the call with
  // ResourceExhausted "grpc: received message larger than max (N vs. M)".
  size_t max_receive_message_bytes = kDefaultMaxReceiveMessageBytes;
};

class GrpcServer {
 public:
  struct Method {
    UnaryHandler unary;    // Set for unary methods.
    StreamHandler stream;  // Set for streaming methods.
    // Updated by the sessions serving the method's calls.
    mutable GrpcMethodStats stats;
  };

  explicit GrpcServer(GrpcServerOptions options = {}) : options_(options) {}
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Registers `path` ("/package.Service/Method"). A path registers once.
  void RegisterUnary(std::string path, UnaryHandler handler);
  void RegisterStream(std::string path, StreamHandler handler,
                      GrpcType type = GrpcType::kBidiStream);

  // Typed unary: `f(CallContext&, Req) -> Task<absl::StatusOr<Resp>>`. A
  // request that does not parse fails with Internal "grpc: error
  // unmarshalling request: ...", as grpc-go does.
  template <typename Req, typename Resp, typename F>
  void AddUnary(std::string path, F f);

  // Typed bidirectional: `f(CallContext&, TypedServerStream<Req, Resp>&) ->
  // Task<absl::Status>`.
  template <typename Req, typename Resp, typename F>
  void AddStream(std::string path, F f);

  // Typed server-streaming: reads the one request, then
  // `f(CallContext&, Req, TypedServerStream<Req, Resp>&) -> Task<Status>`.
  template <typename Req, typename Resp, typename F>
  void AddServerStream(std::string path, F f);

  // Adds a rule to the interceptor chain; only before any connection is
  // served.
  void AddInterceptor(Interceptor interceptor);
  // Runs the chain for `context`'s call: the first error, or OK.
  absl::Status Intercept(CallContext& context, const google::protobuf::Message* request) const;

  // The method for `path`, or null.
  const Method* Find(std::string_view path) const;

  // The status for a path with no method: Unimplemented "unknown service S"
  // or "unknown method M for service S" (grpc-go's texts), ResourceExhausted
  // "malformed method name: ..." for a path without '/'.
  absl::Status UnknownMethodStatus(std::string_view path) const;

  const GrpcServerOptions& options() const { return options_; }
  // Changes the options; only before any connection is served.
  void set_options(GrpcServerOptions options) { options_ = options; }

  // grpc_server_started_total, _handled_total (every registered method and
  // code, zeros included, as go-grpc-prometheus initializes them),
  // _msg_received_total and _msg_sent_total; with `handling_time` (etcd's
  // --metrics extensive) also grpc_server_handling_seconds.
  void WriteMetrics(metrics::TextWriter& out, bool handling_time) const;
  // Request and response message bytes over every method.
  uint64_t received_bytes() const;
  uint64_t sent_bytes() const;

 private:
  GrpcServerOptions options_;
  std::vector<Interceptor> interceptors_;
  std::map<std::string, Method, std::less<>> methods_;
  std::map<std::string, int, std::less<>> services_;  // name -> method count
};

// --- Template definitions --------------------------------------------------

namespace internal {
inline absl::Status UnmarshalRequestError() {
  return absl::InternalError(
      "grpc: error unmarshalling request: proto: cannot parse invalid "
      "wire-format data");
}
}  // namespace internal

template <typename Req, typename Resp, typename F>
void GrpcServer::AddUnary(std::string path, F f) {
  RegisterUnary(
      std::move(path),
      [this, f = std::move(f)](CallContext& ctx,
                               std::string bytes) -> Task<absl::StatusOr<std::string>> {
        Req request;
        if (!request.ParseFromString(bytes)) {
          co_return internal::UnmarshalRequestError();
        }
        KEEL_CO_RETURN_IF_ERROR(Intercept(ctx, &request));
        absl::StatusOr<Resp> response = co_await f(ctx, std::move(request));
        if (!response.ok()) co_return response.status();
        co_return response->SerializeAsString();
      });
}

template <typename Req, typename Resp, typename F>
void GrpcServer::AddStream(std::string path, F f) {
  RegisterStream(std::move(path),
                 [this, f = std::move(f)](CallContext& ctx,
                                          ServerStream& raw) -> Task<absl::Status> {
                   KEEL_CO_RETURN_IF_ERROR(Intercept(ctx, nullptr));
                   TypedServerStream<Req, Resp> stream(raw);
                   co_return co_await f(ctx, stream);
                 });
}

template <typename Req, typename Resp, typename F>
void GrpcServer::AddServerStream(std::string path, F f) {
  RegisterStream(std::move(path),
                 [this, f = std::move(f)](CallContext& ctx,
                                          ServerStream& raw) -> Task<absl::Status> {
                   std::optional<std::string> bytes = co_await raw.Read();
                   // grpc-go reports a missing request as io.EOF's text.
                   if (!bytes.has_value()) co_return absl::UnknownError("EOF");
                   Req request;
                   if (!request.ParseFromString(*bytes)) {
                     co_return internal::UnmarshalRequestError();
                   }
                   KEEL_CO_RETURN_IF_ERROR(Intercept(ctx, &request));
                   TypedServerStream<Req, Resp> stream(raw);
                   co_return co_await f(ctx, std::move(request), stream);
                 },
                 GrpcType::kServerStream);
}

}  // namespace keel::net

#endif  // KEEL_NET_GRPC_SERVER_H_
