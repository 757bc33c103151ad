// ReadOnly: pending ReadIndex requests and their acknowledgements.
#include "raft/read_only.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::raft {

void ReadOnly::AddRequest(uint64_t index, Message request) {
  KEEL_ASSERT(request.entries_size() == 1);
  std::string context = request.entries(0).data();
  if (pending_.contains(context)) return;
  queue_.push_back(context);
  pending_.emplace(std::move(context),
                   ReadIndexStatus{std::move(request), index, {}});
  KEEL_ASSERT(queue_.size() == pending_.size());
}

const VoteMap* ReadOnly::RecvAck(uint64_t id, std::string_view context) {
  auto it = pending_.find(AsAbsl(context));
  if (it == pending_.end()) return nullptr;
  it->second.acks[id] = true;
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::Advance(std::string_view context) {
  size_t count = 0;
  bool found = false;
  for (const std::string& queued : queue_) {
    count++;
    if (queued == context) {
      found = true;
      break;
    }
  }
  if (!found) return {};
  std::vector<ReadIndexStatus> done;
  done.reserve(count);
  for (size_t i = 0; i < count; i++) {
    auto it = pending_.find(queue_.front());
    KEEL_ASSERT_MSG(it != pending_.end(), "read index queue out of sync");
    done.push_back(std::move(it->second));
    pending_.erase(it);
    queue_.pop_front();
  }
  return done;
}

std::string ReadOnly::LastPendingRequestContext() const {
  if (queue_.empty()) return "";
  return queue_.back();
}

}  // namespace keel::raft
