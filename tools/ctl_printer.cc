// keelctl's printers: format dispatch, the simple format, json and
// protobuf. The fields format is in ctl_print_fields.cc.
#include "tools/ctl_printer.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/strings.h"
#include "tools/ctl_format.h"
#include "tools/table.h"

namespace keel::tools {
namespace {

const char* FormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kSimple: return "simple";
    case OutputFormat::kJson: return "json";
    case OutputFormat::kFields: return "fields";
    case OutputFormat::kTable: return "table";
    case OutputFormat::kProtobuf: return "protobuf";
  }
  return "?";
}

// clientv3.GetPrefixRangeEnd.
std::string PrefixEnd(std::string_view key) {
  std::string end(key);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace

absl::Status Printer::Unsupported() const {
  return absl::FailedPreconditionError(
      AsAbsl(StrCat(FormatName(format_), " not supported as output format")));
}

void Printer::Rpc(const google::protobuf::Message& message) {
  if (format_ == OutputFormat::kJson) {
    Line(GoJson(message));
  } else {
    out_(message.SerializeAsString());
  }
}

void Printer::RpcFlat(const etcdserverpb::ResponseHeader& header, std::string_view extra) {
  if (format_ == OutputFormat::kProtobuf) {
    out_(header.SerializeAsString());
    return;
  }
  std::string members = GoJsonMembers(header);
  if (!members.empty() && !extra.empty()) members += ",";
  Line(StrCat("{", members, extra, "}"));
}

// gogo's String() of a message: "name:value " per set scalar field.
std::string CompactText(const etcdserverpb::ResponseHeader& h) {
  std::string out;
  if (h.cluster_id() != 0) out += StrCat("cluster_id:", h.cluster_id(), " ");
  if (h.member_id() != 0) out += StrCat("member_id:", h.member_id(), " ");
  if (h.revision() != 0) out += StrCat("revision:", h.revision(), " ");
  if (h.raft_term() != 0) out += StrCat("raft_term:", h.raft_term(), " ");
  return out;
}

std::string Printer::Id(uint64_t id) const { return absl::StrFormat("%016x", id); }

void Printer::Kv(const mvccpb::KeyValue& kv) {
  const std::string key = hex_ ? HexBytes(kv.key()) : kv.key();
  const std::string value = hex_ ? HexBytes(kv.value()) : kv.value();
  if (!value_only_) Line(key);
  Line(value);
}

void Printer::Table(const std::vector<std::string>& header,
                    const std::vector<std::vector<std::string>>& rows) {
  out_(RenderTable(header, rows, CellAlign::kRight));
}

// ---- KV ----

absl::Status Printer::Get(const etcdserverpb::RangeResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsGet(r);
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    for (const auto& kv : r.kvs()) Kv(kv);
  }
  return absl::OkStatus();
}

absl::Status Printer::Put(const etcdserverpb::PutResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsPut(r);
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line("OK");
    if (r.has_prev_kv()) Kv(r.prev_kv());
  }
  return absl::OkStatus();
}

absl::Status Printer::Del(const etcdserverpb::DeleteRangeResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsDel(r);
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(StrCat(r.deleted()));
    for (const auto& kv : r.prev_kvs()) Kv(kv);
  }
  return absl::OkStatus();
}

absl::Status Printer::Txn(const etcdserverpb::TxnResponse& r) {
  if (rpc()) {
    Rpc(r);
    return absl::OkStatus();
  }
  if (format_ == OutputFormat::kFields) {
    FieldsTxn(r);
    return absl::OkStatus();
  }
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(r.succeeded() ? "SUCCESS" : "FAILURE");
  for (const auto& op : r.responses()) {
    Line("");
    if (op.has_response_delete_range()) {
      (void)Del(op.response_delete_range());
    } else if (op.has_response_put()) {
      (void)Put(op.response_put());
    } else if (op.has_response_range()) {
      (void)Get(op.response_range());
    } else {
      Line("unexpected response");
    }
  }
  return absl::OkStatus();
}

