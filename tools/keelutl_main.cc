// keelutl: offline tools for a member's files, as etcd 3.5's etcdutl (and
// etcd's etcd-dump-logs and etcd-dump-db) offer them. The commands are in
// keelutl_snapshot.cc, keelutl_data.cc and keelutl_dump.cc.
//
// Output and errors follow etcdutl ("Error: ..." on stderr, exit 1; bad
// usage exits 2).
#include <string>
#include <vector>

#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/keelutl_commands.h"
#include "tools/keelutl_common.h"

namespace keel::tools {
namespace {

constexpr std::string_view kUsage =
    "Usage: keelutl <command>\n\n"
    "Commands:\n"
    "  snapshot status <filename>              Gets backend snapshot status of a given file (keel's or etcd's)\n"
    "  snapshot restore <filename> [options]   Restores a member snapshot (keel's or etcd's) to a data directory\n"
    "  snapshot export --data-dir <dir> <file> Writes a stopped member's key space as an etcd snapshot\n"
    "  defrag --data-dir <dir>                 Compacts a stopped member's key space\n"
    "  hashkv <dir> [--rev N]                  Prints the key space's HashKV at a revision\n"
    "  backup --data-dir <dir> --backup-dir <dir>  Copies a stopped member's data directory, checked\n"
    "  check <dir>                             Verifies every checksum of a stopped member's files\n"
    "  dump-wal <dir> [--start-index N] [--entry-type T]  Prints the WAL's entries\n"
    "  dump-db list-bucket|iterate-bucket <path> [--bucket B]  Prints the key space as etcd's buckets\n"
    "  version                                 Prints the version of keelutl\n";

int Main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (void)WriteStdout(kUsage);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  Args rest(args.begin() + 1, args.end());
  if (command == "version") {
    (void)WriteStdout("keelutl version: 0.1.0\nAPI version: 3.4\n");
    return 0;
  }
  if (command == "snapshot" && !rest.empty()) {
    const std::string sub = rest[0];
    Args sub_args(rest.begin() + 1, rest.end());
    if (sub == "status") return SnapshotStatusCommand(std::move(sub_args));
    if (sub == "restore") return SnapshotRestoreCommand(std::move(sub_args));
    if (sub == "export") return SnapshotExportCommand(std::move(sub_args));
  }
  if (command == "defrag") return DefragCommand(std::move(rest));
  if (command == "hashkv") return HashKvCommand(std::move(rest));
  if (command == "backup") return BackupCommand(std::move(rest));
  if (command == "check") return CheckCommand(std::move(rest));
  if (command == "dump-wal") return DumpWalCommand(std::move(rest));
  if (command == "dump-db") return DumpDbCommand(std::move(rest));
  (void)WriteStderr(kUsage);
  return Fail(StrCat("unknown command \"", command, "\""), 2);
}

}  // namespace
}  // namespace keel::tools

int main(int argc, char** argv) { return keel::tools::Main(argc, argv); }
