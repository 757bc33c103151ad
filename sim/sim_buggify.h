// SimBuggify: the Buggify() policy of a simulated run.
//
// Each call site is switched on for the whole run with probability 1/4,
// decided by hashing the seed with the site (so the decision does not
// depend on the order sites are first reached, and adding a site elsewhere
// does not reshuffle the others). A site is named by the last two
// components of its file's path, its line and its column ("store/wal.cc",
// 97, 9), never by the whole path the compiler was given, so a seed runs
// the same from any checkout and build directory, with or without ccache.
// An enabled site fires with probability 1/4 each time it is reached,
// drawn from a stream of the seed. Disabled, it never fires (keel-sim
// --no-buggify).
//
// The policy counts, per site, how often it was reached and fired in the
// run (Sites(); keel-sim --buggify-report sums them over a sweep).
#ifndef KEEL_SIM_SIM_BUGGIFY_H_
#define KEEL_SIM_SIM_BUGGIFY_H_

#include <cstdint>
#include <map>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/buggify.h"
#include "runtime/random.h"

namespace keel::sim {

// One Buggify() site's figures over a run.
struct BuggifySiteStats {
  std::string site;  // "store/wal.cc:97"
  uint32_t column = 0;
  bool enabled = false;
  uint64_t reached = 0;
  uint64_t fired = 0;
};

// "store/wal.cc" for ".../keel/store/wal.cc" or "../store/wal.cc": the
// last two components of a path (all of it if it has fewer).
std::string_view BuggifySiteFile(std::string_view path);

class SimBuggify : public BuggifyPolicy {
 public:
  SimBuggify(uint64_t seed, bool enabled);

  // True if `site` is switched on for this run and this call fires.
  bool Fire(const std::source_location& site) override;

  // Whether `site` is switched on for this run (without drawing).
  bool SiteEnabled(const std::source_location& site) const;

  uint64_t fired() const { return fired_; }
  // Every site reached so far, sorted by name.
  std::vector<BuggifySiteStats> Sites() const;

 private:
  // A site as the compiler names it; the file name pointer is stable for
  // the life of the program. Only looked up, never iterated in an order
  // that reaches the run.
  struct SiteKey {
    const char* file;
    uint32_t line;
    uint32_t column;
    bool operator==(const SiteKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const SiteKey& key) {
      return H::combine(std::move(h), key.file, key.line, key.column);
    }
  };
  struct SiteState {
    bool enabled = false;
    uint64_t reached = 0;
    uint64_t fired = 0;
  };

  SiteState& StateOf(const std::source_location& site);

  uint64_t seed_;
  bool enabled_;
  Random random_;
  uint64_t fired_ = 0;
  absl::flat_hash_map<SiteKey, SiteState> sites_;
};

// Each site's figures summed over many runs (keel-sim --buggify-report).
class BuggifyTally {
 public:
  void Add(const std::vector<BuggifySiteStats>& sites);
  // A table, one line per site reached, sorted by site: on how many of the
  // `runs` it was reached, switched on and fired, and its calls and
  // firings over all of them.
  std::string Format(size_t runs) const;

 private:
  struct Totals {
    uint64_t runs_reached = 0, runs_enabled = 0, runs_fired = 0;
    uint64_t reached = 0, fired = 0;
  };
  std::map<std::pair<std::string, uint32_t>, Totals> sites_;
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
