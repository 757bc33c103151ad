// NoSpaceAlarm: the quota check in front of proposals and the alarm
// proposal.
#include "node/no_space_alarm.h"

#include "node/errors.h"
#include "node/membership.h"

namespace keel::node {

absl::Status NoSpaceAlarm::Check(int64_t cost) {
  if (quota_.Available(cost)) return absl::OkStatus();
  Raise();
  return MakeError(EtcdError::kNoSpace);
}

void NoSpaceAlarm::Raise() {
  if (raising_ || life_.stopping()) return;
  if (!alarms_.List(etcdserverpb::NOSPACE).empty()) return;
  raising_ = true;
  env_.log().Warn("key space exceeded its quota; raising alarm",
                  {{"quota-size-bytes", quota_.limit_bytes()},
                   {"member-id", FormatId(member_id_)}});
  env_.Spawn(Propose());
}

Task<void> NoSpaceAlarm::Propose() {
  MemberLife::LoopGuard guard(life_);
  KEEL_ASSERT(raising_);
  internal::InternalRaftRequest request;
  etcdserverpb::AlarmRequest* alarm = request.mutable_alarm();
  alarm->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm->set_memberid(member_id_);
  alarm->set_alarm(etcdserverpb::NOSPACE);
  ApplyResult result = co_await proposer_.Propose(std::move(request));
  if (!result.status.ok() && !life_.stopping()) {
    env_.log().Warn("failed to raise the NOSPACE alarm", {{"error", result.status.ToString()}});
  }
  raising_ = false;
}

}  // namespace keel::node
