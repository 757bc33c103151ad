// CorruptApplier: the link of the applier chain in front of the backend
// that honours the CORRUPT alarm (etcd's applierV3Corrupt).
//
// Once any member has raised CORRUPT (its data disagreed with its peers'),
// every member refuses writes, compaction and lease changes with
// "etcdserver: corrupt cluster" until the alarm is disarmed: a cluster
// that knows its replicas differ must not build on either.
#ifndef KEEL_NODE_CORRUPT_APPLIER_H_
#define KEEL_NODE_CORRUPT_APPLIER_H_

#include "node/alarm_store.h"
#include "node/applier.h"

namespace keel::node {

class CorruptApplier final : public ApplierWrapper {
 public:
  CorruptApplier(Applier& next, const AlarmStore& alarms)
      : ApplierWrapper(next), alarms_(alarms) {}

  ApplyResult Put(const ApplyContext& context,
                  const etcdserverpb::PutRequest& request) override;
  ApplyResult DeleteRange(const ApplyContext& context,
                          const etcdserverpb::DeleteRangeRequest& request) override;
  ApplyResult Txn(const ApplyContext& context,
                  const etcdserverpb::TxnRequest& request) override;
  ApplyResult Compaction(const ApplyContext& context,
                         const etcdserverpb::CompactionRequest& request) override;
  ApplyResult LeaseGrant(const ApplyContext& context,
                         const etcdserverpb::LeaseGrantRequest& request) override;
  ApplyResult LeaseRevoke(const ApplyContext& context,
                          const etcdserverpb::LeaseRevokeRequest& request) override;

 private:
  bool Corrupt() const { return alarms_.Active(etcdserverpb::CORRUPT); }

  const AlarmStore& alarms_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CORRUPT_APPLIER_H_
