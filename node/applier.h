// Applier: what a committed request does to the member's state (etcd's
// applierV3), one method per request kind.
//
// The member applies through a chain: wrappers in front of the backend
// applier, each adding one rule and passing the rest on (node/server.cc
// builds it):
//   QuotaApplier      --quota-backend-bytes and the NOSPACE alarm
//   AuthApplier       users, roles and permissions (node/auth_applier.h)
//   CorruptApplier    the CORRUPT alarm
//   BackendApplier    the key space: Mvcc, Lessor, members, alarms
// A new rule is a new wrapper in its own file, not more cases here.
//
// Determinism: applying is a function of (state, entry). Every member
// applies the same entries in the same order and must reach the same
// state, so a method may read only the replicated state (the key space,
// the alarms, the members) and the entry, never the clock, the disk's size
// or anything local; what is local may change only the response (as the
// quota check does: the write is applied everywhere, the member over its
// quota answers NOSPACE). Every method consumes its entry exactly once in
// the Mvcc, also when it refuses the request, so that replaying the log
// after a crash is a no-op.
//
// Errors in ApplyResult::status are the request's (etcd's, node/errors.h),
// except Internal and DataLoss, which are the store's: the member must stop.
#ifndef KEEL_NODE_APPLIER_H_
#define KEEL_NODE_APPLIER_H_

#include "absl/status/status.h"
#include "node/apply_result.h"
#include "proto/internal.pb.h"
#include "proto/rpc.pb.h"
#include "store/mvcc_types.h"

namespace keel::node {

// The entry being applied and who asked.
struct ApplyContext {
  store::EntryId entry;
  // The request's header: its id, and (with auth) the user and the auth
  // revision it was made at.
  const internal::RequestHeader* header = nullptr;
};

class Applier {
 public:
  virtual ~Applier() = default;

  virtual ApplyResult Put(const ApplyContext& context,
                          const etcdserverpb::PutRequest& request) = 0;
  virtual ApplyResult DeleteRange(const ApplyContext& context,
                                  const etcdserverpb::DeleteRangeRequest& request) = 0;
  virtual ApplyResult Txn(const ApplyContext& context,
                          const etcdserverpb::TxnRequest& request) = 0;
  virtual ApplyResult Compaction(const ApplyContext& context,
                                 const etcdserverpb::CompactionRequest& request) = 0;
  virtual ApplyResult LeaseGrant(const ApplyContext& context,
                                 const etcdserverpb::LeaseGrantRequest& request) = 0;
  virtual ApplyResult LeaseRevoke(const ApplyContext& context,
                                  const etcdserverpb::LeaseRevokeRequest& request) = 0;
  virtual ApplyResult LeaseCheckpoint(const ApplyContext& context,
                                      const etcdserverpb::LeaseCheckpointRequest& request) = 0;
  // The leader's revocation of expired leases.
  virtual ApplyResult LeaseExpire(const ApplyContext& context,
                                  const internal::LeaseExpire& request) = 0;
  virtual ApplyResult Alarm(const ApplyContext& context,
                            const etcdserverpb::AlarmRequest& request) = 0;
  // A member publishing its name and client URLs.
  virtual ApplyResult MemberAttributes(const ApplyContext& context,
                                       const internal::MemberAttributes& request) = 0;
  // A change to users, roles or permissions, or enabling or disabling
  // auth: `request` holds one of the auth_* kinds (IsAuthChange). Answered
  // with its status alone; the Auth service builds the response.
  virtual ApplyResult AuthChange(const ApplyContext& context,
                                 const internal::InternalRaftRequest& request) = 0;
  // A login whose password the proposing member checked.
  virtual ApplyResult Authenticate(const ApplyContext& context,
                                   const internal::Authenticate& request) = 0;

  // Consumes the entry without changing anything (a request a wrapper
  // refused, one this version cannot apply, an empty entry). The store's
  // errors.
  virtual absl::Status Skip(const ApplyContext& context) = 0;
};

// Calls the method of `applier` for `request`'s kind: the one switch over
// request kinds. A kind this version cannot apply is refused with
// Unimplemented, its entry consumed, alike on every member.
ApplyResult ApplyRequest(Applier& applier, const ApplyContext& context,
                         const internal::InternalRaftRequest& request);

// Whether `request` is one of the kinds AuthChange applies.
bool IsAuthChange(const internal::InternalRaftRequest& request);

// Refuses a request with `status`: `consumer` consumes the entry unchanged
// (Skip); the store's error instead if that failed.
inline ApplyResult RefuseEntry(Applier& consumer, const ApplyContext& context,
                               absl::Status status) {
  absl::Status skipped = consumer.Skip(context);
  if (!skipped.ok()) return ApplyResult{std::move(skipped)};
  return ApplyResult{std::move(status)};
}

// One link of the chain: passes every request to `next` unless a subclass
// overrides it.
class ApplierWrapper : public Applier {
 public:
  explicit ApplierWrapper(Applier& next) : next_(next) {}

  ApplyResult Put(const ApplyContext& context,
                  const etcdserverpb::PutRequest& request) override {
    return next_.Put(context, request);
  }
  ApplyResult DeleteRange(const ApplyContext& context,
                          const etcdserverpb::DeleteRangeRequest& request) override {
    return next_.DeleteRange(context, request);
  }
  ApplyResult Txn(const ApplyContext& context,
                  const etcdserverpb::TxnRequest& request) override {
    return next_.Txn(context, request);
  }
  ApplyResult Compaction(const ApplyContext& context,
                         const etcdserverpb::CompactionRequest& request) override {
    return next_.Compaction(context, request);
  }
  ApplyResult LeaseGrant(const ApplyContext& context,
                         const etcdserverpb::LeaseGrantRequest& request) override {
    return next_.LeaseGrant(context, request);
  }
  ApplyResult LeaseRevoke(const ApplyContext& context,
                          const etcdserverpb::LeaseRevokeRequest& request) override {
    return next_.LeaseRevoke(context, request);
  }
  ApplyResult LeaseCheckpoint(const ApplyContext& context,
                              const etcdserverpb::LeaseCheckpointRequest& request) override {
    return next_.LeaseCheckpoint(context, request);
  }
  ApplyResult LeaseExpire(const ApplyContext& context,
                          const internal::LeaseExpire& request) override {
    return next_.LeaseExpire(context, request);
  }
  ApplyResult Alarm(const ApplyContext& context,
                    const etcdserverpb::AlarmRequest& request) override {
    return next_.Alarm(context, request);
  }
  ApplyResult MemberAttributes(const ApplyContext& context,
                               const internal::MemberAttributes& request) override {
    return next_.MemberAttributes(context, request);
  }
  ApplyResult AuthChange(const ApplyContext& context,
                         const internal::InternalRaftRequest& request) override {
    return next_.AuthChange(context, request);
  }
  ApplyResult Authenticate(const ApplyContext& context,
                           const internal::Authenticate& request) override {
    return next_.Authenticate(context, request);
  }
  absl::Status Skip(const ApplyContext& context) override { return next_.Skip(context); }

 protected:
  // Refuses the request with `status`: the entry is consumed unchanged.
  // The store's error instead if consuming it failed.
  ApplyResult Refuse(const ApplyContext& context, absl::Status status) {
    return RefuseEntry(next_, context, std::move(status));
  }

  Applier& next_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_APPLIER_H_
