// LinPlan: the linearizability checker's preparation of a history. etcd
// numbers every write with a revision and tells clients which revision they
// created or read, so most of the order is fixed before any search:
//
// - an acknowledged write occupies the slot of its header revision;
// - an acknowledged read is checked against the store at the revision it
//   read (its `revision` argument, else its header revision);
// - real time constrains only the pairs the revisions did not order, and is
//   checked up front: an op that completed before another was invoked must
//   not sit at a later point (point = (revision, write before reads));
// - the slots nobody acknowledged ("gaps") were created by unknown-outcome
//   writes or by lease revocations/expiries; which one is what the search
//   (linearizability.h) decides. The plan gives each unknown write the
//   earliest slot real time allows, collects evidence of what each gap wrote
//   (kvs whose mod/create revision is the gap, watch events), and per key
//   the revision intervals where observations forbid any write or delete.
//
// Serializable reads may be stale (etcd serves them from any member's local
// store), so real time does not order them; they are still checked against
// the store at their header revision, and cannot see the future: every
// write up to that revision must have been invoked before the read completed.
#ifndef KEEL_CHECK_LIN_PLAN_H_
#define KEEL_CHECK_LIN_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "check/history.h"
#include "check/kv_state.h"
#include "check/observations.h"
#include "check/violation.h"
#include "check/watch_view.h"

namespace keel::check {

struct LinOptions {
  // Candidate placements the search may try before it gives up and calls
  // the result inconclusive.
  int64_t max_search_steps = 5'000'000;
  // Also require each client's serializable reads never to go back in
  // revision. etcd does not promise this (a client may fail over to a
  // lagging member), so it is off by default.
  bool serializable_monotonic = false;
  // Use watch events as evidence of what gaps wrote (see checker.cc).
  bool use_watch_evidence = true;
  // Cap on the violations found before the search (real time etc.).
  size_t max_violations = 20;
};

// A set of revision intervals (after, upto], each remembering the op whose
// observation created it (to name it in reports).
class RevisionIntervals {
 public:
  void Add(int64_t after, int64_t upto, int32_t source);
  void Seal();  // sorts; call once before Find
  // The source op index of an interval containing `revision`, or -1.
  int32_t Find(int64_t revision) const;
  bool Contains(int64_t revision) const { return Find(revision) >= 0; }

 private:
  struct Interval {
    int64_t after;
    int64_t upto;
    int32_t source;
  };
  std::vector<Interval> intervals_;  // sorted by after
  std::vector<size_t> longest_;      // per prefix: the interval reaching furthest
};

struct KeyFacts {
  // What observations saw of the key, by revision: create/mod/version, or
  // create == 0 for "absent" (single-key reads, deletes that found
  // nothing, txns that found create == 0 true), or create == kPresent for
  // "present, details unknown" (a single-key delete that deleted it saw it
  // just before; a txn whose compare needed it).
  struct Seen {
    int64_t revision;
    int64_t create;
    int64_t mod;
    int64_t version;
    // kPresent only: a value the key was known to hold (a txn compared
    // value == this and succeeded).
    std::optional<std::string> value = std::nullopt;
  };
  static constexpr int64_t kPresent = -1;
  std::vector<Seen> seen;
  RevisionIntervals no_write;        // no put or delete of the key here
  RevisionIntervals no_delete;       // no delete of the key here
  std::vector<int64_t> acked_puts;     // revisions of acknowledged puts, sorted
  std::vector<int64_t> acked_deletes;  // of acknowledged single-key deletes, sorted
  std::vector<int64_t> pinned_puts;    // gaps whose evidence says they put the key
};

// A range read that listed every present key of [begin, end) at `revision`
// (for a read cut by its limit: up to its last key): keys of the range it
// did not list were absent then.
struct RangeSight {
  int64_t revision;
  std::string_view begin;
  std::string end;  // etcd range end ("\0" = to the end of the key space)
  std::vector<std::string_view> listed;  // sorted
};

// An observation whose version counts more puts than acknowledged writes
// made in [create, mod]: unknown-outcome writes must make up the rest.
struct VersionDemand {
  std::string key;
  int64_t create;
  int64_t mod;
  int64_t version;
  int32_t op;  // the observing op (index)
};

struct RangeDelete {
  int64_t revision;
  std::string begin;
  std::string end;
};

struct UnknownWrite {
  int32_t op = 0;
  int64_t lo = 0;         // earliest revision it may create
  StateHash tag;          // its bit in the search's used-set hash
  std::string first_key;  // a key it writes ("" for a lease revoke)
  std::vector<std::pair<std::string, std::string>> footprint;  // RequestRanges
  bool single_put = false;  // a plain put (touches only first_key)
};

enum class SlotCheckKind {
  kRead,          // an acknowledged range: compare with the store
  kNoWrite,       // an acknowledged op that created no revision
  kLeaseEmptied,  // an acknowledged lease revoke: no key may remain attached
};
struct SlotCheck {
  SlotCheckKind kind;
  int32_t op;
};

struct GapEvidence {
  std::vector<KeyObservation> puts;     // a kv with mod_revision == the gap
  std::vector<KeyObservation> creates;  // a kv with create_revision == the gap
};

struct LinPlan {
  int64_t initial_revision = kFirstRevision;
  int64_t last_revision = kFirstRevision;  // highest revision to explain
  bool feasible = true;  // false: more gaps than anything could fill

  // Per slot (revision r at index r - initial_revision - 1).
  std::vector<int32_t> writer;  // acknowledged writer's op index, or -1
  std::vector<std::vector<int32_t>> revokes;  // acked revokes with this header
  std::vector<int64_t> serial_deadline;       // see lin_plan.h comment
  // Per revision r in [initial_revision, last_revision] at r - initial_revision.
  std::vector<std::vector<SlotCheck>> checks;

  std::vector<UnknownWrite> unknowns;  // sorted by lo
  absl::flat_hash_map<int64_t, GapEvidence> evidence;
  absl::flat_hash_map<std::string, KeyFacts> keys;
  std::vector<RangeSight> sights;            // sorted by revision
  std::vector<RangeDelete> range_deletes;    // acknowledged, sorted by revision
  std::vector<VersionDemand> demands;        // sorted by create
  // Only with use_watch_evidence: every slot a watch covers must produce
  // exactly the events it reported there.
  std::vector<WatchView> watches;

  std::vector<Violation> violations;  // found while planning

  size_t Slot(int64_t revision) const {
    return static_cast<size_t>(revision - initial_revision - 1);
  }
  bool IsGap(int64_t revision) const { return writer[Slot(revision)] < 0; }
};

LinPlan BuildLinPlan(const History& history, const LinOptions& options);

// --- Parts of BuildLinPlan (lin_static.cc) ---------------------------------

// Real-time order of acknowledged linearizable operations; fills
// plan->violations and every unknown write's lo.
void CheckRealTime(const History& history, LinPlan* plan, const LinOptions& options);
// Serializable reads: serial_deadline, the no-future rule for acknowledged
// writes, and (if asked) per-client monotonic revisions.
void CheckSerializable(const History& history, LinPlan* plan, const LinOptions& options);
// Reads of compacted or future revisions that succeeded anyway.
void CheckCompaction(const History& history, LinPlan* plan, const LinOptions& options);

// The content revision of an acknowledged range.
inline int64_t ContentRevision(const Operation& op) {
  const auto& r = std::get<RangeRequest>(op.request);
  return r.revision > 0 ? r.revision : op.revision;
}

}  // namespace keel::check

#endif  // KEEL_CHECK_LIN_PLAN_H_
