// AutoCompactor: etcd's periodic and revision schedules, leader only.
#include "node/auto_compactor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "node/errors.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

Task<void> SleepFor(Clock& clock, Duration d) { co_await clock.Sleep(d); }
Task<void> WaitFor(Event& event) { co_await event.Wait(); }

// etcd's periodic compactor cuts its interval at an hour.
Duration CompactInterval(Duration period) { return std::min(period, Seconds(3600)); }
// ...and records revisions ten times per interval.
Duration RecordInterval(Duration period) { return CompactInterval(period) / 10; }

}  // namespace

AutoCompactor::AutoCompactor(Env& env, AutoCompaction config, const RaftNode& raft,
                             RevisionFn revision, CompactFn compact, MemberLife& life)
    : env_(env), config_(config), raft_(raft), revision_(std::move(revision)),
      compact_(std::move(compact)), life_(life) {
  KEEL_ASSERT(config_.enabled());
}

void AutoCompactor::Start() {
  env_.Spawn(config_.mode == AutoCompaction::Mode::kPeriodic ? PeriodicLoop() : RevisionLoop());
}

Task<void> AutoCompactor::Sleep(Duration d) {
  std::vector<Task<void>> race;
  race.push_back(SleepFor(env_.clock(), d));
  race.push_back(WaitFor(life_.stopping_event()));
  co_await WhenAny(std::move(race));
}

Task<bool> AutoCompactor::Compact(int64_t revision, std::string_view mode) {
  env_.log().Info(mode == "periodic" ? "starting auto periodic compaction"
                                     : "starting auto revision compaction",
                  {{"revision", revision}});
  absl::Status status = co_await compact_(revision);
  if (status.ok() || IsError(status, EtcdError::kCompacted)) {
    compactions_++;
    env_.log().Info(mode == "periodic" ? "completed auto periodic compaction"
                                       : "completed auto revision compaction",
                    {{"revision", revision}});
    co_return true;
  }
  env_.log().Warn(mode == "periodic" ? "failed auto periodic compaction"
                                     : "failed auto revision compaction",
                  {{"revision", revision}, {"error", status.ToString()}});
  co_return false;
}

Task<void> AutoCompactor::PeriodicLoop() {
  MemberLife::LoopGuard guard(life_);
  const Duration period = config_.period;
  const Duration record_interval = RecordInterval(period);
  const size_t kept = static_cast<size_t>(period / record_interval) + 1;
  Clock& clock = env_.clock();
  TimePoint last_success = clock.Now();
  Duration base_interval = period;
  // revisions.front() is the revision about `period` ago.
  std::deque<int64_t> revisions;
  while (!life_.stopping()) {
    revisions.push_back(revision_());
    if (revisions.size() > kept) revisions.pop_front();
    co_await Sleep(record_interval);
    if (life_.stopping()) break;
    if (!raft_.is_leader()) continue;
    if (clock.Now() - last_success < base_interval) continue;
    // The first compaction waits a whole retention; later ones an hour at
    // most between them.
    base_interval = CompactInterval(period);
    if (co_await Compact(revisions.front(), "periodic")) last_success = clock.Now();
  }
}

Task<void> AutoCompactor::RevisionLoop() {
  MemberLife::LoopGuard guard(life_);
  int64_t previous = 0;
  while (!life_.stopping()) {
    co_await Sleep(kRevisionCompactInterval);
    if (life_.stopping()) break;
    if (!raft_.is_leader()) continue;
    const int64_t revision = revision_() - config_.revisions;
    if (revision <= 0 || revision == previous) continue;
    if (co_await Compact(revision, "revision")) previous = revision;
  }
}

}  // namespace keel::node
