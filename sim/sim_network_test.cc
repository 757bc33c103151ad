// Tests of SimNetwork's stream semantics and faults: order within a
// connection, end of stream, refusal, reset when a process dies, partitions
// in both directions and one, healing, the partition timeout, clogs, loss and
// paused receivers. Each test runs machines in a SimWorld and looks at what
// their processes saw and when.
#include "sim/sim_network.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/env.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

// Reads until end of stream or an error; returns the bytes and the status
// that ended it (OK for a clean end of stream).
Task<absl::Status> ReadAll(Connection& conn, std::string* out) {
  char buffer[4096];
  while (true) {
    absl::StatusOr<size_t> n = co_await conn.Read(std::span<char>(buffer));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::OkStatus();
    out->append(buffer, *n);
  }
}

struct Outcome {
  bool done = false;
  absl::Status status = absl::UnknownError("not run");
  std::string bytes;
  TimePoint at{};
};

class SimNetworkTest : public ::testing::Test {
 protected:
  SimMachine& Add(const std::string& name, BootFunction boot) {
    SimMachine& m = world_.AddMachine({.name = name, .boot = std::move(boot)});
    m.Start();
    return m;
  }

  // A server on 10.0.0.1:7000 that reads one connection to its end.
  SimMachine& AddReadingServer(Outcome* outcome) {
    return Add("server", [this, outcome](Env& env) -> Task<void> {
      auto listener = env.net().Listen("10.0.0.1:7000");
      EXPECT_TRUE(listener.ok());
      auto conn = co_await (*listener)->Accept();
      EXPECT_TRUE(conn.ok());
      outcome->status = co_await ReadAll(**conn, &outcome->bytes);
      outcome->done = true;
      outcome->at = world_.now();
      co_await env.clock().Sleep(Seconds(1000));
    });
  }

  SimWorld world_{{.seed = 1}};
};

TEST_F(SimNetworkTest, BytesArriveInOrderThenEndOfStream) {
  Outcome server;
  AddReadingServer(&server);
  std::string sent;
  for (int i = 0; i < 300; i++) sent += StrCat("message ", i, std::string(i * 37, 'x'), ";");
  Add("client", [&sent](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    // Writes of many sizes, some far past the send window.
    size_t offset = 0;
    for (size_t size = 1; offset < sent.size(); size = size * 3 + 1) {
      const size_t n = std::min(size, sent.size() - offset);
      EXPECT_TRUE((co_await (*conn)->Write(std::string_view(sent).substr(offset, n))).ok());
      offset += n;
    }
    (*conn)->Close();
  });
  world_.RunFor(Seconds(5));
  ASSERT_TRUE(server.done);
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_EQ(server.bytes, sent);
}

TEST_F(SimNetworkTest, ConnectToAPortNobodyListensOnIsRefusedQuickly) {
  Add("server", [](Env& env) -> Task<void> { co_await env.clock().Sleep(Seconds(100)); });
  Outcome client;
  Add("client", [this, &client](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    client.status = conn.status();
    client.at = world_.now();
  });
  world_.RunFor(Seconds(5));
  EXPECT_TRUE(absl::IsUnavailable(client.status)) << client.status;
  EXPECT_NE(client.status.message().find("refused"), std::string::npos);
  EXPECT_LT(client.at - TimePoint{}, Milliseconds(100));
}

TEST_F(SimNetworkTest, ListenTwiceOnOnePortIsAlreadyExists) {
  absl::Status second;
  Add("server", [&second](Env& env) -> Task<void> {
    auto first = env.net().Listen("10.0.0.1:7000");
    EXPECT_TRUE(first.ok());
    second = env.net().Listen("0.0.0.0:7000").status();
    auto other = env.net().Listen("10.0.0.2:7001");
    EXPECT_TRUE(absl::IsInvalidArgument(other.status())) << other.status();
    co_await env.clock().Sleep(Seconds(1));
  });
  world_.RunFor(Seconds(2));
  EXPECT_TRUE(absl::IsAlreadyExists(second)) << second;
}

