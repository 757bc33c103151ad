// Tests of WalRaftStorage as raft sees it: the raft::Storage contract (empty
// log, overwrite of a conflicting tail, compaction and the term of the
// snapshot index, installed snapshots) before and after a reopen, and a
// single-member raft group that persists every Ready through it, crashes
// and comes back with every committed proposal.
#include "node/wal_raft_storage.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/errors.h"
#include "raft/raw_node.h"
#include "sim/sim_testing.h"

namespace keel::node {
namespace {

using sim::SimHarness;

constexpr store::WalIdentity kIdentity{.member_id = 1, .cluster_id = 99};

raftpb::Entry MakeEntry(uint64_t index, uint64_t term) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data("v" + std::to_string(index) + "@" + std::to_string(term));
  return entry;
}

std::vector<raftpb::Entry> MakeEntries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = from; i <= to; i++) entries.push_back(MakeEntry(i, term));
  return entries;
}

raftpb::HardState MakeHardState(uint64_t term, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(1);
  state.set_commit(commit);
  return state;
}

raftpb::ConfState Voters(std::vector<uint64_t> ids) {
  raftpb::ConfState conf;
  for (uint64_t id : ids) conf.add_voters(id);
  return conf;
}

bool IsRaftError(const absl::Status& status, raft::Error error) {
  return status.code() == raft::MakeError(error).code() &&
         status.message() == raft::MakeError(error).message();
}

class WalRaftStorageTest : public ::testing::Test {
 protected:
  WalRaftStorageTest() : h_(3) {}

  store::WalOptions Options() const {
    return {.dir = "wal", .segment_bytes = 2048, .max_segments = 1};
  }

  std::unique_ptr<WalRaftStorage> Create() {
    auto storage =
        h_.Run(WalRaftStorage::Create(h_.env(), Options(), kIdentity, Voters({1, 2, 3})));
    KEEL_ASSERT(storage.ok());
    return std::move(*storage);
  }

  std::unique_ptr<WalRaftStorage> Reopen() {
    auto storage = h_.Run(WalRaftStorage::Open(h_.env(), Options(), kIdentity));
    KEEL_ASSERT_MSG(storage.ok(), storage.status().ToString().c_str());
    return std::move(*storage);
  }

  void Save(WalRaftStorage& storage, std::vector<raftpb::Entry> entries,
            raftpb::HardState hard_state = {}) {
    ASSERT_TRUE(h_.Run(storage.Save(hard_state, std::move(entries), {})).ok());
  }

  SimHarness h_;
};

TEST_F(WalRaftStorageTest, NewStorageHasAnEmptyLog) {
  std::unique_ptr<WalRaftStorage> storage = Create();
  EXPECT_EQ(*storage->FirstIndex(), 1u);
  EXPECT_EQ(*storage->LastIndex(), 0u);
  EXPECT_EQ(*storage->Term(0), 0u);
  auto initial = storage->GetInitialState();
  EXPECT_EQ(initial->conf_state.voters_size(), 3);
  EXPECT_TRUE(raft::IsEmptyHardState(initial->hard_state));
}

TEST_F(WalRaftStorageTest, SavedEntriesAndHardStateSurviveAReopen) {
  {
    std::unique_ptr<WalRaftStorage> storage = Create();
    Save(*storage, MakeEntries(1, 10, 1), MakeHardState(1, 7));
  }
  std::unique_ptr<WalRaftStorage> storage = Reopen();
  EXPECT_EQ(*storage->LastIndex(), 10u);
  auto entries = storage->Entries(3, 6, raft::kNoLimit);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].data(), "v3@1");
  EXPECT_EQ(storage->GetInitialState()->hard_state.commit(), 7u);
}

TEST_F(WalRaftStorageTest, ConflictingTailIsOverwritten) {
  {
    std::unique_ptr<WalRaftStorage> storage = Create();
    Save(*storage, MakeEntries(1, 10, 1), MakeHardState(1, 5));
    // A new leader replaces the uncommitted 7..10 with its own 7..8.
    Save(*storage, MakeEntries(7, 8, 2), MakeHardState(2, 5));
    EXPECT_EQ(*storage->LastIndex(), 8u);
    EXPECT_EQ(*storage->Term(7), 2u);
  }
  std::unique_ptr<WalRaftStorage> storage = Reopen();
  EXPECT_EQ(*storage->LastIndex(), 8u);
  EXPECT_EQ(*storage->Term(6), 1u);
  EXPECT_EQ(*storage->Term(7), 2u);
  EXPECT_EQ((*storage->Entries(8, 9, raft::kNoLimit))[0].data(), "v8@2");
}

