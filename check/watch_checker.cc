// The watch checker; see watch_checker.h.
#include "check/watch_checker.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/watch_view.h"

namespace keel::check {
namespace {

using EventKey = std::pair<int64_t, std::string>;  // (revision, key)

EventKey KeyOf(const Event& e) { return {e.kv.mod_revision, e.kv.key}; }

// Facts about the whole history the per-watch checks need.
struct HistoryFacts {
  int64_t max_compaction = 0;  // highest compaction asked for (any outcome)
  // Acknowledged compactions.
  struct Compaction {
    int64_t done_ns;
    int64_t revision;         // compacted up to
    int64_t header_revision;  // the store's revision when it was applied
  };
  std::vector<Compaction> compactions;
  // The revisions compactions asked for (any outcome but a definite error).
  std::set<int64_t> compaction_revisions;
};

HistoryFacts GatherFacts(const History& history) {
  HistoryFacts facts;
  for (const Operation& op : history.ops) {
    if (op.type() != OpType::kCompact || op.outcome == Outcome::kError) continue;
    int64_t c = std::get<CompactRequest>(op.request).revision;
    facts.max_compaction = std::max(facts.max_compaction, c);
    facts.compaction_revisions.insert(c);
    if (op.outcome == Outcome::kOk) {
      facts.compactions.push_back({op.complete_ns, c, op.revision});
    }
  }
  return facts;
}

class WatchCheck {
 public:
  WatchCheck(const History& history, const HistoryFacts& facts, const WatchView& view,
             const CommittedHistory* committed, std::vector<Violation>* out)
      : h_(history),
        facts_(facts),
        v_(view),
        op_(history.ops[view.op]),
        req_(*view.request),
        committed_(committed),
        out_(out) {}

  void Run() {
    CheckStream();
    CheckCompaction();
    if (committed_ != nullptr && v_.start > 0) CheckAgainstHistory();
  }

 private:
  void Report(const std::string& property, std::string explanation,
              std::vector<OpId> more_ops = {}, std::string expected = "") {
    if (!reported_.insert(property).second) return;  // one per property and watch
    std::vector<OpId> ops = {op_.id};
    for (OpId id : more_ops) {
      if (id >= 0 && std::find(ops.begin(), ops.end(), id) == ops.end()) ops.push_back(id);
    }
    out_->push_back(Violation{"watch", property, std::move(ops),
                              StrCat("watch op ", op_.id, " (client ", op_.client, ", ",
                                     DescribeRequest(op_.request), "): ",
                                     std::move(explanation)),
                              std::move(expected)});
  }

  OpId WriterOf(int64_t revision) const {
    if (committed_ == nullptr || !committed_->Has(revision)) return -1;
    int32_t op = committed_->At(revision).op;
    const CommittedWrite& w = committed_->At(revision);
    if (op < 0 || w.source == CommittedWrite::Source::kLeaseExpiry) return -1;
    return h_.ops[op].id;
  }

  const std::vector<WatchResponse>& responses() const {
    return std::get<WatchResult>(op_.response).responses;
  }

  void CheckEvent(const Event& e, int64_t last, int64_t progress,
                  std::set<EventKey>* seen) {
    int64_t rev = e.kv.mod_revision;
    if (rev < last) {
      Report("ordered", StrCat("event ", DescribeEvent(e), " arrived after an event of revision ",
                               last));
    }
    if (!seen->insert(KeyOf(e)).second) {
      Report("unique", StrCat("event ", DescribeEvent(e), " arrived twice"), {WriterOf(rev)});
    }
    if (rev <= progress) {
      Report("bookmarkable",
             StrCat("event ", DescribeEvent(e), " arrived after a progress notification at ",
                    "revision ", progress, " claimed every event up to it was delivered"),
             {WriterOf(rev)});
    }
    if (v_.start > 0 && rev < v_.start) {
      Report(req_.start_revision > 0 ? "resumable" : "ordered",
             StrCat("event ", DescribeEvent(e), " precedes the watch's start revision ",
                    v_.start));
    }
    if (!WatchSees(req_, e)) {
      Report("filter", StrCat("event ", DescribeEvent(e),
                              " is outside the watched range or excluded by its filters"));
    }
  }

