// CorruptApplier: refusals while the CORRUPT alarm is raised.
#include "node/corrupt_applier.h"

#include "node/errors.h"

namespace keel::node {

ApplyResult CorruptApplier::Put(const ApplyContext& context,
                                const etcdserverpb::PutRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.Put(context, request);
}

ApplyResult CorruptApplier::DeleteRange(const ApplyContext& context,
                                        const etcdserverpb::DeleteRangeRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.DeleteRange(context, request);
}

ApplyResult CorruptApplier::Txn(const ApplyContext& context,
                                const etcdserverpb::TxnRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.Txn(context, request);
}

ApplyResult CorruptApplier::Compaction(const ApplyContext& context,
                                       const etcdserverpb::CompactionRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.Compaction(context, request);
}

ApplyResult CorruptApplier::LeaseGrant(const ApplyContext& context,
                                       const etcdserverpb::LeaseGrantRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.LeaseGrant(context, request);
}

ApplyResult CorruptApplier::LeaseRevoke(const ApplyContext& context,
                                        const etcdserverpb::LeaseRevokeRequest& request) {
  if (Corrupt()) return Refuse(context, MakeError(EtcdError::kCorrupt));
  return next_.LeaseRevoke(context, request);
}

}  // namespace keel::node
