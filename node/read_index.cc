// ReadIndexBatcher: batching linearizable reads onto ReadIndex requests.
#include "node/read_index.h"

#include "node/errors.h"
#include "runtime/buggify.h"

namespace keel::node {

Task<absl::Status> ReadIndexBatcher::Barrier() {
  auto holder = life_.EnterRequest();
  if (!holder.ok()) co_return holder.status();
  // Join the batch whose ReadIndex raft has not been asked yet (the raft
  // node asks at its next turn, so reads arriving until then share it);
  // once asked, a batch takes no more reads.
  // Buggify: a batch of its own although one still takes reads (legal:
  // each asks raft after the read arrived), so several are in flight.
  if (open_ == nullptr || !raft_.ReadQueued(open_id_) || Buggify()) {
    open_ = std::make_shared<Batch>();
    open_id_ = next_id_++;
    sent_[open_id_] = open_;
    raft_.ReadIndex(open_id_);
  }
  KEEL_ASSERT(raft_.ReadQueued(open_id_));
  std::shared_ptr<Batch> batch = open_;
  const TimePoint deadline = env_.clock().Now() + timeout_;
  const bool answered = co_await env_.clock().WithTimeout(timeout_, batch->done.Wait());
  if (!answered) co_return MakeError(EtcdError::kTimeout);
  if (!batch->status.ok()) co_return batch->status;
  KEEL_ASSERT(batch->index.has_value());
  const Duration left = deadline - env_.clock().Now();
  const bool applied = co_await env_.clock().WithTimeout(
      left > Duration::zero() ? left : Duration::zero(), applied_.WaitFor(*batch->index));
  if (!applied) co_return MakeError(EtcdError::kTimeoutWaitAppliedIndex);
  if (life_.stopping()) co_return MakeError(EtcdError::kStopped);
  KEEL_ASSERT(applied_.index() >= *batch->index);
  co_return absl::OkStatus();
}

void ReadIndexBatcher::Answered(uint64_t read_id, uint64_t index) {
  auto it = sent_.find(read_id);
  if (it == sent_.end()) return;
  std::shared_ptr<Batch> batch = std::move(it->second);
  sent_.erase(it);
  if (batch == open_) open_.reset();
  batch->index = index;
  batch->done.Set();
}

void ReadIndexBatcher::FailAll(const absl::Status& status) {
  KEEL_ASSERT(!status.ok());
  open_.reset();
  for (auto& [id, batch] : sent_) {
    batch->status = status;
    batch->done.Set();
  }
  sent_.clear();
  raft_.ForgetReads();
}

}  // namespace keel::node
