// Pins a sample of keel's wire contract against etcd 3.4's .proto files:
// field numbers, names and types of messages clients use most, and the full
// method names that become gRPC paths. The expected values were read from
// etcd's rpc.proto, auth.proto, v3lock.proto and v3election.proto, so a typo
// in keel's copies fails here instead of on the wire.
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/auth.pb.h"
#include "proto/health.pb.h"
#include "proto/rpc.pb.h"
#include "proto/v3election.pb.h"
#include "proto/v3lock.pb.h"

namespace keel {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;

struct ExpectedField {
  int number;
  std::string name;
  FieldDescriptor::Type type;
  bool repeated = false;
};

// Descriptors register when their generated file is linked in; naming one
// message of each file pulls every file out of the static library.
void LinkEveryProtoFile() {
  (void)authpb::Permission::descriptor();
  (void)etcdserverpb::RangeRequest::descriptor();
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  (void)v3electionpb::LeaderKey::descriptor();
  (void)v3lockpb::LockRequest::descriptor();
}

// Checks that `message` has exactly `fields`, no more and no fewer.
void ExpectFields(const std::string& message,
                  const std::vector<ExpectedField>& fields) {
  LinkEveryProtoFile();
  const Descriptor* d =
      DescriptorPool::generated_pool()->FindMessageTypeByName(message);
  ASSERT_NE(d, nullptr) << message;
  EXPECT_EQ(d->field_count(), static_cast<int>(fields.size())) << message;
  for (const ExpectedField& want : fields) {
    const FieldDescriptor* f = d->FindFieldByNumber(want.number);
    ASSERT_NE(f, nullptr) << message << " has no field " << want.number;
    EXPECT_EQ(f->name(), want.name) << message << " #" << want.number;
    EXPECT_EQ(f->type(), want.type) << message << "." << want.name;
    EXPECT_EQ(f->is_repeated(), want.repeated) << message << "." << want.name;
  }
}

constexpr auto kBytes = FieldDescriptor::TYPE_BYTES;
constexpr auto kString = FieldDescriptor::TYPE_STRING;
constexpr auto kInt64 = FieldDescriptor::TYPE_INT64;
constexpr auto kUint64 = FieldDescriptor::TYPE_UINT64;
constexpr auto kBool = FieldDescriptor::TYPE_BOOL;
constexpr auto kEnum = FieldDescriptor::TYPE_ENUM;
constexpr auto kMessage = FieldDescriptor::TYPE_MESSAGE;

TEST(WireContractTest, RangeRequestMatchesEtcd) {
  ExpectFields("etcdserverpb.RangeRequest",
               {{1, "key", kBytes},
                {2, "range_end", kBytes},
                {3, "limit", kInt64},
                {4, "revision", kInt64},
                {5, "sort_order", kEnum},
                {6, "sort_target", kEnum},
                {7, "serializable", kBool},
                {8, "keys_only", kBool},
                {9, "count_only", kBool},
                {10, "min_mod_revision", kInt64},
                {11, "max_mod_revision", kInt64},
                {12, "min_create_revision", kInt64},
                {13, "max_create_revision", kInt64}});
}

TEST(WireContractTest, PutRequestMatchesEtcd) {
  ExpectFields("etcdserverpb.PutRequest", {{1, "key", kBytes},
                                           {2, "value", kBytes},
                                           {3, "lease", kInt64},
                                           {4, "prev_kv", kBool},
                                           {5, "ignore_value", kBool},
                                           {6, "ignore_lease", kBool}});
}

TEST(WireContractTest, CompareKeepsItsOddRangeEndNumber) {
  ExpectFields("etcdserverpb.Compare", {{1, "result", kEnum},
                                        {2, "target", kEnum},
                                        {3, "key", kBytes},
                                        {4, "version", kInt64},
                                        {5, "create_revision", kInt64},
                                        {6, "mod_revision", kInt64},
                                        {7, "value", kBytes},
                                        {8, "lease", kInt64},
                                        {64, "range_end", kBytes}});
}

TEST(WireContractTest, WatchMessagesMatchEtcd) {
  ExpectFields("etcdserverpb.WatchCreateRequest",
               {{1, "key", kBytes},
                {2, "range_end", kBytes},
                {3, "start_revision", kInt64},
                {4, "progress_notify", kBool},
                {5, "filters", kEnum, true},
                {6, "prev_kv", kBool},
                {7, "watch_id", kInt64},
                {8, "fragment", kBool}});
  ExpectFields("etcdserverpb.WatchResponse", {{1, "header", kMessage},
                                              {2, "watch_id", kInt64},
                                              {3, "created", kBool},
                                              {4, "canceled", kBool},
                                              {5, "compact_revision", kInt64},
                                              {6, "cancel_reason", kString},
                                              {7, "fragment", kBool},
                                              {11, "events", kMessage, true}});
}

TEST(WireContractTest, LeaseMessagesMatchEtcd) {
  ExpectFields("etcdserverpb.LeaseGrantRequest",
               {{1, "TTL", kInt64}, {2, "ID", kInt64}});
  ExpectFields("etcdserverpb.LeaseTimeToLiveResponse",
               {{1, "header", kMessage},
                {2, "ID", kInt64},
                {3, "TTL", kInt64},
                {4, "grantedTTL", kInt64},
                {5, "keys", kBytes, true}});
}

TEST(WireContractTest, StatusResponseMatchesEtcd) {
  ExpectFields("etcdserverpb.StatusResponse",
               {{1, "header", kMessage},
                {2, "version", kString},
                {3, "dbSize", kInt64},
                {4, "leader", kUint64},
                {5, "raftIndex", kUint64},
                {6, "raftTerm", kUint64},
                {7, "raftAppliedIndex", kUint64},
                {8, "errors", kString, true},
                {9, "dbSizeInUse", kInt64},
                {10, "isLearner", kBool}});
}

TEST(WireContractTest, MemberAndHeaderMatchEtcd) {
  ExpectFields("etcdserverpb.Member", {{1, "ID", kUint64},
                                       {2, "name", kString},
                                       {3, "peerURLs", kString, true},
                                       {4, "clientURLs", kString, true},
                                       {5, "isLearner", kBool}});
  ExpectFields("etcdserverpb.ResponseHeader", {{1, "cluster_id", kUint64},
                                               {2, "member_id", kUint64},
                                               {3, "revision", kInt64},
                                               {4, "raft_term", kUint64}});
}

TEST(WireContractTest, AuthLockAndElectionMessagesMatchEtcd) {
  ExpectFields("authpb.Permission", {{1, "permType", kEnum},
                                     {2, "key", kBytes},
                                     {3, "range_end", kBytes}});
  ExpectFields("etcdserverpb.AuthRoleGrantPermissionRequest",
               {{1, "name", kString}, {2, "perm", kMessage}});
  ExpectFields("v3lockpb.LockRequest", {{1, "name", kBytes}, {2, "lease", kInt64}});
  ExpectFields("v3electionpb.LeaderKey", {{1, "name", kBytes},
                                          {2, "key", kBytes},
                                          {3, "rev", kInt64},
                                          {4, "lease", kInt64}});
}

// Every service with its method count, and a sample of full method names
// (the gRPC path is "/" + service + "/" + method).
TEST(WireContractTest, ServicesHaveEtcdsMethods) {
  LinkEveryProtoFile();
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  const std::vector<std::pair<std::string, int>> services = {
      {"etcdserverpb.KV", 5},          {"etcdserverpb.Watch", 1},
      {"etcdserverpb.Lease", 5},       {"etcdserverpb.Cluster", 5},
      {"etcdserverpb.Maintenance", 7}, {"etcdserverpb.Auth", 17},
      {"v3lockpb.Lock", 2},            {"v3electionpb.Election", 5},
      {"grpc.health.v1.Health", 2}};
  for (const auto& [name, methods] : services) {
    const auto* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    EXPECT_EQ(service->method_count(), methods) << name;
  }
  for (const char* method :
       {"etcdserverpb.KV.Range", "etcdserverpb.KV.Txn",
        "etcdserverpb.Watch.Watch", "etcdserverpb.Lease.LeaseKeepAlive",
        "etcdserverpb.Lease.LeaseLeases", "etcdserverpb.Cluster.MemberPromote",
        "etcdserverpb.Maintenance.HashKV", "etcdserverpb.Maintenance.MoveLeader",
        "etcdserverpb.Auth.UserChangePassword", "etcdserverpb.Auth.AuthStatus",
        "etcdserverpb.Auth.RoleRevokePermission", "v3lockpb.Lock.Unlock",
        "v3electionpb.Election.Observe", "grpc.health.v1.Health.Check"}) {
    EXPECT_NE(pool->FindMethodByName(method), nullptr) << method;
  }
  const auto* watch = pool->FindMethodByName("etcdserverpb.Watch.Watch");
  ASSERT_NE(watch, nullptr);
  EXPECT_TRUE(watch->client_streaming());
  EXPECT_TRUE(watch->server_streaming());
  const auto* snapshot =
      pool->FindMethodByName("etcdserverpb.Maintenance.Snapshot");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_FALSE(snapshot->client_streaming());
  EXPECT_TRUE(snapshot->server_streaming());
}

}  // namespace
}  // namespace keel
