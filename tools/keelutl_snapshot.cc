// keelutl snapshot status / restore / export.
//
//   keelutl snapshot status FILE [-w simple|table|json]
//   keelutl snapshot restore FILE [--name --data-dir --wal-dir
//       --initial-cluster --initial-cluster-token
//       --initial-advertise-peer-urls --skip-hash-check]
//   keelutl snapshot export --data-dir DIR FILE
//
// status and restore take keel's snapshot files and etcd's (a bbolt
// database with its SHA-256, as `etcdctl snapshot save` downloads it from
// a real etcd 3.4 or 3.5). export writes a stopped member's key space as
// etcd's snapshot, which `etcdctl snapshot restore` restores into etcd.
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node/member_store.h"
#include "node/membership.h"
#include "node/snapshot_bbolt.h"
#include "node/snapshot_restore.h"
#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/strings.h"
#include "tools/flags.h"
#include "tools/keelutl_commands.h"
#include "tools/keelutl_common.h"
#include "tools/table.h"

namespace keel::tools {
namespace {

Task<int> RunRestore(PosixEnv& env, node::RestoreOptions options) {
  env.log().Info("restoring snapshot", {{"path", options.snapshot_path},
                                        {"name", options.name}});
  auto restored = co_await node::RestoreSnapshot(env, std::move(options));
  if (!restored.ok()) co_return Fail(restored.status().message());
  for (const std::string& line : restored->not_carried) {
    env.log().Warn("not restored", {{"what", line}});
  }
  env.log().Info("restored snapshot",
                 {{"data-dir", restored->data_dir},
                  {"member-id", node::FormatId(restored->member_id)},
                  {"cluster-id", node::FormatId(restored->cluster_id)},
                  {"raft-index", restored->raft_index},
                  {"revision", restored->revision}});
  co_return 0;
}

Task<int> RunExport(PosixEnv& env, MemberDirs dirs, std::string path) {
  auto opened = OpenKeySpace(env, dirs, store::LevelDbBackground::kQueue);
  if (!opened.ok()) co_return Fail(opened.status().message());
  node::MemberStore members(*opened->mvcc->db());
  if (absl::Status loaded = members.Load(); !loaded.ok()) co_return Fail(loaded.message());
  node::AuthStore auth(*opened->mvcc->db());
  if (absl::Status loaded = auth.Load(); !loaded.ok()) co_return Fail(loaded.message());
  auto written = co_await node::WriteEtcdSnapshotFile(env, *opened->mvcc, members.members(),
                                                      auth.Records(), path);
  if (!written.ok()) co_return Fail(written.status().message());
  (void)WriteStdout(StrCat("Snapshot saved at ", path, "\n"));
  env.log().Info("exported snapshot",
                 {{"path", path},
                  {"revision", written->contents.revision},
                  {"revisions", written->contents.revisions},
                  {"leases", written->contents.leases},
                  {"consistent-index", written->contents.applied.index},
                  {"size", written->file_bytes}});
  co_return 0;
}

}  // namespace

int SnapshotStatusCommand(Args args) {
  FlagSet flags("keelutl snapshot status");
  std::string write_out = "simple";
  flags.String("write-out", &write_out, "set the output format (simple, table, json)", "w");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1) {
    return Fail("snapshot status requires exactly one argument", 2);
  }
  PosixEnv env(PosixEnvOptions{});
  auto status = node::ReadSnapshotStatus(env.fs(), flags.args()[0]);
  if (!status.ok()) return Fail(status.status().message());
  const std::vector<std::string> row = {absl::StrFormat("%x", status->hash),
                                        StrCat(status->revision),
                                        StrCat(status->total_keys),
                                        HumanBytes(status->total_size)};
  if (write_out == "simple") {
    (void)WriteStdout(StrCat(row[0], ", ", row[1], ", ", row[2], ", ", row[3], "\n"));
  } else if (write_out == "table") {
    (void)WriteStdout(RenderTable({"hash", "revision", "total keys", "total size"},
                                  {row}, CellAlign::kRight));
  } else if (write_out == "json") {
    (void)WriteStdout(StrCat("{\"hash\":", status->hash, ",\"revision\":", status->revision,
                             ",\"totalKey\":", status->total_keys,
                             ",\"totalSize\":", status->total_size, "}\n"));
  } else {
    return Fail(StrCat("unknown output format \"", write_out, "\""), 2);
  }
  return 0;
}

int SnapshotRestoreCommand(Args args) {
  node::RestoreOptions options;
  std::string peer_urls = "http://localhost:2380";
  FlagSet flags("keelutl snapshot restore");
  flags.String("data-dir", &options.data_dir, "Path to the data directory");
  flags.String("wal-dir", &options.wal_dir,
               "Path to the WAL directory (use --data-dir if none given)");
  flags.String("initial-cluster", &options.initial_cluster,
               "Initial cluster configuration for restore bootstrap");
  flags.String("initial-cluster-token", &options.initial_cluster_token,
               "Initial cluster token for the cluster during restore bootstrap");
  flags.String("initial-advertise-peer-urls", &peer_urls,
               "List of this member's peer URLs to advertise to the rest of the cluster");
  flags.String("name", &options.name, "Human-readable name for this member");
  flags.Bool("skip-hash-check", &options.skip_hash_check,
             "Ignore snapshot integrity hash value (required if copied from data directory)");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1) {
    return Fail("snapshot restore requires exactly one argument", 2);
  }
  options.snapshot_path = flags.args()[0];
  options.initial_advertise_peer_urls.clear();
  for (absl::string_view url : absl::StrSplit(peer_urls, ',')) {
    options.initial_advertise_peer_urls.emplace_back(url);
  }
  PosixEnv env(PosixEnvOptions{});
  return env.RunMain(RunRestore(env, std::move(options)));
}

int SnapshotExportCommand(Args args) {
  std::string data_dir;
  FlagSet flags("keelutl snapshot export");
  flags.String("data-dir", &data_dir, "Path to the data directory of a stopped member");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1 || data_dir.empty()) {
    return Fail("snapshot export requires --data-dir and exactly one argument", 2);
  }
  PosixEnv env(PosixEnvOptions{});
  return env.RunMain(RunExport(env, MemberDirsOf(data_dir), flags.args()[0]));
}

}  // namespace keel::tools
