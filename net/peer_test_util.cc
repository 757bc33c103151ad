// PeerCluster and the helpers of the peer transport's tests.
#include "net/peer_test_util.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net::testing {

std::vector<raftpb::Message> Inbox::From(uint64_t from) const {
  std::vector<raftpb::Message> out;
  for (const raftpb::Message& m : messages) {
    if (m.from() == from) out.push_back(m);
  }
  return out;
}

PeerCluster::PeerCluster(uint64_t seed)
    : world_([seed] {
        sim::SimWorldOptions options;
        options.seed = seed;
        options.buggify = false;
        options.log_capacity_lines = 200000;
        return options;
      }()) {}

PeerCluster::~PeerCluster() {
  for (const auto& [id, member] : members_) member->machine->Kill();
}

void PeerCluster::Add(uint64_t id, MemberConfig config) {
  KEEL_ASSERT(id >= 1 && id <= 250);
  KEEL_ASSERT(members_.count(id) == 0);
  auto member = std::make_unique<Member>();
  member->id = id;
  member->config = std::move(config);
  Member* raw = member.get();
  sim::SimMachineOptions options;
  options.name = StrCat("n", id);
  options.host = Host(id);
  options.boot = [this, raw](Env& env) { return Boot(raw, env); };
  member->machine = &world_.AddMachine(std::move(options));
  members_.emplace(id, std::move(member));
}

Task<void> PeerCluster::Boot(Member* member, Env& env) {
  PeerTransportOptions options;
  options.local_id = member->id;
  options.cluster_id = member->config.cluster_id;
  options.listen_address = Address(member->id);
  options.snapshot_dir = "snap";
  if (member->config.tweak) member->config.tweak(options);
  Inbox* inbox = &member->inbox;
  sim::SimWorld* world = &world_;
  PeerTransportCallbacks callbacks;
  callbacks.on_message = [inbox, world](raftpb::Message message) {
    inbox->messages.push_back(std::move(message));
    inbox->message_times.push_back(world->now());
  };
  callbacks.on_snapshot = [inbox](ReceivedSnapshot snapshot) {
    if (!inbox->snapshot_verdict.ok()) return inbox->snapshot_verdict;
    inbox->snapshots.push_back(std::move(snapshot));
    return absl::OkStatus();
  };
  callbacks.on_unreachable = [inbox](uint64_t peer) { inbox->unreachable.push_back(peer); };
  callbacks.on_snapshot_status = [inbox, world](uint64_t peer, bool ok) {
    inbox->snapshot_status.emplace_back(peer, ok);
    inbox->snapshot_status_times.push_back(world->now());
  };
  callbacks.on_removed = [inbox](uint64_t peer) { inbox->removed.push_back(peer); };
  callbacks.open_snapshot = member->config.open_snapshot;

  PeerTransport transport(env, options, callbacks);
  const absl::Status started = transport.Start();
  KEEL_ASSERT_MSG(started.ok(), started.ToString().c_str());
  std::vector<uint64_t> peers;
  if (!member->config.all_peers) {
    peers = member->config.peers;
  } else {
    for (const auto& [id, other] : members_) {
      if (id != member->id) peers.push_back(id);
    }
  }
  for (uint64_t id : peers) {
    const absl::Status added = transport.AddPeer(id, {Address(id)});
    KEEL_ASSERT(added.ok());
  }
  struct Publish {
    Member* member;
    ~Publish() {
      member->transport = nullptr;
      member->env = nullptr;
    }
  } publish{member};
  member->transport = &transport;
  member->env = &env;
  co_await env.clock().Sleep(Seconds(1'000'000'000));
}

void PeerCluster::Start(uint64_t id) {
  Member* member = members_.at(id).get();
  member->machine->Start();
  world_.RunUntil([member] { return member->transport != nullptr; }, Seconds(1));
  KEEL_ASSERT(member->transport != nullptr);
}

void PeerCluster::StartAll() {
  for (const auto& [id, member] : members_) Start(id);
}

PeerTransport& PeerCluster::transport(uint64_t id) {
  Member* member = members_.at(id).get();
  KEEL_ASSERT(member->transport != nullptr);
  return *member->transport;
}

Env& PeerCluster::env(uint64_t id) {
  Member* member = members_.at(id).get();
  KEEL_ASSERT(member->env != nullptr);
  return *member->env;
}

void PeerCluster::Do(uint64_t id, std::function<void(PeerTransport&)> fn) {
  Member* member = members_.at(id).get();
  KEEL_ASSERT(member->transport != nullptr);
  bool done = false;
  member->env->Spawn(
      [](Member* m, std::function<void(PeerTransport&)> f, bool* flag) -> Task<void> {
        f(*m->transport);
        *flag = true;
        co_return;
      }(member, std::move(fn), &done));
  world_.RunUntil([&done] { return done; }, Seconds(1));
  KEEL_ASSERT(done);
}

void PeerCluster::Send(uint64_t id, std::vector<raftpb::Message> messages) {
  Do(id, [&messages](PeerTransport& transport) { transport.Send(std::move(messages)); });
}

std::string PeerCluster::Host(uint64_t id) { return StrCat("10.0.0.", id); }

std::string PeerCluster::Address(uint64_t id) const {
  auto it = members_.find(id);
  const uint16_t port = it == members_.end() ? 2380 : it->second->config.port;
  return StrCat(Host(id), ":", port);
}

bool PeerCluster::RunUntil(std::function<bool()> done, Duration limit) {
  return world_.RunUntil([&done] { return done(); }, limit);
}

bool PeerCluster::Logged(uint64_t id, std::vector<std::string_view> parts) {
  const std::string source = StrCat(" n", id, "#");
  for (const std::string& line : world_.log().Tail(200000)) {
    if (line.find(source) == std::string::npos) continue;
    bool all = true;
    for (std::string_view part : parts) {
      if (line.find(part) == std::string::npos) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

raftpb::Message MakeMessage(uint64_t from, uint64_t to, uint64_t sequence,
                            size_t payload_bytes, raftpb::MessageType type) {
  raftpb::Message message;
  message.set_type(type);
  message.set_from(from);
  message.set_to(to);
  message.set_term(1);
  message.set_index(sequence);
  if (payload_bytes > 0) {
    raftpb::Entry* entry = message.add_entries();
    entry->set_term(1);
    entry->set_index(sequence + 1);
    entry->set_data(PatternBytes(sequence, 0, payload_bytes));
  }
  return message;
}

std::string PatternBytes(uint64_t seed, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n;) {
    const uint64_t position = offset + i;
    uint64_t z = (seed * 0x9e3779b97f4a7c15ULL) ^ (position / 8 + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (size_t b = position % 8; b < 8 && i < n; b++, i++) {
      out[i] = static_cast<char>(z >> (8 * b));
    }
  }
  return out;
}

Task<absl::StatusOr<std::string>> PatternSnapshotSource::ReadChunk(size_t max_bytes) {
  counters_->reads++;
  counters_->max_request = std::max(counters_->max_request, max_bytes);
  const size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, size_ - offset_));
  std::string chunk = PatternBytes(seed_, offset_, n);
  offset_ += n;
  co_return chunk;
}

}  // namespace keel::net::testing
