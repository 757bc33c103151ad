// A generator of random, linearizable etcd histories, for the property tests
// and the benchmark, and the anomalies the property tests inject.
//
// It runs an independent, deliberately simple reference store (a full
// multi-version map, not kv_eval.h) over operations whose linearization
// points are drawn inside their client's real-time intervals: clients are
// sequential, intervals of different clients overlap at random. Writes of
// unknown outcome take effect (at some point after invocation, possibly
// after the client gave up) or not, at random. Watches replay the store's
// events for their range in atomic, in-order batches with occasional
// progress notifications. A final read-out ends the history.
#ifndef KEEL_CHECK_HISTORY_GEN_H_
#define KEEL_CHECK_HISTORY_GEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "check/history.h"

namespace keel::check {

struct GenOptions {
  uint64_t seed = 1;
  int ops = 100;      // KV operations (watches and the final read come extra)
  int clients = 4;
  int keys = 5;
  int watches = 0;
  int unknown_percent = 5;       // of writes
  int serializable_percent = 10;  // of single-key reads
  // Ranges, range deletes and two-key txns span at most this many keys
  // (0: any two keys).
  int max_range_keys = 0;
  bool final_read = true;
};

struct GeneratedHistory {
  History history;
  // Ground truth, indexed like history.ops: the revision a write created
  // (0 if it created none or did not take effect).
  std::vector<int64_t> created;
  int64_t last_revision = kFirstRevision;
};

GeneratedHistory GenerateHistory(const GenOptions& options);

enum class Anomaly {
  kStaleRead,        // a read returns an older version under its header
  kStaleHeader,      // a read is ordered before a write that finished first
  kPhantomValue,     // a read returns a value nobody wrote
  kLostWrite,        // the final read-out misses an acknowledged write
  kDuplicateRevision,  // two acknowledged writes claim one revision
  kWatchGap,         // a watch skips an event
  kWatchDuplicate,   // a watch delivers an event twice
  kWatchReorder,     // a watch delivers two revisions out of order
  kWatchSplit,       // a watch splits one revision across two responses
};
inline constexpr Anomaly kAllAnomalies[] = {
    Anomaly::kStaleRead,     Anomaly::kStaleHeader,     Anomaly::kPhantomValue,
    Anomaly::kLostWrite,     Anomaly::kDuplicateRevision, Anomaly::kWatchGap,
    Anomaly::kWatchDuplicate, Anomaly::kWatchReorder,   Anomaly::kWatchSplit};

std::string_view AnomalyName(Anomaly a);

// Injects one anomaly of the given kind where it is certain to be a
// violation (e.g. only around writes whose outcome is known, so that no
// choice of unknown outcomes can explain it). False if the history offers
// no such place. `pick` chooses among the places.
bool InjectAnomaly(Anomaly anomaly, uint64_t pick, GeneratedHistory* generated);

}  // namespace keel::check

#endif  // KEEL_CHECK_HISTORY_GEN_H_
