// What keelutl's commands share: errors in etcdutl's form, where a
// member's files live, and opening a stopped member's key space.
#ifndef KEEL_TOOLS_KEELUTL_COMMON_H_
#define KEEL_TOOLS_KEELUTL_COMMON_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/env.h"
#include "store/leveldb_env.h"
#include "store/mvcc.h"

namespace keel::tools {

// Prints "Error: <message>" on stderr (as etcdutl does) and returns `code`.
int Fail(absl::string_view message, int code = 1);

// A member's directories under --data-dir (and --wal-dir, if given).
struct MemberDirs {
  std::string data_dir;
  std::string kv;    // <data-dir>/member/kv: the key space (LevelDB)
  std::string wal;   // <data-dir>/member/wal, or --wal-dir
  std::string snap;  // <data-dir>/member/snap: received raft snapshots
};
MemberDirs MemberDirsOf(const std::string& data_dir, const std::string& wal_dir = "");

// Takes the key space's lock (LevelDB's LOCK file, which a running member
// holds), so no member starts on the directory meanwhile.
// FailedPrecondition if a member is running on it.
absl::StatusOr<std::unique_ptr<FileLock>> LockStoppedMember(FileSystem& fs,
                                                            const MemberDirs& dirs);

// A stopped member's key space, opened as the member opens it: a snapshot
// install a crash interrupted is finished first and LevelDB recovers its
// log, as the member's next start would. With kThread LevelDB compacts on
// its own thread (what a full compaction waits for).
struct OpenedKeySpace {
  std::unique_ptr<store::LevelDbEnv> leveldb_env;
  std::unique_ptr<store::Mvcc> mvcc;  // destroyed first
};
absl::StatusOr<OpenedKeySpace> OpenKeySpace(Env& env, const MemberDirs& dirs,
                                            store::LevelDbBackground background);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_KEELUTL_COMMON_H_
