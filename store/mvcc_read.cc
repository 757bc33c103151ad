// MVCC reads over the 'l' and 'h' tables; see mvcc_read.h.
#include "store/mvcc_read.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// The user key of the 'l' entry under `it`, or nullopt once the iterator
// leaves the table or passes `end`.
std::optional<std::string_view> LatestKeyAt(const DbIterator& it,
                                            std::optional<std::string_view> end) {
  if (!it.Valid()) return std::nullopt;
  std::string_view k = it.key();
  if (k.empty() || k[0] != kLatestTag) return std::nullopt;
  k.remove_prefix(1);
  if (end && k >= *end) return std::nullopt;
  return k;
}

}  // namespace

absl::Status CorruptRecord(std::string_view where) {
  return absl::DataLossError(
      AsAbsl(StrCat("mvcc: malformed record in ", where)));
}

std::optional<StoredVersion> StoredVersion::Decode(std::string encoded) {
  std::optional<DecodedRecord> record = DecodeRecord(encoded);
  if (!record) return std::nullopt;
  StoredVersion version(record->meta, std::move(encoded));
  return version;
}

StoredVersion::StoredVersion(const RecordMeta& meta, std::string encoded)
    : meta_(meta), encoded_(std::move(encoded)) {
  std::optional<DecodedRecord> record = DecodeRecord(encoded_);
  KEEL_ASSERT(record.has_value());
  KEEL_ASSERT(record->meta.mod == meta.mod);
  // A tombstone's decoded value is an empty view with no position.
  value_offset_ = meta_.tombstone ? encoded_.size()
                                  : static_cast<size_t>(record->value.data() -
                                                        encoded_.data());
}

std::string_view StoredVersion::value() const {
  return std::string_view(encoded_).substr(value_offset_);
}

KeyValue ToKeyValue(std::string_view key, const RecordMeta& meta,
                    std::string_view value, bool with_value) {
  KEEL_ASSERT(!meta.tombstone);
  KeyValue kv;
  kv.key.assign(key);
  kv.create_revision = meta.create_revision;
  kv.mod_revision = meta.mod.main;
  kv.version = meta.version;
  if (with_value) kv.value.assign(value);
  kv.lease = meta.lease;
  return kv;
}

KeyRange MakeKeyRange(std::string_view key, std::string_view range_end) {
  KeyRange range;
  range.key = key;
  if (range_end.empty()) {
    range.single = true;
    range.end = key;  // unused for single-key reads
  } else if (range_end.size() == 1 && range_end[0] == '\0') {
    range.end = std::nullopt;
  } else {
    range.end = range_end;
  }
  return range;
}

MvccReader::MvccReader(MvccDb* db, const Overlay* overlay,
                       const leveldb::Snapshot* snapshot)
    : db_(db), overlay_(overlay), snapshot_(snapshot) {
  KEEL_ASSERT(db != nullptr);
}

absl::StatusOr<std::optional<StoredVersion>> MvccReader::Latest(
    std::string_view key) {
  if (overlay_ != nullptr) {
    auto found = overlay_->find(key);
    if (found != overlay_->end()) {
      if (found->second.meta().tombstone) return std::optional<StoredVersion>();
      return std::optional<StoredVersion>(found->second);
    }
  }
  absl::StatusOr<std::optional<std::string>> raw =
      db_->Get(LatestKey(key), snapshot_);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<StoredVersion>();
  std::optional<StoredVersion> version =
      StoredVersion::Decode(std::move(**raw));
  if (!version || version->meta().tombstone) return CorruptRecord("latest");
  return version;
}

absl::StatusOr<std::optional<StoredVersion>> MvccReader::At(
    std::string_view key, int64_t revision) {
  absl::StatusOr<std::optional<std::string>> raw =
      db_->Get(LatestKey(key), snapshot_);
  if (!raw.ok()) return raw.status();
  if (raw->has_value()) {
    std::optional<StoredVersion> version =
        StoredVersion::Decode(std::move(**raw));
    if (!version || version->meta().tombstone) return CorruptRecord("latest");
    if (version->meta().mod.main <= revision) return version;
  }
  std::unique_ptr<DbIterator> it = db_->NewIterator(snapshot_);
  return HistoryAt(it.get(), key, revision);
}

absl::StatusOr<std::optional<StoredVersion>> MvccReader::HistoryAt(
    DbIterator* it, std::string_view key, int64_t revision) {
  it->Seek(HistoryKey(key, LastOfMain(revision)));
  if (!it->Valid()) {
    KEEL_RETURN_IF_ERROR(it->status());
    return std::optional<StoredVersion>();
  }
  if (!HasPrefix(it->key(), HistoryPrefix(key))) {
    return std::optional<StoredVersion>();
  }
  std::optional<StoredVersion> version =
      StoredVersion::Decode(std::string(it->value()));
  if (!version) return CorruptRecord("history");
  KEEL_ASSERT(version->meta().mod.main <= revision);
  if (version->meta().tombstone) return std::optional<StoredVersion>();
  return version;
}

