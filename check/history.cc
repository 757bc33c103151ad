// Helpers over the history model; see history.h.
#include "check/history.h"

#include <cstdio>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::check {

Response EmptyResponse(OpType type) {
  switch (type) {
    case OpType::kPut: return PutResponse{};
    case OpType::kRange: return RangeResponse{};
    case OpType::kDelete: return DeleteResponse{};
    case OpType::kTxn: return TxnResponse{};
    case OpType::kCompact: return CompactResponse{};
    case OpType::kLeaseGrant: return LeaseGrantResponse{};
    case OpType::kLeaseRevoke: return LeaseRevokeResponse{};
    case OpType::kLeaseKeepAlive: return LeaseKeepAliveResponse{};
    case OpType::kLeaseTimeToLive: return LeaseTimeToLiveResponse{};
    case OpType::kWatch: return WatchResult{};
  }
  KEEL_UNREACHABLE();
}

bool InRange(std::string_view key, std::string_view begin, std::string_view end) {
  if (end.empty()) return key == begin;
  if (end.size() == 1 && end[0] == '\0') return key >= begin;
  return key >= begin && key < end;
}

std::string_view OpTypeName(OpType type) {
  switch (type) {
    case OpType::kPut: return "put";
    case OpType::kRange: return "range";
    case OpType::kDelete: return "delete";
    case OpType::kTxn: return "txn";
    case OpType::kCompact: return "compact";
    case OpType::kLeaseGrant: return "lease_grant";
    case OpType::kLeaseRevoke: return "lease_revoke";
    case OpType::kLeaseKeepAlive: return "lease_keepalive";
    case OpType::kLeaseTimeToLive: return "lease_timetolive";
    case OpType::kWatch: return "watch";
  }
  KEEL_UNREACHABLE();
}

std::string_view CompareTargetName(CompareTarget target) {
  switch (target) {
    case CompareTarget::kVersion: return "version";
    case CompareTarget::kCreate: return "create";
    case CompareTarget::kMod: return "mod";
    case CompareTarget::kValue: return "value";
    case CompareTarget::kLease: return "lease";
  }
  KEEL_UNREACHABLE();
}

std::string_view CompareResultName(CompareResult result) {
  switch (result) {
    case CompareResult::kEqual: return "equal";
    case CompareResult::kGreater: return "greater";
    case CompareResult::kLess: return "less";
    case CompareResult::kNotEqual: return "not_equal";
  }
  KEEL_UNREACHABLE();
}

std::string Printable(std::string_view bytes, size_t max_bytes) {
  std::string out = "\"";
  size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out.append(buf);
    }
  }
  out.push_back('"');
  if (n < bytes.size()) out.append("...");
  return out;
}

std::string DescribeKv(const KeyValue& kv) {
  return StrCat(Printable(kv.key), "=", Printable(kv.value), " (create ",
                kv.create_revision, ", mod ", kv.mod_revision, ", version ",
                kv.version, ", lease ", kv.lease, ")");
}

namespace {

std::string DescribeRange(std::string_view key, std::string_view end) {
  if (end.empty()) return Printable(key);
  if (end.size() == 1 && end[0] == '\0') return StrCat("[", Printable(key), ", end)");
  return StrCat("[", Printable(key), ", ", Printable(end), ")");
}

std::string DescribeTxnOp(const TxnRequestOp& op) {
  if (const auto* p = std::get_if<PutRequest>(&op)) {
    return StrCat("put ", Printable(p->key), "=", Printable(p->value));
  }
  if (const auto* r = std::get_if<RangeRequest>(&op)) {
    return StrCat("range ", DescribeRange(r->key, r->range_end));
  }
  const auto& d = std::get<DeleteRequest>(op);
  return StrCat("delete ", DescribeRange(d.key, d.range_end));
}

std::string DescribeCompare(const Compare& c) {
  std::string target = StrCat(CompareTargetName(c.target), "(",
                              DescribeRange(c.key, c.range_end), ")");
  std::string_view rel = c.result == CompareResult::kEqual     ? "=="
                         : c.result == CompareResult::kNotEqual ? "!="
                         : c.result == CompareResult::kLess     ? "<"
                                                                : ">";
  std::string rhs = c.target == CompareTarget::kValue ? Printable(c.value)
                                                      : StrCat(c.number);
  return StrCat(target, " ", rel, " ", rhs);
}

std::string JoinOps(const std::vector<TxnRequestOp>& ops) {
  std::string out;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) out.append("; ");
    out.append(DescribeTxnOp(ops[i]));
  }
  return out;
}

}  // namespace

std::string DescribeRequest(const Request& request) {
  switch (static_cast<OpType>(request.index())) {
    case OpType::kPut: {
      const auto& p = std::get<PutRequest>(request);
      std::string s = StrCat("put ", Printable(p.key), "=", Printable(p.value));
      if (p.lease != 0) StrAppend(&s, " lease ", p.lease);
      return s;
    }
    case OpType::kRange: {
      const auto& r = std::get<RangeRequest>(request);
      std::string s = StrCat("range ", DescribeRange(r.key, r.range_end));
      if (r.revision != 0) StrAppend(&s, " at revision ", r.revision);
      if (r.serializable) s.append(" serializable");
      if (r.limit != 0) StrAppend(&s, " limit ", r.limit);
      return s;
    }
    case OpType::kDelete: {
      const auto& d = std::get<DeleteRequest>(request);
      return StrCat("delete ", DescribeRange(d.key, d.range_end));
    }
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(request);
      std::string s = "txn if (";
      for (size_t i = 0; i < t.compare.size(); ++i) {
        if (i > 0) s.append(" && ");
        s.append(DescribeCompare(t.compare[i]));
      }
      StrAppend(&s, ") then {", JoinOps(t.success), "} else {",
                JoinOps(t.failure), "}");
      return s;
    }
    case OpType::kCompact:
      return StrCat("compact ", std::get<CompactRequest>(request).revision);
    case OpType::kLeaseGrant:
      return StrCat("lease_grant ttl ", std::get<LeaseGrantRequest>(request).ttl);
    case OpType::kLeaseRevoke:
      return StrCat("lease_revoke ", std::get<LeaseRevokeRequest>(request).id);
    case OpType::kLeaseKeepAlive:
      return StrCat("lease_keepalive ", std::get<LeaseKeepAliveRequest>(request).id);
    case OpType::kLeaseTimeToLive:
      return StrCat("lease_timetolive ",
                    std::get<LeaseTimeToLiveRequest>(request).id);
    case OpType::kWatch: {
      const auto& w = std::get<WatchRequest>(request);
      return StrCat("watch ", DescribeRange(w.key, w.range_end), " from ",
                    w.start_revision);
    }
  }
  KEEL_UNREACHABLE();
}

std::string DescribeOp(const Operation& op) {
  return StrCat("op ", op.id, " (client ", op.client, ", ",
                DescribeRequest(op.request), ")");
}

}  // namespace keel::check
