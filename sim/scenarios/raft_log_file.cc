// RaftLogFile: encoding, recovery (torn tail or corruption), the durable
// rewrite, appends, syncs and shrinking.
#include "sim/scenarios/raft_log_file.h"

#include <algorithm>
#include <optional>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/filesystem.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::sim {
namespace {

constexpr uint64_t kSector = 512;
constexpr const char* kLogName = "raft.log";
constexpr const char* kRewriteName = "raft.log.rewrite";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct ParsedRecord {
  RaftRecordType type;
  std::string_view payload;
  uint64_t size;  // header plus payload
};

// The record at `offset` of `bytes` (the file from offset 0), if it checks
// out.
std::optional<ParsedRecord> Parse(std::string_view bytes, uint64_t offset) {
  if (bytes.size() < offset + kRaftRecordHeaderBytes) return std::nullopt;
  const char* header = bytes.data() + offset;
  const uint64_t length = GetU32(header + 4);
  if (length > kMaxRaftRecordBytes ||
      bytes.size() < offset + kRaftRecordHeaderBytes + length) {
    return std::nullopt;
  }
  if (GetU64(header + 8) != offset) return std::nullopt;
  const uint32_t crc =
      crc32c::Value(header + 4, kRaftRecordHeaderBytes - 4 + length);
  if (crc32c::Mask(crc) != GetU32(header)) return std::nullopt;
  const uint8_t type = static_cast<uint8_t>(header[16]);
  if (type < 1 || type > 4) return std::nullopt;
  return ParsedRecord{.type = static_cast<RaftRecordType>(type),
                      .payload = bytes.substr(offset + kRaftRecordHeaderBytes, length),
                      .size = kRaftRecordHeaderBytes + length};
}

// Whether any record checks out at an offset after `from`. The offset
// field makes a match by accident practically impossible, and is a cheap
// filter before the checksum.
bool AnyValidRecordAfter(std::string_view bytes, uint64_t from) {
  for (uint64_t q = from + 1; q + kRaftRecordHeaderBytes <= bytes.size(); q++) {
    if (GetU64(bytes.data() + q + 8) != q) continue;
    if (Parse(bytes, q).has_value()) return true;
  }
  return false;
}

// Whether the bad record at `offset` is a torn write rather than damage:
// it runs past the end with nothing valid after it, or one of its
// sector-aligned pieces reads as zeros (an appended sector a crash lost).
bool IsTorn(std::string_view bytes, uint64_t offset) {
  uint64_t end = bytes.size();
  if (bytes.size() >= offset + kRaftRecordHeaderBytes) {
    const uint64_t length = GetU32(bytes.data() + offset + 4);
    const uint64_t claimed = offset + kRaftRecordHeaderBytes + length;
    if (claimed > bytes.size()) return !AnyValidRecordAfter(bytes, offset);
    end = claimed;
  } else {
    return true;  // a partial header at the end
  }
  for (uint64_t begin = offset; begin < end;) {
    const uint64_t piece_end = std::min(end, (begin / kSector + 1) * kSector);
    const std::string_view piece = bytes.substr(begin, piece_end - begin);
    if (std::all_of(piece.begin(), piece.end(), [](char c) { return c == 0; })) {
      return true;
    }
    begin = piece_end;
  }
  return false;
}

// Adds `entry` to `out` (a suffix replaced, or a compacted one skipped).
// DataLoss if it leaves a gap.
absl::Status ReplayEntry(raftpb::Entry entry, uint64_t offset, RecoveredRaftLog* out) {
  const uint64_t snapshot_index = out->snapshot.metadata().index();
  const uint64_t last = snapshot_index + out->entries.size();
  if (entry.index() == 0 || entry.index() > last + 1) {
    return absl::DataLossError(StrCat("raft log: entry ", entry.index(), " after ",
                                      last, " at offset ", offset));
  }
  if (entry.index() <= snapshot_index) return absl::OkStatus();
  out->entries.resize(entry.index() - snapshot_index - 1);
  out->entries.push_back(std::move(entry));
  return absl::OkStatus();
}

// Makes `snapshot` the base of `out`, keeping the entries after it only if
// `out` holds the snapshot's own entry (see the header). DataLoss if it is
// not newer than the snapshot held.
absl::Status ReplaySnapshot(raftpb::Snapshot snapshot, uint64_t offset,
                            RecoveredRaftLog* out) {
  const uint64_t index = snapshot.metadata().index();
  const uint64_t held = out->snapshot.metadata().index();
  if (index <= held) {
    return absl::DataLossError(StrCat("raft log: snapshot ", index, " after snapshot ",
                                      held, " at offset ", offset));
  }
  const bool holds = index <= held + out->entries.size() &&
                     out->entries[index - held - 1].term() == snapshot.metadata().term();
  if (holds) {
    out->entries.erase(out->entries.begin(),
                       out->entries.begin() + static_cast<ptrdiff_t>(index - held));
  } else {
    out->entries.clear();
  }
  // The snapshot proves its index committed; raft refuses a hard state
  // whose commit is behind its log's snapshot.
  if (out->hard_state.commit() < index) out->hard_state.set_commit(index);
  out->snapshot = std::move(snapshot);
  return absl::OkStatus();
}

// Applies one valid record to the recovered state. DataLoss if it checks
// out but makes no sense (a bug, or damage that kept its checksum).
absl::Status Replay(const ParsedRecord& record, uint64_t offset,
                    RecoveredRaftLog* out) {
  const int size = static_cast<int>(record.payload.size());
  switch (record.type) {
    case RaftRecordType::kMember:
      if (record.payload.size() != 8) break;
      out->member_id = GetU64(record.payload.data());
      return absl::OkStatus();
    case RaftRecordType::kHardState: {
      raftpb::HardState state;
      if (!state.ParseFromArray(record.payload.data(), size)) break;
      out->hard_state = std::move(state);
      return absl::OkStatus();
    }
    case RaftRecordType::kEntry: {
      raftpb::Entry entry;
      if (!entry.ParseFromArray(record.payload.data(), size)) break;
      return ReplayEntry(std::move(entry), offset, out);
    }
    case RaftRecordType::kSnapshot: {
      raftpb::Snapshot snapshot;
      if (!snapshot.ParseFromArray(record.payload.data(), size) ||
          snapshot.metadata().index() == 0) {
        break;
      }
      return ReplaySnapshot(std::move(snapshot), offset, out);
    }
  }
  return absl::DataLossError(
      StrCat("raft log: undecodable record at offset ", offset));
}

// Reads the whole file.
absl::StatusOr<std::string> ReadAll(const File& file) {
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (size == 0) return std::string();
  return file.ReadAt(0, size);
}

// Scans `file` into *out; DataLoss for corruption.
absl::Status Recover(const File& file, RecoveredRaftLog* out) {
  KEEL_ASSIGN_OR_RETURN(std::string bytes, ReadAll(file));
  out->file_bytes = bytes.size();
  uint64_t offset = 0;
  while (offset < bytes.size()) {
    std::optional<ParsedRecord> record = Parse(bytes, offset);
    // A read may have flipped a bit the disk does not hold: read again.
    for (int attempt = 1; !record.has_value() && attempt < kRaftLogReadAttempts;
         attempt++) {
      KEEL_ASSIGN_OR_RETURN(bytes, ReadAll(file));
      record = Parse(bytes, offset);
    }
    if (!record.has_value()) {
      if (IsTorn(bytes, offset)) break;
      return absl::DataLossError(StrCat("raft log: corrupt record at offset ",
                                        offset, " of ", bytes.size()));
    }
    KEEL_RETURN_IF_ERROR(Replay(*record, offset, out));
    out->records++;
    offset += record->size;
  }
  out->valid_bytes = offset;
  return absl::OkStatus();
}

void AppendRecord(std::string* out, RaftRecordType type, std::string_view payload) {
  out->append(EncodeRaftRecord(type, payload, out->size()));
}

// The records that rebuild `state`, the snapshot first.
std::string Rewrite(const RecoveredRaftLog& state) {
  std::string out;
  if (state.snapshot.metadata().index() != 0) {
    AppendRecord(&out, RaftRecordType::kSnapshot, state.snapshot.SerializeAsString());
  }
  if (state.member_id != 0) {
    std::string id;
    PutU64(&id, state.member_id);
    AppendRecord(&out, RaftRecordType::kMember, id);
  }
  for (const raftpb::Entry& entry : state.entries) {
    AppendRecord(&out, RaftRecordType::kEntry, entry.SerializeAsString());
  }
  if (state.hard_state.term() != 0 || state.hard_state.vote() != 0 ||
      state.hard_state.commit() != 0) {
    AppendRecord(&out, RaftRecordType::kHardState,
                 state.hard_state.SerializeAsString());
  }
  return out;
}

// Makes `content` the log durably: a fresh file, synced, renamed over the
// log, the directory synced. A crash leaves the old or the new file whole.
// Returns the new file open.
Task<absl::StatusOr<std::unique_ptr<File>>> ReplaceFile(FileSystem& fs,
                                                        const std::string& dir,
                                                        const std::string& content) {
  const std::string path = JoinPath(dir, kLogName);
  const std::string rewrite_path = JoinPath(dir, kRewriteName);
  {
    KEEL_CO_ASSIGN_OR_RETURN(
        std::unique_ptr<File> fresh,
        fs.Open(rewrite_path, OpenOptions{.create = true, .truncate = true}));
    KEEL_CO_RETURN_IF_ERROR(fresh->WriteAt(0, content));
    KEEL_CO_RETURN_IF_ERROR(co_await fresh->Sync());
  }
  KEEL_CO_RETURN_IF_ERROR(fs.Rename(rewrite_path, path));
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(dir));
  KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenOptions{}));
  KEEL_CO_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  KEEL_ASSERT(size == content.size());
  co_return file;
}

}  // namespace

