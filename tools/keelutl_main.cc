// keelutl: offline tools for a member's files, as etcdctl's snapshot
// commands (and etcd 3.5's etcdutl) offer them:
//
//   keelutl snapshot status FILE [-w simple|table|json]
//   keelutl snapshot restore FILE [--name --data-dir --wal-dir
//       --initial-cluster --initial-cluster-token
//       --initial-advertise-peer-urls --skip-hash-check]
//   keelutl version
//
// Output and errors follow etcdctl 3.4 ("Error: ..." on stderr, exit 1).
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node/membership.h"
#include "node/snapshot_restore.h"
#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/strings.h"
#include "tools/flags.h"
#include "tools/table.h"

namespace keel {
namespace {

constexpr std::string_view kUsage =
    "Usage: keelutl <command>\n\n"
    "Commands:\n"
    "  snapshot status <filename>            Gets backend snapshot status of a given file\n"
    "  snapshot restore <filename> [options]  Restores a member snapshot to a data directory\n"
    "  version                                Prints the version of keelutl\n";

int Fail(absl::string_view message, int code = 1) {
  (void)WriteStderr(StrCat("Error: ", message, "\n"));
  return code;
}

int Status(std::vector<std::string> args) {
  tools::FlagSet flags("keelutl snapshot status");
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
                                        tools::HumanBytes(status->total_size)};
  if (write_out == "simple") {
    (void)WriteStdout(StrCat(row[0], ", ", row[1], ", ", row[2], ", ", row[3], "\n"));
  } else if (write_out == "table") {
    (void)WriteStdout(tools::RenderTable({"hash", "revision", "total keys", "total size"},
                                         {row}, tools::CellAlign::kRight));
  } else if (write_out == "json") {
    (void)WriteStdout(StrCat("{\"hash\":", status->hash, ",\"revision\":", status->revision,
                             ",\"totalKey\":", status->total_keys,
                             ",\"totalSize\":", status->total_size, "}\n"));
  } else {
    return Fail(StrCat("unknown output format \"", write_out, "\""), 2);
  }
  return 0;
}

Task<int> RunRestore(PosixEnv& env, node::RestoreOptions options) {
  env.log().Info("restoring snapshot", {{"path", options.snapshot_path},
                                        {"name", options.name}});
  auto restored = co_await node::RestoreSnapshot(env, std::move(options));
  if (!restored.ok()) co_return Fail(restored.status().message());
  env.log().Info("restored snapshot",
                 {{"data-dir", restored->data_dir},
                  {"member-id", node::FormatId(restored->member_id)},
                  {"cluster-id", node::FormatId(restored->cluster_id)},
                  {"raft-index", restored->raft_index},
                  {"revision", restored->revision}});
  co_return 0;
}

int Restore(std::vector<std::string> args) {
  node::RestoreOptions options;
  std::string peer_urls = "http://localhost:2380";
  tools::FlagSet flags("keelutl snapshot restore");
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

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (void)WriteStdout(kUsage);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version") {
    (void)WriteStdout("keelutl version: 0.1.0\nAPI version: 3.4\n");
    return 0;
  }
  if (args[0] == "snapshot" && args.size() >= 2) {
    std::vector<std::string> rest(args.begin() + 2, args.end());
    if (args[1] == "status") return Status(std::move(rest));
    if (args[1] == "restore") return Restore(std::move(rest));
  }
  (void)WriteStderr(kUsage);
  return Fail(StrCat("unknown command \"", args[0], "\""), 2);
}

}  // namespace
}  // namespace keel

int main(int argc, char** argv) { return keel::Main(argc, argv); }
