// Tests of RaftNode with a host of the smallest kind (a state machine that
// counts and hashes what it applies, a text snapshot file), three or four
// members on simulated machines with their WALs on simulated disks and the
// peer transport between them: a member that joins a running cluster with an
// empty log and no bootstrap, knowing none of the members, is found by the
// leader and catches up from the log; a learner added after the last log
// compaction installs a snapshot labelled with the leader's applied index
// and configuration (in which it finds itself); the applied index and
// configuration follow the applier, not raft, and bound log compaction; and
// a removed member the transport never knew is refused; and reads with one
// id on two members are two reads.
#include "node/raft_node.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/wal_log_store.h"
#include "node/wal_raft_storage.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::node {
namespace {

constexpr uint64_t kClusterId = 0x5eed;

std::string PeerUrl(uint64_t id) { return StrCat("http://10.0.0.", id, ":2380"); }

// The state machine: how far it applied, how many proposals, and a hash of
// them.
struct State {
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t proposals = 0;
  uint64_t hash = 0;
  std::map<uint64_t, std::string> peers;  // id -> peer URL
  std::string Encode() const {
    std::string out = StrCat(index, " ", term, " ", proposals, " ", hash);
    for (const auto& [id, url] : peers) StrAppend(&out, " ", id, "=", url);
    return out;
  }
  static std::optional<State> Decode(std::string_view text) {
    State state;
    std::vector<std::string_view> words;
    for (size_t at = 0; at <= text.size();) {
      const size_t end = std::min(text.find(' ', at), text.size());
      words.push_back(text.substr(at, end - at));
      at = end + 1;
    }
    if (words.size() < 4 || !ParseInt(words[0], &state.index) ||
        !ParseInt(words[1], &state.term) || !ParseInt(words[2], &state.proposals) ||
        !ParseInt(words[3], &state.hash)) {
      return std::nullopt;
    }
    for (size_t i = 4; i < words.size(); i++) {
      const size_t eq = words[i].find('=');
      uint64_t id = 0;
      if (eq == std::string_view::npos || !ParseInt(words[i].substr(0, eq), &id)) {
        return std::nullopt;
      }
      state.peers[id] = std::string(words[i].substr(eq + 1));
    }
    return state;
  }
};

// One member: its host, raft node and apply loop. Lives in its machine's
// boot frame.
class Member final : public RaftNodeHost, public RaftNodeObserver {
 public:
  explicit Member(Env& env) : env_(env) {}

  bool ProposalWanted(uint64_t id) override { return true; }
  void ProposalFailed(uint64_t id, absl::Status status) override {}
  void ReadIndexAnswered(uint64_t read_id, uint64_t index) override {
    answers[read_id] = index;
  }
  void OnSending(const std::vector<raft::Message>& messages) override {
    for (const raft::Message& m : messages) {
      if (m.type() == raftpb::MsgReadIndex) read_contexts.push_back(m.entries(0).data());
    }
  }
  Task<absl::StatusOr<WrittenSnapshot>> WriteSnapshotFile(std::string path) override {
    const std::string data = state.Encode();
    auto file = env_.fs().Open(path, OpenOptions{.create = true});
    if (!file.ok()) co_return file.status();
    KEEL_CO_RETURN_IF_ERROR((*file)->Append(data));
    KEEL_CO_RETURN_IF_ERROR(co_await (*file)->Sync());
    snapshots_written++;
    co_return WrittenSnapshot{
        .size_bytes = data.size(), .applied_index = state.index, .applied_term = state.term};
  }
  absl::Status CheckSnapshotFile(const std::string& path) override {
    return Read(path).status();
  }
  absl::Status SyncAppliedState() override {
    syncs++;
    return absl::OkStatus();
  }

  absl::StatusOr<State> Read(const std::string& path) {
    KEEL_ASSIGN_OR_RETURN(auto file, env_.fs().Open(path, OpenOptions{}));
    KEEL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    KEEL_ASSIGN_OR_RETURN(std::string data, file->ReadAt(0, size));
    std::optional<State> decoded = State::Decode(data);
    if (!decoded.has_value()) return absl::DataLossError("not a test snapshot");
    return *decoded;
  }

  void SetPeers() {
    for (const auto& [id, url] : state.peers) {
      if (id != raft->id()) raft->SetPeer(id, {url});
    }
  }