TEST_F(WalRaftStorageTest, CompactionKeepsTheTermOfTheSnapshotIndex) {
  {
    std::unique_ptr<WalRaftStorage> storage = Create();
    for (uint64_t i = 1; i <= 200; i += 20) {
      Save(*storage, MakeEntries(i, i + 19, 1 + i / 100), MakeHardState(2, i + 19));
    }
    const size_t segments = storage->wal().segment_names().size();
    ASSERT_TRUE(h_.Run(storage->Compact(150, Voters({1, 2}))).ok());
    EXPECT_LT(storage->wal().segment_names().size(), segments);
    EXPECT_EQ(*storage->FirstIndex(), 151u);
    EXPECT_EQ(*storage->Term(150), 2u);
    EXPECT_TRUE(IsRaftError(storage->Term(149).status(), raft::Error::kCompacted));
    EXPECT_TRUE(IsRaftError(storage->Entries(150, 152, raft::kNoLimit).status(),
                            raft::Error::kCompacted));
    EXPECT_TRUE(IsRaftError(h_.Run(storage->Compact(150, Voters({1}))),
                            raft::Error::kSnapshotOutOfDate));
  }
  std::unique_ptr<WalRaftStorage> storage = Reopen();
  EXPECT_EQ(*storage->FirstIndex(), 151u);
  EXPECT_EQ(*storage->LastIndex(), 200u);
  EXPECT_EQ(*storage->Term(150), 2u);
  EXPECT_TRUE(IsRaftError(storage->Term(149).status(), raft::Error::kCompacted));
  auto snapshot = storage->Snapshot();
  EXPECT_EQ(snapshot->metadata().index(), 150u);
  EXPECT_EQ(snapshot->metadata().conf_state().voters_size(), 2);
  EXPECT_EQ(storage->GetInitialState()->conf_state.voters_size(), 2);
}

TEST_F(WalRaftStorageTest, InstalledSnapshotReplacesTheLog) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(500);
  snapshot.mutable_metadata()->set_term(4);
  *snapshot.mutable_metadata()->mutable_conf_state() = Voters({1, 2, 3, 4, 5});
  snapshot.set_data("the state machine");
  {
    std::unique_ptr<WalRaftStorage> storage = Create();
    Save(*storage, MakeEntries(1, 30, 1), MakeHardState(1, 30));
    ASSERT_TRUE(h_.Run(storage->Save(MakeHardState(4, 500), MakeEntries(501, 503, 4),
                                     snapshot))
                    .ok());
    EXPECT_EQ(*storage->FirstIndex(), 501u);
    EXPECT_EQ(storage->Snapshot()->data(), "");  // metadata only
  }
  std::unique_ptr<WalRaftStorage> storage = Reopen();
  EXPECT_EQ(*storage->FirstIndex(), 501u);
  EXPECT_EQ(*storage->LastIndex(), 503u);
  EXPECT_EQ(*storage->Term(500), 4u);
  EXPECT_EQ(storage->GetInitialState()->conf_state.voters_size(), 5);
  EXPECT_EQ(storage->GetInitialState()->hard_state.commit(), 500u);
}

TEST_F(WalRaftStorageTest, CommitOnlyChangeNeedsNoFsync) {
  std::unique_ptr<WalRaftStorage> storage = Create();
  Save(*storage, MakeEntries(1, 3, 1), MakeHardState(1, 1));
  const uint64_t syncs = h_.disk().stats().syncs;
  ASSERT_TRUE(h_.Run(storage->Save(MakeHardState(1, 3), {}, {}, /*must_sync=*/false)).ok());
  EXPECT_EQ(h_.disk().stats().syncs, syncs);
  EXPECT_EQ(storage->hard_state().commit(), 3u);
}