absl::Status MvccReader::VisitLatest(const KeyRange& range, bool use_overlay,
                                     Visitor visit) {
  const Overlay* overlay = use_overlay ? overlay_ : nullptr;
  if (!range.single) return VisitLatestMerged(range, overlay, visit);
  MvccReader reader(db_, overlay);
  absl::StatusOr<std::optional<StoredVersion>> version =
      reader.Latest(range.key);
  if (!version.ok()) return version.status();
  if (version->has_value()) {
    const StoredVersion& v = **version;
    visit(VersionView{range.key, &v.meta(), v.value()});
  }
  return absl::OkStatus();
}

absl::Status MvccReader::VisitLatestMerged(const KeyRange& range,
                                           const Overlay* overlay,
                                           Visitor visit) {
  std::unique_ptr<DbIterator> it = db_->NewIterator(snapshot_);
  it->Seek(LatestKey(range.key));
  Overlay::const_iterator pending, pending_end;
  if (overlay != nullptr) {
    pending = overlay->lower_bound(range.key);
    pending_end = range.end ? overlay->lower_bound(*range.end) : overlay->end();
    if (range.end && *range.end <= range.key) pending_end = pending;
  }
  for (;;) {
    std::optional<std::string_view> db_key = LatestKeyAt(*it, range.end);
    bool has_pending = overlay != nullptr && pending != pending_end;
    if (!db_key && !has_pending) break;
    if (has_pending && (!db_key || pending->first <= *db_key)) {
      if (db_key && pending->first == *db_key) it->Next();
      const StoredVersion& v = pending->second;
      if (!v.meta().tombstone) {
        visit(VersionView{pending->first, &v.meta(), v.value()});
      }
      ++pending;
      continue;
    }
    std::optional<DecodedRecord> record = DecodeRecord(it->value());
    if (!record || record->meta.tombstone) return CorruptRecord("latest");
    visit(VersionView{*db_key, &record->meta, record->value});
    it->Next();
  }
  return it->status();
}

absl::Status MvccReader::VisitAt(const KeyRange& range, int64_t revision,
                                 Visitor visit) {
  if (range.single) {
    absl::StatusOr<std::optional<StoredVersion>> version =
        At(range.key, revision);
    if (!version.ok()) return version.status();
    if (version->has_value()) {
      const StoredVersion& v = **version;
      visit(VersionView{range.key, &v.meta(), v.value()});
    }
    return absl::OkStatus();
  }
  std::unique_ptr<DbIterator> latest = db_->NewIterator(snapshot_);
  std::unique_ptr<DbIterator> history = db_->NewIterator(snapshot_);
  latest->Seek(LatestKey(range.key));
  history->Seek(HistoryLowerBound(range.key));
  const std::string history_end = range.end
                                      ? HistoryLowerBound(*range.end)
                                      : std::string(1, kHistoryTag + 1);
  for (;;) {
    std::optional<std::string_view> latest_key = LatestKeyAt(*latest, range.end);
    std::optional<std::string> history_key;
    if (history->Valid() && history->key() < history_end) {
      std::optional<HistoryKeyParts> parts = ParseHistoryKey(history->key());
      if (!parts) return CorruptRecord("history key");
      history_key = std::move(parts->key);
    }
    if (!latest_key && !history_key) break;
    std::string key(latest_key && (!history_key || *latest_key <= *history_key)
                        ? *latest_key
                        : *history_key);
    bool visited = false;
    if (latest_key == key) {
      std::optional<DecodedRecord> record = DecodeRecord(latest->value());
      if (!record || record->meta.tombstone) return CorruptRecord("latest");
      if (record->meta.mod.main <= revision) {
        visit(VersionView{key, &record->meta, record->value});
        visited = true;
      }
      latest->Next();
    }
    if (history_key == key) {
      if (!visited) {
        absl::StatusOr<std::optional<StoredVersion>> version =
            HistoryAt(history.get(), key, revision);
        if (!version.ok()) return version.status();
        if (version->has_value()) {
          const StoredVersion& v = **version;
          visit(VersionView{key, &v.meta(), v.value()});
        }
      }
      history->Seek(HistoryKeyLimit(key));
    }
  }
  KEEL_RETURN_IF_ERROR(latest->status());
  return history->status();
}

}  // namespace keel::store
