// Random linearizable histories and anomaly injection; see history_gen.h.
#include "check/history_gen.h"

#include <algorithm>
#include <map>
#include <optional>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/kv_eval.h"

namespace keel::check {
namespace {

// splitmix64: small, seedable, and the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t n) { return n <= 0 ? 0 : static_cast<int64_t>(Next() % n); }
  bool Percent(int p) { return Uniform(100) < p; }

 private:
  uint64_t state_;
};

// Every version of every key; deliberately independent of kv_eval.h.
class RefStore {
 public:
  struct Change {
    bool put;
    std::string key;
    std::string value;
  };

  int64_t revision() const { return revision_; }

  std::optional<KeyValue> Get(const std::string& key, int64_t at) const {
    auto it = versions_.find(key);
    if (it == versions_.end()) return std::nullopt;
    std::optional<KeyValue> found;
    for (const auto& [rev, kv] : it->second) {
      if (rev > at) break;
      found = kv;
    }
    return found;
  }

  std::vector<KeyValue> Range(const std::string& begin, const std::string& end,
                              int64_t at) const {
    std::vector<KeyValue> out;
    for (auto it = versions_.lower_bound(begin); it != versions_.end(); ++it) {
      if (!end.empty() && it->first >= end) break;
      if (end.empty() && it->first != begin) break;
      if (auto kv = Get(it->first, at)) out.push_back(*kv);
    }
    return out;
  }

  // Applies the changes as one write. Returns the new revision, or 0 if
  // nothing changed (deletes of absent keys only).
  int64_t Write(const std::vector<Change>& changes, int64_t time) {
    int64_t rev = revision_ + 1;
    std::vector<Event> events;
    for (const Change& c : changes) {
      std::optional<KeyValue> old = Get(c.key, rev);
      if (!c.put && !old) continue;
      Event e;
      e.prev_kv = old;
      if (c.put) {
        e.type = Event::Type::kPut;
        e.kv = KeyValue{c.key, old ? old->create_revision : rev, rev,
                        old ? old->version + 1 : 1, c.value, 0};
        versions_[c.key].emplace_back(rev, e.kv);
      } else {
        e.type = Event::Type::kDelete;
        e.kv.key = c.key;
        e.kv.mod_revision = rev;
        versions_[c.key].emplace_back(rev, std::nullopt);
      }
      events.push_back(std::move(e));
    }
    if (events.empty()) return 0;
    revision_ = rev;
    events_.push_back(std::move(events));
    times_.push_back(time);
    return rev;
  }

  const std::vector<Event>& EventsAt(int64_t rev) const { return events_[rev - 2]; }
  int64_t TimeOf(int64_t rev) const { return times_[rev - 2]; }
  // The revision current at `time` (writes are applied in time order).
  int64_t RevisionAt(int64_t time) const {
    auto it = std::upper_bound(times_.begin(), times_.end(), time);
    return kFirstRevision + (it - times_.begin());
  }

