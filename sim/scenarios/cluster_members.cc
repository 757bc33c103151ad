// The cluster scenario's members: node::Node on simulated machines.
#include "sim/scenarios/cluster_members.h"

#include <algorithm>
#include <memory>

#include "runtime/strings.h"
#include "runtime/sync.h"

namespace keel::sim::cluster {
namespace {

// A supervisor's pause before restarting a member that stopped or refused
// to start.
constexpr Duration kRestartAfterExit = Milliseconds(500);
// The members' progress notification interval (watches last 0.5 to 6 s).
constexpr Duration kProgressNotifyInterval = Milliseconds(250);

std::string HostOf(size_t m) { return StrCat("10.0.0.", m + 1); }

void Add(SnapshotTally& to, const SnapshotTally& from) {
  to.sent += from.sent;
  to.sent_in_chunks += from.sent_in_chunks;
  to.chunks += from.chunks;
  to.installed += from.installed;
}

}  // namespace

// When a member's boot frame goes (the process was killed, or the member
// stopped), keeps its snapshot counters and clears the scenario's pointer
// to it. Declared after the member, so it runs while the member lives.
class ClusterMembers::OnExit {
 public:
  OnExit(ClusterMembers& members, size_t m) : members_(members), m_(m) {}
  OnExit(const OnExit&) = delete;
  OnExit& operator=(const OnExit&) = delete;
  ~OnExit() {
    Keep();
    members_.nodes_[m_] = nullptr;
  }
  // Keeps the counters now: a stopping server drops its transport.
  void Keep() {
    node::Node* member = members_.nodes_[m_];
    if (member == nullptr || members_.kept_[m_]) return;
    Add(members_.exited_snapshots_, TallyOf(*member));
    members_.kept_[m_] = true;
  }

