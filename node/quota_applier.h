// QuotaApplier: the first link of the applier chain: --quota-backend-bytes
// and the NOSPACE alarm (etcd's quotaApplierV3 and applierV3Capped).
//
// While a NOSPACE alarm is raised (by any member, through raft), puts, txns
// that put and lease grants are refused with "etcdserver: mvcc: database
// space exceeded" on every member alike; deletes, ranges, compaction and
// everything else go on, so an operator can free space and disarm. Without
// the alarm, a write is applied as usual, but a member whose key space is
// over its quota answers it with that error (the state stays the same on
// every member; only this member's answer differs), and the apply loop
// raises the alarm.
#ifndef KEEL_NODE_QUOTA_APPLIER_H_
#define KEEL_NODE_QUOTA_APPLIER_H_

#include "node/alarm_store.h"
#include "node/applier.h"
#include "node/quota.h"

namespace keel::node {

class QuotaApplier final : public ApplierWrapper {
 public:
  // References must outlive this.
  QuotaApplier(Applier& next, const Quota& quota, const AlarmStore& alarms)
      : ApplierWrapper(next), quota_(quota), alarms_(alarms) {}

  ApplyResult Put(const ApplyContext& context,
                  const etcdserverpb::PutRequest& request) override;
  ApplyResult Txn(const ApplyContext& context,
                  const etcdserverpb::TxnRequest& request) override;
  ApplyResult LeaseGrant(const ApplyContext& context,
                         const etcdserverpb::LeaseGrantRequest& request) override;

 private:
  bool Capped() const { return alarms_.Active(etcdserverpb::NOSPACE); }
  // The next link's result, answered NOSPACE if it succeeded but the
  // request did not fit this member's quota before it was applied.
  static ApplyResult OverQuota(ApplyResult result, bool fitted);

  const Quota& quota_;
  const AlarmStore& alarms_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_QUOTA_APPLIER_H_
