// Self-repair at start: the damaged key space dropped and rebuilt, from the
// member's own log or from a peer's key space.
#include <algorithm>
#include <set>
#include <utility>

#include "net/peer_transport.h"
#include "node/membership.h"
#include "node/self_repair.h"
#include "node/wal_raft_storage.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

// What the member's WAL says: who it is, where its log starts, its voters.
struct LogFacts {
  store::WalIdentity identity;
  uint64_t snapshot_index = 0;
  std::set<uint64_t> voters;
};

Task<absl::StatusOr<LogFacts>> ReadLogFacts(Env& env, const ServerConfig& config) {
  store::WalOptions options;
  options.dir = config.WalDir();
  options.max_segments = static_cast<int>(config.max_wals);
  if (!store::Wal::Exists(env.fs(), options.dir)) {
    co_return absl::DataLossError(StrCat("the key space in ", config.DataDir(),
                                         " is damaged and there is no WAL in ", options.dir));
  }
  // A zero identity is not checked: the WAL says whose it is.
  auto wal = co_await WalRaftStorage::Open(env, options, store::WalIdentity{});
  if (!wal.ok()) co_return wal.status();
  LogFacts facts;
  facts.identity = (*wal)->wal().identity();
  KEEL_CO_ASSIGN_OR_RETURN(uint64_t first_index, (*wal)->FirstIndex());
  facts.snapshot_index = first_index - 1;
  KEEL_CO_ASSIGN_OR_RETURN(raft::InitialState initial, (*wal)->GetInitialState());
  facts.voters.insert(initial.conf_state.voters().begin(), initial.conf_state.voters().end());
  // Conf changes still in the log: the voters they add count too (a
  // removed one just fails to answer).
  KEEL_CO_ASSIGN_OR_RETURN(uint64_t last_index, (*wal)->LastIndex());
  if (last_index >= first_index) {
    KEEL_CO_ASSIGN_OR_RETURN(std::vector<raft::Entry> entries,
                             (*wal)->Entries(first_index, last_index + 1, UINT64_MAX));
    for (const raft::Entry& entry : entries) {
      if (entry.type() == raftpb::EntryConfChange) {
        raftpb::ConfChange change;
        if (change.ParseFromString(entry.data()) &&
            change.type() == raftpb::ConfChangeAddNode) {
          facts.voters.insert(change.node_id());
        }
      } else if (entry.type() == raftpb::EntryConfChangeV2) {
        raftpb::ConfChangeV2 change;
        if (!change.ParseFromString(entry.data())) continue;
        for (const auto& single : change.changes()) {
          if (single.type() == raftpb::ConfChangeAddNode) facts.voters.insert(single.node_id());
        }
      }
    }
  }
  co_return facts;
}

// Peer URLs to ask: the marker's (the members as the member last knew
// them), then --initial-cluster's, without this member's own.
std::vector<std::string> RepairPeerUrls(Env& env, const ServerConfig& config) {
  std::vector<std::string> urls = MarkedPeerUrls(env.fs(), config);
  if (auto members = BootstrapMembers(config); members.ok()) {
    for (const Member& member : *members) {
      if (member.name == config.name) continue;
      urls.insert(urls.end(), member.peer_urls.begin(), member.peer_urls.end());
    }
  }
  std::vector<std::string> out;
  for (const std::string& url : urls) {
    const bool own = std::find(config.initial_advertise_peer_urls.begin(),
                               config.initial_advertise_peer_urls.end(),
                               url) != config.initial_advertise_peer_urls.end();
    if (!own && std::find(out.begin(), out.end(), url) == out.end()) out.push_back(url);
  }
  return out;
}

absl::Status WipeKeySpace(FileSystem& fs, const std::string& dir) {
  for (const char* suffix : {"", ".old", ".restore"}) {
    KEEL_RETURN_IF_ERROR(RemoveTree(fs, StrCat(dir, suffix)));
  }
  return absl::OkStatus();
}

