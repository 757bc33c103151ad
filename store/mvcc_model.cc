// The property test's model of the key space; see mvcc_model.h.
#include "store/mvcc_model.h"

#include <algorithm>
#include <tuple>

#include "runtime/crc32c.h"
#include "store/kv_wire.h"
#include "store/mvcc_errors.h"

namespace keel::store {
namespace {

bool InRange(const std::string& key, const std::string& range_end,
             const std::string& candidate) {
  if (range_end.empty()) return candidate == key;
  if (range_end == std::string(1, '\0')) return candidate >= key;
  return candidate >= key && candidate < range_end;
}

bool LessBy(SortTarget target, const KeyValue& a, const KeyValue& b) {
  switch (target) {
    case SortTarget::kKey: return a.key < b.key;
    case SortTarget::kVersion: return a.version < b.version;
    case SortTarget::kCreate: return a.create_revision < b.create_revision;
    case SortTarget::kMod: return a.mod_revision < b.mod_revision;
    case SortTarget::kValue: return a.value < b.value;
  }
  return false;
}

int Cmp(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool Holds(CompareResult result, int cmp) {
  switch (result) {
    case CompareResult::kEqual: return cmp == 0;
    case CompareResult::kNotEqual: return cmp != 0;
    case CompareResult::kGreater: return cmp > 0;
    case CompareResult::kLess: return cmp < 0;
  }
  return false;
}

bool CompareKv(const Compare& c, const KeyValue& kv) {
  switch (c.target) {
    case CompareTarget::kValue:
      return Holds(c.result, kv.value < c.value ? -1 : (kv.value == c.value ? 0 : 1));
    case CompareTarget::kCreate: return Holds(c.result, Cmp(kv.create_revision, c.number));
    case CompareTarget::kMod: return Holds(c.result, Cmp(kv.mod_revision, c.number));
    case CompareTarget::kVersion: return Holds(c.result, Cmp(kv.version, c.number));
    case CompareTarget::kLease: return Holds(c.result, Cmp(kv.lease, c.number));
  }
  return false;
}

}  // namespace

KeyValue ModelKeyValue(const std::string& key, const ModelVersion& v) {
  return KeyValue{key, v.create_revision, v.rev.main, v.version, v.value,
                  v.lease};
}

const ModelVersion* MvccModel::VisibleAt(const std::string& key,
                                         int64_t revision) const {
  auto found = keys.find(key);
  if (found == keys.end()) return nullptr;
  for (auto v = found->second.rbegin(); v != found->second.rend(); ++v) {
    if (v->rev.main <= revision) return v->tombstone ? nullptr : &*v;
  }
  return nullptr;
}

std::vector<KeyValue> MvccModel::LiveAt(const std::string& key,
                                        const std::string& range_end,
                                        int64_t revision) const {
  std::vector<KeyValue> out;
  for (const auto& [k, versions] : keys) {
    if (!InRange(key, range_end, k)) continue;
    if (const ModelVersion* v = VisibleAt(k, revision)) {
      out.push_back(ModelKeyValue(k, *v));
    }
  }
  return out;
}

RangeResult MvccModel::RangeAt(const RangeRequest& r, int64_t header_revision,
                               int64_t revision) const {
  std::vector<KeyValue> all = LiveAt(r.key, r.range_end, revision);
  RangeResult result;
  result.revision = header_revision;
  result.count = static_cast<int64_t>(all.size());
  if (r.count_only) return result;
  const bool filtered = r.min_mod_revision || r.max_mod_revision ||
                        r.min_create_revision || r.max_create_revision;
  if (r.sort_order == SortOrder::kNone && !filtered && r.limit > 0 &&
      all.size() > static_cast<size_t>(r.limit) + 1) {
    all.resize(static_cast<size_t>(r.limit) + 1);
  }
  for (const KeyValue& kv : all) {
    if (r.max_mod_revision && kv.mod_revision > r.max_mod_revision) continue;
    if (r.min_mod_revision && kv.mod_revision < r.min_mod_revision) continue;
    if (r.max_create_revision && kv.create_revision > r.max_create_revision) continue;
    if (r.min_create_revision && kv.create_revision < r.min_create_revision) continue;
    result.kvs.push_back(kv);
  }
  SortOrder order = r.sort_order;
  if (r.sort_target != SortTarget::kKey && order == SortOrder::kNone) {
    order = SortOrder::kAscend;
  }
  if (order != SortOrder::kNone) {
    std::stable_sort(result.kvs.begin(), result.kvs.end(),
                     [&](const KeyValue& a, const KeyValue& b) {
                       return order == SortOrder::kAscend
                                  ? LessBy(r.sort_target, a, b)
                                  : LessBy(r.sort_target, b, a);
                     });
  }
  if (r.limit > 0 && result.kvs.size() > static_cast<size_t>(r.limit)) {
    result.kvs.resize(static_cast<size_t>(r.limit));
    result.more = true;
  }
  if (r.keys_only) {
    for (KeyValue& kv : result.kvs) kv.value.clear();
  }
  return result;
}

absl::StatusOr<RangeResult> MvccModel::Range(const RangeRequest& r) const {
  if (r.key.empty()) return ErrEmptyKey();
  if (r.revision > current_revision) return ErrFutureRev();
  int64_t revision = r.revision <= 0 ? current_revision : r.revision;
  if (revision < compact_revision) return ErrCompacted();
  return RangeAt(r, current_revision, revision);
}

void MvccModel::PutVersion(Pending* p, const std::string& key,
                           const std::string& value, int64_t lease) {
  const ModelVersion* prev = VisibleAt(key, p->main);
  ModelVersion v;
  v.rev = Revision{p->main, p->sub++};
  v.value = value;
  v.create_revision = prev ? prev->create_revision : p->main;
  v.version = prev ? prev->version + 1 : 1;
  v.lease = lease;
  keys[key].push_back(v);
}

int64_t MvccModel::DeleteKeys(Pending* p, const std::string& key,
                              const std::string& range_end,
                              std::vector<KeyValue>* prev_kvs) {
  std::vector<KeyValue> live = LiveAt(key, range_end, p->main);
  for (const KeyValue& kv : live) {
    ModelVersion tombstone;
    tombstone.rev = Revision{p->main, p->sub++};
    tombstone.tombstone = true;
    keys[kv.key].push_back(tombstone);
    if (prev_kvs) prev_kvs->push_back(kv);
  }
  return static_cast<int64_t>(live.size());
}

absl::StatusOr<PutResult> MvccModel::Put(const PutRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  if (r.ignore_value && !r.value.empty()) return ErrValueProvided();
  if (r.ignore_lease && r.lease != 0) return ErrLeaseProvided();
  if (r.lease != 0 && !leases.contains(r.lease)) return ErrLeaseNotFound();
  const ModelVersion* prev = VisibleAt(r.key, current_revision);
  if ((r.ignore_value || r.ignore_lease) && !prev) return ErrKeyNotFound();
  PutResult result;
  if (r.prev_kv && prev) result.prev_kv = ModelKeyValue(r.key, *prev);
  const std::string value = r.ignore_value ? prev->value : r.value;
  const int64_t lease = r.ignore_lease ? prev->lease : r.lease;
  Pending p{current_revision + 1};
  PutVersion(&p, r.key, value, lease);
  current_revision = p.main;
  result.revision = current_revision;
  return result;
}

absl::StatusOr<DeleteRangeResult> MvccModel::DeleteRange(
    const DeleteRangeRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  Pending p{current_revision + 1};
  DeleteRangeResult result;
  result.deleted =
      DeleteKeys(&p, r.key, r.range_end, r.prev_kv ? &result.prev_kvs : nullptr);
  if (p.changed()) current_revision = p.main;
  result.revision = current_revision;
  return result;
}

bool MvccModel::Holds(const Compare& c) const {
  std::vector<KeyValue> kvs = LiveAt(c.key, c.range_end, current_revision);
  if (kvs.empty()) {
    return c.target != CompareTarget::kValue && CompareKv(c, KeyValue{});
  }
  for (const KeyValue& kv : kvs) {
    if (!CompareKv(c, kv)) return false;
  }
  return true;
}

void MvccModel::Path(const TxnRequest& t, std::vector<bool>* path) const {
  bool ok = std::all_of(t.compare.begin(), t.compare.end(),
                        [&](const Compare& c) { return Holds(c); });
  path->push_back(ok);
  for (const RequestOp& op : ok ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      Path(*nested, path);
    }
  }
}

absl::Status MvccModel::CheckPath(const TxnRequest& t,
                                  const std::vector<bool>& path,
                                  size_t* index) const {
  const bool ok = path[(*index)++];
  for (const RequestOp& op : ok ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      absl::Status s = CheckPath(*nested, path, index);
      if (!s.ok()) return s;
    } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
      if ((put->ignore_value || put->ignore_lease) &&
          !VisibleAt(put->key, current_revision)) {
        return ErrKeyNotFound();
      }
      if (put->lease != 0 && !leases.contains(put->lease)) {
        return ErrLeaseNotFound();
      }
    }
  }
  return absl::OkStatus();
}

