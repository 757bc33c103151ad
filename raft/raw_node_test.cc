// RawNode: the Ready/Advance cycle and its contract (what each Ready
// carries, when must_sync is set, no second Ready before Advance, work that
// arrives while a Ready is being handled), bootstrap and restart, the
// public calls, and Status.
#include "raft/raw_node.h"

#include <gtest/gtest.h>

#include "raft/confchange.h"
#include "raft/describe.h"
#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::MakeEntry;
using testing::MakeMessage;
using testing::StorageWithPeers;
using testing::TestConfig;

class RawNodeTest : public ::testing::Test {
 protected:
  // A node over storage_ (created by the test), random seeded by id.
  std::unique_ptr<RawNode> Start(uint64_t id = 1,
                                 const testing::Configure& configure = {}) {
    Config config = TestConfig(id, 10, 1, *storage_, random_);
    if (configure) configure(config);
    auto node = RawNode::Create(config);
    EXPECT_TRUE(node.ok()) << node.status();
    return *std::move(node);
  }

  // Handles one Ready the way the contract says, without sending anything;
  // returns it.
  Ready Handle(RawNode& node) {
    Ready rd = node.Ready();
    if (rd.snapshot.has_value()) {
      EXPECT_TRUE(storage_->ApplySnapshot(*rd.snapshot).ok());
    }
    EXPECT_TRUE(storage_->Append(rd.entries).ok());
    if (rd.hard_state.has_value()) storage_->SetHardState(*rd.hard_state);
    for (const Entry& entry : rd.committed_entries) {
      if (entry.type() == raftpb::EntryConfChangeV2) {
        ConfChangeV2 change;
        EXPECT_TRUE(change.ParseFromString(entry.data()));
        EXPECT_TRUE(node.ApplyConfChange(change).ok());
      } else if (entry.type() == raftpb::EntryConfChange) {
        ConfChange change;
        EXPECT_TRUE(change.ParseFromString(entry.data()));
        EXPECT_TRUE(node.ApplyConfChange(change).ok());
      }
    }
    node.Advance();
    return rd;
  }

  void HandleAll(RawNode& node) {
    while (node.HasReady()) Handle(node);
  }

  std::unique_ptr<MemoryStorage> storage_ = StorageWithPeers({1});
  Random random_{1};
};

TEST_F(RawNodeTest, InvalidConfigsAreRefused) {
  Config config = TestConfig(0, 10, 1, *storage_, random_);
  EXPECT_EQ(RawNode::Create(config).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.id = 1;
  config.election_ticks = 1;
  EXPECT_FALSE(RawNode::Create(config).ok());
  config.election_ticks = 10;
  config.max_inflight_msgs = 0;
  EXPECT_FALSE(RawNode::Create(config).ok());
}

TEST_F(RawNodeTest, ASingleNodeCampaignsProposesAndCommits) {
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  Ready rd = Handle(*node);
  ASSERT_TRUE(rd.soft_state.has_value());
  EXPECT_EQ(rd.soft_state->state, StateType::kLeader);
  EXPECT_EQ(rd.soft_state->lead, 1u);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(DescribeHardState(*rd.hard_state), "Term:1 Vote:1 Commit:1");
  EXPECT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_FALSE(node->HasReady());

  ASSERT_TRUE(node->Propose("foo").ok());
  rd = Handle(*node);
  EXPECT_FALSE(rd.soft_state.has_value());
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].data(), "foo");
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "foo");
  EXPECT_EQ(node->Status().applied, 2u);
}

TEST_F(RawNodeTest, MustSyncOnlyForEntriesTermOrVote) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start();
  // A heartbeat that only raises the commit index... at a new term first.
  Message app = MakeMessage(2, 1, raftpb::MsgApp, 1);
  *app.add_entries() = MakeEntry(1, 1, "a");
  ASSERT_TRUE(node->Step(app).ok());
  Ready rd = Handle(*node);
  EXPECT_TRUE(rd.must_sync);
  Message beat = MakeMessage(2, 1, raftpb::MsgHeartbeat, 1);
  beat.set_commit(1);
  ASSERT_TRUE(node->Step(beat).ok());
  rd = Handle(*node);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->commit(), 1u);
  // Losing a commit index is harmless: it is learned again.
  EXPECT_FALSE(rd.must_sync);
  EXPECT_EQ(rd.committed_entries.size(), 1u);
}

TEST_F(RawNodeTest, MessagesThatDependOnAVoteComeWithItsHardState) {
  storage_ = StorageWithPeers({1, 2, 3});
  auto node = Start();
  Message vote = MakeMessage(2, 1, raftpb::MsgVote, 3);
  ASSERT_TRUE(node->Step(vote).ok());
  Ready rd = node->Ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 2u);
  EXPECT_TRUE(rd.must_sync);
  node->Advance();
}

