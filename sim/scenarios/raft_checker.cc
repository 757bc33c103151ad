// RaftChecker: the bookkeeping behind each property and its messages.
#include "sim/scenarios/raft_checker.h"

#include <algorithm>
#include <limits>

#include "raft/describe.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::sim {
namespace {

constexpr uint64_t kUnbounded = std::numeric_limits<uint64_t>::max();

// The largest index a majority of `voters` acknowledged; kUnbounded for
// an empty set (the other half of a joint configuration decides).
uint64_t QuorumIndex(const std::vector<uint64_t>& voters,
                     const std::map<uint64_t, uint64_t>& acks) {
  if (voters.empty()) return kUnbounded;
  std::vector<uint64_t> values;
  values.reserve(voters.size());
  for (uint64_t id : voters) {
    auto it = acks.find(id);
    values.push_back(it == acks.end() ? 0 : it->second);
  }
  std::sort(values.begin(), values.end(), std::greater<uint64_t>());
  return values[voters.size() / 2];
}

std::string Ids(const std::vector<uint64_t>& ids) {
  std::string out = "(";
  for (size_t i = 0; i < ids.size(); i++) StrAppend(&out, i ? " " : "", ids[i]);
  return out + ")";
}

std::string Hex(uint64_t v) { return StrCat(absl::Hex(v >> 40)); }

}  // namespace

uint64_t MixRaftState(uint64_t hash, const raftpb::Entry& entry) {
  hash ^= entry.index() * 0x9e3779b97f4a7c15ULL;
  for (char c : entry.data()) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

RaftChecker::EntryKey RaftChecker::KeyOf(const raftpb::Entry& entry) {
  // FNV-1a over the type and the payload (index and term are kept apart).
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto add = [&hash](unsigned char c) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  };
  add(static_cast<unsigned char>(entry.type()));
  for (char c : entry.data()) add(static_cast<unsigned char>(c));
  return EntryKey{.term = entry.term(), .digest = hash};
}

void RaftChecker::Name(uint64_t id, std::string name) {
  names_[id] = std::move(name);
}

std::string RaftChecker::NameOf(uint64_t id) const {
  auto it = names_.find(id);
  if (it == names_.end()) return StrCat("id ", id);
  return StrCat(it->second, "(id ", id, ")");
}

void RaftChecker::Fail(std::string message) {
  if (!verdict_.ok()) return;
  verdict_ = absl::InternalError(message);
  if (on_failure_) on_failure_(message);
}

void RaftChecker::Bootstrap(const std::vector<raftpb::Entry>& entries) {
  KEEL_ASSERT(committed_.empty());
  for (const raftpb::Entry& entry : entries) {
    KEEL_ASSERT(entry.index() == committed_.size() + 1);
    committed_.push_back(KeyOf(entry));
    commit_terms_.push_back(entry.term());
  }
}

void RaftChecker::Attach(uint64_t id, const raft::RawNode* node) {
  KEEL_ASSERT(node != nullptr);
  live_[id] = node;
}

void RaftChecker::Detach(uint64_t id) { live_.erase(id); }

void RaftChecker::ObserveRole(uint64_t id, const raft::Raft& raft) {
  if (raft.state() != raft::StateType::kLeader) return;
  const uint64_t term = raft.term();
  KEEL_ASSERT(raft.id() == id);
  auto [leader, first_seen] = leader_of_term_.try_emplace(term, id);
  if (leader->second != id) {
    Fail(StrCat("election safety: ", NameOf(leader->second), " and ",
                NameOf(id), " both lead term ", term));
    return;
  }
  const raft::TrackerConfig& tracker = raft.tracker().config;
  QuorumConfig config{.incoming = tracker.voters.incoming.Slice(),
                      .outgoing = tracker.voters.outgoing.Slice()};
  if (first_seen) {
    config_of_term_[term] = std::move(config);
    CheckLeaderHolds(id, raft, 1, committed_.size(), "when elected");
    RecomputeCommit(term);
    return;
  }
  QuorumConfig& known = config_of_term_[term];
  if (known == config) return;
  // raft recounts its commit under the new configuration at once.
  RecomputeCommit(term);
  known = std::move(config);
  RecomputeCommit(term);
}

