// KvState: the etcd key space as the checkers model it, one revision at a
// time, with an undo log so the linearizability search can try a write and
// take it back, and an incremental 128-bit hash of the whole state for the
// search's memo of dead ends.
//
// Only the latest revision is kept (the search checks each read at the
// revision it observed, so it never needs an older one). Each key also
// remembers the operation that last wrote it, to name it in reports. Leases
// are tracked as attachments (lease -> keys) plus the set of leases already
// revoked or expired, so that a lease can expire at most once.
#ifndef KEEL_CHECK_KV_STATE_H_
#define KEEL_CHECK_KV_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "check/history.h"

namespace keel::check {

// Writers that are not operations of the history.
inline constexpr OpId kInitialWriter = -1;  // present in the initial store
inline constexpr OpId kExpiryWriter = -2;   // a lease expired

struct KeyState {
  KeyValue kv;
  OpId writer = kInitialWriter;
};

struct StateHash {
  uint64_t a = 0;
  uint64_t b = 0;
  bool operator==(const StateHash&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const StateHash& s) {
    return H::combine(std::move(h), s.a, s.b);
  }
};

class KvState {
 public:
  // The store at `revision` holding `kvs` (keys must be unique).
  KvState(int64_t revision, const std::vector<KeyValue>& kvs);

  // The latest committed revision.
  int64_t revision() const { return revision_; }
  // The revision the next write creates.
  int64_t next_revision() const { return revision_ + 1; }

  // The key's state, or nullptr if absent. Valid until the next mutation.
  const KeyState* Find(std::string_view key) const;

  // Calls fn(const KeyState&) for each key in etcd's range [begin, end), in
  // key order.
  template <typename Fn>
  void ForEachInRange(std::string_view begin, std::string_view end, Fn fn) const {
    if (end.empty()) {
      if (const KeyState* s = Find(begin)) fn(*s);
      return;
    }
    bool to_end = end.size() == 1 && end[0] == '\0';
    for (auto it = keys_.lower_bound(begin); it != keys_.end(); ++it) {
      if (!to_end && std::string_view(it->first) >= end) break;
      fn(it->second);
    }
  }

  // Keys attached to `lease` (empty if none), in key order.
  std::vector<std::string> KeysOfLease(int64_t lease) const;
  // Leases that have at least one key attached and are not dead, ascending.
  std::vector<int64_t> LeasesWithKeys() const;
  bool IsDeadLease(int64_t lease) const { return dead_leases_.contains(lease); }
  size_t key_count() const { return keys_.size(); }

  // --- Mutation (all undoable) ---
  // Sets `key` to `state` (nullopt deletes it). Writes belong to
  // next_revision(); call CommitRevision() once the write produced changes.
  void Set(std::string_view key, std::optional<KeyState> state);
  void CommitRevision();
  void MarkLeaseDead(int64_t lease);

  // An undo position; Rollback(mark) restores the state as it was then.
  size_t Mark() const { return undo_.size(); }
  void Rollback(size_t mark);
  // Forgets the undo log: earlier marks become invalid. For a caller that
  // will never roll back past this point (keeps memory flat on long runs).
  void DiscardUndo() { undo_.clear(); }

  // Hash of keys, values, revisions, versions, leases and dead leases (not
  // of writers or the revision counter, which callers mix in themselves).
  StateHash hash() const { return hash_; }

 private:
  struct Undo {
    enum class Kind { kKey, kRevision, kDeadLease } kind;
    std::string key;
    std::optional<KeyState> old;
    int64_t number = 0;
  };

  void SetRaw(std::string_view key, std::optional<KeyState> state);

  int64_t revision_;
  absl::btree_map<std::string, KeyState, std::less<>> keys_;
  absl::flat_hash_map<int64_t, absl::btree_set<std::string>> lease_keys_;
  absl::btree_set<int64_t> dead_leases_;
  std::vector<Undo> undo_;
  StateHash hash_;
};

// Hash of one kv, as mixed into StateHash (exposed for tests).
StateHash HashKv(const KeyValue& kv);

}  // namespace keel::check

#endif  // KEEL_CHECK_KV_STATE_H_
