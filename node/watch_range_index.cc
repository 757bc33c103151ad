// The treap behind WatchRangeIndex: split/merge on (start, end), with each
// node remembering the largest end below it so stabbing prunes subtrees
// whose ranges all end at or before the key.
#include "node/watch_range_index.h"

#include <utility>

#include "runtime/assert.h"

namespace keel::node {
namespace {

// Ends compare as strings, except that the empty end (unbounded) is larger
// than every other.
bool EndLess(std::string_view a, std::string_view b) {
  if (a.empty()) return false;
  if (b.empty()) return true;
  return a < b;
}

// True if a range ending at `end` can still contain `key`.
bool EndAfter(std::string_view end, std::string_view key) {
  return end.empty() || key < end;
}

// SplitMix64: spreads a counter into well-mixed treap priorities.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

struct WatchRangeIndex::Node {
  std::string start;
  std::string end;
  void* payload = nullptr;
  uint64_t priority = 0;
  NodePtr left;
  NodePtr right;
  // The largest end in this subtree (points into some node below).
  const std::string* max_end = nullptr;
};

void WatchRangeIndex::NodeDeleter::operator()(Node* node) const {
  delete node;
}

WatchRangeIndex::~WatchRangeIndex() = default;

bool WatchRangeIndex::Less(std::string_view a_start, std::string_view a_end,
                           std::string_view b_start, std::string_view b_end) {
  if (a_start != b_start) return a_start < b_start;
  return EndLess(a_end, b_end);
}

void WatchRangeIndex::Update(Node* node) {
  node->max_end = &node->end;
  for (const NodePtr* child : {&node->left, &node->right}) {
    if (*child && EndLess(*node->max_end, *(*child)->max_end)) {
      node->max_end = (*child)->max_end;
    }
  }
}

void WatchRangeIndex::Split(NodePtr node, std::string_view start,
                            std::string_view end, NodePtr* before,
                            NodePtr* rest) {
  if (!node) {
    before->reset();
    rest->reset();
    return;
  }
  if (Less(node->start, node->end, start, end)) {
    NodePtr right = std::move(node->right);
    Split(std::move(right), start, end, &node->right, rest);
    Update(node.get());
    *before = std::move(node);
  } else {
    NodePtr left = std::move(node->left);
    Split(std::move(left), start, end, before, &node->left);
    Update(node.get());
    *rest = std::move(node);
  }
}

WatchRangeIndex::NodePtr WatchRangeIndex::Merge(NodePtr left, NodePtr right) {
  if (!left) return right;
  if (!right) return left;
  if (left->priority > right->priority) {
    left->right = Merge(std::move(left->right), std::move(right));
    Update(left.get());
    return left;
  }
  right->left = Merge(std::move(left), std::move(right->left));
  Update(right.get());
  return right;
}

void WatchRangeIndex::Insert(std::string start, std::string end,
                             void* payload) {
  KEEL_ASSERT(end.empty() || start < end);
  KEEL_ASSERT(Find(start, end) == nullptr);
  NodePtr node(new Node);
  node->start = std::move(start);
  node->end = std::move(end);
  node->payload = payload;
  node->priority = Mix(next_priority_seed_++);
  Update(node.get());
  NodePtr before;
  NodePtr rest;
  Split(std::move(root_), node->start, node->end, &before, &rest);
  root_ = Merge(Merge(std::move(before), std::move(node)), std::move(rest));
  size_++;
}

bool WatchRangeIndex::EraseFrom(NodePtr* node, std::string_view start,
                                std::string_view end) {
  if (!*node) return false;
  Node* n = node->get();
  if (n->start == start && n->end == end) {
    *node = Merge(std::move(n->left), std::move(n->right));
    return true;
  }
  const bool erased = Less(start, end, n->start, n->end)
                          ? EraseFrom(&n->left, start, end)
                          : EraseFrom(&n->right, start, end);
  if (erased) Update(n);
  return erased;
}

bool WatchRangeIndex::Erase(std::string_view start, std::string_view end) {
  if (!EraseFrom(&root_, start, end)) return false;
  KEEL_ASSERT(size_ > 0);
  size_--;
  return true;
}

void* WatchRangeIndex::Find(std::string_view start,
                            std::string_view end) const {
  const Node* node = root_.get();
  while (node != nullptr) {
    if (node->start == start && node->end == end) return node->payload;
    node = Less(start, end, node->start, node->end) ? node->left.get()
                                                    : node->right.get();
  }
  return nullptr;
}

void WatchRangeIndex::StabFrom(const Node* node, std::string_view key,
                               absl::FunctionRef<void(void*)> visit) {
  // Every range below ends at or before `key`: none contains it.
  if (node == nullptr || !EndAfter(*node->max_end, key)) return;
  StabFrom(node->left.get(), key, visit);
  // Ranges to the right start at or after this one; if this one starts
  // past the key, so do they.
  if (key < node->start) return;
  if (EndAfter(node->end, key)) visit(node->payload);
  StabFrom(node->right.get(), key, visit);
}

void WatchRangeIndex::Stab(std::string_view key,
                           absl::FunctionRef<void(void* payload)> visit) const {
  StabFrom(root_.get(), key, visit);
}

}  // namespace keel::node
