// Http1Connection: HTTP/1.1 served on one keel Connection.
//
// Requests are parsed with Http1RequestParser and answered one at a time,
// in order, by the HttpRouter's handlers (404 "404 page not found" for a path
// with no route, as Go's mux answers). Keep-alive follows the request
// (HTTP/1.1 keeps the connection unless "Connection: close"; HTTP/1.0 closes
// unless "Connection: keep-alive"). A plain response carries Content-Length;
// a streaming one is chunked, and its handler is destroyed when the client
// goes away. Malformed input gets "400 Bad Request" (413 or 431 for the
// limits) and the connection is closed. "Expect: 100-continue" is answered.
// A Date header comes from the Env's wall clock, as Go's server sends it.
#ifndef KEEL_NET_HTTP1_CONNECTION_H_
#define KEEL_NET_HTTP1_CONNECTION_H_

#include <string>

#include "absl/status/status.h"
#include "net/http1_parser.h"
#include "net/http_message.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::net {

// Unparsed bytes read ahead of the request being answered (pipelining).
inline constexpr size_t kMaxHttp1ReadAheadBytes = 64 * 1024;

struct Http1Options {
  size_t max_body_bytes = kDefaultMaxHttp1BodyBytes;
};

class Http1Connection {
 public:
  // `connection`, `router` and `clock` must outlive Run().
  Http1Connection(Connection& connection, const HttpRouter& router,
                  Clock& clock, Http1Options options = {});
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // Serves requests until the client closes or asks to close, the input is
  // malformed, or Shutdown() was called and the current request is answered.
  // `initial` holds bytes already read. Closes the connection on return.
  // Suspends.
  Task<void> Run(std::string initial);

  // Finishes the request in progress (a streaming response is cut short),
  // then closes. An idle connection closes at once. Idempotent; does not
  // suspend.
  void Shutdown();

  // Requests answered so far.
  uint64_t requests_served() const { return requests_served_; }

 private:
  class ChunkedStream;

  Task<absl::Status> ReadLoop();
  Task<absl::Status> ServeLoop();
  // The next complete request, reading more as needed; nullopt at the end
  // (client closed, shutdown, or an error answered with 4xx).
  Task<std::optional<HttpRequest>> NextRequest();
  Task<absl::Status> Answer(HttpRequest request, bool* keep_alive);
  Task<absl::Status> AnswerStreaming(const HttpRouter::Route& route,
                                     HttpRequest request, bool* keep_alive);
  Task<void> WaitClientGone();
  std::string StatusLineAndHeaders(int status, const HttpHeaders& headers,
                                   bool keep_alive) const;
  Task<absl::Status> WriteResponse(const HttpResponse& response, bool head,
                                   bool keep_alive);

  Connection& connection_;
  const HttpRouter& router_;
  Clock& clock_;
  Http1RequestParser parser_;
  std::string pending_;  // Read but not yet parsed.
  bool eof_ = false;
  bool shutdown_ = false;
  uint64_t requests_served_ = 0;
  WaitQueue input_;      // More input, end of input, or shutdown.
  WaitQueue space_;      // Room in pending_ for the reader.
};

}  // namespace keel::net

#endif  // KEEL_NET_HTTP1_CONNECTION_H_
