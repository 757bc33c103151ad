// Test helpers: members, builders and an in-memory network.
#include "raft/raft_test_util.h"

#include <deque>

#include "runtime/assert.h"

namespace keel::raft::testing {

std::unique_ptr<MemoryStorage> StorageWithPeers(std::vector<uint64_t> voters,
                                                std::vector<uint64_t> learners) {
  ConfState state;
  for (uint64_t id : voters) state.add_voters(id);
  for (uint64_t id : learners) state.add_learners(id);
  return std::make_unique<MemoryStorage>(state);
}

std::unique_ptr<MemoryStorage> StorageWithEntries(std::vector<uint64_t> voters,
                                                  std::vector<Entry> entries) {
  auto storage = StorageWithPeers(std::move(voters));
  KEEL_ASSERT(storage->Append(entries).ok());
  return storage;
}

Config TestConfig(uint64_t id, int election, int heartbeat, Storage& storage,
                  Random& random) {
  return Config{.id = id,
                .storage = storage,
                .random = random,
                .election_ticks = election,
                .heartbeat_ticks = heartbeat,
                .max_size_per_msg = kNoLimit,
                .max_inflight_msgs = 256};
}

TestMember NewTestMember(uint64_t id, int election, int heartbeat,
                         std::unique_ptr<MemoryStorage> storage,
                         const Configure& configure) {
  TestMember member;
  member.storage = std::move(storage);
  member.random = std::make_unique<Random>(id);
  Config config =
      TestConfig(id, election, heartbeat, *member.storage, *member.random);
  if (configure) configure(config);
  member.raft = std::make_unique<Raft>(config);
  return member;
}

TestMember NewTestMember(uint64_t id, std::vector<uint64_t> voters,
                         int election, int heartbeat,
                         const Configure& configure) {
  return NewTestMember(id, election, heartbeat,
                       StorageWithPeers(std::move(voters)), configure);
}

TestMember BlackHole() {
  TestMember member;
  member.black_hole = true;
  return member;
}

std::vector<Entry> EntriesWithTerms(std::vector<uint64_t> terms) {
  std::vector<Entry> entries;
  for (size_t i = 0; i < terms.size(); i++) {
    entries.push_back(MakeEntry(i + 1, terms[i]));
  }
  return entries;
}

Entry MakeEntry(uint64_t index, uint64_t term, std::string data) {
  Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

Message MakeMessage(uint64_t from, uint64_t to, MessageType type,
                    uint64_t term) {
  Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_type(type);
  m.set_term(term);
  return m;
}

Message Proposal(uint64_t from, std::string data) {
  Message m = MakeMessage(from, from, raftpb::MsgProp);
  m.add_entries()->set_data(std::move(data));
  return m;
}

std::vector<Message> ReadMessages(Raft& raft) { return raft.TakeMessages(); }

std::vector<Entry> NextEntries(Raft& raft, MemoryStorage& storage,
                               const std::function<void(const Entry&)>& apply) {
  RaftLog& log = raft.mutable_log();
  std::vector<Entry> unstable = log.UnstableEntries();
  KEEL_ASSERT(storage.Append(unstable).ok());
  if (!unstable.empty()) {
    log.StableTo(unstable.back().index(), unstable.back().term());
  }
  std::vector<Entry> applied = log.NextEntries();
  if (apply) {
    for (const Entry& entry : applied) apply(entry);
  }
  if (!applied.empty()) raft.AdvanceApplied(applied.back().index());
  return applied;
}

TestNetwork::TestNetwork(std::vector<TestMember> members,
                         const Configure& configure) {
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < members.size(); i++) ids.push_back(i + 1);
  for (size_t i = 0; i < members.size(); i++) {
    const uint64_t id = i + 1;
    TestMember& member = members[i];
    if (member.raft == nullptr && !member.black_hole) {
      member = NewTestMember(id, ids, 10, 1, configure);
    }
    if (member.raft != nullptr) KEEL_ASSERT(member.raft->id() == id);
    members_.emplace(id, std::move(member));
  }
}

std::unique_ptr<TestNetwork> TestNetwork::OfSize(size_t n,
                                                 const Configure& configure) {
  return std::make_unique<TestNetwork>(std::vector<TestMember>(n), configure);
}

std::vector<uint64_t> TestNetwork::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, member] : members_) out.push_back(id);
  return out;
}

void TestNetwork::Send(std::vector<Message> messages) {
  std::deque<Message> queue(std::make_move_iterator(messages.begin()),
                            std::make_move_iterator(messages.end()));
  while (!queue.empty()) {
    Message m = std::move(queue.front());
    queue.pop_front();
    auto it = members_.find(m.to());
    if (it == members_.end() || it->second.raft == nullptr) continue;
    Raft& raft = *it->second.raft;
    (void)raft.Step(std::move(m));
    for (Message& out : Filter(raft.TakeMessages())) {
      queue.push_back(std::move(out));
    }
  }
}

void TestNetwork::Campaign(uint64_t id) {
  Send(MakeMessage(id, id, raftpb::MsgHup));
}

void TestNetwork::Propose(uint64_t id, std::string data) {
  Send(Proposal(id, std::move(data)));
}

void TestNetwork::Drop(uint64_t from, uint64_t to, double fraction) {
  drops_[{from, to}] = fraction;
}

void TestNetwork::Cut(uint64_t a, uint64_t b) {
  Drop(a, b, 2.0);
  Drop(b, a, 2.0);
}

void TestNetwork::Isolate(uint64_t id) {
  for (const auto& [other, member] : members_) {
    if (other != id) Cut(id, other);
  }
}

void TestNetwork::Ignore(MessageType type) { ignored_.insert(type); }

void TestNetwork::Recover() {
  drops_.clear();
  ignored_.clear();
}

std::vector<Message> TestNetwork::Filter(std::vector<Message> messages) {
  std::vector<Message> kept;
  for (Message& m : messages) {
    if (ignored_.contains(m.type())) continue;
    KEEL_ASSERT_MSG(m.type() != raftpb::MsgHup, "hups never go over the network");
    auto drop = drops_.find({m.from(), m.to()});
    if (drop != drops_.end() && random_.NextDouble() < drop->second) continue;
    if (message_hook && !message_hook(m)) continue;
    kept.push_back(std::move(m));
  }
  return kept;
}

}  // namespace keel::raft::testing