absl::Status Printer::Watch(const etcdserverpb::WatchResponse& r) {
  if (format_ == OutputFormat::kJson) {
    // clientv3.WatchResponse: Go field names, no omitempty.
    std::string events = "null";
    if (r.events_size() > 0) {
      std::vector<std::string> parts;
      for (const auto& event : r.events()) parts.push_back(GoJson(event));
      events = "[" + absl::StrJoin(parts, ",") + "]";
    }
    Line(StrCat("{\"Header\":", GoJson(r.header()), ",\"Events\":", events,
                ",\"CompactRevision\":", r.compact_revision(),
                ",\"Canceled\":", r.canceled() ? "true" : "false",
                ",\"Created\":", r.created() ? "true" : "false", "}"));
  } else if (format_ == OutputFormat::kProtobuf) {
    // etcdctl rebuilds a pb.WatchResponse of the header, events, compact
    // revision and the two flags.
    etcdserverpb::WatchResponse copy;
    *copy.mutable_header() = r.header();
    *copy.mutable_events() = r.events();
    copy.set_compact_revision(r.compact_revision());
    copy.set_canceled(r.canceled());
    copy.set_created(r.created());
    out_(copy.SerializeAsString());
  } else if (format_ == OutputFormat::kFields) {
    FieldsWatch(r);
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    for (const auto& event : r.events()) {
      Line(mvccpb::Event::EventType_Name(event.type()));
      if (event.has_prev_kv()) Kv(event.prev_kv());
      Kv(event.kv());
    }
  }
  return absl::OkStatus();
}

// ---- Lease ----

absl::Status Printer::Grant(const etcdserverpb::LeaseGrantResponse& r) {
  if (rpc()) {
    RpcFlat(r.header(), StrCat("\"ID\":", r.id(), ",\"TTL\":", r.ttl(),
                               ",\"Error\":", JsonString(r.error())));
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    Line(StrCat("\"ID\" : ", r.id()));
    Line(StrCat("\"TTL\" : ", r.ttl()));
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("lease %016x granted with TTL(%ds)", r.id(), r.ttl()));
  }
  return absl::OkStatus();
}

absl::Status Printer::Revoke(int64_t id, const etcdserverpb::LeaseRevokeResponse& r) {
  if (format_ == OutputFormat::kProtobuf) {
    // clientv3's LeaseRevokeResponse is a Go type of its own, which
    // etcdctl cannot marshal: it refuses, naming the response.
    return absl::FailedPreconditionError(AsAbsl(StrCat(
        "marshal unsupported for type clientv3.LeaseRevokeResponse ({", CompactText(r.header()),
        "})")));
  }
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("lease %016x revoked", id));
  }
  return absl::OkStatus();
}

absl::Status Printer::KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) {
  if (rpc()) {
    RpcFlat(r.header(), StrCat("\"ID\":", r.id(), ",\"TTL\":", r.ttl()));
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    Line(StrCat("\"ID\" : ", r.id()));
    Line(StrCat("\"TTL\" : ", r.ttl()));
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("lease %016x keepalived with TTL(%d)", r.id(), r.ttl()));
  }
  return absl::OkStatus();
}

absl::Status Printer::TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool keys) {
  if (rpc()) {
    std::string key_list = "null";
    if (r.keys_size() > 0) {
      std::vector<std::string> parts;
      for (const auto& key : r.keys()) parts.push_back("\"" + Base64(key) + "\"");
      key_list = "[" + absl::StrJoin(parts, ",") + "]";
    }
    RpcFlat(r.header(), StrCat("\"id\":", r.id(), ",\"ttl\":", r.ttl(),
                               ",\"granted-ttl\":", r.grantedttl(), ",\"keys\":", key_list));
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    Line(StrCat("\"ID\" : ", r.id()));
    Line(StrCat("\"TTL\" : ", r.ttl()));
    Line(StrCat("\"GrantedTTL\" : ", r.grantedttl()));
    for (const auto& key : r.keys()) Line(StrCat("\"Key\" : ", GoQuote(key)));
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else if (r.grantedttl() == 0 && r.ttl() == -1) {
    Line(absl::StrFormat("lease %016x already expired", r.id()));
  } else {
    std::string text = absl::StrFormat("lease %016x granted with TTL(%ds), remaining(%ds)",
                                       r.id(), r.grantedttl(), r.ttl());
    if (keys) {
      text += ", attached keys([" + absl::StrJoin(r.keys(), " ") + "])";
    }
    Line(text);
  }
  return absl::OkStatus();
}

absl::Status Printer::Leases(const etcdserverpb::LeaseLeasesResponse& r) {
  if (rpc()) {
    std::string list = "null";
    if (r.leases_size() > 0) {
      std::vector<std::string> parts;
      for (const auto& lease : r.leases()) parts.push_back(StrCat("{\"id\":", lease.id(), "}"));
      list = "[" + absl::StrJoin(parts, ",") + "]";
    }
    RpcFlat(r.header(), StrCat("\"leases\":", list));
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    for (const auto& lease : r.leases()) Line(StrCat("\"ID\" : ", lease.id()));
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(StrCat("found ", r.leases_size(), " leases"));
    for (const auto& lease : r.leases()) Line(Id(lease.id()));
  }
  return absl::OkStatus();
}

// ---- Cluster ----

std::vector<std::string> Printer::MemberListHeader() {
  return {"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"};
}

std::vector<std::vector<std::string>> Printer::MemberListRows(
    const etcdserverpb::MemberListResponse& r) const {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : r.members()) {
    rows.push_back({absl::StrFormat("%x", m.id()), m.name().empty() ? "unstarted" : "started",
                    m.name(), absl::StrJoin(m.peerurls(), ","),
                    absl::StrJoin(m.clienturls(), ","), m.islearner() ? "true" : "false"});
  }
  return rows;
}

