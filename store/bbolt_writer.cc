// Bulk-loading a bbolt file; see bbolt_writer.h.
#include "store/bbolt_writer.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::store {

BboltWriter::BboltWriter(File& file, BboltWriterOptions options)
    : file_(file), page_bytes_(options.page_bytes) {
  KEEL_ASSERT(page_bytes_ >= kBboltMinPageBytes);
  KEEL_ASSERT(page_bytes_ <= kBboltMaxPageBytes);
  stack_.emplace_back();
}

absl::Status BboltWriter::Fail(absl::Status status) {
  KEEL_ASSERT(!status.ok());
  failed_ = status;
  return status;
}

absl::Status BboltWriter::CheckKey(const Bucket& bucket, std::string_view key) const {
  if (key.empty()) return absl::InvalidArgumentError("bbolt: empty key");
  if (key.size() > kBboltMaxKeyBytes) {
    return absl::InvalidArgumentError(StrCat("bbolt: key of ", key.size(), " bytes is too long"));
  }
  if (!bucket.last_key.empty() && key <= bucket.last_key) {
    return absl::InvalidArgumentError("bbolt: keys must be added in increasing order");
  }
  return absl::OkStatus();
}

absl::Status BboltWriter::BeginBucket(std::string_view name) {
  KEEL_RETURN_IF_ERROR(failed_);
  Bucket& parent = stack_.back();
  if (absl::Status s = CheckKey(parent, name); !s.ok()) return Fail(s);
  parent.last_key.assign(name);
  parent.has_buckets = true;
  Bucket child;
  child.name.assign(name);
  stack_.push_back(std::move(child));
  return absl::OkStatus();
}

absl::Status BboltWriter::Put(std::string_view key, std::string_view value) {
  KEEL_RETURN_IF_ERROR(failed_);
  Bucket& bucket = stack_.back();
  if (absl::Status s = CheckKey(bucket, key); !s.ok()) return Fail(s);
  if (value.size() > kBboltMaxValueBytes) {
    return Fail(absl::InvalidArgumentError("bbolt: value too large"));
  }
  bucket.last_key.assign(key);
  return AddToLeaf(std::string(key), std::string(value), 0);
}

absl::Status BboltWriter::AddToLeaf(std::string key, std::string value, uint32_t flags) {
  Bucket& bucket = stack_.back();
  const uint64_t bytes = kBboltLeafElementBytes + key.size() + value.size();
  if (bucket.leaf.entries.size() >= kBboltMinKeysPerPage &&
      bucket.leaf.bytes + bytes > page_bytes_) {
    KEEL_RETURN_IF_ERROR(FlushLeaf(bucket));
  }
  bucket.leaf.entries.push_back(Entry{.key = std::move(key), .value = std::move(value),
                                      .flags = flags, .child = 0});
  bucket.leaf.bytes += bytes;
  items_++;
  return absl::OkStatus();
}

absl::Status BboltWriter::FlushLeaf(Bucket& bucket) {
  KEEL_ASSERT(!bucket.leaf.entries.empty() || bucket.branches.empty());
  KEEL_ASSIGN_OR_RETURN(uint64_t id, WriteNode(bucket.leaf, /*leaf=*/true));
  bucket.wrote_pages = true;
  std::string first = bucket.leaf.entries.empty() ? std::string()
                                                  : std::move(bucket.leaf.entries[0].key);
  bucket.leaf = Node();
  return AddToBranch(bucket, 0, std::move(first), id);
}

absl::Status BboltWriter::AddToBranch(Bucket& bucket, size_t level, std::string key,
                                      uint64_t child) {
  if (level == bucket.branches.size()) bucket.branches.emplace_back();
  Node& node = bucket.branches[level];
  const uint64_t bytes = kBboltBranchElementBytes + key.size();
  if (node.entries.size() >= kBboltMinKeysPerPage && node.bytes + bytes > page_bytes_) {
    KEEL_RETURN_IF_ERROR(FlushBranch(bucket, level));
  }
  // FlushBranch may have grown `branches`: index again.
  Node& target = bucket.branches[level];
  target.entries.push_back(Entry{.key = std::move(key), .value = {}, .flags = 0, .child = child});
  target.bytes += bytes;
  return absl::OkStatus();
}

absl::Status BboltWriter::FlushBranch(Bucket& bucket, size_t level) {
  Node node = std::move(bucket.branches[level]);
  bucket.branches[level] = Node();
  KEEL_ASSERT(!node.entries.empty());
  KEEL_ASSIGN_OR_RETURN(uint64_t id, WriteNode(node, /*leaf=*/false));
  return AddToBranch(bucket, level + 1, std::move(node.entries[0].key), id);
}

