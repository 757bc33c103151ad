// keelutl's shared pieces; see keelutl_common.h.
#include "tools/keelutl_common.h"

#include "node/snapshot_io.h"
#include "runtime/console.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::tools {

int Fail(absl::string_view message, int code) {
  (void)WriteStderr(StrCat("Error: ", message, "\n"));
  return code;
}

MemberDirs MemberDirsOf(const std::string& data_dir, const std::string& wal_dir) {
  const std::string member = JoinPath(data_dir, "member");
  return MemberDirs{.data_dir = data_dir,
                    .kv = JoinPath(member, "kv"),
                    .wal = wal_dir.empty() ? JoinPath(member, "wal") : wal_dir,
                    .snap = JoinPath(member, "snap")};
}

absl::StatusOr<std::unique_ptr<FileLock>> LockStoppedMember(FileSystem& fs,
                                                            const MemberDirs& dirs) {
  auto info = fs.Stat(dirs.kv);
  if (!info.ok() || !info->is_directory) {
    return absl::NotFoundError(StrCat(dirs.data_dir, " holds no member (no ", dirs.kv, ")"));
  }
  absl::StatusOr<std::unique_ptr<FileLock>> lock = fs.Lock(JoinPath(dirs.kv, "LOCK"));
  if (!lock.ok()) {
    return absl::FailedPreconditionError(
        StrCat("the member at ", dirs.data_dir, " is running (", dirs.kv,
               " is locked); stop it first"));
  }
  return lock;
}

absl::StatusOr<OpenedKeySpace> OpenKeySpace(Env& env, const MemberDirs& dirs,
                                            store::LevelDbBackground background) {
  {
    // Refuse a running member before touching anything.
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockStoppedMember(env.fs(), dirs));
  }
  KEEL_RETURN_IF_ERROR(node::RecoverKeySpaceSwap(env.fs(), dirs.kv));
  OpenedKeySpace opened;
  opened.leveldb_env =
      std::make_unique<store::LevelDbEnv>(env.fs(), env.clock(), env.log(), background);
  store::MvccOptions options;
  options.path = dirs.kv;
  options.env = opened.leveldb_env.get();
  if (background == store::LevelDbBackground::kQueue) {
    store::LevelDbEnv* leveldb_env = opened.leveldb_env.get();
    options.after_db_call = [leveldb_env] { leveldb_env->RunPending(); };
  }
  KEEL_ASSIGN_OR_RETURN(opened.mvcc, store::Mvcc::Open(options));
  return opened;
}

}  // namespace keel::tools
