// Bootstrap: identity, key space and raft log of a member, checked against
// each other.
#include "node/bootstrap.h"

#include <algorithm>
#include <utility>

#include "node/force_new_cluster.h"
#include "node/member_life.h"
#include "node/peer_members.h"
#include "node/self_repair.h"
#include "node/snapshot_io.h"
#include "proto/internal.pb.h"
#include "node/wal_log_store.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

// etcd's ReqTimeout: 5 s plus two election timeouts.
Duration RequestTimeout(const ServerConfig& config) {
  return Seconds(5) + Milliseconds(2 * config.election_timeout_ms);
}

// A data dir belongs to the member that created it. etcd 3.4 (measured
// with 3.4.23) restarts from any member dir whatever --name says, and then
// publishes the new name for the old member ID: a data dir copied from
// another member or cluster comes up as that member under a new name. keel
// refuses a --name that differs from the local member's recorded name
// instead. --initial-cluster, --initial-cluster-token and
// --initial-cluster-state only bootstrap a new member, so on an existing
// data dir they are ignored, as etcd ignores them; a warning says so when
// they would have made another member or cluster.
absl::Status CheckStoredIdentity(Env& env, const ServerConfig& config,
                                 const MemberStore& members, uint64_t id,
                                 uint64_t cluster_id) {
  const Member* self = members.Find(id);
  // No name yet: the member crashed before applying its bootstrap entries,
  // or was added at runtime and has not published one.
  if (self != nullptr && !self->name.empty() && self->name != config.name) {
    return absl::FailedPreconditionError(StrCat(
        "--data-dir ", config.DataDir(), " holds member \"", self->name, "\" (",
        FormatId(id), " of cluster ", FormatId(cluster_id), "), but --name is \"",
        config.name, "\": a data dir belongs to the member that created it; start "
        "it with --name ", self->name, ", or give this member an empty --data-dir"));
  }
  auto flag_members = BootstrapMembers(config);
  if (!flag_members.ok()) return absl::OkStatus();  // Validate() checked them
  const BootstrapIds flag_ids = IdsOf(*flag_members, config.name);
  if (flag_ids.member_id != id || flag_ids.cluster_id != cluster_id) {
    env.log().Warn(
        "ignoring --initial-cluster and --initial-cluster-token: the data dir "
        "already holds a member, which they would not have bootstrapped",
        {{"data-dir", config.DataDir()},
         {"local-member-id", FormatId(id)},
         {"cluster-id", FormatId(cluster_id)},
         {"flags-member-id", FormatId(flag_ids.member_id)},
         {"flags-cluster-id", FormatId(flag_ids.cluster_id)}});
  }
  return absl::OkStatus();
}

// Who this member is: the identity its key space records, or a new member
// of the cluster the flags describe (`*create` then).
absl::Status DecideIdentity(Env& env, const ServerConfig& config, const MemberStore& members,
                            BootstrappedMember* out, bool* create) {
  if (members.local_id().has_value()) {
    out->member_id = *members.local_id();
    out->cluster_id = *members.cluster_id();
    *create = false;
    // A removed member stays removed: its data dir is of no use to the
    // cluster any more (etcd exits the same way once it learns it).
    if (members.IsRemoved(out->member_id)) return MemberRemovedError();
    // A joined member that crashed before its log got anything joins again
    // (it waits for the leader); it was never bootstrapped from the flags.
    out->joining = config.initial_cluster_state == "existing";
    return CheckStoredIdentity(env, config, members, out->member_id, out->cluster_id);
  }
  KEEL_ASSERT(config.initial_cluster_state != "existing");  // JoinExisting's
  KEEL_ASSIGN_OR_RETURN(std::vector<Member> initial_members, BootstrapMembers(config));
  const BootstrapIds ids = IdsOf(initial_members, config.name);
  KEEL_ASSERT(ids.member_id != 0);
  out->member_id = ids.member_id;
  out->cluster_id = ids.cluster_id;
  *create = true;
  return absl::OkStatus();
}

