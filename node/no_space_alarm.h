// NoSpaceAlarm: raising NOSPACE when this member's key space outgrows its
// quota (etcd's quotaAlarmer and the apply loop's reaction to ErrNoSpace).
//
// Front ends check a write's cost before proposing it (Check); the apply
// loop reports a write answered NOSPACE (Raise). Either way the member
// proposes AlarmRequest{ACTIVATE, NOSPACE, itself} through raft, one at a
// time, unless the alarm is already raised; once applied, every member's
// QuotaApplier refuses writes that grow the key space.
#ifndef KEEL_NODE_NO_SPACE_ALARM_H_
#define KEEL_NODE_NO_SPACE_ALARM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "node/alarm_store.h"
#include "node/member_life.h"
#include "node/proposer.h"
#include "node/quota.h"
#include "runtime/env.h"

namespace keel::node {

class NoSpaceAlarm {
 public:
  // References must outlive this.
  NoSpaceAlarm(Env& env, const Quota& quota, const AlarmStore& alarms, Proposer& proposer,
               MemberLife& life, uint64_t member_id)
      : env_(env), quota_(quota), alarms_(alarms), proposer_(proposer), life_(life),
        member_id_(member_id) {}

  // OK if a request of `cost` fits the quota; else raises the alarm and
  // returns kNoSpace ("etcdserver: mvcc: database space exceeded").
  absl::Status Check(int64_t cost);
  // Raises NOSPACE for this member through raft (in the background), unless
  // it is raised or being raised.
  void Raise();

  const Quota& quota() const { return quota_; }

 private:
  Task<void> Propose();

  Env& env_;
  const Quota& quota_;
  const AlarmStore& alarms_;
  Proposer& proposer_;
  MemberLife& life_;
  const uint64_t member_id_;
  bool raising_ = false;
};

}  // namespace keel::node

#endif  // KEEL_NODE_NO_SPACE_ALARM_H_
