// Quota: etcd's backend quota (--quota-backend-bytes).
//
// A request that grows the key space (a put, a txn that puts, a lease
// grant) has a cost (etcd's: the key and value plus a fixed overhead per
// key, a fixed overhead per lease); it is within quota while the key
// space's size on disk plus that cost stays below the quota. The size is
// this member's own, so the answer may differ between members: it may
// decide a response, never what an entry does to the state.
#ifndef KEEL_NODE_QUOTA_H_
#define KEEL_NODE_QUOTA_H_

#include <cstdint>

#include "node/key_space.h"
#include "proto/rpc.pb.h"

namespace keel::node {

// etcd's per-key and per-lease overheads.
inline constexpr int64_t kQuotaKeyOverheadBytes = 256;
inline constexpr int64_t kQuotaLeaseOverheadBytes = 64;

class Quota {
 public:
  // `quota_bytes` as --quota-backend-bytes: 0 means etcd's default (2 GiB),
  // negative disables the quota.
  Quota(const KeySpace& key_space, int64_t quota_bytes);

  // etcd's costs. A txn costs its larger branch's puts (top level only, as
  // etcd counts them); a txn without puts costs nothing.
  static int64_t Cost(const etcdserverpb::PutRequest& request);
  static int64_t Cost(const etcdserverpb::TxnRequest& request);
  static int64_t Cost(const etcdserverpb::LeaseGrantRequest& request);

  // Whether a request of `cost` fits: always for cost 0 or no quota.
  bool Available(int64_t cost) const;

  bool enabled() const { return limit_bytes_ > 0; }
  int64_t limit_bytes() const { return limit_bytes_; }

 private:
  const KeySpace& key_space_;
  // Negative or zero: no quota.
  const int64_t limit_bytes_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_QUOTA_H_
