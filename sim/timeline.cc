// The timeline recorder: member states and fault marks over simulated time,
// and the short descriptions of operations the page's titles carry.
#include "sim/timeline.h"

#include <algorithm>
#include <variant>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::sim {
namespace {

bool IsNetwork(MarkKind kind) {
  return kind == MarkKind::kPartition || kind == MarkKind::kIsolate || kind == MarkKind::kOneWay ||
         kind == MarkKind::kClog;
}

bool EndsWhenRunning(MarkKind kind) { return kind == MarkKind::kKill || kind == MarkKind::kCrash; }

MarkKind MarkKindOf(Fault fault) {
  switch (fault) {
    case Fault::kPartition:
      return MarkKind::kPartition;
    case Fault::kIsolate:
      return MarkKind::kIsolate;
    case Fault::kOneWay:
      return MarkKind::kOneWay;
    case Fault::kClog:
      return MarkKind::kClog;
    case Fault::kKill:
      return MarkKind::kKill;
    case Fault::kCrash:
      return MarkKind::kCrash;
    case Fault::kPause:
      return MarkKind::kPause;
    case Fault::kDisk:
      return MarkKind::kDisk;
    case Fault::kCorrupt:
      return MarkKind::kCorrupt;
  }
  KEEL_UNREACHABLE();
}

std::string RangeText(const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return check::Printable(key);
  if (range_end == std::string(1, '\0')) return StrCat(check::Printable(key), " and after");
  return StrCat("[", check::Printable(key), ", ", check::Printable(range_end), ")");
}

std::string KeyOfTxnOp(const check::TxnRequestOp& op) {
  if (const auto* r = std::get_if<check::RangeRequest>(&op)) return RangeText(r->key, r->range_end);
  if (const auto* p = std::get_if<check::PutRequest>(&op)) return check::Printable(p->key);
  const auto& d = std::get<check::DeleteRequest>(op);
  return RangeText(d.key, d.range_end);
}

// "2 kvs: \"a\"=\"1\"@5, ..." with at most three shown.
std::string KvsText(const std::vector<check::KeyValue>& kvs, int64_t count) {
  std::string out = StrCat(count, count == 1 ? " kv" : " kvs");
  for (size_t i = 0; i < kvs.size() && i < 3; i++) {
    StrAppend(&out, i == 0 ? ": " : ", ", check::Printable(kvs[i].key, 24), "=",
              check::Printable(kvs[i].value, 24), "@", kvs[i].mod_revision);
  }
  if (kvs.size() > 3) out += ", ...";
  return out;
}

std::string OkText(const check::Response& response) {
  switch (static_cast<check::OpType>(response.index())) {
    case check::OpType::kPut: {
      const auto& p = std::get<check::PutResponse>(response);
      return p.prev_kv.has_value() ? StrCat("ok, prev ", check::DescribeKv(*p.prev_kv)) : "ok";
    }
    case check::OpType::kRange: {
      const auto& r = std::get<check::RangeResponse>(response);
      return StrCat("ok, ", KvsText(r.kvs, r.count), r.more ? " (more)" : "");
    }
    case check::OpType::kDelete:
      return StrCat("ok, deleted ", std::get<check::DeleteResponse>(response).deleted);
    case check::OpType::kTxn: {
      const auto& t = std::get<check::TxnResponse>(response);
      return StrCat("ok, ", t.succeeded ? "compare succeeded" : "compare failed", ", ",
                    t.responses.size(), " responses");
    }
    case check::OpType::kCompact:
      return "ok, compacted";
    case check::OpType::kLeaseGrant: {
      const auto& g = std::get<check::LeaseGrantResponse>(response);
      return StrCat("ok, lease ", g.id, " ttl ", g.ttl);
    }
    case check::OpType::kLeaseRevoke:
      return "ok, revoked";
    case check::OpType::kLeaseKeepAlive: {
      const int64_t ttl = std::get<check::LeaseKeepAliveResponse>(response).ttl;
      return ttl == 0 ? "ok, lease not found" : StrCat("ok, ttl ", ttl);
    }
    case check::OpType::kLeaseTimeToLive: {
      const auto& t = std::get<check::LeaseTimeToLiveResponse>(response);
      return StrCat("ok, ttl ", t.ttl, " of ", t.granted_ttl);
    }
    case check::OpType::kWatch: {
      const auto& w = std::get<check::WatchResult>(response);
      size_t events = 0;
      std::string canceled;
      for (const check::WatchResponse& r : w.responses) {
        events += r.events.size();
        if (r.canceled) canceled = StrCat(", canceled: ", r.cancel_reason);
        if (r.compact_revision != 0) StrAppend(&canceled, ", compacted at ", r.compact_revision);
      }
      return StrCat(w.responses.size(), " responses, ", events, " events", canceled);
    }
  }
  KEEL_UNREACHABLE();
}

}  // namespace

