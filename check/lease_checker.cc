// The lease checker; see lease_checker.h.
#include "check/lease_checker.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/kv_eval.h"
#include "check/observations.h"

namespace keel::check {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

struct Renewal {
  int64_t invoke;
  int64_t ttl;
  OpId id;
  bool grant;
};
struct Death {
  int64_t by_ns;  // the lease was gone by this time
  OpId id;
  std::string how;
};
struct LeaseInfo {
  std::vector<Renewal> renewals;
  int64_t granted_ttl = -1;
  OpId grant_id = -1;
  int64_t first_revoke_ns = kNever;
  std::vector<Death> deaths;
  int64_t max_present_revision = 0;  // highest revision a key was seen attached
  OpId max_present_op = -1;
};

Violation LeaseViolation(std::string property, std::vector<OpId> ops, std::string text) {
  return Violation{"lease", std::move(property), std::move(ops), std::move(text), ""};
}

class LeaseCheck {
 public:
  LeaseCheck(const History& history, const CommittedHistory* committed,
             const LeaseOptions& options)
      : h_(history), committed_(committed), options_(options) {}

  std::vector<Violation> Run() {
    GatherLeaseOps();
    std::vector<KeyObservation> obs = CollectObservations(h_);
    GatherKeyWrites();
    CheckSingleRevision(obs);
    if (committed_ != nullptr) GatherKvDeaths(obs);
    for (auto& [lease, info] : leases_) CheckLifetime(lease, info);
    return std::move(out_);
  }

 private:
  void Report(Violation v) {
    if (out_.size() < options_.max_violations) out_.push_back(std::move(v));
  }

  void GatherLeaseOps() {
    for (const Operation& op : h_.ops) {
      switch (op.type()) {
        case OpType::kLeaseGrant: {
          if (op.outcome != Outcome::kOk) break;
          const auto& r = std::get<LeaseGrantResponse>(op.response);
          LeaseInfo& info = leases_[r.id];
          info.renewals.push_back(Renewal{op.invoke_ns, r.ttl, op.id, true});
          info.granted_ttl = r.ttl;
          info.grant_id = op.id;
          break;
        }
        case OpType::kLeaseKeepAlive: {
          if (op.outcome != Outcome::kOk) break;
          int64_t id = std::get<LeaseKeepAliveRequest>(op.request).id;
          int64_t ttl = std::get<LeaseKeepAliveResponse>(op.response).ttl;
          LeaseInfo& info = leases_[id];
          if (ttl > 0) {
            info.renewals.push_back(Renewal{op.invoke_ns, ttl, op.id, false});
          } else {
            info.deaths.push_back(Death{op.complete_ns, op.id, "a keepalive answered TTL 0"});
          }
          break;
        }
        case OpType::kLeaseTimeToLive: {
          if (op.outcome != Outcome::kOk) break;
          int64_t id = std::get<LeaseTimeToLiveRequest>(op.request).id;
          const auto& r = std::get<LeaseTimeToLiveResponse>(op.response);
          if (r.ttl == -1) {
            leases_[id].deaths.push_back(
                Death{op.complete_ns, op.id, "TimeToLive answered -1 (expired)"});
          }
          break;
        }
        case OpType::kLeaseRevoke: {
          if (op.outcome == Outcome::kError) break;
          LeaseInfo& info = leases_[std::get<LeaseRevokeRequest>(op.request).id];
          info.first_revoke_ns = std::min(info.first_revoke_ns, op.invoke_ns);
          break;
        }
        default: break;
      }
    }
    CheckTtlReports();
  }

  void CheckTtlReports() {
    for (const Operation& op : h_.ops) {
      if (op.outcome != Outcome::kOk) continue;
      if (op.type() == OpType::kLeaseTimeToLive) {
        const auto& r = std::get<LeaseTimeToLiveResponse>(op.response);
        int64_t id = std::get<LeaseTimeToLiveRequest>(op.request).id;
        const LeaseInfo& info = leases_[id];
        if (r.ttl > r.granted_ttl && r.ttl != -1) {
          Report(LeaseViolation("ttl", {op.id},
                                StrCat(DescribeOp(op), " reported ", r.ttl,
                                       "s remaining, more than the granted ", r.granted_ttl, "s")));
        } else if (info.granted_ttl >= 0 && r.ttl != -1 && r.granted_ttl != info.granted_ttl) {
          Report(LeaseViolation("ttl", {info.grant_id, op.id},
                                StrCat(DescribeOp(op), " reported granted TTL ", r.granted_ttl,
                                       "s but the grant returned ", info.granted_ttl, "s")));
        }
      }
      if (op.type() == OpType::kLeaseKeepAlive) {
        int64_t ttl = std::get<LeaseKeepAliveResponse>(op.response).ttl;
        const LeaseInfo& info = leases_[std::get<LeaseKeepAliveRequest>(op.request).id];
        if (info.granted_ttl >= 0 && ttl > info.granted_ttl) {
          Report(LeaseViolation("ttl", {info.grant_id, op.id},
                                StrCat(DescribeOp(op), " reported TTL ", ttl,
                                       "s, more than the granted ", info.granted_ttl, "s")));
        }
      }
    }
  }

