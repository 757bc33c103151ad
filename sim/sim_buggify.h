// SimBuggify: the Buggify() policy of a simulated run.
//
// Each call site, keyed by its source location, is switched on for the whole
// run with probability 1/4, decided by hashing the seed with the site (so the
// decision does not depend on the order sites are first reached, and adding a
// site elsewhere does not reshuffle the others). An enabled site fires with
// probability 1/4 each time it is reached, drawn from a stream of the seed.
// Disabled, it never fires (keel-sim --no-buggify).
#ifndef KEEL_SIM_SIM_BUGGIFY_H_
#define KEEL_SIM_SIM_BUGGIFY_H_

#include <cstdint>
#include <source_location>

#include "runtime/buggify.h"
#include "runtime/random.h"

namespace keel::sim {

class SimBuggify : public BuggifyPolicy {
 public:
  SimBuggify(uint64_t seed, bool enabled);

  // True if `site` is switched on for this run and this call fires.
  bool Fire(const std::source_location& site) override;

  // Whether `site` is switched on for this run (without drawing).
  bool SiteEnabled(const std::source_location& site) const;

  uint64_t fired() const { return fired_; }

 private:
  uint64_t seed_;
  bool enabled_;
  Random random_;
  uint64_t fired_ = 0;
};

// Installs a policy for this thread while in scope, restoring the previous
// one after.
class BuggifyScope {
 public:
  explicit BuggifyScope(BuggifyPolicy* policy)
      : previous_(GetBuggifyPolicy()) {
    SetBuggifyPolicy(policy);
  }
  ~BuggifyScope() { SetBuggifyPolicy(previous_); }
  BuggifyScope(const BuggifyScope&) = delete;
  BuggifyScope& operator=(const BuggifyScope&) = delete;

 private:
  BuggifyPolicy* previous_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_BUGGIFY_H_
