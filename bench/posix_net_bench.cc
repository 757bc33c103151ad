// Loopback figures for PosixNetwork on one epoll loop: round trips per
// second on a single connection (client and echo server share the loop, as
// a member's raft and gRPC traffic do), and bytes per second for a bulk
// transfer where the writer runs into the socket buffers.
//
//   build/bench/posix_net_bench --benchmark_min_time=2
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/assert.h"
#include "runtime/posix_loop.h"
#include "runtime/posix_network.h"
#include "runtime/process.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel {
namespace {

Task<void> EchoConnection(std::unique_ptr<Connection> connection) {
  std::vector<char> buffer(64 * 1024);
  while (true) {
    absl::StatusOr<size_t> n = co_await connection->Read(buffer);
    if (!n.ok() || *n == 0) co_return;
    absl::Status written =
        co_await connection->Write(std::string_view(buffer.data(), *n));
    if (!written.ok()) co_return;
  }
}

// Accepts one connection and reads it to its end, counting bytes.
Task<void> Sink(std::unique_ptr<Listener> listener, size_t* received,
                Event* finished) {
  auto connection = co_await listener->Accept();
  KEEL_ASSERT(connection.ok());
  std::vector<char> buffer(256 * 1024);
  while (true) {
    absl::StatusOr<size_t> n = co_await (*connection)->Read(buffer);
    if (!n.ok() || *n == 0) break;
    *received += *n;
  }
  finished->Set();
}

Task<void> ServeEcho(std::unique_ptr<Listener> listener, Process* process) {
  auto connection = co_await listener->Accept();
  KEEL_ASSERT(connection.ok());
  process->Spawn(EchoConnection(std::move(*connection)));
}

Task<int> RoundTrips(PosixNetwork* net, std::string address,
                     benchmark::State* state, size_t message_bytes) {
  auto connection = co_await net->Connect(address);
  KEEL_ASSERT(connection.ok());
  const std::string message(message_bytes, 'x');
  std::vector<char> buffer(message_bytes);
  for (auto _ : *state) {
    absl::Status written = co_await (*connection)->Write(message);
    KEEL_ASSERT(written.ok());
    size_t got = 0;
    while (got < message_bytes) {
      absl::StatusOr<size_t> n = co_await (*connection)->Read(
          std::span<char>(buffer.data() + got, message_bytes - got));
      KEEL_ASSERT(n.ok() && *n > 0);
      got += *n;
    }
  }
  co_return 0;
}

void BM_LoopbackEchoRoundTrip(benchmark::State& state) {
  PosixLoop loop;
  PosixNetwork net(loop);
  Process server(loop.executor(), "server");
  auto listener = net.Listen("127.0.0.1:0");
  KEEL_ASSERT(listener.ok());
  const std::string address = (*listener)->address();
  server.Spawn(ServeEcho(std::move(*listener), &server));
  loop.RunTask(RoundTrips(&net, address, &state,
                          static_cast<size_t>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
  state.counters["round_trips_per_s"] =
      benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
  server.Kill();
}
BENCHMARK(BM_LoopbackEchoRoundTrip)->Arg(16)->Arg(1024)->UseRealTime();

Task<int> Bulk(PosixNetwork* net, std::string address, benchmark::State* state,
               size_t chunk_bytes, size_t* received, Event* finished) {
  auto connection = co_await net->Connect(address);
  KEEL_ASSERT(connection.ok());
  const std::string chunk(chunk_bytes, 'b');
  size_t sent = 0;
  for (auto _ : *state) {
    absl::Status written = co_await (*connection)->Write(chunk);
    KEEL_ASSERT(written.ok());
    sent += chunk_bytes;
  }
  (*connection)->Close();
  co_await finished->Wait();
  KEEL_ASSERT(*received == sent);
  co_return 0;
}

void BM_LoopbackBulkTransfer(benchmark::State& state) {
  PosixLoop loop;
  PosixNetwork net(loop);
  Process server(loop.executor(), "server");
  auto listener = net.Listen("127.0.0.1:0");
  KEEL_ASSERT(listener.ok());
  const std::string address = (*listener)->address();
  size_t received = 0;
  Event finished;
  server.Spawn(Sink(std::move(*listener), &received, &finished));
  const size_t chunk_bytes = static_cast<size_t>(state.range(0));
  loop.RunTask(Bulk(&net, address, &state, chunk_bytes, &received, &finished));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(chunk_bytes));
  server.Kill();
}
BENCHMARK(BM_LoopbackBulkTransfer)->Arg(64 << 10)->Arg(1 << 20)->UseRealTime();

}  // namespace
}  // namespace keel

BENCHMARK_MAIN();