std::string_view MemberRoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kDown:
      return "down";
    case MemberRole::kStarting:
      return "starting";
    case MemberRole::kCandidate:
      return "candidate";
    case MemberRole::kFollower:
      return "follower";
    case MemberRole::kLeader:
      return "leader";
  }
  KEEL_UNREACHABLE();
}

std::string_view MarkKindName(MarkKind kind) {
  switch (kind) {
    case MarkKind::kKill:
      return "kill";
    case MarkKind::kCrash:
      return "crash";
    case MarkKind::kRestart:
      return "restart";
    case MarkKind::kPause:
      return "pause";
    case MarkKind::kPartition:
      return "partition";
    case MarkKind::kIsolate:
      return "isolate";
    case MarkKind::kOneWay:
      return "oneway";
    case MarkKind::kClog:
      return "clog";
    case MarkKind::kDisk:
      return "disk";
    case MarkKind::kCorrupt:
      return "corrupt";
  }
  KEEL_UNREACHABLE();
}

TimelineRecorder::TimelineRecorder(std::vector<std::string> member_names) {
  for (std::string& name : member_names) {
    Lane lane;
    lane.lane.name = std::move(name);
    lane.lane.roles.push_back(RoleSpan{});  // down from time 0 until sampled
    lanes_.push_back(std::move(lane));
  }
}

void TimelineRecorder::SampleMember(size_t m, int64_t now_ns, MemberState state, bool running,
                                    bool paused, uint64_t incarnation) {
  KEEL_ASSERT(m < lanes_.size());
  KEEL_ASSERT(now_ns >= last_ns_);
  last_ns_ = now_ns;
  Lane& lane = lanes_[m];
  std::vector<RoleSpan>& roles = lane.lane.roles;
  if (roles.back().state != state) {
    if (roles.back().start_ns == now_ns) {
      roles.back().state = state;  // replaced within the instant
    } else {
      roles.back().end_ns = now_ns;
      roles.push_back(RoleSpan{.start_ns = now_ns, .end_ns = now_ns, .state = state});
    }
  }
  if (incarnation != lane.incarnation) {
    if (lane.incarnation != 0) {
      lane.lane.marks.push_back(FaultMark{.start_ns = now_ns,
                                          .end_ns = now_ns,
                                          .kind = MarkKind::kRestart,
                                          .text = StrCat("restart (start ", incarnation, ")")});
    }
    lane.incarnation = incarnation;
  }
  for (size_t i = lane.open.size(); i-- > 0;) {
    const MarkKind kind = lane.open[i].kind;
    if ((EndsWhenRunning(kind) && running) || (kind == MarkKind::kPause && !paused)) {
      Close(lane, i, now_ns);
    }
  }
}

void TimelineRecorder::BeginFault(size_t m, int64_t now_ns, MarkKind kind, std::string text) {
  KEEL_ASSERT(m < lanes_.size());
  lanes_[m].open.push_back(
      FaultMark{.start_ns = now_ns, .end_ns = now_ns, .kind = kind, .text = std::move(text)});
}

void TimelineRecorder::EndFault(size_t m, int64_t now_ns, MarkKind kind, std::string_view text) {
  KEEL_ASSERT(m < lanes_.size());
  Lane& lane = lanes_[m];
  for (size_t i = 0; i < lane.open.size(); i++) {
    if (lane.open[i].kind == kind && lane.open[i].text == text) {
      Close(lane, i, now_ns);
      return;
    }
  }
}

void TimelineRecorder::AddFault(size_t m, int64_t start_ns, int64_t end_ns, MarkKind kind,
                                std::string text) {
  KEEL_ASSERT(m < lanes_.size());
  KEEL_ASSERT(end_ns >= start_ns);
  lanes_[m].lane.marks.push_back(
      FaultMark{.start_ns = start_ns, .end_ns = end_ns, .kind = kind, .text = std::move(text)});
}

