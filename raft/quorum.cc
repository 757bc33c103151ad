// Majority and joint quorum decisions.
#include "raft/quorum.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::raft {

uint64_t MajorityConfig::CommittedIndex(AckedIndexer acked) const {
  const size_t n = ids_.size();
  if (n == 0) return UINT64_MAX;
  // Unacknowledged voters count as index 0.
  uint64_t stack[7];
  std::vector<uint64_t> heap;
  uint64_t* sorted = stack;
  if (n > 7) {
    heap.resize(n);
    sorted = heap.data();
  }
  size_t i = 0;
  for (uint64_t id : ids_) sorted[i++] = acked(id).value_or(0);
  std::sort(sorted, sorted + n);
  // Sorted ascending, the entry at n - (n/2 + 1) is acknowledged by
  // n/2 + 1 voters: a majority.
  const size_t position = n - (n / 2 + 1);
  KEEL_ASSERT(position < n);
  return sorted[position];
}

VoteResult MajorityConfig::GetVoteResult(const VoteMap& votes) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t granted = 0;
  size_t missing = 0;
  for (uint64_t id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      missing++;
    } else if (it->second) {
      granted++;
    }
  }
  const size_t quorum = ids_.size() / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (granted + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

std::vector<uint64_t> MajorityConfig::Slice() const {
  return std::vector<uint64_t>(ids_.begin(), ids_.end());
}

std::string MajorityConfig::String() const {
  std::string out = "(";
  bool first = true;
  for (uint64_t id : ids_) {
    if (!first) out += ' ';
    first = false;
    StrAppend(&out, id);
  }
  out += ')';
  return out;
}

uint64_t JointConfig::CommittedIndex(AckedIndexer acked) const {
  return std::min(incoming.CommittedIndex(acked),
                  outgoing.CommittedIndex(acked));
}

VoteResult JointConfig::GetVoteResult(const VoteMap& votes) const {
  const VoteResult in = incoming.GetVoteResult(votes);
  const VoteResult out = outgoing.GetVoteResult(votes);
  if (in == out) return in;
  if (in == VoteResult::kLost || out == VoteResult::kLost) {
    return VoteResult::kLost;
  }
  // One half won and the other is pending.
  return VoteResult::kPending;
}

absl::btree_set<uint64_t> JointConfig::Ids() const {
  absl::btree_set<uint64_t> ids(incoming.begin(), incoming.end());
  ids.insert(outgoing.begin(), outgoing.end());
  return ids;
}

std::string JointConfig::String() const {
  if (!outgoing.empty()) return incoming.String() + "&&" + outgoing.String();
  return incoming.String();
}

}  // namespace keel::raft
