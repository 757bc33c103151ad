// AuthApplier: each rule in front of the next link.
#include "node/auth_applier.h"

#include "node/errors.h"
#include "runtime/assert.h"

namespace keel::node {
namespace {

absl::Status CheckOps(const AuthStore& store, const AuthInfo& who,
                      const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  for (const auto& op : ops) {
    absl::Status status;
    if (op.has_request_range()) {
      status = store.CheckRead(who, op.request_range().key(), op.request_range().range_end());
    } else if (op.has_request_put()) {
      status = store.CheckWrite(who, op.request_put().key(), "");
      if (status.ok() && op.request_put().prev_kv()) {
        status = store.CheckRead(who, op.request_put().key(), "");
      }
    } else if (op.has_request_delete_range()) {
      const auto& del = op.request_delete_range();
      if (del.prev_kv()) status = store.CheckRead(who, del.key(), del.range_end());
      if (status.ok()) status = store.CheckWrite(who, del.key(), del.range_end());
    } else if (op.has_request_txn()) {
      status = CheckTxn(store, who, op.request_txn());
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

internal::InternalRaftRequest StampedProposal(const AuthInfo& caller) {
  internal::InternalRaftRequest proposal;
  if (!caller.user.empty()) proposal.mutable_header()->set_username(caller.user);
  if (caller.revision != 0) proposal.mutable_header()->set_auth_revision(caller.revision);
  return proposal;
}

AuthInfo CallerOf(const ApplyContext& context) {
  KEEL_ASSERT(context.header != nullptr);
  return AuthInfo{.user = context.header->username(),
                  .revision = context.header->auth_revision()};
}

absl::Status CheckTxn(const AuthStore& store, const AuthInfo& who,
                      const etcdserverpb::TxnRequest& request) {
  for (const auto& compare : request.compare()) {
    absl::Status status = store.CheckRead(who, compare.key(), compare.range_end());
    if (!status.ok()) return status;
  }
  absl::Status status = CheckOps(store, who, request.success());
  if (!status.ok()) return status;
  return CheckOps(store, who, request.failure());
}

absl::Status AuthApplier::CheckLeaseKeys(const AuthInfo& who, int64_t lease) {
  if (!store().enabled() || lease == 0) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> keys = key_space_.mvcc().KeysOfLease(lease);
  if (!keys.ok()) return keys.status();
  for (const std::string& key : *keys) {
    absl::Status status = store().CheckWrite(who, key, "");
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

ApplyResult AuthApplier::Put(const ApplyContext& context,
                             const etcdserverpb::PutRequest& request) {
  const AuthInfo who = CallerOf(context);
  absl::Status status = store().CheckWrite(who, request.key(), "");
  if (status.ok()) status = CheckLeaseKeys(who, request.lease());
  if (status.ok() && request.prev_kv()) status = store().CheckRead(who, request.key(), "");
  if (!status.ok()) return Refuse(context, std::move(status));
  return next_.Put(context, request);
}

ApplyResult AuthApplier::DeleteRange(const ApplyContext& context,
                                     const etcdserverpb::DeleteRangeRequest& request) {
  const AuthInfo who = CallerOf(context);
  absl::Status status = store().CheckWrite(who, request.key(), request.range_end());
  if (status.ok() && request.prev_kv()) {
    status = store().CheckRead(who, request.key(), request.range_end());
  }
  if (!status.ok()) return Refuse(context, std::move(status));
  return next_.DeleteRange(context, request);
}

ApplyResult AuthApplier::Txn(const ApplyContext& context,
                             const etcdserverpb::TxnRequest& request) {
  absl::Status status = CheckTxn(store(), CallerOf(context), request);
  if (!status.ok()) return Refuse(context, std::move(status));
  return next_.Txn(context, request);
}

ApplyResult AuthApplier::Compaction(const ApplyContext& context,
                                    const etcdserverpb::CompactionRequest& request) {
  absl::Status status = store().CheckAdmin(CallerOf(context));
  if (!status.ok()) return Refuse(context, std::move(status));
  return next_.Compaction(context, request);
}

ApplyResult AuthApplier::LeaseRevoke(const ApplyContext& context,
                                     const etcdserverpb::LeaseRevokeRequest& request) {
  absl::Status status = CheckLeaseKeys(CallerOf(context), request.id());
  if (!status.ok()) return Refuse(context, std::move(status));
  return next_.LeaseRevoke(context, request);
}

ApplyResult AuthApplier::AuthChange(const ApplyContext& context,
                                    const internal::InternalRaftRequest& request) {
  absl::Status status = store().CheckAdmin(CallerOf(context));
  if (!status.ok()) return Refuse(context, std::move(status));
  ApplyResult result = next_.AuthChange(context, request);
  if (!result.status.ok()) return result;
  if (request.has_auth_user_delete()) {
    tokens_.InvalidateUser(request.auth_user_delete().name());
  } else if (request.has_auth_user_change_password()) {
    tokens_.InvalidateUser(request.auth_user_change_password().name());
  } else if (request.has_auth_disable()) {
    tokens_.Clear();
  }
  return result;
}

ApplyResult AuthApplier::Authenticate(const ApplyContext& context,
                                      const internal::Authenticate& request) {
  ApplyResult result = next_.Authenticate(context, request);
  if (result.status.ok()) {
    tokens_.Register(request.simple_token_prefix(), context.entry.index, request.name());
  }
  return result;
}

}  // namespace keel::node