void TimelineRecorder::HealAll(int64_t now_ns) {
  for (Lane& lane : lanes_) {
    for (size_t i = lane.open.size(); i-- > 0;) {
      const MarkKind kind = lane.open[i].kind;
      if (IsNetwork(kind) || kind == MarkKind::kDisk || kind == MarkKind::kCorrupt) {
        Close(lane, i, now_ns);
      }
    }
    for (FaultMark& mark : lane.lane.marks) {
      if (mark.kind == MarkKind::kClog && mark.start_ns <= now_ns && mark.end_ns > now_ns) {
        mark.end_ns = now_ns;
      }
    }
  }
}

void TimelineRecorder::OnNemesisEvent(const NemesisEvent& event) {
  const int64_t now_ns = ToNanoseconds(event.at);
  if (event.heal_all) {
    HealAll(now_ns);
    return;
  }
  const MarkKind kind = MarkKindOf(event.fault);
  std::vector<size_t> machines = event.machines;
  // A partition cuts every member off from some other: mark them all.
  if (kind == MarkKind::kPartition) {
    machines.clear();
    for (size_t m = 0; m < lanes_.size(); m++) machines.push_back(m);
  }
  const std::string text = StrCat("nemesis: ", event.description);
  for (size_t m : machines) {
    if (event.one_shot) {
      AddFault(m, now_ns, now_ns + event.lasts.count(), kind, text);
    } else if (event.begin) {
      BeginFault(m, now_ns, kind, text);
    } else {
      EndFault(m, now_ns, kind, text);
    }
  }
}

void TimelineRecorder::Close(Lane& lane, size_t open_index, int64_t now_ns) {
  FaultMark mark = std::move(lane.open[open_index]);
  lane.open.erase(lane.open.begin() + static_cast<std::ptrdiff_t>(open_index));
  mark.end_ns = now_ns;
  lane.lane.marks.push_back(std::move(mark));
}

TimelinePage TimelineRecorder::Finish(int64_t end_ns) && {
  KEEL_ASSERT(end_ns >= last_ns_);
  TimelinePage page;
  page.end_ns = end_ns;
  for (Lane& lane : lanes_) {
    while (!lane.open.empty()) Close(lane, lane.open.size() - 1, end_ns);
    lane.lane.roles.back().end_ns = end_ns;
    for (FaultMark& mark : lane.lane.marks) mark.end_ns = std::min(mark.end_ns, end_ns);
    std::stable_sort(
        lane.lane.marks.begin(), lane.lane.marks.end(),
        [](const FaultMark& a, const FaultMark& b) { return a.start_ns < b.start_ns; });
    page.lanes.push_back(std::move(lane.lane));
  }
  lanes_.clear();
  return page;
}

std::string TimelineOpKey(const check::Operation& op) {
  switch (op.type()) {
    case check::OpType::kPut:
      return check::Printable(std::get<check::PutRequest>(op.request).key);
    case check::OpType::kRange: {
      const auto& r = std::get<check::RangeRequest>(op.request);
      return RangeText(r.key, r.range_end);
    }
    case check::OpType::kDelete: {
      const auto& d = std::get<check::DeleteRequest>(op.request);
      return RangeText(d.key, d.range_end);
    }
    case check::OpType::kTxn: {
      const auto& t = std::get<check::TxnRequest>(op.request);
      if (!t.compare.empty()) return RangeText(t.compare[0].key, t.compare[0].range_end);
      if (!t.success.empty()) return KeyOfTxnOp(t.success[0]);
      if (!t.failure.empty()) return KeyOfTxnOp(t.failure[0]);
      return "";
    }
    case check::OpType::kWatch: {
      const auto& w = std::get<check::WatchRequest>(op.request);
      return RangeText(w.key, w.range_end);
    }
    case check::OpType::kCompact:
    case check::OpType::kLeaseGrant:
    case check::OpType::kLeaseRevoke:
    case check::OpType::kLeaseKeepAlive:
    case check::OpType::kLeaseTimeToLive:
      return "";
  }
  KEEL_UNREACHABLE();
}

std::string TimelineOpResult(const check::Operation& op) {
  switch (op.outcome) {
    case check::Outcome::kOk:
      return OkText(op.response);
    case check::Outcome::kError:
      return StrCat("failed: ", op.error);
    case check::Outcome::kUnknown:
      return op.error.empty() ? "unknown outcome" : StrCat("unknown outcome: ", op.error);
  }
  KEEL_UNREACHABLE();
}

}  // namespace keel::sim
