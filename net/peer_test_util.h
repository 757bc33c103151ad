// PeerCluster: members of a simulated cluster that run only a PeerTransport,
// for the transport's tests.
//
// Member `id` is machine "n<id>" at 10.0.0.<id>, listening on port 2380
// (or the port the test sets). Its boot function builds a transport with the
// test's options, starts it, adds the peers the test chose (by default every
// other member), and idles; whatever the callbacks report lands in the
// member's Inbox, which outlives incarnations. Do() runs a function inside a
// member's process, as the server would call the transport.
#ifndef KEEL_NET_PEER_TEST_UTIL_H_
#define KEEL_NET_PEER_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/peer_transport.h"
#include "proto/raft.pb.h"
#include "runtime/env.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::net::testing {

inline constexpr uint64_t kClusterId = 0xc1u;

// What one member's transport reported, with the virtual time of each.
struct Inbox {
  std::vector<raftpb::Message> messages;
  std::vector<TimePoint> message_times;
  std::vector<ReceivedSnapshot> snapshots;
  std::vector<uint64_t> unreachable;
  std::vector<std::pair<uint64_t, bool>> snapshot_status;
  std::vector<TimePoint> snapshot_status_times;
  std::vector<uint64_t> removed;
  // What on_snapshot returns.
  absl::Status snapshot_verdict = absl::OkStatus();

  // Messages received from `from`, in order.
  std::vector<raftpb::Message> From(uint64_t from) const;
};

struct MemberConfig {
  uint64_t cluster_id = kClusterId;
  uint16_t port = 2380;
  // Peers added at boot: every other member unless Only() chose some.
  bool all_peers = true;
  std::vector<uint64_t> peers;
  void Only(std::vector<uint64_t> ids) {
    all_peers = false;
    peers = std::move(ids);
  }
  std::function<void(PeerTransportOptions&)> tweak;
  // Set the open_snapshot callback.
  std::function<absl::StatusOr<std::unique_ptr<SnapshotSource>>(
      const raftpb::Message&)>
      open_snapshot;
};

class PeerCluster {
 public:
  explicit PeerCluster(uint64_t seed);
  PeerCluster(const PeerCluster&) = delete;
  PeerCluster& operator=(const PeerCluster&) = delete;
  // Kills every member first: their frames point into members_.
  ~PeerCluster();

  sim::SimWorld& world() { return world_; }

  // Adds member `id` (1..250), not started.
  void Add(uint64_t id, MemberConfig config = MemberConfig());
  MemberConfig& config(uint64_t id) { return members_.at(id)->config; }
  // Starts member `id` and runs until its transport is up.
  void Start(uint64_t id);
  void StartAll();
  sim::SimMachine& machine(uint64_t id) { return *members_.at(id)->machine; }

  // The live transport of `id` (asserts it is running).
  PeerTransport& transport(uint64_t id);
  Env& env(uint64_t id);
  Inbox& inbox(uint64_t id) { return members_.at(id)->inbox; }

  // Runs `fn` inside member `id`'s process, now.
  void Do(uint64_t id, std::function<void(PeerTransport&)> fn);
  // Sends `messages` from member `id` (inside its process).
  void Send(uint64_t id, std::vector<raftpb::Message> messages);

  // "10.0.0.<id>:<port>".
  std::string Address(uint64_t id) const;
  static std::string Host(uint64_t id);

  // Runs until `done` or `limit` passes; true if done.
  bool RunUntil(std::function<bool()> done, Duration limit);
  void RunFor(Duration duration) { world_.RunFor(duration); }

  // Whether a kept log line of member `id` (any incarnation) contains all
  // of `parts`.
  bool Logged(uint64_t id, std::vector<std::string_view> parts);

 private:
  struct Member {
    uint64_t id = 0;
    MemberConfig config;
    sim::SimMachine* machine = nullptr;
    Inbox inbox;
    PeerTransport* transport = nullptr;
    Env* env = nullptr;
  };

  Task<void> Boot(Member* member, Env& env);

  sim::SimWorld world_;
  std::map<uint64_t, std::unique_ptr<Member>> members_;
};

// A message `from` -> `to` whose index carries `sequence` and whose entries
// carry `payload_bytes` of data.
raftpb::Message MakeMessage(uint64_t from, uint64_t to, uint64_t sequence,
                            size_t payload_bytes = 0,
                            raftpb::MessageType type = raftpb::MsgApp);

// Deterministic pseudo-random bytes: byte i of stream `seed`.
std::string PatternBytes(uint64_t seed, uint64_t offset, size_t n);

// A SnapshotSource that generates `size` bytes of PatternBytes(seed, ...)
// chunk by chunk, counting the calls and the largest request.
class PatternSnapshotSource : public SnapshotSource {
 public:
  struct Counters {
    int reads = 0;
    size_t max_request = 0;
  };
  PatternSnapshotSource(uint64_t seed, uint64_t size, Counters* counters)
      : seed_(seed), size_(size), counters_(counters) {}
  uint64_t size_bytes() const override { return size_; }
  Task<absl::StatusOr<std::string>> ReadChunk(size_t max_bytes) override;

 private:
  uint64_t seed_;
  uint64_t size_;
  uint64_t offset_ = 0;
  Counters* counters_;
};

}  // namespace keel::net::testing

#endif  // KEEL_NET_PEER_TEST_UTIL_H_