TxnResult MvccModel::ApplyTxn(Pending* p, const TxnRequest& t,
                              const std::vector<bool>& path, size_t* index) {
  TxnResult result;
  result.succeeded = path[(*index)++];
  for (const RequestOp& op : result.succeeded ? t.success : t.failure) {
    ResponseOp response;
    const int64_t read = p->changed() ? p->main : p->main - 1;
    if (const auto* r = std::get_if<RangeRequest>(&op.request)) {
      response.response = RangeAt(*r, read, r->revision <= 0 ? read : r->revision);
    } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
      const ModelVersion* prev = VisibleAt(put->key, p->main);
      PutResult pr;
      if (put->prev_kv && prev) pr.prev_kv = ModelKeyValue(put->key, *prev);
      PutVersion(p, put->key, put->ignore_value ? prev->value : put->value,
                 put->ignore_lease ? prev->lease : put->lease);
      pr.revision = p->main;
      response.response = pr;
    } else if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      DeleteRangeResult dr;
      dr.deleted = DeleteKeys(p, d->key, d->range_end,
                              d->prev_kv ? &dr.prev_kvs : nullptr);
      dr.revision = p->changed() ? p->main : p->main - 1;
      response.response = dr;
    } else {
      response.response =
          ApplyTxn(p, std::get<TxnRequest>(op.request), path, index);
    }
    result.responses.push_back(std::move(response));
  }
  return result;
}