absl::Status Printer::MemberAdd(const etcdserverpb::MemberAddResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    Line(StrCat("\"Member\" : ", GoQuote(r.member().ShortDebugString())));
    FieldsMembers(r.members());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("Member %16x added%sto cluster %16x", r.member().id(),
                         r.member().islearner() ? " as learner " : " ",
                         r.header().cluster_id()));
  }
  return absl::OkStatus();
}

absl::Status Printer::MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    FieldsMembers(r.members());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("Member %16x removed from cluster %16x", id, r.header().cluster_id()));
  }
  return absl::OkStatus();
}

absl::Status Printer::MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    FieldsMembers(r.members());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("Member %16x updated in cluster %16x", id, r.header().cluster_id()));
  }
  return absl::OkStatus();
}

absl::Status Printer::MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    FieldsMembers(r.members());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("Member %16x promoted in cluster %16x", id, r.header().cluster_id()));
  }
  return absl::OkStatus();
}

absl::Status Printer::MemberList(const etcdserverpb::MemberListResponse& r) {
  if (format_ == OutputFormat::kJson && hex_) {
    // etcdctl 3.5's printMemberListWithHexJSON, written out by hand there
    // (raft_term in hex too, and "clientURLS").
    const auto& h = r.header();
    std::string out = absl::StrFormat("{\"header\":{\"cluster_id\":\"%x\",\"member_id\":\"%x\","
                                      "\"raft_term\":%x}",
                                      h.cluster_id(), h.member_id(), h.raft_term());
    for (int i = 0; i < r.members_size(); i++) {
      const auto& m = r.members(i);
      out += i == 0 ? ",\"members\":[{\"ID\":\"" : ",{\"ID\":\"";
      std::vector<std::string> peers, clients;
      for (const auto& u : m.peerurls()) peers.push_back(JsonString(u));
      for (const auto& u : m.clienturls()) clients.push_back(JsonString(u));
      const auto list = [](const std::vector<std::string>& items) {
        return items.empty() ? std::string("null") : "[" + absl::StrJoin(items, ",") + "]";
      };
      out += absl::StrFormat("%x\",\"name\":\"%s\",\"peerURLs\":%s,\"clientURLS\":%s}", m.id(),
                             m.name(), list(peers), list(clients));
      if (i == r.members_size() - 1) out += "]";
    }
    Line(out + "}");
  } else if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    FieldsMembers(r.members());
  } else if (format_ == OutputFormat::kTable) {
    Table(MemberListHeader(), MemberListRows(r));
  } else {
    for (const auto& row : MemberListRows(r)) Line(absl::StrJoin(row, ", "));
  }
  return absl::OkStatus();
}

// ---- Endpoints ----

namespace {

std::vector<std::vector<std::string>> StatusRows(const std::vector<EndpointStatusResult>& list) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& result : list) {
    const auto& s = result.status;
    rows.push_back({result.endpoint, absl::StrFormat("%x", s.header().member_id()), s.version(),
                    HumanBytes(static_cast<uint64_t>(s.dbsize())),
                    s.leader() == s.header().member_id() ? "true" : "false",
                    s.islearner() ? "true" : "false", StrCat(s.raftterm()),
                    StrCat(s.raftindex()), StrCat(s.raftappliedindex()),
                    absl::StrJoin(s.errors(), ", ")});
  }
  return rows;
}

const std::vector<std::string> kStatusHeader = {
    "endpoint",  "ID",        "version",    "db size",            "is leader",
    "is learner", "raft term", "raft index", "raft applied index", "errors"};

}  // namespace

