// Test helpers for raft's unit tests, in the style of etcd's raft_test.go:
// members that own their storage and randomness, message builders, and a
// TestNetwork that delivers messages between members until none are left,
// with drops, cuts, isolation and ignored message types.
//
// Members in a TestNetwork do not persist anything: entries stay in the
// unstable log, which raft reads just as well. Tests that care about the
// Ready cycle use RawNode (raw_node_test.cc) or the interaction harness.
#ifndef KEEL_RAFT_RAFT_TEST_UTIL_H_
#define KEEL_RAFT_RAFT_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/config.h"
#include "raft/raft.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "runtime/random.h"

namespace keel::raft::testing {

using Configure = std::function<void(Config&)>;

// A Raft with the storage and randomness it refers to.
struct TestMember {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<Raft> raft;
  // In a TestNetwork: swallow every message sent to this member.
  bool black_hole = false;

  Raft* operator->() const { return raft.get(); }
  Raft& operator*() const { return *raft; }
};

// A storage holding the configuration, an empty log and no hard state.
std::unique_ptr<MemoryStorage> StorageWithPeers(
    std::vector<uint64_t> voters, std::vector<uint64_t> learners = {});

// A storage holding `entries` (starting at index 1) and the configuration.
std::unique_ptr<MemoryStorage> StorageWithEntries(std::vector<uint64_t> voters,
                                                  std::vector<Entry> entries);

// The config tests use: no size limits, 256 in-flight messages.
Config TestConfig(uint64_t id, int election, int heartbeat, Storage& storage,
                  Random& random);

// A member over `storage`, election/heartbeat in ticks, seeded by id.
TestMember NewTestMember(uint64_t id, int election, int heartbeat,
                         std::unique_ptr<MemoryStorage> storage,
                         const Configure& configure = {});
// A member of a group of `voters` with an empty log.
TestMember NewTestMember(uint64_t id, std::vector<uint64_t> voters,
                         int election = 10, int heartbeat = 1,
                         const Configure& configure = {});

// A member that drops every message sent to it.
TestMember BlackHole();

// Entries of the given terms at indexes 1, 2, ...
std::vector<Entry> EntriesWithTerms(std::vector<uint64_t> terms);
Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "");
Message MakeMessage(uint64_t from, uint64_t to, MessageType type,
                    uint64_t term = 0);
// A local proposal of one entry carrying data.
Message Proposal(uint64_t from, std::string data);

// Moves out the member's outbox.
std::vector<Message> ReadMessages(Raft& raft);

// Persists what the member's log holds as unstable and applies what is
// committed (etcd's nextEnts): `apply` sees each entry before raft is told
// it was applied. Returns the newly applied entries.
std::vector<Entry> NextEntries(
    Raft& raft, MemoryStorage& storage,
    const std::function<void(const Entry&)>& apply = {});

// Members 1..n; entries of `members` that are empty (no raft, not a black
// hole) become fresh members of the full group, configured by `configure`.
class TestNetwork {
 public:
  explicit TestNetwork(std::vector<TestMember> members,
                       const Configure& configure = {});
  // n fresh members.
  static std::unique_ptr<TestNetwork> OfSize(size_t n,
                                             const Configure& configure = {});

  // Steps each message into its recipient and keeps delivering what they
  // send, until nothing is left.
  void Send(std::vector<Message> messages);
  void Send(Message message) { Send(std::vector<Message>{std::move(message)}); }
  // Campaign shortcut: MsgHup to id.
  void Campaign(uint64_t id);
  // Proposal shortcut.
  void Propose(uint64_t id, std::string data);

  // Drops messages from -> to with probability `fraction` (1 = always).
  void Drop(uint64_t from, uint64_t to, double fraction);
  // Drops all messages between a and b.
  void Cut(uint64_t a, uint64_t b);
  // Drops all messages to and from id.
  void Isolate(uint64_t id);
  // Drops every message of this type.
  void Ignore(MessageType type);
  // Undoes Drop, Cut, Isolate and Ignore.
  void Recover();

  Raft& raft(uint64_t id) { return *members_.at(id).raft; }
  MemoryStorage& storage(uint64_t id) { return *members_.at(id).storage; }
  TestMember& member(uint64_t id) { return members_.at(id); }
  std::vector<uint64_t> ids() const;

  // Called for every message that passes the filters; false drops it.
  std::function<bool(const Message&)> message_hook;

 private:
  std::vector<Message> Filter(std::vector<Message> messages);

  std::map<uint64_t, TestMember> members_;
  std::map<std::pair<uint64_t, uint64_t>, double> drops_;
  std::set<int> ignored_;
  Random random_{42};
};

}  // namespace keel::raft::testing

#endif  // KEEL_RAFT_RAFT_TEST_UTIL_H_