TEST_F(RawNodeTest, NoReadyIsHandedOutBeforeTheLastOneIsAdvanced) {
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  Ready rd = node->Ready();
  EXPECT_FALSE(node->HasReady());
  EXPECT_DEATH(node->Ready(), "Advance");
  node->Advance();
  EXPECT_FALSE(node->HasReady());
}

TEST_F(RawNodeTest, WorkArrivingWhileAReadyIsHandledShowsUpInTheNextOne) {
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  HandleAll(*node);
  ASSERT_TRUE(node->Propose("a").ok());
  Ready first = node->Ready();
  ASSERT_EQ(first.entries.size(), 1u);
  // While "a" is being persisted, another proposal arrives.
  ASSERT_TRUE(node->Propose("b").ok());
  ASSERT_TRUE(storage_->Append(first.entries).ok());
  storage_->SetHardState(*first.hard_state);
  node->Advance();
  ASSERT_TRUE(node->HasReady());
  Ready second = Handle(*node);
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries[0].data(), "b");
  ASSERT_EQ(second.committed_entries.size(), 1u);
  EXPECT_EQ(second.committed_entries[0].data(), "b");
}

TEST_F(RawNodeTest, CommittedEntriesAreBoundedPerReady) {
  auto node = Start(1, [](Config& c) { c.max_committed_size_per_ready = 1; });
  ASSERT_TRUE(node->Campaign().ok());
  HandleAll(*node);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(node->Propose("data").ok());
  size_t readies = 0;
  size_t applied = 0;
  while (node->HasReady()) {
    Ready rd = Handle(*node);
    EXPECT_LE(rd.committed_entries.size(), 1u);
    applied += rd.committed_entries.size();
    readies++;
  }
  EXPECT_EQ(applied, 3u);
  EXPECT_GE(readies, 3u);
}

TEST_F(RawNodeTest, BootstrapCommitsTheInitialMembership) {
  storage_ = std::make_unique<MemoryStorage>();
  auto node = Start();
  std::vector<Peer> peers = {{1, "a"}, {2, "b"}};
  ASSERT_TRUE(node->Bootstrap(peers).ok());
  EXPECT_EQ(node->Bootstrap(peers).code(), absl::StatusCode::kFailedPrecondition);
  Ready rd = Handle(*node);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(DescribeHardState(*rd.hard_state), "Term:1 Commit:2");
  ASSERT_EQ(rd.entries.size(), 2u);
  ASSERT_EQ(rd.committed_entries.size(), 2u);
  EXPECT_EQ(DescribeEntry(rd.committed_entries[0]), "1/1 EntryConfChange v1");
  EXPECT_EQ(node->Status().config.String(), "voters=(1 2)");
  EXPECT_TRUE(node->Bootstrap({}).code() == absl::StatusCode::kInvalidArgument);
}

TEST_F(RawNodeTest, ARestartedNodeReappliesOnlyWhatItHasNotApplied) {
  std::vector<Entry> entries = {MakeEntry(1, 1, "a"), MakeEntry(2, 1, "b"),
                                MakeEntry(3, 1, "c")};
  ASSERT_TRUE(storage_->Append(entries).ok());
  HardState state;
  state.set_term(1);
  state.set_commit(2);
  storage_->SetHardState(state);
  {
    auto node = Start();
    Ready rd = Handle(*node);
    ASSERT_EQ(rd.committed_entries.size(), 2u);
    EXPECT_FALSE(rd.hard_state.has_value());
    EXPECT_TRUE(rd.entries.empty());
  }
  auto node = Start(1, [](Config& c) { c.applied = 1; });
  Ready rd = Handle(*node);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "b");
}

TEST_F(RawNodeTest, ARestartedNodeStartsFromItsSnapshot) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(2);
  snapshot.mutable_metadata()->set_term(1);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(1);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(2);
  storage_ = std::make_unique<MemoryStorage>();
  ASSERT_TRUE(storage_->ApplySnapshot(snapshot).ok());
  ASSERT_TRUE(storage_->Append({MakeEntry(3, 1, "a")}).ok());
  HardState state;
  state.set_term(1);
  state.set_commit(3);
  storage_->SetHardState(state);
  auto node = Start();
  Ready rd = Handle(*node);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].index(), 3u);
  EXPECT_EQ(node->Status().config.String(), "voters=(1 2)");
}

TEST_F(RawNodeTest, AReceivedSnapshotIsHandedOutAndAppliedThroughReady) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start(2);
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  m.mutable_snapshot()->mutable_metadata()->set_index(10);
  m.mutable_snapshot()->mutable_metadata()->set_term(1);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(1);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(2);
  m.mutable_snapshot()->set_data("state");
  ASSERT_TRUE(node->Step(m).ok());
  Ready rd = Handle(*node);
  ASSERT_TRUE(rd.snapshot.has_value());
  EXPECT_EQ(rd.snapshot->data(), "state");
  EXPECT_TRUE(rd.committed_entries.empty());
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].index(), 10u);
  EXPECT_EQ(node->Status().applied, 10u);
  EXPECT_EQ(*storage_->FirstIndex(), 11u);
  EXPECT_FALSE(node->HasReady());
}

