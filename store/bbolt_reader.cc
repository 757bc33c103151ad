// Reading and checking a bbolt file; see bbolt_reader.h.
#include "store/bbolt_reader.h"

#include <algorithm>

#include "absl/container/btree_set.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

// Deeper than any real tree (a 4 KiB-page tree of depth 32 holds more pages
// than a 64-bit file can), so only damage reaches it.
constexpr int kMaxPageDepth = 32;
constexpr int kMaxBucketDepth = 64;

struct Element {
  uint32_t flags = 0;
  std::string_view key;
  std::string_view value;  // leaf only
  uint64_t child = 0;      // branch only
};

// Element i of a page CheckNodePage accepted.
Element ElementAt(std::string_view page, uint16_t flags, size_t i) {
  const size_t at = kBboltPageHeaderBytes + i * kBboltLeafElementBytes;
  Element e;
  if (flags & kBboltBranchPage) {
    const size_t pos = BboltLoad(page, at, 4);
    const size_t ksize = BboltLoad(page, at + 4, 4);
    e.key = page.substr(at + pos, ksize);
    e.child = BboltLoad(page, at + 8, 8);
  } else {
    e.flags = static_cast<uint32_t>(BboltLoad(page, at, 4));
    const size_t pos = BboltLoad(page, at + 4, 4);
    const size_t ksize = BboltLoad(page, at + 8, 4);
    const size_t vsize = BboltLoad(page, at + 12, 4);
    e.key = page.substr(at + pos, ksize);
    e.value = page.substr(at + pos + ksize, vsize);
  }
  return e;
}

// Problems of the element table of a leaf or branch page, without reading
// any other page. Empty if sound.
std::string NodePageProblem(std::string_view page) {
  if (page.size() < kBboltPageHeaderBytes) return "page too short";
  const BboltPageHeader header = DecodeBboltPageHeader(page);
  const bool branch = header.flags == kBboltBranchPage;
  if (!branch && header.flags != kBboltLeafPage) {
    return StrCat("invalid type (flags 0x", absl::Hex(header.flags), ")");
  }
  static_assert(kBboltBranchElementBytes == kBboltLeafElementBytes);
  const uint64_t table_end =
      kBboltPageHeaderBytes + uint64_t{header.count} * kBboltLeafElementBytes;
  if (table_end > page.size()) return StrCat(header.count, " elements do not fit the page");
  if (branch && header.count == 0) return "empty branch page";
  // bbolt lays the keys and values out right after the element table, in
  // element order and without gaps, so each element's data starts where
  // the previous one's ended.
  std::string_view previous;
  uint64_t data_end = table_end;
  for (size_t i = 0; i < header.count; ++i) {
    const size_t at = kBboltPageHeaderBytes + i * kBboltLeafElementBytes;
    const uint64_t pos = BboltLoad(page, at + (branch ? 0 : 4), 4);
    const uint64_t ksize = BboltLoad(page, at + (branch ? 4 : 8), 4);
    const uint64_t vsize = branch ? 0 : BboltLoad(page, at + 12, 4);
    if (at + pos != data_end) return StrCat("element ", i, " does not start where expected");
    if (data_end + ksize + vsize > page.size()) {
      return StrCat("element ", i, " runs past the page");
    }
    data_end += ksize + vsize;
    if (ksize == 0) return StrCat("element ", i, " has an empty key");
    if (!branch && BboltLoad(page, at, 4) > kBboltBucketElement) {
      return StrCat("element ", i, " has unknown flags");
    }
    const Element e = ElementAt(page, header.flags, i);
    if (i > 0 && e.key <= previous) return StrCat("element ", i, " is out of key order");
    previous = e.key;
  }
  return std::string();
}

}  // namespace

