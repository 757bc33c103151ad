// SimMembers: member slots, the member coroutine, and the leader queries.
#include "node/testing/sim_members.h"

#include "runtime/strings.h"

namespace keel::node::testing {
namespace {

// Virtual time a member has to open and start, and to stop.
constexpr Duration kStartLimit = Seconds(10);
constexpr Duration kStopLimit = Seconds(30);
// Virtual time a rebooted machine has to run its first step.
constexpr Duration kBootLimit = Seconds(1);
// Longer than any test: "until the process goes".
constexpr Duration kForever = Seconds(1'000'000'000);

// A machine's main(): it records its Env, then idles until killed.
Task<void> Idle(Env& env, Env** out) {
  *out = &env;
  co_await env.clock().Sleep(kForever);
}

}  // namespace

std::string MemberName(int i) { return StrCat("m", i + 1); }
std::string MemberHost(int i) { return StrCat("10.0.0.", i + 1); }
std::string MemberClientAddress(int i) { return StrCat(MemberHost(i), ":2379"); }
std::string MemberPeerUrl(int i) { return StrCat("http://", MemberHost(i), ":2380"); }

ServerConfig MemberConfig(int i, int n) {
  KEEL_ASSERT(0 <= i);
  KEEL_ASSERT(i < n);
  ServerConfig config;
  config.name = MemberName(i);
  config.data_dir = config.name + ".keel";
  config.initial_advertise_peer_urls = {MemberPeerUrl(i)};
  config.listen_peer_urls = config.initial_advertise_peer_urls;
  config.advertise_client_urls = {"http://" + MemberClientAddress(i)};
  config.listen_client_urls = config.advertise_client_urls;
  config.initial_cluster.clear();
  for (int j = 0; j < n; j++) {
    StrAppend(&config.initial_cluster, j > 0 ? "," : "", MemberName(j), "=", MemberPeerUrl(j));
  }
  return config;
}

StorageOptions TestStorage() {
  StorageOptions storage;
  storage.leveldb_background = store::LevelDbBackground::kQueue;
  storage.leveldb_write_buffer_bytes = 64 << 10;
  return storage;
}

struct SimMembers::Slot {
  sim::SimMachine* machine = nullptr;
  // The live incarnation's Env; null while the machine boots.
  Env* env = nullptr;
  ServerConfig config;
  // Set by the member's coroutine when it has started or failed to.
  std::optional<absl::Status> started;
  // The member in the machine's process; null when there is none.
  Server* server = nullptr;
  Node* node = nullptr;
};

// Clears the slot when the member's frame goes (its process was killed).
// Declared after the member, so it runs while the member still exists.
class SimMembers::MemberHandle {
 public:
  MemberHandle(Slot& slot, Server* server, Node* node) : slot_(slot) {
    slot_.server = server;
    slot_.node = node;
  }
  ~MemberHandle() {
    slot_.server = nullptr;
    slot_.node = nullptr;
  }
  MemberHandle(const MemberHandle&) = delete;
  MemberHandle& operator=(const MemberHandle&) = delete;

