// Quota: etcd's costs and the check against the key space's size.
#include "node/quota.h"

#include <algorithm>

#include "node/server_config.h"

namespace keel::node {
namespace {

int64_t CostOfOps(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  int64_t cost = 0;
  for (const etcdserverpb::RequestOp& op : ops) {
    if (op.has_request_put()) cost += Quota::Cost(op.request_put());
  }
  return cost;
}

}  // namespace

Quota::Quota(const KeySpace& key_space, int64_t quota_bytes)
    : key_space_(key_space),
      limit_bytes_(quota_bytes == 0 ? kDefaultQuotaBytes : quota_bytes) {}

int64_t Quota::Cost(const etcdserverpb::PutRequest& request) {
  return kQuotaKeyOverheadBytes + static_cast<int64_t>(request.key().size()) +
         static_cast<int64_t>(request.value().size());
}

int64_t Quota::Cost(const etcdserverpb::TxnRequest& request) {
  return std::max(CostOfOps(request.success()), CostOfOps(request.failure()));
}

int64_t Quota::Cost(const etcdserverpb::LeaseGrantRequest&) {
  return kQuotaLeaseOverheadBytes;
}

bool Quota::Available(int64_t cost) const {
  KEEL_ASSERT(cost >= 0);
  if (cost == 0 || !enabled()) return true;
  return key_space_.SizeBytes() + cost < limit_bytes_;
}

}  // namespace keel::node
