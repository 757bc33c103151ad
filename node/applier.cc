// ApplyRequest: the one switch from a request's kind to the applier's
// method for it.
#include "node/applier.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::node {

bool IsAuthChange(const internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  switch (request.request_case()) {
    case Request::kAuthEnable:
    case Request::kAuthDisable:
    case Request::kAuthUserAdd:
    case Request::kAuthUserDelete:
    case Request::kAuthUserChangePassword:
    case Request::kAuthUserGrantRole:
    case Request::kAuthUserRevokeRole:
    case Request::kAuthRoleAdd:
    case Request::kAuthRoleDelete:
    case Request::kAuthRoleGrantPermission:
    case Request::kAuthRoleRevokePermission:
      return true;
    default:
      return false;
  }
}

ApplyResult ApplyRequest(Applier& applier, const ApplyContext& context,
                         const internal::InternalRaftRequest& request) {
  KEEL_ASSERT(context.header != nullptr);
  using Request = internal::InternalRaftRequest;
  switch (request.request_case()) {
    case Request::kPut:
      return applier.Put(context, request.put());
    case Request::kDeleteRange:
      return applier.DeleteRange(context, request.delete_range());
    case Request::kTxn:
      return applier.Txn(context, request.txn());
    case Request::kCompaction:
      return applier.Compaction(context, request.compaction());
    case Request::kLeaseGrant:
      return applier.LeaseGrant(context, request.lease_grant());
    case Request::kLeaseRevoke:
      return applier.LeaseRevoke(context, request.lease_revoke());
    case Request::kLeaseCheckpoint:
      return applier.LeaseCheckpoint(context, request.lease_checkpoint());
    case Request::kLeaseExpire:
      return applier.LeaseExpire(context, request.lease_expire());
    case Request::kAlarm:
      return applier.Alarm(context, request.alarm());
    case Request::kMemberAttributes:
      return applier.MemberAttributes(context, request.member_attributes());
    case Request::kAuthenticate:
      return applier.Authenticate(context, request.authenticate());
    default: {
      if (IsAuthChange(request)) return applier.AuthChange(context, request);
      // A request this version cannot apply. Every member refuses it the
      // same way, so the key spaces stay equal.
      absl::Status skipped = applier.Skip(context);
      if (!skipped.ok()) return ApplyResult{skipped};
      return ApplyResult{absl::UnimplementedError(
          StrCat("request type ", static_cast<int>(request.request_case()),
                 " is not supported by this member"))};
    }
  }
}

}  // namespace keel::node
