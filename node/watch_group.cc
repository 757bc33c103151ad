// WatcherGroup: synced watchers by key (hash map) and by range (treap).
#include "node/watch_group.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::node {

std::string_view WatcherGroup::IndexEnd(std::string_view range_end) {
  return range_end == std::string_view("\0", 1) ? std::string_view()
                                                : range_end;
}

void WatcherGroup::Add(Watcher* watcher) {
  KEEL_ASSERT(watcher != nullptr);
  KEEL_ASSERT(!watcher->key.empty());
  WatcherSet* set = nullptr;
  if (watcher->range_end.empty()) {
    std::unique_ptr<WatcherSet>& slot = keys_[watcher->key];
    if (!slot) slot = std::make_unique<WatcherSet>();
    set = slot.get();
  } else {
    const std::string end(IndexEnd(watcher->range_end));
    std::unique_ptr<WatcherSet>& slot =
        range_sets_[std::make_pair(watcher->key, end)];
    if (!slot) {
      slot = std::make_unique<WatcherSet>();
      ranges_.Insert(watcher->key, end, slot.get());
    }
    set = slot.get();
  }
  const bool inserted = set->watchers.emplace(watcher->serial, watcher).second;
  KEEL_ASSERT(inserted);
  size_++;
}

void WatcherGroup::Remove(Watcher* watcher) {
  KEEL_ASSERT(size_ > 0);
  if (watcher->range_end.empty()) {
    auto it = keys_.find(AsAbsl(watcher->key));
    KEEL_ASSERT(it != keys_.end());
    const size_t erased = it->second->watchers.erase(watcher->serial);
    KEEL_ASSERT(erased == 1);
    if (it->second->watchers.empty()) keys_.erase(it);
  } else {
    const std::string end(IndexEnd(watcher->range_end));
    auto it = range_sets_.find(std::make_pair(watcher->key, end));
    KEEL_ASSERT(it != range_sets_.end());
    const size_t erased = it->second->watchers.erase(watcher->serial);
    KEEL_ASSERT(erased == 1);
    if (it->second->watchers.empty()) {
      const bool unindexed = ranges_.Erase(watcher->key, end);
      KEEL_ASSERT(unindexed);
      range_sets_.erase(it);
    }
  }
  size_--;
}

void WatcherGroup::ForEachMatch(std::string_view key,
                                absl::FunctionRef<void(WatcherSet*)> visit) {
  if (!keys_.empty()) {
    auto it = keys_.find(AsAbsl(key));
    if (it != keys_.end()) visit(it->second.get());
  }
  if (!ranges_.empty()) {
    ranges_.Stab(key, [&](void* payload) {
      visit(static_cast<WatcherSet*>(payload));
    });
  }
}

}  // namespace keel::node
