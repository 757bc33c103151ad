// KEEL_ASSERT: invariant checks that stay on in release builds.
//
// An assertion is for a programmer error; a Status is for the world
// misbehaving. A failed assertion prints the condition and its location and
// aborts, so a simulated run that trips one stops at the exact event that
// broke the invariant and can be replayed from its seed.
#ifndef KEEL_RUNTIME_ASSERT_H_
#define KEEL_RUNTIME_ASSERT_H_

namespace keel::internal {
[[noreturn]] void AssertFail(const char* condition, const char* file, int line,
                             const char* message);
}  // namespace keel::internal

#define KEEL_ASSERT(condition)                                               \
  do {                                                                       \
    if (__builtin_expect(!(condition), 0)) {                                 \
      ::keel::internal::AssertFail(#condition, __FILE__, __LINE__, nullptr); \
    }                                                                        \
  } while (0)

// Like KEEL_ASSERT, with a message for the reader of the crash.
#define KEEL_ASSERT_MSG(condition, message)                                  \
  do {                                                                       \
    if (__builtin_expect(!(condition), 0)) {                                 \
      ::keel::internal::AssertFail(#condition, __FILE__, __LINE__, message); \
    }                                                                        \
  } while (0)

#define KEEL_UNREACHABLE() \
  ::keel::internal::AssertFail("unreachable", __FILE__, __LINE__, nullptr)

#endif  // KEEL_RUNTIME_ASSERT_H_
