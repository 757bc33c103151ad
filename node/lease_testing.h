// LeaseTestCluster: the members of one cluster on simulated machines, for
// the lease tests.
//
// Member i runs on machine "s<i>" (host 10.0.0.<i+1>) whose boot coroutine
// starts a whole Node (the Server plus its gRPC services, Lease included),
// with its real storage (WAL, LevelDB through keel's FileSystem) on the
// machine's simulated disk, so a member can be stopped, killed and started
// again on its data. Raft travels through the members' peer transports;
// clients (the tests) run in the process of a machine of their own
// ("client", host 10.0.0.100) and dial the members' client addresses over
// the simulated network, so followers forward to the leader exactly as
// they would over TCP. Every member still running when the cluster is
// destroyed is stopped gracefully.
#ifndef KEEL_NODE_LEASE_TESTING_H_
#define KEEL_NODE_LEASE_TESTING_H_

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "node/lease_service.h"
#include "node/node.h"
#include "node/server.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::node::testing {

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
      : options_(options),
        world_(sim::SimWorldOptions{.seed = options.seed, .buggify = false}) {
    for (int i = 0; i < options_.size; i++) {
      members_.push_back(std::make_unique<MemberSlot>());
      members_[i]->machine = &world_.AddMachine(
          {.name = StrCat("s", i), .host = Host(i), .boot = [this, i](Env& env) {
             return Boot(env, i);
           }});
    }
    client_machine_ = &world_.AddMachine(
        {.name = "client", .host = "10.0.0.100", .boot = [this](Env& env) -> Task<void> {
           client_env_ = &env;
           co_await env.clock().Sleep(Seconds(1'000'000'000));
         }});
    client_machine_->Start();
    world_.RunUntil([&] { return client_env_ != nullptr; }, Seconds(1));
    KEEL_ASSERT(client_env_ != nullptr);
    for (int i = 0; i < options_.size; i++) members_[i]->machine->Start();
    for (int i = 0; i < options_.size; i++) WaitUp(i);
  }
  ~LeaseTestCluster() {
    for (int i = 0; i < options_.size; i++) {
      if (up(i)) Stop(i);
    }
  }
  LeaseTestCluster(const LeaseTestCluster&) = delete;
  LeaseTestCluster& operator=(const LeaseTestCluster&) = delete;

  sim::SimWorld& world() { return world_; }
  // The client's Env: dial members from here.
  Env& env() { return *client_env_; }
  Server& server(int i) { return node(i).server(); }
  LeaseService& service(int i) { return node(i).lease_service(); }
  bool up(int i) const { return members_[i]->node != nullptr; }
  static std::string Host(int i) { return StrCat("10.0.0.", i + 1); }
  static std::string ClientAddress(int i) { return StrCat(Host(i), ":2379"); }

  // Runs `task` in the client's process until it finishes, while virtual
  // time advances (at most `limit`, then the test fails).
  template <typename T>
  T Run(Task<T> task, Duration limit = Seconds(3600)) {
    std::optional<T> result;
    env().Spawn([](Task<T> task, std::optional<T>* out) -> Task<void> {
      out->emplace(co_await std::move(task));
    }(std::move(task), &result));
    world_.RunUntil([&] { return result.has_value(); }, limit);
    KEEL_ASSERT_MSG(result.has_value(), "the task did not finish");
    return std::move(*result);
  }

  ServerConfig Config(int i) const {
    ServerConfig config;
    config.name = StrCat("s", i);
    config.data_dir = config.name + ".keel";
    config.initial_advertise_peer_urls = {PeerUrl(i)};
    config.listen_peer_urls = config.initial_advertise_peer_urls;
    config.advertise_client_urls = {"http://" + ClientAddress(i)};
    config.listen_client_urls = config.advertise_client_urls;
    config.initial_cluster.clear();
    for (int j = 0; j < options_.size; j++) {
      StrAppend(&config.initial_cluster, j > 0 ? "," : "", "s", j, "=", PeerUrl(j));
    }
    config.enable_lease_checkpoint = options_.enable_lease_checkpoint;
    config.lease_checkpoint_interval_ms = options_.lease_checkpoint_interval_ms;
    return config;
  }

  // Boots member i's machine on its disk (a fresh member the first time)
  // and waits until its node serves.
  void Start(int i) {
    ASSERT_FALSE(members_[i]->machine->running());
    members_[i]->machine->Start();
    WaitUp(i);
  }

  // Stops member i gracefully (Node::Stop in its own process: clients
  // first, then the server); its machine's process then exits.
  void Stop(int i) {
    MemberSlot& slot = *members_[i];
    ASSERT_NE(slot.node, nullptr);
    slot.machine->env()->Spawn([](Node* node) -> Task<void> {
      co_await node->Stop(Duration::zero());
    }(slot.node));
    world_.RunUntil([&] { return !slot.machine->running(); }, Seconds(30));
    ASSERT_FALSE(slot.machine->running()) << "member " << i << " did not stop";
    ASSERT_EQ(slot.node, nullptr);
  }

  // Kills member i's process (kill -9; its disk keeps what it wrote).
  void Kill(int i) {
    members_[i]->machine->Kill();
    KEEL_ASSERT(members_[i]->node == nullptr);
  }

  // Cuts member i off from the other members, both ways, without stopping
  // it: raft and forwarding are cut, clients still reach it.
  void Isolate(int i) {
    std::vector<std::string> others;
    for (int j = 0; j < options_.size; j++) {
      if (j != i) others.push_back(Host(j));
    }
    world_.net().Partition({Host(i)}, others);
  }

  // The index of the member every live member agrees is leader, or -1.
  int Leader() {
    int leader = -1;
    for (int i = 0; i < options_.size; i++) {
      if (!up(i)) continue;
      if (server(i).raft().is_leader()) {
        if (leader != -1) return -1;
        leader = i;
      }
    }
    if (leader == -1) return -1;
    for (int i = 0; i < options_.size; i++) {
      if (up(i) && server(i).raft().leader() != server(leader).id()) return -1;
    }
    return leader;
  }
  int WaitLeader(Duration limit = Seconds(30)) {
    world_.RunUntil([&] { return Leader() != -1; }, limit);
    return Leader();
  }
  // Some live member other than the leader.
  int Follower() {
    const int leader = Leader();
    for (int i = 0; i < options_.size; i++) {
      if (up(i) && i != leader) return i;
    }
    return -1;
  }

  // Waits until every live member knows every member's client URLs (each
  // member publishes its own through raft when it starts, as etcd does), so
  // followers can reach the leader.
  void WaitClientUrlsPublished() {
    const bool published = world_.RunUntil(
        [&] {
          for (int i = 0; i < options_.size; i++) {
            if (!up(i)) continue;
            const auto& members = server(i).key_space().members().members();
            if (members.size() != static_cast<size_t>(options_.size)) return false;
            for (const auto& [id, member] : members) {
              if (member.client_urls.empty()) return false;
            }
          }
          return true;
        },
        Seconds(30));
    ASSERT_TRUE(published) << "members did not publish their client URLs";
  }

 private:
  struct MemberSlot {
    sim::SimMachine* machine = nullptr;
    // The live incarnation's node; null while the machine is down.
    Node* node = nullptr;
  };
  // Clears the slot when the boot frame ends (return or kill).
  class NodeHandle {
   public:
    explicit NodeHandle(MemberSlot* slot) : slot_(slot) {}
    ~NodeHandle() { slot_->node = nullptr; }
    NodeHandle(const NodeHandle&) = delete;
    NodeHandle& operator=(const NodeHandle&) = delete;

   private:
    MemberSlot* slot_;
  };

  static std::string PeerUrl(int i) { return StrCat("http://", Host(i), ":2380"); }

  Node& node(int i) {
    KEEL_ASSERT_MSG(members_[i]->node != nullptr, "the member is down");
    return *members_[i]->node;
  }

  // Member i's main(): the node lives as long as this frame, which ends
  // when the server has stopped (or the process is killed).
  Task<void> Boot(Env& env, int i) {
    MemberSlot* slot = members_[i].get();
    NodeOptions options;
    options.storage.leveldb_background = store::LevelDbBackground::kQueue;
    options.storage.leveldb_write_buffer_bytes = 64 << 10;
    // A named local, not a temporary: GCC 12 mishandles aggregate
    // temporaries holding strings across a co_await.
    ServerConfig config = Config(i);
    auto node = co_await Node::Start(env, std::move(config), std::move(options));
    EXPECT_TRUE(node.ok()) << "member " << i << ": " << node.status();
    if (!node.ok()) co_return;
    NodeHandle handle(slot);
    slot->node = node->get();
    co_await (*node)->server().stopped().Wait();
  }

  void WaitUp(int i) {
    world_.RunUntil([&] { return up(i); }, Seconds(10));
    ASSERT_TRUE(up(i)) << "member " << i << " did not start";
  }

  LeaseClusterOptions options_;
  sim::SimWorld world_;
  std::vector<std::unique_ptr<MemberSlot>> members_;
  sim::SimMachine* client_machine_ = nullptr;
  Env* client_env_ = nullptr;
};

}  // namespace keel::node::testing

#endif  // KEEL_NODE_LEASE_TESTING_H_
