// etcd's Range over a read view: revision checks, count, limit and more,
// the min/max filters, sorting and keys_only, exactly as etcd's applier
// does them (etcdserver/apply.go), on top of MvccReader.
#ifndef KEEL_STORE_MVCC_RANGE_H_
#define KEEL_STORE_MVCC_RANGE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/mvcc_db.h"
#include "store/mvcc_read.h"
#include "store/mvcc_types.h"
#include "store/mvcc_write.h"

namespace keel::store {

// Runs `request` against `view`. Errors: ErrEmptyKey; ErrFutureRev if the
// revision is past view.read_revision; ErrCompacted if it is below
// view.compact_revision; DataLoss or Internal from the DB. The result's
// revision is view.read_revision whatever revision was read.
absl::StatusOr<RangeResult> RunRange(MvccDb* db, const ReadView& view,
                                     const RangeRequest& request);

// Visits the versions of `range` visible at `revision` (0 = the view's
// read revision), choosing the cheapest path: the 'l' table (with or
// without the overlay) when the revision is the latest, history otherwise.
// The caller has checked `revision` against the view.
absl::Status VisitRange(MvccDb* db, const ReadView& view,
                        const KeyRange& range, int64_t revision,
                        MvccReader::Visitor visit);

// The read revision of `requested` under `view`, or ErrFutureRev /
// ErrCompacted (etcd's rangeKeys checks).
absl::StatusOr<int64_t> ResolveReadRevision(const ReadView& view,
                                            int64_t requested);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_RANGE_H_