absl::StatusOr<BboltBucket> DecodeBboltBucket(std::string_view value) {
  if (value.size() < kBboltBucketHeaderBytes) {
    return absl::DataLossError("bbolt: bucket value shorter than its header");
  }
  BboltBucket bucket;
  bucket.root = BboltLoad(value, 0, 8);
  if (bucket.root == 0) {
    bucket.inline_page = std::string(value.substr(kBboltBucketHeaderBytes));
    if (bucket.inline_page.size() < kBboltPageHeaderBytes) {
      return absl::DataLossError("bbolt: inline bucket without a page");
    }
  } else if (bucket.root < 2) {
    return absl::DataLossError(StrCat("bbolt: bucket rooted at meta page ", bucket.root));
  }
  return bucket;
}

bool LooksLikeBbolt(std::string_view head) {
  std::optional<BboltMeta> meta = DecodeBboltMeta(head);
  return meta && meta->magic == kBboltMagic &&
         (DecodeBboltPageHeader(head).flags & kBboltMetaPage) != 0;
}

absl::StatusOr<std::unique_ptr<BboltReader>> BboltReader::Open(const File& file,
                                                               uint64_t size,
                                                               std::string name) {
  constexpr size_t kHead = kBboltPageHeaderBytes + kBboltMetaBytes;
  KEEL_ASSIGN_OR_RETURN(std::string head, file.ReadAt(0, kHead));
  if (size < kHead || head.size() < kHead || !LooksLikeBbolt(head)) {
    return absl::FailedPreconditionError(StrCat(name, ": invalid database (not a bbolt file)"));
  }
  // The page size is meta 0's. If meta 0 is damaged, meta 1 is looked for
  // where each page size would put it (bbolt tries only its own default).
  std::optional<BboltMeta> meta0 = DecodeBboltMeta(head);
  KEEL_ASSERT(meta0.has_value());
  const std::string problem0 = BboltMetaProblem(*meta0);
  std::optional<BboltMeta> meta1;
  std::string problem1 = "missing";
  for (uint64_t probe = kBboltMinPageBytes; probe <= kBboltMaxPageBytes; probe *= 2) {
    const uint64_t page_bytes = problem0.empty() ? meta0->page_bytes : probe;
    KEEL_ASSIGN_OR_RETURN(std::string head1, file.ReadAt(page_bytes, kHead));
    meta1 = DecodeBboltMeta(head1);
    problem1 = meta1 ? BboltMetaProblem(*meta1) : "missing";
    if (problem1.empty() && meta1->page_bytes != page_bytes) problem1 = "page size differs";
    if (problem0.empty() || problem1.empty()) break;
  }
  const BboltMeta* chosen = nullptr;
  if (problem0.empty() && problem1.empty()) {
    chosen = meta1->txid > meta0->txid ? &*meta1 : &*meta0;
  } else if (problem0.empty()) {
    chosen = &*meta0;
  } else if (problem1.empty()) {
    chosen = &*meta1;
  } else {
    return absl::DataLossError(StrCat(name, ": no valid meta page (page 0: ", problem0,
                                      "; page 1: ", problem1, ")"));
  }
  const BboltMeta meta = *chosen;
  if (meta.high_water < 3 || meta.root < 2 || meta.root >= meta.high_water ||
      (meta.freelist != kBboltNoFreelist &&
       (meta.freelist < 2 || meta.freelist >= meta.high_water))) {
    return absl::DataLossError(StrCat(name, ": meta page (txid ", meta.txid,
                                      ") names pages beyond its high-water mark ",
                                      meta.high_water));
  }
  if (meta.high_water > size / meta.page_bytes) {
    return absl::DataLossError(StrCat(name, ": file holds ", size / meta.page_bytes,
                                      " pages but its meta page says ", meta.high_water));
  }
  return std::unique_ptr<BboltReader>(new BboltReader(file, std::move(name), meta));
}

absl::Status BboltReader::Corrupt(uint64_t page, std::string_view problem) const {
  return absl::DataLossError(StrCat(name_, ": page ", page, ": ", problem));
}