void RaftChecker::CheckLeaderHolds(uint64_t id, const raft::Raft& raft,
                                   uint64_t from, uint64_t to,
                                   std::string_view when) {
  const raft::RaftLog& log = raft.log();
  for (uint64_t index = from; index <= to && !failed(); index++) {
    // Only entries committed in an earlier term bind this leader: one
    // elected before the commit may lack it (and will not get it counted).
    if (commit_terms_[index - 1] >= raft.term()) continue;
    // Compacted into the leader's snapshot, which was checked when taken
    // or installed.
    if (index + 1 < log.FirstIndex()) continue;
    const EntryKey& committed = committed_[index - 1];
    absl::StatusOr<uint64_t> term = log.Term(index);
    if (index > log.LastIndex() || !term.ok() || *term != committed.term) {
      Fail(StrCat("leader completeness: ", NameOf(id), ", leader of term ",
                  raft.term(), ", lacks committed entry ", index, " (term ",
                  committed.term, ") ", when, ": its log ",
                  index > log.LastIndex()
                      ? StrCat("ends at ", log.LastIndex())
                      : StrCat("has term ", term.ok() ? *term : 0, " there")));
    }
  }
}

void RaftChecker::ReplaceSuffix(uint64_t id, Durable& durable,
                                const std::vector<raftpb::Entry>& entries,
                                std::string_view how) {
  if (entries.empty()) return;
  const uint64_t first = entries.front().index();
  if (first == 0 || first > durable.log.size() + 1) {
    Fail(StrCat(NameOf(id), " ", how, " entry ", first, " after ",
                durable.log.size(), ": a gap in its log"));
    return;
  }
  for (const raftpb::Entry& entry : entries) {
    const uint64_t index = entry.index();
    const EntryKey key = KeyOf(entry);
    // Committed entries never change.
    if (index <= durable.log.size() && durable.log[index - 1] != key &&
        index <= committed_.size() && committed_[index - 1] == durable.log[index - 1]) {
      Fail(StrCat("committed entry changed: ", NameOf(id), " ", how,
                  " committed index ", index, " (term ",
                  durable.log[index - 1].term, ") with ",
                  raft::DescribeEntry(entry)));
      return;
    }
    if (index <= durable.log.size()) durable.log.resize(index - 1);
    if (index != durable.log.size() + 1) {
      Fail(StrCat(NameOf(id), " ", how, " entries out of order at ", index));
      return;
    }
    // Log matching: one (index, term), one entry, one predecessor term.
    const uint64_t previous_term = index == 1 ? 0 : durable.log[index - 2].term;
    auto [seen, fresh] = seen_.try_emplace(std::make_pair(index, entry.term()),
                                           key.digest, previous_term);
    if (!fresh && seen->second != std::make_pair(key.digest, previous_term)) {
      Fail(StrCat("log matching: ", NameOf(id), " ", how, " ",
                  raft::DescribeEntry(entry), " after an entry of term ",
                  previous_term, ", but another member holds index ", index,
                  " term ", entry.term(), " with digest ", Hex(seen->second.first),
                  " after term ", seen->second.second));
      return;
    }
    durable.log.push_back(key);
  }
}

void RaftChecker::OnPersisted(uint64_t id, const std::vector<raftpb::Entry>& entries,
                              const raftpb::HardState* hard_state, bool synced) {
  if (failed()) return;
  KEEL_ASSERT(entries.empty() || synced);
  Durable& durable = durable_[id];
  ReplaceSuffix(id, durable, entries, "persisted");
  if (hard_state != nullptr) durable.written = *hard_state;
  if (!synced || failed()) return;
  const raftpb::HardState& before = durable.synced;
  const raftpb::HardState& after = durable.written;
  if (after.term() < before.term() || after.commit() < before.commit()) {
    Fail(StrCat(NameOf(id), "'s durable hard state went backwards: ",
                raft::DescribeHardState(before), " -> ",
                raft::DescribeHardState(after)));
    return;
  }
  if (after.term() == before.term() && before.vote() != raft::kNone &&
      after.vote() != before.vote()) {
    Fail(StrCat("vote safety: ", NameOf(id), " changed its vote in term ",
                before.term(), " from ", NameOf(before.vote()), " to ",
                NameOf(after.vote())));
    return;
  }
  durable.synced = after;
  NoteAck(id);
}

void RaftChecker::OnSending(uint64_t id, const std::vector<raftpb::Message>& messages) {
  if (failed()) return;
  std::vector<uint64_t> terms;
  for (const raftpb::Message& message : messages) {
    if (message.type() != raftpb::MsgAppResp || message.reject()) continue;
    uint64_t& acked = acked_[message.term()][id];
    if (message.index() <= acked) continue;
    acked = message.index();
    terms.push_back(message.term());
  }
  for (uint64_t term : terms) RecomputeCommit(term);
}

