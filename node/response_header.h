// ResponseHeaders: the header of every etcd response (cluster ID, member
// ID, revision, raft term) as this member fills it.
#ifndef KEEL_NODE_RESPONSE_HEADER_H_
#define KEEL_NODE_RESPONSE_HEADER_H_

#include <cstdint>
#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "node/errors.h"
#include "node/key_space.h"
#include "node/kv_convert.h"
#include "proto/rpc.pb.h"

namespace keel::node {

class ResponseHeaders {
 public:
  // `raft_term` reads the member's current term. `key_space` must outlive
  // this.
  ResponseHeaders(const KeySpace& key_space, uint64_t cluster_id, uint64_t member_id,
                  std::function<uint64_t()> raft_term)
      : key_space_(key_space),
        cluster_id_(cluster_id),
        member_id_(member_id),
        raft_term_(std::move(raft_term)) {}

  // `revision` 0 means the key space's current revision.
  etcdserverpb::ResponseHeader Make(int64_t revision = 0) const {
    etcdserverpb::ResponseHeader header;
    header.set_cluster_id(cluster_id_);
    header.set_member_id(member_id_);
    header.set_revision(revision != 0 ? revision : key_space_.mvcc().current_revision());
    header.set_raft_term(raft_term_());
    return header;
  }

 private:
  const KeySpace& key_space_;
  const uint64_t cluster_id_;
  const uint64_t member_id_;
  const std::function<uint64_t()> raft_term_;
};

// The store's `result` as the wire response (kv_convert.h's ToWire), its
// header made at the revision the result carries; etcd's error
// (FromStoreError) if the store refused.
template <typename Response, typename Result>
absl::StatusOr<Response> WireResponse(absl::StatusOr<Result> result,
                                      const ResponseHeaders& headers) {
  if (!result.ok()) return FromStoreError(result.status());
  Response response;
  ToWire(std::move(*result), &response);
  *response.mutable_header() = headers.Make(response.header().revision());
  return response;
}

}  // namespace keel::node

#endif  // KEEL_NODE_RESPONSE_HEADER_H_
