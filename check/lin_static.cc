// The rules of the linearizability checker that need no search: real-time
// order of acknowledged operations, serializable reads not seeing the
// future, and compaction; see lin_plan.h.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/lin_plan.h"

namespace keel::check {
namespace {

Violation LinViolation(std::string property, std::vector<OpId> ops,
                       std::string explanation, std::string expected = "") {
  return Violation{"linearizability", std::move(property), std::move(ops),
                   std::move(explanation), std::move(expected)};
}

void Report(LinPlan* plan, const LinOptions& options, Violation v) {
  if (plan->violations.size() < options.max_violations) {
    plan->violations.push_back(std::move(v));
  }
}

// An acknowledged op's place in the revision order: 2r for the write that
// created revision r, 2h+1 for an op that observed revision h without
// writing (after the write of h, before the write of h+1).
struct Point {
  int64_t key;
  int64_t invoke;
  int64_t complete;
  int32_t op;
};

std::string DescribePoint(const Operation& op, int64_t key) {
  return key % 2 == 0 ? StrCat("created revision ", key / 2)
                      : StrCat("observed revision ", key / 2);
}

// Points ordered by completion with running maxima of their keys, to answer
// "the highest point among ops completed before time t".
class CompletedBefore {
 public:
  explicit CompletedBefore(std::vector<Point> points) : points_(std::move(points)) {
    std::sort(points_.begin(), points_.end(),
              [](const Point& a, const Point& b) { return a.complete < b.complete; });
    for (size_t i = 0; i < points_.size(); ++i) {
      if (i == 0 || points_[i].key > points_[best_[i - 1]].key) {
        best_.push_back(i);
      } else {
        best_.push_back(best_[i - 1]);
      }
    }
  }

  // The highest point completed strictly before `t`, or nullptr.
  const Point* Highest(int64_t t) const {
    auto it = std::lower_bound(points_.begin(), points_.end(), t,
                               [](const Point& p, int64_t v) { return p.complete < v; });
    if (it == points_.begin()) return nullptr;
    return &points_[best_[(it - points_.begin()) - 1]];
  }

 private:
  std::vector<Point> points_;
  std::vector<size_t> best_;
};

bool IsSerializableRead(const Operation& op) {
  return op.type() == OpType::kRange && std::get<RangeRequest>(op.request).serializable;
}

// Points of acknowledged operations that real time orders (not serializable
// reads, lease or watch operations).
std::vector<Point> LinearizablePoints(const History& history) {
  std::vector<Point> points;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk) continue;
    int64_t key;
    switch (op.type()) {
      case OpType::kPut:
      case OpType::kDelete:
      case OpType::kTxn: key = AckedOpWrites(op) ? 2 * op.revision : 2 * op.revision + 1; break;
      case OpType::kRange:
        if (IsSerializableRead(op)) continue;
        key = 2 * op.revision + 1;
        break;
      case OpType::kCompact: key = 2 * op.revision + 1; break;
      default: continue;
    }
    points.push_back(Point{key, op.invoke_ns, op.complete_ns, static_cast<int32_t>(i)});
  }
  return points;
}

}  // namespace

void CheckRealTime(const History& history, LinPlan* plan, const LinOptions& options) {
  std::vector<Point> points = LinearizablePoints(history);
  CompletedBefore before(points);
  for (const Point& b : points) {
    const Point* a = before.Highest(b.invoke);
    if (a == nullptr || a->key <= b.key) continue;
    const Operation& opa = history.ops[a->op];
    const Operation& opb = history.ops[b.op];
    Report(plan, options,
           LinViolation("real-time", {opa.id, opb.id},
                        StrCat(DescribeOp(opb), " was invoked at ", opb.invoke_ns,
                               ", after ", DescribeOp(opa), " completed at ",
                               opa.complete_ns, ", yet it ", DescribePoint(opb, b.key),
                               " while the earlier op ", DescribePoint(opa, a->key),
                               (b.key % 2 == 1 ? " (a stale read)" : "")),
                        StrCat("op ", opb.id, " to be ordered after revision ",
                               a->key / 2)));
  }
  for (UnknownWrite& u : plan->unknowns) {
    const Point* a = before.Highest(history.ops[u.op].invoke_ns);
    if (a != nullptr) u.lo = std::max(u.lo, a->key / 2 + 1);
  }
}

