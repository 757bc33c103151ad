// fuzz_http2: arbitrary bytes into the client port (net/server.h): the
// protocol sniffing, HTTP/2 framing and HPACK (nghttp2 behind
// Http2ServerSession), gRPC message framing (net/grpc_wire.h) and, for bytes
// that are not HTTP/2, the HTTP/1.1 parser.
//
// A simulated machine serves a GrpcServer with a unary echo, a
// bidirectional echo and a server-streaming method, and an HttpRouter with
// one route, on 10.0.0.1:2379; a dialer machine writes the input in slices
// and closes. Nothing may crash, and the server must let go of a
// connection whose client has closed.
//
// Input: byte 0 is the write slice size (1 + 16 * byte); the rest goes onto
// the connection. Seeds are real client bytes (fuzz/gen_corpus.cc).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "fuzz/sim_dialer.h"
#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/server.h"
#include "runtime/assert.h"
#include "sim/sim_world.h"

namespace keel::fuzz {
namespace {

void RegisterMethods(net::GrpcServer& grpc, net::HttpRouter& http, Clock& clock) {
  grpc.RegisterUnary("/test.Echo/Unary",
                     [&clock](net::CallContext& context,
                              std::string request) -> Task<absl::StatusOr<std::string>> {
                       // Some calls wait, so deadlines and resets find them
                       // suspended.
                       if (!request.empty() && request[0] == 'w') {
                         co_await clock.Sleep(Milliseconds(50));
                       }
                       co_return request;
                     });
  grpc.RegisterStream("/test.Echo/Chat",
                      [](net::CallContext&, net::ServerStream& stream) -> Task<absl::Status> {
                        while (true) {
                          std::optional<std::string> message = co_await stream.Read();
                          if (!message.has_value()) break;
                          absl::Status written = co_await stream.Write(std::move(*message));
                          if (!written.ok()) co_return written;
                        }
                        co_return absl::OkStatus();
                      });
  grpc.RegisterStream("/test.Echo/Many",
                      [](net::CallContext&, net::ServerStream& stream) -> Task<absl::Status> {
                        std::optional<std::string> message = co_await stream.Read();
                        if (!message.has_value()) co_return absl::OkStatus();
                        for (int i = 0; i < 8; i++) {
                          absl::Status written = co_await stream.Write(*message);
                          if (!written.ok()) co_return written;
                        }
                        co_return absl::OkStatus();
                      });
  http.Handle("/version", [](net::HttpRequest request) -> Task<net::HttpResponse> {
    net::HttpResponse response;
    response.headers = {{"Content-Type", "application/json"}};
    response.body = request.body.empty() ? "{}" : request.body;
    co_return response;
  });
}

struct World {
  World() : world(sim::SimWorldOptions{.seed = 1}), dialer(world, "10.0.0.2") {
    sim::SimMachineOptions options;
    options.name = "server";
    options.host = "10.0.0.1";
    options.boot = [this](Env& env) -> Task<void> {
      net::GrpcServer grpc;
      net::HttpRouter http;
      RegisterMethods(grpc, http, env.clock());
      net::Server server(env.clock(), grpc, http);
      auto listener = env.net().Listen("10.0.0.1:2379");
      KEEL_ASSERT(listener.ok());
      server.Start(std::move(*listener));
      this->server = &server;
      co_await env.clock().Sleep(Seconds(1'000'000'000));
    };
    world.AddMachine(std::move(options)).Start();
    dialer.Start();
    world.RunUntil([&] { return server != nullptr; }, Seconds(1));
    KEEL_ASSERT(server != nullptr);
  }
  sim::SimWorld world;
  SimDialer dialer;
  net::Server* server = nullptr;
};

// Rebuilt every 1000 inputs (fuzz/recycled.h); call once per input.
World& TheWorld() { return Recycled<World>(1000); }

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel;
  fuzz::FuzzInput input(data, size);
  fuzz::World& world = fuzz::TheWorld();
  const size_t slice_bytes = 1 + input.Byte() * 16;
  const size_t received =
      world.dialer.Exchange("10.0.0.1:2379", std::string(input.Rest()), slice_bytes);
  if (fuzz::Verbose()) std::fprintf(stderr, "http2: %zu bytes back\n", received);
  world.world.RunUntil([&] { return world.server->connection_count() == 0; },
                       Seconds(60));
  KEEL_ASSERT_MSG(world.server->connection_count() == 0,
                  "the server kept a connection its client closed");
  return 0;
}
