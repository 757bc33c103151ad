// keelutl's commands on a stopped member's data directory.
//
//   keelutl defrag --data-dir DIR
//       LevelDB's full compaction of the key space (what bbolt's defrag is
//       to etcd): rewrites the tables without overwritten and deleted
//       records.
//   keelutl hashkv DIR [--rev N] [-w simple|table|json]
//       etcd's HashKV of the key space at a revision (0: the latest), as
//       `etcdctl endpoint hashkv` reports it for a running member.
//   keelutl backup --data-dir DIR --backup-dir DIR2 [--wal-dir W
//       --backup-wal-dir W2]
//       a consistent copy: the member is locked out meanwhile, the source
//       must pass `keelutl check`, and the copy is checked again.
//   keelutl check DIR [--wal-dir W]
//       verifies every checksum (tools/keelutl_check.h); exits 1 on damage.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/leveldb_db.h"
#include "tools/flags.h"
#include "tools/keelutl_check.h"
#include "tools/keelutl_commands.h"
#include "tools/keelutl_common.h"
#include "tools/table.h"

namespace keel::tools {
namespace {

// Copies the files of `from` (not its subdirectories) to `to`, created,
// each synced, then the directory. `skip` names files left out.
absl::Status CopyFiles(FileSystem& fs, const std::string& from, const std::string& to,
                       const std::vector<std::string>& skip = {}) {
  KEEL_RETURN_IF_ERROR(CreateDirs(fs, to));
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(from));
  for (const std::string& name : names) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    KEEL_ASSIGN_OR_RETURN(FileInfo info, fs.Stat(JoinPath(from, name)));
    if (info.is_directory) continue;
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> in,
                          fs.Open(JoinPath(from, name), {.read_only = true}));
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> out,
                          fs.Open(JoinPath(to, name), {.create = true, .exclusive = true}));
    constexpr uint64_t kPieceBytes = 4 << 20;
    for (uint64_t offset = 0; offset < info.size; offset += kPieceBytes) {
      KEEL_ASSIGN_OR_RETURN(std::string piece,
                            in->ReadAt(offset, std::min(kPieceBytes, info.size - offset)));
      KEEL_RETURN_IF_ERROR(out->WriteAt(offset, piece));
    }
    KEEL_RETURN_IF_ERROR(out->SyncNow());
  }
  return fs.SyncDirNow(to);
}

std::string Parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::Status Backup(Env& env, const MemberDirs& source, const MemberDirs& target) {
  FileSystem& fs = env.fs();
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockStoppedMember(fs, source));
  KEEL_ASSIGN_OR_RETURN(DataDirCheck checked, CheckDataDir(fs, source));
  if (!checked.problems.empty()) {
    return absl::DataLossError(StrCat("refusing to back up a damaged data dir: ",
                                      checked.problems.front()));
  }
  for (const std::string& dir : {target.data_dir, target.wal}) {
    if (auto entries = fs.List(dir); entries.ok() && !entries->empty()) {
      return absl::FailedPreconditionError(StrCat("backup dir \"", dir, "\" is not empty"));
    }
  }
  // LOCK is the running member's, not data; the WAL goes where asked.
  KEEL_RETURN_IF_ERROR(CopyFiles(fs, source.kv, target.kv, {"LOCK"}));
  KEEL_RETURN_IF_ERROR(CopyFiles(fs, source.wal, target.wal));
  if (fs.Stat(source.snap).ok()) KEEL_RETURN_IF_ERROR(CopyFiles(fs, source.snap, target.snap));
  for (const std::string& dir : {Parent(target.kv), target.data_dir, Parent(target.wal)}) {
    KEEL_RETURN_IF_ERROR(fs.SyncDirNow(dir));
  }
  KEEL_ASSIGN_OR_RETURN(DataDirCheck copied, CheckDataDir(fs, target));
  if (!copied.problems.empty()) {
    return absl::DataLossError(StrCat("the backup does not check: ", copied.problems.front()));
  }
  return absl::OkStatus();
}

}  // namespace

