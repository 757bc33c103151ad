// RecordLog: encoding, recovery, appends, syncs and scans.
#include "sim/scenarios/record_log.h"

#include <algorithm>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/filesystem.h"
#include "runtime/random.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/trace.h"

namespace keel::sim {
namespace {

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

std::string Encode(const Record& record, uint64_t offset) {
  KEEL_ASSERT(!record.payload.empty());
  KEEL_ASSERT(record.payload.size() <= kMaxPayloadBytes);
  std::string out;
  out.reserve(kRecordHeaderBytes + record.payload.size());
  PutU32(&out, 0);  // the CRC, filled in below
  PutU32(&out, static_cast<uint32_t>(record.payload.size()));
  PutU64(&out, offset);
  PutU32(&out, record.id.origin);
  PutU32(&out, record.id.incarnation);
  PutU64(&out, record.id.seq);
  out.append(record.payload);
  const uint32_t crc = crc32c::Mask(crc32c::Value(out.data() + 4, out.size() - 4));
  for (int i = 0; i < 4; i++) out[i] = static_cast<char>(crc >> (8 * i));
  return out;
}

// One attempt at the record at `offset`: nullopt if it does not check out.
absl::StatusOr<std::optional<Record>> TryRead(const File& file, uint64_t offset,
                                              uint64_t size) {
  KEEL_ASSIGN_OR_RETURN(std::string header,
                        file.ReadAt(offset, kRecordHeaderBytes));
  if (header.size() < kRecordHeaderBytes) return std::nullopt;
  const uint32_t length = GetU32(header.data() + 4);
  if (length == 0 || length > kMaxPayloadBytes ||
      offset + kRecordHeaderBytes + length > size) {
    return std::nullopt;
  }
  KEEL_ASSIGN_OR_RETURN(std::string payload,
                        file.ReadAt(offset + kRecordHeaderBytes, length));
  if (payload.size() < length) return std::nullopt;
  uint32_t crc = crc32c::Value(header.data() + 4, kRecordHeaderBytes - 4);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  if (crc32c::Mask(crc) != GetU32(header.data())) return std::nullopt;
  // A good record in the wrong place was put there by a misdirected write.
  if (GetU64(header.data() + 8) != offset) return std::nullopt;
  Record record;
  record.id.origin = GetU32(header.data() + 16);
  record.id.incarnation = GetU32(header.data() + 20);
  record.id.seq = GetU64(header.data() + 24);
  record.payload = std::move(payload);
  return record;
}

}  // namespace

std::string FormatRecordId(const RecordId& id) {
  return StrCat("n", id.origin + 1, "#", id.incarnation, "/", id.seq);
}

namespace {
// The payload's generator: its length first, then eight bytes per draw.
Random PayloadRandom(const RecordId& id, size_t* length) {
  Random random(Mix64((static_cast<uint64_t>(id.origin) << 32 | id.incarnation) ^
                      Mix64(id.seq)));
  *length = 16 + random.Uniform(497);
  return random;
}
}  // namespace

std::string PayloadFor(const RecordId& id) {
  size_t length = 0;
  Random random = PayloadRandom(id, &length);
  std::string out(length, '\0');
  for (size_t i = 0; i < length; i += 8) {
    const uint64_t word = random.Next();
    std::memcpy(out.data() + i, &word, std::min<size_t>(8, length - i));
  }
  return out;
}

bool PayloadMatches(const RecordId& id, std::string_view payload) {
  size_t length = 0;
  Random random = PayloadRandom(id, &length);
  if (payload.size() != length) return false;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t stored;
    std::memcpy(&stored, payload.data() + i, 8);
    if (stored != random.Next()) return false;
  }
  if (i == length) return true;
  const uint64_t word = random.Next();
  return std::memcmp(payload.data() + i, &word, length - i) == 0;
}

Task<absl::StatusOr<std::unique_ptr<RecordLog>>> RecordLog::Open(
    Env& env, std::string dir, ScanReport* report) {
  FileSystem& fs = env.fs();
  KEEL_CO_RETURN_IF_ERROR(CreateDirs(fs, dir));
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir("/"));
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<File> file,
      fs.Open(JoinPath(dir, "records.log"), OpenOptions{.create = true}));
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(dir));
  std::unique_ptr<RecordLog> log(new RecordLog(env, std::move(file), 0));
  KEEL_CO_ASSIGN_OR_RETURN(*report, log->Scan());
  if (report->invalid_tail()) {
    KEEL_CO_RETURN_IF_ERROR(log->file_->Truncate(report->valid_bytes));
  }
  log->end_ = report->valid_bytes;
  // The truncate, and whatever survived of the tail, must be durable before
  // any new record is acknowledged after them.
  KEEL_CO_RETURN_IF_ERROR(co_await log->file_->Sync());
  log->synced_end_ = log->end_;
  co_return log;
}

absl::Status RecordLog::Write(const Record& record) {
  if (broken_) return absl::FailedPreconditionError("record log is broken");
  const std::string bytes = Encode(record, end_);
  const absl::Status written = file_->WriteAt(end_, bytes);
  if (!written.ok()) {
    // Part of the record may be there; cut it off before anyone appends.
    (void)file_->Truncate(end_);
    return written;
  }
  end_ += bytes.size();
  return absl::OkStatus();
}

Task<absl::Status> RecordLog::Sync() {
  if (broken_) co_return absl::FailedPreconditionError("record log is broken");
  const uint64_t covers = end_;
  const absl::Status synced = co_await file_->Sync();
  if (!synced.ok()) {
    if (!broken_) {
      // What the failed sync was to persist is undefined, and the page cache
      // would keep serving it: drop it so no later record lands after a hole.
      broken_ = true;
      (void)file_->Truncate(synced_end_);
      env_.log().Error("fsync failed; record log stops",
                       {{"error", synced.ToString()}, {"synced_end", synced_end_}});
    }
    co_return synced;
  }
  if (broken_) co_return absl::FailedPreconditionError("record log is broken");
  KEEL_ASSERT(covers <= end_);
  if (covers > synced_end_) synced_end_ = covers;
  co_return absl::OkStatus();
}

absl::StatusOr<ScanReport> RecordLog::Scan() const {
  ScanReport report;
  report.scanned = true;
  KEEL_ASSIGN_OR_RETURN(report.file_bytes, file_->Size());
  uint64_t offset = 0;
  while (offset < report.file_bytes) {
    std::optional<Record> record;
    for (int attempt = 0; attempt < kReadAttempts && !record.has_value();
         attempt++) {
      KEEL_ASSIGN_OR_RETURN(record, TryRead(*file_, offset, report.file_bytes));
    }
    if (!record.has_value()) break;
    offset += kRecordHeaderBytes + record->payload.size();
    report.records.push_back(std::move(*record));
  }
  report.valid_bytes = offset;
  return report;
}

}  // namespace keel::sim
