// CorruptionChecker: HashKV against the peers, at start and on the leader.
#include "node/corruption_checker.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "client/etcd_client.h"
#include "net/peer_transport.h"
#include "node/errors.h"
#include "node/membership.h"
#include "node/self_repair.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

Task<void> SleepFor(Clock& clock, Duration d) { co_await clock.Sleep(d); }
Task<void> WaitFor(Event& event) { co_await event.Wait(); }

}  // namespace

Task<std::vector<CorruptionChecker::PeerHash>> CorruptionChecker::PeerHashes(int64_t revision) {
  std::vector<Member> peers;
  for (const auto& [id, member] : parts_.key_space.members().members()) {
    if (id != parts_.raft.id() && !member.client_urls.empty()) peers.push_back(member);
  }
  std::vector<PeerHash> out;
  for (const Member& peer : peers) {
    PeerHash hash;
    hash.id = peer.id;
    hash.response = absl::UnavailableError("no client URL answered");
    for (const std::string& url : peer.client_urls) {
      auto address = net::PeerUrlToAddress(url);
      if (!address.ok()) continue;
      client::ClientOptions options;
      options.endpoints = {*address};
      options.dial_timeout = parts_.request_timeout;
      client::EtcdClient client(parts_.env, std::move(options));
      hash.response = co_await client.HashKV(
          *address, revision, client::RequestOptions::WithTimeout(parts_.request_timeout));
      if (hash.response.ok()) break;
      parts_.env.log().Warn("failed hash kv request",
                            {{"remote-peer-id", FormatId(peer.id)},
                             {"requested-revision", revision},
                             {"remote-peer-endpoint", url},
                             {"error", hash.response.status().ToString()}});
    }
    out.push_back(std::move(hash));
  }
  co_return out;
}

Task<absl::Status> CorruptionChecker::InitialCheck() {
  const std::string self = FormatId(parts_.raft.id());
  parts_.env.log().Info("starting initial corruption check", {{"local-member-id", self}});
  auto local = parts_.key_space.mvcc().HashKV(0);
  if (!local.ok()) {
    co_return absl::InternalError(
        StrCat(self, " failed to fetch hash (", local.status().message(), ")"));
  }
  std::vector<PeerHash> peers = co_await PeerHashes(local->revision);
  int mismatches = 0;
  // Peers that agree with each other against this member, by their hash.
  std::map<uint32_t, int> against;
  for (const PeerHash& peer : peers) {
    if (!peer.response.ok()) continue;  // down, behind or ahead: etcd skips it
    if (peer.response->hash() == local->hash) continue;
    const bool same_compaction = peer.response->compact_revision() == local->compact_revision;
    parts_.env.log().Warn(same_compaction ? "found different hash values from remote peer"
                                          : "found different compact revision values from "
                                            "remote peer",
                          {{"local-member-id", self},
                           {"local-member-revision", local->revision},
                           {"local-member-compact-revision", local->compact_revision},
                           {"local-member-hash", local->hash},
                           {"remote-peer-id", FormatId(peer.id)},
                           {"remote-peer-compact-revision", peer.response->compact_revision()},
                           {"remote-peer-hash", peer.response->hash()}});
    if (same_compaction) {
      mismatches++;
      const Member* peer_member = parts_.key_space.members().Find(peer.id);
      if (peer_member != nullptr && !peer_member->is_learner) against[peer.response->hash()]++;
    }
  }
  if (mismatches > 0) {
    absl::Status refused =
        absl::FailedPreconditionError(StrCat(self, " found data inconsistency with peers"));
    // Beyond etcd: when a quorum of the voters, without this member, agree
    // on another hash, this member's copy is the damaged one; it drops it
    // and recovers on its next start (node/self_repair.h).
    int agreeing = 0;
    for (const auto& [hash, count] : against) agreeing = std::max(agreeing, count);
    int other_voters = 0;
    for (const auto& [id, member] : parts_.key_space.members().members()) {
      if (id != parts_.raft.id() && !member.is_learner) other_voters++;
    }
    const RepairDecision decision = DecideRepair({.site = DamageSite::kHashMismatch,
                                                  .wal_intact = true,
                                                  .other_voters = other_voters,
                                                  .peers_agreeing_against = agreeing});
    parts_.env.log().Warn("deciding whether to repair the key space",
                          {{"local-member-id", self},
                           {"repair", decision.action == RepairAction::kRepairKeySpace},
                           {"why", decision.why}});
    if (decision.action == RepairAction::kRepairKeySpace) co_return KeySpaceDamage(refused);
    co_return refused;
  }
  parts_.env.log().Info("initial corruption checking passed; no corruption",
                        {{"local-member-id", self}});
  co_return absl::OkStatus();
}

