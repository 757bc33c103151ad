// BboltReader: reads a bbolt database file (doc/bbolt_format.md), such as
// the one `etcdctl snapshot save` downloads from etcd.
//
// Open() picks the meta page bbolt would (the valid one with the higher
// transaction id). Reads walk the B+tree page by page through the File;
// nothing is mapped and only the pages on the current path are held, so a
// large database costs little memory. bbolt checksums only its meta pages:
// every other page is checked for structure as it is read (header id equal
// to its position, a known page type, elements and their keys inside the
// page, keys in strictly increasing order across the bucket, child pages
// below the high-water mark, no page reached twice, bounded depth), and a
// page that fails is DataLoss naming the file and page. A damaged file is
// refused, never half read: callers that must not act on part of a file
// (restore) run Check() or read everything before acting.
//
// Single-threaded; nothing here suspends.
#ifndef KEEL_STORE_BBOLT_READER_H_
#define KEEL_STORE_BBOLT_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "store/bbolt_format.h"

namespace keel::store {

// A bucket: its root page, or (root 0) its inline leaf page.
struct BboltBucket {
  uint64_t root = 0;
  std::string inline_page;
};

// One element of a bucket. A nested bucket's value is its header (and its
// inline page); OpenBucket() turns it into a BboltBucket. The views are
// valid only during the callback that receives them.
struct BboltItem {
  std::string_view key;
  std::string_view value;
  bool is_bucket = false;
};

// A bucket's value decoded. DataLoss if it is too short or names page 0
// or 1 (meta pages).
absl::StatusOr<BboltBucket> DecodeBboltBucket(std::string_view value);

// Whether `head` (the first bytes of a file, at least kBboltPageHeaderBytes
// + kBboltMetaBytes of them) starts with a bbolt meta page.
bool LooksLikeBbolt(std::string_view head);

class BboltReader {
 public:
  // Reads the database held in the first `size` bytes of `file` (bytes
  // after it, such as a snapshot's SHA-256, are not read). `name` labels
  // errors. The file must outlive the reader. FailedPrecondition if it is
  // not a bbolt file ("invalid database"); DataLoss if no meta page is
  // valid or the file is shorter than the meta says.
  static absl::StatusOr<std::unique_ptr<BboltReader>> Open(const File& file, uint64_t size,
                                                           std::string name);

  const BboltMeta& meta() const { return meta_; }
  uint32_t page_bytes() const { return meta_.page_bytes; }
  // What bbolt's Tx.Size() reports: high-water mark times page size.
  uint64_t size_bytes() const { return meta_.high_water * meta_.page_bytes; }
  BboltBucket root() const { return BboltBucket{.root = meta_.root, .inline_page = {}}; }

  // Calls `fn` for each element of `bucket` in key order. DataLoss for a
  // malformed page; an error from `fn` stops the walk and is returned.
  absl::Status ForEach(const BboltBucket& bucket,
                       absl::FunctionRef<absl::Status(const BboltItem&)> fn) const;

  // The nested bucket `name` in `parent`: nullopt if absent;
  // FailedPrecondition if `name` holds a plain value.
  absl::StatusOr<std::optional<BboltBucket>> OpenBucket(const BboltBucket& parent,
                                                        std::string_view name) const;
  // The plain value of `key` in `bucket`: nullopt if absent;
  // FailedPrecondition if `key` holds a bucket.
  absl::StatusOr<std::optional<std::string>> Get(const BboltBucket& bucket,
                                                 std::string_view key) const;

  // bbolt's consistency check (Tx.Check, which etcdctl snapshot status
  // runs) and the structural checks above, over the whole file: every
  // page below the high-water mark is either reachable exactly once or
  // free, never both. Returns the problems found (at most `max_problems`),
  // each naming its page; empty for a sound file. Errors only for I/O.
  absl::StatusOr<std::vector<std::string>> Check(size_t max_problems = 100) const;

 private:
  struct Walk;
  struct Found {
    std::string value;
    bool is_bucket = false;
  };

  BboltReader(const File& file, std::string name, BboltMeta meta)
      : file_(file), name_(std::move(name)), meta_(meta) {}

  absl::Status Corrupt(uint64_t page, std::string_view problem) const;
  // Page `id` with its overflow pages. DataLoss if it lies past the
  // high-water mark or the file, or its header names another page.
  absl::StatusOr<std::string> ReadPage(uint64_t id) const;
  // Checks a branch or leaf page's type and elements.
  absl::Status CheckNodePage(std::string_view page, uint64_t id) const;
  // The element `key` of `bucket`, by descending from its root.
  absl::StatusOr<std::optional<Found>> Find(const BboltBucket& bucket,
                                            std::string_view key) const;
  absl::Status WalkBucket(const BboltBucket& bucket, Walk& walk) const;
  absl::Status WalkPage(uint64_t id, int depth, Walk& walk) const;
  absl::Status WalkLeaf(std::string_view page, uint64_t id, Walk& walk) const;

  const File& file_;
  const std::string name_;
  const BboltMeta meta_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_BBOLT_READER_H_
