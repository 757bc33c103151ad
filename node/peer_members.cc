// /members on the peer port: the endpoint, its JSON, and the joining
// member's fetch.
#include "node/peer_members.h"

#include <algorithm>
#include <utility>

#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

constexpr std::string_view kClusterIdHeader = "X-Etcd-Cluster-ID";

void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonStrings(std::string* out, const std::vector<std::string>& values) {
  out->push_back('[');
  for (size_t i = 0; i < values.size(); i++) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, values[i]);
  }
  out->push_back(']');
}

// A reader of the one JSON shape /members answers.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      pos_++;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }
  bool ReadString(std::string* out) {
    if (!Consume('"')) return false;
    out->clear();
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char escaped = text_[pos_++];
      switch (escaped) {
        case '"': case '\\': case '/': out->push_back(escaped); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return false;
          uint32_t code = 0;
          if (!ParseHex(text_.substr(pos_, 4), &code) || code > 0x7f) return false;
          out->push_back(static_cast<char>(code));
          pos_ += 4;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool ReadStrings(std::vector<std::string>* out) {
    out->clear();
    if (Consume('n')) return Literal("ull");
    if (!Consume('[')) return false;
    if (Consume(']')) return true;
    do {
      std::string value;
      if (!ReadString(&value)) return false;
      out->push_back(std::move(value));
    } while (Consume(','));
    return Consume(']');
  }
  bool ReadBool(bool* out) {
    if (Consume('t')) {
      *out = true;
      return Literal("rue");
    }
    if (Consume('f')) {
      *out = false;
      return Literal("alse");
    }
    return false;
  }

 private:
  bool Literal(std::string_view rest) {
    if (text_.substr(pos_, rest.size()) != rest) return false;
    pos_ += rest.size();
    return true;
  }
  static bool ParseHex(std::string_view text, uint32_t* out) {
    uint32_t value = 0;
    for (char c : text) {
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = value;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::vector<std::string> Sorted(std::vector<std::string> urls) {
  std::sort(urls.begin(), urls.end());
  return urls;
}

// One GET /members to `address`, within `timeout`.
Task<absl::StatusOr<RemoteCluster>> FetchOnce(Env& env, std::string address, Duration timeout) {
  auto connected = co_await env.clock().WithTimeout(timeout, env.net().Connect(address));
  if (!connected.has_value()) co_return absl::DeadlineExceededError("connect timed out");
  if (!connected->ok()) co_return connected->status();
  std::unique_ptr<Connection> connection = std::move(**connected);
  const std::string request = StrCat("GET /members HTTP/1.1\r\nHost: ", address,
                                     "\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
  absl::Status written = co_await connection->Write(request);
  if (!written.ok()) co_return written;
  // The answer is small; read it whole until the server closes.
  auto read_all = [](Connection* connection) -> Task<absl::StatusOr<std::string>> {
    std::string response;
    char buffer[16 << 10];
    while (response.size() < (4u << 20)) {
      absl::StatusOr<size_t> n = co_await connection->Read(std::span<char>(buffer, sizeof buffer));
      if (!n.ok()) co_return n.status();
      if (*n == 0) break;
      response.append(buffer, *n);
    }
    co_return response;
  };
  auto response = co_await env.clock().WithTimeout(timeout, read_all(connection.get()));
  connection->Close();
  if (!response.has_value()) co_return absl::DeadlineExceededError("response timed out");
  if (!response->ok()) co_return response->status();
  const std::string& text = **response;
  const size_t head_end = text.find("\r\n\r\n");
  if (head_end == std::string::npos || text.compare(0, 9, "HTTP/1.1 ") != 0) {
    co_return absl::InvalidArgumentError("not an HTTP response");
  }
  if (text.compare(9, 3, "200") != 0) {
    co_return absl::UnavailableError(StrCat("answered ", text.substr(9, 3)));
  }
  RemoteCluster cluster;
  bool has_id = false;
  size_t line = text.find("\r\n") + 2;
  while (line < head_end) {
    const size_t end = text.find("\r\n", line);
    const std::string_view header(text.data() + line, end - line);
    const size_t colon = header.find(':');
    if (colon != std::string_view::npos) {
      std::string name(header.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string_view value = header.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name == "x-etcd-cluster-id") has_id = ParseId(value, &cluster.cluster_id);
    }
    line = end + 2;
  }
  if (!has_id || cluster.cluster_id == 0) {
    co_return absl::InvalidArgumentError("no cluster ID in the answer");
  }
  KEEL_CO_ASSIGN_OR_RETURN(cluster.members,
                           DecodeMembersJson(std::string_view(text).substr(head_end + 4)));
  co_return cluster;
}

}  // namespace

std::string EncodeMembersJson(const std::vector<Member>& members) {
  std::string out = "[";
  for (size_t i = 0; i < members.size(); i++) {
    const Member& m = members[i];
    if (i > 0) out.push_back(',');
    StrAppend(&out, "{\"id\":\"", FormatId(m.id), "\",\"peerURLs\":");
    AppendJsonStrings(&out, m.peer_urls);
    if (m.is_learner) out.append(",\"isLearner\":true");
    if (!m.name.empty()) {
      out.append(",\"name\":");
      AppendJsonString(&out, m.name);
    }
    if (!m.client_urls.empty()) {
      out.append(",\"clientURLs\":");
      AppendJsonStrings(&out, m.client_urls);
    }
    out.push_back('}');
  }
  out.append("]\n");
  return out;
}

absl::StatusOr<std::vector<Member>> DecodeMembersJson(std::string_view json) {
  const absl::Status bad = absl::InvalidArgumentError("/members did not answer a member list");
  JsonReader reader(json);
  std::vector<Member> members;
  if (!reader.Consume('[')) return bad;
  if (!reader.Consume(']')) {
    do {
      if (!reader.Consume('{')) return bad;
      Member member;
      if (!reader.Consume('}')) {
        do {
          std::string key;
          if (!reader.ReadString(&key) || !reader.Consume(':')) return bad;
          bool ok = true;
          if (key == "id") {
            std::string id;
            ok = reader.ReadString(&id) && ParseId(id, &member.id);
          } else if (key == "name") {
            ok = reader.ReadString(&member.name);
          } else if (key == "peerURLs") {
            ok = reader.ReadStrings(&member.peer_urls);
          } else if (key == "clientURLs") {
            ok = reader.ReadStrings(&member.client_urls);
          } else if (key == "isLearner") {
            ok = reader.ReadBool(&member.is_learner);
          } else {
            ok = false;  // etcd's Member has no other field
          }
          if (!ok) return bad;
        } while (reader.Consume(','));
        if (!reader.Consume('}')) return bad;
      }
      if (member.id == 0) return bad;
      members.push_back(std::move(member));
    } while (reader.Consume(','));
    if (!reader.Consume(']')) return bad;
  }
  if (!reader.AtEnd()) return bad;
  return members;
}

void RegisterPeerMembersEndpoint(net::HttpRouter& router, const MemberStore& members,
                                 uint64_t cluster_id) {
  router.Handle("/members",
                [&members, cluster_id](net::HttpRequest request) -> Task<net::HttpResponse> {
                  if (request.method != "GET") {
                    net::HttpResponse refused = net::TextResponse(405, "Method Not Allowed");
                    refused.headers.push_back({"Allow", "GET"});
                    co_return refused;
                  }
                  std::vector<Member> list;
                  for (const auto& [id, member] : members.members()) list.push_back(member);
                  net::HttpResponse response;
                  response.headers.push_back({std::string(kClusterIdHeader), FormatId(cluster_id)});
                  response.headers.push_back({"Content-Type", "application/json"});
                  response.body = EncodeMembersJson(list);
                  co_return response;
                });
}

Task<absl::StatusOr<RemoteCluster>> FetchClusterFromPeers(Env& env,
                                                          std::vector<std::string> peer_urls,
                                                          Duration timeout) {
  for (const std::string& url : peer_urls) {
    absl::StatusOr<Url> parsed = ParseUrl(url);
    if (!parsed.ok()) continue;
    absl::StatusOr<RemoteCluster> cluster = co_await FetchOnce(env, parsed->HostPort(), timeout);
    if (cluster.ok()) co_return cluster;
    env.log().Warn("failed to get cluster response", {{"address", url},
                                                      {"error", cluster.status().ToString()}});
  }
  co_return absl::UnavailableError("could not retrieve cluster information from the given URLs");
}

absl::StatusOr<std::vector<Member>> MatchJoiningMembers(const std::vector<Member>& local,
                                                        const RemoteCluster& remote) {
  if (local.size() != remote.members.size()) {
    return absl::FailedPreconditionError(
        "error validating peerURLs: member count is unequal");
  }
  std::vector<Member> matched = local;
  std::vector<bool> taken(matched.size(), false);
  for (const Member& existing : remote.members) {
    bool found = false;
    for (size_t j = 0; j < matched.size(); j++) {
      if (taken[j] || Sorted(matched[j].peer_urls) != Sorted(existing.peer_urls)) continue;
      const std::string name = matched[j].name;
      matched[j] = existing;
      // The joining member is not started yet: it has no name in the list.
      if (matched[j].name.empty()) matched[j].name = name;
      taken[j] = true;
      found = true;
      break;
    }
    if (!found) {
      std::string urls;
      for (const auto& url : existing.peer_urls) StrAppend(&urls, urls.empty() ? "" : " ", url);
      return absl::FailedPreconditionError(
          StrCat("error validating peerURLs: PeerURLs: no match found for existing member (",
                 FormatId(existing.id), ", [", urls, "])"));
    }
  }
  return matched;
}

}  // namespace keel::node
