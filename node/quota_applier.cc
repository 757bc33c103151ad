// QuotaApplier: the capped refusals and the per-member quota answer.
#include "node/quota_applier.h"

#include "node/errors.h"

namespace keel::node {

ApplyResult QuotaApplier::OverQuota(ApplyResult result, bool fitted) {
  if (result.status.ok() && !fitted) {
    return ApplyResult{MakeError(EtcdError::kNoSpace), {}, result.index};
  }
  return result;
}

ApplyResult QuotaApplier::Put(const ApplyContext& context,
                              const etcdserverpb::PutRequest& request) {
  if (Capped()) return Refuse(context, MakeError(EtcdError::kNoSpace));
  const bool fitted = quota_.Available(Quota::Cost(request));
  return OverQuota(next_.Put(context, request), fitted);
}

ApplyResult QuotaApplier::Txn(const ApplyContext& context,
                              const etcdserverpb::TxnRequest& request) {
  const int64_t cost = Quota::Cost(request);
  if (Capped() && cost > 0) return Refuse(context, MakeError(EtcdError::kNoSpace));
  const bool fitted = quota_.Available(cost);
  return OverQuota(next_.Txn(context, request), fitted);
}

ApplyResult QuotaApplier::LeaseGrant(const ApplyContext& context,
                                     const etcdserverpb::LeaseGrantRequest& request) {
  if (Capped()) return Refuse(context, MakeError(EtcdError::kNoSpace));
  const bool fitted = quota_.Available(Quota::Cost(request));
  return OverQuota(next_.LeaseGrant(context, request), fitted);
}

}  // namespace keel::node