TEST_F(SimNetworkTest, KillingAProcessResetsItsConnectionsAndFreesItsPorts) {
  Outcome server;
  SimMachine& server_machine = AddReadingServer(&server);
  Outcome client;
  Add("client", [this, &client](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    client.status = co_await ReadAll(**conn, &client.bytes);
    client.done = true;
    client.at = world_.now();
  });
  world_.RunFor(Seconds(1));
  EXPECT_FALSE(client.done);
  server_machine.Kill();
  const TimePoint killed = world_.now();
  world_.RunFor(Seconds(1));
  ASSERT_TRUE(client.done);
  EXPECT_TRUE(absl::IsUnavailable(client.status)) << client.status;
  EXPECT_GT(client.at, killed) << "the reset travels over the link";
  // The port is free again for the next incarnation.
  server_machine.Start();
  world_.RunFor(Seconds(1));
  EXPECT_TRUE(server_machine.running());
  EXPECT_EQ(server_machine.incarnation(), 2u);
}

TEST_F(SimNetworkTest, SymmetricPartitionHoldsBytesUntilHealed) {
  Outcome server;
  AddReadingServer(&server);
  Add("client", [this](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    world_.net().Partition({"10.0.0.1"}, {"10.0.0.2"});
    EXPECT_TRUE((co_await (*conn)->Write("held")).ok());
    (*conn)->Close();
    co_await env.clock().Sleep(Seconds(100));
  });
  world_.RunFor(Seconds(2));
  EXPECT_FALSE(server.done);
  EXPECT_EQ(server.bytes, "");
  world_.net().HealAll();
  const TimePoint healed = world_.now();
  world_.RunFor(Seconds(1));
  ASSERT_TRUE(server.done);
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_EQ(server.bytes, "held");
  EXPECT_GT(server.at, healed);
}

TEST_F(SimNetworkTest, PartitionOutlastingTheTimeoutResetsBothSides) {
  Outcome server;
  AddReadingServer(&server);
  Outcome client;
  Add("client", [this, &client](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    world_.net().Isolate("10.0.0.1");
    client.status = co_await ReadAll(**conn, &client.bytes);
    client.done = true;
    client.at = world_.now();
  });
  world_.RunFor(world_.net().options().partition_reset_timeout / 2);
  EXPECT_FALSE(client.done);
  EXPECT_FALSE(server.done);
  world_.RunFor(world_.net().options().partition_reset_timeout);
  ASSERT_TRUE(client.done);
  ASSERT_TRUE(server.done);
  EXPECT_TRUE(absl::IsUnavailable(client.status)) << client.status;
  EXPECT_TRUE(absl::IsUnavailable(server.status)) << server.status;
}

TEST_F(SimNetworkTest, OneWayCutHoldsOnlyOneDirection) {
  std::string at_server, at_client;
  Add("server", [&at_server](Env& env) -> Task<void> {
    auto listener = env.net().Listen("10.0.0.1:7000");
    auto conn = co_await (*listener)->Accept();
    EXPECT_TRUE((co_await (*conn)->Write("to client")).ok());
    char buffer[64];
    auto n = co_await (*conn)->Read(std::span<char>(buffer));
    if (n.ok()) at_server.assign(buffer, *n);
    co_await env.clock().Sleep(Seconds(100));
  });
  Add("client", [this, &at_client](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    world_.net().Cut("10.0.0.2", "10.0.0.1");
    EXPECT_TRUE((co_await (*conn)->Write("to server")).ok());
    char buffer[64];
    auto n = co_await (*conn)->Read(std::span<char>(buffer));
    if (n.ok()) at_client.assign(buffer, *n);
    co_await env.clock().Sleep(Seconds(100));
  });
  world_.RunFor(Seconds(1));
  EXPECT_EQ(at_client, "to client");
  EXPECT_EQ(at_server, "");
  world_.net().Heal("10.0.0.2", "10.0.0.1");
  world_.RunFor(Seconds(1));
  EXPECT_EQ(at_server, "to server");
}

