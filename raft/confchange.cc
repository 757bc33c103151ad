// Changer: the configuration that results from a change, and its checks.
#include "raft/confchange.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_split.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::raft {
namespace {

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(AsAbsl(message));
}

// Number of ids in exactly one of the two sets.
size_t SymmetricDifference(const MajorityConfig& a, const MajorityConfig& b) {
  size_t n = 0;
  for (uint64_t id : a) n += b.contains(id) ? 0 : 1;
  for (uint64_t id : b) n += a.contains(id) ? 0 : 1;
  return n;
}

absl::btree_set<uint64_t> SortedSet(
    const google::protobuf::RepeatedField<uint64_t>& ids) {
  return absl::btree_set<uint64_t>(ids.begin(), ids.end());
}

}  // namespace

absl::Status CheckInvariants(const ConfigAndProgress& state) {
  const TrackerConfig& config = state.config;
  const ProgressMap& progress = state.progress;
  auto has_progress = [&](uint64_t id) { return progress.contains(id); };
  for (uint64_t id : config.voters.Ids()) {
    if (!has_progress(id)) return absl::InternalError(StrCat("no progress for ", id));
  }
  for (uint64_t id : config.learners) {
    if (!has_progress(id)) return absl::InternalError(StrCat("no progress for ", id));
    if (config.voters.outgoing.contains(id)) {
      return absl::InternalError(StrCat(id, " is in learners and voters[1]"));
    }
    if (config.voters.incoming.contains(id)) {
      return absl::InternalError(StrCat(id, " is in learners and voters[0]"));
    }
    if (!progress.at(id).is_learner) {
      return absl::InternalError(
          StrCat(id, " is in learners, but is not marked as learner"));
    }
  }
  for (uint64_t id : config.learners_next) {
    if (!has_progress(id)) return absl::InternalError(StrCat("no progress for ", id));
    if (!config.voters.outgoing.contains(id)) {
      return absl::InternalError(
          StrCat(id, " is in learners_next, but not voters[1]"));
    }
    if (progress.at(id).is_learner) {
      return absl::InternalError(StrCat(
          id, " is in learners_next, but is already marked as learner"));
    }
  }
  for (const auto& [id, pr] : progress) {
    if (!config.voters.incoming.contains(id) &&
        !config.voters.outgoing.contains(id) && !config.learners.contains(id)) {
      return absl::InternalError(StrCat("progress for non-member ", id));
    }
  }
  if (!config.joint()) {
    if (!config.learners_next.empty()) {
      return absl::InternalError("learners_next must be empty when not joint");
    }
    if (config.auto_leave) {
      return absl::InternalError("auto_leave must be false when not joint");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfigAndProgress> Changer::CheckAndCopy() const {
  ConfigAndProgress state{tracker_.config, tracker_.progress};
  if (absl::Status status = CheckInvariants(state); !status.ok()) return status;
  return state;
}

absl::StatusOr<ConfigAndProgress> Changer::EnterJoint(
    bool auto_leave, const std::vector<ConfChangeSingle>& changes) const {
  absl::StatusOr<ConfigAndProgress> state = CheckAndCopy();
  if (!state.ok()) return state.status();
  if (state->config.joint()) return Invalid("config is already joint");
  if (state->config.voters.incoming.empty()) {
    return Invalid("can't make a zero-voter config joint");
  }
  state->config.voters.outgoing = state->config.voters.incoming;
  if (absl::Status status = Apply(&*state, changes); !status.ok()) {
    return status;
  }
  state->config.auto_leave = auto_leave;
  if (absl::Status status = CheckInvariants(*state); !status.ok()) {
    return status;
  }
  return state;
}

absl::StatusOr<ConfigAndProgress> Changer::LeaveJoint() const {
  absl::StatusOr<ConfigAndProgress> state = CheckAndCopy();
  if (!state.ok()) return state.status();
  TrackerConfig& config = state->config;
  if (!config.joint()) return Invalid("can't leave a non-joint config");
  for (uint64_t id : config.learners_next) {
    config.learners.insert(id);
    state->progress.at(id).is_learner = true;
  }
  config.learners_next.clear();
  for (uint64_t id : config.voters.outgoing) {
    if (!config.voters.incoming.contains(id) && !config.learners.contains(id)) {
      state->progress.erase(id);
    }
  }
  config.voters.outgoing.clear();
  config.auto_leave = false;
  if (absl::Status status = CheckInvariants(*state); !status.ok()) {
    return status;
  }
  return state;
}

absl::StatusOr<ConfigAndProgress> Changer::Simple(
    const std::vector<ConfChangeSingle>& changes) const {
  absl::StatusOr<ConfigAndProgress> state = CheckAndCopy();
  if (!state.ok()) return state.status();
  if (state->config.joint()) {
    return Invalid("can't apply simple config change in joint config");
  }
  if (absl::Status status = Apply(&*state, changes); !status.ok()) {
    return status;
  }
  if (SymmetricDifference(tracker_.config.voters.incoming,
                          state->config.voters.incoming) > 1) {
    return Invalid("more than one voter changed without entering joint config");
  }
  if (absl::Status status = CheckInvariants(*state); !status.ok()) {
    return status;
  }
  return state;
}

absl::Status Changer::Apply(ConfigAndProgress* state,
                            const std::vector<ConfChangeSingle>& changes) const {
  for (const ConfChangeSingle& change : changes) {
    // etcd treats node 0 as a no-op (it appears in empty v1 changes).
    if (change.node_id() == 0) continue;
    switch (change.type()) {
      case raftpb::ConfChangeAddNode:
        MakeVoter(state, change.node_id());
        break;
      case raftpb::ConfChangeAddLearnerNode:
        MakeLearner(state, change.node_id());
        break;
      case raftpb::ConfChangeRemoveNode:
        Remove(state, change.node_id());
        break;
      case raftpb::ConfChangeUpdateNode:
        break;
      default:
        return Invalid(StrCat("unexpected conf type ", change.type()));
    }
  }
  if (state->config.voters.incoming.empty()) return Invalid("removed all voters");
  return absl::OkStatus();
}

void Changer::MakeVoter(ConfigAndProgress* state, uint64_t id) const {
  auto it = state->progress.find(id);
  if (it == state->progress.end()) {
    InitProgress(state, id, /*is_learner=*/false);
    return;
  }
  it->second.is_learner = false;
  state->config.learners.erase(id);
  state->config.learners_next.erase(id);
  state->config.voters.incoming.insert(id);
}

void Changer::MakeLearner(ConfigAndProgress* state, uint64_t id) const {
  auto it = state->progress.find(id);
  if (it == state->progress.end()) {
    InitProgress(state, id, /*is_learner=*/true);
    return;
  }
  if (it->second.is_learner) return;
  // Remove the voter (keeping its progress), then add it back as a learner.
  // A voter of the outgoing half cannot become a learner until the joint
  // config is left, so it goes to learners_next.
  Progress progress = it->second;
  Remove(state, id);
  auto [slot, inserted] = state->progress.insert_or_assign(id, std::move(progress));
  if (state->config.voters.outgoing.contains(id)) {
    state->config.learners_next.insert(id);
  } else {
    slot->second.is_learner = true;
    state->config.learners.insert(id);
  }
}

void Changer::Remove(ConfigAndProgress* state, uint64_t id) const {
  if (!state->progress.contains(id)) return;
  state->config.voters.incoming.erase(id);
  state->config.learners.erase(id);
  state->config.learners_next.erase(id);
  // An outgoing voter keeps its progress until the joint config is left.
  if (!state->config.voters.outgoing.contains(id)) state->progress.erase(id);
}

void Changer::InitProgress(ConfigAndProgress* state, uint64_t id,
                           bool is_learner) const {
  if (is_learner) {
    state->config.learners.insert(id);
  } else {
    state->config.voters.incoming.insert(id);
  }
  Progress progress = tracker_.NewProgress();
  // Probe from the last index: the new member may already have the log.
  progress.next = std::max<uint64_t>(last_index_, 1);
  progress.match = 0;
  progress.is_learner = is_learner;
  // A new member counts as active: it should not be the reason a leader
  // steps down at the next check-quorum round.
  progress.recent_active = true;
  state->progress.insert_or_assign(id, std::move(progress));
}

absl::StatusOr<ConfigAndProgress> RestoreConfig(const ProgressTracker& tracker,
                                                uint64_t last_index,
                                                const ConfState& state) {
  // Outgoing voters are rebuilt first, one simple change at a time; then the
  // incoming config is entered jointly: remove them all, add the new voters
  // and learners.
  std::vector<ConfChangeSingle> outgoing;
  std::vector<ConfChangeSingle> incoming;
  auto change = [](raftpb::ConfChangeType type, uint64_t id) {
    ConfChangeSingle single;
    single.set_type(type);
    single.set_node_id(id);
    return single;
  };
  for (uint64_t id : state.voters_outgoing()) {
    outgoing.push_back(change(raftpb::ConfChangeAddNode, id));
    incoming.push_back(change(raftpb::ConfChangeRemoveNode, id));
  }
  for (uint64_t id : state.voters()) {
    incoming.push_back(change(raftpb::ConfChangeAddNode, id));
  }
  for (uint64_t id : state.learners()) {
    incoming.push_back(change(raftpb::ConfChangeAddLearnerNode, id));
  }
  for (uint64_t id : state.learners_next()) {
    incoming.push_back(change(raftpb::ConfChangeAddLearnerNode, id));
  }

  ProgressTracker current = tracker;
  auto step = [&](absl::StatusOr<ConfigAndProgress> next) -> absl::Status {
    if (!next.ok()) return next.status();
    current.config = std::move(next->config);
    current.progress = std::move(next->progress);
    return absl::OkStatus();
  };
  if (outgoing.empty()) {
    for (const ConfChangeSingle& single : incoming) {
      absl::Status status =
          step(Changer(current, last_index).Simple({single}));
      if (!status.ok()) return status;
    }
  } else {
    for (const ConfChangeSingle& single : outgoing) {
      absl::Status status =
          step(Changer(current, last_index).Simple({single}));
      if (!status.ok()) return status;
    }
    absl::Status status = step(Changer(current, last_index)
                                   .EnterJoint(state.auto_leave(), incoming));
    if (!status.ok()) return status;
  }
  return ConfigAndProgress{std::move(current.config),
                           std::move(current.progress)};
}

ConfChangeV2 AsV2(const ConfChange& change) {
  ConfChangeV2 v2;
  ConfChangeSingle* single = v2.add_changes();
  single->set_type(change.type());
  single->set_node_id(change.node_id());
  v2.set_context(change.context());
  return v2;
}

std::optional<bool> EnterJoint(const ConfChangeV2& change) {
  if (change.transition() == raftpb::ConfChangeTransitionAuto &&
      change.changes_size() <= 1) {
    return std::nullopt;
  }
  switch (change.transition()) {
    case raftpb::ConfChangeTransitionAuto:
    case raftpb::ConfChangeTransitionJointImplicit:
      return true;
    case raftpb::ConfChangeTransitionJointExplicit:
      return false;
    default:
      KEEL_UNREACHABLE();
  }
}

bool LeaveJoint(const ConfChangeV2& change) {
  return change.transition() == raftpb::ConfChangeTransitionAuto &&
         change.changes_size() == 0;
}

absl::StatusOr<std::vector<ConfChangeSingle>> ConfChangesFromString(
    std::string_view text) {
  std::vector<ConfChangeSingle> changes;
  for (absl::string_view token :
       absl::StrSplit(AsAbsl(text), ' ', absl::SkipEmpty())) {
    if (token.size() < 2) return Invalid(StrCat("unknown token ", AsStd(token)));
    ConfChangeSingle change;
    switch (token[0]) {
      case 'v':
        change.set_type(raftpb::ConfChangeAddNode);
        break;
      case 'l':
        change.set_type(raftpb::ConfChangeAddLearnerNode);
        break;
      case 'r':
        change.set_type(raftpb::ConfChangeRemoveNode);
        break;
      case 'u':
        change.set_type(raftpb::ConfChangeUpdateNode);
        break;
      default:
        return Invalid(StrCat("unknown input: ", AsStd(token)));
    }
    uint64_t id = 0;
    if (!ParseInt(AsStd(token.substr(1)), &id)) {
      return Invalid(StrCat("bad node id in ", AsStd(token)));
    }
    change.set_node_id(id);
    changes.push_back(std::move(change));
  }
  return changes;
}

std::string ConfChangeToString(const ConfChangeSingle& change) {
  std::string out;
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
      out = "v";
      break;
    case raftpb::ConfChangeAddLearnerNode:
      out = "l";
      break;
    case raftpb::ConfChangeRemoveNode:
      out = "r";
      break;
    case raftpb::ConfChangeUpdateNode:
      out = "u";
      break;
    default:
      out = "unknown";
  }
  StrAppend(&out, change.node_id());
  return out;
}

std::vector<ConfChangeSingle> ChangesOf(const ConfChangeV2& change) {
  return std::vector<ConfChangeSingle>(change.changes().begin(),
                                       change.changes().end());
}

bool ConfStatesEquivalent(const ConfState& a, const ConfState& b) {
  return SortedSet(a.voters()) == SortedSet(b.voters()) &&
         SortedSet(a.learners()) == SortedSet(b.learners()) &&
         SortedSet(a.voters_outgoing()) == SortedSet(b.voters_outgoing()) &&
         SortedSet(a.learners_next()) == SortedSet(b.learners_next()) &&
         a.auto_leave() == b.auto_leave();
}

}  // namespace keel::raft
