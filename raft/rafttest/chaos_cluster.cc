// ChaosCluster: a randomly scheduled group of RawNodes and the checkers of
// Raft's safety properties.
#include "raft/rafttest/chaos_cluster.h"

#include <algorithm>
#include <utility>

#include "raft/confchange.h"
#include "raft/describe.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::raft::rafttest {
namespace {

constexpr size_t kMaxEvents = 300;
constexpr size_t kMaxNetwork = 5000;

// FNV-1a over the entry's identity and payload.
uint64_t Mix(uint64_t hash, const Entry& entry) {
  auto add = [&hash](uint64_t value) {
    for (int i = 0; i < 8; i++) {
      hash ^= (value >> (8 * i)) & 0xff;
      hash *= 0x100000001b3ULL;
    }
  };
  add(entry.index());
  add(entry.term());
  add(entry.type());
  for (char c : entry.data()) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string EncodeState(uint64_t hash) { return StrCat(hash); }

uint64_t DecodeState(const std::string& data) {
  uint64_t hash = 0;
  if (!data.empty()) KEEL_ASSERT(ParseInt(data, &hash));
  return hash;
}

}  // namespace

struct ChaosCluster::Member {
  uint64_t id = 0;
  std::unique_ptr<ChaosStorage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<Config> config;
  std::unique_ptr<RawNode> node;  // null while crashed
  // The volatile state machine.
  uint64_t applied = 0;
  uint64_t applied_term = 0;
  uint64_t hash = 0;
  ConfState conf;
  // The role last observed, for the event log.
  StateType last_state = StateType::kFollower;
  uint64_t last_term = 0;
};

// Snapshots on demand: the member's state machine as applied right now (an
// application may build its snapshot when raft asks for one).
class ChaosCluster::ChaosStorage : public MemoryStorage {
 public:
  ChaosStorage(const ConfState& state, const Member* member)
      : MemoryStorage(state), member_(member) {}

  absl::StatusOr<raftpb::Snapshot> Snapshot() override {
    absl::StatusOr<raftpb::Snapshot> stored = MemoryStorage::Snapshot();
    if (!stored.ok() || member_->node == nullptr ||
        member_->applied <= stored->metadata().index()) {
      return stored;
    }
    raftpb::Snapshot snapshot;
    snapshot.mutable_metadata()->set_index(member_->applied);
    snapshot.mutable_metadata()->set_term(member_->applied_term);
    *snapshot.mutable_metadata()->mutable_conf_state() = member_->conf;
    snapshot.set_data(EncodeState(member_->hash));
    return snapshot;
  }