absl::Status Printer::EndpointHealth(const std::vector<EndpointHealthResult>& results) {
  if (format_ == OutputFormat::kJson) {
    std::vector<std::string> parts;
    for (const auto& h : results) {
      std::string entry = StrCat("{\"endpoint\":", JsonString(h.endpoint),
                                 ",\"health\":", h.health ? "true" : "false",
                                 ",\"took\":", JsonString(h.took));
      if (!h.error.empty()) entry += ",\"error\":" + JsonString(h.error);
      parts.push_back(entry + "}");
    }
    Line(parts.empty() ? "null" : "[" + absl::StrJoin(parts, ",") + "]");
  } else if (format_ == OutputFormat::kProtobuf) {
    return Unsupported();
  } else if (format_ == OutputFormat::kFields) {
    FieldsEndpointHealth(results);
  } else if (format_ == OutputFormat::kTable) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : results) {
      rows.push_back({h.endpoint, h.health ? "true" : "false", h.took, h.error});
    }
    Table({"endpoint", "health", "took", "error"}, rows);
  } else {
    // etcdctl 3.5: healthy on stdout, unhealthy on stderr (3.4 printed
    // both on stderr).
    for (const auto& h : results) {
      if (h.error.empty()) {
        Line(StrCat(h.endpoint, " is healthy: successfully committed proposal: took = ", h.took));
      } else {
        err_(StrCat(h.endpoint, " is unhealthy: failed to commit proposal: ", h.error, "\n"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Printer::EndpointStatus(const std::vector<EndpointStatusResult>& results) {
  if (format_ == OutputFormat::kJson) {
    std::vector<std::string> parts;
    for (const auto& s : results) {
      parts.push_back(StrCat("{\"Endpoint\":", JsonString(s.endpoint),
                             ",\"Status\":", GoJson(s.status), "}"));
    }
    Line(parts.empty() ? "null" : "[" + absl::StrJoin(parts, ",") + "]");
  } else if (format_ == OutputFormat::kProtobuf) {
    return Unsupported();
  } else if (format_ == OutputFormat::kFields) {
    FieldsEndpointStatus(results);
  } else if (format_ == OutputFormat::kTable) {
    Table(kStatusHeader, StatusRows(results));
  } else {
    for (const auto& row : StatusRows(results)) Line(absl::StrJoin(row, ", "));
  }
  return absl::OkStatus();
}

absl::Status Printer::EndpointHashKV(const std::vector<EndpointHashKVResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : results) rows.push_back({h.endpoint, StrCat(h.hash.hash())});
  if (format_ == OutputFormat::kJson) {
    std::vector<std::string> parts;
    for (const auto& h : results) {
      parts.push_back(StrCat("{\"Endpoint\":", JsonString(h.endpoint),
                             ",\"HashKV\":", GoJson(h.hash), "}"));
    }
    Line(parts.empty() ? "null" : "[" + absl::StrJoin(parts, ",") + "]");
  } else if (format_ == OutputFormat::kProtobuf) {
    return Unsupported();
  } else if (format_ == OutputFormat::kFields) {
    FieldsEndpointHashKV(results);
  } else if (format_ == OutputFormat::kTable) {
    Table({"endpoint", "hash"}, rows);
  } else {
    for (const auto& row : rows) Line(absl::StrJoin(row, ", "));
  }
  return absl::OkStatus();
}

absl::Status Printer::MoveLeader(uint64_t leader, uint64_t target,
                                 const etcdserverpb::MoveLeaderResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    Line(absl::StrFormat("Leadership transferred from %x to %x", leader, target));
  }
  return absl::OkStatus();
}

absl::Status Printer::Alarm(const etcdserverpb::AlarmResponse& r) {
  if (rpc()) {
    Rpc(r);
  } else if (format_ == OutputFormat::kFields) {
    FieldsAlarm(r);
  } else if (format_ == OutputFormat::kTable) {
    return Unsupported();
  } else {
    // Go's %+v of the message: its compact text form, with a trailing space.
    for (const auto& alarm : r.alarms()) {
      std::string text;
      if (alarm.memberid() != 0) text += StrCat("memberID:", alarm.memberid(), " ");
      if (alarm.alarm() != 0) {
        text += StrCat("alarm:", etcdserverpb::AlarmType_Name(alarm.alarm()), " ");
      }
      Line(text);
    }
  }
  return absl::OkStatus();
}

// ---- Auth ----

void Printer::SimpleRoleGet(std::string_view role, const etcdserverpb::AuthRoleGetResponse& r) {
  Line(StrCat("Role ", role));
  const auto print_range = [&](const authpb::Permission& perm) {
    const std::string& key = perm.key();
    const std::string& end = perm.range_end();
    std::string text = end != std::string(1, '\0') ? StrCat("\t[", key, ", ", end, ")")
                                                   : StrCat("\t[", key, ", <open ended>");
    if (PrefixEnd(key) == end) text += StrCat(" (prefix ", key, ")");
    Line(text);
  };
  const auto section = [&](std::string_view title, authpb::Permission::Type kind) {
    Line(title);
    for (const auto& perm : r.perm()) {
      if (perm.permtype() != kind && perm.permtype() != authpb::Permission::READWRITE) continue;
      if (perm.range_end().empty()) {
        Line(StrCat("\t", perm.key()));
      } else {
        print_range(perm);
      }
    }
  };
  section("KV Read:", authpb::Permission::READ);
  section("KV Write:", authpb::Permission::WRITE);
}

absl::Status Printer::RoleAdd(std::string_view role, const etcdserverpb::AuthRoleAddResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Role ", role, " created"));
  return absl::OkStatus();
}

absl::Status Printer::RoleGet(std::string_view role, const etcdserverpb::AuthRoleGetResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsRoleGet(r), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  SimpleRoleGet(role, r);
  return absl::OkStatus();
}

absl::Status Printer::RoleDelete(std::string_view role,
                                 const etcdserverpb::AuthRoleDeleteResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Role ", role, " deleted"));
  return absl::OkStatus();
}

absl::Status Printer::RoleList(const etcdserverpb::AuthRoleListResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) {
    return FieldsNames(r.header(), "Roles", r.roles()), absl::OkStatus();
  }
  if (format_ == OutputFormat::kTable) return Unsupported();
  for (const auto& role : r.roles()) Line(role);
  return absl::OkStatus();
}

absl::Status Printer::RoleGrantPermission(
    std::string_view role, const etcdserverpb::AuthRoleGrantPermissionResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Role ", role, " updated"));
  return absl::OkStatus();
}

absl::Status Printer::RoleRevokePermission(
    std::string_view role, std::string_view key, std::string_view end,
    const etcdserverpb::AuthRoleRevokePermissionResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  if (end.empty()) {
    Line(StrCat("Permission of key ", key, " is revoked from role ", role));
  } else if (end != std::string_view("\0", 1)) {
    Line(StrCat("Permission of range [", key, ", ", end, ") is revoked from role ", role));
  } else {
    Line(StrCat("Permission of range [", key, ", <open ended> is revoked from role ", role));
  }
  return absl::OkStatus();
}

absl::Status Printer::UserAdd(std::string_view user, const etcdserverpb::AuthUserAddResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("User ", user, " created"));
  return absl::OkStatus();
}

absl::Status Printer::UserGet(std::string_view user, const etcdserverpb::AuthUserGetResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    for (const auto& role : r.roles()) Line(StrCat("\"Role\" : ", GoQuote(role)));
    return absl::OkStatus();
  }
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("User: ", user));
  std::string roles = "Roles:";
  for (const auto& role : r.roles()) roles += " " + role;
  Line(roles);
  return absl::OkStatus();
}

