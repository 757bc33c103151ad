// The thread's Buggify policy.
#include "runtime/buggify.h"

namespace keel {
namespace {
thread_local BuggifyPolicy* buggify_policy = nullptr;
}  // namespace

void SetBuggifyPolicy(BuggifyPolicy* policy) { buggify_policy = policy; }
BuggifyPolicy* GetBuggifyPolicy() { return buggify_policy; }

}  // namespace keel
