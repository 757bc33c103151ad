// LeaseTestCluster: members of one cluster in a single simulated process,
// for the lease tests.
//
// Each member is a Server with LevelDB in memory and a raft log in a
// raft::MemoryStorage the cluster keeps, so a member can be stopped and
// reopened on the same data. Raft messages travel through LoopbackTransport
// (delivered to the peer's inbox at once; a member taken down neither sends
// nor receives). Each member serves gRPC with the Lease service on its own
// client address (10.0.0.1:2379, :12379, ...), so followers forward to the
// leader over the simulated network exactly as they would over TCP.
#ifndef KEEL_NODE_LEASE_TESTING_H_
#define KEEL_NODE_LEASE_TESTING_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/server.h"
#include "node/lease_service.h"
#include "node/raft_transport.h"
#include "node/server.h"
#include "raft/storage.h"
#include "sim/sim_testing.h"

namespace keel::node::testing {

// A LogStore over a MemoryStorage that outlives the member.
class SharedLogStore final : public LogStore {
 public:
  explicit SharedLogStore(raft::MemoryStorage& storage) : storage_(storage) {}
  raft::Storage& storage() override { return storage_; }
  Task<absl::Status> Save(const raft::Ready& ready) override {
    if (ready.snapshot.has_value()) {
      absl::Status status = storage_.ApplySnapshot(*ready.snapshot);
      if (!status.ok()) co_return status;
    }
    if (!ready.entries.empty()) {
      absl::Status status = storage_.Append(ready.entries);
      if (!status.ok()) co_return status;
    }
    if (ready.hard_state.has_value()) storage_.SetHardState(*ready.hard_state);
    co_return absl::OkStatus();
  }
  Task<absl::Status> Compact(uint64_t index, raft::ConfState conf_state) override {
    auto snapshot = storage_.CreateSnapshot(index, &conf_state, "");
    if (!snapshot.ok()) co_return snapshot.status();
    co_return storage_.Compact(index);
  }

 private:
  raft::MemoryStorage& storage_;
};

class LoopbackTransport final : public RaftTransport {
 public:
  explicit LoopbackTransport(std::vector<Server*>* servers, std::set<uint64_t>* down)
      : servers_(servers), down_(down) {}
  void Send(std::vector<raft::Message> messages) override {
    for (raft::Message& message : messages) {
      if (down_->contains(message.from()) || down_->contains(message.to())) continue;
      for (Server* server : *servers_) {
        if (server != nullptr && server->id() == message.to()) {
          server->ReceiveMessage(std::move(message));
          break;
        }
      }
    }
  }
  void AddPeer(uint64_t, const std::vector<std::string>&) override {}
  void UpdatePeer(uint64_t, const std::vector<std::string>&) override {}
  void RemovePeer(uint64_t) override {}
  bool IsActive(uint64_t id) const override { return !down_->contains(id); }

 private:
  std::vector<Server*>* servers_;
  std::set<uint64_t>* down_;
};

struct LeaseClusterOptions {
  LeaseClusterOptions() {}
  int size = 3;
  bool enable_lease_checkpoint = false;
  int64_t lease_checkpoint_interval_ms = 5 * 60 * 1000;
  uint64_t seed = 1;
};

class LeaseTestCluster {
 public:
  explicit LeaseTestCluster(LeaseClusterOptions options)
      : options_(options), h_(sim::SimWorldOptions{.seed = options.seed, .buggify = false}) {
    for (int i = 0; i < options_.size; i++) {
      members_.push_back(std::make_unique<MemberSlot>());
      servers_.push_back(nullptr);
    }
    for (int i = 0; i < options_.size; i++) Start(i);
  }
  ~LeaseTestCluster() {
    for (int i = 0; i < options_.size; i++) {
      if (members_[i]->server != nullptr) Stop(i);
    }
  }

  sim::SimHarness& h() { return h_; }
  Env& env() { return h_.env(); }
  Server& server(int i) { return *members_[i]->server; }
  LeaseService& service(int i) { return *members_[i]->service; }
  bool up(int i) const { return members_[i]->server != nullptr; }
  static std::string ClientAddress(int i) {
    return "10.0.0.1:" + std::to_string(2379 + 10000 * i);
  }

  ServerConfig Config(int i) const {
    ServerConfig config;
    config.name = "s" + std::to_string(i);
    config.data_dir = config.name + ".keel";
    config.initial_advertise_peer_urls = {PeerUrl(i)};
    config.advertise_client_urls = {"http://" + ClientAddress(i)};
    config.listen_client_urls = config.advertise_client_urls;
    config.listen_peer_urls = config.initial_advertise_peer_urls;
    config.initial_cluster.clear();
    for (int j = 0; j < options_.size; j++) {
      if (j > 0) config.initial_cluster += ",";
      config.initial_cluster += "s" + std::to_string(j) + "=" + PeerUrl(j);
    }
    config.enable_lease_checkpoint = options_.enable_lease_checkpoint;
    config.lease_checkpoint_interval_ms = options_.lease_checkpoint_interval_ms;
    return config;
  }