absl::StatusOr<std::string> BboltReader::ReadPage(uint64_t id) const {
  const uint64_t ps = meta_.page_bytes;
  if (id < 2 || id >= meta_.high_water) {
    return Corrupt(id, StrCat("out of bounds (high-water mark ", meta_.high_water, ")"));
  }
  KEEL_ASSIGN_OR_RETURN(std::string page, file_.ReadAt(id * ps, ps));
  if (page.size() != ps) return Corrupt(id, "short read");
  const BboltPageHeader header = DecodeBboltPageHeader(page);
  if (header.id != id) return Corrupt(id, StrCat("header names page ", header.id));
  if (header.overflow > 0) {
    if (header.overflow >= meta_.high_water - id) {
      return Corrupt(id, StrCat(header.overflow, " overflow pages run past the high-water mark"));
    }
    KEEL_ASSIGN_OR_RETURN(std::string rest,
                          file_.ReadAt((id + 1) * ps, uint64_t{header.overflow} * ps));
    if (rest.size() != uint64_t{header.overflow} * ps) return Corrupt(id, "short read");
    page += rest;
  }
  return page;
}

absl::Status BboltReader::CheckNodePage(std::string_view page, uint64_t id) const {
  std::string problem = NodePageProblem(page);
  if (!problem.empty()) return Corrupt(id, problem);
  return absl::OkStatus();
}

// The state of one walk over pages: what to call, what has been seen.
struct BboltReader::Walk {
  absl::FunctionRef<absl::Status(const BboltItem&)>* items = nullptr;
  // Check(): every page reached (first id and overflow), and where to put
  // damage instead of stopping at it.
  absl::btree_set<uint64_t> visited;
  std::vector<std::string>* problems = nullptr;
  size_t max_problems = 0;
  // Nested buckets, for Check() (which walks them all).
  bool descend = false;
  int bucket_depth = 0;
  // The last key of the bucket being walked (keys strictly increase).
  std::string last_key;
  bool has_last = false;

  // In Check(), damage is noted and the walk goes on with what is left.
  absl::Status Note(absl::Status status) {
    if (status.ok() || problems == nullptr || !absl::IsDataLoss(status)) return status;
    if (problems->size() < max_problems) problems->emplace_back(status.message());
    return absl::OkStatus();
  }
};

absl::Status BboltReader::WalkBucket(const BboltBucket& bucket, Walk& walk) const {
  if (walk.bucket_depth >= kMaxBucketDepth) {
    return absl::DataLossError(StrCat(name_, ": buckets nested too deep"));
  }
  std::string saved_key = std::move(walk.last_key);
  const bool saved_has = walk.has_last;
  walk.last_key.clear();
  walk.has_last = false;
  walk.bucket_depth++;
  absl::Status status;
  if (bucket.root == 0) {
    const std::string& page = bucket.inline_page;
    std::string problem = NodePageProblem(page);
    if (problem.empty() && DecodeBboltPageHeader(page).flags != kBboltLeafPage) {
      problem = "inline bucket holds a branch page";
    }
    status = problem.empty()
                 ? WalkLeaf(page, 0, walk)
                 : absl::DataLossError(StrCat(name_, ": inline bucket: ", problem));
  } else {
    status = WalkPage(bucket.root, 0, walk);
  }
  walk.bucket_depth--;
  walk.last_key = std::move(saved_key);
  walk.has_last = saved_has;
  return status;
}

