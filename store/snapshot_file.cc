// The snapshot file's writer and reader; the layout is in
// doc/snapshot_file_format.md.
#include "store/snapshot_file.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/crc32c.h"
#include "runtime/sha1.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/snapshot_envelope.h"
#include "store/wal_coding.h"

namespace keel::store {
namespace {

constexpr uint64_t kMagic = 0x50414e534c45454bULL;  // "KEELSNAP"
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 68;
constexpr size_t kChunkHeaderBytes = 16;
constexpr size_t kTrailerBytes = 40;
constexpr uint32_t kMaxChunkPayloadBytes = 256u << 20;
constexpr char kChunkKind = 'C';
constexpr char kTrailerKind = 'E';

std::string Digest(std::string_view data) {
  const std::array<uint8_t, 20> digest = Sha1(data);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string HexOf(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += absl::StrFormat("%02x", c);
  return out;
}

uint32_t MaskedCrc(std::string_view a, std::string_view b = {}) {
  return crc32c::Mask(crc32c::Extend(crc32c::Value(a), b.data(), b.size()));
}

// The first byte of a read, or 0 for an empty one. Out of line: GCC 12's
// -Wmaybe-uninitialized misfires on indexing a just-moved short string.
[[gnu::noinline]] char FirstByte(const std::string& bytes) {
  return bytes.empty() ? '\0' : bytes.front();
}

absl::Status Damage(const std::string& path, uint64_t offset, std::string_view what) {
  return absl::DataLossError(
      StrCat("snapshot file ", path, ": ", what, " at offset ", offset));
}

}  // namespace

SnapshotFileWriter::SnapshotFileWriter(FileSystem& fs, std::string path,
                                       size_t chunk_bytes)
    : fs_(fs),
      path_(std::move(path)),
      part_path_(path_ + ".part"),
      chunk_bytes_(chunk_bytes) {
  KEEL_ASSERT(chunk_bytes_ > 0);
  KEEL_ASSERT(chunk_bytes_ <= kMaxChunkPayloadBytes);
}

SnapshotFileWriter::~SnapshotFileWriter() {
  if (finished_) return;
  file_.reset();
  (void)fs_.Remove(part_path_);
}

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::Create(
    FileSystem& fs, std::string path, SnapshotFileMetadata metadata,
    size_t chunk_bytes) {
  if (fs.Stat(path).ok()) {
    return absl::AlreadyExistsError(StrCat("snapshot file ", path, " exists"));
  }
  std::unique_ptr<SnapshotFileWriter> writer(
      new SnapshotFileWriter(fs, std::move(path), chunk_bytes));
  KEEL_ASSIGN_OR_RETURN(writer->file_,
                        fs.Open(writer->part_path_, {.create = true, .truncate = true}));
  std::string header;
  PutFixed64(&header, kMagic);
  PutFixed32(&header, kVersion);
  PutFixed32(&header, 0);
  PutFixed64(&header, static_cast<uint64_t>(metadata.revision));
  PutFixed64(&header, static_cast<uint64_t>(metadata.compact_revision));
  PutFixed64(&header, metadata.consistent_index);
  PutFixed64(&header, metadata.consistent_term);
  PutFixed64(&header, metadata.member_id);
  PutFixed64(&header, metadata.cluster_id);
  PutFixed32(&header, MaskedCrc(header));
  KEEL_ASSERT(header.size() == kHeaderBytes);
  writer->hash_input_ = header;
  KEEL_RETURN_IF_ERROR(writer->Write(header));
  return writer;
}

absl::Status SnapshotFileWriter::Write(std::string_view bytes) {
  KEEL_RETURN_IF_ERROR(file_->WriteAt(offset_, bytes));
  offset_ += bytes.size();
  return absl::OkStatus();
}

absl::Status SnapshotFileWriter::Add(std::string_view key, std::string_view value) {
  KEEL_ASSERT_MSG(!finished_, "Add after Finish");
  KEEL_ASSERT(key.size() + value.size() + 8 <= kMaxChunkPayloadBytes);
  // Buggify: a chunk cut early, so files hold many small chunks.
  if (!chunk_.empty() &&
      (chunk_.size() + key.size() + value.size() + 8 > chunk_bytes_ || Buggify())) {
    KEEL_RETURN_IF_ERROR(WriteChunk());
  }
  PutFixed32(&chunk_, static_cast<uint32_t>(key.size()));
  chunk_.append(key.data(), key.size());
  PutFixed32(&chunk_, static_cast<uint32_t>(value.size()));
  chunk_.append(value.data(), value.size());
  chunk_records_++;
  summary_.records++;
  return absl::OkStatus();
}

absl::Status SnapshotFileWriter::WriteChunk() {
  KEEL_ASSERT(!chunk_.empty());
  std::string header;
  header.push_back(kChunkKind);
  header.append(3, '\0');
  PutFixed32(&header, static_cast<uint32_t>(chunk_records_));
  PutFixed32(&header, static_cast<uint32_t>(chunk_.size()));
  PutFixed32(&header, MaskedCrc(header, chunk_));
  KEEL_ASSERT(header.size() == kChunkHeaderBytes);
  hash_input_ += Digest(header + chunk_);
  KEEL_RETURN_IF_ERROR(Write(header));
  KEEL_RETURN_IF_ERROR(Write(chunk_));
  summary_.chunks++;
  chunk_.clear();
  chunk_records_ = 0;
  return absl::OkStatus();
}

Task<absl::StatusOr<SnapshotFileSummary>> SnapshotFileWriter::Finish() {
  KEEL_ASSERT_MSG(!finished_, "Finish twice");
  if (!chunk_.empty()) KEEL_CO_RETURN_IF_ERROR(WriteChunk());
  const std::string hash = Digest(hash_input_);
  std::string trailer;
  trailer.push_back(kTrailerKind);
  trailer.append(3, '\0');
  PutFixed32(&trailer, static_cast<uint32_t>(summary_.chunks));
  PutFixed64(&trailer, summary_.records);
  trailer += hash;
  PutFixed32(&trailer, MaskedCrc(trailer));
  KEEL_ASSERT(trailer.size() == kTrailerBytes);
  KEEL_CO_RETURN_IF_ERROR(Write(trailer));
  KEEL_CO_RETURN_IF_ERROR(co_await file_->Sync());
  file_.reset();
  KEEL_CO_RETURN_IF_ERROR(fs_.Rename(part_path_, path_));
  const size_t slash = path_.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
  if (dir.empty()) dir = "/";
  KEEL_CO_RETURN_IF_ERROR(co_await fs_.SyncDir(dir));
  finished_ = true;
  summary_.file_bytes = offset_;
  summary_.hash_hex = HexOf(hash);
  co_return summary_;
}

absl::StatusOr<std::unique_ptr<SnapshotFileReader>> SnapshotFileReader::Open(
    FileSystem& fs, std::string path, SnapshotFileReadOptions options) {
  std::unique_ptr<SnapshotFileReader> reader(new SnapshotFileReader());
  reader->path_ = path;
  KEEL_ASSIGN_OR_RETURN(reader->file_, fs.Open(path, {.read_only = true}));
  File& file = *reader->file_;
  KEEL_ASSIGN_OR_RETURN(const uint64_t file_size, file.Size());
  // A file saved through Maintenance.Snapshot carries etcd's SHA-256
  // envelope; the keel file inside is what follows.
  KEEL_ASSIGN_OR_RETURN(const uint64_t size,
                        UnwrapEnvelope(file, file_size, !options.skip_hash_check, path));
  KEEL_ASSIGN_OR_RETURN(std::string header, file.ReadAt(0, kHeaderBytes));
  if (header.size() < kHeaderBytes || DecodeFixed64(header.data()) != kMagic) {
    return absl::FailedPreconditionError(
        StrCat(path, " is not a keel snapshot file"));
  }
  if (DecodeFixed32(header.data() + 64) !=
      MaskedCrc(std::string_view(header).substr(0, 64))) {
    return Damage(path, 0, "header fails its checksum");
  }
  if (DecodeFixed32(header.data() + 8) != kVersion) {
    return absl::FailedPreconditionError(
        StrCat(path, ": snapshot format version ", DecodeFixed32(header.data() + 8),
               " is not supported"));
  }
  SnapshotFileMetadata& m = reader->metadata_;
  m.revision = static_cast<int64_t>(DecodeFixed64(header.data() + 16));
  m.compact_revision = static_cast<int64_t>(DecodeFixed64(header.data() + 24));
  m.consistent_index = DecodeFixed64(header.data() + 32);
  m.consistent_term = DecodeFixed64(header.data() + 40);
  m.member_id = DecodeFixed64(header.data() + 48);
  m.cluster_id = DecodeFixed64(header.data() + 56);

  std::string hash_input = header;
  uint64_t offset = kHeaderBytes;
  SnapshotFileSummary& summary = reader->summary_;
  bool trailer_found = false;
  while (offset < size) {
    KEEL_ASSIGN_OR_RETURN(std::string head, file.ReadAt(offset, kChunkHeaderBytes));
    if (FirstByte(head) == kTrailerKind) {
      KEEL_ASSIGN_OR_RETURN(std::string trailer, file.ReadAt(offset, kTrailerBytes));
      if (trailer.size() != kTrailerBytes || offset + kTrailerBytes != size ||
          DecodeFixed32(trailer.data() + 36) !=
              MaskedCrc(std::string_view(trailer).substr(0, 36))) {
        return Damage(path, offset, "bad trailer");
      }
      if (DecodeFixed32(trailer.data() + 4) != summary.chunks ||
          DecodeFixed64(trailer.data() + 8) != summary.records) {
        return Damage(path, offset, "chunk or record count differs from the trailer");
      }
      const std::string hash = Digest(hash_input);
      summary.hash_hex = HexOf(hash);
      reader->hash_verified_ = trailer.substr(16, 20) == hash;
      trailer_found = true;
      reader->data_end_ = offset;
      break;
    }
    if (head.size() < kChunkHeaderBytes || FirstByte(head) != kChunkKind) {
      return Damage(path, offset, "bad chunk header");
    }
    const uint32_t payload_bytes = DecodeFixed32(head.data() + 8);
    if (payload_bytes > kMaxChunkPayloadBytes ||
        offset + kChunkHeaderBytes + payload_bytes > size) {
      return Damage(path, offset, "chunk length runs past the end");
    }
    KEEL_ASSIGN_OR_RETURN(std::string payload,
                          file.ReadAt(offset + kChunkHeaderBytes, payload_bytes));
    if (payload.size() != payload_bytes ||
        DecodeFixed32(head.data() + 12) !=
            MaskedCrc(std::string_view(head).substr(0, 12), payload)) {
      return Damage(path, offset, "chunk fails its checksum");
    }
    hash_input += Digest(head + payload);
    summary.chunks++;
    summary.records += DecodeFixed32(head.data() + 4);
    offset += kChunkHeaderBytes + payload_bytes;
  }
  if (!trailer_found) {
    reader->data_end_ = offset;
    summary.hash_hex.clear();
    if (!options.skip_hash_check) {
      return Damage(path, offset, "the file ends without its trailer (truncated?)");
    }
  }
  if (!reader->hash_verified_ && !options.skip_hash_check) {
    return absl::DataLossError(StrCat("snapshot file ", path,
                                      ": hash mismatch (the file was changed)"));
  }
  summary.file_bytes = file_size;
  reader->next_chunk_ = kHeaderBytes;
  return reader;
}

absl::Status SnapshotFileReader::LoadChunk() {
  KEEL_ASSERT(next_chunk_ < data_end_);
  KEEL_ASSIGN_OR_RETURN(std::string head, file_->ReadAt(next_chunk_, kChunkHeaderBytes));
  if (head.size() < kChunkHeaderBytes) return Damage(path_, next_chunk_, "chunk changed");
  const uint32_t payload_bytes = DecodeFixed32(head.data() + 8);
  KEEL_ASSIGN_OR_RETURN(chunk_,
                        file_->ReadAt(next_chunk_ + kChunkHeaderBytes, payload_bytes));
  if (chunk_.size() != payload_bytes ||
      DecodeFixed32(head.data() + 12) !=
          MaskedCrc(std::string_view(head).substr(0, 12), chunk_)) {
    return Damage(path_, next_chunk_, "chunk changed since it was verified");
  }
  next_chunk_ += kChunkHeaderBytes + payload_bytes;
  chunk_position_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<bool> SnapshotFileReader::Next(std::string* key, std::string* value) {
  while (chunk_position_ >= chunk_.size()) {
    if (next_chunk_ >= data_end_) return false;
    KEEL_RETURN_IF_ERROR(LoadChunk());
  }
  auto take = [&](std::string* out) -> bool {
    if (chunk_.size() - chunk_position_ < 4) return false;
    const uint32_t n = DecodeFixed32(chunk_.data() + chunk_position_);
    chunk_position_ += 4;
    if (chunk_.size() - chunk_position_ < n) return false;
    out->assign(chunk_, chunk_position_, n);
    chunk_position_ += n;
    return true;
  };
  if (!take(key) || !take(value)) {
    return Damage(path_, next_chunk_, "record runs past its chunk");
  }
  return true;
}

}  // namespace keel::store