void RaftChecker::OnRecovered(uint64_t id, const RecoveredLog& log) {
  if (failed()) return;
  // The durable log the recovered one stands for: the committed prefix up
  // to its snapshot, then its entries.
  const uint64_t base = log.snapshot.metadata().index();
  std::vector<EntryKey> recovered;
  if (base != 0) {
    std::optional<std::vector<EntryKey>> prefix =
        CommittedPrefix(id, base, log.snapshot.metadata().term(), "recovered");
    if (!prefix.has_value()) return;
    recovered = std::move(*prefix);
  }
  for (const raftpb::Entry& entry : log.entries) recovered.push_back(KeyOf(entry));
  auto known = durable_.find(id);
  if (known != durable_.end()) {
    const Durable& before = known->second;
    const raftpb::HardState& hs = log.hard_state;
    const raftpb::HardState& synced = before.synced;
    if (hs.term() < synced.term() || hs.commit() < synced.commit() ||
        (hs.term() == synced.term() && synced.vote() != raft::kNone &&
         hs.vote() != synced.vote())) {
      Fail(StrCat("durability: ", NameOf(id), " recovered hard state ",
                  raft::DescribeHardState(hs), " but had synced ",
                  raft::DescribeHardState(synced)));
      return;
    }
    // Synced entries survive, except a suffix that surviving later writes
    // replaced with entries of a newer term.
    const size_t common = std::min(before.log.size(), recovered.size());
    size_t i = 0;
    while (i < common && before.log[i] == recovered[i]) i++;
    if (i < common ? recovered[i].term <= before.log[i].term
                   : recovered.size() < before.log.size()) {
      Fail(StrCat("durability: ", NameOf(id), " synced entries up to ",
                  before.log.size(), " but recovered ",
                  i < common ? StrCat("term ", recovered[i].term, " at index ", i + 1,
                                      " in place of term ", before.log[i].term)
                             : StrCat("only ", recovered.size())));
      return;
    }
  }
  Durable& durable = durable_[id];
  if (base != 0) durable.log.assign(recovered.begin(), recovered.begin() + base);
  ReplaceSuffix(id, durable, log.entries, "recovered");
  if (recovered.size() < durable.log.size()) durable.log.resize(recovered.size());
  durable.written = log.hard_state;
  durable.synced = log.hard_state;
  NoteAck(id);
}

std::optional<std::vector<RaftChecker::EntryKey>> RaftChecker::CommittedPrefix(
    uint64_t id, uint64_t index, uint64_t term, std::string_view how) {
  if (index > committed_.size() || committed_[index - 1].term != term) {
    Fail(StrCat("snapshots: ", NameOf(id), " ", how, " a snapshot at index ", index,
                " term ", term, " but ",
                index > committed_.size()
                    ? StrCat("only ", committed_.size(), " entries are committed")
                    : StrCat("term ", committed_[index - 1].term,
                             " is committed there")));
    return std::nullopt;
  }
  return std::vector<EntryKey>(committed_.begin(),
                               committed_.begin() + static_cast<ptrdiff_t>(index));
}

void RaftChecker::OnSnapshotPersisted(uint64_t id,
                                      const raftpb::SnapshotMetadata& metadata) {
  if (failed()) return;
  const uint64_t index = metadata.index();
  KEEL_ASSERT(index > 0);
  Durable& durable = durable_[id];
  // A leader's snapshot replaces the whole log (WalRaftStorage keeps
  // nothing after it; raft takes no snapshot whose entry its log holds).
  std::optional<std::vector<EntryKey>> prefix =
      CommittedPrefix(id, index, metadata.term(), "persisted");
  if (!prefix.has_value()) return;
  durable.log = std::move(*prefix);
}