absl::StatusOr<TxnResult> MvccModel::Txn(const TxnRequest& t) {
  std::vector<bool> path;
  Path(t, &path);
  size_t index = 0;
  absl::Status s = CheckPath(t, path, &index);
  if (!s.ok()) return s;
  Pending p{current_revision + 1};
  index = 0;
  TxnResult result = ApplyTxn(&p, t, path, &index);
  if (p.changed()) current_revision = p.main;
  result.revision = current_revision;
  return result;
}

absl::StatusOr<int64_t> MvccModel::Compact(int64_t revision) {
  if (revision <= compact_revision) return ErrCompacted();
  if (revision > current_revision) return ErrFutureRev();
  compact_revision = revision;
  return current_revision;
}

std::vector<std::string> MvccModel::KeysOfLease(int64_t lease) const {
  std::vector<std::string> out;
  for (const auto& [key, versions] : keys) {
    const ModelVersion* v = VisibleAt(key, current_revision);
    if (v && v->lease == lease) out.push_back(key);
  }
  return out;
}

absl::StatusOr<DeleteRangeResult> MvccModel::RevokeLease(int64_t lease) {
  if (!leases.contains(lease)) return ErrLeaseNotFound();
  Pending p{current_revision + 1};
  DeleteRangeResult result;
  for (const std::string& key : KeysOfLease(lease)) {
    result.deleted += DeleteKeys(&p, key, "", nullptr);
  }
  leases.erase(lease);
  if (p.changed()) current_revision = p.main;
  result.revision = current_revision;
  return result;
}

