// Checking a LevelDB table file; see leveldb_table_check.h.
#include "store/leveldb_table_check.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "runtime/crc32c.h"
#include "runtime/strings.h"
#include "store/wal_coding.h"

namespace keel::store {
namespace {

constexpr uint64_t kFooterBytes = 48;
constexpr uint64_t kFooterHandlesBytes = 40;  // two handles of at most 20 bytes
constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr uint64_t kTrailerBytes = 5;
constexpr uint8_t kNoCompression = 0;

// A varint64 off the front of *in (LevelDB's coding).
std::optional<uint64_t> ConsumeVarint64(std::string_view* in) {
  uint64_t v = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    v |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return v;
  }
  return std::nullopt;
}

struct Handle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

std::optional<Handle> ConsumeHandle(std::string_view* in) {
  std::optional<uint64_t> offset = ConsumeVarint64(in);
  std::optional<uint64_t> size = offset ? ConsumeVarint64(in) : std::nullopt;
  if (!size) return std::nullopt;
  return Handle{*offset, *size};
}

struct Checker {
  std::string_view data;
  LevelDbTableCheck result;

  bool Fail(uint64_t offset, std::string problem) {
    if (result.ok) {
      result.ok = false;
      result.bad_offset = offset;
      result.problem = std::move(problem);
    }
    return false;
  }

  // The block at `h`, its CRC verified; nullopt (and the failure noted)
  // otherwise.
  std::optional<std::string_view> Block(const Handle& h, uint64_t limit) {
    if (h.offset > limit || h.size > limit - h.offset || limit - h.offset - h.size < kTrailerBytes) {
      Fail(h.offset, "block handle points outside the file");
      return std::nullopt;
    }
    const std::string_view contents = data.substr(h.offset, h.size + 1);  // with the type
    const uint32_t stored = crc32c::Unmask(DecodeFixed32(data.data() + h.offset + h.size + 1));
    if (crc32c::Value(contents) != stored) {
      Fail(h.offset, "block checksum mismatch");
      return std::nullopt;
    }
    return data.substr(h.offset, h.size);
  }

  // The values of a block's entries (LevelDB's block format: entries with
  // shared-prefix keys, then the restart array and its length).
  std::optional<std::vector<std::string_view>> Values(std::string_view block, uint64_t at) {
    if (block.size() < 4) {
      Fail(at, "block too short");
      return std::nullopt;
    }
    const uint64_t restarts = DecodeFixed32(block.data() + block.size() - 4);
    if (restarts > (block.size() - 4) / 4) {
      Fail(at, "bad restart array");
      return std::nullopt;
    }
    std::string_view in = block.substr(0, block.size() - 4 - 4 * restarts);
    std::vector<std::string_view> values;
    while (!in.empty()) {
      std::optional<uint64_t> shared = ConsumeVarint64(&in);
      std::optional<uint64_t> unshared = shared ? ConsumeVarint64(&in) : std::nullopt;
      std::optional<uint64_t> length = unshared ? ConsumeVarint64(&in) : std::nullopt;
      if (!length || *unshared > in.size() || *length > in.size() - *unshared) {
        Fail(at, "malformed block entry");
        return std::nullopt;
      }
      values.push_back(in.substr(*unshared, *length));
      in.remove_prefix(*unshared + *length);
    }
    return values;
  }

  // Every data block the index names, and the blocks the metaindex names.
  bool CollectHandles(const Handle& index, const Handle& metaindex, uint64_t limit,
                      std::vector<Handle>* all) {
    for (const auto& [parent, name] : {std::pair{index, "index"}, std::pair{metaindex, "metaindex"}}) {
      std::optional<std::string_view> block = Block(parent, limit);
      if (!block) return false;
      if (static_cast<uint8_t>(data[parent.offset + parent.size]) != kNoCompression) {
        return Fail(parent.offset, StrCat("compressed ", name, " block"));
      }
      std::optional<std::vector<std::string_view>> values = Values(*block, parent.offset);
      if (!values) return false;
      for (std::string_view value : *values) {
        std::optional<Handle> h = ConsumeHandle(&value);
        if (!h || !value.empty()) return Fail(parent.offset, StrCat("malformed ", name, " entry"));
        all->push_back(*h);
      }
      all->push_back(parent);
    }
    return true;
  }
};

}  // namespace

LevelDbTableCheck CheckLevelDbTable(std::string_view data) {
  Checker c{.data = data, .result = {}};
  if (data.size() < kFooterBytes) {
    c.Fail(0, "file shorter than a table footer");
    return c.result;
  }
  const uint64_t footer_at = data.size() - kFooterBytes;
  if (DecodeFixed64(data.data() + footer_at + kFooterHandlesBytes) != kTableMagic) {
    c.Fail(footer_at + kFooterHandlesBytes, "bad table magic number");
    return c.result;
  }
  std::string_view handles = data.substr(footer_at, kFooterHandlesBytes);
  std::optional<Handle> metaindex = ConsumeHandle(&handles);
  std::optional<Handle> index = metaindex ? ConsumeHandle(&handles) : std::nullopt;
  if (!index) {
    c.Fail(footer_at, "malformed footer");
    return c.result;
  }
  if (handles.find_first_not_of('\0') != std::string_view::npos) {
    c.Fail(footer_at, "footer padding is not zero");
    return c.result;
  }
  std::vector<Handle> all;
  if (!c.CollectHandles(*index, *metaindex, footer_at, &all)) return c.result;
  std::sort(all.begin(), all.end(),
            [](const Handle& a, const Handle& b) { return a.offset < b.offset; });
  uint64_t expected = 0;
  for (const Handle& h : all) {
    if (h.offset != expected) {
      c.Fail(std::min(h.offset, expected), "blocks do not lie back to back");
      return c.result;
    }
    if (!c.Block(h, footer_at)) return c.result;
    expected = h.offset + h.size + kTrailerBytes;
  }
  if (expected != footer_at) c.Fail(expected, "bytes between the last block and the footer");
  c.result.blocks = all.size();
  return c.result;
}

}  // namespace keel::store
