// PeerPipeline: queue, writer, heartbeat reader and the dial/backoff loop of
// one peer's outbound message connection.
#include "net/peer_pipeline.h"

#include <algorithm>
#include <utility>

#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::net::peer {
namespace {

// Buggify()'s queue bound: raft runs with messages dropped for a full
// queue (it retransmits and probes) well before a real queue fills.
constexpr size_t kBuggifiedQueueMessages = 32;

}  // namespace

PeerPipeline::PeerPipeline(PeerContext& context, uint64_t peer_id,
                           std::vector<std::string> addresses)
    : context_(context),
      peer_id_(peer_id),
      peer_text_(IdText(peer_id)),
      addresses_(std::move(addresses)),
      queue_capacity_messages_(
          Buggify() ? std::min(kBuggifiedQueueMessages, context.options().queue_capacity_messages)
                    : context.options().queue_capacity_messages),
      tasks_(context.env().process().executor()) {
  KEEL_ASSERT(peer_id != 0 && peer_id != context.local_id());
  KEEL_ASSERT(!addresses_.empty());
}

PeerPipeline::~PeerPipeline() { tasks_.CancelAll(); }

void PeerPipeline::Start() {
  KEEL_ASSERT(tasks_.empty());
  tasks_.Start(Run());
}

const std::string& PeerPipeline::current_address() const {
  return addresses_[address_index_ % addresses_.size()];
}

void PeerPipeline::SetAddresses(std::vector<std::string> addresses) {
  KEEL_ASSERT(!addresses.empty());
  addresses_ = std::move(addresses);
  address_index_ = 0;
}

bool PeerPipeline::Enqueue(const raftpb::Message& message) {
  KEEL_ASSERT(message.to() == peer_id_);
  const PeerTransportOptions& options = context_.options();
  if (state_ == State::kBackoff ||
      queued_messages_ >= queue_capacity_messages_ ||
      queued_bytes_ >= options.queue_capacity_bytes) {
    stats_.messages_dropped++;
    return false;
  }
  // Buggify: a batch closed early, down to one message per write.
  if (batches_.empty() || batches_.back().bytes.size() >= options.batch_bytes_max ||
      Buggify()) {
    batches_.emplace_back();
  }
  Batch& batch = batches_.back();
  const size_t before = batch.bytes.size();
  absl::Status encoded = AppendMessageFrame(&batch.bytes, message);
  if (!encoded.ok()) {
    context_.log().Error("dropped internal Raft message that cannot be framed",
                         {{"remote-peer-id", peer_text_},
                          {"message-type", raftpb::MessageType_Name(message.type())},
                          {"error", AsStd(encoded.message())}});
    if (batch.bytes.empty()) batches_.pop_back();
    stats_.messages_dropped++;
    return false;
  }
  batch.messages++;
  queued_messages_++;
  queued_bytes_ += batch.bytes.size() - before;
  batch_waiters_.WakeAll();
  return true;
}

size_t PeerPipeline::DropQueue() {
  size_t dropped = 0;
  for (const Batch& batch : batches_) dropped += batch.messages;
  KEEL_ASSERT(dropped == queued_messages_);
  batches_.clear();
  queued_messages_ = 0;
  queued_bytes_ = 0;
  return dropped;
}

void PeerPipeline::Activate() {
  KEEL_ASSERT(!active_);
  active_ = true;
  active_since_ = context_.env().clock().Now();
  context_.log().Info("peer became active", {{"peer-id", peer_text_}});
  context_.log().Info("established TCP streaming connection with remote peer",
                      {{"stream-writer-type", "message"},
                       {"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", peer_text_},
                       {"address", current_address()}});
}

void PeerPipeline::Deactivate(const absl::Status& why) {
  KEEL_ASSERT(active_);
  active_ = false;
  active_since_ = TimePoint{};
  context_.log().Warn("lost TCP streaming connection with remote peer",
                      {{"stream-writer-type", "message"},
                       {"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", peer_text_},
                       {"error", why.ToString()}});
  context_.log().Warn("peer became inactive (message send to peer failed)",
                      {{"peer-id", peer_text_}, {"error", why.ToString()}});
}

Task<void> PeerPipeline::WaitForBatch() {
  while (batches_.empty()) co_await batch_waiters_.Wait();
}

Task<absl::Status> PeerPipeline::WriteLoop(Connection* connection) {
  std::string heartbeat;
  AppendFrame(&heartbeat, FrameType::kLinkHeartbeat, {});
  Clock& clock = context_.env().clock();
  while (true) {
    if (batches_.empty()) {
      // Buggify: an idle link heartbeat sooner than due (more are legal).
      const Duration idle = context_.options().heartbeat_interval / (Buggify() ? 8 : 1);
      const bool woken = co_await clock.WithTimeout(idle, WaitForBatch());
      if (!woken) {
        KEEL_CO_RETURN_IF_ERROR(co_await WriteWithin(context_, *connection, heartbeat));
        continue;
      }
    }
    KEEL_ASSERT(!batches_.empty());
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    queued_messages_ -= batch.messages;
    queued_bytes_ -= batch.bytes.size();
    // Counted as dropped if the write fails or this frame is destroyed.
    stats_.messages_dropped += batch.messages;
    KEEL_CO_RETURN_IF_ERROR(co_await WriteWithin(context_, *connection, batch.bytes));
    stats_.messages_dropped -= batch.messages;
    stats_.messages_sent += batch.messages;
    stats_.batches_written++;
    stats_.bytes_written += batch.bytes.size();
    // Buggify: let the loop's other work (and newer sends) run between
    // batches.
    if (Buggify()) co_await Yield();
  }
}

Task<absl::Status> PeerPipeline::ReadLoop(FrameReader* reader) {
  while (true) {
    absl::StatusOr<Frame> frame = co_await ReadFrameWithin(context_, *reader);
    if (!frame.ok()) co_return frame.status();
    if (frame->type != FrameType::kLinkHeartbeat) {
      co_return absl::InvalidArgumentError(
          StrCat("unexpected frame type ", static_cast<int>(frame->type),
                 " on an outbound message connection"));
    }
  }
}

Task<void> PeerPipeline::Run() {
  // Past this the backoff is at its maximum anyway.
  constexpr int kMaxCountedFailures = 62;
  int failures = 0;
  while (true) {
    state_ = State::kConnecting;
    stats_.dials++;
    absl::StatusOr<std::unique_ptr<PeerLink>> link = co_await DialPeer(
        context_, peer_id_, current_address(), StreamKind::kMessage);
    if (link.ok()) {
      failures = 0;
      stats_.connects++;
      state_ = State::kStreaming;
      Activate();
      std::vector<Task<absl::Status>> race;
      race.push_back(WriteLoop((*link)->connection.get()));
      race.push_back(ReadLoop((*link)->reader.get()));
      AnyResult<absl::Status> ended = co_await WhenAny(std::move(race));
      Deactivate(ended.value);
      link = absl::CancelledError("connection closed");
    } else {
      context_.log().Debug("failed to dial remote peer",
                           {{"remote-peer-id", peer_text_},
                            {"address", current_address()},
                            {"error", link.status().ToString()}});
      address_index_++;
    }
    state_ = State::kBackoff;
    stats_.messages_dropped += DropQueue();
    context_.ReportUnreachable(peer_id_);
    co_await context_.env().clock().Sleep(context_.Backoff(failures));
    if (failures < kMaxCountedFailures) failures++;
  }
}

}  // namespace keel::net::peer