void CorruptionChecker::Start() {
  if (check_every_ > Duration::zero()) parts_.env.Spawn(Loop());
}

Task<void> CorruptionChecker::Loop() {
  MemberLife::LoopGuard guard(parts_.life);
  parts_.env.log().Info("enabled corruption checking",
                        {{"interval-ms", ToMilliseconds(check_every_)}});
  while (!parts_.life.stopping()) {
    std::vector<Task<void>> race;
    race.push_back(SleepFor(parts_.env.clock(), check_every_));
    race.push_back(WaitFor(parts_.life.stopping_event()));
    co_await WhenAny(std::move(race));
    if (parts_.life.stopping()) break;
    if (!parts_.raft.is_leader()) continue;
    (void)co_await CheckNow();
  }
}

Task<bool> CorruptionChecker::CheckNow() {
  if (!parts_.raft.is_leader()) co_return false;
  auto first = parts_.key_space.mvcc().HashKV(0);
  if (!first.ok()) co_return false;
  std::vector<PeerHash> peers = co_await PeerHashes(first->revision);
  // Still the leader, and applied up to a point after the peers answered.
  if (!(co_await parts_.reads.Barrier()).ok()) co_return false;
  auto second = parts_.key_space.mvcc().HashKV(0);
  if (!second.ok()) co_return false;
  bool mismatch = false;
  auto report = [&](std::string_view what, uint64_t member, std::vector<LogField> fields) {
    fields.push_back({"member-id", FormatId(member)});
    parts_.env.log().Warn(what, std::move(fields));
    mismatch = true;
  };
  if (second->hash != first->hash && second->revision == first->revision &&
      second->compact_revision == first->compact_revision) {
    report("found hash mismatch", parts_.raft.id(),
           {{"revision", first->revision}, {"hash-1", first->hash}, {"hash-2", second->hash}});
  }
  for (const PeerHash& peer : peers) {
    if (!peer.response.ok()) continue;
    const etcdserverpb::HashKVResponse& r = *peer.response;
    if (r.header().revision() > second->revision) {
      report("revision from follower must be less than or equal to leader's", peer.id,
             {{"leader-revision", second->revision},
              {"follower-revision", r.header().revision()}});
    }
    if (r.compact_revision() > second->compact_revision) {
      report("compact revision from follower must be less than or equal to leader's",
             peer.id,
             {{"leader-compact-revision", second->compact_revision},
              {"follower-compact-revision", r.compact_revision()}});
    }
    if (r.compact_revision() == first->compact_revision && r.hash() != first->hash) {
      report("same compact revision then hashes must match", peer.id,
             {{"revision", first->revision},
              {"leader-hash", first->hash},
              {"follower-hash", r.hash()}});
    }
  }
  if (!mismatch) co_return false;
  // etcd raises CORRUPT for member 0, whoever diverged.
  internal::InternalRaftRequest proposal;
  etcdserverpb::AlarmRequest* alarm = proposal.mutable_alarm();
  alarm->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm->set_memberid(0);
  alarm->set_alarm(etcdserverpb::CORRUPT);
  auto raised = co_await parts_.proposer.ProposeFor<etcdserverpb::AlarmResponse>(
      std::move(proposal));
  if (!raised.ok()) {
    parts_.env.log().Warn("failed to raise the CORRUPT alarm",
                          {{"error", raised.status().ToString()}});
  }
  co_return true;
}

}  // namespace keel::node