std::string BboltWriter::EncodeNode(const Node& node, bool leaf, uint64_t id,
                                    uint64_t size) const {
  KEEL_ASSERT(size >= node.bytes);
  KEEL_ASSERT(node.entries.size() < 0xFFFF);
  std::string page(size, '\0');
  const uint64_t pages = (size + page_bytes_ - 1) / page_bytes_;
  EncodeBboltPageHeader(
      BboltPageHeader{.id = id,
                      .flags = leaf ? kBboltLeafPage : kBboltBranchPage,
                      .count = static_cast<uint16_t>(node.entries.size()),
                      .overflow = static_cast<uint32_t>(pages == 0 ? 0 : pages - 1)},
      &page);
  uint64_t data = kBboltPageHeaderBytes + node.entries.size() * kBboltLeafElementBytes;
  for (size_t i = 0; i < node.entries.size(); ++i) {
    const Entry& e = node.entries[i];
    const uint64_t at = kBboltPageHeaderBytes + i * kBboltLeafElementBytes;
    if (leaf) {
      BboltStore(&page, at, 4, e.flags);
      BboltStore(&page, at + 4, 4, data - at);
      BboltStore(&page, at + 8, 4, e.key.size());
      BboltStore(&page, at + 12, 4, e.value.size());
    } else {
      BboltStore(&page, at, 4, data - at);
      BboltStore(&page, at + 4, 4, e.key.size());
      BboltStore(&page, at + 8, 8, e.child);
    }
    page.replace(data, e.key.size(), e.key);
    data += e.key.size();
    page.replace(data, e.value.size(), e.value);
    data += e.value.size();
  }
  KEEL_ASSERT(data == node.bytes);
  return page;
}

absl::StatusOr<uint64_t> BboltWriter::WriteNode(const Node& node, bool leaf) {
  const uint64_t pages = (node.bytes + page_bytes_ - 1) / page_bytes_;
  const uint64_t id = next_page_;
  std::string page = EncodeNode(node, leaf, id, pages * page_bytes_);
  if (absl::Status s = file_.WriteAt(id * page_bytes_, page); !s.ok()) return Fail(s);
  next_page_ += pages;
  return id;
}

absl::StatusOr<uint64_t> BboltWriter::FinishTree(Bucket& bucket) {
  if (bucket.branches.empty() || !bucket.leaf.entries.empty()) {
    KEEL_RETURN_IF_ERROR(FlushLeaf(bucket));
  }
  // Each level is flushed into the one above until a level holds a single
  // page: the root.
  for (size_t level = 0;; ++level) {
    KEEL_ASSERT(level < bucket.branches.size());
    const Node& node = bucket.branches[level];
    KEEL_ASSERT(!node.entries.empty());
    if (level + 1 == bucket.branches.size() && node.entries.size() == 1) {
      return node.entries[0].child;
    }
    KEEL_RETURN_IF_ERROR(FlushBranch(bucket, level));
  }
}

absl::Status BboltWriter::EndBucket() {
  KEEL_RETURN_IF_ERROR(failed_);
  KEEL_ASSERT(stack_.size() > 1);
  Bucket bucket = std::move(stack_.back());
  stack_.pop_back();
  std::string value(kBboltBucketHeaderBytes, '\0');
  const bool inline_bucket = !bucket.wrote_pages && !bucket.has_buckets &&
                             bucket.leaf.bytes <= page_bytes_ / 4;
  if (inline_bucket) {
    value += EncodeNode(bucket.leaf, /*leaf=*/true, 0, bucket.leaf.bytes);
  } else {
    KEEL_ASSIGN_OR_RETURN(uint64_t root, FinishTree(bucket));
    BboltStore(&value, 0, 8, root);
  }
  return AddToLeaf(std::move(bucket.name), std::move(value), kBboltBucketElement);
}

absl::StatusOr<BboltWriteSummary> BboltWriter::Finish() {
  KEEL_RETURN_IF_ERROR(failed_);
  KEEL_ASSERT(stack_.size() == 1);
  KEEL_ASSIGN_OR_RETURN(uint64_t root, FinishTree(stack_[0]));
  std::string freelist(page_bytes_, '\0');
  EncodeBboltPageHeader(BboltPageHeader{.id = 2, .flags = kBboltFreelistPage}, &freelist);
  if (absl::Status s = file_.WriteAt(2 * uint64_t{page_bytes_}, freelist); !s.ok()) {
    return Fail(s);
  }
  // Both meta pages describe the same tree, as bbolt's Tx.WriteTo writes
  // them: the one with the higher transaction id wins, the other is its
  // fallback.
  BboltMeta meta;
  meta.page_bytes = page_bytes_;
  meta.root = root;
  meta.freelist = 2;
  meta.high_water = next_page_;
  for (uint64_t page_id = 0; page_id < 2; ++page_id) {
    meta.txid = 1 - page_id;
    absl::Status s = file_.WriteAt(page_id * page_bytes_, EncodeBboltMetaPage(meta, page_id));
    if (!s.ok()) return Fail(s);
  }
  failed_ = absl::FailedPreconditionError("bbolt: writer already finished");
  return BboltWriteSummary{.pages = next_page_,
                           .file_bytes = next_page_ * page_bytes_,
                           .items = items_};
}

}  // namespace keel::store
