// SimClock: the virtual clock every simulated process reads.
//
// Time is the world's `now`, which moves only when the run loop advances it
// to the next timer (sim/sim_world.h). Wall time for log lines and values shown
// to people is a fixed epoch plus virtual time, so log lines replay exactly.
#ifndef KEEL_SIM_SIM_CLOCK_H_
#define KEEL_SIM_SIM_CLOCK_H_

#include <cstdint>

#include "runtime/clock.h"
#include "runtime/executor.h"
#include "runtime/time.h"

namespace keel::sim {

// 2023-11-14T22:13:20Z: the wall time at virtual time zero.
inline constexpr int64_t kSimEpochUnixMicros = 1'700'000'000'000'000;

inline int64_t SimWallUnixMicros(TimePoint now) {
  return kSimEpochUnixMicros + ToNanoseconds(now) / 1000;
}

class SimClock : public Clock {
 public:
  // `now` is owned by the world and outlives the clock.
  SimClock(Executor& executor, const TimePoint* now)
      : Clock(executor), now_(now) {}

  TimePoint Now() const override { return *now_; }
  int64_t WallUnixMicros() const override { return SimWallUnixMicros(*now_); }

 private:
  const TimePoint* now_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_CLOCK_H_