TEST_F(RawNodeTest, StepRefusesLocalMessagesAndStrangersResponses) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start();
  EXPECT_TRUE(IsError(node->Step(MakeMessage(1, 1, raftpb::MsgHup)),
                      Error::kStepLocalMessage));
  EXPECT_TRUE(IsError(node->Step(MakeMessage(9, 1, raftpb::MsgAppResp, 1)),
                      Error::kStepPeerNotFound));
  // A request from a stranger is fine (it may be a new member).
  EXPECT_TRUE(node->Step(MakeMessage(9, 1, raftpb::MsgHeartbeat, 1)).ok());
}

TEST_F(RawNodeTest, ProposeConfChangeThenApplyIt) {
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  HandleAll(*node);
  ConfChange change;
  change.set_type(raftpb::ConfChangeAddLearnerNode);
  change.set_node_id(2);
  ASSERT_TRUE(node->ProposeConfChange(change).ok());
  HandleAll(*node);
  EXPECT_EQ(node->Status().config.String(), "voters=(1) learners=(2)");
  ConfChangeV2 joint;
  absl::StatusOr<std::vector<ConfChangeSingle>> singles = ConfChangesFromString("v2 v3");
  for (const ConfChangeSingle& single : *singles) *joint.add_changes() = single;
  ASSERT_TRUE(node->ProposeConfChange(joint).ok());
  HandleAll(*node);
  // 2 and 3 never answer, so the joint config is entered but its automatic
  // leave cannot commit.
  EXPECT_EQ(node->Status().config.String(), "voters=(1 2 3)&&(1) autoleave");
}

TEST_F(RawNodeTest, ReadIndexOnASingleNodeAnswersInTheNextReady) {
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  HandleAll(*node);
  node->ReadIndex("ctx");
  ASSERT_TRUE(node->HasReady());
  Ready rd = Handle(*node);
  ASSERT_EQ(rd.read_states.size(), 1u);
  EXPECT_EQ(rd.read_states[0], (ReadState{1, "ctx"}));
}

TEST_F(RawNodeTest, ReportSnapshotAndUnreachableReachTheLeader) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  ASSERT_TRUE(node->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 1)).ok());
  HandleAll(*node);
  Raft& raft = node->mutable_raft();
  Progress& pr = raft.mutable_tracker().progress.at(2);
  pr.BecomeSnapshot(5);
  node->ReportSnapshot(2, /*ok=*/false);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  pr.BecomeReplicate();
  node->ReportUnreachable(2);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
}

TEST_F(RawNodeTest, TransferLeaderOnTheLeaderSendsTimeoutNow) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start();
  ASSERT_TRUE(node->Campaign().ok());
  ASSERT_TRUE(node->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 1)).ok());
  HandleAll(*node);
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  ack.set_index(1);
  ASSERT_TRUE(node->Step(ack).ok());
  HandleAll(*node);
  node->TransferLeader(2);
  Ready rd = Handle(*node);
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].type(), raftpb::MsgTimeoutNow);
  EXPECT_EQ(node->Status().lead_transferee, 2u);
}

TEST_F(RawNodeTest, AdvanceReleasesTheUncommittedBudget) {
  auto node = Start(1, [](Config& c) { c.max_uncommitted_entries_size = 10; });
  ASSERT_TRUE(node->Campaign().ok());
  HandleAll(*node);
  ASSERT_TRUE(node->Propose("0123456789").ok());
  EXPECT_TRUE(IsError(node->Propose("x"), Error::kProposalDropped));
  HandleAll(*node);
  EXPECT_EQ(node->raft().uncommitted_size(), 0u);
  EXPECT_TRUE(node->Propose("x").ok());
}

TEST_F(RawNodeTest, StatusDescribesTheMemberAndItsFollowers) {
  storage_ = StorageWithPeers({1, 2});
  auto node = Start();
  raft::Status status = node->Status();
  EXPECT_EQ(status.id, 1u);
  EXPECT_TRUE(status.progress.empty());
  ASSERT_TRUE(node->Campaign().ok());
  ASSERT_TRUE(node->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 1)).ok());
  status = node->Status();
  EXPECT_EQ(status.soft_state.state, StateType::kLeader);
  EXPECT_EQ(status.progress.size(), 2u);
  EXPECT_EQ(status.String(),
            "{\"id\":\"1\",\"term\":1,\"vote\":\"1\",\"commit\":0,\"lead\":\"1\","
            "\"raftState\":\"StateLeader\",\"applied\":0,\"progress\":{"
            "\"1\":{\"match\":1,\"next\":2,\"state\":\"StateReplicate\"},"
            "\"2\":{\"match\":0,\"next\":1,\"state\":\"StateProbe\"}},"
            "\"leadtransferee\":\"0\"}");
}

}  // namespace
}  // namespace keel::raft
