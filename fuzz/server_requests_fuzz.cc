// fuzz_server_requests: every request message into a member's handlers.
//
// A single-member Server (node/server.h) runs on a simulated machine with
// its real storage (WAL, LevelDB on the simulated disk), behind the gRPC
// services a Node registers (KV, Maintenance, Cluster, Watch). Each input
// picks a method and gives it request bytes, parsed as that method's
// etcdserverpb request type by the service as grpc-go would; the handler
// runs its request checks (node/request_checks.h) and the Server.
// Requirements: no crash; a failure is a well-formed status (a gRPC code,
// a message); a success is a response of the method's type with etcd's
// header (cluster and member id, a revision); and the member is still the
// leader afterwards (no request may break it).
//
// Input: up to 8 calls, each: method byte (index into kMethods), flags byte
// (bit 0 sends `hasleader: true`; 1 + (flags >> 4) % 4 is the number of
// request messages), then the request messages as FuzzInput::String()s (a
// unary method takes the first; a stream reads them all, then the client
// half-closes; a stream still open after two simulated seconds is
// cancelled, as a client going away does). The member lives on across
// inputs (rebuilt every 500), so the key space holds earlier inputs' keys.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "net/grpc_server.h"
#include "node/member_services.h"
#include "node/server.h"
#include "node/testing/sim_members.h"
#include "node/watch_service.h"
#include "proto/rpc.pb.h"
#include "runtime/assert.h"

namespace keel::fuzz {
namespace {

template <typename Response>
bool CheckResponse(const std::string& bytes) {
  Response response;
  if (!response.ParseFromString(bytes)) return false;
  const etcdserverpb::ResponseHeader& header = response.header();
  return header.cluster_id() != 0 && header.member_id() != 0 && header.revision() >= 1;
}

// etcd's cluster server sends member lists with a header that has no
// revision (etcdserver/api/v3rpc/member.go); keel too.
bool CheckMemberListResponse(const std::string& bytes) {
  etcdserverpb::MemberListResponse response;
  if (!response.ParseFromString(bytes)) return false;
  const etcdserverpb::ResponseHeader& header = response.header();
  return header.cluster_id() != 0 && header.member_id() != 0 && header.revision() == 0 &&
         response.members_size() >= 1;
}

// etcd's watch server sends a compacted watch's cancellation with the
// revision the mvcc layer gave it, 0 (mvcc/watchable_store.go); keel too.
bool CheckWatchResponse(const std::string& bytes) {
  etcdserverpb::WatchResponse response;
  if (!response.ParseFromString(bytes)) return false;
  const etcdserverpb::ResponseHeader& header = response.header();
  const int64_t min_revision = response.compact_revision() != 0 ? 0 : 1;
  return header.cluster_id() != 0 && header.member_id() != 0 &&
         header.revision() >= min_revision;
}

struct MethodInfo {
  const char* path;
  bool (*check)(const std::string&);
};

const MethodInfo kMethods[] = {
    {"/etcdserverpb.KV/Range", CheckResponse<etcdserverpb::RangeResponse>},
    {"/etcdserverpb.KV/Put", CheckResponse<etcdserverpb::PutResponse>},
    {"/etcdserverpb.KV/DeleteRange", CheckResponse<etcdserverpb::DeleteRangeResponse>},
    {"/etcdserverpb.KV/Txn", CheckResponse<etcdserverpb::TxnResponse>},
    {"/etcdserverpb.KV/Compact", CheckResponse<etcdserverpb::CompactionResponse>},
    {"/etcdserverpb.Maintenance/Status", CheckResponse<etcdserverpb::StatusResponse>},
    {"/etcdserverpb.Maintenance/Hash", CheckResponse<etcdserverpb::HashResponse>},
    {"/etcdserverpb.Maintenance/HashKV", CheckResponse<etcdserverpb::HashKVResponse>},
    {"/etcdserverpb.Maintenance/Snapshot", CheckResponse<etcdserverpb::SnapshotResponse>},
    {"/etcdserverpb.Cluster/MemberList", CheckMemberListResponse},
    {"/etcdserverpb.Watch/Watch", CheckWatchResponse},
};
constexpr size_t kMethodCount = sizeof(kMethods) / sizeof(kMethods[0]);

// A call's stream: the fuzzer's messages, then the client's half-close.
class FuzzStream : public net::ServerStream {
 public:
  explicit FuzzStream(std::deque<std::string> requests) : requests_(std::move(requests)) {}
  Task<std::optional<std::string>> Read() override {
    if (requests_.empty()) co_return std::nullopt;
    std::string next = std::move(requests_.front());
    requests_.pop_front();
    co_return next;
  }
  Task<absl::Status> Write(std::string message) override {
    responses_.push_back(std::move(message));
    co_return absl::OkStatus();
  }
  const std::vector<std::string>& responses() const { return responses_; }