  // Acknowledged writes per key (single-key puts and deletes), plus range
  // deletes, to tell whether something else could have removed a key.
  void GatherKeyWrites() {
    for (const Operation& op : h_.ops) {
      if (op.outcome == Outcome::kUnknown) {
        if (op.type() == OpType::kPut || op.type() == OpType::kDelete ||
            op.type() == OpType::kTxn) {
          unknown_kv_.push_back(&op);
        }
        continue;
      }
      if (op.outcome != Outcome::kOk || !AckedOpWrites(op)) continue;
      auto note = [&](const TxnRequestOp& o) {
        if (const auto* p = std::get_if<PutRequest>(&o)) {
          writes_[p->key].push_back(op.revision);
        } else if (const auto* d = std::get_if<DeleteRequest>(&o)) {
          if (d->range_end.empty()) {
            writes_[d->key].push_back(op.revision);
          } else {
            range_deletes_.push_back({op.revision, d->key, d->range_end});
          }
        }
      };
      if (op.type() == OpType::kPut) note(std::get<PutRequest>(op.request));
      if (op.type() == OpType::kDelete) note(std::get<DeleteRequest>(op.request));
      if (op.type() == OpType::kTxn) {
        const auto& t = std::get<TxnRequest>(op.request);
        bool ok = std::get<TxnResponse>(op.response).succeeded;
        for (const auto& o : ok ? t.success : t.failure) note(o);
      }
    }
    for (auto& [key, revs] : writes_) std::sort(revs.begin(), revs.end());
  }

  bool UnknownMayTouch(const std::string& key) {
    auto [it, inserted] = unknown_touch_.emplace(key, false);
    if (inserted) {
      for (const Operation* op : unknown_kv_) {
        if (RequestMayTouch(op->request, key)) {
          it->second = true;
          break;
        }
      }
    }
    return it->second;
  }

  bool AckedWriteBetween(const std::string& key, int64_t after, int64_t upto) {
    if (auto it = writes_.find(key); it != writes_.end()) {
      auto w = std::upper_bound(it->second.begin(), it->second.end(), after);
      if (w != it->second.end() && *w <= upto) return true;
    }
    for (const auto& d : range_deletes_) {
      if (d.revision > after && d.revision <= upto && InRange(key, d.begin, d.end)) return true;
    }
    return false;
  }

  void CheckSingleRevision(const std::vector<KeyObservation>& obs) {
    // Per key, observations in revision order.
    std::map<std::string, std::vector<const KeyObservation*>> by_key;
    for (const KeyObservation& o : obs) {
      by_key[o.kv.key].push_back(&o);
      if (o.present && o.kv.lease != 0) {
        LeaseInfo& info = leases_[o.kv.lease];
        if (o.revision > info.max_present_revision) {
          info.max_present_revision = o.revision;
          info.max_present_op = h_.ops[o.op].id;
        }
      }
    }
    for (auto& [key, list] : by_key) {
      std::stable_sort(list.begin(), list.end(),
                       [](const auto* a, const auto* b) { return a->revision < b->revision; });
      const KeyObservation* attached = nullptr;
      for (const KeyObservation* o : list) {
        if (o->present) {
          attached = o->kv.lease != 0 ? o : nullptr;
          continue;
        }
        if (attached == nullptr || UnknownMayTouch(key) ||
            AckedWriteBetween(key, attached->revision, o->revision)) {
          attached = nullptr;
          continue;
        }
        int64_t lease = attached->kv.lease;
        const LeaseInfo& info = leases_[lease];
        if (info.max_present_revision >= o->revision) {
          Report(LeaseViolation(
              "single-revision", {h_.ops[o->op].id, info.max_present_op},
              StrCat("key ", Printable(key), " of lease ", lease, " was gone at revision ",
                     o->revision, " (op ", h_.ops[o->op].id,
                     ") while another key of the lease was still attached at revision ",
                     info.max_present_revision, " (op ", info.max_present_op,
                     "): a lease's keys must vanish in one revision")));
        }
        attached = nullptr;
      }
    }
  }