void RaftChecker::CheckSnapshot(uint64_t id, std::string_view how,
                                const raftpb::SnapshotMetadata& metadata,
                                uint64_t state_index, uint64_t state_hash) {
  const uint64_t index = metadata.index();
  std::string problem;
  if (state_index < index) {
    problem = StrCat("its state is that of index ", state_index);
  } else if (state_index > applied_.size()) {
    problem = StrCat("no member has applied that far (", applied_.size(), ")");
  } else if (index > 0 && applied_[index - 1].key.term != metadata.term()) {
    problem = StrCat("term ", applied_[index - 1].key.term, " was applied there");
  } else if (state_index > 0 && state_hashes_[state_index - 1] != state_hash) {
    problem = StrCat("its state hash ", Hex(state_hash), " is not the state ",
                     Hex(state_hashes_[state_index - 1]), " that applying 1..", state_index,
                     " gives");
  }
  if (problem.empty()) return;
  Fail(StrCat("snapshots: ", NameOf(id), " ", how, " a snapshot labelled index ",
              index, " term ", metadata.term(), ", but ", problem));
}

void RaftChecker::OnSnapshotTaken(uint64_t id, const raftpb::SnapshotMetadata& metadata,
                                  uint64_t state_index, uint64_t state_hash) {
  if (failed()) return;
  CheckSnapshot(id, "took", metadata, state_index, state_hash);
}

void RaftChecker::OnSnapshotInstalled(uint64_t id, uint64_t incarnation,
                                      const raftpb::SnapshotMetadata& metadata,
                                      uint64_t state_index, uint64_t state_hash) {
  if (failed()) return;
  CheckSnapshot(id, "installed", metadata, state_index, state_hash);
  if (failed()) return;
  auto& [applying_incarnation, last] = applying_[id];
  if (applying_incarnation != incarnation) {
    applying_incarnation = incarnation;
    last = 0;
  }
  if (last > 0 && metadata.index() <= last) {
    Fail(StrCat("snapshots: ", NameOf(id), " installed a snapshot at index ",
                metadata.index(), " after applying ", last));
    return;
  }
  last = metadata.index();
}

void RaftChecker::OnWiped(uint64_t id) {
  durable_.erase(id);
  applying_.erase(id);
}

void RaftChecker::NoteAck(uint64_t id) {
  const Durable& durable = durable_[id];
  const uint64_t term = durable.synced.term();
  if (durable.log.empty() || durable.log.back().term != term) return;
  uint64_t& acked = acked_[term][id];
  if (durable.log.size() <= acked) return;
  acked = durable.log.size();
  RecomputeCommit(term);
}

void RaftChecker::RecomputeCommit(uint64_t term) {
  if (failed()) return;
  auto config = config_of_term_.find(term);
  auto acks = acked_.find(term);
  if (config == config_of_term_.end() || acks == acked_.end()) return;
  const uint64_t index = std::min(QuorumIndex(config->second.incoming, acks->second),
                                  QuorumIndex(config->second.outgoing, acks->second));
  if (index == kUnbounded || index <= committed_.size()) return;
  // Any member that made (index, term) durable holds the whole prefix.
  const Durable* source = nullptr;
  for (const auto& [id, acked] : acks->second) {
    const Durable& durable = durable_[id];
    if (acked >= index && durable.log.size() >= index &&
        durable.log[index - 1].term == term) {
      source = &durable;
      break;
    }
  }
  if (source == nullptr) return;  // overwritten: reported when it happened
  const uint64_t from = committed_.size() + 1;
  for (uint64_t i = from; i <= index; i++) {
    const EntryKey& key = source->log[i - 1];
    if (i <= applied_.size() && applied_[i - 1].key != key) {
      Fail(StrCat("state machine safety: index ", i, " was applied as term ",
                  applied_[i - 1].key.term, " by ",
                  NameOf(applied_[i - 1].first_by), " but a quorum of term ",
                  term, " committed term ", key.term, " there"));
      return;
    }
    committed_.push_back(key);
    commit_terms_.push_back(term);
  }
  // A leader of a later term that is alive now must already hold them.
  for (const auto& [id, node] : live_) {
    const raft::Raft& raft = node->raft();
    if (raft.state() == raft::StateType::kLeader && raft.term() > term) {
      CheckLeaderHolds(id, raft, from, index, StrCat("committed in term ", term));
    }
  }
}

void RaftChecker::RecomputeAll() {
  for (auto it = config_of_term_.rbegin(); it != config_of_term_.rend(); ++it) {
    RecomputeCommit(it->first);
  }
}