  // Opens member i on its data (a fresh member the first time) and starts
  // it and its gRPC server.
  void Start(int i) {
    MemberSlot& slot = *members_[i];
    ASSERT_EQ(slot.server, nullptr);
    StorageOptions storage;
    storage.leveldb_env = slot.leveldb_env.get();
    auto opened = Server::Open(h_.env(), Config(i), storage,
                               std::make_unique<SharedLogStore>(slot.log));
    ASSERT_TRUE(opened.ok()) << opened.status();
    slot.server = std::move(*opened);
    servers_[i] = slot.server.get();
    down_.erase(slot.server->id());
    slot.server->SetTransport(&transport_);
    absl::Status started = h_.Run([](LeaseTestCluster* c, int i) -> Task<absl::Status> {
      MemberSlot& slot = *c->members_[i];
      slot.grpc = std::make_unique<net::GrpcServer>();
      slot.http = std::make_unique<net::HttpRouter>();
      slot.service = std::make_unique<LeaseService>(*slot.server);
      RegisterLeaseService(*slot.grpc, *slot.service);
      net::ServerOptions options;
      options.http2.keepalive_interval = Duration::zero();
      slot.net = std::make_unique<net::Server>(c->env().clock(), *slot.grpc, *slot.http,
                                               options);
      auto listener = c->env().net().Listen(ClientAddress(i));
      if (!listener.ok()) co_return listener.status();
      slot.net->Start(std::move(*listener));
      slot.server->Start();
      co_return absl::OkStatus();
    }(this, i));
    ASSERT_TRUE(started.ok()) << started;
  }

  // Takes member i down: cut off from raft first (as a crash would), then
  // stopped, its gRPC server and its service destroyed.
  void Stop(int i) {
    MemberSlot& slot = *members_[i];
    down_.insert(slot.server->id());
    absl::Status stopped = h_.Run([](MemberSlot* slot) -> Task<absl::Status> {
      slot->net.reset();
      slot->service.reset();
      co_await slot->server->Stop();
      co_return absl::OkStatus();
    }(&slot));
    EXPECT_TRUE(stopped.ok()) << stopped;
    servers_[i] = nullptr;
    slot.server.reset();
    slot.grpc.reset();
    slot.http.reset();
  }

  // Cuts member i off from raft without stopping it (its gRPC server still
  // answers clients).
  void Isolate(int i) { down_.insert(members_[i]->server->id()); }

  // The index of the member every live member agrees is leader, or -1.
  int Leader() const {
    int leader = -1;
    for (int i = 0; i < options_.size; i++) {
      if (!up(i)) continue;
      if (members_[i]->server->is_leader()) {
        if (leader != -1) return -1;
        leader = i;
      }
    }
    if (leader == -1) return -1;
    for (int i = 0; i < options_.size; i++) {
      if (up(i) && members_[i]->server->leader() != members_[leader]->server->id()) {
        return -1;
      }
    }
    return leader;
  }
  int WaitLeader(Duration limit = Seconds(30)) {
    h_.world().RunUntil([&] { return Leader() != -1; }, limit);
    return Leader();
  }
  // Some live member other than the leader.
  int Follower() const {
    const int leader = Leader();
    for (int i = 0; i < options_.size; i++) {
      if (up(i) && i != leader) return i;
    }
    return -1;
  }

  // Publishes every member's client URLs through raft (what a member does
  // when it starts in etcd), so followers can reach the leader.
  void PublishClientUrls() {
    const int leader = WaitLeader();
    ASSERT_NE(leader, -1);
    for (int i = 0; i < options_.size; i++) {
      internal::InternalRaftRequest request;
      auto* attributes = request.mutable_member_attributes();
      attributes->set_member_id(ServerIdOf(i));
      attributes->set_name("s" + std::to_string(i));
      attributes->add_client_urls("http://" + ClientAddress(i));
      ApplyResult result = h_.Run(server(leader).Propose(request));
      ASSERT_TRUE(result.status.ok()) << result.status;
    }
    // Every member has applied them.
    const uint64_t index = server(leader).applied_index();
    h_.world().RunUntil(
        [&] {
          for (int i = 0; i < options_.size; i++) {
            if (up(i) && server(i).applied_index() < index) return false;
          }
          return true;
        },
        Seconds(10));
  }

  uint64_t ServerIdOf(int i) const {
    for (const auto& slot : members_) {
      if (slot->server == nullptr) continue;
      for (const auto& [id, member] : slot->server->members().members()) {
        if (member.name == "s" + std::to_string(i)) return id;
      }
    }
    return 0;
  }

 private:
  struct MemberSlot {
    MemberSlot() : leveldb_env(leveldb::NewMemEnv(leveldb::Env::Default())) {}
    std::unique_ptr<leveldb::Env> leveldb_env;
    raft::MemoryStorage log;
    std::unique_ptr<Server> server;
    std::unique_ptr<net::GrpcServer> grpc;
    std::unique_ptr<net::HttpRouter> http;
    std::unique_ptr<LeaseService> service;
    std::unique_ptr<net::Server> net;
  };

  static std::string PeerUrl(int i) { return "http://10.0.0.1:" + std::to_string(2380 + i); }

  LeaseClusterOptions options_;
  sim::SimHarness h_;
  std::vector<std::unique_ptr<MemberSlot>> members_;
  std::vector<Server*> servers_;
  std::set<uint64_t> down_;
  LoopbackTransport transport_{&servers_, &down_};
};

}  // namespace keel::node::testing

#endif  // KEEL_NODE_LEASE_TESTING_H_
