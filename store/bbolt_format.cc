// bbolt's page header and meta record; see bbolt_format.h.
#include "store/bbolt_format.h"

#include <bit>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::store {

BboltPageHeader DecodeBboltPageHeader(std::string_view page) {
  KEEL_ASSERT(page.size() >= kBboltPageHeaderBytes);
  return BboltPageHeader{.id = BboltLoad(page, 0, 8),
                         .flags = static_cast<uint16_t>(BboltLoad(page, 8, 2)),
                         .count = static_cast<uint16_t>(BboltLoad(page, 10, 2)),
                         .overflow = static_cast<uint32_t>(BboltLoad(page, 12, 4))};
}

void EncodeBboltPageHeader(const BboltPageHeader& header, std::string* page) {
  KEEL_ASSERT(page->size() >= kBboltPageHeaderBytes);
  BboltStore(page, 0, 8, header.id);
  BboltStore(page, 8, 2, header.flags);
  BboltStore(page, 10, 2, header.count);
  BboltStore(page, 12, 4, header.overflow);
}

uint64_t BboltMetaChecksum(std::string_view meta_bytes) {
  KEEL_ASSERT(meta_bytes.size() >= kBboltMetaChecksummedBytes);
  uint64_t hash = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (size_t i = 0; i < kBboltMetaChecksummedBytes; ++i) {
    hash ^= static_cast<uint8_t>(meta_bytes[i]);
    hash *= 1099511628211ull;  // FNV-1a 64 prime
  }
  return hash;
}

std::optional<BboltMeta> DecodeBboltMeta(std::string_view page) {
  if (page.size() < kBboltPageHeaderBytes + kBboltMetaBytes) return std::nullopt;
  const std::string_view m = page.substr(kBboltPageHeaderBytes, kBboltMetaBytes);
  BboltMeta meta;
  meta.magic = static_cast<uint32_t>(BboltLoad(m, 0, 4));
  meta.version = static_cast<uint32_t>(BboltLoad(m, 4, 4));
  meta.page_bytes = static_cast<uint32_t>(BboltLoad(m, 8, 4));
  meta.flags = static_cast<uint32_t>(BboltLoad(m, 12, 4));
  meta.root = BboltLoad(m, 16, 8);
  meta.root_sequence = BboltLoad(m, 24, 8);
  meta.freelist = BboltLoad(m, 32, 8);
  meta.high_water = BboltLoad(m, 40, 8);
  meta.txid = BboltLoad(m, 48, 8);
  meta.checksum = BboltLoad(m, 56, 8);
  return meta;
}

namespace {

std::string EncodeMetaRecord(const BboltMeta& meta) {
  std::string m(kBboltMetaBytes, '\0');
  BboltStore(&m, 0, 4, meta.magic);
  BboltStore(&m, 4, 4, meta.version);
  BboltStore(&m, 8, 4, meta.page_bytes);
  BboltStore(&m, 12, 4, meta.flags);
  BboltStore(&m, 16, 8, meta.root);
  BboltStore(&m, 24, 8, meta.root_sequence);
  BboltStore(&m, 32, 8, meta.freelist);
  BboltStore(&m, 40, 8, meta.high_water);
  BboltStore(&m, 48, 8, meta.txid);
  BboltStore(&m, 56, 8, meta.checksum);
  return m;
}

}  // namespace

std::string BboltMetaProblem(const BboltMeta& meta) {
  if (meta.magic != kBboltMagic) return "invalid database (bad magic)";
  if (meta.version != kBboltVersion) {
    return StrCat("version mismatch (", meta.version, ", want ", kBboltVersion, ")");
  }
  if (meta.checksum != 0 && meta.checksum != BboltMetaChecksum(EncodeMetaRecord(meta))) {
    return "checksum error";
  }
  if (meta.page_bytes < kBboltMinPageBytes || meta.page_bytes > kBboltMaxPageBytes ||
      !std::has_single_bit(meta.page_bytes)) {
    return StrCat("unsupported page size ", meta.page_bytes);
  }
  return std::string();
}

std::string EncodeBboltMetaPage(BboltMeta meta, uint64_t page_id) {
  KEEL_ASSERT(page_id <= 1);
  KEEL_ASSERT(meta.page_bytes >= kBboltPageHeaderBytes + kBboltMetaBytes);
  KEEL_ASSERT(meta.root < meta.high_water);
  std::string page(meta.page_bytes, '\0');
  EncodeBboltPageHeader(BboltPageHeader{.id = page_id, .flags = kBboltMetaPage}, &page);
  meta.checksum = 0;
  meta.checksum = BboltMetaChecksum(EncodeMetaRecord(meta));
  page.replace(kBboltPageHeaderBytes, kBboltMetaBytes, EncodeMetaRecord(meta));
  return page;
}

}  // namespace keel::store
