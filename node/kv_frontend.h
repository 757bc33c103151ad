// KvFrontend: etcd's KV requests as a member serves them (etcd's RaftKV in
// v3_server.go): checks before anything is proposed, reads served from the
// local key space (after a linearizable barrier unless serializable), and
// writes proposed through raft and answered with their applied result.
// The KV gRPC service and the JSON gateway both call it.
#ifndef KEEL_NODE_KV_FRONTEND_H_
#define KEEL_NODE_KV_FRONTEND_H_

#include "absl/status/statusor.h"
#include "node/auth_store.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/mvcc_compactor.h"
#include "node/no_space_alarm.h"
#include "node/proposer.h"
#include "node/read_index.h"
#include "node/response_header.h"
#include "proto/rpc.pb.h"

namespace keel::node {

// The parts a KvFrontend works with; all must outlive it.
struct KvParts {
  KeySpace& key_space;
  Proposer& proposer;
  ReadIndexBatcher& reads;
  MvccCompactor& compactor;
  NoSpaceAlarm& no_space;
  const ResponseHeaders& headers;
  MemberLife& life;
};

class KvFrontend {
 public:
  // `max_txn_ops` is --max-txn-ops.
  KvFrontend(KvParts parts, int64_t max_txn_ops) : parts_(parts), max_txn_ops_(max_txn_ops) {}
  KvFrontend(const KvFrontend&) = delete;
  KvFrontend& operator=(const KvFrontend&) = delete;

  // Every method answers etcd's errors (node/errors.h): the request checks'
  // (request_checks.h), kNoSpace for a write over quota, the barrier's for
  // linearizable reads, Propose's and the applier's for writes. `caller`
  // is who made the request (node/auth_frontend.h): reads are checked here
  // against the local auth store, writes are stamped with it and checked
  // in apply (node/auth_applier.h). Suspend.
  Task<absl::StatusOr<etcdserverpb::RangeResponse>> Range(etcdserverpb::RangeRequest request,
                                                          AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::PutResponse>> Put(etcdserverpb::PutRequest request,
                                                      AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> DeleteRange(
      etcdserverpb::DeleteRangeRequest request, AuthInfo caller);
  // A txn of reads only is served without a raft entry, as etcd does.
  Task<absl::StatusOr<etcdserverpb::TxnResponse>> Txn(etcdserverpb::TxnRequest request,
                                                      AuthInfo caller);
  // With `physical`, answers once the superseded revisions are gone.
  Task<absl::StatusOr<etcdserverpb::CompactionResponse>> Compact(
      etcdserverpb::CompactionRequest request, AuthInfo caller);

  // The same for an anonymous caller (no token). Not coroutines themselves:
  // GCC mishandles class-type default arguments of coroutines (a double
  // free), so the anonymous forms forward instead.
  Task<absl::StatusOr<etcdserverpb::RangeResponse>> Range(etcdserverpb::RangeRequest request) {
    return Range(std::move(request), AuthInfo{});
  }
  Task<absl::StatusOr<etcdserverpb::PutResponse>> Put(etcdserverpb::PutRequest request) {
    return Put(std::move(request), AuthInfo{});
  }
  Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> DeleteRange(
      etcdserverpb::DeleteRangeRequest request) {
    return DeleteRange(std::move(request), AuthInfo{});
  }
  Task<absl::StatusOr<etcdserverpb::TxnResponse>> Txn(etcdserverpb::TxnRequest request) {
    return Txn(std::move(request), AuthInfo{});
  }
  Task<absl::StatusOr<etcdserverpb::CompactionResponse>> Compact(
      etcdserverpb::CompactionRequest request) {
    return Compact(std::move(request), AuthInfo{});
  }

 private:
  // Stops the member for repair if a local read found the key space damaged.
  void StopOnDamage(const absl::Status& read);

  KvParts parts_;
  const int64_t max_txn_ops_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_KV_FRONTEND_H_