// A new member of a running cluster (--initial-cluster-state existing): the
// cluster ID, its own ID (given by MemberAdd) and the members come from
// the other members' /members, which --initial-cluster must match (etcd's
// GetClusterFromRemotePeers and ValidateClusterAndAssignIDs).
Task<absl::Status> JoinExisting(Env& env, const ServerConfig& config, BootstrappedMember* out) {
  absl::StatusOr<std::vector<Member>> local = BootstrapMembers(config);
  if (!local.ok()) co_return local.status();
  std::vector<std::string> remote_urls;
  for (const Member& member : *local) {
    if (member.name == config.name) continue;
    remote_urls.insert(remote_urls.end(), member.peer_urls.begin(), member.peer_urls.end());
  }
  std::sort(remote_urls.begin(), remote_urls.end());
  // Each peer in turn: one that has not applied the MemberAdd yet answers
  // a list without this member, and the next may have.
  absl::Status fetched = absl::UnavailableError("no peer in --initial-cluster");
  absl::StatusOr<RemoteCluster> cluster = fetched;
  absl::StatusOr<std::vector<Member>> matched = fetched;
  for (const std::string& url : remote_urls) {
    // A named vector: GCC 12 mishandles a braced list across a co_await.
    std::vector<std::string> one(1, url);
    absl::StatusOr<RemoteCluster> answer =
        co_await FetchClusterFromPeers(env, std::move(one), kJoinFetchTimeout);
    if (!answer.ok()) {
      fetched = answer.status();
      continue;
    }
    cluster = std::move(answer);
    matched = MatchJoiningMembers(*local, *cluster);
    if (matched.ok()) break;
  }
  if (!cluster.ok()) {
    co_return absl::FailedPreconditionError(
        StrCat("cannot fetch cluster info from peer urls: ", fetched.message()));
  }
  if (!matched.ok()) co_return matched.status();
  for (const Member& member : *matched) {
    if (member.name == config.name) out->member_id = member.id;
  }
  KEEL_ASSERT(out->member_id != 0);
  out->cluster_id = cluster->cluster_id;
  out->initial_members = std::move(*matched);
  out->joining = true;
  env.log().Info("joining an existing cluster",
                 {{"local-member-id", FormatId(out->member_id)},
                  {"cluster-id", FormatId(out->cluster_id)}});
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::unique_ptr<LogStore>>> OpenLog(Env& env, const ServerConfig& config,
                                                        const BootstrappedMember& member,
                                                        bool create) {
  store::WalOptions options;
  options.dir = config.WalDir();
  options.max_segments = static_cast<int>(config.max_wals);
  const store::WalIdentity identity{.member_id = member.member_id,
                                    .cluster_id = member.cluster_id};
  const bool exists = store::Wal::Exists(env.fs(), options.dir);
  if (!create && !exists) {
    co_return absl::DataLossError(StrCat(
        "member data in ", config.DataDir(), " has a key space but no WAL in ",
        options.dir, ": refusing to start on partial data"));
  }
  // Not a ?: of two co_awaits: GCC 12 mishandles temporaries there.
  absl::StatusOr<std::unique_ptr<WalRaftStorage>> wal;
  if (exists) {
    wal = co_await WalRaftStorage::Open(env, options, identity);
  } else {
    wal = co_await WalRaftStorage::Create(env, options, identity, raftpb::ConfState());
  }
  if (!wal.ok()) co_return wal.status();
  co_return std::unique_ptr<LogStore>(
      std::make_unique<WalLogStore>(std::move(*wal), config.unsafe_no_fsync));
}

// The raft group of a new member: one peer per member of --initial-cluster,
// which must still make this member of this cluster.
absl::Status BootstrapPeers(const ServerConfig& config, BootstrappedMember* member) {
  KEEL_ASSIGN_OR_RETURN(member->initial_members, BootstrapMembers(config));
  // A member whose identity was recorded but whose log stayed empty
  // bootstraps again, from today's flags: they must still make it.
  const BootstrapIds ids = IdsOf(member->initial_members, config.name);
  if (ids.member_id != member->member_id || ids.cluster_id != member->cluster_id) {
    return absl::FailedPreconditionError(StrCat(
        "--data-dir ", config.DataDir(), " was bootstrapped as member ",
        FormatId(member->member_id), " of cluster ", FormatId(member->cluster_id),
        " and never started; --name, --initial-cluster and "
        "--initial-cluster-token now make another member: restore the flags "
        "it was created with, or give this member an empty --data-dir"));
  }
  for (const Member& m : member->initial_members) {
    internal::ConfChangeMember context;
    context.set_id(m.id);
    for (const auto& url : m.peer_urls) context.add_peer_urls(url);
    context.set_name(m.name);
    member->raft_peers.push_back(raft::Peer{.id = m.id, .context = context.SerializeAsString()});
  }
  KEEL_ASSERT(!member->raft_peers.empty());
  return absl::OkStatus();
}

// The log and the key space must describe one history.
absl::Status CheckLogAgainstKeySpace(Env& env, const ServerConfig& config,
                                     BootstrappedMember* member, bool create) {
  raft::Storage& storage = member->log->storage();
  KeySpace& key_space = *member->key_space;
  KEEL_ASSIGN_OR_RETURN(raft::InitialState initial, storage.GetInitialState());
  KEEL_ASSIGN_OR_RETURN(uint64_t last_index, storage.LastIndex());
  KEEL_ASSIGN_OR_RETURN(uint64_t first_index, storage.FirstIndex());
  const bool log_empty = last_index == 0 && initial.hard_state.term() == 0;
  if (create && !log_empty) {
    return absl::DataLossError(StrCat("member data in ", config.DataDir(),
                                      " has a raft log but no cluster identity: "
                                      "refusing to start"));
  }
  // A member whose log is still empty never got past its bootstrap (it
  // crashed before persisting the first Ready): bootstrap again, as etcd
  // does, rather than start raft on an empty configuration.
  if (log_empty && key_space.mvcc().applied().index > 0) {
    return absl::DataLossError(StrCat("member data in ", config.DataDir(),
                                      " has an applied key space but an empty raft log: "
                                      "refusing to start"));
  }
  if (log_empty && !key_space.members().local_id().has_value()) {
    // The identity is written once the WAL exists, so a crash in between
    // leaves a WAL with an empty log, which the check above handles.
    KEEL_RETURN_IF_ERROR(
        key_space.members().SetIdentity(member->cluster_id, member->member_id));
  }
  env.log().Info(log_empty ? "starting a new member" : "restarting member",
                 {{"local-member-id", FormatId(member->member_id)},
                  {"cluster-id", FormatId(member->cluster_id)},
                  {"commit-index", initial.hard_state.commit()},
                  {"applied-index", key_space.mvcc().applied().index}});
  // A joining member waits, with an empty log, for the leader instead.
  if (log_empty && !member->joining) KEEL_RETURN_IF_ERROR(BootstrapPeers(config, member));

  // A snapshot the WAL recorded but the key space does not hold yet: the
  // member crashed between persisting a received snapshot and installing
  // it. Install it now, from the file kept for exactly this.
  const uint64_t snapshot_index = first_index - 1;
  if (snapshot_index > key_space.mvcc().applied().index) {
    KEEL_ASSIGN_OR_RETURN(raftpb::Snapshot snapshot, storage.Snapshot());
    KEEL_ASSERT(snapshot.metadata().index() == snapshot_index);
    KEEL_RETURN_IF_ERROR(key_space.InstallSnapshot(
        SnapshotFilePath(SnapDir(config), snapshot.metadata().term(), snapshot_index),
        snapshot_index,
        KeySpaceIdentity{.cluster_id = member->cluster_id, .member_id = member->member_id}));
  }
  const uint64_t applied = key_space.mvcc().applied().index;
  if (applied > last_index) {
    // A leader sends its whole key space with a raft snapshot, so a key
    // space installed from one is ahead of the snapshot's index until the
    // entries in between reach the log (they are skipped when applied).
    // Without a snapshot in the log, the log lost entries the key space
    // applied.
    if (snapshot_index == 0) {
      return absl::DataLossError(StrCat("member data in ", config.DataDir(),
                                        " has applied index ", applied,
                                        " beyond the raft log's last index ", last_index));
    }
    env.log().Info("key space is ahead of the raft log (installed from a leader's snapshot)",
                   {{"applied-index", applied},
                    {"snapshot-index", snapshot_index},
                    {"last-index", last_index}});
  }
  return absl::OkStatus();
}

}  // namespace

