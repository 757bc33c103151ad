// Quorum arithmetic: which index a configuration has committed and whether
// an election is won, for a plain majority and for a joint configuration
// (a majority of both the incoming and the outgoing voters).
#ifndef KEEL_RAFT_QUORUM_H_
#define KEEL_RAFT_QUORUM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"

namespace keel::raft {

enum class VoteResult : uint8_t {
  // Not decided yet: enough votes are outstanding to go either way.
  kPending = 1,
  kLost,
  kWon,
};

// Votes cast, by voter id (true = granted).
using VoteMap = absl::btree_map<uint64_t, bool>;

// Returns the index a voter has acknowledged, or nullopt if it has none.
using AckedIndexer = absl::FunctionRef<std::optional<uint64_t>(uint64_t)>;

// A set of voters deciding by simple majority.
class MajorityConfig {
 public:
  MajorityConfig() = default;
  MajorityConfig(std::initializer_list<uint64_t> ids) : ids_(ids) {}

  // The largest index acknowledged by a majority. UINT64_MAX for an empty
  // config, so that a joint config with an empty half is decided by the
  // other half alone.
  uint64_t CommittedIndex(AckedIndexer acked) const;

  // kWon once a majority granted, kLost once a majority cannot grant.
  // An empty config wins (see CommittedIndex).
  VoteResult GetVoteResult(const VoteMap& votes) const;

  bool contains(uint64_t id) const { return ids_.contains(id); }
  void insert(uint64_t id) { ids_.insert(id); }
  void erase(uint64_t id) { ids_.erase(id); }
  void clear() { ids_.clear(); }
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  auto begin() const { return ids_.begin(); }
  auto end() const { return ids_.end(); }

  // Sorted ids.
  std::vector<uint64_t> Slice() const;
  // "(1 2 3)".
  std::string String() const;

  bool operator==(const MajorityConfig&) const = default;

 private:
  absl::btree_set<uint64_t> ids_;
};

// Two majority configs that must both agree. Outside of a joint
// configuration `outgoing` is empty.
struct JointConfig {
  MajorityConfig incoming;
  MajorityConfig outgoing;

  // min of the two halves' committed indexes.
  uint64_t CommittedIndex(AckedIndexer acked) const;
  // Won only if both halves won, lost if either lost.
  VoteResult GetVoteResult(const VoteMap& votes) const;
  // Every voter of either half.
  absl::btree_set<uint64_t> Ids() const;
  // "(1 2 3)" or "(1 2 3)&&(1 2 4)".
  std::string String() const;

  bool operator==(const JointConfig&) const = default;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_QUORUM_H_
