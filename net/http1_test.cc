// Tests of the client port's HTTP/1.1 side and of protocol sniffing: plain
// and streaming routes served next to gRPC on one listener, keep-alive,
// pipelining, chunked bodies, 100-continue, and malformed input of both
// protocols, which must close the connection without harming the server.
// Clients here are raw pipe connections writing bytes by hand.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/http1_parser.h"
#include "net/testing/server_harness.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

using testing::kServerAddress;
using testing::ServerHarness;

// Reads from `connection` until the peer closes (or `max_bytes` arrive).
Task<std::string> ReadAll(Connection& connection, size_t max_bytes = 1 << 20) {
  std::string out;
  std::vector<char> buffer(4096);
  while (out.size() < max_bytes) {
    absl::StatusOr<size_t> n = co_await connection.Read(buffer);
    if (!n.ok() || *n == 0) break;
    out.append(buffer.data(), *n);
  }
  co_return out;
}

// Reads until `out` contains `needle` or the peer closes.
Task<bool> ReadUntil(Connection& connection, std::string needle, std::string* out) {
  std::vector<char> buffer(4096);
  while (out->find(needle) == std::string::npos) {
    absl::StatusOr<size_t> n = co_await connection.Read(buffer);
    if (!n.ok() || *n == 0) co_return false;
    out->append(buffer.data(), *n);
  }
  co_return true;
}

size_t Count(const std::string& haystack, std::string_view needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    count++;
  }
  return count;
}

struct DestructionCounter {
  int* count;
  ~DestructionCounter() { (*count)++; }
};

class Http1Test : public ServerHarness {
 public:
  void SetUp() override {
    http_.Handle("/version", [](HttpRequest request) -> Task<HttpResponse> {
      HttpResponse response;
      response.headers = {{"Content-Type", "application/json"}};
      response.body = R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})";
      co_return response;
    });
    http_.HandlePrefix("/v3/", [this](HttpRequest request) -> Task<HttpResponse> {
      last_request_ = request;
      HttpResponse response;
      response.body = request.method + " " + request.path + " " + request.body;
      co_return response;
    });
    http_.HandleStream("/v3/watch", [this](HttpRequest request,
                                           HttpResponseStream& stream) -> Task<absl::Status> {
      DestructionCounter counter{&watch_handlers_gone_};
      HttpHeaders headers = {{"Content-Type", "application/json"}};
      KEEL_CO_RETURN_IF_ERROR(co_await stream.Start(200, std::move(headers)));
      for (int i = 0; i < watch_events_; i++) {
        co_await clock_.Sleep(Seconds(1));
        KEEL_CO_RETURN_IF_ERROR(
            co_await stream.Write(StrCat("{\"result\":{\"n\":", i, "}}\n")));
      }
      co_return absl::OkStatus();
    });
    grpc_.RegisterUnary("/test.Echo/Unary",
                        [](CallContext&, std::string request)
                            -> Task<absl::StatusOr<std::string>> {
                          co_return "echo:" + request;
                        });
    Start();
  }

  // Connects a raw client and runs `body` with it as the client process.
  template <typename Body>
  void WithRawClient(Body body) {
    SpawnClient([](Http1Test* t, Body body) -> Task<void> {
      absl::StatusOr<std::unique_ptr<Connection>> connection =
          co_await t->network_.Connect(kServerAddress);
      KEEL_ASSERT(connection.ok());
      co_await body(**connection);
    }(this, std::move(body)));
    Run();
  }

  HttpRequest last_request_;
  int watch_handlers_gone_ = 0;
  int watch_events_ = 3;
};

TEST_F(Http1Test, HttpRequestIsRoutedOnTheGrpcListener) {
  std::string response;
  absl::StatusOr<std::string> grpc_result;
  SpawnClient([](Http1Test* t, std::string* response) -> Task<void> {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        co_await t->network_.Connect(kServerAddress);
    KEEL_ASSERT(connection.ok());
    KEEL_ASSERT((co_await (*connection)->Write(
                     "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    .ok());
    *response = co_await ReadAll(**connection);
  }(this, &response));
  SpawnClient([](Http1Test* t, absl::StatusOr<std::string>* result) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *result = co_await channel->Call("/test.Echo/Unary", "both");
  }(this, &grpc_result));
  Run();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(response.find("Content-Length: 45\r\n"), std::string::npos);
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(response.find("Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"), std::string::npos)
      << "the Date header comes from the Env's wall clock";
  EXPECT_NE(response.find("\r\n\r\n{\"etcdserver\":\"3.4.23\""), std::string::npos);
  ASSERT_TRUE(grpc_result.ok()) << grpc_result.status();
  EXPECT_EQ(*grpc_result, "echo:both");
}

TEST_F(Http1Test, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string first, second;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                     "{\"key\":\"a\"}"))
                    .ok());
    KEEL_ASSERT(co_await ReadUntil(connection, "{\"key\":\"a\"}", &first));
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                     "Connection: close\r\n\r\nhi"))
                    .ok());
    second = co_await ReadAll(connection);
  });
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos);
  EXPECT_NE(first.find("POST /v3/kv/range {\"key\":\"a\"}"), std::string::npos);
  EXPECT_NE(second.find("POST /v3/kv/put hi"), std::string::npos) << second;
  EXPECT_NE(second.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(network_.connections_made(), 1u);
  EXPECT_EQ(server_->connection_count(), 0u) << "closed after the second";
}