std::string SnapDir(const ServerConfig& config) {
  return JoinPath(JoinPath(config.DataDir(), "member"), "snap");
}

std::string KeySpaceDir(const ServerConfig& config) {
  return JoinPath(JoinPath(config.DataDir(), "member"), "kv");
}

KeySpaceOptions KeySpaceOptionsFor(const ServerConfig& config, const StorageOptions& storage) {
  KeySpaceOptions options;
  options.dir = KeySpaceDir(config);
  options.leveldb_background = storage.leveldb_background;
  options.leveldb_write_buffer_bytes = storage.leveldb_write_buffer_bytes;
  options.compaction_batch_limit = static_cast<int>(config.compaction_batch_limit);
  options.lessor.min_ttl_seconds =
      MinLeaseTtlSeconds(config.election_timeout_ms, config.heartbeat_interval_ms);
  options.lessor.checkpoint_enabled = config.enable_lease_checkpoint;
  options.lessor.checkpoint_interval = Milliseconds(config.lease_checkpoint_interval_ms);
  options.lessor.expired_retry_interval = RequestTimeout(config);
#if KEEL_FAILPOINTS
  options.lessor.failpoint_ignore_keepalives = config.failpoints.lease_early_expiry;
#endif
  return options;
}

Task<absl::StatusOr<BootstrappedMember>> BootstrapMember(Env& env, const ServerConfig& config,
                                                         const StorageOptions& storage) {
  BootstrappedMember member;
  KEEL_CO_RETURN_IF_ERROR(CreateDirs(env.fs(), SnapDir(config)));
  // A key space marked damaged is never opened again (node/self_repair.h);
  // one that does not open for damage is marked, then repaired.
  bool repair = RepairPending(env.fs(), config);
  absl::StatusOr<std::unique_ptr<KeySpace>> key_space =
      absl::FailedPreconditionError("marked for repair");
  if (!repair) key_space = KeySpace::Open(env, KeySpaceOptionsFor(config, storage));
  if (!repair && key_space.status().code() == absl::StatusCode::kDataLoss &&
      store::Wal::Exists(env.fs(), config.WalDir())) {
    env.log().Error("the key space is damaged", {{"error", key_space.status().ToString()}});
    KEEL_CO_RETURN_IF_ERROR(MarkKeySpaceForRepair(env.fs(), config, key_space.status()));
    repair = true;
  }
  if (repair) {
    key_space = co_await RepairKeySpace(env, config, KeySpaceOptionsFor(config, storage));
    if (key_space.ok()) member.repaired = true;
  }
  if (!key_space.ok()) co_return key_space.status();
  member.key_space = std::move(*key_space);
  member.key_space_scrub_interval = storage.key_space_scrub_interval;
  bool create = false;
  if (!member.key_space->members().local_id().has_value() &&
      config.initial_cluster_state == "existing") {
    KEEL_CO_RETURN_IF_ERROR(co_await JoinExisting(env, config, &member));
    create = true;
  } else {
    KEEL_CO_RETURN_IF_ERROR(
        DecideIdentity(env, config, member.key_space->members(), &member, &create));
  }
  auto log = co_await OpenLog(env, config, member, create);
  if (!log.ok()) co_return log.status();
  member.log = std::move(*log);
  KEEL_CO_RETURN_IF_ERROR(CheckLogAgainstKeySpace(env, config, &member, create));
  if (config.force_new_cluster && !create) {
    KEEL_CO_RETURN_IF_ERROR(co_await ForceNewCluster(env, config, &member));
  }
  KEEL_ASSERT(member.member_id != 0);
  KEEL_ASSERT(member.cluster_id != 0);
  co_return member;
}

}  // namespace keel::node
