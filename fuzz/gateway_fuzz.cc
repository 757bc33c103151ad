// fuzz_gateway: arbitrary bytes into the JSON gateway of a real member.
//
// A single-member Node (node/node.h: the Server, its gRPC services, the
// gateway's routes on the HTTP router, its client listener) runs on a
// simulated machine; a client machine connects to its client port and
// writes the input's requests, reads what comes back for two simulated
// seconds (a watch stays open; the client then leaves), and closes. So the
// bytes go through the HTTP/1.1 parser, the gateway's JSON mapping and the
// same handlers and interceptors gRPC calls reach. Requirements: no crash;
// in structured mode every answer is HTTP/1.1 and every JSON body (or each
// line of a streamed one) is valid JSON; the member is still the leader
// afterwards.
//
// Input: byte 0 picks the mode. Even: the rest is written to the
// connection as it is (the parser's view). Odd: up to 6 requests, each a
// route byte (an index into node::EtcdGatewayRoutes()), a flags byte (bits
// 0-1: /v3/, /v3beta/, /v3alpha/, or a method other than POST; bit 2: an
// Authorization header, the next String()), then the body as a String().
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/gateway_routes.h"
#include "node/testing/sim_members.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::fuzz {
namespace {

struct Member {
  Member() : c({.size = 1, .kind = node::testing::MemberKind::kNode}) {
    KEEL_ASSERT(c.Start(0).ok());
    KEEL_ASSERT(c.WaitLeader(Seconds(10)) == 0);
  }
  node::testing::SimMembers c;
};

// Rebuilt every 500 inputs (fuzz/recycled.h); call once per input.
Member& TheMember() { return Recycled<Member>(500); }

// Writes `bytes`, then reads for up to two seconds (or until the server
// closes), then closes.
Task<std::string> Exchange(Env& env, std::string bytes) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      co_await env.net().Connect(node::testing::MemberClientAddress(0));
  KEEL_ASSERT(connection.ok());
  std::string out;
  if ((co_await (*connection)->Write(bytes)).ok()) {
    co_await env.clock().WithTimeout(
        Seconds(2), [](Connection& connection, std::string* out) -> Task<void> {
          std::vector<char> buffer(16384);
          while (out->size() < (8u << 20)) {
            absl::StatusOr<size_t> n = co_await connection.Read(buffer);
            if (!n.ok() || *n == 0) break;
            out->append(buffer.data(), *n);
          }
        }(**connection, &out));
  }
  (*connection)->Close();
  co_return out;
}

bool IsJson(std::string_view text) {
  google::protobuf::Value value;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(text.data(), text.size()), &value)
      .ok();
}

// The bodies of the responses in `out`, de-chunked; false if something in
// it is not an HTTP/1.1 response.
bool CheckResponses(std::string_view out) {
  while (!out.empty()) {
    if (!out.starts_with("HTTP/1.1 ")) return false;
    const size_t head_end = out.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return true;  // cut by the timeout
    const std::string_view head = out.substr(0, head_end);
    out.remove_prefix(head_end + 4);
    const bool json = head.find("Content-Type: application/json") != std::string_view::npos;
    std::string body;
    if (head.find("Transfer-Encoding: chunked") != std::string_view::npos) {
      while (true) {
        const size_t line_end = out.find("\r\n");
        if (line_end == std::string_view::npos) return true;  // still streaming
        size_t size = 0;
        for (char c : out.substr(0, line_end)) {
          const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                            : (c >= 'a' && c <= 'f')                      ? c - 'a' + 10
                                                                          : -1;
          if (digit < 0) return false;
          size = size * 16 + static_cast<size_t>(digit);
        }
        if (out.size() < line_end + 2 + size + 2) return true;  // still streaming
        body.append(out.substr(line_end + 2, size));
        out.remove_prefix(line_end + 2 + size + 2);
        if (size == 0) break;
      }
      if (json) {
        // One JSON value per line.
        for (size_t at = 0; at < body.size();) {
          size_t end = body.find('\n', at);
          if (end == std::string::npos) end = body.size();
          if (end > at && !IsJson(std::string_view(body).substr(at, end - at))) return false;
          at = end + 1;
        }
      }
    } else {
      const size_t at = head.find("Content-Length: ");
      if (at == std::string_view::npos) return true;
      size_t length = 0;
      for (size_t i = at + 16; i < head.size() && std::isdigit(static_cast<unsigned char>(head[i]));
           i++) {
        length = length * 10 + static_cast<size_t>(head[i] - '0');
      }
      if (out.size() < length) return true;  // cut by the timeout
      body = std::string(out.substr(0, length));
      out.remove_prefix(length);
      if (json && !IsJson(body)) return false;
    }
  }
  return true;
}

std::string StructuredRequests(FuzzInput& input) {
  static constexpr std::string_view kPrefixes[] = {"/v3/", "/v3beta/", "/v3alpha/", "/v3/"};
  const auto routes = node::EtcdGatewayRoutes();
  std::string out;
  for (int i = 0; i < 6 && !input.empty(); i++) {
    const net::GatewayRoute& route = routes[input.Byte() % routes.size()];
    const uint8_t flags = input.Byte();
    const std::string_view method = (flags & 3) == 3 ? "GET" : "POST";
    std::string headers;
    if (flags & 4) {
      std::string token(input.String());
      for (char& c : token) {
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
      }
      headers = StrCat("Authorization: ", token, "\r\n");
    }
    const std::string_view body = input.String();
    StrAppend(&out, method, " ", kPrefixes[flags & 3], route.path, " HTTP/1.1\r\nHost: f\r\n",
              headers, "Content-Length: ", body.size(), "\r\n\r\n", body);
  }
  return out;
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::fuzz;
  FuzzInput input(data, size);
  Member& member = TheMember();
  const bool structured = input.Byte() & 1;
  std::string bytes = structured ? StructuredRequests(input) : std::string(input.Rest());
  std::string out = member.c.Run(Exchange(member.c.client_env(), std::move(bytes)),
                                 keel::Seconds(60));
  if (Verbose()) std::fprintf(stderr, "%s\n", out.c_str());
  if (structured) KEEL_ASSERT_MSG(CheckResponses(out), out.c_str());
  KEEL_ASSERT_MSG(member.c.server(0).raft().is_leader(), "a request broke the member");
  return 0;
}
