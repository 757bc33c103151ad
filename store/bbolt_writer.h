// BboltWriter: writes a new bbolt database file in one pass, from buckets
// and keys given in sorted order (doc/bbolt_format.md), such as the etcd
// snapshot keel serves to `etcdctl snapshot save`.
//
// It is a bulk loader, not a transactional store: each bucket's leaves
// are filled to the page size in key order (and to at least two elements,
// taking overflow pages if those are large) and written as soon as they
// are full, with the branch levels above them built on the way, so memory
// holds one node per tree level and no more. A nested bucket is written
// completely (Begin, its keys and buckets, End) before its parent goes on;
// one that ends up small enough is stored inline in its parent's leaf, as
// bbolt itself does (a single leaf of at most a quarter page, no nested
// buckets). Finish() writes the empty freelist (page 2) and the two meta
// pages, so the file is what bbolt would read back and what its Tx.Check
// accepts: every page below the high-water mark reachable exactly once.
//
// Errors: InvalidArgument for keys out of order, empty or too long, and
// values too large; the File's errors for I/O. After an error the writer
// is spent. Calling out of order (End at the root, Finish with a bucket
// open) is a programmer error and asserts. Nothing here suspends or syncs:
// the caller syncs the file.
#ifndef KEEL_STORE_BBOLT_WRITER_H_
#define KEEL_STORE_BBOLT_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "store/bbolt_format.h"

namespace keel::store {

struct BboltWriterOptions {
  uint32_t page_bytes = kBboltDefaultPageBytes;
};

struct BboltWriteSummary {
  uint64_t pages = 0;       // the high-water mark
  uint64_t file_bytes = 0;  // pages * page size
  uint64_t items = 0;       // keys and buckets written, the root's included
};

class BboltWriter {
 public:
  // Writes from offset 0 of `file`, which should be empty and must
  // outlive the writer.
  explicit BboltWriter(File& file, BboltWriterOptions options = {});
  BboltWriter(const BboltWriter&) = delete;
  BboltWriter& operator=(const BboltWriter&) = delete;

  // Opens bucket `name` inside the current bucket (the root bucket at
  // first); its name must sort after the current bucket's keys so far.
  absl::Status BeginBucket(std::string_view name);
  // Adds a key to the current bucket, after its keys so far.
  absl::Status Put(std::string_view key, std::string_view value);
  // Closes the current bucket, which becomes a key of its parent.
  absl::Status EndBucket();

  // Closes the root bucket and writes the freelist and meta pages.
  absl::StatusOr<BboltWriteSummary> Finish();

 private:
  struct Entry {
    std::string key;
    std::string value;   // leaf only
    uint32_t flags = 0;  // leaf only
    uint64_t child = 0;  // branch only
  };
  struct Node {
    std::vector<Entry> entries;
    uint64_t bytes = kBboltPageHeaderBytes;
  };
  struct Bucket {
    Node leaf;
    std::vector<Node> branches;  // branches[0] holds the leaves' parents
    bool wrote_pages = false;
    bool has_buckets = false;
    std::string name;
    std::string last_key;  // empty until the first key (keys are never empty)
  };

  absl::Status CheckKey(const Bucket& bucket, std::string_view key) const;
  absl::Status AddToLeaf(std::string key, std::string value, uint32_t flags);
  absl::Status AddToBranch(Bucket& bucket, size_t level, std::string key, uint64_t child);
  absl::Status FlushLeaf(Bucket& bucket);
  absl::Status FlushBranch(Bucket& bucket, size_t level);
  // Writes `node` as a page (with overflow pages if it needs them) and
  // returns its id.
  absl::StatusOr<uint64_t> WriteNode(const Node& node, bool leaf);
  // The page bytes of `node`, `size` bytes long (at least node.bytes).
  std::string EncodeNode(const Node& node, bool leaf, uint64_t id, uint64_t size) const;
  // Writes what remains of `bucket`'s tree and returns its root page.
  absl::StatusOr<uint64_t> FinishTree(Bucket& bucket);
  absl::Status Fail(absl::Status status);

  File& file_;
  const uint32_t page_bytes_;
  std::vector<Bucket> stack_;  // [0] is the root bucket
  uint64_t next_page_ = 3;     // 0, 1: meta; 2: freelist
  uint64_t items_ = 0;
  absl::Status failed_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_BBOLT_WRITER_H_