void CheckSerializable(const History& history, LinPlan* plan, const LinOptions& options) {
  size_t slots = plan->writer.size();
  std::vector<int32_t> by_slot(slots, -1);  // the serializable read bounding each slot
  absl::flat_hash_map<ClientId, std::vector<Point>> per_client;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk || !IsSerializableRead(op)) continue;
    per_client[op.client].push_back(
        Point{op.revision, op.invoke_ns, op.complete_ns, static_cast<int32_t>(i)});
    if (op.revision <= plan->initial_revision) continue;
    size_t s = plan->Slot(std::min(op.revision, plan->last_revision));
    if (op.complete_ns < plan->serial_deadline[s]) {
      plan->serial_deadline[s] = op.complete_ns;
      by_slot[s] = static_cast<int32_t>(i);
    }
  }
  // A read that saw revision h bounds every slot up to h.
  for (size_t s = slots; s-- > 1;) {
    if (plan->serial_deadline[s] < plan->serial_deadline[s - 1]) {
      plan->serial_deadline[s - 1] = plan->serial_deadline[s];
      by_slot[s - 1] = by_slot[s];
    }
  }
  for (size_t s = 0; s < slots; ++s) {
    int32_t w = plan->writer[s];
    if (w < 0 || history.ops[w].invoke_ns <= plan->serial_deadline[s]) continue;
    const Operation& read = history.ops[by_slot[s]];
    const Operation& write = history.ops[w];
    Report(plan, options,
           LinViolation("serializable-future", {read.id, write.id},
                        StrCat("serializable ", DescribeOp(read), " observed revision ",
                               read.revision, " and completed at ", read.complete_ns,
                               ", but ", DescribeOp(write), " which created revision ",
                               write.revision, " was only invoked at ", write.invoke_ns)));
  }
  if (!options.serializable_monotonic) return;
  for (auto& [client, reads] : per_client) {
    CompletedBefore before(reads);
    for (const Point& b : reads) {
      const Point* a = before.Highest(b.invoke);
      if (a == nullptr || a->key <= b.key) continue;
      Report(plan, options,
             LinViolation("serializable-monotonic",
                          {history.ops[a->op].id, history.ops[b.op].id},
                          StrCat("client ", client, "'s serializable read op ",
                                 history.ops[b.op].id, " observed revision ", b.key,
                                 " after its earlier read op ", history.ops[a->op].id,
                                 " observed revision ", a->key)));
    }
  }
}

void CheckCompaction(const History& history, LinPlan* plan, const LinOptions& options) {
  std::vector<Point> by_time;
  std::vector<Point> by_revision;  // key = header, complete = compact revision
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk || op.type() != OpType::kCompact) continue;
    int64_t c = std::get<CompactRequest>(op.request).revision;
    if (c > op.revision) {
      Report(plan, options,
             LinViolation("future-revision", {op.id},
                          StrCat(DescribeOp(op), " succeeded at header revision ",
                                 op.revision, ", before the revision it compacted")));
    }
    by_time.push_back(Point{c, op.invoke_ns, op.complete_ns, static_cast<int32_t>(i)});
    // Reuse CompletedBefore over header revisions: "completed" = header + 1
    // so that Highest(h) finds compactions at headers < h.
    by_revision.push_back(Point{c, 0, op.revision + 1, static_cast<int32_t>(i)});
  }
  if (by_time.empty()) return;
  CompletedBefore done_before(by_time);
  CompletedBefore below(by_revision);
  for (const Operation& op : history.ops) {
    if (op.outcome != Outcome::kOk || op.type() != OpType::kRange) continue;
    const auto& r = std::get<RangeRequest>(op.request);
    if (r.revision <= 0 || r.serializable) continue;
    const Point* c = done_before.Highest(op.invoke_ns);
    const Point* d = below.Highest(op.revision + 1);
    if (d != nullptr && (c == nullptr || d->key > c->key)) c = d;
    if (c == nullptr || c->key <= r.revision) continue;
    const Operation& compact = history.ops[c->op];
    Report(plan, options,
           LinViolation("compacted-read", {compact.id, op.id},
                        StrCat(DescribeOp(op), " read revision ", r.revision,
                               " successfully after ", DescribeOp(compact),
                               " compacted everything below ", c->key)));
  }
}

}  // namespace keel::check
