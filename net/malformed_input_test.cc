// Seeded mutation tests of the sans-IO cores: real client bytes (HTTP/2 from
// a GrpcChannel, HTTP/1.1 requests) are corrupted by byte flips, insertions
// and cuts, and fed in random slices to a fresh Http2ServerSession or
// Http1RequestParser. Nothing may crash or assert; the unmutated bytes must
// reach the handlers, so the corpus is known to be meaningful.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/http1_parser.h"
#include "net/http2_server_session.h"
#include "net/testing/pipe_connection.h"
#include "runtime/manual_clock.h"
#include "runtime/process.h"
#include "runtime/random.h"

namespace keel::net {
namespace {

constexpr int kMutationRounds = 300;

std::string Mutate(const std::string& wire, Random& random) {
  std::string out = wire;
  const int edits = 1 + static_cast<int>(random.Uniform(4));
  for (int i = 0; i < edits && !out.empty(); i++) {
    const size_t at = random.Uniform(out.size());
    switch (random.Uniform(4)) {
      case 0:
        out[at] = static_cast<char>(random.Uniform(256));
        break;
      case 1:
        out.insert(at, std::string(1 + random.Uniform(8),
                                   static_cast<char>(random.Uniform(256))));
        break;
      case 2:
        out.erase(at, 1 + random.Uniform(16));
        break;
      default:
        out.resize(at);
        break;
    }
  }
  return out;
}

class MalformedInputTest : public ::testing::Test {
 public:
  MalformedInputTest() {
    server_.RegisterStream("/test.Echo/Chat",
                           [this](CallContext&, ServerStream& stream) -> Task<absl::Status> {
                             handler_calls_++;
                             while (true) {
                               std::optional<std::string> message = co_await stream.Read();
                               if (!message.has_value()) break;
                               KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(*message));
                             }
                             co_return absl::OkStatus();
                           });
  }

  // The bytes a GrpcChannel sends for three streams with two messages each.
  std::string CaptureClientBytes() {
    auto [client_end, server_end] =
        testing::MakePipe(executor_, "127.0.0.1:1", "127.0.0.1:2", 1 << 20);
    std::string wire;
    process_.Spawn([](std::unique_ptr<testing::PipeConnection> client_end,
                      std::unique_ptr<testing::PipeConnection> server_end, Clock* clock,
                      std::string* wire) -> Task<void> {
      GrpcChannel channel(std::move(client_end), *clock);
      std::vector<std::unique_ptr<ClientStream>> streams;
      for (int i = 0; i < 3; i++) {
        CallOptions options = CallOptions::WithTimeout(Seconds(5));
        options.metadata = {{"hasleader", "true"}};
        absl::StatusOr<std::unique_ptr<ClientStream>> stream =
            channel.OpenStream("/test.Echo/Chat", options);
        KEEL_ASSERT(stream.ok());
        KEEL_ASSERT((co_await (*stream)->Write("first message")).ok());
        KEEL_ASSERT((co_await (*stream)->Write(std::string(3000, 'x'))).ok());
        (*stream)->CloseSend();
        streams.push_back(std::move(*stream));
      }
      co_await clock->Sleep(Milliseconds(1));  // Let the pump write it all.
      std::vector<char> buffer(1 << 20);
      absl::StatusOr<size_t> n = co_await server_end->Read(buffer);
      KEEL_ASSERT(n.ok());
      wire->assign(buffer.data(), *n);
      streams.clear();
    }(std::move(client_end), std::move(server_end), &clock_, &wire));
    clock_.RunUntilIdle();
    return wire;
  }

  // Feeds `wire` in random slices to a fresh server session.
  void FeedServer(const std::string& wire, Random& random) {
    Executor::Scope scope(executor_);
    Http2ServerSession session(server_, clock_, "127.0.0.1:1");
    std::string out;
    size_t at = 0;
    while (at < wire.size()) {
      const size_t n = std::min(wire.size() - at, 1 + random.Uniform(200));
      if (!session.Receive(std::string_view(wire).substr(at, n)).ok()) break;
      at += n;
      out.clear();
      if (!session.TakeOutput(1 << 20, &out).ok()) break;
      executor_.RunReady();
      out.clear();
      if (!session.TakeOutput(1 << 20, &out).ok()) break;
    }
    session.OnConnectionLost(absl::UnavailableError("test over"));
  }

  Executor executor_;
  ManualClock clock_{executor_};
  Process process_{executor_, "test"};
  GrpcServer server_;
  int handler_calls_ = 0;
};

TEST_F(MalformedInputTest, MutatedHttp2NeverCrashesTheServerSession) {
  const std::string wire = CaptureClientBytes();
  ASSERT_GT(wire.size(), 9000u);
  ASSERT_EQ(wire.substr(0, kHttp2ClientPreface.size()), kHttp2ClientPreface);
  Random mutation_source(42);
  FeedServer(wire, mutation_source);
  EXPECT_EQ(handler_calls_, 3) << "the unmutated bytes are three good calls";
  for (int round = 0; round < kMutationRounds; round++) {
    FeedServer(Mutate(wire, mutation_source), mutation_source);
  }
}

TEST_F(MalformedInputTest, MutatedHttp1NeverCrashesTheParser) {
  const std::string wire =
      "POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n"
      "Content-Type: application/json\r\nContent-Length: 16\r\n\r\n"
      "{\"key\":\"Zm9v\"}\r\n"
      "POST /v3/watch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n"
      "GET /version HTTP/1.0\r\n\r\n";
  Random mutation_source(7);
  for (int round = 0; round <= kMutationRounds; round++) {
    const std::string input = round == 0 ? wire : Mutate(wire, mutation_source);
    Http1RequestParser parser(1024);
    int requests = 0;
    size_t at = 0;
    while (at < input.size()) {
      const size_t n = std::min(input.size() - at, 1 + mutation_source.Uniform(40));
      absl::StatusOr<size_t> consumed = parser.Feed(std::string_view(input).substr(at, n));
      if (!consumed.ok()) break;
      at += *consumed;
      if (parser.TakeRequest().has_value()) requests++;
      if (parser.upgraded()) break;
    }
    if (round == 0) {
      EXPECT_EQ(requests, 3);
    }
  }
}

}  // namespace
}  // namespace keel::net
