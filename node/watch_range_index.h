// WatchRangeIndex: the key ranges that synced range watchers cover, for
// finding every range that contains one key.
//
// etcd keeps range watchers in an interval tree (pkg/adt); this is the same
// idea as a treap ordered by (start, end) and augmented with the largest end
// in each subtree, so a stabbing query visits only subtrees that can hold a
// match: O(log n + matches) expected. Each distinct [start, end) appears
// once and carries a payload the caller owns (the watch group keeps one set
// of watchers per distinct range there). An empty end means unbounded (a
// range_end of "\0": every key >= start).
//
// Treap priorities come from a counter run through a mixer, never from
// addresses or a random device, so the tree's shape (and the order in which
// matches are reported: by start, then end) is the same on every run.
#ifndef KEEL_NODE_WATCH_RANGE_INDEX_H_
#define KEEL_NODE_WATCH_RANGE_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace keel::node {

class WatchRangeIndex {
 public:
  WatchRangeIndex() = default;
  WatchRangeIndex(const WatchRangeIndex&) = delete;
  WatchRangeIndex& operator=(const WatchRangeIndex&) = delete;
  ~WatchRangeIndex();

  // Adds [start, end) with `payload`. The range must not be present and
  // must not be empty (start < end unless end is unbounded).
  void Insert(std::string start, std::string end, void* payload);

  // Removes [start, end); false if it is not present.
  bool Erase(std::string_view start, std::string_view end);

  // The payload of [start, end), or null.
  void* Find(std::string_view start, std::string_view end) const;

  // Calls `visit` with the payload of every range that contains `key`, in
  // (start, end) order. `visit` must not change the index.
  void Stab(std::string_view key,
            absl::FunctionRef<void(void* payload)> visit) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Node;
  struct NodeDeleter {
    void operator()(Node* node) const;
  };
  using NodePtr = std::unique_ptr<Node, NodeDeleter>;

  static bool Less(std::string_view a_start, std::string_view a_end,
                   std::string_view b_start, std::string_view b_end);
  static void Update(Node* node);
  // Splits `node` into the ranges before (start, end) and the rest.
  static void Split(NodePtr node, std::string_view start, std::string_view end,
                    NodePtr* before, NodePtr* rest);
  static NodePtr Merge(NodePtr left, NodePtr right);
  static bool EraseFrom(NodePtr* node, std::string_view start,
                        std::string_view end);
  static void StabFrom(const Node* node, std::string_view key,
                       absl::FunctionRef<void(void*)> visit);

  NodePtr root_;
  size_t size_ = 0;
  uint64_t next_priority_seed_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_WATCH_RANGE_INDEX_H_