int DefragCommand(Args args) {
  std::string data_dir;
  FlagSet flags("keelutl defrag");
  flags.String("data-dir", &data_dir, "Required. Defragments a data directory not in use by keel.");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (data_dir.empty() || !flags.args().empty()) return Fail("defrag requires --data-dir", 2);
  PosixEnv env(PosixEnvOptions{});
  const MemberDirs dirs = MemberDirsOf(data_dir);
  {
    auto lock = LockStoppedMember(env.fs(), dirs);
    if (!lock.ok()) return Fail(lock.status().message());
  }
  // Compaction waits for LevelDB's background work: run it on a thread.
  auto db = store::LevelDb::Open({.path = dirs.kv,
                                  .fs = &env.fs(),
                                  .clock = &env.clock(),
                                  .log = &env.log(),
                                  .background = store::LevelDbBackground::kThread,
                                  .create_if_missing = false});
  if (!db.ok()) {
    (void)WriteStderr(StrCat("Failed to defragment etcd data[", data_dir, "] (",
                             db.status().message(), ")\n"));
    return 1;
  }
  (*db)->db()->CompactRange(nullptr, nullptr);
  (*db)->Close();
  (void)WriteStdout(StrCat("Finished defragmenting etcd data[", data_dir, "]\n"));
  return 0;
}

int HashKvCommand(Args args) {
  int64_t revision = 0;
  std::string write_out = "simple";
  FlagSet flags("keelutl hashkv");
  flags.Int("rev", &revision, "Revision number. Default is 0 which means the latest revision.");
  flags.String("write-out", &write_out, "set the output format (simple, table, json)", "w");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1) return Fail("hashkv requires exactly one data dir", 2);
  PosixEnv env(PosixEnvOptions{});
  auto opened = OpenKeySpace(env, MemberDirsOf(flags.args()[0]),
                             store::LevelDbBackground::kQueue);
  if (!opened.ok()) return Fail(opened.status().message());
  auto hash = opened->mvcc->HashKV(revision);
  if (!hash.ok()) return Fail(hash.status().message());
  const int64_t hash_revision = revision > 0 ? revision : hash->revision;
  if (write_out == "simple") {
    (void)WriteStdout(StrCat(hash->hash, ", ", hash_revision, ", ", hash->compact_revision, "\n"));
  } else if (write_out == "table") {
    (void)WriteStdout(RenderTable({"hash", "hash revision", "compact revision"},
                                  {{StrCat(hash->hash), StrCat(hash_revision),
                                    StrCat(hash->compact_revision)}},
                                  CellAlign::kRight));
  } else if (write_out == "json") {
    (void)WriteStdout(StrCat("{\"hash\":", hash->hash, ",\"hashRevision\":", hash_revision,
                             ",\"compactRevision\":", hash->compact_revision, "}\n"));
  } else {
    return Fail(StrCat("unknown output format \"", write_out, "\""), 2);
  }
  return 0;
}

int BackupCommand(Args args) {
  std::string data_dir, backup_dir, wal_dir, backup_wal_dir;
  FlagSet flags("keelutl backup");
  flags.String("data-dir", &data_dir, "Path to the keel data dir");
  flags.String("wal-dir", &wal_dir, "Path to the keel wal dir");
  flags.String("backup-dir", &backup_dir, "Path to the backup dir");
  flags.String("backup-wal-dir", &backup_wal_dir, "Path to the backup wal dir");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (data_dir.empty() || backup_dir.empty() || !flags.args().empty()) {
    return Fail("backup requires --data-dir and --backup-dir", 2);
  }
  PosixEnv env(PosixEnvOptions{});
  absl::Status backed_up =
      Backup(env, MemberDirsOf(data_dir, wal_dir), MemberDirsOf(backup_dir, backup_wal_dir));
  if (!backed_up.ok()) return Fail(backed_up.message());
  (void)WriteStdout(StrCat("Backed up ", data_dir, " to ", backup_dir, "\n"));
  return 0;
}

int CheckCommand(Args args) {
  std::string wal_dir;
  FlagSet flags("keelutl check");
  flags.String("wal-dir", &wal_dir, "Path to the WAL directory (default <dir>/member/wal)");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1) return Fail("check requires exactly one data dir", 2);
  PosixEnv env(PosixEnvOptions{});
  const MemberDirs dirs = MemberDirsOf(flags.args()[0], wal_dir);
  auto lock = LockStoppedMember(env.fs(), dirs);
  if (!lock.ok()) return Fail(lock.status().message());
  auto checked = CheckDataDir(env.fs(), dirs);
  if (!checked.ok()) return Fail(checked.status().message());
  for (const std::string& line : checked->checked) (void)WriteStdout(StrCat("ok: ", line, "\n"));
  for (const std::string& line : checked->notes) (void)WriteStdout(StrCat("note: ", line, "\n"));
  for (const std::string& line : checked->problems) {
    (void)WriteStderr(StrCat("damaged: ", line, "\n"));
  }
  if (!checked->problems.empty()) {
    return Fail(StrCat(dirs.data_dir, ": ", checked->problems.size(), " damaged file",
                       checked->problems.size() == 1 ? "" : "s"));
  }
  return 0;
}

}  // namespace keel::tools
