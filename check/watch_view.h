// WatchView: one watch stream digested for checking: which revisions it
// must have reported (its window) and the events it did report, per
// revision. Shared by the watch checker and by the linearizability search,
// which uses watch events as evidence of which write created a revision.
//
// The window starts at the requested start revision, or, for a watch from
// "now", at the created response's header revision + 1 (etcd 3.4 registers
// the watcher at exactly that revision), or failing both at the first event.
// It ends at the last revision the stream provably covered: its last event
// or its last progress notification, whichever is later. (The header
// revision of an event response does not count: etcd sends events of a slow
// watcher in batches whose header is the store's current revision.)
#ifndef KEEL_CHECK_WATCH_VIEW_H_
#define KEEL_CHECK_WATCH_VIEW_H_

#include <cstdint>
#include <vector>

#include "check/history.h"

namespace keel::check {

struct WatchView {
  int32_t op = 0;  // index into History::ops
  const WatchRequest* request = nullptr;
  int64_t start = 0;  // 0: unknown (no created response and no event)
  int64_t upto = 0;   // 0: covered nothing
  int64_t compact_revision = 0;  // from a compaction notice, else 0
  // Every event received, in arrival order, with the response it came in.
  struct Received {
    const Event* event;
    int32_t response;
  };
  std::vector<Received> events;

  bool Covers(int64_t revision) const {
    return start > 0 && revision >= start && revision <= upto;
  }
};

// Views of every watch operation in the history, in history order.
std::vector<WatchView> BuildWatchViews(const History& history);

// Whether a watch with this request reports `event` (key range and
// noput/nodelete filters).
bool WatchSees(const WatchRequest& request, const Event& event);

// Whether two events agree on what a watcher may check: type, key and
// mod_revision, and for a put the value, create_revision, version and lease.
// prev_kv is not compared.
bool SameEvent(const Event& a, const Event& b);

// "put \"k\"=\"v\" at 7" / "delete \"k\" at 9".
std::string DescribeEvent(const Event& e);

}  // namespace keel::check

#endif  // KEEL_CHECK_WATCH_VIEW_H_
