// Http1Connection: the reader that fills the parse buffer, the loop that
// answers requests in order, and chunked streaming responses.
#include "net/http1_connection.h"

#include <vector>

#include "absl/time/time.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::net {
namespace {

constexpr size_t kReadChunkBytes = 16 * 1024;

bool StatusHasNoBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

Task<void> RunStreamHandler(const HttpStreamHandler& handler,
                            HttpRequest request, HttpResponseStream& stream,
                            absl::Status* out) {
  *out = co_await handler(std::move(request), stream);
}

}  // namespace

// A chunked response body written straight to the connection.
class Http1Connection::ChunkedStream final : public HttpResponseStream {
 public:
  ChunkedStream(Http1Connection& owner, bool keep_alive)
      : owner_(owner), keep_alive_(keep_alive) {}

  Task<absl::Status> Start(int status, HttpHeaders headers) override {
    KEEL_ASSERT(!started_);
    started_ = true;
    headers.emplace_back("Transfer-Encoding", "chunked");
    std::string head = owner_.StatusLineAndHeaders(status, headers, keep_alive_);
    head.append("\r\n");
    co_return co_await Send(std::move(head));
  }

  Task<absl::Status> Write(std::string chunk) override {
    if (!started_) KEEL_CO_RETURN_IF_ERROR(co_await Start(200, {}));
    if (chunk.empty()) co_return absl::OkStatus();
    std::string framed = StrCat(absl::Hex(chunk.size()), "\r\n");
    framed.append(chunk);
    framed.append("\r\n");
    co_return co_await Send(std::move(framed));
  }

  // The last chunk, ending the body.
  Task<absl::Status> End() { co_return co_await Send("0\r\n\r\n"); }

  bool started() const { return started_; }

 private:
  Task<absl::Status> Send(std::string bytes) {
    absl::Status status = co_await owner_.connection_.Write(bytes);
    if (!status.ok()) co_return absl::UnavailableError("client went away");
    co_return absl::OkStatus();
  }

  Http1Connection& owner_;
  const bool keep_alive_;
  bool started_ = false;
};

Http1Connection::Http1Connection(Connection& connection,
                                 const HttpRouter& router, Clock& clock,
                                 Http1Options options)
    : connection_(connection),
      router_(router),
      clock_(clock),
      parser_(options.max_body_bytes) {}

void Http1Connection::Shutdown() {
  shutdown_ = true;
  input_.WakeAll();
}

Task<void> Http1Connection::Run(std::string initial) {
  pending_ = std::move(initial);
  std::vector<Task<absl::Status>> loops;
  loops.push_back(ReadLoop());
  loops.push_back(ServeLoop());
  (void)co_await WhenAny(std::move(loops));
  connection_.Close();
}

Task<absl::Status> Http1Connection::ReadLoop() {
  std::vector<char> buffer(kReadChunkBytes);
  while (true) {
    while (pending_.size() >= kMaxHttp1ReadAheadBytes) co_await space_.Wait();
    absl::StatusOr<size_t> n = co_await connection_.Read(buffer);
    if (!n.ok() || *n == 0) {
      eof_ = true;
      input_.WakeAll();
      // A reset ends everything; a clean end lets queued requests finish.
      if (!n.ok()) co_return n.status();
      while (true) co_await space_.Wait();
    }
    pending_.append(buffer.data(), *n);
    input_.WakeAll();
  }
}

Task<absl::Status> Http1Connection::ServeLoop() {
  while (true) {
    std::optional<HttpRequest> request = co_await NextRequest();
    if (!request.has_value()) co_return absl::OkStatus();
    bool keep_alive = request->keep_alive;
    absl::Status status = co_await Answer(std::move(*request), &keep_alive);
    requests_served_++;
    if (!status.ok() || !keep_alive || shutdown_) co_return status;
  }
}

