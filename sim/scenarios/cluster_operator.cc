// The cluster scenario's membership operator (see cluster_operator.h).
#include "sim/scenarios/cluster_operator.h"

#include <algorithm>
#include <utility>

#include "client/outcome.h"
#include "node/membership.h"
#include "runtime/strings.h"

namespace keel::sim::cluster {
namespace {

constexpr Duration kCallTimeout = Seconds(5);
// Between attempts: after a refusal, and after an unknown outcome.
constexpr Duration kRefusedPause = Seconds(1);
constexpr Duration kUnknownPause = Milliseconds(500);

constexpr char kUnhealthy[] = "etcdserver: unhealthy cluster";
constexpr char kLearnerUnsupported[] = "etcdserver: rpc not supported for learner";
constexpr char kPeerUrlsExist[] = "etcdserver: Peer URLs already exists";
constexpr char kMemberNotFound[] = "etcdserver: member not found";
constexpr char kPromoteVoter[] = "etcdserver: can only promote a learner member";

// An answer that says the change was not made: refused before it was
// proposed, or by the member list when it applied.
bool Refused(const absl::Status& status) {
  return !client::MayHaveTakenEffect(status) || status.message() == kUnhealthy ||
         status.message() == kLearnerUnsupported;
}

std::vector<node::Member> FromProto(
    const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members) {
  std::vector<node::Member> out;
  for (const etcdserverpb::Member& m : members) {
    out.push_back(node::Member{.id = m.id(),
                               .name = m.name(),
                               .peer_urls = {m.peerurls().begin(), m.peerurls().end()},
                               .client_urls = {m.clienturls().begin(), m.clienturls().end()},
                               .is_learner = m.islearner()});
  }
  return out;
}

}  // namespace

MembershipOperator::MembershipOperator(SimWorld& world, ClusterMembers& members,
                                       size_t min_voters)
    : world_(world), members_(members), min_voters_(min_voters) {}

void MembershipOperator::Enqueue(const PlanStep& step) {
  if (finished_) return;
  tally_.steps++;
  queue_.push_back(step);
  wake_.Set();
}

void MembershipOperator::Note(const std::string& what) {
  world_.log().Note("membership", what);
}

Task<void> MembershipOperator::Run(Env& env) {
  env_ = &env;
  client::ClientOptions options;
  options.endpoints = members_.ClientEndpoints(/*all=*/true);
  options.dial_timeout = Milliseconds(500);
  // Lives in this frame: it goes with the process, before the world.
  client::EtcdClient client(env, std::move(options));
  client_ = &client;
  while (true) {
    while (queue_.empty()) {
      wake_.Reset();
      co_await wake_.Wait();
    }
    const PlanStep step = queue_.front();
    queue_.pop_front();
    busy_ = true;
    co_await Execute(step);
    busy_ = false;
  }
}

Task<void> MembershipOperator::Execute(const PlanStep& step) {
  Random random(step.seed);
  switch (step.kind) {
    case PlanStep::Kind::kMemberAddLearner:
      co_await AddLearner(random);
      break;
    case PlanStep::Kind::kMemberPromote:
      co_await Promote();
      break;
    case PlanStep::Kind::kMemberRemove:
      co_await Remove(random);
      break;
    case PlanStep::Kind::kMemberReplace:
      co_await Replace(random);
      break;
    default:
      KEEL_ASSERT_MSG(false, "not a membership step");
  }
}

std::vector<size_t> MembershipOperator::Seated(bool voters, bool learners) const {
  std::vector<size_t> out;
  for (size_t m = 0; m < members_.size(); m++) {
    const Seat& seat = members_.seat(m);
    // (An ID not known yet: an initial member that never started.)
    if (!seat.member || seat.uncertain || seat.id == 0) continue;
    if (seat.learner ? learners : voters) out.push_back(m);
  }
  return out;
}

std::string MembershipOperator::EndpointFor(uint64_t attempt) const {
  std::vector<size_t> voters = Seated(true, false);
  const std::vector<std::string> endpoints = members_.ClientEndpoints(/*all=*/true);
  if (voters.empty()) return endpoints[attempt % endpoints.size()];
  return endpoints[voters[attempt % voters.size()]];
}

void MembershipOperator::Wipe(size_t m) {
  SimMachine& machine = *members_.machines()[m];
  machine.Kill();
  machine.Wipe();
}

// ---- the calls ----

Task<MembershipOperator::AddResult> MembershipOperator::CallAdd(size_t m, bool learner,
                                                                Duration insist) {
  const TimePoint deadline = env_->clock().Now() + kSettleLimit;
  const TimePoint give_up = env_->clock().Now() + insist;
  bool maybe = false;  // an earlier attempt may have taken effect
  for (uint64_t attempt = 0;; attempt++) {
    if (env_->clock().Now() >= deadline) {
      co_return AddResult{.outcome = maybe ? Outcome::kUnknown : Outcome::kRefused};
    }
    const std::string endpoint = EndpointFor(attempt);
    etcdserverpb::MemberAddRequest request;
    request.add_peerurls(members_.PeerUrl(m));
    request.set_islearner(learner);
    auto added = co_await client_->UnaryAt<etcdserverpb::MemberAddResponse>(
        endpoint, client::kMemberAddPath, request, client::RequestOptions::WithTimeout(kCallTimeout));
    if (added.ok()) {
      co_return AddResult{.outcome = Outcome::kDone,
                          .id = added->member().id(),
                          .join_cluster = members_.InitialClusterOf(FromProto(added->members()))};
    }
    const absl::Status status = added.status();
    if (maybe && status.message() == kPeerUrlsExist) {
      // An earlier attempt added it: the member that says so lists it.
      auto list = co_await client_->UnaryAt<etcdserverpb::MemberListResponse>(
          endpoint, client::kMemberListPath, etcdserverpb::MemberListRequest{},
          client::RequestOptions::WithTimeout(kCallTimeout));
      if (list.ok()) {
        for (const etcdserverpb::Member& member : list->members()) {
          if (std::find(member.peerurls().begin(), member.peerurls().end(),
                        members_.PeerUrl(m)) == member.peerurls().end()) {
            continue;
          }
          co_return AddResult{.outcome = Outcome::kDone,
                              .id = member.id(),
                              .join_cluster = members_.InitialClusterOf(FromProto(list->members()))};
        }
      }
    }
    Note(StrCat("add ", members_.machines()[m]->name(), " via ", endpoint, ": ", status.ToString()));
    if (Refused(status)) {
      if (!maybe && env_->clock().Now() >= give_up) co_return AddResult{.outcome = Outcome::kRefused};
      co_await env_->clock().Sleep(kRefusedPause);
      continue;
    }
    maybe = true;
    co_await env_->clock().Sleep(kUnknownPause);
  }
}

Task<MembershipOperator::Outcome> MembershipOperator::CallRemove(uint64_t id, Duration insist) {
  const TimePoint deadline = env_->clock().Now() + kSettleLimit;
  const TimePoint give_up = env_->clock().Now() + insist;
  bool maybe = false;
  for (uint64_t attempt = 0;; attempt++) {
    if (env_->clock().Now() >= deadline) co_return maybe ? Outcome::kUnknown : Outcome::kRefused;
    const std::string endpoint = EndpointFor(attempt);
    etcdserverpb::MemberRemoveRequest request;
    request.set_id(id);
    auto removed = co_await client_->UnaryAt<etcdserverpb::MemberRemoveResponse>(
        endpoint, client::kMemberRemovePath, request,
        client::RequestOptions::WithTimeout(kCallTimeout));
    if (removed.ok()) co_return Outcome::kDone;
    const absl::Status status = removed.status();
    if (maybe && status.message() == kMemberNotFound) co_return Outcome::kDone;
    Note(StrCat("remove ", node::FormatId(id), " via ", endpoint, ": ", status.ToString()));
    if (Refused(status)) {
      if (!maybe && env_->clock().Now() >= give_up) co_return Outcome::kRefused;
      co_await env_->clock().Sleep(kRefusedPause);
      continue;
    }
    maybe = true;
    co_await env_->clock().Sleep(kUnknownPause);
  }
}

Task<MembershipOperator::Outcome> MembershipOperator::CallPromote(uint64_t id, Duration insist) {
  const TimePoint deadline = env_->clock().Now() + kSettleLimit;
  const TimePoint give_up = env_->clock().Now() + insist;
  bool maybe = false;
  for (uint64_t attempt = 0;; attempt++) {
    if (env_->clock().Now() >= deadline) co_return maybe ? Outcome::kUnknown : Outcome::kRefused;
    const std::string endpoint = EndpointFor(attempt);
    etcdserverpb::MemberPromoteRequest request;
    request.set_id(id);
    auto promoted = co_await client_->UnaryAt<etcdserverpb::MemberPromoteResponse>(
        endpoint, client::kMemberPromotePath, request,
        client::RequestOptions::WithTimeout(kCallTimeout));
    if (promoted.ok()) co_return Outcome::kDone;
    const absl::Status status = promoted.status();
    if (maybe && status.message() == kPromoteVoter) co_return Outcome::kDone;
    Note(StrCat("promote ", node::FormatId(id), " via ", endpoint, ": ", status.ToString()));
    // A learner still catching up is asked about again, as an operator
    // would; so is an unhealthy cluster.
    if (Refused(status) && !maybe &&
        (status.message() == kPromoteVoter || env_->clock().Now() >= give_up)) {
      co_return Outcome::kRefused;
    }
    if (!Refused(status)) maybe = true;
    co_await env_->clock().Sleep(Refused(status) ? kRefusedPause : kUnknownPause);
  }
}

// ---- the steps ----

Task<void> MembershipOperator::AddLearner(Random& random) {
  std::vector<size_t> outside;
  for (size_t m = 0; m < members_.size(); m++) {
    if (!members_.seat(m).member && !members_.seat(m).uncertain) outside.push_back(m);
  }
  if (outside.empty() || !Seated(false, true).empty()) {
    tally_.skipped++;
    Note("skip adding a learner: no machine outside, or a learner already");
    co_return;
  }
  const size_t m = outside[random.Uniform(outside.size())];
  const std::string name = members_.machines()[m]->name();
  Wipe(m);
  Note(StrCat("add ", name, " as a learner"));
  const AddResult added = co_await CallAdd(m, /*learner=*/true, kInsist);
  if (added.outcome == Outcome::kRefused) {
    tally_.refused++;
    co_return;
  }
  Seat seat{.member = true, .id = added.id, .learner = true, .join_cluster = added.join_cluster};
  if (added.outcome == Outcome::kUnknown) {
    tally_.unsettled++;
    members_.set_seat(m, Seat{.uncertain = true});
    co_return;
  }
  members_.set_seat(m, std::move(seat));
  tally_.adds++;
  Note(StrCat("start ", name, " as learner ", node::FormatId(added.id), " to join ",
              added.join_cluster));
  SimMachine& machine = *members_.machines()[m];
  machine.Kill();  // an idle process from outside the cluster
  machine.Start();
}

Task<void> MembershipOperator::Promote() {
  const std::vector<size_t> learners = Seated(false, true);
  if (learners.empty()) {
    tally_.skipped++;
    Note("skip a promotion: no learner");
    co_return;
  }
  const size_t m = learners[0];
  Seat seat = members_.seat(m);
  Note(StrCat("promote ", members_.machines()[m]->name(), " ", node::FormatId(seat.id)));
  const Outcome outcome = co_await CallPromote(seat.id, kInsist);
  if (outcome == Outcome::kRefused) {
    tally_.refused++;
    co_return;
  }
  if (outcome == Outcome::kUnknown) {
    tally_.unsettled++;
    seat.uncertain = true;
  } else {
    tally_.promotes++;
    seat.learner = false;
  }
  members_.set_seat(m, std::move(seat));
}

Task<void> MembershipOperator::Remove(Random& random) {
  const std::vector<size_t> learners = Seated(false, true);
  const std::vector<size_t> voters = Seated(true, false);
  size_t m = 0;
  if (!learners.empty() && (voters.size() <= min_voters_ || random.OneIn(2))) {
    m = learners[0];
  } else if (voters.size() > min_voters_) {
    m = voters[random.Uniform(voters.size())];
  } else {
    tally_.skipped++;
    Note(StrCat("skip a removal: ", voters.size(), " voters and no learner"));
    co_return;
  }
  Seat seat = members_.seat(m);
  Note(StrCat("remove ", members_.machines()[m]->name(), " ", node::FormatId(seat.id)));
  const Outcome outcome = co_await CallRemove(seat.id, kInsist);
  if (outcome == Outcome::kRefused) {
    tally_.refused++;
    co_return;
  }
  if (outcome == Outcome::kUnknown) {
    tally_.unsettled++;
    seat.uncertain = true;
    members_.set_seat(m, std::move(seat));
    co_return;
  }
  // Outside now: the member stops itself once it learns it was removed.
  tally_.removes++;
  members_.set_seat(m, Seat{});
}

Task<void> MembershipOperator::Replace(Random& random) {
  const std::vector<size_t> voters = Seated(true, false);
  if (voters.size() < min_voters_) {
    tally_.skipped++;
    Note(StrCat("skip a replacement: ", voters.size(), " voters"));
    co_return;
  }
  const size_t m = voters[random.Uniform(voters.size())];
  const std::string name = members_.machines()[m]->name();
  Seat seat = members_.seat(m);
  Note(StrCat("replace ", name, " ", node::FormatId(seat.id), ": remove it"));
  const Outcome removed = co_await CallRemove(seat.id, kInsist);
  if (removed == Outcome::kRefused) {
    tally_.refused++;
    co_return;
  }
  if (removed == Outcome::kUnknown) {
    tally_.unsettled++;
    seat.uncertain = true;
    members_.set_seat(m, std::move(seat));
    co_return;
  }
  // The failed member's disk is lost: it comes back as a new member.
  members_.set_seat(m, Seat{});
  Wipe(m);
  Note(StrCat("replace ", name, ": add it back as a voter"));
  const AddResult added = co_await CallAdd(m, /*learner=*/false, kSettleLimit);
  if (added.outcome == Outcome::kRefused) {
    tally_.refused++;
    co_return;
  }
  if (added.outcome == Outcome::kUnknown) {
    tally_.unsettled++;
    members_.set_seat(m, Seat{.uncertain = true});
    co_return;
  }
  members_.set_seat(m, Seat{.member = true, .id = added.id, .join_cluster = added.join_cluster});
  tally_.replaces++;
  Note(StrCat("start ", name, " as ", node::FormatId(added.id), " to join ", added.join_cluster));
  SimMachine& machine = *members_.machines()[m];
  machine.Kill();
  machine.Start();
}

}  // namespace keel::sim::cluster