TEST_F(WalRaftStorageTest, UnsafeNoFsyncWritesEntriesWithoutSyncing) {
  std::unique_ptr<WalRaftStorage> storage = Create();
  storage->set_unsafe_no_fsync(true);
  const uint64_t syncs = h_.disk().stats().syncs;
  for (uint64_t i = 1; i <= 5; i++) {
    ASSERT_TRUE(h_.Run(storage->Save(MakeHardState(1, i), MakeEntries(i, i, 1), {},
                                     /*must_sync=*/true)).ok());
  }
  EXPECT_EQ(h_.disk().stats().syncs, syncs);
  // Written and flushed all the same: a kill (not a power loss) keeps them.
  storage.reset();
  h_.KillAndRestart();
  storage = Reopen();
  EXPECT_EQ(*storage->LastIndex(), 5u);
  EXPECT_EQ(storage->GetInitialState()->hard_state.commit(), 5u);
}

// A one-member raft group persisting every Ready through WalRaftStorage.
struct Member {
  std::unique_ptr<WalRaftStorage> storage;
  Random random{7};
  std::unique_ptr<raft::RawNode> node;
  std::vector<std::string> applied;  // data of applied normal entries

  void Start(uint64_t applied_index) {
    raft::Config config{.id = 1, .storage = *storage, .random = random};
    config.applied = applied_index;
    auto created = raft::RawNode::Create(config);
    KEEL_ASSERT(created.ok());
    node = std::move(*created);
  }

  // Handles Readys until none is left.
  void Drain(SimHarness& h) {
    while (node->HasReady()) {
      raft::Ready ready = node->Ready();
      absl::Status saved = h.Run(storage->Save(
          ready.hard_state.value_or(raftpb::HardState()), ready.entries,
          ready.snapshot.value_or(raftpb::Snapshot()), ready.must_sync));
      KEEL_ASSERT(saved.ok());
      for (const raftpb::Entry& entry : ready.committed_entries) {
        if (entry.type() == raftpb::EntryNormal && !entry.data().empty()) {
          applied.push_back(entry.data());
        }
        if (entry.type() == raftpb::EntryConfChange) {
          raftpb::ConfChange change;
          change.ParseFromString(entry.data());
          KEEL_ASSERT(node->ApplyConfChange(change).ok());
        }
      }
      node->Advance();
    }
  }
};

TEST_F(WalRaftStorageTest, RaftGroupRecoversEveryCommittedProposalAfterACrash) {
  std::vector<std::string> proposed;
  {
    Member member;
    auto storage = h_.Run(WalRaftStorage::Create(h_.env(), Options(), kIdentity, {}));
    ASSERT_TRUE(storage.ok());
    member.storage = std::move(*storage);
    member.Start(0);
    const raft::Peer peers[] = {{.id = 1}};
    const absl::Status bootstrapped = member.node->Bootstrap(peers);
    ASSERT_TRUE(bootstrapped.ok()) << bootstrapped;
    member.Drain(h_);
    ASSERT_TRUE(member.node->Campaign().ok());
    member.Drain(h_);
    for (int i = 0; i < 120; i++) {
      proposed.push_back("proposal-" + std::to_string(i));
      const absl::Status proposal = member.node->Propose(proposed.back());
      ASSERT_TRUE(proposal.ok()) << proposal;
      if (i % 7 == 0) member.Drain(h_);
      if (i == 80) {
        const uint64_t applied = member.storage->hard_state().commit();
        ASSERT_TRUE(h_.Run(member.storage->Compact(applied, Voters({1}))).ok());
      }
    }
    member.Drain(h_);
    ASSERT_EQ(member.applied, proposed);
  }
  h_.CrashAndRestart();
  Member member;
  member.storage = Reopen();
  const uint64_t snapshot_index = member.storage->Snapshot()->metadata().index();
  EXPECT_GT(snapshot_index, 0u);
  member.Start(snapshot_index);
  member.Drain(h_);
  // Everything after the compaction point is applied again from the log.
  ASSERT_FALSE(member.applied.empty());
  EXPECT_EQ(member.applied.back(), proposed.back());
  const size_t tail = member.applied.size();
  EXPECT_TRUE(std::equal(member.applied.begin(), member.applied.end(),
                         proposed.end() - static_cast<ptrdiff_t>(tail)));
  EXPECT_EQ(member.storage->hard_state().commit(), *member.storage->LastIndex());
}

}  // namespace
}  // namespace keel::node
