// The Mvcc's failpoint code (failpoints::PreviewTxn, declared in mvcc.h):
// the failpoint build only (runtime/failpoints.h).
#include "runtime/assert.h"
#include "store/mvcc.h"
#include "store/mvcc_write.h"

namespace keel::store {

#if KEEL_FAILPOINTS
namespace failpoints {

absl::StatusOr<TxnResult> PreviewTxn(Mvcc& mvcc, const TxnRequest& request) {
  // The staged changes are dropped with the write: only Commit publishes.
  MvccWrite preview(mvcc.db_.get(), mvcc.current_revision_, /*track_overlay=*/true,
                    /*collect_events=*/false);
  const EntryId applied = mvcc.applied_;
  absl::StatusOr<TxnResult> result = mvcc.RunTxn(request, &preview);
  KEEL_ASSERT(mvcc.applied_.index == applied.index);
  KEEL_ASSERT(preview.begin_revision() == mvcc.current_revision_);
  return result;
}

}  // namespace failpoints
#endif  // KEEL_FAILPOINTS

}  // namespace keel::store
