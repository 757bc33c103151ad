// keelctl's output: every response a command prints, in etcdctl 3.5's five
// formats (-w simple|json|fields|table|protobuf), byte for byte.
//
// As in etcdctl, json and protobuf print the response message itself (json
// as Go's encoding/json spells etcd's structs, protobuf as its wire bytes),
// except where clientv3 hands etcdctl a struct of its own: the lease
// responses flatten the header into the object (and their protobuf form
// is the header's bytes alone), and a watch response is
// {"Header":...,"Events":...}. table prints only member list and the
// endpoint commands; anything else in table (or protobuf of an endpoint
// command) is refused with etcdctl's "<format> not supported as output
// format" (FailedPrecondition; keelctl exits 4 with it).
//
// Methods write to the sinks given at construction; they never fail but
// for an unsupported format.
#ifndef KEEL_TOOLS_CTL_PRINTER_H_
#define KEEL_TOOLS_CTL_PRINTER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "proto/rpc.pb.h"
#include "tools/ctl_globals.h"

namespace keel::tools {

struct EndpointHealthResult {
  std::string endpoint;
  bool health = false;
  std::string took;  // Go's Duration.String()
  std::string error;
};

struct EndpointStatusResult {
  std::string endpoint;
  etcdserverpb::StatusResponse status;
};

struct EndpointHashKVResult {
  std::string endpoint;
  etcdserverpb::HashKVResponse hash;
};

using Sink = std::function<void(std::string_view)>;

class Printer {
 public:
  Printer(OutputFormat format, bool hex, Sink out, Sink err)
      : format_(format), hex_(hex), out_(std::move(out)), err_(std::move(err)) {}

  OutputFormat format() const { return format_; }
  // get --print-value-only: the simple format prints values alone.
  void set_value_only(bool value_only) { value_only_ = value_only; }

  absl::Status Get(const etcdserverpb::RangeResponse& r);
  absl::Status Put(const etcdserverpb::PutResponse& r);
  absl::Status Del(const etcdserverpb::DeleteRangeResponse& r);
  absl::Status Txn(const etcdserverpb::TxnResponse& r);
  absl::Status Watch(const etcdserverpb::WatchResponse& r);

  absl::Status Grant(const etcdserverpb::LeaseGrantResponse& r);
  absl::Status Revoke(int64_t id, const etcdserverpb::LeaseRevokeResponse& r);
  absl::Status KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r);
  absl::Status TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool keys);
  absl::Status Leases(const etcdserverpb::LeaseLeasesResponse& r);

  absl::Status MemberAdd(const etcdserverpb::MemberAddResponse& r);
  absl::Status MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r);
  absl::Status MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r);
  absl::Status MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r);
  absl::Status MemberList(const etcdserverpb::MemberListResponse& r);

  absl::Status EndpointHealth(const std::vector<EndpointHealthResult>& results);
  absl::Status EndpointStatus(const std::vector<EndpointStatusResult>& results);
  absl::Status EndpointHashKV(const std::vector<EndpointHashKVResult>& results);
  absl::Status MoveLeader(uint64_t leader, uint64_t target,
                          const etcdserverpb::MoveLeaderResponse& r);
  absl::Status Alarm(const etcdserverpb::AlarmResponse& r);

  absl::Status RoleAdd(std::string_view role, const etcdserverpb::AuthRoleAddResponse& r);
  absl::Status RoleGet(std::string_view role, const etcdserverpb::AuthRoleGetResponse& r);
  absl::Status RoleDelete(std::string_view role, const etcdserverpb::AuthRoleDeleteResponse& r);
  absl::Status RoleList(const etcdserverpb::AuthRoleListResponse& r);
  absl::Status RoleGrantPermission(std::string_view role,
                                   const etcdserverpb::AuthRoleGrantPermissionResponse& r);
  absl::Status RoleRevokePermission(std::string_view role, std::string_view key,
                                    std::string_view end,
                                    const etcdserverpb::AuthRoleRevokePermissionResponse& r);
  absl::Status UserAdd(std::string_view user, const etcdserverpb::AuthUserAddResponse& r);
  absl::Status UserGet(std::string_view user, const etcdserverpb::AuthUserGetResponse& r);
  absl::Status UserList(const etcdserverpb::AuthUserListResponse& r);
  absl::Status UserChangePassword(const etcdserverpb::AuthUserChangePasswordResponse& r);
  absl::Status UserGrantRole(std::string_view user, std::string_view role,
                             const etcdserverpb::AuthUserGrantRoleResponse& r);
  absl::Status UserRevokeRole(std::string_view user, std::string_view role,
                              const etcdserverpb::AuthUserRevokeRoleResponse& r);
  absl::Status UserDelete(std::string_view user, const etcdserverpb::AuthUserDeleteResponse& r);
  absl::Status AuthStatus(const etcdserverpb::AuthStatusResponse& r);

  // The rows etcdctl's table and simple formats share.
  static std::vector<std::string> MemberListHeader();
  std::vector<std::vector<std::string>> MemberListRows(
      const etcdserverpb::MemberListResponse& r) const;

 private:
  bool rpc() const { return format_ == OutputFormat::kJson || format_ == OutputFormat::kProtobuf; }
  // json or protobuf of the message itself.
  void Rpc(const google::protobuf::Message& message);
  // clientv3's structs that embed the header: json flattens it (`extra`
  // are the struct's own members, already encoded), protobuf is the
  // header's bytes.
  void RpcFlat(const etcdserverpb::ResponseHeader& header, std::string_view extra);
  absl::Status Unsupported() const;
  void Line(std::string_view text) { out_(std::string(text) + "\n"); }
  void Kv(const mvccpb::KeyValue& kv);
  void Table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  std::string Id(uint64_t id) const;

  // The fields format (ctl_print_fields.cc).
  void FieldsHeader(const etcdserverpb::ResponseHeader& h);
  void FieldsKv(std::string_view prefix, const mvccpb::KeyValue& kv);
  void FieldsGet(const etcdserverpb::RangeResponse& r);
  void FieldsPut(const etcdserverpb::PutResponse& r);
  void FieldsDel(const etcdserverpb::DeleteRangeResponse& r);
  void FieldsTxn(const etcdserverpb::TxnResponse& r);
  void FieldsWatch(const etcdserverpb::WatchResponse& r);
  void FieldsMembers(const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members);
  void FieldsEndpointHealth(const std::vector<EndpointHealthResult>& results);
  void FieldsEndpointStatus(const std::vector<EndpointStatusResult>& results);
  void FieldsEndpointHashKV(const std::vector<EndpointHashKVResult>& results);
  void FieldsAlarm(const etcdserverpb::AlarmResponse& r);
  void FieldsRoleGet(const etcdserverpb::AuthRoleGetResponse& r);
  void FieldsNames(const etcdserverpb::ResponseHeader& h, std::string_view label,
                   const google::protobuf::RepeatedPtrField<std::string>& names);

  // The simple format's pieces that are not one line.
  void SimpleRoleGet(std::string_view role, const etcdserverpb::AuthRoleGetResponse& r);

  OutputFormat format_;
  bool hex_;
  bool value_only_ = false;
  Sink out_;
  Sink err_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_PRINTER_H_
