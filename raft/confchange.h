// Configuration changes: computing the configuration (and progress map)
// that results from applying a ConfChangeV2 to the current one, with the
// checks that keep membership changes safe.
//
// Two protocols (etcd's design):
//   * Simple: at most one voter is added or removed, so any majority of the
//     old voters overlaps any majority of the new ones. Learners may change
//     freely.
//   * Joint consensus: EnterJoint moves to (new voters)&&(old voters), in
//     which every decision needs a majority of both; LeaveJoint then drops
//     the outgoing half. Any change is allowed.
// A change takes effect when its entry is applied; the leader makes sure
// only one is pending at a time (raft.cc).
#ifndef KEEL_RAFT_CONFCHANGE_H_
#define KEEL_RAFT_CONFCHANGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/tracker.h"
#include "raft/types.h"

namespace keel::raft {

struct ConfigAndProgress {
  TrackerConfig config;
  ProgressMap progress;
};

class Changer {
 public:
  // last_index seeds the Next of progress entries for new members.
  Changer(const ProgressTracker& tracker, uint64_t last_index)
      : tracker_(tracker), last_index_(last_index) {}

  // Enters the joint configuration (changes applied to the incoming half,
  // the outgoing half a copy of the current voters). InvalidArgument if the
  // config is already joint, has no voters, or the result removes all
  // voters.
  absl::StatusOr<ConfigAndProgress> EnterJoint(
      bool auto_leave, const std::vector<ConfChangeSingle>& changes) const;

  // Leaves the joint configuration: drops the outgoing half, turns
  // learners_next into learners and forgets members that are in neither
  // half. InvalidArgument if not joint.
  absl::StatusOr<ConfigAndProgress> LeaveJoint() const;

  // Applies changes that alter at most one voter, without joint consensus.
  // InvalidArgument if joint, if more than one voter changes, or if no
  // voter remains.
  absl::StatusOr<ConfigAndProgress> Simple(
      const std::vector<ConfChangeSingle>& changes) const;

 private:
  absl::StatusOr<ConfigAndProgress> CheckAndCopy() const;
  absl::Status Apply(ConfigAndProgress* state,
                     const std::vector<ConfChangeSingle>& changes) const;
  void MakeVoter(ConfigAndProgress* state, uint64_t id) const;
  void MakeLearner(ConfigAndProgress* state, uint64_t id) const;
  void Remove(ConfigAndProgress* state, uint64_t id) const;
  void InitProgress(ConfigAndProgress* state, uint64_t id,
                    bool is_learner) const;

  const ProgressTracker& tracker_;
  uint64_t last_index_;
};

// Rebuilds the configuration a ConfState describes, starting from the empty
// configuration in `tracker` (as after a restart or snapshot install).
absl::StatusOr<ConfigAndProgress> RestoreConfig(const ProgressTracker& tracker,
                                                uint64_t last_index,
                                                const ConfState& state);

// Checks the configuration invariants; Internal error naming the broken one.
absl::Status CheckInvariants(const ConfigAndProgress& state);

// A ConfChange as the equivalent ConfChangeV2.
ConfChangeV2 AsV2(const ConfChange& change);

// If applying `change` enters a joint configuration, whether it leaves it
// automatically; nullopt if it uses the simple protocol (or leaves joint).
std::optional<bool> EnterJoint(const ConfChangeV2& change);

// Whether `change` is the empty change that leaves a joint configuration.
bool LeaveJoint(const ConfChangeV2& change);

// The compact text form used by tests: "v1 l2 r3 u4" (voter, learner,
// remove, update).
absl::StatusOr<std::vector<ConfChangeSingle>> ConfChangesFromString(
    std::string_view text);
std::string ConfChangeToString(const ConfChangeSingle& change);
template <typename Range>
std::string ConfChangesToString(const Range& changes) {
  std::string out;
  for (const ConfChangeSingle& change : changes) {
    if (!out.empty()) out += ' ';
    out += ConfChangeToString(change);
  }
  return out;
}

// The changes of a ConfChangeV2 as a vector.
std::vector<ConfChangeSingle> ChangesOf(const ConfChangeV2& change);

// Whether two ConfStates describe the same configuration (order-blind).
bool ConfStatesEquivalent(const ConfState& a, const ConfState& b);

}  // namespace keel::raft

#endif  // KEEL_RAFT_CONFCHANGE_H_
