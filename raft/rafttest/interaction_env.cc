// InteractionEnv: node lifecycle, Ready handling and message delivery.
// The command dispatch lives in interaction_commands.cc.
#include "raft/rafttest/interaction_env.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "raft/confchange.h"
#include "raft/describe.h"
#include "runtime/assert.h"

namespace keel::raft::rafttest {

void OutputSink::Write(const LogRecord& record) {
  std::string level(LogLevelName(record.level));
  absl::AsciiStrToUpper(&level);
  StrAppend(&output, level, " ", record.message, "\n");
}

absl::StatusOr<raftpb::Snapshot> InteractionStorage::Snapshot() {
  absl::StatusOr<raftpb::Snapshot> stored = MemoryStorage::Snapshot();
  if (!stored.ok() || history_->empty()) return stored;
  const raftpb::Snapshot& latest = history_->back();
  if (latest.metadata().index() > stored->metadata().index()) return latest;
  return stored;
}

InteractionEnv::InteractionEnv() : logger_(&sink_, LogLevel::kInfo) {}

InteractionNode& InteractionEnv::node(uint64_t id) {
  KEEL_ASSERT_MSG(id >= 1 && id <= nodes_.size(), "no such node");
  return *nodes_[id - 1];
}

void InteractionEnv::Print(const std::string& text) { sink_.output += text; }

bool InteractionEnv::Partitioned(uint64_t from, uint64_t to) const {
  if (partition_.empty()) return false;
  return partition_.contains(from) != partition_.contains(to);
}

absl::Status InteractionEnv::StartNode(InteractionNode& n) {
  absl::StatusOr<std::unique_ptr<RawNode>> raw = RawNode::Create(*n.config);
  if (!raw.ok()) return raw.status();
  n.node = *std::move(raw);
  return absl::OkStatus();
}

absl::Status InteractionEnv::ProcessReady(uint64_t id) {
  InteractionNode& n = node(id);
  RawNode& raw = *n.node;
  Ready rd = raw.Ready();
  Print(DescribeReady(rd) + "\n");
  // Persist: snapshot, entries, hard state.
  if (rd.snapshot.has_value()) {
    absl::Status status = n.storage->ApplySnapshot(*rd.snapshot);
    if (!status.ok()) return status;
    n.history.push_back(*rd.snapshot);
  }
  if (absl::Status status = n.storage->Append(rd.entries); !status.ok()) {
    return status;
  }
  if (rd.hard_state.has_value()) n.storage->SetHardState(*rd.hard_state);
  // Apply.
  for (const Entry& entry : rd.committed_entries) {
    std::string update;
    std::optional<ConfState> conf_state;
    if (entry.type() == raftpb::EntryConfChange) {
      ConfChange change;
      if (!change.ParseFromString(entry.data())) {
        return absl::InternalError("undecodable ConfChange");
      }
      absl::StatusOr<ConfState> state = raw.ApplyConfChange(change);
      if (state.ok()) conf_state = *state;
      update = change.context();
    } else if (entry.type() == raftpb::EntryConfChangeV2) {
      ConfChangeV2 change;
      if (!change.ParseFromString(entry.data())) {
        return absl::InternalError("undecodable ConfChangeV2");
      }
      absl::StatusOr<ConfState> state = raw.ApplyConfChange(change);
      if (state.ok()) conf_state = *state;
      update = change.context();
    } else {
      update = entry.data();
    }
    raftpb::Snapshot next = n.history.back();
    if (!update.empty()) {
      if (!next.data().empty()) next.mutable_data()->append(",");
      next.mutable_data()->append(update);
    }
    next.mutable_metadata()->set_index(entry.index());
    next.mutable_metadata()->set_term(entry.term());
    if (conf_state.has_value()) {
      *next.mutable_metadata()->mutable_conf_state() = *conf_state;
    }
    n.history.push_back(std::move(next));
  }
  // Send (queue).
  for (Message& m : rd.messages) messages_.push_back(std::move(m));
  raw.Advance();
  return absl::OkStatus();
}

size_t InteractionEnv::DeliverMessages(uint64_t to, bool drop) {
  std::vector<Message> mine;
  std::vector<Message> rest;
  for (Message& m : messages_) {
    (m.to() == to ? mine : rest).push_back(std::move(m));
  }
  messages_ = std::move(rest);
  for (Message& m : mine) {
    const bool lost = drop || Partitioned(m.from(), m.to()) ||
                      to < 1 || to > nodes_.size() ||
                      node(to).node == nullptr;
    if (lost) {
      Print("dropped: " + DescribeMessage(m) + "\n");
      continue;
    }
    Print(DescribeMessage(m) + "\n");
    absl::Status status = node(to).node->Step(std::move(m));
    if (!status.ok()) Print(std::string(status.message()) + "\n");
  }
  return mine.size();
}

absl::Status InteractionEnv::Stabilize(const std::vector<uint64_t>& ids) {
  std::vector<uint64_t> members = ids;
  if (members.empty()) {
    for (const auto& n : nodes_) members.push_back(n->id);
  }
  // Runs f with its output indented under a heading.
  auto nested = [this](const std::string& heading, auto&& f) -> absl::Status {
    std::string saved = std::move(sink_.output);
    sink_.output.clear();
    absl::Status status = f();
    std::string inner = std::move(sink_.output);
    sink_.output = std::move(saved);
    Print(heading + "\n");
    for (absl::string_view line : absl::StrSplit(AsAbsl(inner), '\n')) {
      if (!line.empty()) Print(StrCat("  ", AsStd(line), "\n"));
    }
    return status;
  };
  // A bound: a livelock in the protocol must fail the test, not hang it.
  for (int round = 0; round < 10000; round++) {
    bool done = true;
    for (uint64_t id : members) {
      if (node(id).node == nullptr || !node(id).node->HasReady()) continue;
      done = false;
      absl::Status status = nested(StrCat("> ", id, " handling Ready"),
                                   [&] { return ProcessReady(id); });
      if (!status.ok()) return status;
    }
    for (uint64_t id : members) {
      bool pending = std::any_of(messages_.begin(), messages_.end(),
                                 [id](const Message& m) { return m.to() == id; });
      if (!pending) continue;
      done = false;
      (void)nested(StrCat("> ", id, " receiving messages"), [&] {
        DeliverMessages(id, /*drop=*/false);
        return absl::OkStatus();
      });
    }
    if (done) return absl::OkStatus();
  }
  return absl::InternalError("stabilize did not converge");
}

absl::Status InteractionEnv::Compact(const TestData& data) {
  std::vector<std::string> words = data.Words();
  uint64_t id = 0;
  uint64_t new_first = 0;
  if (words.size() != 2 || !ParseInt(words[0], &id) || !ParseInt(words[1], &new_first)) {
    return absl::InvalidArgumentError("usage: compact <id> <new-first-index>");
  }
  InteractionNode& n = node(id);
  const uint64_t index = new_first - 1;
  auto it = std::find_if(n.history.begin(), n.history.end(),
                         [index](const raftpb::Snapshot& s) {
                           return s.metadata().index() == index;
                         });
  if (it == n.history.end()) {
    return absl::FailedPreconditionError(
        AsAbsl(StrCat("index ", index, " is not applied")));
  }
  absl::StatusOr<raftpb::Snapshot> snapshot = n.storage->CreateSnapshot(
      index, &it->metadata().conf_state(), it->data());
  if (!snapshot.ok()) return snapshot.status();
  if (absl::Status status = n.storage->Compact(index); !status.ok()) return status;
  RaftLog(id);
  return absl::OkStatus();
}

absl::Status InteractionEnv::Restart(uint64_t id) {
  InteractionNode& n = node(id);
  n.node.reset();
  // The state machine is rebuilt from the persisted snapshot: forget what
  // was applied after it (it will be applied again).
  const uint64_t snapshot_index = *n.storage->FirstIndex() - 1;
  while (n.history.size() > 1 &&
         n.history.back().metadata().index() > snapshot_index) {
    n.history.pop_back();
  }
  KEEL_ASSERT(n.history.back().metadata().index() == snapshot_index);
  return StartNode(n);
}

void InteractionEnv::Status(uint64_t id) {
  const raft::Status status = node(id).node->Status();
  Print(StrCat(DescribeSoftState(status.soft_state), " ",
               DescribeHardState(status.hard_state), " Applied:", status.applied,
               "\n"));
  Print(status.config.String() + "\n");
  for (const auto& [peer, pr] : status.progress) {
    Print(StrCat(peer, ": ", pr.String(), "\n"));
  }
}

void InteractionEnv::RaftLog(uint64_t id) {
  MemoryStorage& storage = *node(id).storage;
  const uint64_t first = *storage.FirstIndex();
  const uint64_t last = *storage.LastIndex();
  if (last < first) {
    Print(StrCat("log is empty: first index=", first, ", last index=", last, "\n"));
    return;
  }
  absl::StatusOr<std::vector<Entry>> entries = storage.Entries(first, last + 1, kNoLimit);
  KEEL_ASSERT(entries.ok());
  Print(DescribeEntries(*entries));
}

void InteractionEnv::RaftState() {
  for (const auto& n : nodes_) {
    if (n->node == nullptr) continue;
    const Raft& r = n->node->raft();
    const char* kind = r.is_learner() ? "Learner" : r.Promotable() ? "Voter" : "NonMember";
    Print(StrCat(n->id, ": ", StateTypeName(r.state()), " (", kind,
                 ") Term:", r.term(), " Lead:", r.lead(), "\n"));
  }
}

}  // namespace keel::raft::rafttest