TEST_F(SimNetworkTest, ConnectAcrossACutTimesOut) {
  Add("server", [](Env& env) -> Task<void> {
    auto listener = env.net().Listen("10.0.0.1:7000");
    co_await env.clock().Sleep(Seconds(100));
  });
  Outcome client;
  Add("client", [this, &client](Env& env) -> Task<void> {
    world_.net().Cut("10.0.0.1", "10.0.0.2");  // only the answers are lost
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    client.status = conn.status();
    client.at = world_.now();
  });
  world_.RunFor(Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(client.status)) << client.status;
  EXPECT_EQ(client.at - TimePoint{}, world_.net().options().connect_timeout);
}

TEST_F(SimNetworkTest, ConnectToAnUnknownHostTimesOut) {
  Outcome client;
  Add("client", [this, &client](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.9.9.9:7000");
    client.status = conn.status();
    client.at = world_.now();
  });
  world_.RunFor(Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(client.status)) << client.status;
  EXPECT_EQ(client.at - TimePoint{}, world_.net().options().connect_timeout);
}

TEST_F(SimNetworkTest, ClogDelaysTrafficOfOneHostForAWhile) {
  Outcome server;
  AddReadingServer(&server);
  TimePoint sent_at{};
  Add("client", [this, &sent_at](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    world_.net().Clog("10.0.0.1", Seconds(3));
    sent_at = world_.now();
    EXPECT_TRUE((co_await (*conn)->Write("late")).ok());
    (*conn)->Close();
    co_await env.clock().Sleep(Seconds(100));
  });
  world_.RunFor(Seconds(10));
  ASSERT_TRUE(server.done);
  EXPECT_EQ(server.bytes, "late");
  EXPECT_GE(server.at - sent_at, Seconds(3));
  EXPECT_LT(server.at - sent_at, Seconds(4));
}

TEST_F(SimNetworkTest, LatencyFollowsTheLinkOptions) {
  world_.net().SetDefaultLink({.latency_min = Milliseconds(10),
                               .latency_max = Milliseconds(20),
                               .tail_probability = 0});
  std::vector<Duration> round_trips;
  Add("server", [](Env& env) -> Task<void> {
    auto listener = env.net().Listen("10.0.0.1:7000");
    auto conn = co_await (*listener)->Accept();
    char byte[1];
    while ((co_await (*conn)->Read(std::span<char>(byte))).ok()) {
      if (!(co_await (*conn)->Write(std::string_view(byte, 1))).ok()) break;
    }
  });
  Add("client", [&round_trips](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    for (int i = 0; i < 50; i++) {
      const TimePoint start = env.clock().Now();
      EXPECT_TRUE((co_await (*conn)->Write("x")).ok());
      char byte[1];
      EXPECT_TRUE((co_await (*conn)->Read(std::span<char>(byte))).ok());
      round_trips.push_back(env.clock().Now() - start);
    }
  });
  world_.RunFor(Seconds(10));
  ASSERT_EQ(round_trips.size(), 50u);
  for (Duration rtt : round_trips) {
    EXPECT_GE(rtt, Milliseconds(20));
    EXPECT_LE(rtt, Milliseconds(41));
  }
}

TEST_F(SimNetworkTest, LossShowsAsRetransmissionDelayNotAsMissingBytes) {
  world_.net().SetDefaultLink({.loss_probability = 0.3,
                               .retransmit_delay = Milliseconds(200)});
  Outcome server;
  AddReadingServer(&server);
  std::string sent;
  Add("client", [&sent](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    for (int i = 0; i < 100; i++) {
      std::string piece = StrCat(i, ",");
      sent += piece;
      EXPECT_TRUE((co_await (*conn)->Write(piece)).ok());
      co_await env.clock().Sleep(Milliseconds(1));
    }
    (*conn)->Close();
  });
  world_.RunFor(Seconds(30));
  ASSERT_TRUE(server.done);
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_EQ(server.bytes, sent);
  EXPECT_GT(server.at - TimePoint{}, Milliseconds(300));
}

