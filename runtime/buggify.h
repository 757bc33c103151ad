// Buggify: switches in server code that widen rare paths, in simulation only.
//
//   if (Buggify()) batch_max = 1;
//
// Each call site (keyed by its source location) is switched on for a whole
// simulated run with probability 1/4 and, when on, fires with probability
// 1/4 each time it is reached (FoundationDB's BUGGIFY). In production no
// policy is installed and Buggify() is always false.
#ifndef KEEL_RUNTIME_BUGGIFY_H_
#define KEEL_RUNTIME_BUGGIFY_H_

#include <source_location>

namespace keel {

class BuggifyPolicy {
 public:
  virtual ~BuggifyPolicy() = default;
  virtual bool Fire(const std::source_location& site) = 0;
};

// Installs `policy` for this thread (null uninstalls). The simulator installs
// one per run.
void SetBuggifyPolicy(BuggifyPolicy* policy);
BuggifyPolicy* GetBuggifyPolicy();

inline bool Buggify(
    std::source_location site = std::source_location::current()) {
  BuggifyPolicy* policy = GetBuggifyPolicy();
  return policy != nullptr && policy->Fire(site);
}

}  // namespace keel

#endif  // KEEL_RUNTIME_BUGGIFY_H_