absl::Status Printer::UserList(const etcdserverpb::AuthUserListResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  // etcdctl's fields printer has no user list.
  if (format_ == OutputFormat::kFields || format_ == OutputFormat::kTable) return Unsupported();
  for (const auto& user : r.users()) Line(user);
  return absl::OkStatus();
}

absl::Status Printer::UserChangePassword(const etcdserverpb::AuthUserChangePasswordResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line("Password updated");
  return absl::OkStatus();
}

absl::Status Printer::UserGrantRole(std::string_view user, std::string_view role,
                                    const etcdserverpb::AuthUserGrantRoleResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Role ", role, " is granted to user ", user));
  return absl::OkStatus();
}

absl::Status Printer::UserRevokeRole(std::string_view user, std::string_view role,
                                     const etcdserverpb::AuthUserRevokeRoleResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Role ", role, " is revoked from user ", user));
  return absl::OkStatus();
}

absl::Status Printer::UserDelete(std::string_view user,
                                 const etcdserverpb::AuthUserDeleteResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) return FieldsHeader(r.header()), absl::OkStatus();
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("User ", user, " deleted"));
  return absl::OkStatus();
}

absl::Status Printer::AuthStatus(const etcdserverpb::AuthStatusResponse& r) {
  if (rpc()) return Rpc(r), absl::OkStatus();
  if (format_ == OutputFormat::kFields) {
    FieldsHeader(r.header());
    Line(StrCat("\"Enabled\" : ", r.enabled() ? "true" : "false"));
    Line(StrCat("\"AuthRevision\" : ", r.authrevision()));
    return absl::OkStatus();
  }
  if (format_ == OutputFormat::kTable) return Unsupported();
  Line(StrCat("Authentication Status: ", r.enabled() ? "true" : "false"));
  Line(StrCat("AuthRevision: ", r.authrevision()));
  return absl::OkStatus();
}

}  // namespace keel::tools
