// fuzz_raft: raft (raft/raw_node.h) stepping arbitrary messages in a small
// in-memory cluster.
//
// Three RawNodes with MemoryStorage run the full Ready cycle (persist,
// send, apply, Advance); the input is a schedule: ticks, proposals,
// campaigns, read-index requests and leader transfers, and the network's
// freedom to deliver any in-flight message, drop it, or deliver a copy of
// any message sent earlier (delay, duplication, reordering). It also injects
// messages decoded from arbitrary bytes, made to fit raft's fault model
// (raft trusts the current term's peers, as etcd's does, and asserts when a
// leader of the current term lies):
//  - a local message type: RawNode::Step must refuse it;
//  - a forwarded proposal or read index (term 0) from a member;
//  - a vote, pre-vote or response from a non-member, with any term;
//  - anything else from a member, with a term below the recipient's (a
//    stale message, which any real network delivers).
// After every step the invariants hold: at most one leader per term; terms
// and commit indexes never go down and a vote never changes within a term;
// committed entries are applied contiguously and every member applies the
// same entry at the same index.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "runtime/assert.h"
#include "runtime/random.h"

namespace keel::fuzz {
namespace {

using raft::Message;
constexpr uint64_t kMembers = 3;
constexpr size_t kMaxHistory = 1024;

struct Member {
  std::unique_ptr<raft::MemoryStorage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<raft::RawNode> node;
  raftpb::HardState hard_state;
  uint64_t applied = 0;
};

class Cluster {
 public:
  Cluster(bool pre_vote, bool check_quorum) {
    raftpb::ConfState conf;
    for (uint64_t id = 1; id <= kMembers; id++) conf.add_voters(id);
    for (uint64_t id = 1; id <= kMembers; id++) {
      Member& m = members_[id];
      m.storage = std::make_unique<raft::MemoryStorage>(conf);
      m.random = std::make_unique<Random>(id);
      raft::Config config{.id = id, .storage = *m.storage, .random = *m.random};
      config.election_ticks = 10;
      config.heartbeat_ticks = 1;
      config.max_inflight_msgs = 16;
      config.pre_vote = pre_vote;
      config.check_quorum = check_quorum;
      auto node = raft::RawNode::Create(config);
      KEEL_ASSERT_MSG(node.ok(), node.status().ToString().c_str());
      m.node = std::move(*node);
    }
  }

  Member& member(uint64_t id) { return members_.at(id); }
  std::vector<Message>& in_flight() { return in_flight_; }
  const std::vector<Message>& history() const { return history_; }
  size_t committed_count() const { return committed_.size(); }
  size_t leader_count() const { return leaders_.size(); }

  // Steps `m` into its recipient; raft may refuse it (an error status) but
  // must not crash.
  void Deliver(Message m) {
    auto it = members_.find(m.to());
    if (it == members_.end()) return;
    (void)it->second.node->Step(std::move(m));
  }

  // Runs every member's Ready cycle until none has anything left, checking
  // the invariants on the way.
  void Settle() {
    for (int round = 0; round < 64; round++) {
      bool any = false;
      for (auto& [id, m] : members_) {
        if (!m.node->HasReady()) continue;
        any = true;
        HandleReady(id, m);
      }
      if (!any) return;
    }
  }

 private:
  void HandleReady(uint64_t id, Member& m) {
    raft::Ready ready = m.node->Ready();
    const raft::Status status = m.node->Status();
    if (status.soft_state.state == raft::StateType::kLeader) {
      auto [it, inserted] = leaders_.emplace(status.hard_state.term(), id);
      KEEL_ASSERT_MSG(it->second == id, "two leaders in one term");
    }
    if (ready.hard_state.has_value()) {
      const raftpb::HardState& next = *ready.hard_state;
      KEEL_ASSERT_MSG(next.term() >= m.hard_state.term(), "term went down");
      KEEL_ASSERT_MSG(next.commit() >= m.hard_state.commit(), "commit went down");
      if (next.term() == m.hard_state.term() && m.hard_state.vote() != raft::kNone) {
        KEEL_ASSERT_MSG(next.vote() == m.hard_state.vote(), "vote changed within a term");
      }
      m.hard_state = next;
    }
    if (ready.snapshot.has_value()) {
      KEEL_ASSERT(m.storage->ApplySnapshot(*ready.snapshot).ok());
      m.applied = std::max(m.applied, ready.snapshot->metadata().index());
    }
    if (!ready.entries.empty()) {
      absl::Status appended = m.storage->Append(ready.entries);
      KEEL_ASSERT_MSG(appended.ok(), appended.ToString().c_str());
    }
    if (ready.hard_state.has_value()) m.storage->SetHardState(*ready.hard_state);
    for (Message& out : ready.messages) {
      if (history_.size() < kMaxHistory) history_.push_back(out);
      in_flight_.push_back(std::move(out));
    }
    for (const raft::Entry& entry : ready.committed_entries) {
      KEEL_ASSERT_MSG(entry.index() == m.applied + 1, "committed entries skip an index");
      m.applied = entry.index();
      KEEL_ASSERT_MSG(entry.index() <= m.hard_state.commit(), "applied past the commit index");
      auto [it, inserted] =
          committed_.emplace(entry.index(), std::make_pair(entry.term(), entry.data()));
      KEEL_ASSERT_MSG(it->second.first == entry.term() && it->second.second == entry.data(),
                      "two members applied different entries at one index");
    }
    m.node->Advance();
  }

