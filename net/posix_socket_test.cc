// The real-socket check: keel's Server and GrpcChannel on the production
// PosixEnv over loopback TCP. One port serves a unary call, a 4 MiB message,
// a bidirectional stream and an HTTP/1.1 request; then the server shuts down
// gracefully. The loop runs until the scenario returns (bounded by a
// timeout), never sleeping.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/server.h"
#include "runtime/posix_env.h"

namespace keel::net {
namespace {

struct Results {
  absl::StatusOr<std::string> unary;
  absl::StatusOr<std::string> big;
  std::vector<std::string> replies;
  absl::Status stream_status = absl::UnknownError("unset");
  std::string http;
};

void Register(GrpcServer& grpc, HttpRouter& http) {
  grpc.RegisterUnary("/test.Echo/Unary",
                     [](CallContext&, std::string request)
                         -> Task<absl::StatusOr<std::string>> {
                       co_return "echo:" + request;
                     });
  grpc.RegisterStream("/test.Echo/Chat",
                      [](CallContext&, ServerStream& stream) -> Task<absl::Status> {
                        while (true) {
                          std::optional<std::string> message = co_await stream.Read();
                          if (!message.has_value()) break;
                          KEEL_CO_RETURN_IF_ERROR(co_await stream.Write("re:" + *message));
                        }
                        co_return absl::OkStatus();
                      });
  http.Handle("/version", [](HttpRequest) -> Task<HttpResponse> {
    HttpResponse response;
    response.body = R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})";
    co_return response;
  });
}

Task<void> Scenario(Env& env, Server& server, Results& results) {
  absl::StatusOr<std::unique_ptr<GrpcChannel>> channel =
      co_await DialGrpc(env.net(), env.clock(), server.address());
  KEEL_ASSERT(channel.ok());
  results.unary = co_await (*channel)->Call("/test.Echo/Unary", "over tcp");
  results.big = co_await (*channel)->Call("/test.Echo/Unary",
                                          std::string(4 * 1024 * 1024, 'z'));
  absl::StatusOr<std::unique_ptr<ClientStream>> stream =
      (*channel)->OpenStream("/test.Echo/Chat");
  KEEL_ASSERT(stream.ok());
  for (const char* word : {"a", "b"}) {
    KEEL_ASSERT((co_await (*stream)->Write(word)).ok());
    std::optional<std::string> reply = co_await (*stream)->Read();
    results.replies.push_back(reply.value_or("<none>"));
  }
  (*stream)->CloseSend();
  results.stream_status = co_await (*stream)->Finish();

  absl::StatusOr<std::unique_ptr<Connection>> raw =
      co_await env.net().Connect(server.address());
  KEEL_ASSERT(raw.ok());
  KEEL_ASSERT((co_await (*raw)->Write(
                   "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                  .ok());
  std::vector<char> buffer(4096);
  while (true) {
    absl::StatusOr<size_t> n = co_await (*raw)->Read(buffer);
    if (!n.ok() || *n == 0) break;
    results.http.append(buffer.data(), *n);
  }
}

Task<int> Main(Env& env, Results* results) {
  GrpcServer grpc(GrpcServerOptions{.max_receive_message_bytes = 8 << 20});
  HttpRouter http;
  Register(grpc, http);
  Server server(env.clock(), grpc, http);
  absl::StatusOr<std::unique_ptr<Listener>> listener = env.net().Listen("127.0.0.1:0");
  KEEL_ASSERT(listener.ok());
  server.Start(std::move(*listener));
  const bool finished =
      co_await env.clock().WithTimeout(Seconds(60), Scenario(env, server, *results));
  co_await server.Shutdown(Seconds(5));
  co_return finished && server.connection_count() == 0 ? 0 : 1;
}

TEST(PosixSocketTest, GrpcAndHttpShareARealLoopbackPort) {
  PosixEnvOptions options;
  options.process_name = "net-test";
  options.handle_signals = false;
  PosixEnv env(options);
  Results results;
  EXPECT_EQ(env.RunMain(Main(env, &results)), 0);
  ASSERT_TRUE(results.unary.ok()) << results.unary.status();
  EXPECT_EQ(*results.unary, "echo:over tcp");
  ASSERT_TRUE(results.big.ok()) << results.big.status();
  EXPECT_EQ(results.big->size(), 4u * 1024 * 1024 + 5);
  EXPECT_EQ(results.replies, (std::vector<std::string>{"re:a", "re:b"}));
  EXPECT_TRUE(results.stream_status.ok()) << results.stream_status;
  EXPECT_EQ(results.http.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << results.http;
  EXPECT_NE(results.http.find("\"etcdserver\":\"3.4.23\""), std::string::npos);
}

}  // namespace
}  // namespace keel::net