// One round over the peers: the first whose key space covers the log's
// start is installed. OK once installed.
Task<absl::Status> InstallFromPeers(Env& env, const ServerConfig& config, KeySpace& key_space,
                                    const LogFacts& facts) {
  const std::string file =
      JoinPath(JoinPath(JoinPath(config.DataDir(), "member"), "snap"), "repair.tmp");
  absl::Status last = absl::UnavailableError("no peer URL to ask");
  for (const std::string& url : RepairPeerUrls(env, config)) {
    auto address = net::PeerUrlToAddress(url);
    if (!address.ok()) continue;
    absl::StatusOr<FetchedRepairSnapshot> fetched =
        co_await FetchRepairSnapshot(env, *address, file, kRepairFetchTimeout);
    absl::Status usable = fetched.ok() ? CheckRepairSource(fetched->applied_index,
                                                           fetched->cluster_id,
                                                           facts.snapshot_index,
                                                           facts.identity.cluster_id)
                                       : fetched.status();
    if (usable.ok()) {
      usable = key_space.InstallSnapshot(
          file, fetched->applied_index,
          KeySpaceIdentity{.cluster_id = facts.identity.cluster_id,
                           .member_id = facts.identity.member_id});
    }
    (void)env.fs().Remove(file);
    if (usable.ok()) {
      env.log().Info("recovered the key space from a peer",
                     {{"peer-url", url},
                      {"applied-index", fetched->applied_index},
                      {"applied-term", fetched->applied_term},
                      {"log-snapshot-index", facts.snapshot_index}});
      co_return absl::OkStatus();
    }
    env.log().Warn("a peer could not give a usable key space",
                   {{"peer-url", url}, {"error", usable.ToString()}});
    last = usable;
  }
  co_return last;
}

}  // namespace

Task<absl::StatusOr<std::unique_ptr<KeySpace>>> RepairKeySpace(Env& env,
                                                               const ServerConfig& config,
                                                               KeySpaceOptions options) {
  absl::StatusOr<LogFacts> facts = co_await ReadLogFacts(env, config);
  DamageFacts damage{.site = DamageSite::kKeySpace, .wal_intact = facts.ok()};
  if (facts.ok()) {
    damage.other_voters = static_cast<int>(facts->voters.size()) -
                          (facts->voters.count(facts->identity.member_id) > 0 ? 1 : 0);
  }
  RepairDecision decision = DecideRepair(damage);
  // A log from index 1 needs no peer: this member replays its own.
  const bool replay_own_log = facts.ok() && facts->snapshot_index == 0;
  if (decision.action != RepairAction::kRepairKeySpace && !replay_own_log) {
    co_return absl::FailedPreconditionError(
        StrCat("the key space in ", options.dir, " is damaged and cannot be repaired: ",
               decision.why, facts.ok() ? "" : StrCat(" (", facts.status().ToString(), ")")));
  }
  env.log().Warn("repairing the damaged key space",
                 {{"dir", options.dir},
                  {"local-member-id", FormatId(facts->identity.member_id)},
                  {"log-snapshot-index", facts->snapshot_index},
                  {"from", replay_own_log ? "own raft log" : "a peer"},
                  {"why", decision.why}});
  KEEL_CO_RETURN_IF_ERROR(WipeKeySpace(env.fs(), options.dir));
  auto key_space = KeySpace::Open(env, options);
  if (!key_space.ok()) co_return key_space.status();
  if (replay_own_log) {
    KEEL_CO_RETURN_IF_ERROR((*key_space)->members().SetIdentity(
        facts->identity.cluster_id, facts->identity.member_id));
  } else {
    const TimePoint deadline = env.clock().Now() + kRepairPatience;
    absl::Status installed = co_await InstallFromPeers(env, config, **key_space, *facts);
    while (!installed.ok() && env.clock().Now() < deadline) {
      co_await env.clock().Sleep(Milliseconds(500));
      installed = co_await InstallFromPeers(env, config, **key_space, *facts);
    }
    if (!installed.ok()) {
      co_return absl::UnavailableError(
          StrCat("the key space in ", options.dir,
                 " is damaged and no peer gave a usable copy yet: ", installed.message()));
    }
  }
  KEEL_CO_RETURN_IF_ERROR((*key_space)->SyncBarrier());
  KEEL_CO_RETURN_IF_ERROR(env.fs().Remove(RepairMarkerPath(config)));
  KEEL_CO_RETURN_IF_ERROR(env.fs().SyncDirNow(JoinPath(config.DataDir(), "member")));
  co_return std::move(*key_space);
}

}  // namespace keel::node
