// Per-key observations: what acknowledged operations saw of one key at one
// revision. Reads see the store at their content revision (the revision they
// asked for, or their header revision); a write's prev_kv shows the store
// just before its own revision; a read-only txn reads at its header
// revision. The linearizability search uses them to rule out placements of
// unknown-outcome writes early, the durability checker to find lost writes,
// the lease checker to see keys vanish.
#ifndef KEEL_CHECK_OBSERVATIONS_H_
#define KEEL_CHECK_OBSERVATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "check/history.h"

namespace keel::check {

struct KeyObservation {
  int32_t op = 0;        // index into History::ops
  int64_t revision = 0;  // the store revision observed
  bool present = false;
  bool value_known = true;  // false for keys_only reads
  KeyValue kv;              // when present (kv.key is always set)
};

// Whether an acknowledged put/delete/txn created a revision (its header
// revision), judging from its response: a put always does, a delete if it
// deleted something, a txn if its branch put or deleted something.
bool AckedOpWrites(const Operation& op);

// Every observation of acknowledged operations, in history order. Absence
// is only recorded for single-key reads and prev_kv requests; a range read
// observes absence of keys it does not name, which per-key lists cannot hold.
std::vector<KeyObservation> CollectObservations(const History& history);

}  // namespace keel::check

#endif  // KEEL_CHECK_OBSERVATIONS_H_
