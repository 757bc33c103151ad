// fuzz_tls: arbitrary bytes into a TLS client port (net/tls_connection.h):
// OpenSSL's record layer and handshake parser behind the memory BIOs, the
// handshake state machine of TlsConnection, the plaintext-HTTP answer, and
// then whatever net::Server makes of the bytes if a handshake ever got
// through.
//
// A simulated machine serves a net::Server (one HTTP route) through
// TlsListen with a certificate it made itself, on 10.0.0.1:2379, with
// randomness from the Env (net/tls_random.h) so every input replays; a
// dialer machine writes the input in slices and closes. Nothing may crash,
// and the server must let go of a connection whose client has closed.
//
// Input: byte 0 is the write slice size (1 + 16 * byte); the rest goes onto
// the connection. Seeds: a TLS 1.3 and a TLS 1.2 ClientHello
// (fuzz/corpus/tls/), and plaintext HTTP.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "fuzz/sim_dialer.h"
#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/server.h"
#include "net/tls_context.h"
#include "net/tls_network.h"
#include "net/tls_random.h"
#include "net/tls_self_signed.h"
#include "runtime/assert.h"
#include "sim/sim_world.h"

namespace keel::fuzz {
namespace {

struct World {
  World() : world(sim::SimWorldOptions{.seed = 1}), dialer(world, "10.0.0.2") {
    net::UseEnvRandomForTls(true);
    sim::SimMachineOptions options;
    options.name = "server";
    options.host = "10.0.0.1";
    options.boot = [this](Env& env) -> Task<void> {
      net::GrpcServer grpc;
      net::HttpRouter http;
      http.Handle("/version", [](net::HttpRequest) -> Task<net::HttpResponse> {
        net::HttpResponse response;
        response.body = "{}";
        co_return response;
      });
      auto files = net::EnsureSelfSignedCert(env, "tls", {"10.0.0.1"}, 1);
      KEEL_ASSERT(files.ok());
      net::TlsConfig config;
      config.cert_file = files->cert_file;
      config.key_file = files->key_file;
      config.alpn = {"http/1.1", "h2"};
      auto context = net::TlsContext::Create(env.fs(), net::TlsRole::kServer, config);
      KEEL_ASSERT(context.ok());
      net::Server server(env.clock(), grpc, http);
      auto listener = env.net().Listen("10.0.0.1:2379");
      KEEL_ASSERT(listener.ok());
      server.Start(net::TlsListen(std::move(*listener), *context, env));
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
  if (fuzz::Verbose()) std::fprintf(stderr, "tls: %zu bytes back\n", received);
  world.world.RunUntil([&] { return world.server->connection_count() == 0; }, Seconds(60));
  KEEL_ASSERT_MSG(world.server->connection_count() == 0,
                  "the server kept a connection its client closed");
  return 0;
}
