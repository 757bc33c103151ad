// Restoring a `snapshot save` file into a new member's data directory; see
// snapshot_restore.h.
#include "node/snapshot_restore.h"

#include <memory>

#include "node/member_store.h"
#include "node/membership.h"
#include "node/server_config.h"
#include "node/snapshot_io.h"
#include "node/wal_raft_storage.h"
#include "node/snapshot_restore_etcd.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/leveldb_env.h"
#include "store/mvcc.h"

namespace keel::node {
namespace {

ServerConfig ConfigOf(const RestoreOptions& options) {
  ServerConfig config;
  config.name = options.name;
  config.data_dir = options.data_dir;
  config.wal_dir = options.wal_dir;
  config.initial_cluster = options.initial_cluster;
  config.initial_cluster_token = options.initial_cluster_token;
  config.initial_advertise_peer_urls = options.initial_advertise_peer_urls;
  config.listen_peer_urls = options.initial_advertise_peer_urls;
  return config;
}

// What a restore needs to know of the key space it built.
struct RestoredKeySpace {
  int64_t revision = 0;
  uint64_t consistent_index = 0;
  uint64_t consistent_term = 0;
  std::vector<std::string> not_carried;
};

// The key space of the snapshot (keel's format or etcd's), without the old
// cluster's membership and identity, plus the new members and this
// member's identity.
absl::StatusOr<RestoredKeySpace> RestoreKeySpace(
    Env& env, const RestoreOptions& options, const std::string& kv_dir,
    const std::vector<Member>& members, uint64_t cluster_id, uint64_t member_id) {
  store::LevelDbEnv leveldb_env(env.fs(), env.clock(), env.log(),
                                store::LevelDbBackground::kQueue);
  store::MvccOptions mvcc_options;
  mvcc_options.path = kv_dir;
  mvcc_options.env = &leveldb_env;
  mvcc_options.after_db_call = [&leveldb_env] { leveldb_env.RunPending(); };
  KEEL_ASSIGN_OR_RETURN(bool from_etcd, IsEtcdSnapshotFile(env.fs(), options.snapshot_path));
  RestoredKeySpace restored;
  if (from_etcd) {
    KEEL_ASSIGN_OR_RETURN(store::EtcdImportSummary imported,
                          RestoreEtcdKeySpace(env.fs(), options.snapshot_path, mvcc_options,
                                              options.skip_hash_check));
    restored = RestoredKeySpace{.revision = imported.revision,
                                .consistent_index = imported.applied.index,
                                .consistent_term = imported.applied.term,
                                .not_carried = NotCarried(imported)};
  } else {
    KEEL_ASSIGN_OR_RETURN(
        store::SnapshotFileMetadata metadata,
        RestoreSnapshotFile(env.fs(), options.snapshot_path, mvcc_options,
                            {.skip_hash_check = options.skip_hash_check,
                             .drop_membership = true}));
    restored = RestoredKeySpace{.revision = metadata.revision,
                                .consistent_index = metadata.consistent_index,
                                .consistent_term = metadata.consistent_term,
                                .not_carried = {}};
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> mvcc, store::Mvcc::Open(mvcc_options));
  if (mvcc->current_revision() != restored.revision) {
    return absl::DataLossError(StrCat(
        options.snapshot_path, ": the key space inside (revision ",
        mvcc->current_revision(), ") does not match the file's metadata"));
  }
  MemberStore member_store(*mvcc->db());
  KEEL_RETURN_IF_ERROR(member_store.Load());
  for (const Member& member : members) KEEL_RETURN_IF_ERROR(member_store.Put(member));
  KEEL_RETURN_IF_ERROR(member_store.SetIdentity(cluster_id, member_id));
  return restored;
}

}  // namespace

Task<absl::StatusOr<RestoreResult>> RestoreSnapshot(Env& env, RestoreOptions options) {
  const ServerConfig config = ConfigOf(options);
  KEEL_CO_RETURN_IF_ERROR(config.Validate());
  FileSystem& fs = env.fs();
  const std::string data_dir = config.DataDir();
  // As etcdutl: an existing empty directory is taken, anything in it is
  // refused.
  const bool data_dir_existed = fs.Stat(data_dir).ok();
  if (data_dir_existed) {
    auto entries = fs.List(data_dir);
    if (!entries.ok() || !entries->empty()) {
      co_return absl::FailedPreconditionError(
          StrCat("data-dir \"", data_dir, "\" not empty or could not be read"));
    }
  }
  KEEL_CO_ASSIGN_OR_RETURN(std::vector<Member> members, BootstrapMembers(config));
  const auto [member_id, cluster_id] = IdsOf(members, config.name);
  KEEL_ASSERT(member_id != 0);
  const std::string member_dir = JoinPath(data_dir, "member");

  absl::StatusOr<RestoreResult> result = absl::UnknownError("unfinished");
  do {
    absl::Status made = CreateDirs(fs, JoinPath(member_dir, "snap"));
    if (!made.ok()) {
      result = made;
      break;
    }
    auto key_space = RestoreKeySpace(env, options, JoinPath(member_dir, "kv"), members,
                                     cluster_id, member_id);
    if (!key_space.ok()) {
      result = key_space.status();
      break;
    }
    if (key_space->consistent_index == 0 || key_space->consistent_term == 0) {
      result = absl::DataLossError(StrCat(options.snapshot_path,
                                          " holds no applied raft index"));
      break;
    }
    // The new log starts at a raft snapshot of the key space: the same
    // index and term on every member restored from this file.
    raftpb::ConfState conf_state;
    for (const Member& m : members) conf_state.add_voters(m.id);
    store::WalOptions wal_options;
    wal_options.dir = config.WalDir();
    const store::WalIdentity identity{.member_id = member_id, .cluster_id = cluster_id};
    auto wal = co_await WalRaftStorage::Create(env, wal_options, identity, conf_state);
    if (!wal.ok()) {
      result = wal.status();
      break;
    }
    raftpb::Snapshot snapshot;
    snapshot.mutable_metadata()->set_index(key_space->consistent_index);
    snapshot.mutable_metadata()->set_term(key_space->consistent_term);
    *snapshot.mutable_metadata()->mutable_conf_state() = conf_state;
    raftpb::HardState hard_state;
    hard_state.set_term(key_space->consistent_term);
    hard_state.set_commit(key_space->consistent_index);
    absl::Status saved = co_await (*wal)->Save(hard_state, {}, snapshot, true);
    if (!saved.ok()) {
      result = saved;
      break;
    }
    result = RestoreResult{.member_id = member_id,
                           .cluster_id = cluster_id,
                           .raft_index = key_space->consistent_index,
                           .revision = key_space->revision,
                           .data_dir = data_dir,
                           .not_carried = std::move(key_space->not_carried)};
  } while (false);
  if (!result.ok()) {
    // Remove what this restore created, and no more: a directory that was
    // there (empty) stays.
    if (data_dir_existed) {
      if (auto entries = fs.List(data_dir); entries.ok()) {
        for (const std::string& entry : *entries) (void)RemoveTree(fs, JoinPath(data_dir, entry));
      }
    } else {
      (void)RemoveTree(fs, data_dir);
    }
  }
  co_return result;
}

absl::StatusOr<SnapshotStatus> ReadSnapshotStatus(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(bool from_etcd, IsEtcdSnapshotFile(fs, path));
  if (from_etcd) {
    KEEL_ASSIGN_OR_RETURN(store::EtcdDatabaseStatus db, ReadEtcdSnapshotStatus(fs, path));
    return SnapshotStatus{.hash = db.hash,
                          .revision = db.revision,
                          .total_keys = db.total_keys,
                          .total_size = db.total_size};
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::SnapshotFileReader> reader,
                        store::SnapshotFileReader::Open(fs, path));
  const store::SnapshotFileSummary& summary = reader->summary();
  SnapshotStatus status;
  KEEL_ASSERT(summary.hash_hex.size() >= 8);
  for (char c : summary.hash_hex.substr(0, 8)) {
    status.hash = (status.hash << 4) |
                  static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  status.revision = reader->metadata().revision;
  status.total_keys = summary.records;
  status.total_size = summary.file_bytes;
  return status;
}

}  // namespace keel::node
