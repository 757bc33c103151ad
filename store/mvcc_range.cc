// etcd's Range semantics; see mvcc_range.h.
#include "store/mvcc_range.h"

#include <algorithm>

#include "runtime/assert.h"
#include "store/mvcc_errors.h"

namespace keel::store {
namespace {

bool HasFilters(const RangeRequest& r) {
  return r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
         r.min_create_revision != 0 || r.max_create_revision != 0;
}

// etcd's pruneKVs conditions: a zero bound is no bound.
bool PassesFilters(const RangeRequest& r, const RecordMeta& meta) {
  if (r.max_mod_revision != 0 && meta.mod.main > r.max_mod_revision) {
    return false;
  }
  if (r.min_mod_revision != 0 && meta.mod.main < r.min_mod_revision) {
    return false;
  }
  if (r.max_create_revision != 0 &&
      meta.create_revision > r.max_create_revision) {
    return false;
  }
  if (r.min_create_revision != 0 &&
      meta.create_revision < r.min_create_revision) {
    return false;
  }
  return true;
}

// etcd sorts ASCEND by default when the target is not the key (results
// already come in key order).
SortOrder EffectiveSortOrder(const RangeRequest& r) {
  if (r.sort_target != SortTarget::kKey && r.sort_order == SortOrder::kNone) {
    return SortOrder::kAscend;
  }
  return r.sort_order;
}

bool Less(SortTarget target, const KeyValue& a, const KeyValue& b) {
  switch (target) {
    case SortTarget::kKey:
      return a.key < b.key;
    case SortTarget::kVersion:
      return a.version < b.version;
    case SortTarget::kCreate:
      return a.create_revision < b.create_revision;
    case SortTarget::kMod:
      return a.mod_revision < b.mod_revision;
    case SortTarget::kValue:
      return a.value < b.value;
  }
  KEEL_UNREACHABLE();
}

// Stable, so ties keep key order and every member answers alike.
void SortKvs(SortOrder order, SortTarget target, std::vector<KeyValue>* kvs) {
  if (order == SortOrder::kAscend) {
    std::stable_sort(kvs->begin(), kvs->end(),
                     [target](const KeyValue& a, const KeyValue& b) {
                       return Less(target, a, b);
                     });
  } else if (order == SortOrder::kDescend) {
    std::stable_sort(kvs->begin(), kvs->end(),
                     [target](const KeyValue& a, const KeyValue& b) {
                       return Less(target, b, a);
                     });
  }
}

}  // namespace

absl::StatusOr<int64_t> ResolveReadRevision(const ReadView& view,
                                            int64_t requested) {
  KEEL_ASSERT(view.read_revision >= view.db_revision);
  KEEL_ASSERT(view.read_revision <= view.db_revision + 1);
  if (requested > view.read_revision) return ErrFutureRev();
  int64_t revision = requested <= 0 ? view.read_revision : requested;
  if (revision < view.compact_revision) return ErrCompacted();
  return revision;
}

absl::Status VisitRange(MvccDb* db, const ReadView& view,
                        const KeyRange& range, int64_t revision,
                        MvccReader::Visitor visit) {
  if (revision <= 0) revision = view.read_revision;
  KEEL_ASSERT(revision <= view.read_revision);
  MvccReader reader(db, view.overlay);
  if (revision == view.read_revision) {
    return reader.VisitLatest(range, /*use_overlay=*/true, visit);
  }
  // The DB itself holds exactly the state at db_revision: the write in
  // progress is not in it yet.
  if (revision == view.db_revision) {
    return reader.VisitLatest(range, /*use_overlay=*/false, visit);
  }
  return reader.VisitAt(range, revision, visit);
}

absl::StatusOr<RangeResult> RunRange(MvccDb* db, const ReadView& view,
                                     const RangeRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  absl::StatusOr<int64_t> revision = ResolveReadRevision(view, r.revision);
  if (!revision.ok()) return revision.status();

  const SortOrder order = EffectiveSortOrder(r);
  const bool filtered = HasFilters(r);
  // As etcd: fetch everything when sorting or filtering, else one past the
  // limit to learn `more`. Counting always covers the whole range.
  size_t fetch_limit = 0;
  if (r.sort_order == SortOrder::kNone && !filtered && r.limit > 0) {
    fetch_limit = static_cast<size_t>(r.limit) + 1;
  }
  const bool want_values =
      !r.keys_only ||
      (order != SortOrder::kNone && r.sort_target == SortTarget::kValue);

  RangeResult result;
  result.revision = view.read_revision;
  absl::Status status = VisitRange(
      db, view, MakeKeyRange(r.key, r.range_end), *revision,
      [&](const VersionView& v) {
        ++result.count;
        if (r.count_only) return;
        if (fetch_limit > 0 && result.kvs.size() >= fetch_limit) return;
        if (filtered && !PassesFilters(r, *v.meta)) return;
        result.kvs.push_back(ToKeyValue(v, want_values));
      });
  if (!status.ok()) return status;

  SortKvs(order, r.sort_target, &result.kvs);
  if (r.limit > 0 && result.kvs.size() > static_cast<size_t>(r.limit)) {
    result.kvs.resize(static_cast<size_t>(r.limit));
    result.more = true;
  }
  if (r.keys_only) {
    for (KeyValue& kv : result.kvs) kv.value.clear();
  }
  return result;
}

}  // namespace keel::store
