// SimDialer: a bare simulated machine that plays a hostile client: it dials
// an address, writes given bytes in slices, reads and discards whatever
// comes back, and closes. For fuzz targets that feed arbitrary bytes into
// the accepting side of a connection.
#ifndef KEEL_FUZZ_SIM_DIALER_H_
#define KEEL_FUZZ_SIM_DIALER_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/assert.h"
#include "runtime/clock.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::fuzz {

class SimDialer {
 public:
  SimDialer(sim::SimWorld& world, std::string host) : world_(world) {
    sim::SimMachineOptions options;
    options.name = "dialer";
    options.host = std::move(host);
    options.boot = [this](Env& env) -> Task<void> {
      env_ = &env;
      co_await env.clock().Sleep(Seconds(1'000'000'000));
    };
    machine_ = &world_.AddMachine(std::move(options));
  }

  void Start() {
    machine_->Start();
    world_.RunUntil([&] { return env_ != nullptr; }, Seconds(1));
    KEEL_ASSERT(env_ != nullptr);
  }

  // Connects to `address`, writes `wire` in slices of `slice_bytes` with a
  // millisecond between them, lingers 100 ms reading replies, then closes.
  // Returns once it has closed (or could not connect) with the number of
  // bytes the server sent back by then. Runs the world.
  size_t Exchange(std::string address, std::string wire, size_t slice_bytes) {
    bool done = false;
    auto received = std::make_shared<size_t>(0);
    env_->Spawn(Dial(*env_, std::move(address), std::move(wire), slice_bytes, received,
                     &done));
    world_.RunUntil([&] { return done; }, Seconds(120));
    KEEL_ASSERT_MSG(done, "the dialer did not finish");
    return *received;
  }

 private:
  static Task<void> Drain(std::shared_ptr<Connection> connection,
                          std::shared_ptr<size_t> received) {
    std::vector<char> buffer(64 << 10);
    while (true) {
      absl::StatusOr<size_t> n = co_await connection->Read(std::span<char>(buffer));
      if (!n.ok() || *n == 0) break;
      *received += *n;
    }
  }

  static Task<void> WriteAll(Env& env, std::shared_ptr<Connection> connection,
                             std::string wire, size_t slice_bytes) {
    for (size_t at = 0; at < wire.size(); at += slice_bytes) {
      std::string_view slice = std::string_view(wire).substr(at, slice_bytes);
      absl::Status written = co_await connection->Write(slice);
      if (!written.ok()) break;
      co_await env.clock().Sleep(Milliseconds(1));
    }
  }

  static Task<void> Dial(Env& env, std::string address, std::string wire,
                         size_t slice_bytes, std::shared_ptr<size_t> received,
                         bool* done) {
    auto connected = co_await env.net().Connect(address);
    if (connected.ok()) {
      std::shared_ptr<Connection> connection = std::move(*connected);
      env.Spawn(Drain(connection, received));
      // A server that stops reading without closing must not hang the
      // dialer: writes give up after a while (the bytes are then cut).
      const bool finished = co_await env.clock().WithTimeout(
          Seconds(30), WriteAll(env, connection, std::move(wire), slice_bytes));
      (void)finished;
      co_await env.clock().Sleep(Milliseconds(100));
      connection->Close();
    }
    *done = true;
  }

  sim::SimWorld& world_;
  sim::SimMachine* machine_ = nullptr;
  Env* env_ = nullptr;
};

}  // namespace keel::fuzz

#endif  // KEEL_FUZZ_SIM_DIALER_H_
