// HTTP/1.1 requests and responses, and the router that maps paths to their
// handlers. net/ serves nothing of its own over HTTP/1.1: node registers
// /health, /version and the JSON gateway here, and net/http1_connection.h
// runs them on the client port next to gRPC.
//
// A plain handler returns a whole response (sent with Content-Length). A
// streaming handler writes its body in chunks (Transfer-Encoding: chunked),
// as the gateway's watch does; it is destroyed if the client goes away.
// Handlers are kept in std::function: the router must outlive every
// connection that uses it, because a handler's coroutine refers to its
// closure.
#ifndef KEEL_NET_HTTP_MESSAGE_H_
#define KEEL_NET_HTTP_MESSAGE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/task.h"

namespace keel::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// HttpRequest and HttpResponse have user-provided constructors so that
// temporaries of them are built in place even across a co_await (GCC 12
// copies aggregate temporaries into coroutine frames bitwise).
struct HttpRequest {
  HttpRequest() {}
  std::string method;  // "GET", "POST", ...
  std::string target;  // As sent: "/v3/kv/range?x=1".
  std::string path;    // The target up to '?'.
  std::string query;   // After '?', without it; empty if none.
  // Names lowercased, values as sent, in arrival order.
  HttpHeaders headers;
  std::string body;
  std::string peer_address;
  int http_major = 1;
  int http_minor = 1;
  // Whether the connection stays open after the response.
  bool keep_alive = true;

  // The first header called `name` (lowercase), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  HttpResponse() {}
  int status = 200;
  // Names as they should be written ("Content-Type"). Content-Length,
  // Date and Connection are added by the connection.
  HttpHeaders headers;
  std::string body;
};

// A text response, as Go's http.Error writes it (the body gets a newline).
HttpResponse TextResponse(int status, std::string_view text);

// The body of a chunked response. Write() suspends while the connection's
// send buffer is full; it fails with Unavailable once the client is gone.
class HttpResponseStream {
 public:
  virtual ~HttpResponseStream() = default;
  // Sends the status line and headers. Called at most once, before Write();
  // Write() without it sends 200 with no extra headers.
  virtual Task<absl::Status> Start(int status, HttpHeaders headers) = 0;
  // Sends one chunk (an empty chunk is skipped: it would end the body).
  virtual Task<absl::Status> Write(std::string chunk) = 0;
};

using HttpHandler = std::function<Task<HttpResponse>(HttpRequest)>;
// Returns when the body is complete. OK ends the body properly; an error
// after Start() cuts the connection (the client sees a truncated body), an
// error before it becomes a 500 with the status message.
using HttpStreamHandler =
    std::function<Task<absl::Status>(HttpRequest, HttpResponseStream&)>;

class HttpRouter {
 public:
  struct Route {
    HttpHandler handler;          // Set for plain routes.
    HttpStreamHandler streaming;  // Set for streaming routes.
  };

  // Routes exactly `path`. Replaces an earlier route for it.
  void Handle(std::string path, HttpHandler handler);
  void HandleStream(std::string path, HttpStreamHandler handler);
  // Routes every path that starts with `prefix` (the longest prefix wins;
  // exact routes win over prefixes).
  void HandlePrefix(std::string prefix, HttpHandler handler);
  void HandleStreamPrefix(std::string prefix, HttpStreamHandler handler);

  // The route for `path`, or null (the connection then answers 404).
  const Route* Find(std::string_view path) const;

 private:
  std::map<std::string, Route, std::less<>> exact_;
  std::map<std::string, Route, std::less<>> prefixes_;
};

// The reason phrase for an HTTP status ("Not Found"); "" if unknown.
std::string_view HttpStatusText(int status);

}  // namespace keel::net

#endif  // KEEL_NET_HTTP_MESSAGE_H_
