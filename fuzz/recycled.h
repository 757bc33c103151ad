// Recycled<T>(every): call once per input; a fuzz target's long-lived world (a simulated machine, a
// cluster), rebuilt from scratch every `every` inputs.
//
// Building a simulated world per input would dominate the run time, but
// one world kept forever accumulates state no input can remove (the
// simulated disk keeps every unsynced directory change for the crash it
// might model, logs fill up), and the fuzzer's RSS limit would end the run.
#ifndef KEEL_FUZZ_RECYCLED_H_
#define KEEL_FUZZ_RECYCLED_H_

namespace keel::fuzz {

template <typename T>
T& Recycled(int every) {
  static T* world = nullptr;
  static int uses = 0;
  if (world == nullptr || ++uses % every == 0) {
    delete world;
    world = nullptr;
    world = new T();
  }
  return *world;
}

}  // namespace keel::fuzz

#endif  // KEEL_FUZZ_RECYCLED_H_