  Task<void> ApplyLoop() {
    MemberLife::LoopGuard guard(life);
    while (true) {
      std::optional<ApplyWork> work = co_await raft->NextApplyWork();
      if (!work.has_value()) co_return;
      while (hold) co_await env_.clock().Sleep(Milliseconds(10));
      if (work->snapshot.has_value()) {
        const raftpb::SnapshotMetadata& metadata = work->snapshot->metadata();
        absl::StatusOr<State> read =
            Read(raft->SnapshotFilePath(metadata.term(), metadata.index()));
        EXPECT_TRUE(read.ok()) << read.status();
        if (!read.ok()) co_return;
        state = *read;
        installed.push_back(metadata);
        raft->SnapshotInstalled(metadata);
        SetPeers();
      }
      for (const raft::Entry& entry : work->entries) Apply(entry);
      absl::Status compacted = co_await raft->MaybeCompactLog();
      EXPECT_TRUE(compacted.ok()) << compacted;
    }
  }

  void Apply(const raft::Entry& entry) {
    const bool held = entry.index() <= state.index;
    if (entry.type() == raftpb::EntryConfChange) {
      raft::ConfChange change;
      ASSERT_TRUE(change.ParseFromString(entry.data()));
      ASSERT_TRUE(raft->ApplyConfChange(change, entry.index()).ok());
      if (!held && !change.context().empty()) state.peers[change.node_id()] = change.context();
      if (!held) SetPeers();
    }
    if (held) {
      raft->Applied(entry.index());
      return;
    }
    state.index = entry.index();
    state.term = entry.term();
    if (entry.type() == raftpb::EntryNormal && !entry.data().empty()) state.proposals++;
    for (char c : entry.data()) state.hash = state.hash * 31 + static_cast<uint8_t>(c);
    raft->Applied(entry.index());
  }

  Env& env_;
  MemberLife life;
  std::unique_ptr<RaftNode> raft;
  State state;
  bool hold = false;
  int snapshots_written = 0;
  int syncs = 0;
  std::vector<raftpb::SnapshotMetadata> installed;
  std::map<uint64_t, uint64_t> answers;  // read id -> index
  std::vector<std::string> read_contexts;
};

struct Options {
  uint64_t snapshot_count = 100000;
  uint64_t catchup_entries = 5000;
};

class RaftNodeTest : public ::testing::Test {
 protected:
  // Members 1..3 bootstrap a cluster; AddMachine(4, false) makes a member
  // that joins it.
  void StartCluster(Options options = {}) {
    options_ = options;
    for (uint64_t id = 1; id <= 3; id++) AddMachine(id, /*bootstrap=*/true).Start();
  }

  sim::SimMachine& AddMachine(uint64_t id, bool bootstrap) {
    members_[id] = nullptr;
    return world_.AddMachine(
        {.name = StrCat("m", id),
         .host = StrCat("10.0.0.", id),
         .boot = [this, id, bootstrap](Env& env) { return Boot(env, id, bootstrap); }});
  }

  Task<void> Boot(Env& env, uint64_t id, bool bootstrap) {
    EXPECT_TRUE(env.fs().CreateDir("snap").ok());
    // Named, not temporaries: GCC 12 mishandles temporaries in a co_await.
    store::WalOptions options;
    options.dir = "wal";
    const store::WalIdentity identity{.member_id = id, .cluster_id = kClusterId};
    auto wal = co_await WalRaftStorage::Create(env, options, identity, raftpb::ConfState());
    EXPECT_TRUE(wal.ok()) << wal.status();
    if (!wal.ok()) co_return;
    Member member(env);
    RaftNodeConfig config;
    config.id = id;
    config.cluster_id = kClusterId;
    config.listen_address = StrCat("10.0.0.", id, ":2380");
    config.advertise_peer_urls = {PeerUrl(id)};
    config.snap_dir = "snap";
    config.snapshot_count = options_.snapshot_count;
    config.snapshot_catchup_entries = options_.catchup_entries;
    auto raft = RaftNode::Create(env, config, std::make_unique<WalLogStore>(std::move(*wal), false),
                                 member, member.life);
    EXPECT_TRUE(raft.ok()) << raft.status();
    if (!raft.ok()) co_return;
    member.raft = std::move(*raft);
    member.raft->set_observer(&member);
    std::vector<raft::Peer> peers;
    if (bootstrap) {
      for (uint64_t p = 1; p <= 3; p++) peers.push_back({.id = p, .context = PeerUrl(p)});
      EXPECT_TRUE(member.raft->Bootstrap(peers).ok());
    }
    EXPECT_TRUE(member.raft->Start().ok());
    for (const raft::Peer& peer : peers) {
      if (peer.id != id) member.raft->SetPeer(peer.id, {peer.context});
    }
    members_[id] = &member;
    env.Spawn(member.ApplyLoop());
    co_await member.life.stopping_event().Wait();
  }