std::string EncodeRaftRecord(RaftRecordType type, std::string_view payload,
                             uint64_t offset) {
  KEEL_ASSERT(payload.size() <= kMaxRaftRecordBytes);
  std::string out;
  out.reserve(kRaftRecordHeaderBytes + payload.size());
  PutU32(&out, 0);  // the CRC, filled in below
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU64(&out, offset);
  out.push_back(static_cast<char>(type));
  out.append(payload);
  KEEL_ASSERT(out.size() == kRaftRecordHeaderBytes + payload.size());
  const uint32_t crc = crc32c::Mask(crc32c::Value(out.data() + 4, out.size() - 4));
  for (int i = 0; i < 4; i++) out[i] = static_cast<char>(crc >> (8 * i));
  return out;
}

Task<absl::StatusOr<std::unique_ptr<RaftLogFile>>> RaftLogFile::Open(
    Env& env, std::string dir, RecoveredRaftLog* out) {
  FileSystem& fs = env.fs();
  *out = RecoveredRaftLog();
  KEEL_CO_RETURN_IF_ERROR(CreateDirs(fs, dir));
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir("/"));
  const std::string path = JoinPath(dir, kLogName);
  {
    KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> old,
                             fs.Open(path, OpenOptions{.create = true}));
    KEEL_CO_RETURN_IF_ERROR(Recover(*old, out));
  }
  const std::string content = Rewrite(*out);
  KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                           co_await ReplaceFile(fs, dir, content));
  co_return std::unique_ptr<RaftLogFile>(
      new RaftLogFile(env, std::move(dir), std::move(file), content.size(), *out));
}