std::string RaftChecker::DescribeAcks(uint64_t term) const {
  std::string out = StrCat("term ", term);
  auto config = config_of_term_.find(term);
  if (config == config_of_term_.end()) {
    out += " (no leader seen)";
  } else {
    StrAppend(&out, " (leader ", NameOf(leader_of_term_.at(term)), ", voters ",
              Ids(config->second.incoming));
    if (!config->second.outgoing.empty()) {
      StrAppend(&out, "&&", Ids(config->second.outgoing));
    }
    out += ")";
  }
  out += " durable in-term logs:";
  auto acks = acked_.find(term);
  if (acks == acked_.end() || acks->second.empty()) return out + " none";
  for (const auto& [id, index] : acks->second) {
    StrAppend(&out, " ", NameOf(id), "=", index);
  }
  return out;
}

void RaftChecker::OnAcknowledged(uint64_t index) {
  max_acknowledged_ = std::max(max_acknowledged_, index);
}

void RaftChecker::OnReadIssued(const std::string& context) {
  const bool fresh = read_floor_.emplace(context, max_acknowledged_).second;
  KEEL_ASSERT_MSG(fresh, "read contexts are unique");
}

void RaftChecker::OnReadAnswered(uint64_t id, const std::string& context, uint64_t index) {
  auto it = read_floor_.find(context);
  // Answered twice (a duplicated response), or not one of the clients'.
  if (it == read_floor_.end()) return;
  const uint64_t floor = it->second;
  read_floor_.erase(it);
  reads_answered_++;
  if (index < floor) {
    Fail(StrCat("linearizable read: ", NameOf(id), " was answered read index ", index,
                " for ", context, ", but entry ", floor,
                " was acknowledged to a client before the read was issued"));
  }
}

void RaftChecker::OnApplied(uint64_t id, uint64_t incarnation,
                            const raftpb::Entry& entry) {
  if (failed()) return;
  const uint64_t index = entry.index();
  auto& [applying_incarnation, last] = applying_[id];
  if (applying_incarnation != incarnation) {
    applying_incarnation = incarnation;
    last = 0;
  }
  if (index != last + 1) {
    Fail(StrCat(NameOf(id), " applied index ", index, " after ", last));
    return;
  }
  last = index;
  const EntryKey key = KeyOf(entry);
  if (index <= applied_.size()) {
    const Applied& before = applied_[index - 1];
    if (before.key != key) {
      Fail(StrCat("state machine safety: ", NameOf(id), " applied index ", index,
                  " as ", raft::DescribeEntry(entry), " but ",
                  NameOf(before.first_by), " applied term ", before.key.term,
                  " digest ", Hex(before.key.digest), " there"));
      return;
    }
  } else {
    KEEL_ASSERT(index == applied_.size() + 1);
    applied_.push_back(Applied{.key = key, .first_by = id});
    state_hashes_.push_back(
        MixRaftState(state_hashes_.empty() ? 0 : state_hashes_.back(), entry));
  }
  if (index > committed_.size()) RecomputeAll();
  if (failed()) return;
  if (index > committed_.size()) {
    Fail(StrCat("commitment: ", NameOf(id), " applied ", raft::DescribeEntry(entry),
                " but no quorum has committed index ", index,
                " (known committed up to ", committed_.size(), "); ",
                DescribeAcks(entry.term()),
                leader_of_term_.empty() || leader_of_term_.rbegin()->first == entry.term()
                    ? std::string()
                    : StrCat("; ", DescribeAcks(leader_of_term_.rbegin()->first))));
    return;
  }
  if (index <= committed_.size() && committed_[index - 1] != key) {
    Fail(StrCat("commitment: ", NameOf(id), " applied ", raft::DescribeEntry(entry),
                " but term ", committed_[index - 1].term,
                " is committed at index ", index));
  }
}

void RaftChecker::CheckAllLogs() {
  for (auto a = durable_.begin(); a != durable_.end() && !failed(); ++a) {
    for (auto b = std::next(a); b != durable_.end() && !failed(); ++b) {
      const std::vector<EntryKey>& x = a->second.log;
      const std::vector<EntryKey>& y = b->second.log;
      // The last index where both hold the same term: everything up to it
      // must be identical.
      size_t match = std::min(x.size(), y.size());
      while (match > 0 && x[match - 1].term != y[match - 1].term) match--;
      for (size_t i = 0; i < match; i++) {
        if (x[i] == y[i]) continue;
        Fail(StrCat("log matching: ", NameOf(a->first), " and ", NameOf(b->first),
                    " agree on the term at index ", match, " but differ at ", i + 1,
                    ": term ", x[i].term, " vs term ", y[i].term));
        break;
      }
    }
  }
}

}  // namespace keel::sim
