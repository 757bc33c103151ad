// Quorum arithmetic: committed indexes and election results for majority
// and joint configurations, by table and by comparison with a brute-force
// definition over random inputs.
#include "raft/quorum.h"

#include <gtest/gtest.h>

#include <map>

#include "runtime/random.h"

namespace keel::raft {
namespace {

uint64_t Committed(const MajorityConfig& config,
                   const std::map<uint64_t, uint64_t>& acked) {
  return config.CommittedIndex([&](uint64_t id) -> std::optional<uint64_t> {
    auto it = acked.find(id);
    if (it == acked.end()) return std::nullopt;
    return it->second;
  });
}

uint64_t Committed(const JointConfig& config,
                   const std::map<uint64_t, uint64_t>& acked) {
  return config.CommittedIndex([&](uint64_t id) -> std::optional<uint64_t> {
    auto it = acked.find(id);
    if (it == acked.end()) return std::nullopt;
    return it->second;
  });
}

TEST(QuorumTest, MajorityCommitsWhatMostVotersAcknowledged) {
  struct Case {
    MajorityConfig config;
    std::map<uint64_t, uint64_t> acked;
    uint64_t want;
  } cases[] = {
      {{}, {}, UINT64_MAX},
      {{1}, {}, 0},
      {{1}, {{1, 12}}, 12},
      {{1, 2}, {{1, 12}}, 0},
      {{1, 2}, {{1, 12}, {2, 5}}, 5},
      {{1, 2, 3}, {{1, 12}, {2, 5}}, 5},
      {{1, 2, 3}, {{1, 12}, {2, 5}, {3, 4}}, 5},
      {{1, 2, 3}, {{1, 12}}, 0},
      {{1, 2, 3, 4}, {{1, 12}, {2, 5}, {3, 4}}, 4},
      {{1, 2, 3, 4, 5}, {{1, 12}, {2, 5}, {3, 4}, {4, 4}, {5, 1}}, 4},
      // Non-voters do not count.
      {{1, 2, 3}, {{1, 12}, {7, 100}, {8, 100}}, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Committed(c.config, c.acked), c.want) << c.config.String();
  }
}

TEST(QuorumTest, JointCommitsTheMinimumOfBothHalves) {
  JointConfig config{{1, 2, 3}, {3, 4, 5}};
  EXPECT_EQ(Committed(config, {{1, 10}, {2, 10}, {3, 5}, {4, 5}, {5, 1}}), 5u);
  EXPECT_EQ(Committed(config, {{1, 10}, {2, 10}, {3, 1}}), 0u);
  JointConfig simple{{1, 2, 3}, {}};
  EXPECT_EQ(Committed(simple, {{1, 10}, {2, 7}}), 7u);
  EXPECT_EQ(config.String(), "(1 2 3)&&(3 4 5)");
  EXPECT_EQ(simple.String(), "(1 2 3)");
}

TEST(QuorumTest, MajorityVoteIsWonLostOrPending) {
  struct Case {
    MajorityConfig config;
    VoteMap votes;
    VoteResult want;
  } cases[] = {
      {{}, {}, VoteResult::kWon},
      {{1, 2}, {}, VoteResult::kPending},
      {{1, 2}, {{1, true}}, VoteResult::kPending},
      {{1, 2}, {{1, true}, {2, true}}, VoteResult::kWon},
      {{1, 2}, {{1, false}}, VoteResult::kLost},
      {{1, 2, 3}, {{1, true}, {2, false}}, VoteResult::kPending},
      {{1, 2, 3}, {{1, true}, {2, true}}, VoteResult::kWon},
      {{1, 2, 3}, {{1, false}, {2, false}}, VoteResult::kLost},
      {{1, 2, 3, 4}, {{1, true}, {2, true}, {3, false}}, VoteResult::kPending},
      {{1, 2, 3, 4}, {{1, true}, {2, false}, {3, false}}, VoteResult::kLost},
      // Votes of non-voters are ignored.
      {{1, 2, 3}, {{1, true}, {7, true}, {8, true}}, VoteResult::kPending},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.config.GetVoteResult(c.votes), c.want) << c.config.String();
  }
}

TEST(QuorumTest, JointVoteNeedsBothHalves) {
  JointConfig config{{1, 2, 3}, {3, 4, 5}};
  EXPECT_EQ(config.GetVoteResult({{1, true}, {2, true}}), VoteResult::kPending);
  EXPECT_EQ(config.GetVoteResult({{1, true}, {2, true}, {3, true}, {4, true}}),
            VoteResult::kWon);
  EXPECT_EQ(config.GetVoteResult({{1, true}, {2, true}, {4, false}, {5, false}}),
            VoteResult::kLost);
  EXPECT_EQ(config.GetVoteResult({{3, false}, {4, false}}), VoteResult::kLost);
}

// The definition: the largest index such that a majority acknowledged at
// least that much.
uint64_t BruteForceCommitted(const MajorityConfig& config,
                             const std::map<uint64_t, uint64_t>& acked) {
  if (config.empty()) return UINT64_MAX;
  uint64_t best = 0;
  for (uint64_t candidate = 0; candidate <= 20; candidate++) {
    size_t have = 0;
    for (uint64_t id : config) {
      auto it = acked.find(id);
      if (it != acked.end() && it->second >= candidate) have++;
    }
    if (have >= config.size() / 2 + 1) best = candidate;
  }
  return best;
}

TEST(QuorumTest, CommittedIndexMatchesTheDefinitionOnRandomInputs) {
  Random rng(7);
  for (int round = 0; round < 2000; round++) {
    MajorityConfig config;
    std::map<uint64_t, uint64_t> acked;
    const uint64_t voters = rng.Uniform(9);
    for (uint64_t id = 1; id <= voters; id++) {
      config.insert(id);
      if (!rng.OneIn(4)) acked[id] = rng.Uniform(21);
    }
    // Non-voters with acknowledgements.
    acked[100] = rng.Uniform(21);
    ASSERT_EQ(Committed(config, acked), BruteForceCommitted(config, acked))
        << config.String();
  }
}

}  // namespace
}  // namespace keel::raft
