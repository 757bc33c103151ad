// Self-repair: the decisions, the marker, and the peer endpoint with its
// client.
#include "node/self_repair.h"

#include <algorithm>
#include <span>
#include <utility>

#include "absl/strings/cord.h"
#include "net/peer_transport.h"
#include "node/membership.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

constexpr std::string_view kDamagePayload = "keel.io/key-space-damage";
constexpr std::string_view kRepairPath = "/keel/repair-snapshot";
constexpr std::string_view kAppliedIndexHeader = "X-Keel-Applied-Index";
constexpr std::string_view kAppliedTermHeader = "X-Keel-Applied-Term";
constexpr std::string_view kClusterIdHeader = "X-Etcd-Cluster-ID";

constexpr std::string_view kPeerUrlLine = "peer-url ";

bool ParseDecimal(std::string_view text, uint64_t* out) { return ParseInt(text, out); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

RepairDecision DecideRepair(const DamageFacts& facts) {
  if (facts.site == DamageSite::kWal || !facts.wal_intact) {
    // A member that lost log entries or its hard state may have
    // acknowledged entries or granted votes it no longer remembers.
    return {RepairAction::kStop,
            "the raft log or hard state is damaged: entries this member acknowledged, or a "
            "vote it granted, may be lost; an operator replaces the member"};
  }
  if (facts.other_voters <= 0) {
    return {RepairAction::kStop,
            "no other voting member holds a copy of the key space to recover from"};
  }
  if (facts.site == DamageSite::kHashMismatch) {
    // A quorum of all the voters (this member included) must agree on
    // another hash without this member's vote.
    const int quorum = (facts.other_voters + 1) / 2 + 1;
    if (facts.peers_agreeing_against < quorum) {
      return {RepairAction::kStop,
              StrCat("a hash mismatch with ", facts.peers_agreeing_against,
                     " agreeing peers is not a quorum (", quorum,
                     ") against this member: which copy is damaged is unknown")};
    }
    return {RepairAction::kRepairKeySpace,
            StrCat(facts.peers_agreeing_against,
                   " peers, a quorum without this member, agree on another hash")};
  }
  return {RepairAction::kRepairKeySpace,
          "the key space is damaged and the raft log is intact: everything the key space "
          "held is committed, and a quorum has it"};
}

absl::Status CheckRepairSource(uint64_t source_applied, uint64_t source_cluster_id,
                               uint64_t log_snapshot_index, uint64_t cluster_id) {
  if (source_cluster_id != cluster_id) {
    return absl::FailedPreconditionError(
        StrCat("the peer's key space is of cluster ", FormatId(source_cluster_id), ", not ",
               FormatId(cluster_id)));
  }
  if (source_applied < log_snapshot_index) {
    return absl::FailedPreconditionError(
        StrCat("the peer has applied up to ", source_applied,
               " but this member's raft log starts after ", log_snapshot_index,
               ": the entries in between would be missing"));
  }
  return absl::OkStatus();
}

absl::Status KeySpaceDamage(absl::Status cause) {
  if (cause.ok()) return cause;
  cause.SetPayload(AsAbsl(kDamagePayload), absl::Cord("1"));
  return cause;
}

absl::Status KeySpaceDataLoss(absl::Status cause) {
  if (cause.code() != absl::StatusCode::kDataLoss) return cause;
  return KeySpaceDamage(std::move(cause));
}

bool IsKeySpaceDamage(const absl::Status& status) {
  return status.GetPayload(AsAbsl(kDamagePayload)).has_value();
}

std::string RepairMarkerPath(const ServerConfig& config) {
  return JoinPath(JoinPath(config.DataDir(), "member"), "kv.repair");
}

bool RepairPending(FileSystem& fs, const ServerConfig& config) {
  return fs.Stat(RepairMarkerPath(config)).ok();
}

absl::Status MarkKeySpaceForRepair(FileSystem& fs, const ServerConfig& config,
                                   const absl::Status& reason,
                                   const std::vector<std::string>& peer_urls) {
  const std::string path = RepairMarkerPath(config);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                        fs.Open(path, OpenOptions{.create = true, .truncate = true}));
  std::string text = StrCat("damage ", reason.ToString(), "\n");
  for (const std::string& url : peer_urls) StrAppend(&text, kPeerUrlLine, url, "\n");
  KEEL_RETURN_IF_ERROR(file->Append(text));
  KEEL_RETURN_IF_ERROR(file->SyncNow());
  return fs.SyncDirNow(JoinPath(config.DataDir(), "member"));
}

