// The watch checker: the six guarantees etcd's robustness suite checks on
// every watch stream, plus compaction and prev_kv:
//
//   ordered       event revisions never go back; events of one revision
//                 arrive in the order the write made them;
//   unique        no event (revision, key) arrives twice;
//   atomic        the events of one revision arrive in one response (unless
//                 the response is marked as a fragment);
//   bookmarkable  after a progress notification at revision P, no event at
//                 or below P arrives;
//   reliable      the events received equal the committed history of the
//                 watched range (and filters) from the start revision up to
//                 the last revision the stream covered (its last event or
//                 progress notification), except that a watch from a
//                 compaction revision C may miss the deletes made at C (etcd
//                 drops those tombstones when it compacts at C);
//   resumable     a watch from revision R first reports the first committed
//                 event at or after R;
//   compaction    a watch whose start revision was compacted before it was
//                 created, on a member known to have applied the compaction
//                 (its revision at creation is past the compaction's), gets
//                 compact_revision (and no events); a compaction notice
//                 implies start < compact_revision;
//   prev_kv       when asked for, prev_kv is the key's previous value.
//
// The first four (and compaction) need only the stream. reliable, resumable
// and prev_kv need the committed history (linearizability.h), which exists
// only if the history holds every write that changed a watched range
// (acknowledged or of unknown outcome); without it they are skipped.
#ifndef KEEL_CHECK_WATCH_CHECKER_H_
#define KEEL_CHECK_WATCH_CHECKER_H_

#include <vector>

#include "check/history.h"
#include "check/linearizability.h"
#include "check/violation.h"

namespace keel::check {

// Checks every watch in `history`. `committed` may be null. At most
// `max_violations` are returned (the first of each watch first).
std::vector<Violation> CheckWatches(const History& history,
                                    const CommittedHistory* committed,
                                    size_t max_violations = 50);

}  // namespace keel::check

#endif  // KEEL_CHECK_WATCH_CHECKER_H_