absl::Status BboltReader::WalkPage(uint64_t id, int depth, Walk& walk) const {
  if (depth >= kMaxPageDepth) return Corrupt(id, "tree too deep");
  if (walk.visited.contains(id)) return Corrupt(id, "multiple references");
  KEEL_ASSIGN_OR_RETURN(std::string page, ReadPage(id));
  const BboltPageHeader header = DecodeBboltPageHeader(page);
  for (uint64_t i = 0; i <= header.overflow; ++i) {
    if (!walk.visited.insert(id + i).second) return Corrupt(id + i, "multiple references");
  }
  KEEL_RETURN_IF_ERROR(CheckNodePage(page, id));
  if (header.flags == kBboltLeafPage) return WalkLeaf(page, id, walk);
  for (size_t i = 0; i < header.count; ++i) {
    const Element e = ElementAt(page, header.flags, i);
    KEEL_RETURN_IF_ERROR(walk.Note(WalkPage(e.child, depth + 1, walk)));
  }
  return absl::OkStatus();
}

absl::Status BboltReader::WalkLeaf(std::string_view page, uint64_t id, Walk& walk) const {
  const BboltPageHeader header = DecodeBboltPageHeader(page);
  for (size_t i = 0; i < header.count; ++i) {
    const Element e = ElementAt(page, header.flags, i);
    if (walk.has_last && e.key <= walk.last_key) {
      return Corrupt(id, StrCat("element ", i, " is out of key order with the page before"));
    }
    walk.last_key.assign(e.key);
    walk.has_last = true;
    const BboltItem item{.key = e.key,
                         .value = e.value,
                         .is_bucket = (e.flags & kBboltBucketElement) != 0};
    if (walk.items != nullptr) KEEL_RETURN_IF_ERROR((*walk.items)(item));
    if (walk.descend && item.is_bucket) {
      absl::StatusOr<BboltBucket> child = DecodeBboltBucket(item.value);
      if (!child.ok()) {
        KEEL_RETURN_IF_ERROR(walk.Note(Corrupt(id, AsStd(child.status().message()))));
        continue;
      }
      KEEL_RETURN_IF_ERROR(walk.Note(WalkBucket(*child, walk)));
    }
  }
  return absl::OkStatus();
}

absl::Status BboltReader::ForEach(const BboltBucket& bucket,
                                  absl::FunctionRef<absl::Status(const BboltItem&)> fn) const {
  Walk walk;
  walk.items = &fn;
  return WalkBucket(bucket, walk);
}