std::vector<std::string> MarkedPeerUrls(FileSystem& fs, const ServerConfig& config) {
  std::vector<std::string> out;
  auto file = fs.Open(RepairMarkerPath(config), OpenOptions{.read_only = true});
  if (!file.ok()) return out;
  auto size = (*file)->Size();
  if (!size.ok()) return out;
  auto text = (*file)->ReadAt(0, static_cast<size_t>(*size));
  if (!text.ok()) return out;
  // A damaged marker still marks; its URLs are only a hint.
  size_t line = 0;
  while (line < text->size()) {
    size_t end = text->find('\n', line);
    if (end == std::string::npos) end = text->size();
    const std::string_view one(text->data() + line, end - line);
    if (one.substr(0, kPeerUrlLine.size()) == kPeerUrlLine) {
      out.emplace_back(one.substr(kPeerUrlLine.size()));
    }
    line = end + 1;
  }
  return out;
}

Task<void> ScrubKeySpace(Env& env, KeySpace& key_space, MemberLife& life, Duration every) {
  MemberLife::LoopGuard guard(life);
  while (!life.stopping()) {
    std::vector<Task<void>> race;
    race.push_back([](Clock& clock, Duration every) -> Task<void> {
      co_await clock.Sleep(every);
    }(env.clock(), every));
    race.push_back([](MemberLife& life) -> Task<void> {
      co_await life.stopping_event().Wait();
    }(life));
    co_await WhenAny(std::move(race));
    if (life.stopping()) break;
    absl::StatusOr<store::KvHash> hash = key_space.mvcc().Hash();
    if (hash.status().code() == absl::StatusCode::kDataLoss) {
      env.log().Error("the key space failed its scrub", {{"error", hash.status().ToString()}});
      life.Fail(KeySpaceDataLoss(hash.status()));
      break;
    }
  }
}

void RegisterRepairSnapshotEndpoint(net::HttpRouter& router, Env& env, std::string scratch_dir,
                                    uint64_t cluster_id, RepairSnapshotWriter write) {
  router.Handle(
      std::string(kRepairPath),
      [&env, scratch_dir = std::move(scratch_dir), cluster_id,
       write_snapshot = std::move(write)](net::HttpRequest request) -> Task<net::HttpResponse> {
        if (request.method != "GET") co_return net::TextResponse(405, "Method Not Allowed");
        // One name per request: two repairing peers may ask at once.
        const std::string path =
            JoinPath(scratch_dir, StrCat("repair-serve-", FormatId(env.random().Next()), ".tmp"));
        absl::StatusOr<WrittenRepairSnapshot> written = co_await write_snapshot(path);
        if (!written.ok()) {
          (void)env.fs().Remove(path);
          co_return net::TextResponse(503, written.status().ToString());
        }
        net::HttpResponse response;
        absl::StatusOr<std::unique_ptr<File>> file =
            env.fs().Open(path, OpenOptions{.read_only = true});
        absl::StatusOr<uint64_t> size = file.ok() ? (*file)->Size() : file.status();
        absl::StatusOr<std::string> body =
            size.ok() ? (*file)->ReadAt(0, static_cast<size_t>(*size)) : size.status();
        file = absl::CancelledError();
        (void)env.fs().Remove(path);
        if (!body.ok()) co_return net::TextResponse(503, body.status().ToString());
        response.headers = {
            {"Content-Type", "application/octet-stream"},
            {std::string(kAppliedIndexHeader), StrCat(written->applied_index)},
            {std::string(kAppliedTermHeader), StrCat(written->applied_term)},
            {std::string(kClusterIdHeader), FormatId(cluster_id)}};
        env.log().Info("serving a key space snapshot to a member repairing itself",
                       {{"from", request.peer_address},
                        {"applied-index", written->applied_index},
                        {"size", static_cast<int64_t>(body->size())}});
        response.body = std::move(*body);
        co_return response;
      });
}