  std::map<uint64_t, Member> members_;
  std::vector<Message> in_flight_;
  std::vector<Message> history_;
  std::map<uint64_t, uint64_t> leaders_;  // term -> leader
  std::map<uint64_t, std::pair<uint64_t, std::string>> committed_;
};

// Makes a decoded message one raft must tolerate (see the file comment),
// or returns false to skip it.
bool FitFaultModel(Cluster& cluster, FuzzInput& input, Message* m) {
  const uint64_t to = 1 + input.Byte() % kMembers;
  m->set_to(to);
  if (raft::IsLocalMessage(m->type())) {
    m->set_from(1 + m->from() % kMembers);
    const bool refused = !cluster.member(to).node->Step(*m).ok();
    KEEL_ASSERT_MSG(refused, "RawNode::Step took a local message");
    return false;
  }
  const uint64_t term = cluster.member(to).node->Status().hard_state.term();
  switch (input.Byte() % 3) {
    case 0:  // forwarded by a member
      if (m->type() != raftpb::MsgProp && m->type() != raftpb::MsgReadIndex) return false;
      m->set_term(0);
      m->set_from(1 + m->from() % kMembers);
      if (m->entries_size() == 0) m->add_entries();
      if (m->type() == raftpb::MsgReadIndex) {
        m->mutable_entries()->DeleteSubrange(1, m->entries_size() - 1);
        if (m->entries(0).data().empty()) m->mutable_entries(0)->set_data("ctx");
      }
      // Conf changes are proposed through ProposeConfChange, which encodes
      // them; raft, like etcd's, relies on that encoding.
      for (raft::Entry& entry : *m->mutable_entries()) {
        entry.set_type(raftpb::EntryNormal);
      }
      return true;
    case 1:  // from a non-member
      if (m->type() != raftpb::MsgVote && m->type() != raftpb::MsgPreVote &&
          !raft::IsResponseMessage(m->type())) {
        return false;
      }
      m->set_from(kMembers + 1 + m->from() % 4);
      if (m->term() == 0) m->set_term(1);
      return true;
    default:  // stale
      if (term <= 1) return false;
      m->set_from(1 + m->from() % kMembers);
      m->set_term(1 + m->term() % (term - 1));
      return true;
  }
}

void Run(FuzzInput& input) {
  const uint8_t flags = input.Byte();
  Cluster cluster(/*pre_vote=*/flags & 1, /*check_quorum=*/flags & 2);
  for (int ops = 0; !input.empty() && ops < 1000; ops++) {
    const uint8_t op = input.Byte() % 10;
    const uint64_t id = 1 + input.Byte() % kMembers;
    raft::RawNode& node = *cluster.member(id).node;
    auto& in_flight = cluster.in_flight();
    switch (op) {
      case 0:
        node.Tick();
        break;
      case 1:
      case 2:
        if (!in_flight.empty()) {
          const size_t at = input.Byte() % in_flight.size();
          Message m = std::move(in_flight[at]);
          in_flight.erase(in_flight.begin() + at);
          if (op == 1) cluster.Deliver(std::move(m));
        }
        break;
      case 3:
        if (!cluster.history().empty()) {
          cluster.Deliver(cluster.history()[input.Number(2) % cluster.history().size()]);
        }
        break;
      case 4:
        (void)node.Propose(std::string(input.String()));
        break;
      case 5:
        (void)node.Campaign();
        break;
      case 6: {
        Message m;
        if (!m.ParseFromString(std::string(input.String()))) break;
        if (FitFaultModel(cluster, input, &m)) cluster.Deliver(std::move(m));
        break;
      }
      case 7: {
        std::string context(input.String());
        if (context.empty()) context = "read";
        node.ReadIndex(std::move(context));
        break;
      }
      case 8:
        switch (input.Byte() % 3) {
          case 0:
            node.TransferLeader(1 + input.Byte() % kMembers);
            break;
          case 1:
            node.ReportUnreachable(1 + input.Byte() % kMembers);
            break;
          default:
            node.ReportSnapshot(1 + input.Byte() % kMembers, input.Byte() & 1);
            break;
        }
        break;
      default: {
        std::vector<Message> all = std::move(in_flight);
        in_flight.clear();
        for (Message& m : all) cluster.Deliver(std::move(m));
        break;
      }
    }
    cluster.Settle();
  }
  if (Verbose()) {
    std::fprintf(stderr, "raft: %zu entries committed, %zu leaders\n",
                 cluster.committed_count(), cluster.leader_count());
  }
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::FuzzInput input(data, size);
  keel::fuzz::Run(input);
  return 0;
}
