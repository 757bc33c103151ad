// A test harness for net/: a Server on a PipeNetwork, a server process and a
// client process on one executor, and a ManualClock to drive them. Tests
// register methods and routes, call Start(), then run client coroutines
// with RunClient() and inspect what happened.
#ifndef KEEL_NET_TESTING_SERVER_HARNESS_H_
#define KEEL_NET_TESTING_SERVER_HARNESS_H_

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/server.h"
#include "net/testing/pipe_connection.h"
#include "runtime/manual_clock.h"
#include "runtime/process.h"

namespace keel::net::testing {

inline constexpr std::string_view kServerAddress = "127.0.0.1:2379";

class ServerHarness : public ::testing::Test {
 public:
  ~ServerHarness() override { Stop(); }

  // Server options for tests: no keepalive, so RunUntilIdle() terminates.
  static ServerOptions QuietOptions() {
    ServerOptions options;
    options.http2.keepalive_interval = Duration::zero();
    return options;
  }

  // Starts the server (as the server process) listening on kServerAddress.
  void Start(ServerOptions options = QuietOptions()) {
    server_ = std::make_unique<Server>(clock_, grpc_, http_, options);
    server_process_.Spawn([](Server* server, PipeNetwork* network) -> Task<void> {
      absl::StatusOr<std::unique_ptr<Listener>> listener =
          network->Listen(kServerAddress);
      KEEL_ASSERT(listener.ok());
      server->Start(std::move(*listener));
      co_return;
    }(server_.get(), &network_));
    Run();
  }

  // Runs `task` as a root of the client process.
  void SpawnClient(Task<void> task) { client_process_.Spawn(std::move(task)); }

  // Runs until nothing is ready and no timer is armed, or `limit` of
  // virtual time has passed.
  void Run(Duration limit = Seconds(3600)) {
    clock_.RunUntilIdle(clock_.Now() + limit);
  }

  // Dials the server on the pipe network.
  Task<std::unique_ptr<GrpcChannel>> Dial() {
    ChannelOptions options;  // Named: see GrpcChannel::Call on GCC 12.
    return Dial(std::move(options));
  }
  Task<std::unique_ptr<GrpcChannel>> Dial(ChannelOptions options) {
    absl::StatusOr<std::unique_ptr<GrpcChannel>> channel = co_await DialGrpc(
        network_, clock_, std::string(kServerAddress), std::move(options));
    KEEL_ASSERT(channel.ok());
    co_return std::move(*channel);
  }

  // Kills the clients, then the server, in the order Process::Kill expects.
  void Stop() {
    client_process_.Kill();
    {
      Executor::Scope scope(executor_);
      server_.reset();
    }
    server_process_.Kill();
  }

  Executor executor_;
  ManualClock clock_{executor_};
  PipeNetwork network_{executor_};
  GrpcServer grpc_;
  HttpRouter http_;
  Process server_process_{executor_, "server"};
  Process client_process_{executor_, "client"};
  std::unique_ptr<Server> server_;
};

}  // namespace keel::net::testing

#endif  // KEEL_NET_TESTING_SERVER_HARNESS_H_
