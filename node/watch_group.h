// Watchers and the group that finds the synced ones an event concerns.
//
// A Watcher is one watch of one stream, as the hub tracks it (etcd's
// mvcc.watcher). WatcherGroup is the set of *synced* watchers indexed for
// delivery (etcd's watcherGroup): watchers of one key sit in a hash map by
// key, range watchers in a WatchRangeIndex. Watchers with the same key and
// range_end share one WatcherSet, because they match exactly the same
// events: the hub builds each revision's matching events once per set and
// hands the same immutable batch to all of its watchers, which is what makes
// a thousand watchers on one key cheap.
//
// Within a set watchers are ordered by their hub-wide serial (creation
// order), never by address, so delivery order is deterministic.
#ifndef KEEL_NODE_WATCH_GROUP_H_
#define KEEL_NODE_WATCH_GROUP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "node/watch_range_index.h"

namespace keel::node {

class WatchStream;

enum class WatcherState {
  kSynced,     // in the hub's synced group: gets each revision as applied
  kUnsynced,   // catching up from history (new with an old start, resumed)
  kVictim,     // its stream's buffer was full; waits for the stream to drain
  kEnded,      // its history was compacted (or unreadable); it was told so
               // and gets nothing more, but keeps its id until canceled
};

struct Watcher {
  uint64_t serial = 0;  // hub-wide creation order
  int64_t id = 0;       // the watch id on its stream
  WatchStream* stream = nullptr;
  // Store conventions (store/mvcc_types.h): range_end "" is the key alone,
  // "\0" every key >= key, otherwise [key, range_end).
  std::string key;
  std::string range_end;
  // The first revision this watcher has not been given yet (etcd's minRev).
  int64_t min_revision = 0;
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool fragment = false;
  bool progress_notify = false;
  // No event response has been queued since the last progress tick.
  bool progress_due = true;
  WatcherState state = WatcherState::kUnsynced;
};

// Watchers with the same key and range_end.
struct WatcherSet {
  absl::btree_map<uint64_t, Watcher*> watchers;  // by serial
  // Scratch for WatchHub::OnApply: the apply that last matched this set
  // and where its events are being collected.
  uint64_t stamp = 0;
  size_t slot = 0;
};

class WatcherGroup {
 public:
  WatcherGroup() = default;
  WatcherGroup(const WatcherGroup&) = delete;
  WatcherGroup& operator=(const WatcherGroup&) = delete;

  // Adds `watcher` (not already in the group; its range is not empty).
  void Add(Watcher* watcher);
  // Removes `watcher`, which must be in the group.
  void Remove(Watcher* watcher);

  // Calls `visit` for every set containing `key`: the key's own set first,
  // then range sets by (start, end). Each set at most once per call.
  void ForEachMatch(std::string_view key,
                    absl::FunctionRef<void(WatcherSet*)> visit);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // The index form of a range_end: "" (unbounded) for "\0".
  static std::string_view IndexEnd(std::string_view range_end);

  absl::flat_hash_map<std::string, std::unique_ptr<WatcherSet>> keys_;
  // Owns the range sets; the index points at them.
  absl::btree_map<std::pair<std::string, std::string>,
                  std::unique_ptr<WatcherSet>>
      range_sets_;
  WatchRangeIndex ranges_;
  size_t size_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_WATCH_GROUP_H_
