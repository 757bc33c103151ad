// The valid prefix of a LevelDB log-format file (a "*.log" write-ahead log
// or a MANIFEST), so that LevelDB's recovery only ever sees a prefix of
// what was written.
//
// A crash can keep any subset of a file's unsynced sectors: the tail of a
// log can come back with a hole (a sector that reads as zeros) followed by
// records that survived. LevelDB's log reader skips such a hole and reads
// on, which would recover later writes without earlier ones (not a prefix
// of the writes). LevelDbEnv scans each log before LevelDB reads it and
// shows LevelDB only the records before the first torn one. As in the WAL
// (doc/wal_format.md), a bad fragment is torn when a sector piece of it is
// all zeros or the file ends inside it; any other bad fragment is damage
// and the file is refused, never cut. LevelDB's fragment CRC does not cover
// the length, so a fragment that runs past the end is torn only if no good
// fragment starts inside what it claims, and its CRC does not hold over the
// bytes up to the end of the file (either means its length is damaged).
// Known limit: a payload that happens to hold a good fragment inside a
// torn tail is taken for what it looks like.
#ifndef KEEL_STORE_LEVELDB_ENV_LOG_SCAN_H_
#define KEEL_STORE_LEVELDB_ENV_LOG_SCAN_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::store {

struct LevelDbLogScan {
  // End of the last complete logical record before anything torn.
  uint64_t valid_bytes = 0;
  bool torn = false;     // bytes after valid_bytes were cut off
  bool corrupt = false;  // damage at bad_offset
  uint64_t bad_offset = 0;
  std::string problem;
};

// Scans the whole contents of a LevelDB log-format file.
LevelDbLogScan ScanLevelDbLog(std::string_view data);

// Whether LevelDB reads `name` as a log-format file at recovery.
bool IsLevelDbLogFormatFile(std::string_view name);

}  // namespace keel::store

#endif  // KEEL_STORE_LEVELDB_ENV_LOG_SCAN_H_
