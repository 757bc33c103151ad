// InteractionEnv: the commands of the interaction scripts (see the list in
// interaction_env.h) and their arguments.
#include <utility>

#include "raft/confchange.h"
#include "raft/describe.h"
#include "raft/rafttest/interaction_env.h"
#include "runtime/assert.h"

namespace keel::raft::rafttest {
namespace {

absl::Status Usage(std::string_view text) {
  return absl::InvalidArgumentError(AsAbsl(StrCat("usage: ", text)));
}

bool ParseBool(const TestData& data, std::string_view key) {
  return data.Value(key, "false") == "true";
}

uint64_t ParseUint(const TestData& data, std::string_view key, uint64_t fallback) {
  uint64_t value = fallback;
  std::string text = data.Value(key, "");
  if (!text.empty()) KEEL_ASSERT_MSG(ParseInt(text, &value), "bad number");
  return value;
}

std::vector<uint64_t> ParseIds(const std::vector<std::string>& words) {
  std::vector<uint64_t> ids;
  for (const std::string& word : words) {
    uint64_t id = 0;
    KEEL_ASSERT_MSG(ParseInt(word, &id), "expected a node id");
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

std::vector<uint64_t> InteractionEnv::Ids(const TestData& data) {
  return ParseIds(data.Words());
}

std::string InteractionEnv::Handle(const TestData& data) {
  sink_.output.clear();
  absl::Status status;
  const std::string& cmd = data.command;
  std::vector<uint64_t> ids;
  if (cmd != "add-nodes" && cmd != "propose" && cmd != "read-index" &&
      cmd != "compact" && cmd != "log-level" && cmd != "report-snapshot") {
    ids = Ids(data);
  }
  auto first = [&]() -> uint64_t {
    KEEL_ASSERT_MSG(!ids.empty(), "command needs a node id");
    return ids[0];
  };
  if (cmd == "add-nodes") {
    status = AddNodes(data);
  } else if (cmd == "campaign") {
    status = node(first()).node->Campaign();
  } else if (cmd == "propose") {
    status = Propose(data);
  } else if (cmd == "propose-conf-change") {
    status = ProposeConfChange(data);
  } else if (cmd == "tick-election") {
    status = TickElection(data);
  } else if (cmd == "tick-heartbeat") {
    status = TickHeartbeat(data);
  } else if (cmd == "tick") {
    if (ids.size() != 2) {
      status = Usage("tick <id> <ticks>");
    } else {
      for (uint64_t i = 0; i < ids[1]; i++) node(ids[0]).node->Tick();
    }
  } else if (cmd == "process-ready") {
    for (uint64_t id : ids) {
      if (ids.size() > 1) Print(StrCat("> ", id, " handling Ready\n"));
      status = ProcessReady(id);
      if (!status.ok()) break;
    }
  } else if (cmd == "deliver-msgs") {
    std::vector<uint64_t> dropped = ParseIds(data.Values("drop").value_or(
        std::vector<std::string>{}));
    size_t n = 0;
    for (uint64_t id : ids) n += DeliverMessages(id, /*drop=*/false);
    for (uint64_t id : dropped) n += DeliverMessages(id, /*drop=*/true);
    if (n == 0) Print("no messages\n");
  } else if (cmd == "drop") {
    size_t n = 0;
    for (uint64_t id : ids) n += DeliverMessages(id, /*drop=*/true);
    if (n == 0) Print("no messages\n");
  } else if (cmd == "stabilize") {
    status = Stabilize(ids);
  } else if (cmd == "partition") {
    partition_ = std::set<uint64_t>(ids.begin(), ids.end());
  } else if (cmd == "heal") {
    partition_.clear();
  } else if (cmd == "transfer-leadership") {
    uint64_t from = ParseUint(data, "from", 0);
    uint64_t to = ParseUint(data, "to", 0);
    if (from == 0 || to == 0) {
      status = Usage("transfer-leadership from=<id> to=<id>");
    } else {
      node(from).node->TransferLeader(to);
    }
  } else if (cmd == "read-index") {
    std::vector<std::string> words = data.Words();
    uint64_t id = 0;
    if (words.size() != 2 || !ParseInt(words[0], &id)) {
      status = Usage("read-index <id> <context>");
    } else {
      node(id).node->ReadIndex(words[1]);
    }
  } else if (cmd == "report-snapshot") {
    std::vector<std::string> words = data.Words();
    uint64_t id = 0, peer = 0;
    if (words.size() != 3 || !ParseInt(words[0], &id) || !ParseInt(words[1], &peer)) {
      status = Usage("report-snapshot <id> <peer> ok|fail");
    } else {
      node(id).node->ReportSnapshot(peer, words[2] == "ok");
    }
  } else if (cmd == "report-unreachable") {
    if (ids.size() != 2) {
      status = Usage("report-unreachable <id> <peer>");
    } else {
      node(ids[0]).node->ReportUnreachable(ids[1]);
    }
  } else if (cmd == "compact") {
    status = Compact(data);
  } else if (cmd == "restart") {
    status = Restart(first());
  } else if (cmd == "status") {
    Status(first());
  } else if (cmd == "raft-log") {
    RaftLog(first());
  } else if (cmd == "raft-state") {
    RaftState();
  } else if (cmd == "log-level") {
    std::vector<std::string> words = data.Words();
    LogLevel level = LogLevel::kInfo;
    if (words.size() == 1 && words[0] == "none") {
      logger_ = Logger(nullptr, LogLevel::kError);
    } else if (words.size() == 1 && ParseLogLevel(words[0], &level)) {
      logger_ = Logger(&sink_, level);
    } else {
      status = Usage("log-level debug|info|warn|error|none");
    }
  } else {
    status = absl::InvalidArgumentError(AsAbsl(StrCat("unknown command ", cmd)));
  }
  if (!status.ok()) Print(std::string(status.message()) + "\n");
  return sink_.output;
}

absl::Status InteractionEnv::AddNodes(const TestData& data) {
  std::vector<std::string> words = data.Words();
  uint64_t count = 0;
  if (words.size() != 1 || !ParseInt(words[0], &count)) {
    return Usage("add-nodes <n> [voters=(..)] [learners=(..)] [index=<i>] ...");
  }
  ConfState conf_state;
  for (uint64_t id : ParseIds(data.Values("voters").value_or(std::vector<std::string>{}))) {
    conf_state.add_voters(id);
  }
  for (uint64_t id : ParseIds(data.Values("learners").value_or(std::vector<std::string>{}))) {
    conf_state.add_learners(id);
  }
  const uint64_t index = ParseUint(data, "index", 0);
  const std::string content = data.Value("content", "");
  for (uint64_t i = 0; i < count; i++) {
    nodes_.push_back(std::make_unique<InteractionNode>());
    InteractionNode& n = *nodes_.back();
    n.id = nodes_.size();
    raftpb::Snapshot snapshot;
    snapshot.mutable_metadata()->set_index(index);
    snapshot.mutable_metadata()->set_term(index > 0 ? 1 : 0);
    *snapshot.mutable_metadata()->mutable_conf_state() = conf_state;
    snapshot.set_data(content);
    if (index > 0) {
      n.storage = std::make_unique<InteractionStorage>(ConfState(), &n.history);
      absl::Status status = n.storage->ApplySnapshot(snapshot);
      if (!status.ok()) return status;
    } else {
      n.storage = std::make_unique<InteractionStorage>(conf_state, &n.history);
    }
    n.history.push_back(snapshot);
    n.random = std::make_unique<Random>(n.id);
    n.config = std::make_unique<Config>(Config{
        .id = n.id,
        .storage = *n.storage,
        .random = *n.random,
        .election_ticks = static_cast<int>(ParseUint(data, "election-ticks", 10)),
        .heartbeat_ticks = static_cast<int>(ParseUint(data, "heartbeat-ticks", 1)),
        .max_size_per_msg = ParseUint(data, "max-size-per-msg", kNoLimit),
        .max_inflight_msgs = ParseUint(data, "max-inflight-msgs", 256),
        .max_inflight_bytes = ParseUint(data, "max-inflight-bytes", 0),
        .max_uncommitted_entries_size = ParseUint(data, "max-uncommitted-size", 0),
        .pre_vote = ParseBool(data, "pre-vote"),
        .check_quorum = ParseBool(data, "check-quorum"),
        .read_only = data.Value("read-only", "safe") == "lease"
                         ? ReadOnlyOption::kLeaseBased
                         : ReadOnlyOption::kSafe,
        .logger = &logger_,
    });
    if (absl::Status status = StartNode(n); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status InteractionEnv::Propose(const TestData& data) {
  std::vector<std::string> words = data.Words();
  uint64_t id = 0;
  if (words.size() != 2 || !ParseInt(words[0], &id)) {
    return Usage("propose <id> <data>");
  }
  return node(id).node->Propose(words[1]);
}

absl::Status InteractionEnv::ProposeConfChange(const TestData& data) {
  std::vector<uint64_t> ids = Ids(data);
  if (ids.size() != 1) return Usage("propose-conf-change <id> [transition=..] [v1=true]");
  std::string input = data.input;
  while (!input.empty() && input.back() == '\n') input.pop_back();
  absl::StatusOr<std::vector<ConfChangeSingle>> changes = ConfChangesFromString(input);
  if (!changes.ok()) return changes.status();
  RawNode& raw = *node(ids[0]).node;
  if (ParseBool(data, "v1")) {
    if (changes->size() != 1) return Usage("a v1 conf change holds one change");
    ConfChange change;
    change.set_type((*changes)[0].type());
    change.set_node_id((*changes)[0].node_id());
    return raw.ProposeConfChange(change);
  }
  ConfChangeV2 change;
  const std::string transition = data.Value("transition", "auto");
  if (transition == "implicit") {
    change.set_transition(raftpb::ConfChangeTransitionJointImplicit);
  } else if (transition == "explicit") {
    change.set_transition(raftpb::ConfChangeTransitionJointExplicit);
  } else if (transition != "auto") {
    return Usage("transition=auto|implicit|explicit");
  }
  for (const ConfChangeSingle& single : *changes) *change.add_changes() = single;
  return raw.ProposeConfChange(change);
}

absl::Status InteractionEnv::TickElection(const TestData& data) {
  std::vector<uint64_t> ids = Ids(data);
  if (ids.size() != 1) return Usage("tick-election <id>");
  RawNode& raw = *node(ids[0]).node;
  const Raft& r = raw.raft();
  // A leader runs one check-quorum round; anyone else ticks exactly until
  // its (randomized) election timer fires.
  int ticks = r.state() == StateType::kLeader
                  ? r.election_timeout() - r.election_elapsed()
                  : r.randomized_election_timeout() - r.election_elapsed();
  for (int i = 0; i < std::max(ticks, 1); i++) raw.Tick();
  return absl::OkStatus();
}

absl::Status InteractionEnv::TickHeartbeat(const TestData& data) {
  std::vector<uint64_t> ids = Ids(data);
  if (ids.size() != 1) return Usage("tick-heartbeat <id>");
  RawNode& raw = *node(ids[0]).node;
  for (int i = 0; i < node(ids[0]).config->heartbeat_ticks; i++) raw.Tick();
  return absl::OkStatus();
}

}  // namespace keel::raft::rafttest