TEST_F(Http1Test, PipelinedRequestsAreAnsweredInOrder) {
  std::string all;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "GET /v3/a HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /v3/b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /v3/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    .ok());
    all = co_await ReadAll(connection);
  });
  const size_t a = all.find("GET /v3/a ");
  const size_t b = all.find("GET /v3/b ");
  const size_t c = all.find("GET /v3/c ");
  ASSERT_NE(a, std::string::npos) << all;
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(last_request_.query, "");
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK"), 3u);
}

TEST_F(Http1Test, HeadersAndQueryReachTheHandler) {
  std::string response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/kv/range?pretty=1 HTTP/1.1\r\nHost: h:2379\r\n"
                     "Content-Type: application/json\r\nX-Extra: Value\r\n"
                     "Connection: close\r\nContent-Length: 0\r\n\r\n"))
                    .ok());
    response = co_await ReadAll(connection);
  });
  EXPECT_EQ(last_request_.method, "POST");
  EXPECT_EQ(last_request_.path, "/v3/kv/range");
  EXPECT_EQ(last_request_.query, "pretty=1");
  EXPECT_EQ(last_request_.header("host"), "h:2379");
  EXPECT_EQ(last_request_.header("x-extra"), "Value");
  EXPECT_FALSE(last_request_.keep_alive);
  EXPECT_EQ(last_request_.peer_address.rfind("127.0.0.1:", 0), 0u);
}

TEST_F(Http1Test, UnknownPathIsNotFound) {
  std::string response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    .ok());
    response = co_await ReadAll(connection);
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("\r\n\r\n404 page not found\n"), std::string::npos);
}

TEST_F(Http1Test, ExpectContinueIsAnswered) {
  std::string interim, rest;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\n"))
                    .ok());
    KEEL_ASSERT(co_await ReadUntil(connection, "\r\n\r\n", &interim));
    KEEL_ASSERT((co_await connection.Write("hello")).ok());
    rest = co_await ReadAll(connection);
  });
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_NE(rest.find("POST /v3/kv/put hello"), std::string::npos) << rest;
}

TEST_F(Http1Test, StreamingResponseIsChunked) {
  std::string response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"))
                    .ok());
    KEEL_ASSERT(co_await ReadUntil(connection, "\r\n0\r\n\r\n", &response));
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(response.find("Content-Length"), std::string::npos);
  const std::string body = response.substr(response.find("\r\n\r\n") + 4);
  EXPECT_EQ(body,
            "13\r\n{\"result\":{\"n\":0}}\n\r\n"
            "13\r\n{\"result\":{\"n\":1}}\n\r\n"
            "13\r\n{\"result\":{\"n\":2}}\n\r\n"
            "0\r\n\r\n");
  EXPECT_EQ(clock_.Now(), TimePoint() + Seconds(3));
}

TEST_F(Http1Test, ClientLeavingMidStreamDestroysTheHandler) {
  watch_events_ = 1000;
  std::string response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write(
                     "POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
                    .ok());
    KEEL_ASSERT(co_await ReadUntil(connection, "\"n\":1}", &response));
    connection.Close();
  });
  EXPECT_EQ(watch_handlers_gone_, 1);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_LT(clock_.Now(), TimePoint() + Seconds(10));
}

