// How the MVCC key space is laid out in LevelDB (one DB, tables by prefix).
//
//   'l' key                      -> Record     the latest version of each
//                                              live key (ranges at the
//                                              current revision read only
//                                              this table, in key order)
//   'h' esc(key) 00 01 ~rev      -> Record     superseded versions and
//                                              tombstones, newest first per
//                                              key (reads at past revisions)
//   'r' rev                      -> RevEntry   one entry per change: its key,
//                                              kind and the revision it
//                                              superseded (watch history,
//                                              compaction, HashKV)
//   'a' lease key                -> ""         keys attached to each lease
//   'e' lease                    -> LeaseValue the lease table
//   'm' name                     -> meta       applied index, current and
//                                              compaction revisions
//
// esc() keeps byte order while making the key self-delimiting: 00 becomes
// 00 ff and the key ends in 00 01, so "a" and "a\0" never interleave. A put
// that overwrites moves the old Record from 'l' to 'h'; a delete moves it
// and adds a tombstone. Compaction at C deletes, for every 'r' entry up to
// C, the 'h' record it superseded and that record's 'r' entry, plus
// tombstones; what survives is exactly etcd's "latest version at C of every
// key alive at C". Integers in values are varints.
#ifndef KEEL_STORE_KEY_CODEC_H_
#define KEEL_STORE_KEY_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/revision.h"

namespace keel::store {

inline constexpr char kLatestTag = 'l';
inline constexpr char kHistoryTag = 'h';
inline constexpr char kRevisionTag = 'r';
inline constexpr char kLeaseKeyTag = 'a';
inline constexpr char kLeaseTag = 'e';
inline constexpr char kMetaTag = 'm';
// Cluster membership, kept by node/member_store.cc beside the key space so
// it rides along in snapshots.
inline constexpr char kClusterTag = 'c';

// ---- keys ----

// 'l' followed by the raw key: 'l' keys sort as the user keys do.
std::string LatestKey(std::string_view key);

// 'h' esc(key) 00 01: every history key of `key` starts with this.
std::string HistoryPrefix(std::string_view key);
std::string HistoryKey(std::string_view key, Revision rev);
// Sorts after every history entry of `key` and before those of any larger
// key: 'h' esc(key) 00 02.
std::string HistoryKeyLimit(std::string_view key);
// 'h' esc(key) without the terminator: sorts before the history of `key`
// and of every larger key, after those of smaller keys.
std::string HistoryLowerBound(std::string_view key);

struct HistoryKeyParts {
  std::string key;
  Revision rev;
};
// Splits a full 'h' key. nullopt if it is malformed.
std::optional<HistoryKeyParts> ParseHistoryKey(std::string_view history_key);

std::string RevisionKey(Revision rev);
std::optional<Revision> ParseRevisionKey(std::string_view revision_key);

std::string LeaseKeyPrefix(int64_t lease);
std::string LeaseKeyKey(int64_t lease, std::string_view key);
std::string LeaseTableKey(int64_t lease);
std::optional<int64_t> ParseLeaseTableKey(std::string_view lease_key);

std::string MetaKey(std::string_view name);

// ---- values ----

// One version of a key as stored in 'l' and 'h'. A tombstone has only
// `mod` set.
struct RecordMeta {
  Revision mod;
  int64_t create_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
  bool tombstone = false;
};

void AppendRecord(std::string* out, const RecordMeta& meta,
                  std::string_view value);
std::string EncodeRecord(const RecordMeta& meta, std::string_view value);

struct DecodedRecord {
  RecordMeta meta;
  std::string_view value;  // points into the decoded bytes
};
// nullopt if `data` is not a record.
std::optional<DecodedRecord> DecodeRecord(std::string_view data);

enum class ChangeKind : uint8_t { kPut = 1, kDelete = 2 };

// The 'r' entry of one change. `prev` is the revision of the version the
// change superseded; main 0 when the key did not exist before.
struct RevEntry {
  ChangeKind kind = ChangeKind::kPut;
  Revision prev;
  std::string_view key;  // points into the decoded bytes
};
std::string EncodeRevEntry(const RevEntry& entry);
std::optional<RevEntry> DecodeRevEntry(std::string_view data);

// ---- varints ----

void AppendVarint64(std::string* out, uint64_t v);
// Reads a varint from the front of *in and advances past it. nullopt if it
// is truncated or longer than 10 bytes.
std::optional<uint64_t> ConsumeVarint64(std::string_view* in);

}  // namespace keel::store

#endif  // KEEL_STORE_KEY_CODEC_H_