 private:
  const Member* member_;
};

ChaosOptions FigureEightSchedule() {
  ChaosOptions options;
  options.members = 3;
  options.max_size_per_msg = 0;
  options.loss_percent = 30;
  options.partition_per_mille = 20;
  options.crash_per_mille = 8;
  return options;
}

ChaosCluster::ChaosCluster(uint64_t seed, const ChaosOptions& options)
    : random_(seed), options_(options) {
  KEEL_ASSERT(options.members >= 1);
  const size_t voters = options.membership_changes
                            ? std::min<size_t>(3, options.members)
                            : options.members;
  // The initial members bootstrap the group the etcd way: the log starts
  // with one ConfChangeAddNode entry per member, so a member that joins
  // later and replays the log from index 1 rebuilds the same configuration.
  for (uint64_t id = 1; id <= voters; id++) peers_.push_back(Peer{id, ""});
  state_hashes_[0] = 0;
  for (uint64_t id = 1; id <= options.members; id++) {
    auto m = std::make_unique<Member>();
    m->id = id;
    m->storage = std::make_unique<ChaosStorage>(ConfState(), m.get());
    m->random = std::make_unique<Random>(random_.Next());
    m->config = std::make_unique<Config>(Config{
        .id = id,
        .storage = *m->storage,
        .random = *m->random,
        .election_ticks = 5,
        .heartbeat_ticks = 1,
        .max_size_per_msg = options.max_size_per_msg,
        .max_inflight_msgs = 4,
        .max_inflight_bytes = 256,
        .max_uncommitted_entries_size = 1 << 16,
        .pre_vote = options.pre_vote,
        .check_quorum = options.check_quorum,
#if KEEL_FAILPOINTS
        .bugs = options.bugs,
#endif
    });
    members_.push_back(std::move(m));
    Restart(*members_.back());
  }
}

ChaosCluster::~ChaosCluster() = default;

void ChaosCluster::Violation(std::string what) {
  violations_.push_back(StrCat("step ", step_, ": ", what));
}

void ChaosCluster::Event(std::string what) {
  events_.push_back(StrCat(step_, ": ", what));
  if (events_.size() > kMaxEvents) events_.pop_front();
}

std::string ChaosCluster::RecentEvents() const {
  std::string out;
  for (const std::string& event : events_) StrAppend(&out, event, "\n");
  return out;
}

std::string ChaosCluster::DescribeState() const {
  std::string out;
  for (const auto& m : members_) {
    if (m->node == nullptr) {
      StrAppend(&out, m->id, ": crashed\n");
      continue;
    }
    const raft::Status status = m->node->Status();
    StrAppend(&out, m->id, ": ", DescribeSoftState(status.soft_state), " ",
              DescribeHardState(status.hard_state), " applied ", m->applied,
              " last ", m->node->raft().log().LastIndex(), " ",
              status.config.String(), "\n");
    for (const auto& [id, pr] : status.progress) {
      StrAppend(&out, "   ", id, ": ", pr.String(), "\n");
    }
  }
  return out;
}

bool ChaosCluster::Connected(uint64_t from, uint64_t to) const {
  return partition_.empty() || partition_.contains(from) == partition_.contains(to);
}

ChaosCluster::Member* ChaosCluster::Leader() {
  for (auto& m : members_) {
    if (m->node != nullptr && m->node->raft().state() == StateType::kLeader) {
      return m.get();
    }
  }
  return nullptr;
}

void ChaosCluster::RunRandomSteps(size_t steps) {
  for (size_t i = 0; i < steps && violations_.empty(); i++) {
    step_++;
    Act();
    if (step_ % 64 == 0) CheckLogMatching();
  }
  CheckLogMatching();
}

void ChaosCluster::Act() {
  std::vector<Member*> alive;
  std::vector<Member*> crashed;
  std::vector<Member*> ready;
  for (auto& m : members_) {
    if (m->node == nullptr) {
      crashed.push_back(m.get());
    } else {
      alive.push_back(m.get());
      if (m->node->HasReady()) ready.push_back(m.get());
    }
  }
  if (!crashed.empty() && random_.OneIn(20)) {
    Restart(*crashed[random_.Uniform(crashed.size())]);
    return;
  }
  if (alive.empty()) return;
  Member& m = *alive[random_.Uniform(alive.size())];
  // Weights in tenths of a percent.
  const uint64_t crash = options_.crash_per_mille;
  const uint64_t partition = options_.partition_per_mille;
  const uint64_t conf_change = options_.membership_changes ? 20 : 0;
  uint64_t roll = random_.Uniform(1000);
  auto take = [&roll](uint64_t weight) {
    if (roll < weight) return true;
    roll -= weight;
    return false;
  };
  if (take(crash)) {
    Crash(m);
  } else if (take(partition)) {
    Partition();
  } else if (take(conf_change)) {
    ProposeConfChange(m);
  } else if (take(20)) {
    ReadIndex(m);
  } else if (take(5)) {
    TransferLeader(m);
  } else if (take(20)) {
    Compact(m);
  } else if (take(100)) {
    Propose(m);
  } else if (take(250)) {
    if (!ready.empty()) ProcessReady(*ready[random_.Uniform(ready.size())]);
  } else if (take(60)) {
    // Time passes for everyone. Messages usually take much less than a
    // tick to arrive, so ticks are rarer than deliveries.
    for (Member* member : alive) Tick(*member);
  } else {
    // A few messages, mostly in send order with a small window of
    // reordering; sometimes any message at all.
    const size_t count = 1 + random_.Uniform(4);
    for (size_t i = 0; i < count && !network_.empty(); i++) {
      const size_t window = random_.OneIn(5) ? network_.size()
                                             : std::min<size_t>(network_.size(), 8);
      Deliver(random_.Uniform(window));
    }
  }
}

void ChaosCluster::Tick(Member& m) {
  m.node->Tick();
  CheckLeader(m, Ready());
}

void ChaosCluster::CheckLeader(Member& m, const Ready&) {
  const Raft& r = m.node->raft();
  if (r.state() != m.last_state || r.term() != m.last_term) {
    m.last_state = r.state();
    m.last_term = r.term();
    Event(StrCat(m.id, " is ", StateTypeName(r.state()), " at term ", r.term(),
                 " (log ", r.log().LastIndex(), ", commit ", r.log().committed(), ")"));
  }
  if (r.state() != StateType::kLeader) return;
  auto [it, inserted] = leader_of_term_.try_emplace(r.term(), m.id);
  if (!inserted) {
    if (it->second != m.id) {
      Violation(StrCat("election safety: ", it->second, " and ", m.id,
                       " both lead term ", r.term()));
    }
    return;
  }
  stats_.leaders_elected++;
  Event(StrCat(m.id, " leads term ", r.term()));
  // Leader completeness: every entry known committed before this term (its
  // first appliers were all in earlier terms) is in the new leader's log.
  const RaftLog& log = r.log();
  for (const auto& [index, entry] : applied_entries_) {
    const auto& [term, data] = entry;
    (void)data;
    auto floor = commit_term_bound_.find(index);
    if (floor == commit_term_bound_.end() || floor->second >= r.term()) continue;
    if (index < log.FirstIndex()) continue;  // compacted: covered by its snapshot
    if (index > log.LastIndex() || log.ZeroTermOnCompacted(index) != term) {
      Violation(StrCat("leader completeness: leader ", m.id, " of term ",
                       r.term(), " lacks committed entry ", index, " (term ",
                       term, ")"));
      return;
    }
  }
}

void ChaosCluster::ProcessReady(Member& m) {
  if (!m.node->HasReady()) return;
  Ready rd = m.node->Ready();
  Persist(m, rd);
  // A crash after persisting but before sending: the messages are lost.
  if (random_.Uniform(1000) < static_cast<uint64_t>(options_.crash_per_mille)) {
    Crash(m);
    return;
  }
  for (Message& message : rd.messages) {
    if (network_.size() >= kMaxNetwork) {
      network_.erase(network_.begin() + random_.Uniform(network_.size()));
    }
    network_.push_back(std::move(message));
  }
  Apply(m, rd);
  m.node->Advance();
  CheckLeader(m, rd);
}

void ChaosCluster::Persist(Member& m, const Ready& rd) {
  if (rd.snapshot.has_value()) {
    absl::Status status = m.storage->ApplySnapshot(*rd.snapshot);
    if (!status.ok()) Violation(StrCat("install snapshot at ", m.id, ": ", status.message()));
  }
  absl::Status status = m.storage->Append(rd.entries);
  if (!status.ok()) Violation(StrCat("append at ", m.id, ": ", status.message()));
  if (rd.hard_state.has_value()) {
    const HardState& previous = m.storage->hard_state();
    if (rd.hard_state->term() < previous.term() ||
        rd.hard_state->commit() < previous.commit()) {
      Violation(StrCat("hard state went backwards at ", m.id, ": ",
                       DescribeHardState(previous), " -> ",
                       DescribeHardState(*rd.hard_state)));
    }
    if (options_.check_votes && rd.hard_state->term() == previous.term() &&
        previous.vote() != kNone &&
        rd.hard_state->vote() != previous.vote()) {
      Violation(StrCat(m.id, " changed its vote in term ", previous.term(),
                       " from ", previous.vote(), " to ", rd.hard_state->vote()));
    }
    m.storage->SetHardState(*rd.hard_state);
    max_persisted_commit_ = std::max(max_persisted_commit_, rd.hard_state->commit());
  }
}

void ChaosCluster::Apply(Member& m, const Ready& rd) {
  if (rd.snapshot.has_value()) {
    const auto& metadata = rd.snapshot->metadata();
    m.applied = metadata.index();
    m.applied_term = metadata.term();
    m.hash = DecodeState(rd.snapshot->data());
    m.conf = metadata.conf_state();
    stats_.snapshots_installed++;
    auto [it, inserted] = state_hashes_.try_emplace(m.applied, m.hash);
    if (!inserted && it->second != m.hash) {
      Violation(StrCat("state machine safety: snapshot at ", m.applied,
                       " installed by ", m.id, " differs from the applied state"));
    }
  }
  for (const Entry& entry : rd.committed_entries) ApplyEntry(m, entry);
  for (const ReadState& state : rd.read_states) {
    stats_.reads_answered++;
    auto floor = read_floor_.find(state.request_context);
    if (floor != read_floor_.end() && state.index < floor->second) {
      Violation(StrCat("linearizable read: ", state.request_context,
                       " answered with index ", state.index,
                       " below the commit index ", floor->second,
                       " persisted before it was asked"));
    }
  }
}

void ChaosCluster::ApplyEntry(Member& m, const Entry& entry) {
  if (entry.index() != m.applied + 1) {
    Violation(StrCat(m.id, " applied index ", entry.index(), " after ", m.applied));
  }
  const uint64_t term = m.node->raft().term();
  auto [it, inserted] =
      applied_entries_.try_emplace(entry.index(), entry.term(), entry.data());
  if (!inserted && (it->second.first != entry.term() || it->second.second != entry.data())) {
    Violation(StrCat("state machine safety: index ", entry.index(), " applied as ",
                     DescribeEntry(entry), " by ", m.id, " but as term ",
                     it->second.first, " data ", QuoteData(it->second.second),
                     " before"));
  }
  auto bound = commit_term_bound_.try_emplace(entry.index(), term).first;
  bound->second = std::min(bound->second, term);
  if (entry.type() == raftpb::EntryConfChangeV2) {
    ConfChangeV2 change;
    KEEL_ASSERT(change.ParseFromString(entry.data()));
    absl::StatusOr<ConfState> state = m.node->ApplyConfChange(change);
    if (state.ok()) {
      m.conf = *state;
      stats_.conf_changes_applied++;
    }
    Event(StrCat(m.id, " applies ", DescribeEntry(entry), ": ",
                 state.ok() ? m.node->raft().tracker().config.String()
                            : std::string(state.status().message())));
  } else if (entry.type() == raftpb::EntryConfChange) {
    ConfChange change;
    KEEL_ASSERT(change.ParseFromString(entry.data()));
    absl::StatusOr<ConfState> state = m.node->ApplyConfChange(change);
    if (state.ok()) m.conf = *state;
  }
  m.hash = Mix(m.hash, entry);
  m.applied = entry.index();
  m.applied_term = entry.term();
  stats_.entries_applied++;
  auto [hash, fresh] = state_hashes_.try_emplace(m.applied, m.hash);
  if (!fresh && hash->second != m.hash) {
    Violation(StrCat("state machine safety: state after index ", m.applied,
                     " at ", m.id, " differs from another member's"));
  }
}

void ChaosCluster::Deliver(size_t index) {
  Message m = std::move(network_[index]);
  network_.erase(network_.begin() + index);
  Member* to = m.to() >= 1 && m.to() <= members_.size() ? members_[m.to() - 1].get()
                                                         : nullptr;
  Member* from = m.from() >= 1 && m.from() <= members_.size()
                     ? members_[m.from() - 1].get()
                     : nullptr;
  const bool lost = to == nullptr || to->node == nullptr ||
                    !Connected(m.from(), m.to()) ||
                    random_.Uniform(100) < static_cast<uint64_t>(options_.loss_percent);
  if (lost) {
    if (from != nullptr && from->node != nullptr) {
      if (m.type() == raftpb::MsgSnap) {
        from->node->ReportSnapshot(m.to(), /*ok=*/false);
      } else if (random_.OneIn(4)) {
        from->node->ReportUnreachable(m.to());
      }
    }
    return;
  }
  if (random_.Uniform(100) < static_cast<uint64_t>(options_.duplicate_percent)) {
    network_.push_back(m);
  }
  const MessageType type = m.type();
  const uint64_t target = m.to();
  (void)to->node->Step(std::move(m));
  if (type == raftpb::MsgSnap && from != nullptr && from->node != nullptr) {
    from->node->ReportSnapshot(target, /*ok=*/true);
  }
  CheckLeader(*to, Ready());
}

void ChaosCluster::Crash(Member& m) {
  Event(StrCat(m.id, " crashes"));
  stats_.crashes++;
  m.node.reset();
}

void ChaosCluster::Restart(Member& m) {
  // The state machine is rebuilt from the persisted snapshot; raft hands out
  // the committed entries after it again.
  absl::StatusOr<raftpb::Snapshot> snapshot = m.storage->MemoryStorage::Snapshot();
  KEEL_ASSERT(snapshot.ok());
  m.applied = snapshot->metadata().index();
  m.applied_term = snapshot->metadata().term();
  m.hash = DecodeState(snapshot->data());
  if (m.applied > 0) m.conf = snapshot->metadata().conf_state();
  // Entries before the snapshot may still be in the log (compaction keeps a
  // few): tell raft where the state machine is, as etcd's server does.
  m.config->applied = m.applied;
  absl::StatusOr<std::unique_ptr<RawNode>> node = RawNode::Create(*m.config);
  KEEL_ASSERT(node.ok());
  m.node = *std::move(node);
  // An initial member whose bootstrap never reached its disk bootstraps
  // again, as etcd's server does when it finds no WAL. (Replaying the
  // bootstrap entries from a leader instead would pass through the
  // configuration of the first entry alone, in which member 1 could elect
  // itself.)
  const bool initial = m.id <= peers_.size();
  if (initial && *m.storage->LastIndex() == 0 &&
      IsEmptyHardState(m.storage->hard_state())) {
    KEEL_ASSERT(m.node->Bootstrap(peers_).ok());
  }
  Event(StrCat(m.id, " starts at applied ", m.applied));
}

void ChaosCluster::Compact(Member& m) {
  const uint64_t first = *m.storage->FirstIndex();
  if (m.applied < first) return;
  // Snapshot the state machine as applied, and keep a few entries before it
  // so slightly lagging followers can still be caught up from the log.
  absl::StatusOr<raftpb::Snapshot> snapshot =
      m.storage->CreateSnapshot(m.applied, &m.conf, EncodeState(m.hash));
  if (!snapshot.ok()) return;
  const uint64_t keep = random_.Uniform(4);
  const uint64_t compact = m.applied > first + keep ? m.applied - keep : first;
  absl::Status status = m.storage->Compact(compact);
  (void)status;
  Event(StrCat(m.id, " compacts to ", compact, " (snapshot at ", m.applied, ")"));
}

void ChaosCluster::Propose(Member& m) {
  std::string data = StrCat("p", ++next_proposal_);
  (void)m.node->Propose(std::move(data));
  CheckLeader(m, Ready());
}

void ChaosCluster::ProposeConfChange(Member& m) {
  // Changes go through the leader and are checked against its (latest
  // applied) configuration, the way etcd's server validates member
  // changes: voters are never demoted, the leader is never removed (it
  // would transfer leadership first), and a change never removes so many
  // voters that the remaining ones are not a majority of the current
  // configuration. Without these rules a removed member holding the longest
  // log can be the vote every remaining voter needs and never gives, which
  // stops the group (a liveness limit of applying configurations when
  // committed, shared with etcd).
  (void)m;
  Member* leader = Leader();
  if (leader == nullptr) return;
  const TrackerConfig& config = leader->node->raft().tracker().config;
  ConfChangeV2 change;
  if (config.joint()) {
    if (!random_.OneIn(2)) return;  // the empty change leaves it
  } else {
    const MajorityConfig& voters = config.voters.incoming;
    size_t remaining = voters.size();
    const size_t n = 1 + random_.Uniform(2);
    for (size_t i = 0; i < n; i++) {
      const uint64_t id = 1 + random_.Uniform(members_.size());
      const bool voter = voters.contains(id);
      const bool learner = config.learners.contains(id);
      raftpb::ConfChangeType type;
      switch (random_.Uniform(3)) {
        case 0:
          type = raftpb::ConfChangeAddNode;  // add or promote
          break;
        case 1:
          if (voter) continue;  // no demotion
          type = raftpb::ConfChangeAddLearnerNode;
          break;
        default:
          if (id == leader->id) continue;
          if (voter) {
            if (remaining - 1 < voters.size() / 2 + 1) continue;
            remaining--;
          } else if (!learner) {
            continue;
          }
          type = raftpb::ConfChangeRemoveNode;
      }
      ConfChangeSingle* single = change.add_changes();
      single->set_type(type);
      single->set_node_id(id);
    }
    if (change.changes_size() == 0) return;
    change.set_transition(
        static_cast<raftpb::ConfChangeTransition>(random_.Uniform(3)));
  }
  Event(StrCat(leader->id, " proposes conf change ",
               ConfChangesToString(change.changes())));
  (void)leader->node->ProposeConfChange(change);
}

void ChaosCluster::ReadIndex(Member& m) {
  std::string context = StrCat("r", ++next_proposal_);
  read_floor_[context] = max_persisted_commit_;
  m.node->ReadIndex(std::move(context));
}

void ChaosCluster::TransferLeader(Member& m) {
  m.node->TransferLeader(1 + random_.Uniform(members_.size()));
}

void ChaosCluster::Partition() {
  if (!partition_.empty()) {
    partition_.clear();
    Event("heal");
    return;
  }
  const size_t size = 1 + random_.Uniform(members_.size() / 2);
  while (partition_.size() < size) partition_.insert(1 + random_.Uniform(members_.size()));
  std::string ids;
  for (uint64_t id : partition_) StrAppend(&ids, id, " ");
  Event(StrCat("partition ", ids));
}

void ChaosCluster::Settle(size_t max_rounds) {
  partition_.clear();
  for (auto& m : members_) {
    if (m->node == nullptr) Restart(*m);
  }
  const size_t applied_before = stats_.entries_applied;
  const std::string marker = StrCat("settle", step_);
  bool committed = false;
  for (size_t round = 0; round < max_rounds && !committed && violations_.empty(); round++) {
    step_++;
    for (auto& m : members_) {
      m->node->Tick();
      CheckLeader(*m, Ready());
      // A leader that removed itself hands leadership to a voter, as etcd's
      // server does before it leaves.
      const Raft& r = m->node->raft();
      if (r.state() == StateType::kLeader && !r.Promotable()) {
        std::vector<uint64_t> voters = r.tracker().VoterNodes();
        if (!voters.empty()) m->node->TransferLeader(voters[0]);
      }
      if (round % 5 == 0) (void)m->node->Propose(marker);
    }
    // Deliver everything, in order, until quiet.
    for (int pass = 0; pass < 50; pass++) {
      bool busy = false;
      for (auto& m : members_) {
        if (m->node->HasReady()) {
          busy = true;
          Ready rd = m->node->Ready();
          Persist(*m, rd);
          for (Message& message : rd.messages) network_.push_back(std::move(message));
          Apply(*m, rd);
          for (const Entry& entry : rd.committed_entries) {
            if (entry.data() == marker) committed = true;
          }
          m->node->Advance();
          CheckLeader(*m, rd);
        }
      }
      std::vector<Message> messages;
      messages.swap(network_);
      for (Message& message : messages) {
        busy = true;
        if (message.to() < 1 || message.to() > members_.size()) continue;
        Member& to = *members_[message.to() - 1];
        const bool snapshot = message.type() == raftpb::MsgSnap;
        const uint64_t from = message.from();
        const uint64_t target = message.to();
        (void)to.node->Step(std::move(message));
        if (snapshot && from >= 1 && from <= members_.size()) {
          members_[from - 1]->node->ReportSnapshot(target, true);
        }
        CheckLeader(to, Ready());
      }
      if (!busy) break;
    }
  }
  CheckLogMatching();
  if (!committed && violations_.empty()) {
    Violation(StrCat("progress: nothing committed in ", max_rounds,
                     " fault-free rounds (", stats_.entries_applied - applied_before,
                     " entries applied)"));
  }
}

void ChaosCluster::CheckLogMatching() {
  for (size_t a = 0; a < members_.size(); a++) {
    for (size_t b = a + 1; b < members_.size(); b++) {
      MemoryStorage& x = *members_[a]->storage;
      MemoryStorage& y = *members_[b]->storage;
      const uint64_t lo = std::max(*x.FirstIndex(), *y.FirstIndex());
      const uint64_t hi = std::min(*x.LastIndex(), *y.LastIndex());
      if (lo > hi) continue;
      std::vector<Entry> xs = *x.Entries(lo, hi + 1, kNoLimit);
      std::vector<Entry> ys = *y.Entries(lo, hi + 1, kNoLimit);
      // The highest index at which both hold the same term: everything
      // before it must be identical.
      size_t match = xs.size();
      for (size_t i = xs.size(); i-- > 0;) {
        if (xs[i].term() == ys[i].term()) {
          match = i;
          break;
        }
      }
      if (match == xs.size()) continue;
      for (size_t i = 0; i <= match; i++) {
        if (xs[i].term() != ys[i].term() || xs[i].data() != ys[i].data() ||
            xs[i].type() != ys[i].type()) {
          Violation(StrCat("log matching: members ", a + 1, " and ", b + 1,
                           " agree at index ", xs[match].index(), " but differ at ",
                           xs[i].index(), ": ", DescribeEntry(xs[i]), " vs ",
                           DescribeEntry(ys[i])));
          return;
        }
      }
    }
  }
}

}  // namespace keel::raft::rafttest
