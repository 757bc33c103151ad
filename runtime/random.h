// Random: keel's only source of randomness, a seeded xoshiro256** generator.
//
// Server code draws from env.random(); the simulator seeds every process's
// generator from the run's seed, so a run replays exactly. Production seeds
// it once from the OS (runtime/posix_env.cc).
#ifndef KEEL_RUNTIME_RANDOM_H_
#define KEEL_RUNTIME_RANDOM_H_

#include <cstdint>
#include <string>

#include "runtime/assert.h"

namespace keel {

class Random {
 public:
  explicit Random(uint64_t seed) { Reseed(seed); }

  void Reseed(uint64_t seed) {
    // splitmix64 spreads any seed, including 0, over the 256-bit state.
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n), without modulo bias. Requires n > 0.
  uint64_t Uniform(uint64_t n) {
    KEEL_ASSERT(n > 0);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = Next();
    } while (x >= limit);
    return x % n;
  }

  // Uniform in [low, high]. Requires low <= high.
  int64_t UniformRange(int64_t low, int64_t high) {
    KEEL_ASSERT(low <= high);
    const uint64_t span = static_cast<uint64_t>(high - low);
    if (span == UINT64_MAX) return static_cast<int64_t>(Next());
    return low + static_cast<int64_t>(Uniform(span + 1));
  }

  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // True with probability p.
  bool Bernoulli(double p) { return NextDouble() < p; }

  // True with probability 1/n.
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }

  // A new generator whose stream is independent of this one's future draws.
  Random Fork() { return Random(Next()); }

  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; i++) out[i] = static_cast<char>(Next());
    return out;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace keel

#endif  // KEEL_RUNTIME_RANDOM_H_
