// Streams of the simulated network: sending, delivery, close and reset.
#include "sim/sim_connection.h"

#include <algorithm>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/sim_network.h"
#include "sim/sim_world.h"

namespace keel::sim {

SimConnState::SimConnState(SimNetwork* network, uint64_t id)
    : network(network), id(id), dir{{this, 0}, {this, 1}} {
  KEEL_ASSERT(network != nullptr);
  network->Register(this);
}

SimConnState::~SimConnState() { network->Unregister(this); }

std::string SimConnState::address(int s) const {
  KEEL_ASSERT(s == 0 || s == 1);
  return StrCat(network->hosts()[side[s].host], ":", side[s].port);
}

void SimConnState::Send(int from, Segment::Kind kind, std::string bytes) {
  const int to = 1 - from;
  Direction& d = dir[from];
  SimWorld& world = network->world_;
  TimePoint arrival =
      network->Arrival(side[from].host, side[to].host, bytes.size());
  if (kind == Segment::Kind::kData &&
      world.random().Bernoulli(
          network->link(side[from].host, side[to].host).reset_probability)) {
    kind = Segment::Kind::kResetBoth;
  }
  arrival = std::max(arrival, d.last_arrival);
  d.last_arrival = arrival;
  d.in_flight_bytes += bytes.size();
  d.in_flight.push_back(Segment{arrival, kind, std::move(bytes)});
  if (!d.held && !d.timer.armed()) {
    world.executor().ArmTimer(d.timer, d.in_flight.front().arrival);
  }
}

void SimConnState::Deliver(int d) {
  Direction& direction = dir[d];
  SimWorld& world = network->world_;
  const int from_host = side[d].host;
  const int to_host = side[1 - d].host;
  while (!direction.in_flight.empty() &&
         direction.in_flight.front().arrival <= world.now()) {
    const std::optional<TimePoint> blocked =
        network->BlockedUntil(from_host, to_host);
    if (blocked.has_value()) {
      if (*blocked == TimePoint::max()) {
        direction.held = true;  // A heal re-arms it (Release).
      } else {
        world.executor().ArmTimer(direction.timer, *blocked);
      }
      return;
    }
    Segment segment = std::move(direction.in_flight.front());
    direction.in_flight.pop_front();
    KEEL_ASSERT(direction.in_flight_bytes >= segment.bytes.size());
    direction.in_flight_bytes -= segment.bytes.size();
    ApplyArrival(d, segment);
  }
  if (!direction.in_flight.empty() && !direction.timer.armed()) {
    world.executor().ArmTimer(direction.timer,
                              direction.in_flight.front().arrival);
  }
}

void SimConnState::ApplyArrival(int d, Segment& segment) {
  const int to = 1 - d;
  Direction& direction = dir[d];
  Trace& trace = network->world_.trace();
  switch (segment.kind) {
    case Segment::Kind::kData:
      if (side[to].reset) return;  // dropped: the receiver is gone
      if (side[to].closed) {
        // Bytes for a closed socket: its kernel answers with a reset.
        if (!side[to].sent_reset) {
          side[to].sent_reset = true;
          Send(to, Segment::Kind::kReset, {});
        }
        return;
      }
      trace.RecordBytes(TraceKind::kNetDeliver, id, static_cast<uint64_t>(d),
                        segment.bytes);
      if (direction.read_offset > 0 && direction.read_offset >= (64u << 10) &&
          direction.read_offset * 2 >= direction.buffer.size()) {
        direction.buffer.erase(0, direction.read_offset);
        direction.read_offset = 0;
      }
      direction.buffer.append(segment.bytes);
      direction.readers.WakeAll();
      return;
    case Segment::Kind::kFin:
      trace.Record(TraceKind::kNetClose, id, static_cast<uint64_t>(d));
      direction.fin_delivered = true;
      direction.readers.WakeAll();
      return;
    case Segment::Kind::kReset:
      trace.Record(TraceKind::kNetReset, id, static_cast<uint64_t>(to));
      ResetSide(to);
      return;
    case Segment::Kind::kResetBoth:
      trace.Record(TraceKind::kNetReset, id, 2);
      ResetBoth();
      return;
  }
}

void SimConnState::ResetSide(int s) {
  if (side[s].reset) return;
  side[s].reset = true;
  // Nothing more is read on this side, and it sends nothing but what is
  // already on the wire.
  Direction& incoming = dir[1 - s];
  incoming.buffer.clear();
  incoming.read_offset = 0;
  for (Direction& d : dir) {
    d.readers.WakeAll();
    d.writers.WakeAll();
  }
}

void SimConnState::ResetBoth() {
  for (int s = 0; s < 2; s++) ResetSide(s);
  for (Direction& d : dir) {
    d.in_flight.clear();
    d.in_flight_bytes = 0;
    d.held = false;
    d.timer.Disarm();
  }
}

void SimConnState::Close(int s) {
  if (side[s].closed) return;
  side[s].closed = true;
  Direction& incoming = dir[1 - s];
  incoming.buffer.clear();
  incoming.read_offset = 0;
  if (!side[s].reset) Send(s, Segment::Kind::kFin, {});
  for (Direction& d : dir) {
    d.readers.WakeAll();
    d.writers.WakeAll();
  }
}

void SimConnState::Abort(int s) {
  // A socket the process already closed is finished by the kernel: its
  // bytes and end of stream still go out.
  if (side[s].reset || side[s].closed) {
    side[s].closed = true;
    return;
  }
  const bool peer_needs_reset = !side[1 - s].reset;
  ResetSide(s);
  side[s].closed = true;
  if (peer_needs_reset && !side[s].sent_reset) {
    side[s].sent_reset = true;
    Send(s, Segment::Kind::kReset, {});
  }
}

void SimConnState::Release(int d) {
  Direction& direction = dir[d];
  if (direction.in_flight.empty()) {
    direction.held = false;
    return;
  }
  // A direction is stopped if a cut holds it, or a clog moved its timer past
  // the first segment's arrival.
  const TimePoint front = direction.in_flight.front().arrival;
  const bool stopped = direction.held || (direction.timer.armed() &&
                                          direction.timer.deadline() > front);
  if (!stopped) return;
  // Held bytes are retransmitted: they cross the link again from now.
  const TimePoint resend =
      network->world_.now() +
      network->SampleLatency(side[d].host, side[1 - d].host);
  direction.held = false;
  network->world_.executor().ArmTimer(direction.timer,
                                      std::max(front, resend));
}

namespace {

Task<absl::StatusOr<size_t>> ReadStream(std::shared_ptr<SimConnState> state,
                                        int s, std::span<char> buffer) {
  while (true) {
    if (state->side[s].reset) {
      co_return absl::UnavailableError(
          StrCat("read ", state->address(s), ": connection reset"));
    }
    if (state->side[s].closed) {
      co_return absl::UnavailableError(
          StrCat("read ", state->address(s), ": connection closed"));
    }
    SimConnState::Direction& incoming = state->dir[1 - s];
    if (incoming.unread() > 0) {
      const size_t n = std::min(buffer.size(), incoming.unread());
      std::memcpy(buffer.data(), incoming.buffer.data() + incoming.read_offset,
                  n);
      incoming.read_offset += n;
      if (incoming.read_offset == incoming.buffer.size()) {
        incoming.buffer.clear();
        incoming.read_offset = 0;
      }
      incoming.writers.WakeAll();  // The peer's window opened.
      co_return n;
    }
    if (incoming.fin_delivered) co_return size_t{0};
    if (buffer.empty()) co_return size_t{0};
    co_await incoming.readers.Wait();
  }
}

Task<absl::Status> WriteStream(std::shared_ptr<SimConnState> state, int s,
                               std::string_view data) {
  const NetworkOptions& options = state->network->options();
  size_t offset = 0;
  while (offset < data.size()) {
    if (state->side[s].reset) {
      co_return absl::UnavailableError(
          StrCat("write ", state->address(s), ": connection reset"));
    }
    if (state->side[s].closed) {
      co_return absl::UnavailableError(
          StrCat("write ", state->address(s), ": connection closed"));
    }
    SimConnState::Direction& outgoing = state->dir[s];
    const size_t outstanding = outgoing.in_flight_bytes + outgoing.unread();
    if (outstanding >= options.send_window_bytes) {
      co_await outgoing.writers.Wait();
      continue;
    }
    const size_t chunk =
        std::min({data.size() - offset, options.send_window_bytes - outstanding,
                  options.max_segment_bytes});
    state->Send(s, Segment::Kind::kData,
                std::string(data.substr(offset, chunk)));
    offset += chunk;
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> AcceptStream(
    std::shared_ptr<SimListenerState> state) {
  while (state->backlog.empty() && !state->closed) {
    co_await state->accepters.Wait();
  }
  if (state->closed) {
    co_return absl::UnavailableError(
        StrCat("accept ", state->network->hosts()[state->host], ":",
               state->port, ": listener closed"));
  }
  std::unique_ptr<Connection> conn = std::move(state->backlog.front());
  state->backlog.pop_front();
  co_return conn;
}

}  // namespace

Task<absl::StatusOr<size_t>> SimConnection::Read(std::span<char> buffer) {
  return ReadStream(state_, side_, buffer);
}

Task<absl::Status> SimConnection::Write(std::string_view data) {
  return WriteStream(state_, side_, data);
}

void SimListenerState::Close() {
  if (closed) return;
  closed = true;
  network->listeners_.erase({host, port});
  // Connections the process never accepted die with the listener.
  while (!backlog.empty()) {
    std::unique_ptr<SimConnection> conn = std::move(backlog.front());
    backlog.pop_front();
    conn->Abort();
  }
  accepters.WakeAll();
}

Task<absl::StatusOr<std::unique_ptr<Connection>>> SimListener::Accept() {
  return AcceptStream(state_);
}

std::string SimListener::address() const {
  return StrCat(state_->network->hosts()[state_->host], ":", state_->port);
}

}  // namespace keel::sim