  Member* Leader() {
    for (const auto& [id, member] : members_) {
      if (member != nullptr && member->raft->is_leader()) return member;
    }
    return nullptr;
  }

  // Proposes `n` entries through the leader and waits until every running
  // member applied them.
  void ProposeAndWait(int n) {
    Member* leader = Leader();
    ASSERT_NE(leader, nullptr);
    for (int i = 0; i < n; i++) {
      const uint64_t id = ++next_proposal_;
      ASSERT_TRUE(leader->raft->Propose(id, StrCat("entry ", id), world_.now() + Seconds(10)).ok());
    }
    ASSERT_TRUE(world_.RunUntil([&] { return AllApplied(); }, Seconds(10)));
  }

  // Every member applied every proposal and everything committed.
  bool AllApplied() {
    Member* leader = Leader();
    if (leader == nullptr) return false;
    for (const auto& [id, member] : members_) {
      if (member == nullptr || member->state.proposals != next_proposal_) return false;
      if (member->raft->applied_index() != leader->raft->commit_index()) return false;
    }
    return true;
  }

  absl::Status AddLearner(uint64_t id) {
    raft::ConfChange change;
    change.set_type(raftpb::ConfChangeAddLearnerNode);
    change.set_node_id(id);
    change.set_context(PeerUrl(id));
    return Leader()->raft->ProposeConfChange(change);
  }