  // Deaths seen through keys: reads that found a key gone, and watch delete
  // events, at revisions the committed history attributes to an expiry.
  void GatherKvDeaths(const std::vector<KeyObservation>& obs) {
    // key -> (revision, lease) of expiries deleting it.
    absl::flat_hash_map<std::string, std::vector<std::pair<int64_t, int64_t>>> expired;
    for (const CommittedWrite& w : committed_->writes) {
      if (w.source != CommittedWrite::Source::kLeaseExpiry) continue;
      for (const Event& e : w.events) expired[e.kv.key].emplace_back(w.revision, w.lease);
    }
    if (expired.empty()) return;
    for (const KeyObservation& o : obs) {
      if (o.present) continue;
      auto it = expired.find(o.kv.key);
      if (it == expired.end() || UnknownMayTouch(o.kv.key)) continue;
      // The latest expiry at or before the read, with no re-creation since.
      for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) {
        if (e->first > o.revision) continue;
        if (AckedWriteBetween(o.kv.key, e->first, o.revision)) break;
        const Operation& op = h_.ops[o.op];
        leases_[e->second].deaths.push_back(
            Death{op.complete_ns, op.id,
                  StrCat("op ", op.id, " found its key ", Printable(o.kv.key),
                         " gone at revision ", o.revision)});
        break;
      }
    }
    for (const Operation& op : h_.ops) {
      if (op.type() != OpType::kWatch || op.outcome != Outcome::kOk) continue;
      for (const WatchResponse& resp : std::get<WatchResult>(op.response).responses) {
        for (const Event& ev : resp.events) {
          int64_t rev = ev.kv.mod_revision;
          if (ev.type != Event::Type::kDelete || !committed_->Has(rev)) continue;
          const CommittedWrite& w = committed_->At(rev);
          if (w.source != CommittedWrite::Source::kLeaseExpiry || UnknownMayTouch(ev.kv.key)) {
            continue;
          }
          leases_[w.lease].deaths.push_back(
              Death{resp.time_ns, op.id,
                    StrCat("watch op ", op.id, " saw its key ", Printable(ev.kv.key),
                           " deleted at revision ", rev)});
        }
      }
    }
  }

  void CheckLifetime(int64_t lease, const LeaseInfo& info) {
    bool early = false;
    bool resurrected = false;
    for (const Death& d : info.deaths) {
      if (info.first_revoke_ns <= d.by_ns) continue;  // a revoke may explain it
      const Renewal* best = nullptr;
      int64_t until = 0;
      for (const Renewal& r : info.renewals) {
        int64_t end = r.invoke + r.ttl * kNsPerSecond;
        if (r.invoke <= d.by_ns && end > until) {
          until = end;
          best = &r;
        }
      }
      if (!early && best != nullptr && until > d.by_ns + options_.clock_tolerance_ns) {
        early = true;
        Report(LeaseViolation(
            "early-expiry", {best->id, d.id},
            StrCat("lease ", lease, " expired early: op ", best->id,
                   best->grant ? " granted" : " kept", " it alive at ", best->invoke, " for ",
                   best->ttl, "s (until ", until, "), but by ", d.by_ns, " ", d.how)));
      }
      bool regranted = false;
      for (const Renewal& r : info.renewals) {
        if (r.invoke <= d.by_ns + options_.clock_tolerance_ns) continue;
        regranted = regranted || r.grant;
        if (!r.grant && !regranted && !resurrected) {
          resurrected = true;
          Report(LeaseViolation(
              "early-expiry", {d.id, r.id},
              StrCat("lease ", lease, " was seen expired by ", d.by_ns, " (", d.how,
                     ") yet op ", r.id, " renewed it at ", r.invoke)));
        }
      }
    }
  }

  struct RangeDelete {
    int64_t revision;
    std::string begin;
    std::string end;
  };

  const History& h_;
  const CommittedHistory* committed_;
  const LeaseOptions& options_;
  std::map<int64_t, LeaseInfo> leases_;
  absl::flat_hash_map<std::string, std::vector<int64_t>> writes_;
  std::vector<RangeDelete> range_deletes_;
  std::vector<const Operation*> unknown_kv_;
  absl::flat_hash_map<std::string, bool> unknown_touch_;
  std::vector<Violation> out_;
};

}  // namespace

std::vector<Violation> CheckLeases(const History& history, const CommittedHistory* committed,
                                   const LeaseOptions& options) {
  return LeaseCheck(history, committed, options).Run();
}

}  // namespace keel::check
