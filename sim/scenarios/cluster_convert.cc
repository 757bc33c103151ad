// Conversions between etcd's wire messages and the history model.
#include "sim/scenarios/cluster_convert.h"

#include "runtime/assert.h"

namespace keel::sim::cluster {
namespace {

using etcdserverpb::Compare;

Compare::CompareResult ResultToProto(check::CompareResult result) {
  switch (result) {
    case check::CompareResult::kEqual: return Compare::EQUAL;
    case check::CompareResult::kGreater: return Compare::GREATER;
    case check::CompareResult::kLess: return Compare::LESS;
    case check::CompareResult::kNotEqual: return Compare::NOT_EQUAL;
  }
  KEEL_ASSERT_MSG(false, "unknown compare result");
  return Compare::EQUAL;
}

Compare CompareToProto(const check::Compare& compare) {
  Compare out;
  out.set_result(ResultToProto(compare.result));
  out.set_key(compare.key);
  out.set_range_end(compare.range_end);
  switch (compare.target) {
    case check::CompareTarget::kVersion:
      out.set_target(Compare::VERSION);
      out.set_version(compare.number);
      break;
    case check::CompareTarget::kCreate:
      out.set_target(Compare::CREATE);
      out.set_create_revision(compare.number);
      break;
    case check::CompareTarget::kMod:
      out.set_target(Compare::MOD);
      out.set_mod_revision(compare.number);
      break;
    case check::CompareTarget::kValue:
      out.set_target(Compare::VALUE);
      out.set_value(compare.value);
      break;
    case check::CompareTarget::kLease:
      out.set_target(Compare::LEASE);
      out.set_lease(compare.number);
      break;
  }
  return out;
}

etcdserverpb::RequestOp OpToProto(const check::TxnRequestOp& op) {
  etcdserverpb::RequestOp out;
  if (const auto* range = std::get_if<check::RangeRequest>(&op)) {
    *out.mutable_request_range() = ToProto(*range);
  } else if (const auto* put = std::get_if<check::PutRequest>(&op)) {
    *out.mutable_request_put() = ToProto(*put);
  } else {
    *out.mutable_request_delete_range() = ToProto(std::get<check::DeleteRequest>(op));
  }
  return out;
}

check::TxnResponseOp OpFromProto(const etcdserverpb::ResponseOp& op) {
  switch (op.response_case()) {
    case etcdserverpb::ResponseOp::kResponseRange: return FromProto(op.response_range());
    case etcdserverpb::ResponseOp::kResponsePut: return FromProto(op.response_put());
    case etcdserverpb::ResponseOp::kResponseDeleteRange:
      return FromProto(op.response_delete_range());
    default: break;
  }
  // The scenario never sends nested txns; an empty range stands in for
  // anything else, and the history validation reports the mismatch.
  return check::RangeResponse{};
}

}  // namespace

etcdserverpb::PutRequest ToProto(const check::PutRequest& request) {
  etcdserverpb::PutRequest out;
  out.set_key(request.key);
  out.set_value(request.value);
  out.set_lease(request.lease);
  out.set_prev_kv(request.prev_kv);
  out.set_ignore_value(request.ignore_value);
  out.set_ignore_lease(request.ignore_lease);
  return out;
}

etcdserverpb::RangeRequest ToProto(const check::RangeRequest& request) {
  etcdserverpb::RangeRequest out;
  out.set_key(request.key);
  out.set_range_end(request.range_end);
  out.set_revision(request.revision);
  out.set_limit(request.limit);
  out.set_serializable(request.serializable);
  out.set_keys_only(request.keys_only);
  out.set_count_only(request.count_only);
  return out;
}

etcdserverpb::DeleteRangeRequest ToProto(const check::DeleteRequest& request) {
  etcdserverpb::DeleteRangeRequest out;
  out.set_key(request.key);
  out.set_range_end(request.range_end);
  out.set_prev_kv(request.prev_kv);
  return out;
}

etcdserverpb::TxnRequest ToProto(const check::TxnRequest& request) {
  etcdserverpb::TxnRequest out;
  for (const check::Compare& compare : request.compare) {
    *out.add_compare() = CompareToProto(compare);
  }
  for (const check::TxnRequestOp& op : request.success) *out.add_success() = OpToProto(op);
  for (const check::TxnRequestOp& op : request.failure) *out.add_failure() = OpToProto(op);
  return out;
}

etcdserverpb::CompactionRequest ToProto(const check::CompactRequest& request) {
  etcdserverpb::CompactionRequest out;
  out.set_revision(request.revision);
  out.set_physical(request.physical);
  return out;
}

etcdserverpb::WatchCreateRequest ToProto(const check::WatchRequest& request) {
  etcdserverpb::WatchCreateRequest out;
  out.set_key(request.key);
  out.set_range_end(request.range_end);
  out.set_start_revision(request.start_revision);
  out.set_prev_kv(request.prev_kv);
  out.set_progress_notify(request.progress_notify);
  out.set_fragment(request.fragment);
  out.set_watch_id(request.watch_id);
  if (request.filter_noput) out.add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
  if (request.filter_nodelete) out.add_filters(etcdserverpb::WatchCreateRequest::NODELETE);
  return out;
}

check::KeyValue FromProto(const mvccpb::KeyValue& kv) {
  check::KeyValue out;
  out.key = kv.key();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.value = kv.value();
  out.lease = kv.lease();
  return out;
}

check::PutResponse FromProto(const etcdserverpb::PutResponse& response) {
  check::PutResponse out;
  if (response.has_prev_kv()) out.prev_kv = FromProto(response.prev_kv());
  return out;
}

check::RangeResponse FromProto(const etcdserverpb::RangeResponse& response) {
  check::RangeResponse out;
  out.kvs.reserve(static_cast<size_t>(response.kvs_size()));
  for (const mvccpb::KeyValue& kv : response.kvs()) out.kvs.push_back(FromProto(kv));
  out.more = response.more();
  out.count = response.count();
  return out;
}

check::DeleteResponse FromProto(const etcdserverpb::DeleteRangeResponse& response) {
  check::DeleteResponse out;
  out.deleted = response.deleted();
  for (const mvccpb::KeyValue& kv : response.prev_kvs()) out.prev_kvs.push_back(FromProto(kv));
  return out;
}

check::TxnResponse FromProto(const etcdserverpb::TxnResponse& response) {
  check::TxnResponse out;
  out.succeeded = response.succeeded();
  for (const etcdserverpb::ResponseOp& op : response.responses()) {
    out.responses.push_back(OpFromProto(op));
  }
  return out;
}

check::WatchResponse FromProto(const etcdserverpb::WatchResponse& response,
                               int64_t time_ns) {
  check::WatchResponse out;
  out.time_ns = time_ns;
  out.revision = response.header().revision();
  out.watch_id = response.watch_id();
  out.created = response.created();
  out.canceled = response.canceled();
  out.fragment = response.fragment();
  out.compact_revision = response.compact_revision();
  out.cancel_reason = response.cancel_reason();
  for (const mvccpb::Event& event : response.events()) {
    check::Event e;
    e.type = event.type() == mvccpb::Event::DELETE ? check::Event::Type::kDelete
                                                   : check::Event::Type::kPut;
    e.kv = FromProto(event.kv());
    if (event.has_prev_kv()) e.prev_kv = FromProto(event.prev_kv());
    out.events.push_back(std::move(e));
  }
  return out;
}

}  // namespace keel::sim::cluster
