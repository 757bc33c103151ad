// AuthApplier: the link of the applier chain that enforces users, roles and
// permissions in apply (etcd's authApplierV3), on every member alike.
//
// Each request is checked against the auth store as applied so far, with
// the user and auth revision its proposer stamped in the entry's header:
//  - Put: write on the key; with prev_kv, read on it too; with a lease,
//    write on every key already attached to that lease.
//  - DeleteRange: write on the range; with prev_kv, read on it.
//  - Txn: read on every compare's range; every operation of both branches
//    as if it were alone, nested txns included (etcd 3.4 skips nested ones).
//  - LeaseRevoke: write on every key attached to the lease.
//  - Compaction and every auth change: the root role.
// A request stamped with an auth revision older than the store's is
// refused with "etcdserver: revision of auth store is old": a permission
// revoked after the request was checked cannot be used by it. While auth
// is disabled every check passes. A refused request consumes its entry
// unchanged.
//
// It also keeps the tokens (node/auth_tokens.h) in step with the store: a
// login registers its token, a deleted user or a changed password drops
// that user's tokens, disabling auth drops them all.
#ifndef KEEL_NODE_AUTH_APPLIER_H_
#define KEEL_NODE_AUTH_APPLIER_H_

#include "node/applier.h"
#include "node/auth_tokens.h"
#include "node/key_space.h"

namespace keel::node {

class AuthApplier final : public ApplierWrapper {
 public:
  // References must outlive this.
  AuthApplier(Applier& next, KeySpace& key_space, TokenProvider& tokens)
      : ApplierWrapper(next), key_space_(key_space), tokens_(tokens) {}

  ApplyResult Put(const ApplyContext& context,
                  const etcdserverpb::PutRequest& request) override;
  ApplyResult DeleteRange(const ApplyContext& context,
                          const etcdserverpb::DeleteRangeRequest& request) override;
  ApplyResult Txn(const ApplyContext& context,
                  const etcdserverpb::TxnRequest& request) override;
  ApplyResult Compaction(const ApplyContext& context,
                         const etcdserverpb::CompactionRequest& request) override;
  ApplyResult LeaseRevoke(const ApplyContext& context,
                          const etcdserverpb::LeaseRevokeRequest& request) override;
  ApplyResult AuthChange(const ApplyContext& context,
                         const internal::InternalRaftRequest& request) override;
  ApplyResult Authenticate(const ApplyContext& context,
                           const internal::Authenticate& request) override;

 private:
  const AuthStore& store() const { return key_space_.auth(); }
  // Write permission on every key attached to `lease` (none if it is
  // unknown). LevelDB's errors as Internal.
  absl::Status CheckLeaseKeys(const AuthInfo& who, int64_t lease);

  KeySpace& key_space_;
  TokenProvider& tokens_;
};

// A proposal stamped with `caller` in its header, for this applier to check.
internal::InternalRaftRequest StampedProposal(const AuthInfo& caller);

// The caller recorded in an entry's header.
AuthInfo CallerOf(const ApplyContext& context);

// Whether `who` may run `request` against `store`: etcd's txn rule (see
// AuthApplier). Also the front end's check of a txn it serves locally.
absl::Status CheckTxn(const AuthStore& store, const AuthInfo& who,
                      const etcdserverpb::TxnRequest& request);

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_APPLIER_H_
