// Wal: appending, group-commit sync, segment rotation and release. Creation
// and recovery are in wal_open.cc.
#include "store/wal.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/wal_coding.h"
#include "store/wal_record.h"

namespace keel::store {
namespace {

// Buffered records are written to the page cache once they pass this, so
// a large Ready does not sit in memory twice.
constexpr size_t kFlushBytes = 1 << 20;

// A sync slower than this is logged, as etcd's WAL does (warnSyncDuration).
constexpr Duration kWarnSyncDuration = Seconds(1);

bool IsHex16(std::string_view text) {
  if (text.size() != 16) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

uint64_t ParseHex(std::string_view text) {
  uint64_t value = 0;
  for (char c : text) value = value * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
  return value;
}

}  // namespace

std::string WalSegmentName(uint64_t seq, uint64_t first_index) {
  return absl::StrFormat("%016x-%016x%s", seq, first_index, kWalSegmentSuffix);
}

bool ParseWalSegmentName(std::string_view name, uint64_t* seq,
                         uint64_t* first_index) {
  if (name.size() != kWalSegmentNameBytes) return false;
  if (name.substr(33) != kWalSegmentSuffix || name[16] != '-') return false;
  if (!IsHex16(name.substr(0, 16)) || !IsHex16(name.substr(17, 16))) return false;
  *seq = ParseHex(name.substr(0, 16));
  *first_index = ParseHex(name.substr(17, 16));
  return true;
}

Wal::Wal(Env& env, WalOptions options, WalIdentity identity)
    : env_(env), options_(std::move(options)), identity_(identity) {
  KEEL_ASSERT(!options_.dir.empty());
  KEEL_ASSERT(options_.segment_bytes > 0);
}

Wal::~Wal() = default;

std::string Wal::PathOf(std::string_view name) const {
  return JoinPath(options_.dir, name);
}

std::vector<std::string> Wal::segment_names() const {
  std::vector<std::string> names;
  for (const Segment& segment : segments_) names.push_back(segment.name);
  return names;
}

absl::Status Wal::Break(absl::Status status) {
  KEEL_ASSERT(!status.ok());
  if (broken_.ok()) {
    broken_ = absl::Status(status.code(),
                           StrCat("wal: ", status.message(),
                                  " (the WAL is now unusable)"));
    env_.log().Error("WAL I/O failed; the member must stop",
                     {{"dir", options_.dir}, {"error", status.ToString()}});
  }
  return broken_;
}

absl::Status Wal::AppendRecord(WalRecordType type, std::string_view payload) {
  KEEL_ASSERT_MSG(!busy_, "WAL append while a sync is in flight");
  if (!broken_.ok()) return broken_;
  if (payload.size() > kMaxWalPayloadBytes) {
    return absl::InvalidArgumentError(
        StrCat("wal: record of ", payload.size(), " bytes is too large"));
  }
  AppendWalRecord(&buffer_, type, payload, synced_offset_);
  // Buggify: each record reaches the page cache by its own write, so a
  // crash before the sync tears a Ready between its records too.
  if (buffer_.size() >= kFlushBytes || Buggify()) return Flush();
  return absl::OkStatus();
}

absl::Status Wal::Flush() {
  KEEL_ASSERT_MSG(!busy_, "WAL flush while a sync is in flight");
  if (!broken_.ok()) return broken_;
  if (buffer_.empty()) return absl::OkStatus();
  absl::Status written = file_->WriteAt(offset_, buffer_);
  if (!written.ok()) return Break(written);
  offset_ += buffer_.size();
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status Wal::AppendEntries(const std::vector<raftpb::Entry>& entries) {
  std::string payload;
  for (const raftpb::Entry& entry : entries) {
    KEEL_ASSERT_MSG(entry.index() <= last_index_ + 1, "WAL entry leaves a gap");
    KEEL_ASSERT_MSG(entry.index() > snapshot_.index(),
                    "WAL entry at or below the snapshot");
    payload.clear();
    entry.SerializeToString(&payload);
    KEEL_RETURN_IF_ERROR(AppendRecord(WalRecordType::kEntry, payload));
    last_index_ = entry.index();
  }
  return absl::OkStatus();
}

absl::Status Wal::AppendHardState(const raftpb::HardState& hard_state) {
  KEEL_RETURN_IF_ERROR(
      AppendRecord(WalRecordType::kHardState, hard_state.SerializeAsString()));
  hard_state_ = hard_state;
  return absl::OkStatus();
}

absl::Status Wal::AppendSnapshot(const raftpb::SnapshotMetadata& snapshot) {
  KEEL_ASSERT_MSG(snapshot.index() > snapshot_.index(),
                  "WAL snapshot is not newer than the current one");
  KEEL_RETURN_IF_ERROR(
      AppendRecord(WalRecordType::kSnapshot, snapshot.SerializeAsString()));
  snapshot_ = snapshot;
  last_index_ = snapshot.index();
  return absl::OkStatus();
}

absl::Status Wal::AppendCompaction(const raftpb::SnapshotMetadata& snapshot) {
  KEEL_ASSERT_MSG(snapshot.index() > snapshot_.index(),
                  "WAL compaction is not newer than the current snapshot");
  KEEL_ASSERT_MSG(snapshot.index() <= last_index_,
                  "WAL compaction beyond the last entry");
  KEEL_RETURN_IF_ERROR(
      AppendRecord(WalRecordType::kCompaction, snapshot.SerializeAsString()));
  snapshot_ = snapshot;
  return absl::OkStatus();
}

std::string Wal::SegmentPrologue(uint64_t seq, uint64_t first_index) const {
  std::string header;
  PutFixed64(&header, kWalMagic);
  PutFixed32(&header, kWalFormatVersion);
  PutFixed32(&header, 0);
  PutFixed64(&header, identity_.member_id);
  PutFixed64(&header, identity_.cluster_id);
  PutFixed64(&header, seq);
  PutFixed64(&header, first_index);
  KEEL_ASSERT(header.size() == kSegmentHeaderPayloadBytes);
  std::string out;
  AppendWalRecord(&out, WalRecordType::kSegmentHeader, header, 0);
  AppendWalRecord(&out, WalRecordType::kCompaction, snapshot_.SerializeAsString(), 0);
  AppendWalRecord(&out, WalRecordType::kHardState, hard_state_.SerializeAsString(), 0);
  return out;
}

Task<absl::Status> Wal::Sync() {
  KEEL_ASSERT_MSG(!busy_, "overlapping WAL syncs");
  KEEL_CO_RETURN_IF_ERROR(Flush());
  busy_ = true;
  const uint64_t target = offset_;
  const TimePoint started = env_.clock().Now();
  absl::Status synced = co_await file_->Sync();
  busy_ = false;
  if (const Duration took = env_.clock().Now() - started; took > kWarnSyncDuration) {
    // etcd's words (wal.go), which operators grep for.
    env_.log().Warn("slow fdatasync",
                    {{"took", absl::FormatDuration(absl::Nanoseconds(took.count()))},
                     {"expected-duration", "1s"}});
  }
  if (!synced.ok()) co_return Break(synced);
  KEEL_ASSERT(target >= synced_offset_);
  synced_offset_ = target;
  // Buggify: a segment closed early (any size is legal), so cutting,
  // recovery across many segments and ReleaseTo() run often.
  if (offset_ < options_.segment_bytes && !Buggify()) co_return absl::OkStatus();
  busy_ = true;
  absl::Status cut = co_await Cut();
  busy_ = false;
  co_return cut;
}

Task<absl::Status> Wal::Cut() {
  KEEL_ASSERT(buffer_.empty());
  KEEL_ASSERT(synced_offset_ == offset_);
  const uint64_t seq = segments_.back().seq + 1;
  const uint64_t first_index = last_index_ + 1;
  const std::string name = WalSegmentName(seq, first_index);
  const std::string temp = PathOf(StrCat(name, kWalTempSuffix));
  // Build the segment under a temporary name and make it durable before it
  // appears, so recovery never finds a half-made segment under a real name.
  auto file = env_.fs().Open(temp, {.create = true, .truncate = true});
  if (!file.ok()) co_return Break(file.status());
  const std::string prologue = SegmentPrologue(seq, first_index);
  absl::Status status = (*file)->WriteAt(0, prologue);
  if (status.ok()) status = co_await (*file)->Sync();
  if (status.ok()) status = env_.fs().Rename(temp, PathOf(name));
  if (status.ok()) status = co_await env_.fs().SyncDir(options_.dir);
  if (!status.ok()) co_return Break(status);
  file_ = std::move(*file);
  offset_ = prologue.size();
  synced_offset_ = offset_;
  segments_.push_back({.seq = seq, .first_index = first_index, .name = name});
  env_.log().Debug("WAL segment started", {{"file", name}});
  co_return absl::OkStatus();
}

Task<absl::Status> Wal::ReleaseTo(uint64_t index) {
  KEEL_ASSERT_MSG(!busy_, "WAL release during a sync");
  if (!broken_.ok()) co_return broken_;
  if (options_.max_segments <= 0) co_return absl::OkStatus();
  size_t release = 0;
  // Segment i holds only entries below segments_[i + 1].first_index.
  while (release + 1 < segments_.size() &&
         segments_.size() - release > static_cast<size_t>(options_.max_segments) &&
         segments_[release + 1].first_index <= index + 1) {
    release++;
  }
  if (release == 0) co_return absl::OkStatus();
  for (size_t i = 0; i < release; i++) {
    absl::Status removed = env_.fs().Remove(PathOf(segments_[i].name));
    if (!removed.ok()) co_return Break(removed);
    env_.log().Debug("WAL segment released", {{"file", segments_[i].name}});
  }
  segments_.erase(segments_.begin(),
                  segments_.begin() + static_cast<ptrdiff_t>(release));
  busy_ = true;
  absl::Status synced = co_await env_.fs().SyncDir(options_.dir);
  busy_ = false;
  if (!synced.ok()) co_return Break(synced);
  co_return absl::OkStatus();
}

}  // namespace keel::store
