// Constants and small codecs of bbolt's file format, the database etcd
// keeps its key space in and streams as `snapshot save`. The format is
// described in doc/bbolt_format.md; change both together.
//
// A bbolt file is an array of fixed-size pages. Pages 0 and 1 are meta
// pages (the one with the higher transaction id and a good checksum is
// current); it names the root bucket's page, the freelist page and the
// high-water mark. A bucket is a B+tree of branch and leaf pages; a leaf
// element flagged as a bucket holds a nested bucket's header, followed by
// the bucket's whole leaf page when it is small ("inline"). All integers
// are little-endian (bbolt writes its structs in host order, and every
// platform etcd ships on is little-endian).
#ifndef KEEL_STORE_BBOLT_FORMAT_H_
#define KEEL_STORE_BBOLT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel::store {

inline constexpr uint32_t kBboltMagic = 0xED0CDAED;
inline constexpr uint32_t kBboltVersion = 2;
// etcd runs bbolt with the OS page size; every Linux etcd ships on uses
// 4 KiB. The reader takes any power of two in [kBboltMinPageBytes,
// kBboltMaxPageBytes] that the meta page names.
inline constexpr uint32_t kBboltDefaultPageBytes = 4096;
inline constexpr uint32_t kBboltMinPageBytes = 512;
inline constexpr uint32_t kBboltMaxPageBytes = 64 * 1024;

// Page header: id u64, flags u16, count u16, overflow u32.
inline constexpr size_t kBboltPageHeaderBytes = 16;
// Branch element: pos u32, ksize u32, child page id u64.
inline constexpr size_t kBboltBranchElementBytes = 16;
// Leaf element: flags u32, pos u32, ksize u32, vsize u32.
inline constexpr size_t kBboltLeafElementBytes = 16;
// A bucket's header, the value of its leaf element: root page id u64
// (0 = inline), sequence u64.
inline constexpr size_t kBboltBucketHeaderBytes = 16;
// The meta record after the page header: magic, version, page size,
// flags (u32 each), root bucket header (16), freelist page, high-water
// mark, transaction id, checksum (u64 each). The checksum is FNV-1a 64
// over the 56 bytes before it.
inline constexpr size_t kBboltMetaBytes = 64;
inline constexpr size_t kBboltMetaChecksummedBytes = 56;

inline constexpr uint16_t kBboltBranchPage = 0x01;
inline constexpr uint16_t kBboltLeafPage = 0x02;
inline constexpr uint16_t kBboltMetaPage = 0x04;
inline constexpr uint16_t kBboltFreelistPage = 0x10;

// A leaf element whose value is a nested bucket.
inline constexpr uint32_t kBboltBucketElement = 0x01;

// The freelist field when the free pages are not written (bbolt's
// NoFreelistSync, which etcd turns on): readers rebuild the list by
// finding the unreachable pages.
inline constexpr uint64_t kBboltNoFreelist = ~uint64_t{0};
// A freelist page whose count field is this holds its real count in its
// first u64.
inline constexpr uint16_t kBboltFreelistCountOverflow = 0xFFFF;

// A node holds at least this many elements before it is split, however
// large they are (bbolt's minKeysPerPage): a node of big keys takes
// overflow pages instead, and every branch level has at most half the
// nodes of the level below, so a tree of any keys has a root.
inline constexpr size_t kBboltMinKeysPerPage = 2;

inline constexpr size_t kBboltMaxKeyBytes = 32768;
inline constexpr uint64_t kBboltMaxValueBytes = (uint64_t{1} << 31) - 2;

struct BboltPageHeader {
  uint64_t id = 0;
  uint16_t flags = 0;
  uint16_t count = 0;
  uint32_t overflow = 0;
};

struct BboltMeta {
  uint32_t magic = kBboltMagic;
  uint32_t version = kBboltVersion;
  uint32_t page_bytes = kBboltDefaultPageBytes;
  uint32_t flags = 0;
  uint64_t root = 0;           // the root bucket's page
  uint64_t root_sequence = 0;
  uint64_t freelist = 0;       // kBboltNoFreelist if not written
  uint64_t high_water = 0;     // pages in use: every page id is below it
  uint64_t txid = 0;
  uint64_t checksum = 0;
};

// ---- little-endian fields ----

inline uint64_t BboltLoad(std::string_view bytes, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = width; i > 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[offset + i - 1]);
  }
  return v;
}

inline void BboltStore(std::string* bytes, size_t offset, size_t width, uint64_t v) {
  for (size_t i = 0; i < width; ++i) {
    (*bytes)[offset + i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// The header at the start of `page` (at least kBboltPageHeaderBytes).
BboltPageHeader DecodeBboltPageHeader(std::string_view page);
// Writes `header` over the first kBboltPageHeaderBytes of *page.
void EncodeBboltPageHeader(const BboltPageHeader& header, std::string* page);

// FNV-1a 64 over the first kBboltMetaChecksummedBytes of an encoded meta.
uint64_t BboltMetaChecksum(std::string_view meta_bytes);

// The meta record of a meta page (the page's bytes from its start).
// nullopt if the page is too short to hold one; otherwise the fields as
// stored, unvalidated.
std::optional<BboltMeta> DecodeBboltMeta(std::string_view page);

// Why a decoded meta cannot be used; empty if it can. Checks the magic,
// the version, the checksum (0 means "not set", as bbolt accepts), and
// that the page size is one the reader supports.
std::string BboltMetaProblem(const BboltMeta& meta);

// A whole meta page of meta.page_bytes bytes for page `page_id` (0 or 1),
// with the checksum computed.
std::string EncodeBboltMetaPage(BboltMeta meta, uint64_t page_id);

}  // namespace keel::store

#endif  // KEEL_STORE_BBOLT_FORMAT_H_
