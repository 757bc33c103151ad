// The simulated network: hosts, links, cuts and clogs, and each process's
// view (listen and connect). Streams themselves are in sim_connection.cc.
#include "sim/sim_network.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/sim_connection.h"
#include "sim/sim_world.h"

namespace keel::sim {

class SimNetworkView : public Network {
 public:
  SimNetworkView(SimNetwork* network, int host, uint64_t owner)
      : network_(network), host_(host), owner_(owner) {}

  absl::StatusOr<std::unique_ptr<Listener>> Listen(
      std::string_view address) override;
  Task<absl::StatusOr<std::unique_ptr<Connection>>> Connect(
      std::string_view address) override {
    // Copied: the caller's string need not outlive the first suspension.
    return DoConnect(network_, host_, owner_, std::string(address));
  }

 private:
  static Task<absl::StatusOr<std::unique_ptr<Connection>>> DoConnect(
      SimNetwork* network, int source, uint64_t owner, std::string address);
  // The host index an address names from this host's point of view, or -1.
  static int Resolve(SimNetwork* network, int self, std::string_view host);

  SimNetwork* network_;
  int host_;
  uint64_t owner_;
};

SimNetwork::SimNetwork(SimWorld& world, NetworkOptions options)
    : world_(world), options_(std::move(options)) {
  KEEL_ASSERT(options_.max_segment_bytes > 0);
  KEEL_ASSERT(options_.send_window_bytes > 0);
}

SimNetwork::~SimNetwork() {
  KEEL_ASSERT_MSG(connections_.empty(),
                  "a connection outlived the simulated network");
  KEEL_ASSERT_MSG(listeners_.empty(),
                  "a listener outlived the simulated network");
}

absl::Status SimNetwork::AddHost(std::string host) {
  if (HostIndex(host) >= 0) {
    return absl::AlreadyExistsError(StrCat("host ", host, " exists"));
  }
  hosts_.push_back(std::move(host));
  clogged_until_.push_back(TimePoint{});
  next_port_.push_back(options_.first_ephemeral_port);
  return absl::OkStatus();
}

bool SimNetwork::HasHost(std::string_view host) const {
  return HostIndex(host) >= 0;
}

int SimNetwork::HostIndex(std::string_view host) const {
  for (size_t i = 0; i < hosts_.size(); i++) {
    if (hosts_[i] == host) return static_cast<int>(i);
  }
  return -1;
}

std::unique_ptr<Network> SimNetwork::NewView(std::string host,
                                             uint64_t owner) {
  const int index = HostIndex(host);
  KEEL_ASSERT_MSG(index >= 0, "NewView for an unknown host");
  return std::make_unique<SimNetworkView>(this, index, owner);
}

void SimNetwork::Register(SimConnState* conn) {
  const bool inserted = connections_.emplace(conn->id, conn).second;
  KEEL_ASSERT(inserted);
}

void SimNetwork::Unregister(SimConnState* conn) {
  const size_t erased = connections_.erase(conn->id);
  KEEL_ASSERT(erased == 1);
}

void SimNetwork::ResetOwner(uint64_t owner) {
  // Collect first: aborting may free nothing, but keep iteration simple.
  std::vector<std::pair<SimConnState*, int>> sides;
  for (const auto& [id, conn] : connections_) {
    for (int s = 0; s < 2; s++) {
      if (conn->side[s].owner == owner) sides.emplace_back(conn, s);
    }
  }
  for (const auto& [conn, s] : sides) conn->Abort(s);
  std::vector<SimListenerState*> listeners;
  for (const auto& [key, listener] : listeners_) {
    if (listener->owner == owner) listeners.push_back(listener);
  }
  for (SimListenerState* listener : listeners) listener->Close();
}

void SimNetwork::SetLink(std::string_view source, std::string_view target,
                         LinkOptions options) {
  const int s = HostIndex(source);
  const int t = HostIndex(target);
  KEEL_ASSERT(s >= 0 && t >= 0);
  links_[{s, t}] = options;
}

void SimNetwork::SetDefaultLink(LinkOptions options) {
  options_.default_link = options;
}

const LinkOptions& SimNetwork::link(int source, int target) const {
  auto it = links_.find({source, target});
  return it == links_.end() ? options_.default_link : it->second;
}

Duration SimNetwork::SampleLatency(int source, int target) {
  if (source == target) return options_.loopback_latency;
  const LinkOptions& l = link(source, target);
  Random& random = world_.random();
  if (l.tail_probability > 0 && random.Bernoulli(l.tail_probability)) {
    return Duration(random.UniformRange(l.latency_max.count(),
                                        std::max(l.tail_max, l.latency_max).count()));
  }
  return Duration(
      random.UniformRange(l.latency_min.count(), l.latency_max.count()));
}

TimePoint SimNetwork::Arrival(int source, int target, size_t bytes) {
  const TimePoint now = world_.now();
  if (source == target) return now + options_.loopback_latency;
  const LinkOptions& l = link(source, target);
  TimePoint& busy = link_busy_until_[{source, target}];
  const TimePoint start = std::max(now, busy);
  KEEL_ASSERT(l.bandwidth_bytes_per_second > 0);
  busy = start + Duration(static_cast<int64_t>(
                     bytes * 1'000'000'000ULL / l.bandwidth_bytes_per_second));
  TimePoint arrival = busy + SampleLatency(source, target);
  Duration retransmit = l.retransmit_delay;
  for (int losses = 0; losses < 8 && l.loss_probability > 0 &&
                       world_.random().Bernoulli(l.loss_probability);
       losses++) {
    arrival += retransmit;
    retransmit *= 2;
  }
  return arrival;
}

std::optional<TimePoint> SimNetwork::BlockedUntil(int source,
                                                  int target) const {
  if (source == target) return std::nullopt;
  if (!cuts_.empty() && cuts_.count({source, target}) > 0) {
    return TimePoint::max();
  }
  const TimePoint clog =
      std::max(clogged_until_[source], clogged_until_[target]);
  if (clog > world_.now()) return clog;
  return std::nullopt;
}

bool SimNetwork::IsCut(int source, int target) const {
  return cuts_.count({source, target}) > 0;
}

void SimNetwork::Cut(std::string_view source, std::string_view target) {
  const int s = HostIndex(source);
  const int t = HostIndex(target);
  KEEL_ASSERT_MSG(s >= 0 && t >= 0, "Cut of an unknown host");
  if (s == t || IsCut(s, t)) return;
  const uint64_t generation = ++cut_generation_;
  cuts_[{s, t}] = CutState{generation};
  world_.trace().Record(TraceKind::kNetFault, 1, static_cast<uint64_t>(s),
                        static_cast<uint64_t>(t));
  world_.After(options_.partition_reset_timeout, [this, s, t, generation] {
    OnCutTimeout(s, t, generation);
  });
}

void SimNetwork::OnCutTimeout(int source, int target, uint64_t generation) {
  auto it = cuts_.find({source, target});
  if (it == cuts_.end() || it->second.generation != generation) return;
  std::vector<SimConnState*> doomed;
  for (const auto& [id, conn] : connections_) {
    const int a = conn->side[0].host;
    const int b = conn->side[1].host;
    if ((a == source && b == target) || (a == target && b == source)) {
      doomed.push_back(conn);
    }
  }
  for (SimConnState* conn : doomed) {
    world_.trace().Record(TraceKind::kNetReset, conn->id, 3);
    conn->ResetBoth();
  }
}

void SimNetwork::Partition(const std::vector<std::string>& a,
                           const std::vector<std::string>& b) {
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      Cut(x, y);
      Cut(y, x);
    }
  }
}

void SimNetwork::Isolate(std::string_view host) {
  for (const std::string& other : hosts_) {
    if (other == host) continue;
    Cut(host, other);
    Cut(other, host);
  }
}

void SimNetwork::Clog(std::string_view host, Duration duration) {
  const int h = HostIndex(host);
  KEEL_ASSERT_MSG(h >= 0, "Clog of an unknown host");
  const TimePoint until = world_.now() + duration;
  clogged_until_[h] = std::max(clogged_until_[h], until);
  world_.trace().Record(TraceKind::kNetFault, 2, static_cast<uint64_t>(h),
                        static_cast<uint64_t>(duration.count()));
}

void SimNetwork::Heal(std::string_view source, std::string_view target) {
  const int s = HostIndex(source);
  const int t = HostIndex(target);
  KEEL_ASSERT(s >= 0 && t >= 0);
  if (cuts_.erase({s, t}) == 0) return;
  world_.trace().Record(TraceKind::kNetFault, 3, static_cast<uint64_t>(s),
                        static_cast<uint64_t>(t));
  ReleaseHeld();
}

void SimNetwork::HealAll() {
  cuts_.clear();
  for (TimePoint& until : clogged_until_) until = TimePoint{};
  world_.trace().Record(TraceKind::kNetFault, 4);
  ReleaseHeld();
}

void SimNetwork::ReleaseHeld() {
  for (const auto& [id, conn] : connections_) {
    for (int d = 0; d < 2; d++) {
      if (!BlockedUntil(conn->side[d].host, conn->side[1 - d].host)) {
        conn->Release(d);
      }
    }
  }
}

uint16_t SimNetwork::AllocatePort(int host) {
  KEEL_ASSERT(host >= 0 && static_cast<size_t>(host) < next_port_.size());
  for (int tries = 0; tries < 65536; tries++) {
    uint16_t port = next_port_[host]++;
    if (next_port_[host] == 0) next_port_[host] = options_.first_ephemeral_port;
    if (port != 0 && listeners_.count({host, port}) == 0) return port;
  }
  KEEL_UNREACHABLE();
}

int SimNetworkView::Resolve(SimNetwork* network, int self,
                            std::string_view host) {
  if (host == "127.0.0.1" || host == "localhost" || host == "0.0.0.0" ||
      host == "::1") {
    return self;
  }
  return network->HostIndex(host);
}

absl::StatusOr<std::unique_ptr<Listener>> SimNetworkView::Listen(
    std::string_view address) {
  std::string host;
  uint16_t port = 0;
  KEEL_RETURN_IF_ERROR(SplitHostPort(address, &host, &port));
  if (Resolve(network_, host_, host) != host_) {
    return absl::InvalidArgumentError(
        StrCat("listen ", address, ": cannot assign requested address"));
  }
  if (port == 0) port = network_->AllocatePort(host_);
  if (network_->listeners_.count({host_, port}) > 0) {
    return absl::AlreadyExistsError(
        StrCat("listen ", address, ": address already in use"));
  }
  auto state = std::make_shared<SimListenerState>();
  state->network = network_;
  state->host = host_;
  state->port = port;
  state->owner = owner_;
  network_->listeners_[{host_, port}] = state.get();
  return std::make_unique<SimListener>(std::move(state));
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> SimNetworkView::DoConnect(
    SimNetwork* network, int source, uint64_t owner, std::string address) {
  std::string host;
  uint16_t port = 0;
  KEEL_CO_RETURN_IF_ERROR(SplitHostPort(address, &host, &port));
  SimWorld& world = network->world_;
  const TimePoint start = world.now();
  const TimePoint give_up = start + network->options_.connect_timeout;
  const int target = Resolve(network, source, host);
  auto unreachable = [&]() {
    return absl::UnavailableError(
        StrCat("connect ", address, ": connection timed out"));
  };
  if (target < 0) {
    co_await world.clock().SleepUntil(give_up);
    co_return unreachable();
  }
  // The SYN crosses the link (waiting out a clog); a cut in either direction
  // loses the SYN or its answer.
  TimePoint syn = network->Arrival(source, target, 0);
  if (auto blocked = network->BlockedUntil(source, target);
      blocked && *blocked != TimePoint::max()) {
    syn = std::max(syn, *blocked);
  }
  if (syn > give_up) syn = give_up;
  co_await world.clock().SleepUntil(syn);
  if (network->IsCut(source, target) || network->IsCut(target, source)) {
    co_await world.clock().SleepUntil(give_up);
    co_return unreachable();
  }
  auto listener = network->listeners_.find({target, port});
  if (listener == network->listeners_.end() || listener->second->closed) {
    co_await world.clock().Sleep(network->SampleLatency(target, source));
    world.trace().Record(TraceKind::kNetConnect, 0,
                         static_cast<uint64_t>(source),
                         static_cast<uint64_t>(target));
    co_return absl::UnavailableError(
        StrCat("connect ", address, ": connection refused"));
  }
  SimListenerState* accepting = listener->second;
  auto state = std::make_shared<SimConnState>(network,
                                              network->next_connection_id_++);
  state->side[0] = {.host = source,
                    .port = network->AllocatePort(source),
                    .owner = owner};
  state->side[1] = {.host = target, .port = port, .owner = accepting->owner};
  world.trace().Record(TraceKind::kNetConnect, state->id,
                       static_cast<uint64_t>(source),
                       static_cast<uint64_t>(target));
  auto client = std::make_unique<SimConnection>(state, 0);
  accepting->backlog.push_back(std::make_unique<SimConnection>(state, 1));
  accepting->accepters.WakeAll();
  // The SYN-ACK comes back.
  co_await world.clock().Sleep(network->SampleLatency(target, source));
  if (state->side[0].reset) {
    co_return absl::UnavailableError(
        StrCat("connect ", address, ": connection reset"));
  }
  co_return std::unique_ptr<Connection>(std::move(client));
}

}  // namespace keel::sim