absl::StatusOr<EventBatch> MvccModel::Events(const std::string& key,
                                             const std::string& range_end,
                                             int64_t after, int64_t until,
                                             size_t max_events) const {
  if (until <= 0) until = current_revision;
  if (until > current_revision) return ErrFutureRev();
  if (after + 1 < compact_revision) return ErrCompacted();
  // (revision, key, version, previous version) of every change in range.
  std::vector<std::tuple<Revision, std::string, const ModelVersion*,
                         const ModelVersion*>>
      changes;
  for (const auto& [k, versions] : keys) {
    if (!InRange(key, range_end, k)) continue;
    for (size_t i = 0; i < versions.size(); ++i) {
      const ModelVersion& v = versions[i];
      if (v.rev.main <= after || v.rev.main > until) continue;
      const ModelVersion* prev =
          i > 0 && !versions[i - 1].tombstone ? &versions[i - 1] : nullptr;
      changes.emplace_back(v.rev, k, &v, prev);
    }
  }
  std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) < std::get<0>(b);
  });
  EventBatch batch;
  batch.last_revision = std::max(after, until);
  for (const auto& [rev, k, v, prev] : changes) {
    if (rev.main <= compact_revision && v != VisibleAt(k, compact_revision)) {
      continue;
    }
    if (batch.events.size() >= max_events &&
        rev.main != batch.events.back().kv.mod_revision) {
      batch.last_revision = rev.main - 1;
      break;
    }
    Event e;
    if (v->tombstone) {
      e.type = EventType::kDelete;
      e.kv.key = k;
      e.kv.mod_revision = rev.main;
    } else {
      e.kv = ModelKeyValue(k, *v);
    }
    if (prev && rev.main - 1 >= compact_revision) {
      e.prev_kv = ModelKeyValue(k, *prev);
    }
    batch.events.push_back(std::move(e));
  }
  return batch;
}

absl::StatusOr<KvHash> MvccModel::HashKV(int64_t revision) const {
  if (revision > 0 && revision <= compact_revision) return ErrCompacted();
  if (revision > current_revision) return ErrFutureRev();
  if (revision <= 0) revision = current_revision;
  std::vector<std::pair<Revision, KeyValue>> entries;
  std::vector<bool> tombstones;
  for (const auto& [k, versions] : keys) {
    const ModelVersion* visible = VisibleAt(k, revision);
    for (const ModelVersion& v : versions) {
      if (v.rev.main > revision) continue;
      if (v.rev.main <= compact_revision && &v != visible) continue;
      KeyValue kv = v.tombstone ? KeyValue{.key = k} : ModelKeyValue(k, v);
      entries.emplace_back(v.rev, kv);
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint32_t crc = crc32c::Value("key", 3);
  for (const auto& [rev, kv] : entries) {
    std::string bytes;
    AppendEtcdRevisionKey(&bytes, rev, kv.mod_revision == 0);
    AppendKeyValueWire(&bytes, kv);
    crc = crc32c::Extend(crc, bytes.data(), bytes.size());
  }
  return KvHash{crc, current_revision, compact_revision};
}

uint32_t MvccModel::Hash() const {
  uint32_t crc = 0;
  for (const KeyValue& kv : LiveAt(std::string(1, '\0'), std::string(1, '\0'),
                                   current_revision)) {
    std::string bytes;
    AppendKeyValueWire(&bytes, kv);
    crc = crc32c::Extend(crc, bytes.data(), bytes.size());
  }
  return crc;
}

}  // namespace keel::store
