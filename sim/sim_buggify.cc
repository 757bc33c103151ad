// Per-site buggify decisions from the seed.
#include "sim/sim_buggify.h"

#include <cstring>
#include <string_view>

#include "sim/trace.h"

namespace keel::sim {

SimBuggify::SimBuggify(uint64_t seed, bool enabled)
    : seed_(seed), enabled_(enabled), random_(Mix64(seed ^ 0xb0661f7ULL)) {}

bool SimBuggify::SiteEnabled(const std::source_location& site) const {
  if (!enabled_) return false;
  const char* file = site.file_name();
  const uint64_t h = Mix64(seed_ ^ HashBytes(std::string_view(file, std::strlen(file))) ^
                           (static_cast<uint64_t>(site.line()) << 20) ^
                           site.column());
  return (h & 3) == 0;
}

bool SimBuggify::Fire(const std::source_location& site) {
  if (!SiteEnabled(site)) return false;
  if (!random_.OneIn(4)) return false;
  fired_++;
  return true;
}

}  // namespace keel::sim
