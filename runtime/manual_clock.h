// ManualClock: a Clock whose time moves only when told, for runtime's own
// tests. (The simulator has its own world clock; this is the smallest thing
// that lets a unit test drive timers.)
#ifndef KEEL_RUNTIME_MANUAL_CLOCK_H_
#define KEEL_RUNTIME_MANUAL_CLOCK_H_

#include "runtime/clock.h"
#include "runtime/executor.h"

namespace keel {

class ManualClock : public Clock {
 public:
  explicit ManualClock(Executor& executor) : Clock(executor) {}

  TimePoint Now() const override { return now_; }
  int64_t WallUnixMicros() const override {
    return 1'700'000'000'000'000 + ToNanoseconds(now_) / 1000;
  }

  // Runs ready work, then fires timers in order, moving time to each
  // deadline, until nothing is left to do or `limit` is reached.
  void RunUntilIdle(TimePoint limit = TimePoint::max()) {
    executor().RunReady();
    while (auto next = executor().NextDeadline()) {
      if (*next > limit) break;
      if (*next > now_) now_ = *next;
      executor().FireEarliest();
      executor().RunReady();
    }
  }
  void RunFor(Duration d) {
    const TimePoint until = now_ + d;
    RunUntilIdle(until);
    if (now_ < until) now_ = until;
  }

 private:
  TimePoint now_{};
};

}  // namespace keel

#endif  // KEEL_RUNTIME_MANUAL_CLOCK_H_
