// Shrinking failing plans.
#include "sim/shrink.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "runtime/strings.h"

namespace keel::sim {

std::string FailureKind(const std::string& failure) {
  const size_t open = failure.find('[');
  if (open != std::string::npos) {
    const size_t close = failure.find(']', open);
    if (close != std::string::npos && failure.find('/', open) < close) {
      return failure.substr(open + 1, close - open - 1);
    }
  }
  if (failure.starts_with("liveness")) return "liveness";
  if (failure.starts_with("nondeterministic")) return "nondeterministic";
  return failure.substr(0, failure.find('\n'));
}

namespace {

class Shrinker {
 public:
  Shrinker(const Plan& failing, const ScenarioResult& result,
           const std::function<ScenarioResult(const Plan&)>& run, const ShrinkOptions& options)
      : run_(run), options_(options), kind_(FailureKind(result.failure)) {
    out_.original = failing;
    out_.smallest = result.plan != nullptr ? *result.plan : failing;
    out_.result = result;
  }

  ShrinkResult Run() {
    // Operation slots go in chunks no smaller than `min_ops_chunk` until
    // nothing else helps, so the cheap, large cuts (a shorter run, fewer
    // fault steps) are retried after each round rather than after a long
    // run of single slots.
    size_t min_ops_chunk = std::max<size_t>(1, current().ops() / 64);
    while (budget()) {
      bool progress = false;
      progress |= ShortenRun();
      progress |= DropSteps();
      progress |= DropClients();
      progress |= DropOps(min_ops_chunk);
      if (progress) continue;
      if (min_ops_chunk == 1) break;
      min_ops_chunk = std::max<size_t>(1, min_ops_chunk / 4);
    }
    return std::move(out_);
  }

 private:
  Plan& current() { return out_.smallest; }
  bool budget() const { return out_.attempts < options_.max_attempts; }

  // Runs `candidate`; keeps it (as the run cut it) if it still fails.
  bool Try(Plan candidate, const std::string& what) {
    if (!budget()) return false;
    out_.attempts++;
    ScenarioResult result = run_(candidate);
    if (result.ok) return false;
    if (options_.same_failure && FailureKind(result.failure) != kind_) return false;
    out_.smallest = result.plan != nullptr ? *result.plan : std::move(candidate);
    out_.result = std::move(result);
    out_.kept++;
    if (options_.on_progress) {
      options_.on_progress(StrCat("attempt ", out_.attempts, ": ", what, " -> ",
                                  DescribePlan(out_.smallest)));
    }
    return true;
  }

  static void CutAfter(Plan& plan, Duration end) {
    plan.steps.erase(std::remove_if(plan.steps.begin(), plan.steps.end(),
                                    [end](const PlanStep& s) { return s.at >= end; }),
                     plan.steps.end());
  }

  bool ShortenRun() {
    bool any = false;
    for (int fraction : {2, 4, 8}) {  // cut 1/2, then 1/4, then 1/8 of what is left
      while (budget()) {
        const Duration cut = current().duration / fraction;
        const Duration shorter = current().duration - cut;
        if (shorter < Milliseconds(500) || cut < Milliseconds(100)) break;
        Plan candidate = current();
        candidate.duration = Milliseconds(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              shorter).count());
        CutAfter(candidate, candidate.duration);
        const std::string what = StrCat("run for ", FormatDuration(candidate.duration));
        if (!Try(std::move(candidate), what)) break;
        any = true;
      }
    }
    return any;
  }

  // Drops chunks of the list `get` picks out of a plan: halves, quarters,
  // ... down to `min_chunk`.
  template <typename Get>
  bool DropChunks(Get get, size_t chunk, const std::string& what) {
    bool any = false;
    size_t i = 0;
    while (budget() && i < get(current()).size()) {
      Plan candidate = current();
      auto& list = get(candidate);
      const size_t end = std::min(i + chunk, list.size());
      list.erase(list.begin() + static_cast<ptrdiff_t>(i), list.begin() + static_cast<ptrdiff_t>(end));
      if (Try(std::move(candidate), StrCat("drop ", end - i, " ", what))) {
        any = true;  // the next chunk slid into place
      } else {
        i += chunk;
      }
    }
    return any;
  }

  bool DropSteps() {
    bool any = false;
    for (size_t chunk = std::max<size_t>(1, current().steps.size() / 2); budget(); chunk /= 2) {
      any |= DropChunks([](Plan& p) -> std::vector<PlanStep>& { return p.steps; }, chunk,
                        "fault steps");
      if (chunk <= 1) break;
    }
    return any;
  }

  bool DropClients() {
    bool any = false;
    for (size_t chunk = std::max<size_t>(1, current().clients.size() / 2); budget(); chunk /= 2) {
      any |= DropChunks([](Plan& p) -> std::vector<PlanClient>& { return p.clients; }, chunk,
                        "clients");
      if (chunk <= 1) break;
    }
    return any;
  }

  // Each round drops chunks of one size from every client's slots, so the
  // attempts are spread over the clients; halving down to `min_chunk`.
  bool DropOps(size_t min_chunk) {
    bool any = false;
    size_t longest = 0;
    for (const PlanClient& client : current().clients) {
      longest = std::max(longest, client.slots.size());
    }
    for (size_t chunk = std::max<size_t>(1, longest / 2); budget(); chunk /= 2) {
      for (size_t c = 0; c < current().clients.size() && budget(); c++) {
        if (current().clients[c].slots.size() < chunk) continue;
        any |= DropChunks(
            [c](Plan& p) -> std::vector<uint64_t>& { return p.clients[c].slots; }, chunk,
            StrCat("ops of client ", current().clients[c].id));
      }
      if (chunk <= min_chunk) break;
    }
    return any;
  }

  const std::function<ScenarioResult(const Plan&)>& run_;
  const ShrinkOptions& options_;
  const std::string kind_;
  ShrinkResult out_;
};

}  // namespace

ShrinkResult ShrinkPlan(const Plan& failing, const ScenarioResult& result,
                        const std::function<ScenarioResult(const Plan&)>& run,
                        const ShrinkOptions& options) {
  return Shrinker(failing, result, run, options).Run();
}

}  // namespace keel::sim