TEST_F(Http1Test, MalformedHttp1GetsBadRequestAndIsClosed) {
  std::string response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    KEEL_ASSERT((co_await connection.Write("GARBAGE\x01\x02 nonsense\r\n\r\n")).ok());
    response = co_await ReadAll(connection);
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(Http1Test, OversizedHeadersAndBodiesAreRefused) {
  std::string headers_response, body_response;
  WithRawClient([&](Connection& connection) -> Task<void> {
    std::string request = "GET /v3/x HTTP/1.1\r\nX-Big: ";
    request.append(kMaxHttp1HeaderBytes, 'h');
    request.append("\r\n\r\n");
    (void)co_await connection.Write(request);
    headers_response = co_await ReadAll(connection);
  });
  WithRawClient([&](Connection& connection) -> Task<void> {
    (void)co_await connection.Write(
        StrCat("POST /v3/x HTTP/1.1\r\nContent-Length: ", kDefaultMaxHttp1BodyBytes + 1,
               "\r\n\r\n"));
    body_response = co_await ReadAll(connection);
  });
  EXPECT_EQ(headers_response.rfind("HTTP/1.1 431 ", 0), 0u) << headers_response.substr(0, 80);
  EXPECT_EQ(body_response.rfind("HTTP/1.1 413 ", 0), 0u) << body_response.substr(0, 80);
}

TEST_F(Http1Test, MalformedHttp2AfterThePrefaceClosesTheConnection) {
  std::string response;
  absl::StatusOr<std::string> later;
  WithRawClient([&](Connection& connection) -> Task<void> {
    std::string bytes(kHttp2ClientPreface);
    // A frame header announcing a 16 MiB HEADERS frame on stream 0.
    bytes.append(std::string("\xff\xff\xff\x01\x04\x00\x00\x00\x00garbage", 16));
    (void)co_await connection.Write(bytes);
    response = co_await ReadAll(connection);
  });
  // The server answered with its SETTINGS and a GOAWAY, then hung up.
  ASSERT_GE(response.size(), 9u);
  EXPECT_EQ(response[3], '\x04') << "SETTINGS first";
  EXPECT_NE(response.find(std::string("\x07\x00\x00\x00\x00\x00", 6)), std::string::npos)
      << "a GOAWAY frame";
  EXPECT_EQ(server_->connection_count(), 0u);
  SpawnClient([](Http1Test* t, absl::StatusOr<std::string>* later) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *later = co_await channel->Call("/test.Echo/Unary", "fine");
  }(this, &later));
  Run();
  EXPECT_TRUE(later.ok()) << "the server lives on: " << later.status();
}

TEST_F(Http1Test, TruncatedPrefaceJustCloses) {
  std::string response = "unset";
  WithRawClient([&](Connection& connection) -> Task<void> {
    (void)co_await connection.Write(kHttp2ClientPreface.substr(0, 10));
    connection.Close();
    co_return;
  });
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(Http1Test, ShutdownClosesIdleKeepAliveConnections) {
  std::string first;
  bool closed = false;
  SpawnClient([](Http1Test* t, std::string* first, bool* closed) -> Task<void> {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        co_await t->network_.Connect(kServerAddress);
    KEEL_ASSERT(connection.ok());
    KEEL_ASSERT((co_await (*connection)->Write("GET /version HTTP/1.1\r\nHost: x\r\n\r\n")).ok());
    KEEL_ASSERT(co_await ReadUntil(**connection, "3.4.0\"}", first));
    std::string rest = co_await ReadAll(**connection);
    *closed = rest.empty();
  }(this, &first, &closed));
  Run();
  EXPECT_EQ(server_->connection_count(), 1u) << "kept alive";
  server_process_.Spawn([](Server* server) -> Task<void> {
    co_await server->Shutdown(Seconds(5));
  }(server_.get()));
  Run();
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST(Http1ParserTest, SplitsRequestsFedByteByByte) {
  Http1RequestParser parser;
  const std::string wire =
      "POST /v3/kv/put HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "GET /health HTTP/1.0\r\n\r\n";
  std::vector<HttpRequest> requests;
  size_t at = 0;
  while (at < wire.size()) {
    absl::StatusOr<size_t> n = parser.Feed(std::string_view(wire).substr(at, 1));
    ASSERT_TRUE(n.ok()) << n.status();
    at += *n;
    if (std::optional<HttpRequest> request = parser.TakeRequest()) {
      requests.push_back(std::move(*request));
    }
  }
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, "abc");
  EXPECT_TRUE(requests[0].keep_alive);
  EXPECT_EQ(requests[1].path, "/health");
  EXPECT_FALSE(requests[1].keep_alive) << "HTTP/1.0 closes by default";
}

TEST(Http1ParserTest, ChunkedRequestBodiesAreJoined) {
  Http1RequestParser parser;
  const std::string wire =
      "POST /v3/watch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  absl::StatusOr<size_t> n = parser.Feed(wire);
  ASSERT_TRUE(n.ok()) << n.status();
  std::optional<HttpRequest> request = parser.TakeRequest();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->body, "abcde");
}

}  // namespace
}  // namespace keel::net