  void CheckStream() {
    int64_t last = 0;
    int64_t progress = 0;
    std::set<EventKey> seen;
    const WatchResponse* previous_with_events = nullptr;
    for (const WatchResponse& resp : responses()) {
      if (resp.IsProgressNotify()) progress = std::max(progress, resp.revision);
      if (resp.events.empty()) continue;
      int64_t highest = 0;
      for (const Event& e : resp.events) {
        CheckEvent(e, last, progress, &seen);
        last = std::max(last, e.kv.mod_revision);
        highest = std::max(highest, e.kv.mod_revision);
      }
      if (resp.revision < highest) {
        Report("header", StrCat("a response with events up to revision ", highest,
                                " has header revision ", resp.revision));
      }
      if (previous_with_events != nullptr && !previous_with_events->fragment &&
          previous_with_events->events.back().kv.mod_revision ==
              resp.events.front().kv.mod_revision) {
        int64_t rev = resp.events.front().kv.mod_revision;
        Report("atomic", StrCat("the events of revision ", rev,
                                " were split across two responses"),
               {WriterOf(rev)});
      }
      previous_with_events = &resp;
    }
  }

  void CheckCompaction() {
    bool notice = false;
    bool delivered = false;  // events or progress before any notice
    for (const WatchResponse& resp : responses()) {
      if (resp.compact_revision != 0) {
        notice = true;
        if (v_.start > 0 && v_.start >= resp.compact_revision) {
          Report("compaction", StrCat("reported compact_revision ", resp.compact_revision,
                                      " although its start revision ", v_.start,
                                      " was not compacted"));
        }
        if (resp.compact_revision > facts_.max_compaction && facts_.max_compaction > 0) {
          Report("compaction", StrCat("reported compact_revision ", resp.compact_revision,
                                      " but no compaction beyond ", facts_.max_compaction,
                                      " was requested"));
        }
        continue;
      }
      if (notice && !resp.events.empty()) {
        Report("compaction", "delivered events after its compaction notice");
      }
      if (!notice && (!resp.events.empty() || resp.IsProgressNotify())) delivered = true;
    }
    if (req_.start_revision <= 0 || notice || !delivered) return;
    // The member that serves a watch answers from its own store, which may
    // not have applied a compaction another member acknowledged (etcd does
    // not read-index watches). It has applied it for certain once its
    // revision at creation is past the one the compaction was applied at:
    // a write after the compaction in the log.
    int64_t created_revision = 0;
    for (const WatchResponse& resp : responses()) {
      if (resp.created) {
        created_revision = resp.revision;
        break;
      }
    }
    int64_t compacted = 0;
    for (const HistoryFacts::Compaction& c : facts_.compactions) {
      if (c.done_ns < op_.invoke_ns && created_revision > c.header_revision) {
        compacted = std::max(compacted, c.revision);
      }
    }
    if (req_.start_revision < compacted) {
      Report("compaction",
             StrCat("started at revision ", req_.start_revision, " after a compaction to ",
                    compacted, " had completed, but silently served the stream instead of ",
                    "reporting compact_revision"));
    }
  }

  void CheckAgainstHistory() {
    int64_t limit = std::min(v_.upto, committed_->last_revision());
    if (v_.upto > committed_->last_revision()) {
      Report("reliable", StrCat("covered revision ", v_.upto,
                                " but the committed history ends at ",
                                committed_->last_revision()));
    }
    std::vector<const Event*> delivered;
    std::set<EventKey> delivered_keys;
    for (const auto& rec : v_.events) {
      int64_t rev = rec.event->kv.mod_revision;
      if (rev < v_.start || rev > limit) continue;
      if (delivered_keys.insert(KeyOf(*rec.event)).second) delivered.push_back(rec.event);
    }
    std::vector<const Event*> expected;
    for (int64_t r = std::max(v_.start, committed_->initial_revision + 1); r <= limit; ++r) {
      for (const Event& e : committed_->At(r).events) {
        if (!WatchSees(req_, e)) continue;
        // A compaction at revision C drops the tombstones written at C
        // (etcd's keyIndex.compact), yet a watch from C is not compacted:
        // it may or may not see those deletes, depending on whether its
        // member had applied the compaction when it read the history.
        if (e.type == Event::Type::kDelete && r == req_.start_revision &&
            facts_.compaction_revisions.contains(r) && !delivered_keys.contains(KeyOf(e))) {
          continue;
        }
        expected.push_back(&e);
      }
    }
    std::map<EventKey, const Event*> wanted;
    for (const Event* e : expected) wanted.emplace(KeyOf(*e), e);
    bool clean = CompareSets(expected, delivered, delivered_keys, wanted);
    if (clean) CheckOrderWithinRevisions(expected, delivered);
    if (req_.start_revision > 0 && !delivered.empty() && !expected.empty() &&
        KeyOf(*delivered.front()) != KeyOf(*expected.front())) {
      Report("resumable",
             StrCat("from revision ", req_.start_revision, " it first reported ",
                    DescribeEvent(*delivered.front()), " instead of ",
                    DescribeEvent(*expected.front())),
             {WriterOf(expected.front()->kv.mod_revision)});
    }
    CheckPrevKv(delivered, wanted);
  }