TEST_F(SimNetworkTest, InjectedResetFailsBothSides) {
  world_.net().SetDefaultLink({.reset_probability = 1.0});
  Outcome server;
  AddReadingServer(&server);
  absl::Status client_read;
  Add("client", [&client_read](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    EXPECT_TRUE((co_await (*conn)->Write("doomed")).ok());
    char buffer[8];
    client_read = (co_await (*conn)->Read(std::span<char>(buffer))).status();
  });
  world_.RunFor(Seconds(1));
  ASSERT_TRUE(server.done);
  EXPECT_TRUE(absl::IsUnavailable(server.status)) << server.status;
  EXPECT_TRUE(absl::IsUnavailable(client_read)) << client_read;
}

TEST_F(SimNetworkTest, APausedProcessStillReceivesIntoItsBuffers) {
  Outcome server;
  SimMachine& server_machine = AddReadingServer(&server);
  Add("client", [](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    co_await env.clock().Sleep(Milliseconds(100));
    EXPECT_TRUE((co_await (*conn)->Write("while paused")).ok());
    (*conn)->Close();
    co_await env.clock().Sleep(Seconds(100));
  });
  world_.RunFor(Milliseconds(50));
  server_machine.Pause();
  world_.RunFor(Seconds(2));
  EXPECT_FALSE(server.done);
  server_machine.Resume();
  const TimePoint resumed = world_.now();
  world_.RunFor(Milliseconds(1));
  ASSERT_TRUE(server.done);
  EXPECT_EQ(server.bytes, "while paused");
  EXPECT_EQ(server.at, resumed) << "the bytes were already buffered";
}

TEST_F(SimNetworkTest, WritingToAPeerThatClosedEndsInReset) {
  Add("server", [](Env& env) -> Task<void> {
    auto listener = env.net().Listen("10.0.0.1:7000");
    auto conn = co_await (*listener)->Accept();
    (*conn)->Close();
    co_await env.clock().Sleep(Seconds(100));
  });
  absl::Status last;
  Add("client", [&last](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:7000");
    EXPECT_TRUE(conn.ok());
    for (int i = 0; i < 100 && last.ok(); i++) {
      last = co_await (*conn)->Write("more");
      co_await env.clock().Sleep(Milliseconds(5));
    }
  });
  world_.RunFor(Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(last)) << last;
}

TEST_F(SimNetworkTest, AddressesNameBothEnds) {
  std::string server_local, server_peer, client_local, client_peer;
  Add("server", [&](Env& env) -> Task<void> {
    auto listener = env.net().Listen("10.0.0.1:0");
    EXPECT_TRUE(listener.ok());
    EXPECT_EQ((*listener)->address(), "10.0.0.1:40000");
    auto conn = co_await (*listener)->Accept();
    server_local = (*conn)->local_address();
    server_peer = (*conn)->peer_address();
    co_await env.clock().Sleep(Seconds(100));
  });
  Add("client", [&](Env& env) -> Task<void> {
    auto conn = co_await env.net().Connect("10.0.0.1:40000");
    EXPECT_TRUE(conn.ok());
    client_local = (*conn)->local_address();
    client_peer = (*conn)->peer_address();
    co_await env.clock().Sleep(Seconds(100));
  });
  world_.RunFor(Seconds(1));
  EXPECT_EQ(server_local, "10.0.0.1:40000");
  EXPECT_EQ(client_peer, "10.0.0.1:40000");
  EXPECT_EQ(server_peer, client_local);
  EXPECT_EQ(client_local.rfind("10.0.0.2:", 0), 0u);
}

}  // namespace
}  // namespace keel::sim