absl::Status RaftLogFile::Write(uint64_t member_id,
                                const std::vector<raftpb::Entry>& entries,
                                const raftpb::HardState* hard_state) {
  if (broken_) return absl::FailedPreconditionError("raft log is broken");
  std::string batch;
  auto add = [&](RaftRecordType type, std::string_view payload) {
    batch.append(EncodeRaftRecord(type, payload, end_ + batch.size()));
  };
  if (member_id != 0) {
    std::string id;
    PutU64(&id, member_id);
    add(RaftRecordType::kMember, id);
  }
  for (const raftpb::Entry& entry : entries) {
    KEEL_ASSERT(entry.index() > 0);
    add(RaftRecordType::kEntry, entry.SerializeAsString());
  }
  if (hard_state != nullptr) {
    add(RaftRecordType::kHardState, hard_state->SerializeAsString());
  }
  if (batch.empty()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(Append(batch));
  if (member_id != 0) state_.member_id = member_id;
  for (const raftpb::Entry& entry : entries) {
    const absl::Status replayed = ReplayEntry(entry, end_, &state_);
    KEEL_ASSERT_MSG(replayed.ok(), "entries follow the log written");
  }
  if (hard_state != nullptr) state_.hard_state = *hard_state;
  return absl::OkStatus();
}

absl::Status RaftLogFile::WriteSnapshot(const raftpb::Snapshot& snapshot) {
  if (broken_) return absl::FailedPreconditionError("raft log is broken");
  KEEL_ASSERT(snapshot.metadata().index() > state_.snapshot.metadata().index());
  KEEL_RETURN_IF_ERROR(Append(EncodeRaftRecord(
      RaftRecordType::kSnapshot, snapshot.SerializeAsString(), end_)));
  const absl::Status replayed = ReplaySnapshot(snapshot, end_, &state_);
  KEEL_ASSERT(replayed.ok());
  return absl::OkStatus();
}

absl::Status RaftLogFile::Append(const std::string& batch) {
  const absl::Status written = file_->WriteAt(end_, batch);
  if (!written.ok()) {
    // Part of the batch may be in the file: the member must stop and let
    // recovery cut it off.
    broken_ = true;
    return written;
  }
  end_ += batch.size();
  return absl::OkStatus();
}

Task<absl::Status> RaftLogFile::MaybeShrink() {
  if (broken_) co_return absl::FailedPreconditionError("raft log is broken");
  if (end_ < kMinShrinkBytes) co_return absl::OkStatus();
  std::string content = Rewrite(state_);
  if (end_ <= kShrinkFactor * content.size()) co_return absl::OkStatus();
  // Close the old file first: the rename replaces it.
  file_.reset();
  absl::StatusOr<std::unique_ptr<File>> file =
      co_await ReplaceFile(env_.fs(), dir_, content);
  if (!file.ok()) {
    broken_ = true;
    co_return file.status();
  }
  file_ = std::move(*file);
  end_ = content.size();
  shrinks_++;
  co_return absl::OkStatus();
}

Task<absl::Status> RaftLogFile::Sync() {
  if (broken_) co_return absl::FailedPreconditionError("raft log is broken");
  const absl::Status synced = co_await file_->Sync();
  if (!synced.ok()) broken_ = true;
  co_return synced;
}

}  // namespace keel::sim