  sim::SimWorld world_{sim::SimWorldOptions{.seed = 3}};
  Options options_;
  std::map<uint64_t, Member*> members_;
  uint64_t next_proposal_ = 0;
};

bool IsLearner(const raft::ConfState& state, uint64_t id) {
  return std::find(state.learners().begin(), state.learners().end(), id) !=
         state.learners().end();
}

TEST_F(RaftNodeTest, AMemberWithAnEmptyLogWaitsForALeaderItDoesNotKnowAndCatchesUp) {
  StartCluster();
  ASSERT_TRUE(world_.RunUntil([&] { return Leader() != nullptr; }, Seconds(10)));
  ProposeAndWait(10);
  // Member 4 starts with an empty log, no bootstrap and no peers.
  AddMachine(4, /*bootstrap=*/false).Start();
  world_.RunFor(Seconds(3));
  ASSERT_NE(members_[4], nullptr);
  Member& joiner = *members_[4];
  EXPECT_EQ(joiner.raft->leader(), 0u);
  EXPECT_EQ(joiner.raft->applied_index(), 0u);
  EXPECT_EQ(joiner.raft->term(), 0u) << "a member without a configuration never campaigns";
  Member* leader = Leader();
  ASSERT_TRUE(AddLearner(4).ok());
  ASSERT_TRUE(world_.RunUntil([&] { return AllApplied(); }, Seconds(10)));
  // From the log (nothing was compacted), through the leader's remote first.
  EXPECT_TRUE(joiner.installed.empty());
  EXPECT_EQ(joiner.raft->leader(), leader->raft->id());
  EXPECT_TRUE(IsLearner(joiner.raft->conf_state(), 4));
  EXPECT_EQ(joiner.state.hash, leader->state.hash);
  // Having applied the members' conf changes, it knows them as peers.
  EXPECT_TRUE(joiner.raft->HasPeer(leader->raft->id()));
  EXPECT_FALSE(joiner.raft->transport()->HasRemote(leader->raft->id()));
}

TEST_F(RaftNodeTest, ALearnerAddedAfterTheLastCompactionInstallsASnapshotThatNamesIt) {
  StartCluster(Options{.snapshot_count = 20, .catchup_entries = 5});
  ASSERT_TRUE(world_.RunUntil([&] { return Leader() != nullptr; }, Seconds(10)));
  ProposeAndWait(100);
  Member* leader = Leader();
  ASSERT_TRUE(world_.RunUntil([&] { return leader->raft->snapshot_index() > 3; }, Seconds(1)))
      << "the bootstrap entries are gone from the log";
  const uint64_t compacted_at = leader->raft->snapshot_index();
  AddMachine(4, /*bootstrap=*/false).Start();
  ASSERT_TRUE(AddLearner(4).ok());
  ASSERT_TRUE(world_.RunUntil([&] { return AllApplied(); }, Seconds(20)));
  Member& joiner = *members_[4];
  ASSERT_EQ(joiner.installed.size(), 1u);
  const raftpb::SnapshotMetadata& label = joiner.installed[0];
  // Labelled with the leader's applied index and configuration, which has
  // the learner, not with the compaction point, whose has not.
  EXPECT_GT(label.index(), compacted_at);
  EXPECT_TRUE(IsLearner(label.conf_state(), 4));
  EXPECT_EQ(joiner.state.hash, leader->state.hash);
  EXPECT_EQ(joiner.raft->snapshot_index(), label.index());
  ProposeAndWait(5);
  EXPECT_EQ(joiner.state.hash, leader->state.hash);
}

TEST_F(RaftNodeTest, TheAppliedIndexAndConfigurationFollowTheApplierNotRaft) {
  StartCluster(Options{.snapshot_count = 5, .catchup_entries = 0});
  ASSERT_TRUE(world_.RunUntil([&] { return Leader() != nullptr; }, Seconds(10)));
  ProposeAndWait(3);
  Member* leader = Leader();
  leader->hold = true;
  world_.RunFor(Milliseconds(100));
  const uint64_t applied = leader->raft->applied_index();
  ASSERT_TRUE(AddLearner(4).ok());
  for (int i = 0; i < 10; i++) {
    ASSERT_TRUE(leader->raft->Propose(++next_proposal_, "x", world_.now() + Seconds(10)).ok());
  }
  const raft::Raft& raft = leader->raft->raw_node().raft();
  ASSERT_TRUE(world_.RunUntil([&] { return raft.log().applied() >= raft.pending_conf_index(); },
                              Seconds(5)));
  // Raft handed the change to the applier; the applier has not applied it.
  EXPECT_EQ(leader->raft->applied_index(), applied);
  EXPECT_LT(leader->raft->applied_index(), raft.pending_conf_index());
  EXPECT_FALSE(IsLearner(leader->raft->conf_state(), 4));
  EXPECT_LE(leader->raft->snapshot_index(), applied) << "compaction waits for the applier";
  leader->hold = false;
  ASSERT_TRUE(world_.RunUntil(
      [&] { return leader->raft->applied_index() == leader->raft->commit_index(); },
      Seconds(5)));
  EXPECT_TRUE(IsLearner(leader->raft->conf_state(), 4));
  EXPECT_GE(leader->raft->applied_index(), raft.pending_conf_index());
  // The compaction that waited follows the applier.
  EXPECT_TRUE(world_.RunUntil([&] { return leader->raft->snapshot_index() > applied; },
                              Seconds(1)));
}

TEST_F(RaftNodeTest, AMemberRemovedBeforeTheTransportKnewItIsRefused) {
  StartCluster();
  ASSERT_TRUE(world_.RunUntil([&] { return Leader() != nullptr; }, Seconds(10)));
  Member& member = *members_[1];
  EXPECT_TRUE(member.raft->RemovePeer(9).ok());
  EXPECT_TRUE(member.raft->transport()->IsRemoved(9));
  EXPECT_FALSE(member.raft->HasPeer(9));
}

// The leader keeps one pending read per context: members numbering their
// reads alike must not share contexts, or one read takes another's index.
TEST_F(RaftNodeTest, ReadsWithOneIdOnTwoMembersAreTwoReads) {
  StartCluster();
  ASSERT_TRUE(world_.RunUntil([&] { return Leader() != nullptr; }, Seconds(10)));
  ProposeAndWait(2);
  std::vector<Member*> followers;
  for (const auto& [id, member] : members_) {
    if (!member->raft->is_leader()) followers.push_back(member);
  }
  ASSERT_EQ(followers.size(), 2u);
  const uint64_t commit = Leader()->raft->commit_index();
  for (Member* follower : followers) follower->raft->ReadIndex(7);
  ASSERT_TRUE(world_.RunUntil(
      [&] { return followers[0]->answers.contains(7) && followers[1]->answers.contains(7); },
      Milliseconds(300)))
      << "both answered by the first heartbeat round, neither waiting for a retry";
  for (Member* follower : followers) EXPECT_GE(follower->answers[7], commit);
  ASSERT_EQ(followers[0]->read_contexts.size(), 1u);
  ASSERT_EQ(followers[1]->read_contexts.size(), 1u);
  EXPECT_NE(followers[0]->read_contexts[0], followers[1]->read_contexts[0]);
}

}  // namespace
}  // namespace keel::node
