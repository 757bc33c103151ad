// `keelutl check DIR`: verifies every checksum of a stopped member's files
// and says where any damage is.
//
//   member/wal   every segment as recovery reads it (store/wal_inspect.h):
//                record CRCs, headers, a log raft would accept; a torn
//                last write is a note (recovery cuts it), not damage;
//   member/snap  every raft snapshot file (store/snapshot_file.h): chunk
//                CRCs and the whole-file hash;
//   member/kv    the key space's LevelDB files: CURRENT names an existing
//                MANIFEST; MANIFEST and .log files fragment by fragment
//                (store/leveldb_env_log_scan.h); every table block by
//                block (store/leveldb_table_check.h).
// Nothing is written (the key space's lock is taken by the caller, so no
// member starts meanwhile).
#ifndef KEEL_TOOLS_KEELUTL_CHECK_H_
#define KEEL_TOOLS_KEELUTL_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "tools/keelutl_common.h"

namespace keel::tools {

struct DataDirCheck {
  std::vector<std::string> checked;   // one line per file or WAL: what was verified
  std::vector<std::string> notes;     // not damage: torn tails, leftovers, unknown files
  std::vector<std::string> problems;  // damage: "<path>: <where and what>"
};

// Errors only when a directory cannot be listed; damage is in problems.
absl::StatusOr<DataDirCheck> CheckDataDir(FileSystem& fs, const MemberDirs& dirs);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_KEELUTL_CHECK_H_
