// ProgressTracker: configuration, progress and votes.
#include "raft/tracker.h"

#include "runtime/assert.h"

namespace keel::raft {
namespace {

std::string SetString(const absl::btree_set<uint64_t>& ids) {
  MajorityConfig config;
  for (uint64_t id : ids) config.insert(id);
  return config.String();
}

}  // namespace

std::string TrackerConfig::String() const {
  std::string out = "voters=" + voters.String();
  if (!learners.empty()) out += " learners=" + SetString(learners);
  if (!learners_next.empty()) {
    out += " learners_next=" + SetString(learners_next);
  }
  if (auto_leave) out += " autoleave";
  return out;
}

ConfState ProgressTracker::GetConfState() const {
  ConfState state;
  for (uint64_t id : config.voters.incoming) state.add_voters(id);
  for (uint64_t id : config.voters.outgoing) state.add_voters_outgoing(id);
  for (uint64_t id : config.learners) state.add_learners(id);
  for (uint64_t id : config.learners_next) state.add_learners_next(id);
  state.set_auto_leave(config.auto_leave);
  return state;
}

bool ProgressTracker::IsSingleton() const {
  return config.voters.incoming.size() == 1 && config.voters.outgoing.empty();
}

uint64_t ProgressTracker::Committed() const {
  return config.voters.CommittedIndex(
      [this](uint64_t id) -> std::optional<uint64_t> {
        auto it = progress.find(id);
        if (it == progress.end()) return std::nullopt;
        return it->second.match;
      });
}

bool ProgressTracker::QuorumActive() const {
  VoteMap active;
  for (const auto& [id, pr] : progress) {
    if (pr.is_learner) continue;
    active[id] = pr.recent_active;
  }
  return config.voters.GetVoteResult(active) == VoteResult::kWon;
}

std::vector<uint64_t> ProgressTracker::VoterNodes() const {
  absl::btree_set<uint64_t> ids = config.voters.Ids();
  return std::vector<uint64_t>(ids.begin(), ids.end());
}

std::vector<uint64_t> ProgressTracker::LearnerNodes() const {
  return std::vector<uint64_t>(config.learners.begin(), config.learners.end());
}

void ProgressTracker::RecordVote(uint64_t id, bool granted) {
  votes.try_emplace(id, granted);
}

VoteTally ProgressTracker::TallyVotes() const {
  VoteTally tally;
  for (const auto& [id, pr] : progress) {
    if (pr.is_learner) continue;
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    if (it->second) {
      tally.granted++;
    } else {
      tally.rejected++;
    }
  }
  tally.result = config.voters.GetVoteResult(votes);
  KEEL_ASSERT(tally.granted + tally.rejected <= progress.size());
  return tally;
}

}  // namespace keel::raft
