// BackendApplier: each request kind against the key space.
#include "node/backend_applier.h"

#include <vector>

#include "node/errors.h"
#include "node/kv_convert.h"
#include "node/membership.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

// A store error as the request's result: etcd's error for the request's
// own failures (not found, compacted, ...), Internal or DataLoss for the
// store's (the member stops).
ApplyResult Failed(const absl::Status& status) {
  KEEL_ASSERT(!status.ok());
  return ApplyResult{FromStoreError(status)};
}

// A decision only the leader of a term may take (header.leader_term) holds
// only in an entry of that term: a deposed leader's expiry, forwarded to
// its successor and appended in a later term, is refused on every member.
absl::Status CheckLeaderTerm(const ApplyContext& context) {
  const uint64_t term = context.header->leader_term();
  if (term == 0 || term == context.entry.term) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat("etcdserver: decided by the leader of term ", term,
             " but appended in term ", context.entry.term, ": refused"));
}

// A wire response or etcd's error as the request's result.
template <typename Response>
ApplyResult Answer(absl::StatusOr<Response> response) {
  if (!response.ok()) return ApplyResult{response.status()};
  return ApplyResult{absl::OkStatus(), std::move(*response)};
}

}  // namespace

ApplyResult BackendApplier::Put(const ApplyContext& context,
                                const etcdserverpb::PutRequest& request) {
  auto result = key_space_.mvcc().Put(context.entry, FromWire(request));
  if (result.ok()) key_space_.mvcc_metrics().Count(0, 1, 0);
  return Answer(WireResponse<etcdserverpb::PutResponse>(std::move(result), headers_));
}

ApplyResult BackendApplier::DeleteRange(const ApplyContext& context,
                                        const etcdserverpb::DeleteRangeRequest& request) {
  auto result = key_space_.mvcc().DeleteRange(context.entry, FromWire(request));
  if (result.ok()) key_space_.mvcc_metrics().Count(0, 0, 1);
  return Answer(WireResponse<etcdserverpb::DeleteRangeResponse>(std::move(result), headers_));
}

ApplyResult BackendApplier::Txn(const ApplyContext& context,
                                const etcdserverpb::TxnRequest& request) {
  auto result = key_space_.mvcc().Txn(context.entry, FromWire(request));
  auto response = WireResponse<etcdserverpb::TxnResponse>(std::move(result), headers_);
  if (response.ok()) key_space_.mvcc_metrics().CountTxn(request, *response);
  return Answer(std::move(response));
}

ApplyResult BackendApplier::Compaction(const ApplyContext& context,
                                       const etcdserverpb::CompactionRequest& request) {
  auto result = key_space_.mvcc().Compact(context.entry, request.revision());
  if (!result.ok()) return Failed(result.status());
  compaction_scheduled_();
  etcdserverpb::CompactionResponse response;
  *response.mutable_header() = headers_.Make();
  return ApplyResult{absl::OkStatus(), std::move(response)};
}

ApplyResult BackendApplier::LeaseGrant(const ApplyContext& context,
                                       const etcdserverpb::LeaseGrantRequest& request) {
  absl::StatusOr<int64_t> ttl =
      key_space_.lessor().Grant(context.entry, request.id(), request.ttl());
  if (!ttl.ok()) return ApplyResult{ttl.status()};
  etcdserverpb::LeaseGrantResponse response;
  *response.mutable_header() = headers_.Make();
  response.set_id(request.id());
  response.set_ttl(*ttl);
  return ApplyResult{absl::OkStatus(), std::move(response)};
}

ApplyResult BackendApplier::LeaseRevoke(const ApplyContext& context,
                                        const etcdserverpb::LeaseRevokeRequest& request) {
  absl::StatusOr<int64_t> revision = key_space_.lessor().Revoke(context.entry, request.id());
  if (!revision.ok()) return ApplyResult{revision.status()};
  etcdserverpb::LeaseRevokeResponse response;
  *response.mutable_header() = headers_.Make(*revision);
  return ApplyResult{absl::OkStatus(), std::move(response)};
}

ApplyResult BackendApplier::LeaseCheckpoint(
    const ApplyContext& context, const etcdserverpb::LeaseCheckpointRequest& request) {
  if (absl::Status stale = CheckLeaderTerm(context); !stale.ok()) return RefuseEntry(*this, context, stale);
  absl::Status status = key_space_.lessor().Checkpoint(context.entry, request);
  if (!status.ok()) return ApplyResult{status};
  etcdserverpb::LeaseCheckpointResponse response;
  *response.mutable_header() = headers_.Make();
  return ApplyResult{absl::OkStatus(), std::move(response)};
}

ApplyResult BackendApplier::LeaseExpire(const ApplyContext& context,
                                        const internal::LeaseExpire& request) {
  if (absl::Status stale = CheckLeaderTerm(context); !stale.ok()) return RefuseEntry(*this, context, stale);
  absl::StatusOr<int> revoked = key_space_.lessor().Expire(
      context.entry, std::vector<int64_t>(request.ids().begin(), request.ids().end()));
  return ApplyResult{revoked.status()};
}