Task<absl::StatusOr<FetchedRepairSnapshot>> FetchRepairSnapshot(Env& env, std::string address,
                                                               std::string path,
                                                               Duration timeout) {
  auto connected = co_await env.clock().WithTimeout(timeout, env.net().Connect(address));
  if (!connected.has_value()) co_return absl::DeadlineExceededError("connect timed out");
  if (!connected->ok()) co_return connected->status();
  std::unique_ptr<Connection> connection = std::move(**connected);
  (void)env.fs().Remove(path);
  absl::StatusOr<std::unique_ptr<File>> file =
      env.fs().Open(path, OpenOptions{.create = true, .truncate = true});
  if (!file.ok()) co_return file.status();
  // Reads the response: headers into `head`, the body straight to `file`.
  auto receive = [](Connection* connection, File* file,
                    FetchedRepairSnapshot* out) -> Task<absl::Status> {
    std::string head;
    char buffer[64 << 10];
    size_t head_end = std::string::npos;
    uint64_t body_bytes = 0, written = 0;
    while (true) {
      absl::StatusOr<size_t> n =
          co_await connection->Read(std::span<char>(buffer, sizeof buffer));
      if (!n.ok()) co_return n.status();
      if (*n == 0) break;
      std::string_view chunk(buffer, *n);
      if (head_end == std::string::npos) {
        head.append(chunk);
        if (head.size() > (64 << 10)) co_return absl::InvalidArgumentError("headers too long");
        head_end = head.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        if (head.compare(0, 9, "HTTP/1.1 ") != 0) {
          co_return absl::InvalidArgumentError("not an HTTP response");
        }
        if (head.compare(9, 3, "200") != 0) {
          co_return absl::UnavailableError(
              StrCat("answered ", head.substr(9, std::min(head_end, head.size()) - 9)));
        }
        bool has_length = false, has_index = false, has_term = false, has_cluster = false;
        size_t line = head.find("\r\n") + 2;
        while (line < head_end) {
          const size_t end = head.find("\r\n", line);
          const std::string_view header(head.data() + line, end - line);
          line = end + 2;
          const size_t colon = header.find(':');
          if (colon == std::string_view::npos) continue;
          const std::string_view name = header.substr(0, colon);
          std::string_view value = header.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (EqualsIgnoreCase(name, "Content-Length")) {
            has_length = ParseDecimal(value, &body_bytes);
          } else if (EqualsIgnoreCase(name, kAppliedIndexHeader)) {
            has_index = ParseDecimal(value, &out->applied_index);
          } else if (EqualsIgnoreCase(name, kAppliedTermHeader)) {
            has_term = ParseDecimal(value, &out->applied_term);
          } else if (EqualsIgnoreCase(name, kClusterIdHeader)) {
            has_cluster = ParseId(value, &out->cluster_id);
          }
        }
        if (!has_length || !has_index || !has_term || !has_cluster) {
          co_return absl::InvalidArgumentError("the repair snapshot's headers are incomplete");
        }
        chunk = std::string_view(head).substr(head_end + 4);
      }
      if (written + chunk.size() > body_bytes) {
        co_return absl::InvalidArgumentError("more body than its Content-Length");
      }
      KEEL_CO_RETURN_IF_ERROR(file->Append(chunk));
      written += chunk.size();
      if (written == body_bytes) co_return absl::OkStatus();
    }
    if (head_end == std::string::npos || written != body_bytes) {
      co_return absl::DataLossError(
          StrCat("the repair snapshot ended after ", written, " of ", body_bytes, " bytes"));
    }
    co_return absl::OkStatus();
  };
  const std::string request = StrCat("GET ", kRepairPath, " HTTP/1.1\r\nHost: ", address,
                                     "\r\nConnection: close\r\n\r\n");
  absl::Status sent = co_await connection->Write(request);
  if (!sent.ok()) co_return sent;
  FetchedRepairSnapshot fetched;
  auto received =
      co_await env.clock().WithTimeout(timeout, receive(connection.get(), file->get(), &fetched));
  connection->Close();
  if (!received.has_value()) co_return absl::DeadlineExceededError("response timed out");
  if (!received->ok()) co_return *received;
  absl::Status synced = co_await (*file)->Sync();
  if (!synced.ok()) co_return synced;
  co_return fetched;
}

}  // namespace keel::node