 private:
  int64_t revision_ = kFirstRevision;
  std::map<std::string, std::vector<std::pair<int64_t, std::optional<KeyValue>>>> versions_;
  std::vector<std::vector<Event>> events_;
  std::vector<int64_t> times_;
};

enum class Kind { kGet, kSerialGet, kOldGet, kRange, kPut, kDelete, kDeleteRange, kCas, kMultiPut };

struct Planned {
  Kind kind;
  int client;
  int64_t invoke;
  int64_t complete;
  int64_t point;
  bool unknown = false;
  bool effective = true;
  std::string key, key2, value, value2;
  int64_t limit = 0;
  bool count_only = false;
};

std::string KeyName(int64_t i) {
  std::string digits = StrCat(i);
  return StrCat("k", std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0'), digits);
}

Kind PickKind(Rng& rng) {
  static constexpr std::pair<Kind, int> kMix[] = {
      {Kind::kGet, 30},   {Kind::kSerialGet, 8}, {Kind::kOldGet, 4},   {Kind::kRange, 6},
      {Kind::kPut, 28},   {Kind::kDelete, 6},    {Kind::kDeleteRange, 2}, {Kind::kCas, 11},
      {Kind::kMultiPut, 5}};
  int64_t roll = rng.Uniform(100);
  for (const auto& [kind, weight] : kMix) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return Kind::kGet;
}

bool IsWrite(Kind k) {
  return k == Kind::kPut || k == Kind::kDelete || k == Kind::kDeleteRange ||
         k == Kind::kCas || k == Kind::kMultiPut;
}

std::vector<Planned> Plan(const GenOptions& o, Rng& rng) {
  std::vector<Planned> plan;
  std::vector<int64_t> clock(o.clients);
  for (int c = 0; c < o.clients; ++c) clock[c] = rng.Uniform(100);
  for (int i = 0; i < o.ops; ++i) {
    Planned p;
    p.client = static_cast<int>(rng.Uniform(o.clients));
    p.kind = PickKind(rng);
    if (p.kind == Kind::kGet || p.kind == Kind::kSerialGet) {
      p.kind = rng.Percent(o.serializable_percent) ? Kind::kSerialGet : Kind::kGet;
    }
    p.invoke = clock[p.client] + rng.Uniform(50);
    int64_t duration = 1 + rng.Uniform(300);
    p.complete = p.invoke + duration;
    p.point = p.invoke + rng.Uniform(duration + 1);
    int64_t first = rng.Uniform(o.keys);
    int64_t second = o.max_range_keys > 0
                         ? std::min<int64_t>(o.keys - 1, first + rng.Uniform(o.max_range_keys))
                         : rng.Uniform(o.keys);
    p.key = KeyName(std::min(first, second));
    p.key2 = KeyName(std::max(first, second));
    p.value = StrCat("v", i);
    p.value2 = StrCat("w", i);
    if (p.kind == Kind::kMultiPut && p.key == p.key2) p.kind = Kind::kPut;
    if (p.kind == Kind::kRange) {
      p.limit = rng.Percent(30) ? 1 + rng.Uniform(3) : 0;
      p.count_only = rng.Percent(10);
      p.key2 = p.key2 + "~";  // [key, key2~) covers key2
    }
    if (p.kind == Kind::kDeleteRange) p.key2 = p.key2 + "~";
    if (IsWrite(p.kind) && rng.Percent(o.unknown_percent)) {
      p.unknown = true;
      p.effective = rng.Percent(50);
      // It may apply long after the client gave up.
      p.point = p.invoke + rng.Uniform(6 * duration + 1);
    }
    clock[p.client] = p.complete;
    plan.push_back(std::move(p));
  }
  return plan;
}

RangeResponse ReadRange(const RefStore& store, const RangeRequest& r, int64_t at) {
  std::string end = r.range_end;
  RangeResponse resp;
  std::vector<KeyValue> kvs = store.Range(r.key, end, at);
  resp.count = static_cast<int64_t>(kvs.size());
  if (r.count_only) return resp;
  if (r.limit > 0 && static_cast<int64_t>(kvs.size()) > r.limit) {
    kvs.resize(r.limit);
    resp.more = true;
  }
  resp.kvs = std::move(kvs);
  return resp;
}

// Runs one planned op at its point; fills `op` and returns the revision it
// created (0 if none). With commit=false a write only builds its request.
int64_t Apply(const Planned& p, RefStore& store, Rng& rng, Operation* op, bool commit = true) {
  int64_t rev = store.revision();
  op->revision = rev;
  switch (p.kind) {
    case Kind::kGet:
    case Kind::kSerialGet:
    case Kind::kOldGet:
    case Kind::kRange: {
      RangeRequest r;
      r.key = p.key;
      int64_t at = rev;
      if (p.kind == Kind::kRange) {
        r.range_end = p.key2;
        r.limit = p.limit;
        r.count_only = p.count_only;
      } else if (p.kind == Kind::kSerialGet) {
        r.serializable = true;
        at = rev - rng.Uniform(std::min<int64_t>(3, rev - kFirstRevision) + 1);
        op->revision = at;
      } else if (p.kind == Kind::kOldGet) {
        r.revision = kFirstRevision + rng.Uniform(rev);
        at = r.revision;
      }
      op->response = ReadRange(store, r, at);
      op->request = std::move(r);
      return 0;
    }
    case Kind::kPut:
      op->request = PutRequest{p.key, p.value};
      op->response = PutResponse{};
      return commit ? op->revision = store.Write({{true, p.key, p.value}}, p.point) : 0;
    case Kind::kDelete:
    case Kind::kDeleteRange: {
      DeleteRequest d{p.key, p.kind == Kind::kDelete ? "" : p.key2, false};
      std::vector<RefStore::Change> changes;
      for (const KeyValue& kv : store.Range(d.key, d.range_end, rev)) {
        changes.push_back({false, kv.key, ""});
      }
      op->request = d;
      op->response = DeleteResponse{static_cast<int64_t>(changes.size()), {}};
      int64_t created = commit ? store.Write(changes, p.point) : 0;
      if (created != 0) op->revision = created;
      return created;
    }
    case Kind::kCas: {
      std::optional<KeyValue> current = store.Get(p.key, rev);
      std::string expect = current && rng.Percent(60) ? current->value : StrCat("v", rng.Uniform(50));
      TxnRequest t;
      Compare c;
      c.key = p.key;
      c.target = CompareTarget::kValue;
      c.result = CompareResult::kEqual;
      c.value = expect;
      t.compare.push_back(c);
      t.success.push_back(PutRequest{p.key, p.value});
      t.failure.push_back(RangeRequest{p.key});
      TxnResponse resp;
      resp.succeeded = current && current->value == expect;
      int64_t created = 0;
      if (resp.succeeded) {
        resp.responses.emplace_back(std::in_place_type<PutResponse>);
        if (commit) created = op->revision = store.Write({{true, p.key, p.value}}, p.point);
      } else {
        resp.responses.emplace_back(std::in_place_type<RangeResponse>) =
            ReadRange(store, RangeRequest{p.key}, rev);
      }
      op->request = std::move(t);
      op->response = std::move(resp);
      return created;
    }
    case Kind::kMultiPut: {
      TxnRequest t;
      t.success.push_back(PutRequest{p.key, p.value});
      t.success.push_back(PutRequest{p.key2, p.value2});
      TxnResponse resp;
      resp.succeeded = true;
      resp.responses.emplace_back(std::in_place_type<PutResponse>);
      resp.responses.emplace_back(std::in_place_type<PutResponse>);
      op->request = std::move(t);
      op->response = std::move(resp);
      if (!commit) return 0;
      return op->revision =
                 store.Write({{true, p.key, p.value}, {true, p.key2, p.value2}}, p.point);
    }
  }
  KEEL_UNREACHABLE();
}

// A watch over a random key range, replaying the store in batches.
Operation MakeWatch(const GenOptions& o, const RefStore& store, int64_t end_time, int index,
                    Rng& rng) {
  Operation op;
  op.client = o.clients + index;
  op.invoke_ns = rng.Uniform(end_time);
  op.outcome = Outcome::kOk;
  WatchRequest w;
  w.key = KeyName(rng.Uniform(o.keys));
  w.range_end = rng.Percent(30) ? std::string(1, '\0') : KeyName(rng.Uniform(o.keys + 1)) + "~";
  if (w.range_end != std::string(1, '\0') && w.range_end < w.key) std::swap(w.key, w.range_end);
  w.prev_kv = rng.Percent(50);
  int64_t created_at = store.RevisionAt(op.invoke_ns);
  w.start_revision = rng.Percent(50) ? 0 : kFirstRevision + rng.Uniform(created_at);
  int64_t start = w.start_revision > 0 ? w.start_revision : created_at + 1;
  WatchResult result;
  WatchResponse created;
  created.time_ns = op.invoke_ns + 1;
  created.revision = created_at;
  created.created = true;
  result.responses.push_back(created);
  int64_t last = store.RevisionAt(op.invoke_ns + rng.Uniform(end_time - op.invoke_ns + 1));
  int64_t time = created.time_ns;
  WatchResponse batch;
  auto flush = [&](int64_t through) {
    if (batch.events.empty()) return;
    time = std::max(time, store.TimeOf(through)) + 1;
    batch.time_ns = time;
    batch.revision = through;
    result.responses.push_back(std::move(batch));
    batch = WatchResponse{};
  };
  for (int64_t r = std::max<int64_t>(start, kFirstRevision + 1); r <= last; ++r) {
    for (const Event& e : store.EventsAt(r)) {
      if (!InRange(e.kv.key, w.key, w.range_end)) continue;
      Event out = e;
      bool create = e.type == Event::Type::kPut && e.kv.create_revision == e.kv.mod_revision;
      if (!w.prev_kv || create) out.prev_kv.reset();
      batch.events.push_back(std::move(out));
    }
    if (rng.Percent(60)) flush(r);
    if (rng.Percent(10)) {
      flush(r);
      WatchResponse progress;
      time = std::max(time, store.TimeOf(r)) + 1;
      progress.time_ns = time;
      progress.revision = r;
      result.responses.push_back(progress);
    }
  }
  flush(last);
  op.request = std::move(w);
  op.response = std::move(result);
  op.complete_ns = std::max(time, end_time) + 1;
  return op;
}

}  // namespace

GeneratedHistory GenerateHistory(const GenOptions& o) {
  KEEL_ASSERT(o.clients > 0 && o.keys > 0 && o.ops >= 0);
  Rng rng(o.seed);
  std::vector<Planned> plan = Plan(o, rng);
  std::vector<size_t> order(plan.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan[a].point < plan[b].point; });
  GeneratedHistory g;
  g.history.ops.resize(plan.size());
  g.created.assign(plan.size(), 0);
  RefStore store;
  int64_t end_time = 0;
  for (size_t i : order) {
    const Planned& p = plan[i];
    Operation& op = g.history.ops[i];
    op.id = static_cast<OpId>(i);
    op.client = p.client;
    op.invoke_ns = p.invoke;
    op.complete_ns = p.complete;
    op.outcome = Outcome::kOk;
    end_time = std::max({end_time, p.complete, p.point});
    g.created[i] = Apply(p, store, rng, &op, /*commit=*/!p.unknown || p.effective);
    if (p.unknown) {
      op.outcome = Outcome::kUnknown;
      op.error = "context deadline exceeded";
      op.response = EmptyResponse(op.type());
      op.revision = 0;
    }
  }
  for (int w = 0; w < o.watches; ++w) {
    Operation watch = MakeWatch(o, store, end_time, w, rng);
    watch.id = static_cast<OpId>(g.history.ops.size());
    g.history.ops.push_back(std::move(watch));
    g.created.push_back(0);
  }
  if (o.final_read) {
    Operation fin;
    fin.id = static_cast<OpId>(g.history.ops.size());
    fin.client = o.clients + o.watches;
    fin.invoke_ns = end_time + 10;
    fin.complete_ns = end_time + 20;
    fin.outcome = Outcome::kOk;
    fin.final_read = true;
    RangeRequest all{"k", "l"};
    fin.response = ReadRange(store, all, store.revision());
    fin.request = std::move(all);
    fin.revision = store.revision();
    g.history.ops.push_back(std::move(fin));
    g.created.push_back(0);
  }
  g.last_revision = store.revision();
  return g;
}

