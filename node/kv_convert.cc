// Wire <-> store conversions for the KV API.
#include "node/kv_convert.h"

#include <utility>

#include "store/mvcc_proto.h"

namespace keel::node {

store::RangeRequest FromWire(const etcdserverpb::RangeRequest& request) {
  store::RangeRequest out;
  out.key = request.key();
  out.range_end = request.range_end();
  out.limit = request.limit();
  out.revision = request.revision();
  out.sort_order = static_cast<store::SortOrder>(request.sort_order());
  out.sort_target = static_cast<store::SortTarget>(request.sort_target());
  out.keys_only = request.keys_only();
  out.count_only = request.count_only();
  out.min_mod_revision = request.min_mod_revision();
  out.max_mod_revision = request.max_mod_revision();
  out.min_create_revision = request.min_create_revision();
  out.max_create_revision = request.max_create_revision();
  return out;
}

store::PutRequest FromWire(const etcdserverpb::PutRequest& request) {
  store::PutRequest out;
  out.key = request.key();
  out.value = request.value();
  out.lease = request.lease();
  out.prev_kv = request.prev_kv();
  out.ignore_value = request.ignore_value();
  out.ignore_lease = request.ignore_lease();
  return out;
}

store::DeleteRangeRequest FromWire(const etcdserverpb::DeleteRangeRequest& request) {
  store::DeleteRangeRequest out;
  out.key = request.key();
  out.range_end = request.range_end();
  out.prev_kv = request.prev_kv();
  return out;
}

namespace {

store::Compare CompareFromWire(const etcdserverpb::Compare& compare) {
  store::Compare out;
  out.result = static_cast<store::CompareResult>(compare.result());
  out.target = static_cast<store::CompareTarget>(compare.target());
  out.key = compare.key();
  out.range_end = compare.range_end();
  // Only the field named by the target counts; an unset one compares as
  // zero (or the empty value), as in etcd.
  switch (compare.target()) {
    case etcdserverpb::Compare::VERSION:
      out.number = compare.version();
      break;
    case etcdserverpb::Compare::CREATE:
      out.number = compare.create_revision();
      break;
    case etcdserverpb::Compare::MOD:
      out.number = compare.mod_revision();
      break;
    case etcdserverpb::Compare::LEASE:
      out.number = compare.lease();
      break;
    case etcdserverpb::Compare::VALUE:
      out.value = compare.value();
      break;
    default:
      break;
  }
  return out;
}

store::RequestOp OpFromWire(const etcdserverpb::RequestOp& op) {
  store::RequestOp out;
  if (op.has_request_range()) {
    out.request = FromWire(op.request_range());
  } else if (op.has_request_put()) {
    out.request = FromWire(op.request_put());
  } else if (op.has_request_delete_range()) {
    out.request = FromWire(op.request_delete_range());
  } else if (op.has_request_txn()) {
    out.request = FromWire(op.request_txn());
  } else {
    // An empty op: etcd applies it as an empty range, which finds nothing.
    out.request = store::RangeRequest{};
  }
  return out;
}

void OpToWire(store::ResponseOp&& op, etcdserverpb::ResponseOp* out) {
  std::visit(
      [out](auto&& result) {
        using T = std::decay_t<decltype(result)>;
        if constexpr (std::is_same_v<T, store::RangeResult>) {
          ToWire(std::move(result), out->mutable_response_range());
        } else if constexpr (std::is_same_v<T, store::PutResult>) {
          ToWire(std::move(result), out->mutable_response_put());
        } else if constexpr (std::is_same_v<T, store::DeleteRangeResult>) {
          ToWire(std::move(result), out->mutable_response_delete_range());
        } else {
          ToWire(std::move(result), out->mutable_response_txn());
        }
      },
      std::move(op.response));
}

}  // namespace

store::TxnRequest FromWire(const etcdserverpb::TxnRequest& request) {
  store::TxnRequest out;
  out.compare.reserve(request.compare_size());
  for (const auto& c : request.compare()) out.compare.push_back(CompareFromWire(c));
  out.success.reserve(request.success_size());
  for (const auto& op : request.success()) out.success.push_back(OpFromWire(op));
  out.failure.reserve(request.failure_size());
  for (const auto& op : request.failure()) out.failure.push_back(OpFromWire(op));
  return out;
}

void ToWire(store::RangeResult&& result, etcdserverpb::RangeResponse* out) {
  out->mutable_header()->set_revision(result.revision);
  out->mutable_kvs()->Reserve(static_cast<int>(result.kvs.size()));
  for (store::KeyValue& kv : result.kvs) {
    store::ToProto(std::move(kv), out->add_kvs());
  }
  out->set_more(result.more);
  out->set_count(result.count);
}

void ToWire(store::PutResult&& result, etcdserverpb::PutResponse* out) {
  out->mutable_header()->set_revision(result.revision);
  if (result.prev_kv.has_value()) {
    store::ToProto(std::move(*result.prev_kv), out->mutable_prev_kv());
  }
}

void ToWire(store::DeleteRangeResult&& result,
            etcdserverpb::DeleteRangeResponse* out) {
  out->mutable_header()->set_revision(result.revision);
  out->set_deleted(result.deleted);
  for (store::KeyValue& kv : result.prev_kvs) {
    store::ToProto(std::move(kv), out->add_prev_kvs());
  }
}

void ToWire(store::TxnResult&& result, etcdserverpb::TxnResponse* out) {
  if (result.revision != 0) out->mutable_header()->set_revision(result.revision);
  out->set_succeeded(result.succeeded);
  for (store::ResponseOp& op : result.responses) {
    OpToWire(std::move(op), out->add_responses());
  }
}

}  // namespace keel::node