  // Missing, extra and altered events. True if none.
  bool CompareSets(const std::vector<const Event*>& expected,
                   const std::vector<const Event*>& delivered,
                   const std::set<EventKey>& delivered_keys,
                   const std::map<EventKey, const Event*>& wanted) {
    bool clean = true;
    for (const Event* e : expected) {
      if (delivered_keys.contains(KeyOf(*e))) continue;
      clean = false;
      Report("reliable",
             StrCat("missed ", DescribeEvent(*e), " (between revisions ", v_.start, " and ",
                    v_.upto, " that the stream covered)"),
             {WriterOf(e->kv.mod_revision)});
      break;
    }
    for (const Event* d : delivered) {
      auto it = wanted.find(KeyOf(*d));
      if (it == wanted.end()) {
        clean = false;
        Report("reliable",
               StrCat("reported ", DescribeEvent(*d),
                      ", which is not a change the committed history made in its range"),
               {WriterOf(d->kv.mod_revision)});
        break;
      }
      if (!SameEvent(*it->second, *d)) {
        clean = false;
        Report("reliable",
               StrCat("reported ", DescribeEvent(*d), " but the write of that revision made ",
                      DescribeEvent(*it->second)),
               {WriterOf(d->kv.mod_revision)});
        break;
      }
    }
    return clean;
  }

  void CheckOrderWithinRevisions(const std::vector<const Event*>& expected,
                                 const std::vector<const Event*>& delivered) {
    KEEL_ASSERT(expected.size() == delivered.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      if (KeyOf(*expected[i]) == KeyOf(*delivered[i])) continue;
      int64_t rev = expected[i]->kv.mod_revision;
      Report("ordered",
             StrCat("the events of revision ", rev,
                    " arrived in a different order than the write made them: got ",
                    DescribeEvent(*delivered[i]), " where ", DescribeEvent(*expected[i]),
                    " was due"),
             {WriterOf(rev)});
      return;
    }
  }

  void CheckPrevKv(const std::vector<const Event*>& delivered,
                   const std::map<EventKey, const Event*>& wanted) {
    for (const Event* d : delivered) {
      auto it = wanted.find(KeyOf(*d));
      if (it == wanted.end()) continue;
      const Event& truth = *it->second;
      int64_t rev = d->kv.mod_revision;
      bool is_create = truth.type == Event::Type::kPut &&
                       truth.kv.create_revision == truth.kv.mod_revision;
      std::optional<KeyValue> want =
          req_.prev_kv && !is_create ? truth.prev_kv : std::nullopt;
      if (d->prev_kv == want) continue;
      // etcd leaves prev_kv out when revision-1 was already compacted.
      if (!d->prev_kv && want && facts_.max_compaction > rev - 1) continue;
      Report("prev_kv",
             StrCat("event ", DescribeEvent(*d), " carried prev_kv ",
                    d->prev_kv ? DescribeKv(*d->prev_kv) : std::string("none"),
                    ", expected ", want ? DescribeKv(*want) : std::string("none")),
             {WriterOf(rev)});
      return;
    }
  }

  const History& h_;
  const HistoryFacts& facts_;
  const WatchView& v_;
  const Operation& op_;
  const WatchRequest& req_;
  const CommittedHistory* committed_;
  std::vector<Violation>* out_;
  std::set<std::string> reported_;
};

}  // namespace

std::vector<Violation> CheckWatches(const History& history,
                                    const CommittedHistory* committed,
                                    size_t max_violations) {
  std::vector<Violation> out;
  HistoryFacts facts = GatherFacts(history);
  for (const WatchView& view : BuildWatchViews(history)) {
    WatchCheck(history, facts, view, committed, &out).Run();
    if (out.size() >= max_violations) break;
  }
  if (out.size() > max_violations) out.resize(max_violations);
  return out;
}

}  // namespace keel::check
