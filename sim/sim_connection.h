// The insides of SimNetwork's streams (internal to sim/; tests may use it).
//
// A connection is one SimConnState shared by its two Connection objects and
// by the network's registry. Each direction carries segments in flight
// (data, end of stream, reset), each with an arrival time that never goes
// backwards, and one delivery timer armed for the first of them. Delivered
// bytes wait in the receiver's buffer (the kernel's socket buffer) until a
// Read takes them; a writer suspends while the bytes it has in flight plus
// those unread by the peer fill the send window.
//
// Suspended reads and writes hold the state by shared_ptr, so destroying a
// Connection while another task of the process waits on it is safe: the
// waiter wakes and fails with Unavailable.
#ifndef KEEL_SIM_SIM_CONNECTION_H_
#define KEEL_SIM_SIM_CONNECTION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/executor.h"
#include "runtime/network.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::sim {

class SimNetwork;

struct Segment {
  enum class Kind : uint8_t {
    kData,       // bytes
    kFin,        // end of stream
    kReset,      // the sender is gone: the receiver is reset
    kResetBoth,  // an injected fault: both sides are reset on arrival
  };
  TimePoint arrival;
  Kind kind;
  std::string bytes;
};

struct SimConnState {
  class DeliveryTimer : public Timer {
   public:
    DeliveryTimer(SimConnState* conn, int direction)
        : conn_(conn), direction_(direction) {}

   private:
    void Fire() override { conn_->Deliver(direction_); }
    SimConnState* conn_;
    int direction_;
  };

  // Bytes from side d to side 1-d.
  struct Direction {
    Direction(SimConnState* conn, int d) : timer(conn, d) {}
    std::deque<Segment> in_flight;
    size_t in_flight_bytes = 0;
    TimePoint last_arrival{};
    bool held = false;  // stopped at a cut; released by a heal
    std::string buffer;  // delivered bytes; the unread ones start at read_offset
    size_t read_offset = 0;
    bool fin_delivered = false;
    DeliveryTimer timer;
    WaitQueue readers;  // the receiver waiting for bytes
    WaitQueue writers;  // the sender waiting for window
    size_t unread() const { return buffer.size() - read_offset; }
  };

  struct Side {
    int host = -1;
    uint16_t port = 0;
    uint64_t owner = 0;
    bool closed = false;  // Close() called (or the Connection destroyed)
    bool reset = false;   // reset: every operation fails
    bool sent_reset = false;
  };

  SimConnState(SimNetwork* network, uint64_t id);
  SimConnState(const SimConnState&) = delete;
  SimConnState& operator=(const SimConnState&) = delete;
  ~SimConnState();

  // Puts a segment from side `from` on the wire.
  void Send(int from, Segment::Kind kind, std::string bytes);
  // Delivery timer of direction `d`: hands over every segment that has
  // arrived, unless the link is cut or clogged.
  void Deliver(int d);
  // Side `s` closes: its pending operations fail, the peer gets end of
  // stream after the bytes already written.
  void Close(int s);
  // Side `s` dies (its process was killed): unless it was closed already,
  // it is reset at once, and a reset travels to the peer behind the bytes
  // already in flight.
  void Abort(int s);
  // Both sides are reset at once (a timeout or an injected reset).
  void ResetBoth();
  // Re-arms a direction stopped by a cut or a clog after a heal.
  void Release(int d);

  std::string address(int s) const;

  SimNetwork* network;
  const uint64_t id;
  Side side[2];
  Direction dir[2];

 private:
  void ResetSide(int s);
  void ApplyArrival(int d, Segment& segment);
};

class SimConnection : public Connection {
 public:
  SimConnection(std::shared_ptr<SimConnState> state, int side)
      : state_(std::move(state)), side_(side) {}
  ~SimConnection() override { Close(); }

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override;
  Task<absl::Status> Write(std::string_view data) override;
  void Close() override { state_->Close(side_); }
  std::string local_address() const override { return state_->address(side_); }
  std::string peer_address() const override {
    return state_->address(1 - side_);
  }

  // Resets this side as a killed process's kernel would.
  void Abort() { state_->Abort(side_); }
  uint64_t id() const { return state_->id; }

 private:
  std::shared_ptr<SimConnState> state_;
  int side_;
};

struct SimListenerState {
  SimNetwork* network = nullptr;
  int host = -1;
  uint16_t port = 0;
  uint64_t owner = 0;
  bool closed = false;
  std::deque<std::unique_ptr<SimConnection>> backlog;
  WaitQueue accepters;

  // Stops accepting, frees the port and resets connections not accepted.
  void Close();
};

class SimListener : public Listener {
 public:
  explicit SimListener(std::shared_ptr<SimListenerState> state)
      : state_(std::move(state)) {}
  ~SimListener() override { state_->Close(); }

  Task<absl::StatusOr<std::unique_ptr<Connection>>> Accept() override;
  std::string address() const override;

 private:
  std::shared_ptr<SimListenerState> state_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_CONNECTION_H_