 private:
  ClusterMembers& members_;
  size_t m_;
};

ClusterMembers::ClusterMembers(SimWorld& world, int count, MemberTuning tuning,
                               ServerBugs bugs, int spares)
    : world_(world), tuning_(tuning), bugs_(bugs), initial_(static_cast<size_t>(count)) {
  KEEL_ASSERT(count >= 1);
  KEEL_ASSERT(spares >= 0);
#if !KEEL_FAILPOINTS
  KEEL_ASSERT_MSG(!bugs_.any(), "server defects need the failpoint build");
#endif
  for (int i = 0; i < count; i++) {
    StrAppend(&initial_cluster_, i > 0 ? "," : "", "m", i + 1, "=http://",
              HostOf(static_cast<size_t>(i)), ":", kPeerPort);
  }
  const int machines = count + spares;
  nodes_.assign(static_cast<size_t>(machines), nullptr);
  kept_.assign(static_cast<size_t>(machines), false);
  seats_.assign(static_cast<size_t>(machines), Seat{});
  for (int i = 0; i < count; i++) seats_[static_cast<size_t>(i)].member = true;
  for (int i = 0; i < machines; i++) {
    const size_t m = static_cast<size_t>(i);
    machines_.push_back(&world_.AddMachine(
        {.name = StrCat("m", i + 1),
         .host = HostOf(m),
         .boot = [this, m](Env& env) { return Boot(env, m); },
         .restart_after_exit = kRestartAfterExit}));
  }
}

std::vector<std::string> ClusterMembers::ClientEndpoints(bool all) const {
  std::vector<std::string> out;
  for (size_t m = 0; m < (all ? machines_.size() : initial_); m++) {
    out.push_back(StrCat(HostOf(m), ":", kClientPort));
  }
  return out;
}

std::string ClusterMembers::PeerUrl(size_t m) const {
  return StrCat("http://", HostOf(m), ":", kPeerPort);
}

std::optional<size_t> ClusterMembers::MachineOf(const std::vector<std::string>& urls) const {
  for (size_t m = 0; m < machines_.size(); m++) {
    if (std::find(urls.begin(), urls.end(), PeerUrl(m)) != urls.end()) return m;
  }
  return std::nullopt;
}

std::string ClusterMembers::InitialClusterOf(const std::vector<node::Member>& members) const {
  std::string out;
  for (const node::Member& member : members) {
    const std::optional<size_t> m = MachineOf(member.peer_urls);
    for (const std::string& url : member.peer_urls) {
      StrAppend(&out, out.empty() ? "" : ",",
                m.has_value() ? machines_[*m]->name() : member.name, "=", url);
    }
  }
  return out;
}

size_t ClusterMembers::SeatedMembers() const {
  return static_cast<size_t>(
      std::count_if(seats_.begin(), seats_.end(), [](const Seat& s) { return s.member; }));
}

size_t ClusterMembers::SeatedVoters() const {
  return static_cast<size_t>(std::count_if(
      seats_.begin(), seats_.end(), [](const Seat& s) { return s.member && !s.learner; }));
}

void ClusterMembers::StartAll() {
  for (size_t m = 0; m < initial_; m++) machines_[m]->Start();
}

Task<void> ClusterMembers::Boot(Env& env, size_t m) {
  if (!seats_[m].member) {
    // Outside the cluster: nothing to run (a removed member's data stays on
    // its disk until the operator wipes it), until the operator kills this
    // process to seat the machine again.
    Event never;
    co_await never.Wait();
    co_return;
  }
  node::ServerConfig config;
  config.name = machines_[m]->name();
  config.listen_client_urls = {StrCat("http://", HostOf(m), ":", kClientPort)};
  config.advertise_client_urls = config.listen_client_urls;
  config.listen_peer_urls = {StrCat("http://", HostOf(m), ":", kPeerPort)};
  config.initial_advertise_peer_urls = config.listen_peer_urls;
  config.initial_cluster = initial_cluster_;
  if (!seats_[m].join_cluster.empty()) {
    // Added at runtime: join the running cluster, as `etcdctl member add`
    // tells the operator to start the new member.
    config.initial_cluster = seats_[m].join_cluster;
    config.initial_cluster_state = "existing";
  }
  config.heartbeat_interval_ms = tuning_.heartbeat_interval_ms;
  config.election_timeout_ms = tuning_.election_timeout_ms;
  config.snapshot_count = tuning_.snapshot_count;
  config.snapshot_catchup_entries = tuning_.snapshot_catchup_entries;
  config.snapshot_chunk_bytes = tuning_.snapshot_chunk_bytes;
  config.max_inflight_bytes = tuning_.max_inflight_bytes;
  config.strict_reconfig_check = tuning_.strict_reconfig_check;
#if KEEL_FAILPOINTS
  // The one place that turns a server's deliberate defects on.
  config.failpoints.ack_before_sync = bugs_.ack_before_sync;
  config.failpoints.lease_early_expiry = bugs_.lease_early_expiry;
  config.failpoints.lock_skips_wait = bugs_.lock_skips_wait;
  config.failpoints.snapshot_stale_conf = bugs_.snapshot_stale_conf;
#endif
  node::NodeOptions options;
  // LevelDB's background work on the loop, and a small memtable, so
  // flushes and compactions happen within a run.
  options.storage.leveldb_background = store::LevelDbBackground::kQueue;
  options.storage.leveldb_write_buffer_bytes = 64 << 10;
  // Rot in data no client reads is found and repaired within a run.
  options.storage.key_space_scrub_interval = Seconds(3);
  // Progress notifications every few hundred milliseconds rather than
  // etcd's default ten minutes, so that watches asking for them get some
  // within a run (etcd's robustness tests shorten it the same way).
  options.watch.progress_notify_interval = kProgressNotifyInterval;
  auto member = co_await node::Node::Start(env, std::move(config), std::move(options));
  if (!member.ok()) {
    failed_starts_++;
    world_.log().Note("cluster", StrCat(machines_[m]->name(), " did not start: ",
                                        member.status().ToString()));
    co_return;
  }
  starts_++;
  if ((*member)->server().repaired_at_start()) {
    repairs_++;
    world_.log().Note("cluster", StrCat(machines_[m]->name(), " repaired its key space"));
  }
  nodes_[m] = member->get();
  // The initial members' IDs, which bootstrap derives, as they start.
  if (seats_[m].member && seats_[m].id == 0) seats_[m].id = (*member)->server().id();
  kept_[m] = false;
  OnExit on_exit(*this, m);
  co_await (*member)->server().stopped().Wait();
  on_exit.Keep();
  fatal_stops_++;
  world_.log().Note("cluster", StrCat(machines_[m]->name(), " stopped: ",
                                      (*member)->server().fatal_error().ToString()));
  // As tools/keel does on a fatal error: a graceful stop (client
  // connections drained, requests inside finished) before the process exits.
  co_await (*member)->Stop(Seconds(1));
}

SnapshotTally ClusterMembers::TallyOf(node::Node& member) {
  SnapshotTally tally;
  node::Server& server = member.server();
  tally.installed = static_cast<uint64_t>(server.apply_loop().snapshots_installed());
  if (net::PeerTransport* transport = server.raft().transport(); transport != nullptr) {
    for (uint64_t peer : transport->peer_ids()) {
      const net::PeerStats stats = transport->stats(peer);
      tally.sent += stats.snapshots_sent;
      tally.sent_in_chunks += stats.snapshots_sent_in_chunks;
      tally.chunks += stats.snapshot_chunks_sent;
    }
  }
  return tally;
}

SnapshotTally ClusterMembers::snapshots() const {
  SnapshotTally tally = exited_snapshots_;
  for (size_t m = 0; m < nodes_.size(); m++) {
    if (nodes_[m] != nullptr && !kept_[m]) Add(tally, TallyOf(*nodes_[m]));
  }
  return tally;
}

int ClusterMembers::Leader() const {
  int best = -1;
  uint64_t best_term = 0;
  for (size_t m = 0; m < nodes_.size(); m++) {
    // A removed member that has not learned so yet may still think it leads.
    if (nodes_[m] == nullptr || machines_[m]->paused() || !seats_[m].member) continue;
    const node::Server& s = nodes_[m]->server();
    if (s.raft().is_leader() && (best < 0 || s.raft().term() > best_term)) {
      best = static_cast<int>(m);
      best_term = s.raft().term();
    }
  }
  return best;
}

const std::map<uint64_t, node::Member>* ClusterMembers::LeaderMembers() const {
  const int leader = Leader();
  if (leader < 0) return nullptr;
  return &nodes_[static_cast<size_t>(leader)]->server().key_space().members().members();
}

std::vector<std::string> ClusterMembers::Reconcile() {
  std::vector<std::string> contradictions;
  const std::map<uint64_t, node::Member>* listed = LeaderMembers();
  if (listed == nullptr) return contradictions;
  std::vector<std::optional<node::Member>> truth(machines_.size());
  std::vector<node::Member> all;
  for (const auto& [id, member] : *listed) {
    all.push_back(member);
    const std::optional<size_t> m = MachineOf(member.peer_urls);
    if (m.has_value()) truth[*m] = member;
  }
  for (size_t m = 0; m < machines_.size(); m++) {
    Seat& seat = seats_[m];
    const std::optional<node::Member>& member = truth[m];
    if (seat.uncertain) {
      seat.uncertain = false;
      if (!member.has_value()) {
        seat.member = false;
        continue;
      }
      const bool was_member = seat.member;
      seat.member = true;
      seat.learner = member->is_learner;
      if (seat.id != member->id) {
        seat.id = member->id;
        seat.join_cluster = InitialClusterOf(all);
      }
      world_.log().Note("cluster", StrCat(machines_[m]->name(), " is a member after all, id ",
                                          node::FormatId(member->id)));
      if (!was_member) machines_[m]->Kill();  // idling outside: boot it as the member
      if (!machines_[m]->running()) machines_[m]->Start();
      continue;
    }
    const std::string name = machines_[m]->name();
    if (seat.member && !member.has_value()) {
      contradictions.push_back(StrCat(name, " was added (id ", node::FormatId(seat.id),
                                      ") but the leader does not list it"));
    } else if (!seat.member && member.has_value()) {
      contradictions.push_back(StrCat(name, " was removed but the leader lists it as ",
                                      node::FormatId(member->id)));
    } else if (seat.member && seat.id != 0 &&
               (seat.id != member->id || seat.learner != member->is_learner)) {
      contradictions.push_back(StrCat(name, " is ", node::FormatId(seat.id),
                                      seat.learner ? " (learner)" : " (voter)",
                                      " but the leader lists ", node::FormatId(member->id),
                                      member->is_learner ? " (learner)" : " (voter)"));
    }
  }
  return contradictions;
}

bool ClusterMembers::Converged() const {
  const int leader = Leader();
  if (leader < 0) return false;
  node::Server& lead = nodes_[static_cast<size_t>(leader)]->server();
  const std::map<uint64_t, node::Member>& listed = lead.key_space().members().members();
  std::vector<node::Node*> in;
  for (const auto& [id, member] : listed) {
    const std::optional<size_t> m = MachineOf(member.peer_urls);
    if (!m.has_value() || nodes_[*m] == nullptr || machines_[*m]->paused()) return false;
    const node::Server& s = nodes_[*m]->server();
    if (s.id() != id || s.raft().leader() != lead.id() || s.raft().term() != lead.raft().term() ||
        s.GetStatus().applied_index != lead.GetStatus().applied_index ||
        s.key_space().members().members() != listed) {
      return false;
    }
    in.push_back(nodes_[*m]);
  }
  auto want = lead.key_space().mvcc().Hash();
  if (!want.ok()) return false;
  for (node::Node* n : in) {
    auto got = n->server().key_space().mvcc().Hash();
    if (!got.ok() || got->hash != want->hash || got->revision != want->revision) return false;
  }
  return true;
}

std::vector<std::string> ClusterMembers::Lagging() const {
  std::vector<std::string> out;
  const int leader = Leader();
  if (leader < 0) return out;
  const node::Server& lead = nodes_[static_cast<size_t>(leader)]->server();
  for (const auto& [id, member] : lead.key_space().members().members()) {
    const std::optional<size_t> m = MachineOf(member.peer_urls);
    if (!m.has_value()) {
      out.push_back(StrCat(node::FormatId(id), " (no machine)"));
      continue;
    }
    const std::string name = machines_[*m]->name();
    if (nodes_[*m] == nullptr || nodes_[*m]->server().id() != id) {
      out.push_back(StrCat(name, " (", node::FormatId(id), ", not running)"));
    } else if (nodes_[*m]->server().GetStatus().applied_index <
               lead.GetStatus().applied_index) {
      out.push_back(StrCat(name, " (", node::FormatId(id), ", applied ",
                           nodes_[*m]->server().GetStatus().applied_index, " of ",
                           lead.GetStatus().applied_index, ")"));
    }
  }
  return out;
}

std::string ClusterMembers::Describe() const {
  std::string out;
  for (size_t m = 0; m < nodes_.size(); m++) {
    StrAppend(&out, "  ", machines_[m]->name(), ": ");
    const Seat& seat = seats_[m];
    StrAppend(&out, !seat.member ? "outside " : seat.learner ? "learner " : "",
              seat.uncertain ? "(uncertain) " : "");
    if (nodes_[m] == nullptr) {
      out += machines_[m]->running() ? "starting or stopped\n" : "down\n";
      continue;
    }
    node::Server& s = nodes_[m]->server();
    auto hash = s.key_space().mvcc().Hash();
    StrAppend(&out, machines_[m]->paused() ? "paused " : "",
              s.raft().is_leader() ? "leader" : "follower", " id ", s.id(), " term ", s.raft().term(),
              " lead ", s.raft().leader(), " applied ", s.GetStatus().applied_index, " revision ",
              s.key_space().mvcc().current_revision());
    if (hash.ok()) StrAppend(&out, " hash ", hash->hash);
    out += "\n";
  }
  return out;
}

}  // namespace keel::sim::cluster
