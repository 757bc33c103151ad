// The fields format (-w fields): one `"Name" : value` line per field, with
// Go's %q for strings and Go's %v for everything else, as etcdctl's
// fieldsPrinter prints them.
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/strings.h"
#include "tools/ctl_format.h"
#include "tools/ctl_printer.h"

namespace keel::tools {

void Printer::FieldsHeader(const etcdserverpb::ResponseHeader& h) {
  Line(StrCat("\"ClusterID\" : ", h.cluster_id()));
  Line(StrCat("\"MemberID\" : ", h.member_id()));
  Line(StrCat("\"Revision\" : ", h.revision()));
  Line(StrCat("\"RaftTerm\" : ", h.raft_term()));
}

void Printer::FieldsKv(std::string_view prefix, const mvccpb::KeyValue& kv) {
  Line(StrCat("\"", prefix, "Key\" : ", GoQuote(kv.key())));
  Line(StrCat("\"", prefix, "CreateRevision\" : ", kv.create_revision()));
  Line(StrCat("\"", prefix, "ModRevision\" : ", kv.mod_revision()));
  Line(StrCat("\"", prefix, "Version\" : ", kv.version()));
  Line(StrCat("\"", prefix, "Value\" : ", GoQuote(kv.value())));
  Line(StrCat("\"", prefix, "Lease\" : ", kv.lease()));
}

void Printer::FieldsGet(const etcdserverpb::RangeResponse& r) {
  FieldsHeader(r.header());
  for (const auto& kv : r.kvs()) FieldsKv("", kv);
  Line(StrCat("\"More\" : ", r.more() ? "true" : "false"));
  Line(StrCat("\"Count\" : ", r.count()));
}

void Printer::FieldsPut(const etcdserverpb::PutResponse& r) {
  FieldsHeader(r.header());
  if (r.has_prev_kv()) FieldsKv("Prev", r.prev_kv());
}

void Printer::FieldsDel(const etcdserverpb::DeleteRangeResponse& r) {
  FieldsHeader(r.header());
  Line(StrCat("\"Deleted\" : ", r.deleted()));
  for (const auto& kv : r.prev_kvs()) FieldsKv("Prev", kv);
}

void Printer::FieldsTxn(const etcdserverpb::TxnResponse& r) {
  FieldsHeader(r.header());
  Line(StrCat("\"Succeeded\" : ", r.succeeded() ? "true" : "false"));
  for (const auto& op : r.responses()) {
    if (op.has_response_delete_range()) {
      FieldsDel(op.response_delete_range());
    } else if (op.has_response_put()) {
      FieldsPut(op.response_put());
    } else if (op.has_response_range()) {
      FieldsGet(op.response_range());
    } else {
      Line("\"Unknown\" : \"\"");
    }
  }
}

void Printer::FieldsWatch(const etcdserverpb::WatchResponse& r) {
  FieldsHeader(r.header());
  for (const auto& event : r.events()) {
    Line(StrCat("\"Type\" : ", mvccpb::Event::EventType_Name(event.type())));
    if (event.has_prev_kv()) FieldsKv("Prev", event.prev_kv());
    FieldsKv("", event.kv());
  }
}

void Printer::FieldsMembers(
    const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members) {
  for (const auto& m : members) {
    Line(StrCat("\"ID\" : ", m.id()));
    Line(StrCat("\"Name\" : ", GoQuote(m.name())));
    for (const auto& u : m.peerurls()) Line(StrCat("\"PeerURL\" : ", GoQuote(u)));
    for (const auto& u : m.clienturls()) Line(StrCat("\"ClientURL\" : ", GoQuote(u)));
    Line(StrCat("\"IsLearner\" : ", m.islearner() ? "true" : "false"));
    Line("");
  }
}

void Printer::FieldsEndpointHealth(const std::vector<EndpointHealthResult>& results) {
  for (const auto& h : results) {
    Line(StrCat("\"Endpoint\" : ", GoQuote(h.endpoint)));
    Line(StrCat("\"Health\" : ", h.health ? "true" : "false"));
    Line(StrCat("\"Took\" : ", h.took));
    Line(StrCat("\"Error\" : ", h.error));
    Line("");
  }
}

void Printer::FieldsEndpointStatus(const std::vector<EndpointStatusResult>& results) {
  for (const auto& result : results) {
    const auto& s = result.status;
    FieldsHeader(s.header());
    Line(StrCat("\"Version\" : ", GoQuote(s.version())));
    Line(StrCat("\"DBSize\" : ", s.dbsize()));
    Line(StrCat("\"Leader\" : ", s.leader()));
    Line(StrCat("\"IsLearner\" : ", s.islearner() ? "true" : "false"));
    Line(StrCat("\"RaftIndex\" : ", s.raftindex()));
    Line(StrCat("\"RaftTerm\" : ", s.raftterm()));
    Line(StrCat("\"RaftAppliedIndex\" : ", s.raftappliedindex()));
    Line(StrCat("\"Errors\" : [", absl::StrJoin(s.errors(), " "), "]"));
    Line(StrCat("\"Endpoint\" : ", GoQuote(result.endpoint)));
    Line("");
  }
}

void Printer::FieldsEndpointHashKV(const std::vector<EndpointHashKVResult>& results) {
  for (const auto& result : results) {
    FieldsHeader(result.hash.header());
    Line(StrCat("\"Endpoint\" : ", GoQuote(result.endpoint)));
    Line(StrCat("\"Hash\" : ", result.hash.hash()));
    Line("");
  }
}

void Printer::FieldsAlarm(const etcdserverpb::AlarmResponse& r) {
  // etcdctl 3.4 dereferences the header even when the server sent none
  // (an empty alarm list) and crashes; keelctl prints what there is.
  if (r.has_header()) FieldsHeader(r.header());
  for (const auto& alarm : r.alarms()) {
    Line(StrCat("\"MemberID\" : ", alarm.memberid()));
    Line(StrCat("\"AlarmType\" : ", etcdserverpb::AlarmType_Name(alarm.alarm())));
    Line("");
  }
}

void Printer::FieldsRoleGet(const etcdserverpb::AuthRoleGetResponse& r) {
  FieldsHeader(r.header());
  for (const auto& perm : r.perm()) {
    // fmt.Println(`"PermType" : `, ...): the literal's space and Println's.
    Line(StrCat("\"PermType\" :  ", authpb::Permission::Type_Name(perm.permtype())));
    Line(StrCat("\"Key\" : ", GoQuote(perm.key())));
    Line(StrCat("\"RangeEnd\" : ", GoQuote(perm.range_end())));
  }
}

void Printer::FieldsNames(const etcdserverpb::ResponseHeader& h, std::string_view label,
                          const google::protobuf::RepeatedPtrField<std::string>& names) {
  FieldsHeader(h);
  std::string text = StrCat("\"", label, "\" :");
  for (const auto& name : names) text += " " + GoQuote(name);
  Line(text);
}

}  // namespace keel::tools
