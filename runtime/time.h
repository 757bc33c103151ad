// Time as keel sees it: a monotonic instant and a duration, both nanoseconds.
//
// The instant's epoch is the Env's choice (process start in production, zero
// in the simulator), so instants are only compared and subtracted, never shown
// to people. Wall time for log lines comes from Clock::WallUnixMicros().
#ifndef KEEL_RUNTIME_TIME_H_
#define KEEL_RUNTIME_TIME_H_

#include <chrono>
#include <cstdint>

namespace keel {

// A clock type for std::chrono's vocabulary. It has no now(): time is read
// only through an Env's Clock.
struct KeelClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<KeelClock, duration>;
  static constexpr bool is_steady = true;
};

using Duration = std::chrono::nanoseconds;
using TimePoint = KeelClock::time_point;

inline constexpr Duration Nanoseconds(int64_t n) { return Duration(n); }
inline constexpr Duration Microseconds(int64_t n) { return Duration(n * 1000); }
inline constexpr Duration Milliseconds(int64_t n) {
  return Duration(n * 1000 * 1000);
}
inline constexpr Duration Seconds(int64_t n) {
  return Duration(n * 1000 * 1000 * 1000);
}

inline constexpr int64_t ToMilliseconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
inline constexpr int64_t ToNanoseconds(TimePoint t) {
  return t.time_since_epoch().count();
}
inline constexpr TimePoint FromNanoseconds(int64_t n) {
  return TimePoint(Duration(n));
}

}  // namespace keel

#endif  // KEEL_RUNTIME_TIME_H_
