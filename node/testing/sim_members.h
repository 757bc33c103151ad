// SimMembers: keel members on simulated machines, for the tests of node/,
// client/, tools/ and fuzz/ that need a real member (or a few) to talk to.
//
// Member i (from 0) runs on machine "m<i+1>", host 10.0.0.<i+1>, with the
// configuration MemberConfig(i, size) (tests may change config(i) before
// each start) and its real storage (WAL, LevelDB through keel's
// FileSystem) on the machine's simulated disk. The machine's process is
// up from the start and idles; Start(i) opens the member inside it, as a
// coroutine of that process, so killing the process destroys the member
// and a test can still run tools on the machine's disk (RunOn) while the
// member is down. A member is either a bare Server (opened and started:
// tests call its front-ends directly) or a whole Node (the Server plus
// its gRPC services and listeners on the member's client URL). Clients
// run in the process of a machine of their own ("client", kClientHost),
// and dial the members over the simulated network.
//
//   SimMembers c({.size = 3});
//   ASSERT_TRUE(c.StartAll().ok());
//   const int leader = c.WaitLeader();
//   auto put = c.Run(c.server(leader).kv().Put(request));
//   c.Kill(leader);
//
// Nothing here reports through gtest: failures are Status values, misuse
// is a KEEL_ASSERT, so fuzz targets use the fixture too.
//
// keel's test-support convention (net/testing/ is the model):
//   - Test support lives in a `testing/` folder inside the folder whose
//     code it serves (net/testing/, node/testing/), one class or topic per
//     file, named after it (pipe_connection.h, sim_members.h), in the
//     namespace keel::<folder>::testing.
//   - Each folder's test support is one library, keel_<folder>_testing,
//     declared in that folder's CMakeLists.txt next to the tests that use
//     it; a test or fuzz target links it, production targets never do.
//   - It may include what its folder may include (ci/deps.txt) plus sim/
//     and other folders' testing/: ci/lint-deps counts */testing/* as test
//     code, which only test code and the folders whose rule names
//     `testing` (fuzz) may include.
//   - It states its contract in its header like any other code, and is
//     itself exercised by the tests that use it.
#ifndef KEEL_NODE_TESTING_SIM_MEMBERS_H_
#define KEEL_NODE_TESTING_SIM_MEMBERS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "node/node.h"
#include "node/server.h"
#include "runtime/assert.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::node::testing {

// The clients' machine; no member listens on it.
inline constexpr char kClientHost[] = "10.0.0.100";

std::string MemberName(int i);           // "m1" for member 0
std::string MemberHost(int i);           // "10.0.0.1"
std::string MemberClientAddress(int i);  // "10.0.0.1:2379"
std::string MemberPeerUrl(int i);        // "http://10.0.0.1:2380"

// Member i of a cluster of n, as tools/keel would be started for it: its
// name, data dir "<name>.keel", peer and client URLs on its host, and an
// --initial-cluster naming all n members.
ServerConfig MemberConfig(int i, int n);

// Storage for simulated tests: LevelDB's background work on the loop and a
// small memtable, so flushes and compactions happen within a test.
StorageOptions TestStorage();

enum class MemberKind {
  kServer,  // Server::Open and Start: no services, no client listener
  kNode,    // Node::Start: services and listeners, as tools/keel runs
};

struct SimMembersOptions {
  // Members of the initial cluster: 0 .. size-1, started by StartAll.
  int size = 1;
  // Machines for members added at runtime: size .. size+spares-1, each
  // configured as MemberConfig(i, size + spares); a test sets its config
  // (--initial-cluster-state existing, the --initial-cluster MemberAdd
  // gave) and starts it with Start(i).
  int spares = 0;
  MemberKind kind = MemberKind::kServer;
  sim::SimWorldOptions world;
};

class SimMembers {
 public:
  // Adds and starts the member machines (their processes idle: no member
  // runs until Start) and the client machine.
  explicit SimMembers(SimMembersOptions options = {});
  // Destroys the world, killing every process: tests that want a graceful
  // stop call StopAll() first.
  ~SimMembers();
  SimMembers(const SimMembers&) = delete;
  SimMembers& operator=(const SimMembers&) = delete;