std::string_view AnomalyName(Anomaly a) {
  switch (a) {
    case Anomaly::kStaleRead: return "stale-read";
    case Anomaly::kStaleHeader: return "stale-header";
    case Anomaly::kPhantomValue: return "phantom-value";
    case Anomaly::kLostWrite: return "lost-write";
    case Anomaly::kDuplicateRevision: return "duplicate-revision";
    case Anomaly::kWatchGap: return "watch-gap";
    case Anomaly::kWatchDuplicate: return "watch-duplicate";
    case Anomaly::kWatchReorder: return "watch-reorder";
    case Anomaly::kWatchSplit: return "watch-split";
  }
  KEEL_UNREACHABLE();
}

namespace {

// Revision -> index of the acknowledged op that created it.
std::map<int64_t, size_t> AckedWriters(const GeneratedHistory& g) {
  std::map<int64_t, size_t> out;
  for (size_t i = 0; i < g.created.size(); ++i) {
    if (g.created[i] != 0 && g.history.ops[i].outcome == Outcome::kOk) out[g.created[i]] = i;
  }
  return out;
}

bool IsPlainGet(const Operation& op) {
  if (op.type() != OpType::kRange || op.outcome != Outcome::kOk || op.final_read) return false;
  const auto& r = std::get<RangeRequest>(op.request);
  return r.range_end.empty() && r.revision == 0 && !r.serializable;
}

template <typename T>
T* Pick(std::vector<T>& v, uint64_t pick) {
  return v.empty() ? nullptr : &v[pick % v.size()];
}

// A read answers with an older version of its key (seen by another read),
// although the newer version was written by an acknowledged write.
bool InjectStaleRead(uint64_t pick, GeneratedHistory* g, const std::map<int64_t, size_t>& acked) {
  std::map<std::string, std::vector<KeyValue>> seen;
  for (const Operation& op : g->history.ops) {
    if (!IsPlainGet(op)) continue;
    for (const KeyValue& kv : std::get<RangeResponse>(op.response).kvs) seen[kv.key].push_back(kv);
  }
  std::vector<std::pair<size_t, KeyValue>> options;
  for (size_t i = 0; i < g->history.ops.size(); ++i) {
    const Operation& op = g->history.ops[i];
    if (!IsPlainGet(op)) continue;
    const auto& kvs = std::get<RangeResponse>(op.response).kvs;
    if (kvs.empty() || !acked.contains(kvs[0].mod_revision)) continue;
    for (const KeyValue& old : seen[kvs[0].key]) {
      if (old.mod_revision < kvs[0].mod_revision) options.emplace_back(i, old);
    }
  }
  auto* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  std::get<RangeResponse>(g->history.ops[choice->first].response).kvs[0] = choice->second;
  return true;
}

// A read claims a revision older than an acknowledged write that completed
// before it was invoked.
bool InjectStaleHeader(uint64_t pick, GeneratedHistory* g) {
  std::vector<std::pair<size_t, int64_t>> options;  // (read, write's revision)
  for (size_t i = 0; i < g->history.ops.size(); ++i) {
    const Operation& read = g->history.ops[i];
    if (!IsPlainGet(read)) continue;
    int64_t newest = 0;
    for (size_t j = 0; j < g->history.ops.size(); ++j) {
      const Operation& w = g->history.ops[j];
      if (g->created[j] != 0 && w.outcome == Outcome::kOk && w.complete_ns < read.invoke_ns) {
        newest = std::max(newest, g->created[j]);
      }
    }
    if (newest > kFirstRevision + 1) options.emplace_back(i, newest);
  }
  auto* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  Operation& read = g->history.ops[choice->first];
  read.revision = choice->second - 1;
  std::get<RangeResponse>(read.response) = RangeResponse{};
  return true;
}

bool InjectPhantomValue(uint64_t pick, GeneratedHistory* g) {
  std::vector<size_t> options;
  for (size_t i = 0; i < g->history.ops.size(); ++i) {
    const Operation& op = g->history.ops[i];
    if (IsPlainGet(op) && !std::get<RangeResponse>(op.response).kvs.empty()) options.push_back(i);
  }
  size_t* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  std::get<RangeResponse>(g->history.ops[*choice].response).kvs[0].value = "phantom";
  return true;
}

// The final read-out drops a key last written by an acknowledged write
// that no unknown-outcome operation could have undone.
bool InjectLostWrite(uint64_t pick, GeneratedHistory* g, const std::map<int64_t, size_t>& acked) {
  Operation* fin = nullptr;
  for (Operation& op : g->history.ops) {
    if (op.final_read) fin = &op;
  }
  if (fin == nullptr) return false;
  auto& resp = std::get<RangeResponse>(fin->response);
  std::vector<size_t> options;
  for (size_t i = 0; i < resp.kvs.size(); ++i) {
    const KeyValue& kv = resp.kvs[i];
    if (!acked.contains(kv.mod_revision)) continue;
    bool touched = false;
    for (const Operation& op : g->history.ops) {
      if (op.outcome == Outcome::kUnknown && RequestMayTouch(op.request, kv.key)) touched = true;
    }
    if (!touched) options.push_back(i);
  }
  size_t* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  resp.kvs.erase(resp.kvs.begin() + static_cast<std::ptrdiff_t>(*choice));
  --resp.count;
  return true;
}

bool InjectDuplicateRevision(uint64_t pick, GeneratedHistory* g,
                             const std::map<int64_t, size_t>& acked) {
  if (acked.size() < 2) return false;
  std::vector<size_t> writers;
  for (const auto& [rev, index] : acked) writers.push_back(index);
  size_t a = writers[pick % writers.size()];
  size_t b = writers[(pick / writers.size() + 1 + pick % writers.size()) % writers.size()];
  if (a == b) b = writers[(pick + 1) % writers.size()];
  g->history.ops[b].revision = g->history.ops[a].revision;
  return true;
}

std::vector<WatchResponse>* WatchResponses(Operation& op) {
  return op.type() == OpType::kWatch ? &std::get<WatchResult>(op.response).responses : nullptr;
}

// Drops an event of an acknowledged write that the stream provably covered
// (a later event or progress notification follows).
bool InjectWatchGap(uint64_t pick, GeneratedHistory* g, const std::map<int64_t, size_t>& acked) {
  struct Place {
    std::vector<WatchResponse>* responses;
    size_t response;
    size_t event;
  };
  std::vector<Place> options;
  for (Operation& op : g->history.ops) {
    auto* responses = WatchResponses(op);
    if (responses == nullptr) continue;
    int64_t covered = 0;  // the latest revision covered after each point
    for (size_t r = responses->size(); r-- > 0;) {
      const WatchResponse& resp = (*responses)[r];
      for (size_t e = resp.events.size(); e-- > 0;) {
        int64_t rev = resp.events[e].kv.mod_revision;
        if (covered > rev && acked.contains(rev)) options.push_back({responses, r, e});
        covered = std::max(covered, rev);
      }
      if (resp.IsProgressNotify()) covered = std::max(covered, resp.revision + 1);
    }
  }
  Place* p = Pick(options, pick);
  if (p == nullptr) return false;
  auto& events = (*p->responses)[p->response].events;
  events.erase(events.begin() + static_cast<std::ptrdiff_t>(p->event));
  if (events.empty()) p->responses->erase(p->responses->begin() + static_cast<std::ptrdiff_t>(p->response));
  return true;
}

bool InjectWatchDuplicate(uint64_t pick, GeneratedHistory* g) {
  std::vector<std::pair<WatchResponse*, size_t>> options;
  for (Operation& op : g->history.ops) {
    if (auto* responses = WatchResponses(op)) {
      for (WatchResponse& r : *responses) {
        for (size_t e = 0; e < r.events.size(); ++e) options.emplace_back(&r, e);
      }
    }
  }
  auto* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  auto& events = choice->first->events;
  events.insert(events.begin() + static_cast<std::ptrdiff_t>(choice->second),
                events[choice->second]);
  return true;
}

// Swaps two consecutive event responses whose revisions differ.
bool InjectWatchReorder(uint64_t pick, GeneratedHistory* g) {
  std::vector<std::pair<WatchResponse*, WatchResponse*>> options;
  for (Operation& op : g->history.ops) {
    auto* responses = WatchResponses(op);
    if (responses == nullptr) continue;
    WatchResponse* previous = nullptr;
    for (WatchResponse& r : *responses) {
      if (r.events.empty()) continue;
      if (previous != nullptr) options.emplace_back(previous, &r);
      previous = &r;
    }
  }
  auto* choice = Pick(options, pick);
  if (choice == nullptr) return false;
  std::swap(choice->first->events, choice->second->events);
  return true;
}

// Splits a response between two events of the same revision.
bool InjectWatchSplit(uint64_t pick, GeneratedHistory* g) {
  struct Place {
    std::vector<WatchResponse>* responses;
    size_t response;
    size_t at;
  };
  std::vector<Place> options;
  for (Operation& op : g->history.ops) {
    auto* responses = WatchResponses(op);
    if (responses == nullptr) continue;
    for (size_t r = 0; r < responses->size(); ++r) {
      const auto& events = (*responses)[r].events;
      for (size_t e = 1; e < events.size(); ++e) {
        if (events[e].kv.mod_revision == events[e - 1].kv.mod_revision) {
          options.push_back({responses, r, e});
        }
      }
    }
  }
  Place* p = Pick(options, pick);
  if (p == nullptr) return false;
  WatchResponse& first = (*p->responses)[p->response];
  WatchResponse second = first;
  second.events.erase(second.events.begin(), second.events.begin() + static_cast<std::ptrdiff_t>(p->at));
  first.events.resize(p->at);
  p->responses->insert(p->responses->begin() + static_cast<std::ptrdiff_t>(p->response) + 1,
                       std::move(second));
  return true;
}

}  // namespace

bool InjectAnomaly(Anomaly anomaly, uint64_t pick, GeneratedHistory* g) {
  std::map<int64_t, size_t> acked = AckedWriters(*g);
  switch (anomaly) {
    case Anomaly::kStaleRead: return InjectStaleRead(pick, g, acked);
    case Anomaly::kStaleHeader: return InjectStaleHeader(pick, g);
    case Anomaly::kPhantomValue: return InjectPhantomValue(pick, g);
    case Anomaly::kLostWrite: return InjectLostWrite(pick, g, acked);
    case Anomaly::kDuplicateRevision: return InjectDuplicateRevision(pick, g, acked);
    case Anomaly::kWatchGap: return InjectWatchGap(pick, g, acked);
    case Anomaly::kWatchDuplicate: return InjectWatchDuplicate(pick, g);
    case Anomaly::kWatchReorder: return InjectWatchReorder(pick, g);
    case Anomaly::kWatchSplit: return InjectWatchSplit(pick, g);
  }
  KEEL_UNREACHABLE();
}

}  // namespace keel::check
