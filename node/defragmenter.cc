// Defragmenter: Defragment and dbSizeInUse as root tasks of the member.
#include "node/defragmenter.h"

#include <algorithm>
#include <utility>

#include "node/errors.h"

namespace keel::node {

Task<absl::Status> Defragmenter::Defragment() {
  if (life_.stopping()) co_return MakeError(EtcdError::kStopped);
  std::shared_ptr<Job> job = defragment_;
  if (job == nullptr) {
    job = std::make_shared<Job>();
    defragment_ = job;
    // The guard is taken now, not when the task first runs, so a stop that
    // begins in between still waits for it.
    env_.Spawn(RunDefragment(job, std::make_unique<MemberLife::LoopGuard>(life_)));
  }
  co_await job->done.Wait();
  co_return job->status;
}

Task<void> Defragmenter::RunDefragment(std::shared_ptr<Job> job,
                                       std::unique_ptr<MemberLife::LoopGuard> guard) {
  // A count running off the loop reads the database the simulator's
  // defragmentation replaces; production's could run beside it, but one
  // rule is simpler and a count is short.
  if (count_ != nullptr) {
    std::shared_ptr<Job> count = count_;
    co_await count->done.Wait();
  }
  // A compaction's superseded revisions are removed in the background
  // (MvccCompactor); a defrag right after `compact` must drop them too, so
  // it waits for that removal first (etcd's defrag after a compaction
  // likewise finds the freed pages).
  while (key_space_.mvcc().compaction_pending() && !life_.stopping()) {
    co_await env_.clock().Sleep(Milliseconds(10));
  }
  env_.log().Info("starting defragment", {});
  const int64_t before = key_space_.SizeBytes();
  const TimePoint start = env_.clock().Now();
  job->status = co_await key_space_.Defragment();
  generation_++;
  counted_at_.reset();
  if (job->status.ok()) {
    env_.log().Info("finished defragment",
                    {{"size-before", before},
                     {"size-after", key_space_.SizeBytes()},
                     {"took", ToMilliseconds(env_.clock().Now() - start)}});
  } else {
    env_.log().Warn("failed to defragment", {{"error", job->status.ToString()}});
  }
  defragment_.reset();
  job->done.Set();
}

Task<int64_t> Defragmenter::InUseBytes(int64_t db_size) {
  const bool fresh =
      counted_at_.has_value() && env_.clock().Now() - *counted_at_ < kInUseRefresh;
  if (!fresh && !life_.stopping() && defragment_ == nullptr) {
    std::shared_ptr<Job> job = count_;
    if (job == nullptr) {
      job = std::make_shared<Job>();
      count_ = job;
      env_.Spawn(RunCount(job, std::make_unique<MemberLife::LoopGuard>(life_)));
    }
    co_await job->done.Wait();
  }
  co_return std::min(in_use_.value_or(db_size), db_size);
}

Task<void> Defragmenter::RunCount(std::shared_ptr<Job> job,
                                  std::unique_ptr<MemberLife::LoopGuard> guard) {
  const uint64_t generation = generation_;
  const TimePoint start = env_.clock().Now();
  absl::StatusOr<int64_t> bytes = co_await key_space_.LiveBytes();
  if (bytes.ok()) {
    in_use_ = *bytes;
    if (generation == generation_) counted_at_ = start;
  } else {
    job->status = bytes.status();
    env_.log().Warn("failed to count the key space's live bytes",
                    {{"error", bytes.status().ToString()}});
  }
  count_.reset();
  job->done.Set();
}

}  // namespace keel::node
