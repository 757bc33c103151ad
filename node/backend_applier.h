// BackendApplier: the end of the applier chain, where requests change the
// key space (etcd's applierV3backend): keys through the Mvcc, leases
// through the Lessor, alarms, users and roles, and published member
// attributes through their stores. Membership changes (raft conf changes)
// are applied by the apply loop through Membership, not here.
#ifndef KEEL_NODE_BACKEND_APPLIER_H_
#define KEEL_NODE_BACKEND_APPLIER_H_

#include <functional>

#include "node/applier.h"
#include "node/key_space.h"
#include "node/response_header.h"

namespace keel::node {

class BackendApplier final : public Applier {
 public:
  // `compaction_scheduled` is called when a compaction was applied, so the
  // physical removal (MvccCompactor) starts. References must outlive this.
  BackendApplier(KeySpace& key_space, const ResponseHeaders& headers,
                 std::function<void()> compaction_scheduled)
      : key_space_(key_space),
        headers_(headers),
        compaction_scheduled_(std::move(compaction_scheduled)) {}

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
  ApplyResult LeaseCheckpoint(const ApplyContext& context,
                              const etcdserverpb::LeaseCheckpointRequest& request) override;
  ApplyResult LeaseExpire(const ApplyContext& context,
                          const internal::LeaseExpire& request) override;
  ApplyResult Alarm(const ApplyContext& context,
                    const etcdserverpb::AlarmRequest& request) override;
  ApplyResult MemberAttributes(const ApplyContext& context,
                               const internal::MemberAttributes& request) override;
  ApplyResult AuthChange(const ApplyContext& context,
                         const internal::InternalRaftRequest& request) override;
  // Refuses a login that no longer holds (auth disabled, the user gone or
  // without a password since the check); the token is the AuthApplier's.
  ApplyResult Authenticate(const ApplyContext& context,
                           const internal::Authenticate& request) override;
  absl::Status Skip(const ApplyContext& context) override;

 private:
  KeySpace& key_space_;
  const ResponseHeaders& headers_;
  const std::function<void()> compaction_scheduled_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_BACKEND_APPLIER_H_
