// Tests of TCP on the epoll loop, over loopback only: echo, many clients at
// once, a bulk transfer large enough that the writer must wait for the
// reader, refused connections, end of stream, local close and destruction
// under a pending read, concurrent writers on one connection, address
// forms and errors, and killing a process in the middle of accepts, reads
// and writes (every descriptor closed, nothing of it runs again). Each test
// runs the loop until its condition holds, never sleeping.
#include "runtime/posix_network.h"

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/posix_loop.h"
#include "runtime/process.h"
#include "runtime/strings.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "runtime/when.h"

namespace keel {
namespace {

constexpr Duration kPatience = Seconds(60);

size_t OpenFdCount() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/fd");
  KEEL_ASSERT(dir != nullptr);
  while (readdir(dir) != nullptr) count++;
  closedir(dir);
  return count;
}

// The largest buffer the kernel may give a socket, from tcp_[rw]mem.
size_t MaxBuffer(const char* sysctl) {
  std::ifstream in(sysctl);
  size_t min = 0, initial = 0, max = 0;
  in >> min >> initial >> max;
  KEEL_ASSERT(max > 0);
  return max;
}

// More bytes than loopback can hold in flight: the send buffer, the
// receive buffer and a reader's chunk, with slack.
size_t InFlightBound() {
  return MaxBuffer("/proc/sys/net/ipv4/tcp_wmem") +
         MaxBuffer("/proc/sys/net/ipv4/tcp_rmem") + (1 << 20);
}

char PatternByte(size_t i) { return static_cast<char>((i * 131 + i / 4093) & 0xff); }

Task<void> EchoConnection(std::unique_ptr<Connection> connection) {
  std::vector<char> buffer(16 * 1024);
  while (true) {
    absl::StatusOr<size_t> n = co_await connection->Read(buffer);
    if (!n.ok() || *n == 0) co_return;
    absl::Status written =
        co_await connection->Write(std::string_view(buffer.data(), *n));
    if (!written.ok()) co_return;
  }
}

Task<void> EchoServer(std::unique_ptr<Listener> listener, Process* process) {
  while (true) {
    auto connection = co_await listener->Accept();
    if (!connection.ok()) co_return;
    process->Spawn(EchoConnection(std::move(*connection)));
  }
}

Task<absl::StatusOr<std::string>> ReadExactly(Connection* connection,
                                              size_t n) {
  std::string out;
  std::vector<char> buffer(64 * 1024);
  while (out.size() < n) {
    const size_t want = std::min(buffer.size(), n - out.size());
    absl::StatusOr<size_t> got =
        co_await connection->Read(std::span<char>(buffer.data(), want));
    if (!got.ok()) co_return got.status();
    if (*got == 0) co_return absl::DataLossError("end of stream too early");
    out.append(buffer.data(), *got);
  }
  co_return out;
}

// Connects, sends `message`, returns what comes back.
Task<absl::StatusOr<std::string>> EchoOnce(PosixNetwork* net,
                                           std::string address,
                                           std::string message) {
  auto connection = co_await net->Connect(address);
  if (!connection.ok()) co_return connection.status();
  absl::Status written = co_await (*connection)->Write(message);
  if (!written.ok()) co_return written;
  co_return co_await ReadExactly(connection->get(), message.size());
}

class PosixNetworkTest : public ::testing::Test {
 protected:
  std::unique_ptr<Listener> ListenOrDie(std::string_view address = "127.0.0.1:0") {
    auto listener = net_.Listen(address);
    KEEL_ASSERT_MSG(listener.ok(), "listen failed");
    return std::move(*listener);
  }

  // Starts an echo server; returns its address.
  std::string StartEchoServer(std::string_view address = "127.0.0.1:0") {
    std::unique_ptr<Listener> listener = ListenOrDie(address);
    std::string bound = listener->address();
    server_.Spawn(EchoServer(std::move(listener), &server_));
    return bound;
  }