namespace {

// The element of a leaf equal to `key`, if any.
std::optional<Element> FindInLeaf(std::string_view page, std::string_view key) {
  const BboltPageHeader header = DecodeBboltPageHeader(page);
  for (size_t i = 0; i < header.count; ++i) {
    const Element e = ElementAt(page, header.flags, i);
    if (e.key == key) return e;
    if (e.key > key) break;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<BboltReader::Found>> BboltReader::Find(
    const BboltBucket& bucket, std::string_view key) const {
  std::optional<Element> element;
  std::string page;
  if (bucket.root == 0) {
    page = bucket.inline_page;
    std::string problem = NodePageProblem(page);
    if (!problem.empty()) return absl::DataLossError(StrCat(name_, ": inline bucket: ", problem));
    if (DecodeBboltPageHeader(page).flags != kBboltLeafPage) {
      return absl::DataLossError(StrCat(name_, ": inline bucket holds a branch page"));
    }
    element = FindInLeaf(page, key);
  } else {
    uint64_t id = bucket.root;
    for (int depth = 0;; ++depth) {
      if (depth >= kMaxPageDepth) return Corrupt(id, "tree too deep");
      KEEL_ASSIGN_OR_RETURN(page, ReadPage(id));
      KEEL_RETURN_IF_ERROR(CheckNodePage(page, id));
      const BboltPageHeader header = DecodeBboltPageHeader(page);
      if (header.flags == kBboltLeafPage) {
        element = FindInLeaf(page, key);
        break;
      }
      // The last child whose first key is at or below `key` (the first
      // child if none is).
      size_t pick = 0;
      for (size_t i = 1; i < header.count; ++i) {
        if (ElementAt(page, header.flags, i).key > key) break;
        pick = i;
      }
      id = ElementAt(page, header.flags, pick).child;
    }
  }
  if (!element) return std::optional<Found>();
  return std::optional<Found>(Found{.value = std::string(element->value),
                                    .is_bucket = (element->flags & kBboltBucketElement) != 0});
}

absl::StatusOr<std::optional<std::string>> BboltReader::Get(const BboltBucket& bucket,
                                                            std::string_view key) const {
  KEEL_ASSIGN_OR_RETURN(std::optional<Found> found, Find(bucket, key));
  if (!found) return std::optional<std::string>();
  if (found->is_bucket) {
    return absl::FailedPreconditionError(StrCat(name_, ": \"", key, "\" is a bucket"));
  }
  return std::optional<std::string>(std::move(found->value));
}

absl::StatusOr<std::optional<BboltBucket>> BboltReader::OpenBucket(const BboltBucket& parent,
                                                                   std::string_view name) const {
  KEEL_ASSIGN_OR_RETURN(std::optional<Found> found, Find(parent, name));
  if (!found) return std::optional<BboltBucket>();
  if (!found->is_bucket) {
    return absl::FailedPreconditionError(StrCat(name_, ": \"", name, "\" is not a bucket"));
  }
  absl::StatusOr<BboltBucket> bucket = DecodeBboltBucket(found->value);
  if (!bucket.ok()) {
    return absl::DataLossError(StrCat(name_, ": bucket \"", name, "\": ", bucket.status().message()));
  }
  return std::optional<BboltBucket>(std::move(*bucket));
}

absl::StatusOr<std::vector<std::string>> BboltReader::Check(size_t max_problems) const {
  std::vector<std::string> problems;
  Walk walk;
  walk.problems = &problems;
  walk.max_problems = max_problems;
  walk.descend = true;
  auto note = [&](uint64_t page, std::string problem) {
    if (problems.size() < max_problems) problems.push_back(StrCat("page ", page, ": ", problem));
  };
  // The freelist: what bbolt would hand out again.
  absl::btree_set<uint64_t> freed;
  absl::btree_set<uint64_t> reachable = {0, 1};
  if (meta_.freelist != kBboltNoFreelist) {
    absl::StatusOr<std::string> page = ReadPage(meta_.freelist);
    if (!page.ok() && !absl::IsDataLoss(page.status())) return page.status();
    if (!page.ok()) {
      problems.emplace_back(page.status().message());
    } else {
      const BboltPageHeader header = DecodeBboltPageHeader(*page);
      for (uint64_t i = 0; i <= header.overflow; ++i) reachable.insert(meta_.freelist + i);
      uint64_t count = header.count;
      size_t at = kBboltPageHeaderBytes;
      if (count == kBboltFreelistCountOverflow && page->size() >= at + 8) {
        count = BboltLoad(*page, at, 8);
        at += 8;
      }
      if ((header.flags & kBboltFreelistPage) == 0) {
        note(meta_.freelist, "not a freelist page");
      } else if (count > (page->size() - at) / 8) {
        note(meta_.freelist, StrCat("freelist of ", count, " ids does not fit its pages"));
      } else {
        for (uint64_t i = 0; i < count; ++i) {
          const uint64_t id = BboltLoad(*page, at + 8 * i, 8);
          if (id < 2 || id >= meta_.high_water) {
            note(id, "freed page out of bounds");
          } else if (!freed.insert(id).second) {
            note(id, "already freed");
          }
        }
      }
    }
  }
  for (uint64_t id : reachable) walk.visited.insert(id);
  KEEL_RETURN_IF_ERROR(walk.Note(WalkBucket(root(), walk)));
  for (uint64_t id : walk.visited) {
    if (freed.contains(id)) note(id, "reachable freed");
  }
  if (meta_.freelist != kBboltNoFreelist) {
    for (uint64_t id = 2; id < meta_.high_water && problems.size() < max_problems; ++id) {
      if (!walk.visited.contains(id) && !freed.contains(id)) note(id, "unreachable unfreed");
    }
  }
  return problems;
}

}  // namespace keel::store
