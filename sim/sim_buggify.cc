// Per-site buggify decisions from the seed, and the per-site figures.
#include "sim/sim_buggify.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "runtime/strings.h"
#include "sim/trace.h"

namespace keel::sim {
namespace {

uint64_t SiteHash(uint64_t seed, const std::source_location& site) {
  return Mix64(seed ^ HashBytes(BuggifySiteFile(site.file_name())) ^
               (static_cast<uint64_t>(site.line()) << 20) ^ site.column());
}

}  // namespace

std::string_view BuggifySiteFile(std::string_view path) {
  const size_t last = path.rfind('/');
  if (last == std::string_view::npos || last == 0) return path;
  const size_t before = path.rfind('/', last - 1);
  return before == std::string_view::npos ? path : path.substr(before + 1);
}

SimBuggify::SimBuggify(uint64_t seed, bool enabled)
    : seed_(seed), enabled_(enabled), random_(Mix64(seed ^ 0xb0661f7ULL)) {}

bool SimBuggify::SiteEnabled(const std::source_location& site) const {
  return enabled_ && (SiteHash(seed_, site) & 3) == 0;
}

SimBuggify::SiteState& SimBuggify::StateOf(const std::source_location& site) {
  const SiteKey key{site.file_name(), site.line(), site.column()};
  auto [it, inserted] = sites_.try_emplace(key);
  if (inserted) it->second.enabled = SiteEnabled(site);
  return it->second;
}

bool SimBuggify::Fire(const std::source_location& site) {
  SiteState& state = StateOf(site);
  state.reached++;
  if (!state.enabled) return false;
  if (!random_.OneIn(4)) return false;
  state.fired++;
  fired_++;
  return true;
}

std::vector<BuggifySiteStats> SimBuggify::Sites() const {
  std::vector<BuggifySiteStats> out;
  out.reserve(sites_.size());
  for (const auto& [key, state] : sites_) {
    out.push_back({.site = StrCat(BuggifySiteFile(key.file), ":", key.line),
                   .column = key.column,
                   .enabled = state.enabled,
                   .reached = state.reached,
                   .fired = state.fired});
  }
  std::sort(out.begin(), out.end(), [](const BuggifySiteStats& a, const BuggifySiteStats& b) {
    return a.site != b.site ? a.site < b.site : a.column < b.column;
  });
  return out;
}

void BuggifyTally::Add(const std::vector<BuggifySiteStats>& sites) {
  for (const BuggifySiteStats& site : sites) {
    Totals& totals = sites_[{site.site, site.column}];
    totals.runs_reached++;
    totals.runs_enabled += site.enabled ? 1 : 0;
    totals.runs_fired += site.fired > 0 ? 1 : 0;
    totals.reached += site.reached;
    totals.fired += site.fired;
  }
}

std::string BuggifyTally::Format(size_t runs) const {
  uint64_t fired = 0;
  for (const auto& [site, totals] : sites_) fired += totals.fired > 0 ? 1 : 0;
  std::string out = StrCat("buggify: ", sites_.size(), " sites reached over ", runs,
                           " seeds, ", fired, " fired\n");
  char line[160];
  std::snprintf(line, sizeof(line), "  %-36s %8s %8s %8s %12s %12s\n", "site", "reached", "on",
                "fired", "calls", "fired");
  out += line;
  for (const auto& [site, totals] : sites_) {
    std::snprintf(line, sizeof(line),
                  "  %-36s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
                  site.first.c_str(), totals.runs_reached, totals.runs_enabled,
                  totals.runs_fired, totals.reached, totals.fired);
    out += line;
  }
  out += "  (reached, on, fired: seeds on which the site was reached, switched on, fired;\n"
         "   calls, fired: times it was reached and fired over all of them)\n";
  return out;
}

}  // namespace keel::sim
