// SimNetwork: TCP-like streams between simulated hosts, in virtual time.
//
// Every simulated machine has a host address ("10.0.0.3"); a process sees the
// network through a view (NewView) that implements keel's Network for its
// host. Connections are streams: bytes arrive in order within a connection,
// Close() delivers what was written and then end of stream, a reset fails
// both sides with Unavailable.
//
// What a byte goes through, from Write to the peer's Read: the sender's link
// to the receiver serialises it at the link's bandwidth, then it travels for
// a latency drawn from the link's distribution (a few hundred microseconds
// with a tail, by default); a lost segment costs a retransmission delay, as
// a stream hides loss. Arrivals never overtake earlier ones on the same
// connection.
//
// Faults, all driven by the harness or the nemesis:
//  - Cut(a, b): segments from a to b are held (not dropped: TCP retransmits)
//    until the cut heals; a cut that outlasts `partition_reset_timeout`
//    resets every connection between the two hosts; a connect across a cut
//    fails after `connect_timeout`. Partition/Isolate build on Cut, in one
//    direction or both.
//  - Clog(h, d): everything to or from h is held for d (a member with a sick
//    NIC or a full queue).
//  - Per-link options: latency, bandwidth, loss, a per-segment reset chance.
//  - ResetOwner: what a killed process's kernel does: its connections are
//    reset (the peer sees Unavailable) and its ports are freed.
// A paused process's sockets still receive (the kernel buffers bytes); it
// just does not run to read them.
#ifndef KEEL_SIM_SIM_NETWORK_H_
#define KEEL_SIM_SIM_NETWORK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/network.h"
#include "runtime/time.h"

namespace keel::sim {

class SimWorld;
struct SimConnState;
struct SimListenerState;

// How one direction between two hosts behaves.
struct LinkOptions {
  // Each segment's latency is uniform in [latency_min, latency_max]; with
  // probability tail_probability it is uniform up to tail_max instead.
  Duration latency_min = Microseconds(100);
  Duration latency_max = Microseconds(400);
  double tail_probability = 0.01;
  Duration tail_max = Milliseconds(10);
  // Serialisation rate of the link (10 Gbit/s by default).
  uint64_t bandwidth_bytes_per_second = 1'250'000'000;
  // A lost segment is retransmitted after retransmit_delay (doubling for
  // each further loss of the same segment).
  double loss_probability = 0;
  Duration retransmit_delay = Milliseconds(200);
  // Chance that a segment resets its connection instead of arriving.
  double reset_probability = 0;
};

struct NetworkOptions {
  LinkOptions default_link;
  // Latency of a host talking to itself.
  Duration loopback_latency = Microseconds(20);
  // A connect to an unreachable host or across a cut fails after this long.
  Duration connect_timeout = Seconds(2);
  // Connections across a cut that lasts this long are reset on both sides.
  Duration partition_reset_timeout = Seconds(5);
  // Bytes written but not yet read by the peer before Write suspends.
  size_t send_window_bytes = 1 << 20;
  // Writes are cut into segments of at most this size.
  size_t max_segment_bytes = 64 << 10;
  // Ports handed out for port 0 and for outgoing connections.
  uint16_t first_ephemeral_port = 40000;
};

class SimNetwork {
 public:
  SimNetwork(SimWorld& world, NetworkOptions options);
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;
  // Every connection and listener must be gone (their processes killed).
  ~SimNetwork();

  const NetworkOptions& options() const { return options_; }

  // Registers a host address. AlreadyExists if taken.
  absl::Status AddHost(std::string host);
  bool HasHost(std::string_view host) const;

  // A Network for processes on `host`. `owner` names the process
  // incarnation; ResetOwner(owner) tears down everything the view created.
  // The view must not outlive the SimNetwork.
  std::unique_ptr<Network> NewView(std::string host, uint64_t owner);

  // Resets every connection of `owner` (peers see Unavailable once the
  // reset reaches them) and closes its listeners, freeing their ports.
  void ResetOwner(uint64_t owner);

  // Link behaviour from `source` to `target` (one direction).
  void SetLink(std::string_view source, std::string_view target,
               LinkOptions options);
  void SetDefaultLink(LinkOptions options);
  const LinkOptions& link(int source, int target) const;

  // Stops traffic from `source` to `target` (one direction) until healed.
  void Cut(std::string_view source, std::string_view target);
  // Cuts both directions between every host of `a` and every host of `b`.
  void Partition(const std::vector<std::string>& a,
                 const std::vector<std::string>& b);
  // Cuts `host` off from every other host, both directions.
  void Isolate(std::string_view host);
  // Holds all traffic to and from `host` for `duration`.
  void Clog(std::string_view host, Duration duration);
  // Removes the cut from `source` to `target`.
  void Heal(std::string_view source, std::string_view target);
  // Removes every cut and clog; held traffic flows again.
  void HealAll();

  bool IsCut(int source, int target) const;
  size_t cut_count() const { return cuts_.size(); }
  size_t connection_count() const { return connections_.size(); }
  const std::vector<std::string>& hosts() const { return hosts_; }

  // Index of `host`, or -1.
  int HostIndex(std::string_view host) const;

 private:
  friend struct SimConnState;
  friend class SimConnection;
  friend class SimListener;
  friend class SimNetworkView;
  friend struct SimListenerState;

  struct CutState {
    uint64_t generation = 0;
  };

  // Where a segment sent now from `source` to `target` (with `bytes` of
  // payload) arrives, ignoring cuts and clogs (applied at delivery).
  TimePoint Arrival(int source, int target, size_t bytes);
  Duration SampleLatency(int source, int target);
  // If traffic from `source` to `target` cannot flow now: TimePoint::max()
  // for a cut (held until healed), else the end of a clog.
  std::optional<TimePoint> BlockedUntil(int source, int target) const;
  void OnCutTimeout(int source, int target, uint64_t generation);
  void ReleaseHeld();
  uint16_t AllocatePort(int host);
  void Register(SimConnState* conn);
  void Unregister(SimConnState* conn);

  SimWorld& world_;
  NetworkOptions options_;
  std::vector<std::string> hosts_;
  std::map<std::pair<int, int>, LinkOptions> links_;
  std::map<std::pair<int, int>, TimePoint> link_busy_until_;
  std::map<std::pair<int, int>, CutState> cuts_;
  std::vector<TimePoint> clogged_until_;
  uint64_t cut_generation_ = 0;
  std::map<std::pair<int, uint16_t>, SimListenerState*> listeners_;
  std::map<std::pair<int, uint16_t>, int> ports_in_use_;
  std::vector<uint16_t> next_port_;
  std::map<uint64_t, SimConnState*> connections_;
  uint64_t next_connection_id_ = 1;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_NETWORK_H_
