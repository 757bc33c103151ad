// Alarms persisted under the 'c' tag of the member's LevelDB:
// 'c' 'a' <member id big-endian> <type big-endian u32> -> "" (present means
// raised).
#include "node/alarm_store.h"

#include "leveldb/write_batch.h"
#include "runtime/assert.h"
#include "store/key_codec.h"

namespace keel::node {
namespace {

std::string AlarmPrefix() { return std::string{store::kClusterTag, 'a'}; }

std::string AlarmKey(uint64_t member_id, int type) {
  std::string key = AlarmPrefix();
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((member_id >> shift) & 0xff));
  }
  const uint32_t t = static_cast<uint32_t>(type);
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((t >> shift) & 0xff));
  }
  return key;
}

constexpr size_t kAlarmKeyBytes = 2 + 8 + 4;

etcdserverpb::AlarmMember ToAlarmMember(const std::pair<uint64_t, int>& alarm) {
  etcdserverpb::AlarmMember member;
  member.set_memberid(alarm.first);
  member.set_alarm(static_cast<etcdserverpb::AlarmType>(alarm.second));
  return member;
}

}  // namespace

absl::Status AlarmStore::Load() {
  alarms_.clear();
  const std::string prefix = AlarmPrefix();
  auto it = db_->NewIterator();
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    if (key.size() != kAlarmKeyBytes) {
      return absl::DataLossError("alarms: a record's key is malformed");
    }
    uint64_t member_id = 0;
    for (size_t i = 2; i < 10; i++) member_id = (member_id << 8) | static_cast<uint8_t>(key[i]);
    uint32_t type = 0;
    for (size_t i = 10; i < 14; i++) type = (type << 8) | static_cast<uint8_t>(key[i]);
    if (!etcdserverpb::AlarmType_IsValid(static_cast<int>(type)) ||
        type == etcdserverpb::NONE) {
      return absl::DataLossError("alarms: a record names an unknown alarm type");
    }
    alarms_.insert({member_id, static_cast<int>(type)});
  }
  return it->status();
}

absl::StatusOr<bool> AlarmStore::Activate(uint64_t member_id, etcdserverpb::AlarmType type) {
  if (type == etcdserverpb::NONE) {
    return absl::InvalidArgumentError("alarm type NONE cannot be raised");
  }
  // Written even when present, so a replayed entry leaves the same record.
  leveldb::WriteBatch batch;
  batch.Put(AlarmKey(member_id, type), "");
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  const bool inserted = alarms_.insert({member_id, static_cast<int>(type)}).second;
  KEEL_ASSERT(Active(type));
  return inserted;
}

absl::StatusOr<bool> AlarmStore::Deactivate(uint64_t member_id,
                                            etcdserverpb::AlarmType type) {
  leveldb::WriteBatch batch;
  batch.Delete(AlarmKey(member_id, type));
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  return alarms_.erase({member_id, static_cast<int>(type)}) > 0;
}

std::vector<etcdserverpb::AlarmMember> AlarmStore::List() const {
  std::vector<etcdserverpb::AlarmMember> out;
  out.reserve(alarms_.size());
  for (const auto& alarm : alarms_) out.push_back(ToAlarmMember(alarm));
  return out;
}

std::vector<etcdserverpb::AlarmMember> AlarmStore::List(etcdserverpb::AlarmType type) const {
  std::vector<etcdserverpb::AlarmMember> out;
  for (const auto& alarm : alarms_) {
    if (alarm.second == type) out.push_back(ToAlarmMember(alarm));
  }
  return out;
}

bool AlarmStore::Active(etcdserverpb::AlarmType type) const {
  for (const auto& alarm : alarms_) {
    if (alarm.second == type) return true;
  }
  return false;
}

}  // namespace keel::node