ApplyResult BackendApplier::Alarm(const ApplyContext& context,
                                  const etcdserverpb::AlarmRequest& request) {
  AlarmStore& alarms = key_space_.alarms();
  etcdserverpb::AlarmResponse response;
  switch (request.action()) {
    case etcdserverpb::AlarmRequest::GET:
      // etcd's alarm store: NONE lists every alarm.
      for (auto& alarm : request.alarm() == etcdserverpb::NONE ? alarms.List()
                                                              : alarms.List(request.alarm())) {
        *response.add_alarms() = std::move(alarm);
      }
      break;
    case etcdserverpb::AlarmRequest::ACTIVATE:
    case etcdserverpb::AlarmRequest::DEACTIVATE: {
      if (request.alarm() == etcdserverpb::NONE) break;  // etcd changes nothing
      const bool activate = request.action() == etcdserverpb::AlarmRequest::ACTIVATE;
      absl::StatusOr<bool> changed =
          activate ? alarms.Activate(request.memberid(), request.alarm())
                   : alarms.Deactivate(request.memberid(), request.alarm());
      if (!changed.ok()) return ApplyResult{changed.status()};
      // etcd answers with the alarm raised or cleared, nothing if it was so.
      if (*changed) {
        etcdserverpb::AlarmMember* member = response.add_alarms();
        member->set_memberid(request.memberid());
        member->set_alarm(request.alarm());
      }
      break;
    }
    default:
      break;
  }
  absl::Status skipped = Skip(context);
  if (!skipped.ok()) return ApplyResult{skipped};
  *response.mutable_header() = headers_.Make();
  return ApplyResult{absl::OkStatus(), std::move(response)};
}

ApplyResult BackendApplier::MemberAttributes(const ApplyContext& context,
                                             const internal::MemberAttributes& request) {
  absl::Status status = key_space_.members().SetAttributes(
      request.member_id(), request.name(),
      {request.client_urls().begin(), request.client_urls().end()});
  // A member removed before its attributes were applied: nothing to update.
  if (!status.ok() && !absl::IsNotFound(status)) return ApplyResult{status};
  absl::Status skipped = Skip(context);
  if (!skipped.ok()) return ApplyResult{skipped};
  return ApplyResult{status};
}

absl::Status BackendApplier::Skip(const ApplyContext& context) {
  return key_space_.mvcc().SkipEntry(context.entry);
}

}  // namespace keel::node

namespace keel::node {
namespace {

// The store's change for one auth request kind.
absl::Status ChangeAuth(AuthStore& auth, const internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  switch (request.request_case()) {
    case Request::kAuthEnable:
      return auth.Enable();
    case Request::kAuthDisable:
      return auth.Disable();
    case Request::kAuthUserAdd: {
      const auto& r = request.auth_user_add();
      return auth.UserAdd(r.name(), r.hashedpassword(), r.options().no_password());
    }
    case Request::kAuthUserDelete:
      return auth.UserDelete(request.auth_user_delete().name());
    case Request::kAuthUserChangePassword: {
      const auto& r = request.auth_user_change_password();
      return auth.UserChangePassword(r.name(), r.hashedpassword());
    }
    case Request::kAuthUserGrantRole:
      return auth.UserGrantRole(request.auth_user_grant_role().user(),
                                request.auth_user_grant_role().role());
    case Request::kAuthUserRevokeRole:
      return auth.UserRevokeRole(request.auth_user_revoke_role().name(),
                                 request.auth_user_revoke_role().role());
    case Request::kAuthRoleAdd:
      return auth.RoleAdd(request.auth_role_add().name());
    case Request::kAuthRoleDelete:
      return auth.RoleDelete(request.auth_role_delete().role());
    case Request::kAuthRoleGrantPermission:
      return auth.RoleGrantPermission(request.auth_role_grant_permission().name(),
                                      request.auth_role_grant_permission().perm());
    case Request::kAuthRoleRevokePermission: {
      const auto& r = request.auth_role_revoke_permission();
      return auth.RoleRevokePermission(r.role(), r.key(), r.range_end());
    }
    default:
      KEEL_ASSERT(!IsAuthChange(request));
      return absl::InternalError("not an auth change");
  }
}

}  // namespace

ApplyResult BackendApplier::AuthChange(const ApplyContext& context,
                                       const internal::InternalRaftRequest& request) {
  KEEL_ASSERT(IsAuthChange(request));
  absl::Status status = ChangeAuth(key_space_.auth(), request);
  // An etcd error refuses the request alike everywhere; a store error stops
  // the member (ApplyResult's contract), after the entry is consumed if it
  // can be.
  absl::Status skipped = Skip(context);
  if (!skipped.ok()) return ApplyResult{skipped};
  return ApplyResult{status};
}

ApplyResult BackendApplier::Authenticate(const ApplyContext& context,
                                         const internal::Authenticate& request) {
  const AuthStore& auth = key_space_.auth();
  absl::Status status;
  const authpb::User* user = auth.FindUser(request.name());
  if (!auth.enabled()) {
    status = MakeError(EtcdError::kAuthNotEnabled);
  } else if (user == nullptr || user->options().no_password()) {
    status = MakeError(EtcdError::kAuthFailed);
  }
  absl::Status skipped = Skip(context);
  if (!skipped.ok()) return ApplyResult{skipped};
  return ApplyResult{status};
}

}  // namespace keel::node
