// KvState; see kv_state.h.
#include "check/kv_state.h"

#include "absl/hash/hash.h"
#include "runtime/assert.h"

namespace keel::check {
namespace {

// Two independent 64-bit lanes, so a memo collision needs 128 bits to agree.
constexpr uint64_t kSaltA = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kSaltB = 0xc2b2ae3d27d4eb4full;

StateHash HashLease(int64_t lease) {
  return StateHash{absl::HashOf(kSaltA, lease, 0xdeadull),
                   absl::HashOf(kSaltB, lease, 0xdeadull)};
}

void Mix(StateHash* into, const StateHash& h) {
  into->a ^= h.a;
  into->b ^= h.b;
}

}  // namespace

StateHash HashKv(const KeyValue& kv) {
  auto lane = [&](uint64_t salt) {
    return absl::HashOf(salt, kv.key, kv.value, kv.create_revision,
                        kv.mod_revision, kv.version, kv.lease);
  };
  return StateHash{lane(kSaltA), lane(kSaltB)};
}

KvState::KvState(int64_t revision, const std::vector<KeyValue>& kvs)
    : revision_(revision) {
  KEEL_ASSERT(revision >= kFirstRevision);
  for (const KeyValue& kv : kvs) {
    KEEL_ASSERT(!keys_.contains(kv.key));
    SetRaw(kv.key, KeyState{kv, kInitialWriter});
  }
}

const KeyState* KvState::Find(std::string_view key) const {
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> KvState::KeysOfLease(int64_t lease) const {
  auto it = lease_keys_.find(lease);
  if (it == lease_keys_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

std::vector<int64_t> KvState::LeasesWithKeys() const {
  std::vector<int64_t> out;
  for (const auto& [lease, keys] : lease_keys_) {
    KEEL_ASSERT(!keys.empty());
    if (!dead_leases_.contains(lease)) out.push_back(lease);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void KvState::SetRaw(std::string_view key, std::optional<KeyState> state) {
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    Mix(&hash_, HashKv(it->second.kv));
    if (int64_t lease = it->second.kv.lease; lease != 0) {
      auto lit = lease_keys_.find(lease);
      KEEL_ASSERT(lit != lease_keys_.end());
      lit->second.erase(it->second.kv.key);
      if (lit->second.empty()) lease_keys_.erase(lit);
    }
    if (!state) {
      keys_.erase(it);
      return;
    }
    it->second = std::move(*state);
  } else {
    if (!state) return;
    it = keys_.emplace(std::string(key), std::move(*state)).first;
  }
  KEEL_ASSERT(it->second.kv.key == key);
  Mix(&hash_, HashKv(it->second.kv));
  if (int64_t lease = it->second.kv.lease; lease != 0) {
    lease_keys_[lease].insert(it->second.kv.key);
  }
}

void KvState::Set(std::string_view key, std::optional<KeyState> state) {
  Undo undo{Undo::Kind::kKey, std::string(key), std::nullopt, 0};
  if (const KeyState* old = Find(key)) undo.old = *old;
  undo_.push_back(std::move(undo));
  SetRaw(key, std::move(state));
}

void KvState::CommitRevision() {
  undo_.push_back(Undo{Undo::Kind::kRevision, "", std::nullopt, revision_});
  ++revision_;
}

void KvState::MarkLeaseDead(int64_t lease) {
  KEEL_ASSERT(lease != 0);
  if (!dead_leases_.insert(lease).second) return;
  Mix(&hash_, HashLease(lease));
  undo_.push_back(Undo{Undo::Kind::kDeadLease, "", std::nullopt, lease});
}

void KvState::Rollback(size_t mark) {
  KEEL_ASSERT(mark <= undo_.size());
  while (undo_.size() > mark) {
    Undo& u = undo_.back();
    switch (u.kind) {
      case Undo::Kind::kKey: SetRaw(u.key, std::move(u.old)); break;
      case Undo::Kind::kRevision: revision_ = u.number; break;
      case Undo::Kind::kDeadLease:
        KEEL_ASSERT(dead_leases_.erase(u.number) == 1);
        Mix(&hash_, HashLease(u.number));
        break;
    }
    undo_.pop_back();
  }
}

}  // namespace keel::check