  sim::SimWorld& world() { return world_; }
  int size() const { return options_.size; }
  // Every member slot, spares included.
  int slots() const { return options_.size + options_.spares; }
  sim::SimMachine& machine(int i);
  // Member i's machine's process (alive whether or not the member runs).
  Env& env(int i);
  // The client machine's process.
  Env& client_env();

  // What member i opens with on its next Start.
  ServerConfig& config(int i);

  // Whether member i runs: started, and its server not stopped.
  bool up(int i) const;
  // The running member's parts; it must be up(i).
  Server& server(int i);
  Node& node(int i);  // MemberKind::kNode only

  // Opens member i in its machine's process and waits until it has
  // started (Node::Start returned, or Server::Open and Start): OK, or why
  // it did not start (the member is then left down; the machine idles).
  // Member i must not be in its process (never started, or killed or
  // stopped since). Suspends nothing of the caller; runs the world.
  absl::Status Start(int i);
  // Starts every member at once, then waits for each: the first error.
  absl::Status StartAll();
  // Graceful stop of a running member (Node::Stop with no grace for client
  // connections, or Server::Stop), after which its process exits (the
  // machine boots again, idle). DeadlineExceeded if it did not stop in
  // 30 s of virtual time.
  absl::Status Stop(int i);
  // Stops every running member; the first error.
  absl::Status StopAll();
  // kill -9 of member i's process (its disk keeps what it wrote, synced
  // or not); the machine boots again, idle.
  void Kill(int i);
  // Power loss: Kill, and the disk loses what was not synced.
  void Crash(int i);

  // Cuts member i off from the other members, both ways, without stopping
  // it: raft and forwarding are cut, clients still reach it.
  void Isolate(int i);

  // The member every running member follows as leader, or -1.
  int Leader();
  // Runs the world until Leader() is a member or `limit` passes.
  int WaitLeader(Duration limit = Seconds(30));
  // A running member other than the leader (any running member if none
  // leads), or -1.
  int Follower();
  // Runs the world until every running member knows every member's client
  // URLs (each publishes its own through raft on start, as etcd's does),
  // so followers reach the leader, and lists every running member; false if
  // `limit` passed first.
  bool WaitPublished(Duration limit = Seconds(30));

  // Runs `task` as a root of the client's process (Run) or of member i's
  // machine's process (RunOn) until it finishes, while virtual time
  // advances, and returns its result. Asserts that it finishes within
  // `limit`.
  template <typename T>
  T Run(Task<T> task, Duration limit = kRunLimit) {
    return RunIn(client_env(), std::move(task), limit);
  }
  template <typename T>
  T RunOn(int i, Task<T> task, Duration limit = kRunLimit) {
    return RunIn(env(i), std::move(task), limit);
  }

  // Whether a kept log line of member i's machine (any incarnation)
  // contains `text`.
  bool LogHas(int i, std::string_view text);

 private:
  static constexpr Duration kRunLimit = Seconds(3600);
  struct Slot;
  class MemberHandle;

  Slot& slot(int i);
  const Slot& slot(int i) const;
  // The member's coroutine: opens it, then keeps it until the process goes.
  Task<void> RunMember(Env& env, int i);
  void Spawn(int i);
  absl::Status WaitStarted(int i);
  // Starts `machine`, whose boot is Idle(env), and waits for its Env.
  void Boot(sim::SimMachine& machine, Env** env);
  // Kills (or crashes) member i's process and boots the machine again.
  void Reboot(int i, bool crash);

  template <typename T>
  T RunIn(Env& env, Task<T> task, Duration limit) {
    std::optional<T> result;
    env.Spawn([](Task<T> task, std::optional<T>* out) -> Task<void> {
      out->emplace(co_await std::move(task));
    }(std::move(task), &result));
    world_.RunUntil([&] { return result.has_value(); }, limit);
    KEEL_ASSERT_MSG(result.has_value(), "the task did not finish");
    return std::move(*result);
  }

  const SimMembersOptions options_;
  // Declared before the world, whose processes' frames point into them.
  std::vector<std::unique_ptr<Slot>> slots_;
  Env* client_env_ = nullptr;
  sim::SimWorld world_;
};

}  // namespace keel::node::testing

#endif  // KEEL_NODE_TESTING_SIM_MEMBERS_H_
