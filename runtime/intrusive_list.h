// A doubly-linked intrusive list whose nodes know which list holds them.
//
// Waiters in keel live inside coroutine frames; when a frame is destroyed
// (a killed process, a cancelled WhenAny branch) its waiter must leave
// whatever queue it is in. A node that remembers its list can unlink itself
// from its destructor in O(1), with no owner to ask.
#ifndef KEEL_RUNTIME_INTRUSIVE_LIST_H_
#define KEEL_RUNTIME_INTRUSIVE_LIST_H_

#include <cstddef>

#include "runtime/assert.h"

namespace keel {

template <typename T>
class IntrusiveList;

template <typename T>
class IntrusiveNode {
 public:
  IntrusiveNode() = default;
  IntrusiveNode(const IntrusiveNode&) = delete;
  IntrusiveNode& operator=(const IntrusiveNode&) = delete;
  ~IntrusiveNode() { Unlink(); }

  bool linked() const { return list_ != nullptr; }

  // Removes the node from its list, if any.
  void Unlink() {
    if (list_ != nullptr) list_->Remove(static_cast<T*>(this));
  }

 private:
  friend class IntrusiveList<T>;
  IntrusiveList<T>* list_ = nullptr;
  IntrusiveNode* prev_ = nullptr;
  IntrusiveNode* next_ = nullptr;
};

template <typename T>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;
  ~IntrusiveList() {
    while (!empty()) PopFront();
  }

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  T* front() const { return static_cast<T*>(head_); }
  T* back() const { return static_cast<T*>(tail_); }

  void PushBack(T* item) {
    IntrusiveNode<T>* node = item;
    KEEL_ASSERT(node->list_ == nullptr);
    node->list_ = this;
    node->prev_ = tail_;
    node->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = node;
    } else {
      head_ = node;
    }
    tail_ = node;
    size_++;
  }

  T* PopFront() {
    if (head_ == nullptr) return nullptr;
    T* item = static_cast<T*>(head_);
    Remove(item);
    return item;
  }

  void Remove(T* item) {
    IntrusiveNode<T>* node = item;
    KEEL_ASSERT(node->list_ == this);
    if (node->prev_ != nullptr) {
      node->prev_->next_ = node->next_;
    } else {
      head_ = node->next_;
    }
    if (node->next_ != nullptr) {
      node->next_->prev_ = node->prev_;
    } else {
      tail_ = node->prev_;
    }
    node->list_ = nullptr;
    node->prev_ = nullptr;
    node->next_ = nullptr;
    size_--;
  }

  // Moves every node of `other` to the back of this list, keeping order.
  void Splice(IntrusiveList& other) {
    while (!other.empty()) PushBack(other.PopFront());
  }

  // Iteration in list order. The visitor must not unlink other nodes.
  template <typename F>
  void ForEach(F&& visit) const {
    for (IntrusiveNode<T>* n = head_; n != nullptr;) {
      IntrusiveNode<T>* next = n->next_;
      visit(static_cast<T*>(n));
      n = next;
    }
  }

 private:
  IntrusiveNode<T>* head_ = nullptr;
  IntrusiveNode<T>* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_INTRUSIVE_LIST_H_