 private:
  Slot& slot_;
};

SimMembers::SimMembers(SimMembersOptions options)
    : options_(std::move(options)), world_(options_.world) {
  KEEL_ASSERT(options_.size >= 1);
  KEEL_ASSERT(options_.spares >= 0);
  for (int i = 0; i < slots(); i++) {
    slots_.push_back(std::make_unique<Slot>());
    Slot& s = *slots_.back();
    s.config = MemberConfig(i, i < options_.size ? options_.size : slots());
    s.machine = &world_.AddMachine({.name = MemberName(i),
                                    .host = MemberHost(i),
                                    .boot = [&s](Env& env) { return Idle(env, &s.env); }});
  }
  sim::SimMachine& client = world_.AddMachine(
      {.name = "client", .host = kClientHost, .boot = [this](Env& env) {
         return Idle(env, &client_env_);
       }});
  for (auto& s : slots_) Boot(*s->machine, &s->env);
  Boot(client, &client_env_);
}

SimMembers::~SimMembers() = default;

SimMembers::Slot& SimMembers::slot(int i) {
  KEEL_ASSERT(0 <= i);
  KEEL_ASSERT(i < slots());
  return *slots_[static_cast<size_t>(i)];
}
const SimMembers::Slot& SimMembers::slot(int i) const {
  KEEL_ASSERT(0 <= i);
  KEEL_ASSERT(i < slots());
  return *slots_[static_cast<size_t>(i)];
}

sim::SimMachine& SimMembers::machine(int i) { return *slot(i).machine; }
ServerConfig& SimMembers::config(int i) { return slot(i).config; }

Env& SimMembers::env(int i) {
  Slot& s = slot(i);
  KEEL_ASSERT(s.machine->running());
  KEEL_ASSERT(s.env != nullptr);
  return *s.env;
}

Env& SimMembers::client_env() {
  KEEL_ASSERT(client_env_ != nullptr);
  return *client_env_;
}

bool SimMembers::up(int i) const {
  const Slot& s = slot(i);
  return s.server != nullptr && !s.server->stopped().is_set();
}

Server& SimMembers::server(int i) {
  KEEL_ASSERT_MSG(up(i), "the member is not running");
  return *slot(i).server;
}

Node& SimMembers::node(int i) {
  KEEL_ASSERT_MSG(options_.kind == MemberKind::kNode, "the members are bare Servers");
  KEEL_ASSERT_MSG(up(i), "the member is not running");
  return *slot(i).node;
}

void SimMembers::Boot(sim::SimMachine& machine, Env** env) {
  *env = nullptr;
  machine.Start();
  world_.RunUntil([&] { return *env != nullptr; }, kBootLimit);
  KEEL_ASSERT_MSG(*env != nullptr, "the machine did not boot");
}

void SimMembers::Reboot(int i, bool crash) {
  Slot& s = slot(i);
  if (crash) {
    s.machine->Crash();
  } else {
    s.machine->Kill();
  }
  KEEL_ASSERT(s.server == nullptr);
  s.started.reset();
  Boot(*s.machine, &s.env);
}

void SimMembers::Kill(int i) { Reboot(i, /*crash=*/false); }
void SimMembers::Crash(int i) { Reboot(i, /*crash=*/true); }

Task<void> SimMembers::RunMember(Env& env, int i) {
  Slot& s = slot(i);
  // A named copy, not a temporary: GCC 12 mishandles aggregate temporaries
  // holding strings across a co_await.
  ServerConfig config = s.config;
  std::unique_ptr<Node> node;
  std::unique_ptr<Server> server;
  if (options_.kind == MemberKind::kNode) {
    NodeOptions options;
    options.storage = TestStorage();
    auto started = co_await Node::Start(env, std::move(config), std::move(options));
    if (!started.ok()) {
      s.started = started.status();
      co_return;
    }
    node = std::move(*started);
  } else {
    auto opened = co_await Server::Open(env, std::move(config), TestStorage());
    if (!opened.ok()) {
      s.started = opened.status();
      co_return;
    }
    server = std::move(*opened);
    if (absl::Status started = server->Start(); !started.ok()) {
      s.started = started;
      co_return;
    }
  }
  MemberHandle handle(s, node != nullptr ? &node->server() : server.get(), node.get());
  s.started = absl::OkStatus();
  // The member lives until its process goes; stopped, it stays readable.
  co_await env.clock().Sleep(kForever);
}

void SimMembers::Spawn(int i) {
  Slot& s = slot(i);
  KEEL_ASSERT_MSG(s.server == nullptr, "the member is in its process: Kill or Stop it first");
  s.started.reset();
  env(i).Spawn(RunMember(env(i), i));
}

absl::Status SimMembers::WaitStarted(int i) {
  Slot& s = slot(i);
  world_.RunUntil([&] { return s.started.has_value(); }, kStartLimit);
  if (!s.started.has_value()) {
    return absl::DeadlineExceededError(StrCat(MemberName(i), " did not start"));
  }
  return *s.started;
}

absl::Status SimMembers::Start(int i) {
  Spawn(i);
  return WaitStarted(i);
}

absl::Status SimMembers::StartAll() {
  for (int i = 0; i < options_.size; i++) Spawn(i);
  absl::Status first;
  for (int i = 0; i < options_.size; i++) first.Update(WaitStarted(i));
  return first;
}

absl::Status SimMembers::Stop(int i) {
  KEEL_ASSERT_MSG(up(i), "the member is not running");
  Slot& s = slot(i);
  bool stopped = false;
  env(i).Spawn([](Server* server, Node* node, bool* stopped) -> Task<void> {
    if (node != nullptr) {
      co_await node->Stop(Duration::zero());
    } else {
      co_await server->Stop();
    }
    *stopped = true;
  }(s.server, s.node, &stopped));
  world_.RunUntil([&] { return stopped; }, kStopLimit);
  // The process exits after its member stops, as tools/keel's does (and
  // with it the stop, if it hung).
  Reboot(i, /*crash=*/false);
  if (!stopped) return absl::DeadlineExceededError(StrCat(MemberName(i), " did not stop"));
  return absl::OkStatus();
}

absl::Status SimMembers::StopAll() {
  absl::Status first;
  for (int i = 0; i < slots(); i++) {
    if (up(i)) first.Update(Stop(i));
  }
  return first;
}

void SimMembers::Isolate(int i) {
  std::vector<std::string> others;
  for (int j = 0; j < slots(); j++) {
    if (j != i) others.push_back(MemberHost(j));
  }
  world_.net().Partition({MemberHost(i)}, others);
}

int SimMembers::Leader() {
  int leader = -1;
  for (int i = 0; i < slots(); i++) {
    if (!up(i) || !server(i).raft().is_leader()) continue;
    if (leader != -1) return -1;
    leader = i;
  }
  if (leader == -1) return -1;
  const uint64_t id = server(leader).id();
  for (int i = 0; i < slots(); i++) {
    if (up(i) && server(i).raft().leader() != id) return -1;
  }
  return leader;
}

int SimMembers::WaitLeader(Duration limit) {
  world_.RunUntil([&] { return Leader() != -1; }, limit);
  return Leader();
}

int SimMembers::Follower() {
  const int leader = Leader();
  for (int i = 0; i < slots(); i++) {
    if (up(i) && i != leader) return i;
  }
  return -1;
}

bool SimMembers::WaitPublished(Duration limit) {
  return world_.RunUntil(
      [&] {
        for (int i = 0; i < slots(); i++) {
          if (!up(i)) continue;
          const auto& members = server(i).key_space().members().members();
          for (const auto& [id, member] : members) {
            if (member.client_urls.empty()) return false;
          }
          for (int j = 0; j < slots(); j++) {
            if (up(j) && members.count(server(j).id()) == 0) return false;
          }
        }
        return true;
      },
      limit);
}

bool SimMembers::LogHas(int i, std::string_view text) {
  // Lines read "[   1.234567s] m1#2 ...": the source follows the stamp.
  const std::string source = MemberName(i) + "#";
  for (const std::string& line : world_.log().Tail(world_.options().log_capacity_lines)) {
    const size_t stamp_end = line.find("] ");
    if (stamp_end == std::string::npos) continue;
    if (line.compare(stamp_end + 2, source.size(), source) != 0) continue;
    if (line.find(text, stamp_end + 2 + source.size()) != std::string::npos) return true;
  }
  return false;
}

}  // namespace keel::node::testing