Task<std::optional<HttpRequest>> Http1Connection::NextRequest() {
  while (true) {
    if (shutdown_ && !parser_.in_message()) co_return std::nullopt;
    if (!pending_.empty()) {
      absl::StatusOr<size_t> consumed = parser_.Feed(pending_);
      if (!consumed.ok()) {
        const int status = consumed.status().code() ==
                                   absl::StatusCode::kResourceExhausted
                               ? (parser_.body_too_large() ? 413 : 431)
                               : 400;
        HttpResponse response = TextResponse(
            status, StrCat(status, " ", HttpStatusText(status)));
        (void)co_await WriteResponse(response, false, /*keep_alive=*/false);
        co_return std::nullopt;
      }
      pending_.erase(0, *consumed);
      space_.WakeAll();
      if (parser_.TakeExpectContinue()) {
        absl::Status written =
            co_await connection_.Write("HTTP/1.1 100 Continue\r\n\r\n");
        if (!written.ok()) co_return std::nullopt;
      }
      if (std::optional<HttpRequest> request = parser_.TakeRequest()) {
        request->peer_address = connection_.peer_address();
        co_return request;
      }
      KEEL_ASSERT(pending_.empty());
    }
    // A request cut off by the end of input is dropped with the connection.
    if (eof_) co_return std::nullopt;
    co_await input_.Wait();
  }
}

Task<absl::Status> Http1Connection::Answer(HttpRequest request,
                                           bool* keep_alive) {
  const bool head = request.method == "HEAD";
  const HttpRouter::Route* route = router_.Find(request.path);
  if (route == nullptr) {
    co_return co_await WriteResponse(TextResponse(404, "404 page not found"),
                                     head, *keep_alive && !shutdown_);
  }
  if (route->streaming) {
    co_return co_await AnswerStreaming(*route, std::move(request), keep_alive);
  }
  HttpResponse response = co_await route->handler(std::move(request));
  *keep_alive = *keep_alive && !shutdown_;
  co_return co_await WriteResponse(response, head, *keep_alive);
}

Task<absl::Status> Http1Connection::AnswerStreaming(
    const HttpRouter::Route& route, HttpRequest request, bool* keep_alive) {
  ChunkedStream stream(*this, *keep_alive && !shutdown_);
  absl::Status handler_status;
  std::vector<Task<void>> race;
  race.push_back(RunStreamHandler(route.streaming, std::move(request), stream,
                                  &handler_status));
  race.push_back(WaitClientGone());
  const size_t winner = co_await WhenAny(std::move(race));
  if (winner == 1) {
    // The handler was destroyed: the client left or the server is stopping.
    *keep_alive = false;
    co_return absl::OkStatus();
  }
  if (!stream.started()) {
    if (!handler_status.ok()) {
      *keep_alive = *keep_alive && !shutdown_;
      co_return co_await WriteResponse(
          TextResponse(500, AsStd(handler_status.message())), false, *keep_alive);
    }
    KEEL_CO_RETURN_IF_ERROR(co_await stream.Start(200, {}));
  }
  if (!handler_status.ok()) {
    // Cutting the connection is how a chunked body says it is incomplete.
    *keep_alive = false;
    co_return absl::OkStatus();
  }
  co_return co_await stream.End();
}

Task<void> Http1Connection::WaitClientGone() {
  while (!eof_ && !shutdown_) co_await input_.Wait();
}

std::string Http1Connection::StatusLineAndHeaders(int status,
                                                  const HttpHeaders& headers,
                                                  bool keep_alive) const {
  std::string out = StrCat("HTTP/1.1 ", status, " ", HttpStatusText(status), "\r\n");
  for (const auto& [name, value] : headers) StrAppend(&out, name, ": ", value, "\r\n");
  const absl::Time now = absl::FromUnixMicros(clock_.WallUnixMicros());
  StrAppend(&out, "Date: ",
            absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now, absl::UTCTimeZone()),
            "\r\n");
  if (!keep_alive) out.append("Connection: close\r\n");
  return out;
}

Task<absl::Status> Http1Connection::WriteResponse(const HttpResponse& response,
                                                  bool head, bool keep_alive) {
  std::string out = StatusLineAndHeaders(response.status, response.headers, keep_alive);
  if (!StatusHasNoBody(response.status)) {
    StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  }
  out.append("\r\n");
  if (!head && !StatusHasNoBody(response.status)) out.append(response.body);
  absl::Status status = co_await connection_.Write(out);
  if (!status.ok()) co_return absl::UnavailableError("client went away");
  co_return absl::OkStatus();
}

}  // namespace keel::net