  // Runs `task` in the client process until it returns, with a bound.
  template <typename T>
  T Run(Task<T> task) {
    std::optional<T> result;
    client_.Spawn(Store(std::move(task), &result));
    const bool finished =
        loop_.RunUntil([&] { return result.has_value(); }, kPatience);
    KEEL_ASSERT_MSG(finished, "test task did not finish in time");
    return std::move(*result);
  }

  bool RunUntil(absl::FunctionRef<bool()> done) {
    return loop_.RunUntil(done, kPatience);
  }

  template <typename T>
  static Task<void> Store(Task<T> task, std::optional<T>* out) {
    out->emplace(co_await std::move(task));
  }

  PosixLoop loop_;
  PosixNetwork net_{loop_};
  Process server_{loop_.executor(), "server"};
  Process client_{loop_.executor(), "client"};
};

TEST_F(PosixNetworkTest, EchoesOverLoopback) {
  const std::string address = StartEchoServer();
  auto reply = Run(EchoOnce(&net_, address, "ping"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "ping");
}

TEST_F(PosixNetworkTest, ServesManyConcurrentConnections) {
  constexpr int kClients = 200;
  const std::string address = StartEchoServer();
  int succeeded = 0;
  int failed = 0;
  for (int i = 0; i < kClients; i++) {
    client_.Spawn([](PosixNetwork* net, std::string address, int i,
                     int* succeeded, int* failed) -> Task<void> {
      const std::string message = StrCat("hello from client ", i);
      auto reply = co_await EchoOnce(net, address, message);
      if (reply.ok() && *reply == message) {
        (*succeeded)++;
      } else {
        (*failed)++;
      }
    }(&net_, address, i, &succeeded, &failed));
  }
  ASSERT_TRUE(RunUntil([&] { return succeeded + failed == kClients; }));
  EXPECT_EQ(succeeded, kClients);
}

// Reads `total` bytes, checking each against the pattern; counts progress.
Task<void> ReadPattern(std::unique_ptr<Listener> listener, size_t total,
                       size_t* read, bool* intact) {
  auto connection = co_await listener->Accept();
  KEEL_ASSERT(connection.ok());
  std::vector<char> buffer(64 * 1024);
  while (*read < total) {
    absl::StatusOr<size_t> n = co_await (*connection)->Read(buffer);
    if (!n.ok() || *n == 0) break;
    for (size_t i = 0; i < *n; i++) {
      if (buffer[i] != PatternByte(*read + i)) *intact = false;
    }
    *read += *n;
  }
}

TEST_F(PosixNetworkTest, BulkTransferSuspendsTheWriterUntilTheReaderCatchesUp) {
  const size_t bound = InFlightBound();
  const size_t total = 2 * bound;
  std::unique_ptr<Listener> listener = ListenOrDie();
  const std::string address = listener->address();
  size_t read = 0;
  bool intact = true;
  server_.Spawn(ReadPattern(std::move(listener), total, &read, &intact));

  std::string data(total, '\0');
  for (size_t i = 0; i < total; i++) data[i] = PatternByte(i);
  auto read_when_written = Run([](PosixNetwork* net, std::string address,
                                  const std::string* data,
                                  const size_t* read) -> Task<absl::StatusOr<size_t>> {
    auto connection = co_await net->Connect(address);
    if (!connection.ok()) co_return connection.status();
    absl::Status written = co_await (*connection)->Write(*data);
    if (!written.ok()) co_return written;
    co_return *read;
  }(&net_, address, &data, &read));
  ASSERT_TRUE(read_when_written.ok()) << read_when_written.status();
  // One Write call could only return after the reader had taken all but
  // what the kernel can hold: it must have waited for it.
  EXPECT_GE(*read_when_written, total - bound);
  ASSERT_TRUE(RunUntil([&] { return read == total; }));
  EXPECT_TRUE(intact);
}

// Reads 2 * `size` bytes and summarises each half as its distinct bytes in
// order of appearance; sets `first_read` after the first chunk.
Task<void> ReadHalves(std::unique_ptr<Listener> listener, size_t size,
                      Event* first_read, std::string* first,
                      std::string* second, bool* done) {
  auto connection = co_await listener->Accept();
  KEEL_ASSERT(connection.ok());
  std::vector<char> buffer(64 * 1024);
  size_t position = 0;
  while (position < 2 * size) {
    auto n = co_await (*connection)->Read(buffer);
    KEEL_ASSERT(n.ok() && *n > 0);
    for (size_t i = 0; i < *n; i++, position++) {
      std::string& run = position < size ? *first : *second;
      if (run.find(buffer[i]) == std::string::npos) run.push_back(buffer[i]);
    }
    first_read->Set();
  }
  *done = true;
}

Task<absl::Status> WriteAfter(Connection* connection, Event* go,
                              const std::string* data) {
  if (go != nullptr) co_await go->Wait();
  co_return co_await connection->Write(*data);
}

TEST_F(PosixNetworkTest, ConcurrentWritesDoNotInterleave) {
  const size_t size = InFlightBound();
  std::unique_ptr<Listener> listener = ListenOrDie();
  const std::string address = listener->address();
  Event first_read;
  std::string first_run, second_run;
  bool done = false;
  server_.Spawn(ReadHalves(std::move(listener), size, &first_read, &first_run,
                           &second_run, &done));
  const std::string a(size, 'a');
  const std::string b(size, 'b');
  // The first write fills the socket and waits; the reader frees some room
  // and only then does the second write start, while the first is still
  // suspended halfway. It must wait for its turn, not fill that room.
  auto results = Run([](PosixNetwork* net, std::string address,
                        Event* first_read, const std::string* a,
                        const std::string* b) -> Task<std::vector<absl::Status>> {
    auto connection = co_await net->Connect(address);
    KEEL_ASSERT(connection.ok());
    std::vector<Task<absl::Status>> writes;
    writes.push_back(WriteAfter(connection->get(), nullptr, a));
    writes.push_back(WriteAfter(connection->get(), first_read, b));
    co_return co_await WhenAll(std::move(writes));
  }(&net_, address, &first_read, &a, &b));
  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_TRUE(results[1].ok()) << results[1];
  ASSERT_TRUE(RunUntil([&] { return done; }));
  EXPECT_EQ(first_run, "a");
  EXPECT_EQ(second_run, "b");
}

TEST_F(PosixNetworkTest, ConnectToAClosedPortIsUnavailable) {
  std::string address;
  {
    std::unique_ptr<Listener> listener = ListenOrDie();
    address = listener->address();
  }
  auto connection = Run(net_.Connect(address));
  EXPECT_TRUE(absl::IsUnavailable(connection.status())) << connection.status();
}

TEST_F(PosixNetworkTest, PeerCloseGivesEndOfStreamAndThenZeroReads) {
  std::unique_ptr<Listener> listener = ListenOrDie();
  const std::string address = listener->address();
  server_.Spawn([](std::unique_ptr<Listener> listener) -> Task<void> {
    auto connection = co_await listener->Accept();
    KEEL_ASSERT(connection.ok());
    absl::Status written = co_await (*connection)->Write("bye");
    KEEL_ASSERT(written.ok());
    (*connection)->Close();
  }(std::move(listener)));
  auto reads = Run([](PosixNetwork* net,
                      std::string address) -> Task<std::vector<std::string>> {
    std::vector<std::string> out;
    auto connection = co_await net->Connect(address);
    KEEL_ASSERT(connection.ok());
    auto bye = co_await ReadExactly(connection->get(), 3);
    out.push_back(bye.ok() ? *bye : bye.status().ToString());
    char buffer[16];
    for (int i = 0; i < 2; i++) {
      auto n = co_await (*connection)->Read(buffer);
      out.push_back(n.ok() ? StrCat(*n) : n.status().ToString());
    }
    co_return out;
  }(&net_, address));
  EXPECT_EQ(reads, (std::vector<std::string>{"bye", "0", "0"}));
}

// Reads once from `connection` and records the outcome.
Task<void> ReadOnce(Connection* connection, absl::Status* outcome) {
  char buffer[16];
  absl::StatusOr<size_t> n = co_await connection->Read(buffer);
  *outcome = n.status();
}

TEST_F(PosixNetworkTest, LocalCloseFailsAPendingReadAndLaterWrites) {
  const std::string address = StartEchoServer();
  auto outcomes = Run([](PosixNetwork* net,
                         std::string address) -> Task<std::vector<absl::Status>> {
    auto connection = co_await net->Connect(address);
    KEEL_ASSERT(connection.ok());
    absl::Status read_outcome;
    std::vector<Task<void>> both;
    both.push_back(ReadOnce(connection->get(), &read_outcome));
    both.push_back([](Connection* c) -> Task<void> {
      co_await Yield();
      c->Close();
    }(connection->get()));
    co_await WhenAll(std::move(both));
    absl::Status write_outcome = co_await (*connection)->Write("late");
    co_return std::vector<absl::Status>{read_outcome, write_outcome};
  }(&net_, address));
  EXPECT_TRUE(absl::IsUnavailable(outcomes[0])) << outcomes[0];
  EXPECT_TRUE(absl::IsUnavailable(outcomes[1])) << outcomes[1];
}

TEST_F(PosixNetworkTest, DestroyingAConnectionWakesItsPendingReader) {
  const std::string address = StartEchoServer();
  auto outcome = Run([](PosixNetwork* net, std::string address) -> Task<absl::Status> {
    auto connection = co_await net->Connect(address);
    KEEL_ASSERT(connection.ok());
    absl::Status read_outcome;
    std::vector<Task<void>> both;
    both.push_back(ReadOnce(connection->get(), &read_outcome));
    both.push_back([](std::unique_ptr<Connection>* c) -> Task<void> {
      co_await Yield();
      c->reset();
    }(&*connection));
    co_await WhenAll(std::move(both));
    co_return read_outcome;
  }(&net_, address));
  EXPECT_TRUE(absl::IsUnavailable(outcome)) << outcome;
  EXPECT_TRUE(RunUntil([&] { return loop_.handle_count() == 1; }))
      << "the echo server saw end of stream; only its listener remains";
}

TEST_F(PosixNetworkTest, AddressesOfBothEndsAgree) {
  std::unique_ptr<Listener> listener = ListenOrDie();
  const std::string address = listener->address();
  std::string server_local, server_peer;
  server_.Spawn([](std::unique_ptr<Listener> listener, std::string* local,
                   std::string* peer) -> Task<void> {
    auto connection = co_await listener->Accept();
    KEEL_ASSERT(connection.ok());
    *local = (*connection)->local_address();
    *peer = (*connection)->peer_address();
  }(std::move(listener), &server_local, &server_peer));
  auto ends = Run([](PosixNetwork* net,
                     std::string address) -> Task<std::vector<std::string>> {
    auto connection = co_await net->Connect(address);
    KEEL_ASSERT(connection.ok());
    co_return std::vector<std::string>{(*connection)->local_address(),
                                       (*connection)->peer_address()};
  }(&net_, address));
  ASSERT_TRUE(RunUntil([&] { return !server_peer.empty(); }));
  EXPECT_EQ(ends[1], address);
  EXPECT_EQ(server_local, address);
  EXPECT_EQ(server_peer, ends[0]);
  EXPECT_EQ(ends[0].rfind("127.0.0.1:", 0), 0u) << ends[0];
}

TEST_F(PosixNetworkTest, LocalhostListensOnIpv4Loopback) {
  const std::string address = StartEchoServer("localhost:0");
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  const std::string port = address.substr(address.rfind(':') + 1);
  auto reply = Run(EchoOnce(&net_, StrCat("localhost:", port), "hi"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "hi");
}

TEST_F(PosixNetworkTest, Ipv6LoopbackWorksInBrackets) {
  auto listener = net_.Listen("[::1]:0");
  if (!listener.ok()) GTEST_SKIP() << "no IPv6 loopback: " << listener.status();
  const std::string address = (*listener)->address();
  EXPECT_EQ(address.rfind("[::1]:", 0), 0u) << address;
  server_.Spawn(EchoServer(std::move(*listener), &server_));
  auto reply = Run(EchoOnce(&net_, address, "six"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "six");
}

TEST_F(PosixNetworkTest, ListeningTwiceOnOnePortIsAlreadyExists) {
  std::unique_ptr<Listener> first = ListenOrDie();
  auto second = net_.Listen(first->address());
  EXPECT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
}

TEST_F(PosixNetworkTest, MalformedOrNamedAddressesAreInvalidArgument) {
  for (const char* address :
       {"127.0.0.1", "127.0.0.1:70000", ":80", "127.0.0.1:http",
        "example.com:80"}) {
    auto listener = net_.Listen(address);
    EXPECT_TRUE(absl::IsInvalidArgument(listener.status()))
        << address << ": " << listener.status();
    auto connection = Run(net_.Connect(address));
    EXPECT_TRUE(absl::IsInvalidArgument(connection.status()))
        << address << ": " << connection.status();
  }
}

// Victim side of the kill test: each counts the times it got past a wait.
Task<void> VictimAccept(std::unique_ptr<Listener> listener, int* resumed) {
  auto connection = co_await listener->Accept();
  (*resumed)++;
}

Task<void> VictimRead(PosixNetwork* net, std::string address, int* resumed) {
  auto connection = co_await net->Connect(address);
  KEEL_ASSERT(connection.ok());
  char buffer[64];
  auto n = co_await (*connection)->Read(buffer);
  (*resumed)++;
}

Task<void> VictimWrite(PosixNetwork* net, std::string address, size_t size,
                       bool* writing, int* resumed) {
  auto connection = co_await net->Connect(address);
  KEEL_ASSERT(connection.ok());
  const std::string data(size, 'k');
  *writing = true;
  absl::Status written = co_await (*connection)->Write(data);
  (*resumed)++;
}

// Accepts `count` connections, holds them without reading or writing until
// `drain` is set, then reads each to its end or error.
Task<void> PeerHold(std::unique_ptr<Listener> listener, int count,
                    int* accepted, Event* drain, bool* done) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < count; i++) {
    auto connection = co_await listener->Accept();
    KEEL_ASSERT(connection.ok());
    connections.push_back(std::move(*connection));
    (*accepted)++;
  }
  co_await drain->Wait();
  std::vector<char> buffer(64 * 1024);
  for (auto& connection : connections) {
    while (true) {
      auto n = co_await connection->Read(buffer);
      if (!n.ok() || *n == 0) break;
    }
  }
  *done = true;
}

TEST_F(PosixNetworkTest, KillingAProcessClosesItsSocketsAndRunsNothingMore) {
  const size_t fds_at_start = OpenFdCount();
  std::unique_ptr<Listener> peer_listener = ListenOrDie();
  const std::string peer_address = peer_listener->address();
  int accepted = 0;
  Event drain;
  bool peer_done = false;
  server_.Spawn(
      PeerHold(std::move(peer_listener), 2, &accepted, &drain, &peer_done));

  Process victim(loop_.executor(), "victim");
  std::unique_ptr<Listener> victim_listener = ListenOrDie();
  const std::string victim_address = victim_listener->address();
  int resumed = 0;
  bool writing = false;
  victim.Spawn(VictimAccept(std::move(victim_listener), &resumed));
  victim.Spawn(VictimRead(&net_, peer_address, &resumed));
  victim.Spawn(VictimWrite(&net_, peer_address, InFlightBound(), &writing,
                           &resumed));
  // The write cannot finish: nobody reads. Once it has started, every
  // victim coroutine is parked on a socket.
  ASSERT_TRUE(RunUntil([&] { return accepted == 2 && writing; }));
  EXPECT_EQ(loop_.handle_count(), 6u);
  EXPECT_EQ(resumed, 0);

  victim.Kill();
  EXPECT_EQ(loop_.handle_count(), 3u) << "the victim's three sockets closed";
  auto refused = Run(net_.Connect(victim_address));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();

  loop_.Post([&] { drain.Set(); });
  ASSERT_TRUE(RunUntil([&] { return peer_done; }));
  EXPECT_EQ(resumed, 0) << "a killed coroutine ran";
  EXPECT_EQ(loop_.handle_count(), 0u);
  EXPECT_EQ(OpenFdCount(), fds_at_start);
}

}  // namespace
}  // namespace keel