 private:
  std::deque<std::string> requests_;
  std::vector<std::string> responses_;
};

// The member (node/testing's SimMembers) and the services a Node would
// register for it, whose handlers the inputs call directly.
struct Member {
  Member() {
    KEEL_ASSERT(c.Start(0).ok());
    KEEL_ASSERT(c.WaitLeader(Seconds(10)) == 0);
    server = &c.server(0);
    services = std::make_unique<node::MemberServices>(c.env(0), *server);
    services->Register(grpc, http);
  }

  // The registries outlive the machine, whose process runs their handlers.
  net::GrpcServer grpc;
  net::HttpRouter http;
  node::testing::SimMembers c;
  node::Server* server = nullptr;
  std::unique_ptr<node::MemberServices> services;
};

// Rebuilt every 500 inputs (fuzz/recycled.h); call once per input.
Member& TheMember() { return Recycled<Member>(500); }

void CheckStatus(const absl::Status& status) {
  if (status.ok()) return;
  const int code = static_cast<int>(status.code());
  KEEL_ASSERT_MSG(code >= 1 && code <= 16, status.ToString().c_str());
  KEEL_ASSERT_MSG(!status.message().empty(), "an error status without a message");
}

void Call(Member& member, const MethodInfo& method, bool has_leader,
          std::deque<std::string> requests) {
  const net::GrpcServer::Method* handler = member.grpc.Find(method.path);
  KEEL_ASSERT(handler != nullptr);
  net::CallContext context;
  context.method = method.path;
  context.authority = "10.0.0.1:2379";
  context.peer_address = "10.0.0.9:40000";
  if (has_leader) context.metadata.emplace_back("hasleader", "true");
  Env& env = member.c.env(0);
  if (handler->unary) {
    std::string request = requests.empty() ? std::string() : requests.front();
    auto result = member.c.RunOn(
        0,
        [](const net::UnaryHandler& unary, net::CallContext& context,
           std::string request) -> Task<absl::StatusOr<std::string>> {
          co_return co_await unary(context, std::move(request));
        }(handler->unary, context, std::move(request)),
        Seconds(60));
    if (Verbose()) std::fprintf(stderr, "%s: %s\n", method.path, result.status().ToString().c_str());
    CheckStatus(result.status());
    if (result.ok()) {
      KEEL_ASSERT_MSG(method.check(*result), "a malformed response");
    }
    return;
  }
  FuzzStream stream(std::move(requests));
  auto finished = member.c.RunOn(
      0,
      [](Env& env, const net::StreamHandler& handler, net::CallContext& context,
         FuzzStream& stream) -> Task<std::optional<absl::Status>> {
        co_return co_await env.clock().WithTimeout(Seconds(2), handler(context, stream));
      }(env, handler->stream, context, stream),
      Seconds(60));
  if (Verbose()) {
    std::fprintf(stderr, "%s: %s, %zu responses\n", method.path,
                 finished.has_value() ? finished->ToString().c_str() : "open (cancelled)",
                 stream.responses().size());
  }
  if (finished.has_value()) CheckStatus(*finished);
  for (const std::string& response : stream.responses()) {
    KEEL_ASSERT_MSG(method.check(response), "a malformed stream response");
  }
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::fuzz;
  FuzzInput input(data, size);
  Member& member = TheMember();
  for (int calls = 0; !input.empty() && calls < 8; calls++) {
    const MethodInfo& method = kMethods[input.Byte() % kMethodCount];
    const uint8_t flags = input.Byte();
    std::deque<std::string> requests;
    const int messages = 1 + (flags >> 4) % 4;
    for (int i = 0; i < messages; i++) requests.emplace_back(input.String());
    Call(member, method, /*has_leader=*/flags & 1, std::move(requests));
    KEEL_ASSERT_MSG(member.server->raft().is_leader(), "a request broke the member");
  }
  return 0;
}
