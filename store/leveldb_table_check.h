// Checking a LevelDB table file (".ldb", ".sst") byte for byte, without
// LevelDB: for `keelutl check` on a stopped member's key space.
//
// A table (LevelDB's doc/table_format.md) is a run of blocks, each followed
// by a 5-byte trailer (compression type, masked CRC32C of the block and
// the type), and a 48-byte footer (metaindex and index block handles,
// zero padding, magic). The check reads the footer, the index (data block
// handles) and the metaindex (the filter block's), verifies every block's
// CRC, and requires the blocks to lie back to back from offset 0 to the
// footer, so every byte of the file is covered by a CRC or by the footer's
// own structure: a flipped bit anywhere is found, and its offset named.
// (LevelDB itself skips the footer's padding and reads the filter block
// only with a matching filter policy.)
#ifndef KEEL_STORE_LEVELDB_TABLE_CHECK_H_
#define KEEL_STORE_LEVELDB_TABLE_CHECK_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::store {

struct LevelDbTableCheck {
  bool ok = true;
  uint64_t bad_offset = 0;  // where the damage was found
  std::string problem;
  uint64_t blocks = 0;      // blocks verified
};

// Checks the whole contents of a table file.
LevelDbTableCheck CheckLevelDbTable(std::string_view data);

}  // namespace keel::store

#endif  // KEEL_STORE_LEVELDB_TABLE_CHECK_H_
