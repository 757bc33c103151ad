// --force-new-cluster: the log rewrite that leaves one member.
#include "node/force_new_cluster.h"

#include <algorithm>
#include <set>

#include "proto/internal.pb.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

std::vector<raft::Entry> StandaloneConfChanges(const std::vector<uint64_t>& ids,
                                               const Member& self, uint64_t term,
                                               uint64_t index) {
  std::vector<raft::Entry> entries;
  auto append = [&](const raft::ConfChange& change) {
    raft::Entry entry;
    entry.set_type(raftpb::EntryConfChange);
    entry.set_term(term);
    entry.set_index(index++);
    entry.set_data(change.SerializeAsString());
    entries.push_back(std::move(entry));
  };
  bool self_present = false;
  for (uint64_t id : ids) {
    if (id == self.id) {
      self_present = true;
      continue;
    }
    raft::ConfChange remove;
    remove.set_type(raftpb::ConfChangeRemoveNode);
    remove.set_node_id(id);
    append(remove);
  }
  if (!self_present) {
    internal::ConfChangeMember context;
    context.set_id(self.id);
    for (const auto& url : self.peer_urls) context.add_peer_urls(url);
    context.set_name(self.name);
    raft::ConfChange add;
    add.set_type(raftpb::ConfChangeAddNode);
    add.set_node_id(self.id);
    add.set_context(context.SerializeAsString());
    append(add);
  }
  return entries;
}

Task<absl::Status> ForceNewCluster(Env& env, const ServerConfig& config,
                                   BootstrappedMember* member) {
  raft::Storage& storage = member->log->storage();
  absl::StatusOr<raft::InitialState> initial = storage.GetInitialState();
  if (!initial.ok()) co_return initial.status();
  absl::StatusOr<uint64_t> first = storage.FirstIndex();
  if (!first.ok()) co_return first.status();
  absl::StatusOr<uint64_t> last = storage.LastIndex();
  if (!last.ok()) co_return last.status();
  const uint64_t commit = initial->hard_state.commit();
  if (member->key_space->mvcc().applied().index > commit) {
    co_return absl::FailedPreconditionError(
        "--force-new-cluster: the key space is ahead of the raft log's commit index "
        "(a snapshot install is unfinished); restart once without the flag first");
  }
  // The configuration as of `commit`: the log snapshot's, then every conf
  // change committed after it (etcd's getIDs).
  std::set<uint64_t> ids;
  for (uint64_t id : initial->conf_state.voters()) ids.insert(id);
  for (uint64_t id : initial->conf_state.learners()) ids.insert(id);
  if (commit >= *first) {
    absl::StatusOr<std::vector<raft::Entry>> entries =
        storage.Entries(*first, commit + 1, UINT64_MAX);
    if (!entries.ok()) co_return entries.status();
    for (const raft::Entry& entry : *entries) {
      if (entry.type() != raftpb::EntryConfChange) continue;
      raft::ConfChange change;
      if (!change.ParseFromString(entry.data())) {
        co_return absl::DataLossError(
            StrCat("conf change at index ", entry.index(), " does not parse"));
      }
      switch (change.type()) {
        case raftpb::ConfChangeAddNode:
        case raftpb::ConfChangeAddLearnerNode:
          ids.insert(change.node_id());
          break;
        case raftpb::ConfChangeRemoveNode:
          ids.erase(change.node_id());
          break;
        default:
          break;
      }
    }
  }
  Member self;
  self.id = member->member_id;
  self.name = config.name;
  self.peer_urls = config.initial_advertise_peer_urls;
  raft::Ready ready;
  ready.entries = StandaloneConfChanges(std::vector<uint64_t>(ids.begin(), ids.end()), self,
                                        initial->hard_state.term(), commit + 1);
  raft::HardState state = initial->hard_state;
  if (!ready.entries.empty()) state.set_commit(ready.entries.back().index());
  ready.hard_state = state;
  ready.must_sync = true;
  env.log().Warn("forcing a new cluster: discarding uncommitted entries and removing every "
                 "other member",
                 {{"local-member-id", FormatId(member->member_id)},
                  {"commit-index", commit},
                  {"discarded-entries", *last > commit ? *last - commit : 0},
                  {"removed-members", ids.size() - (ids.count(self.id) ? 1 : 0)}});
  if (ready.entries.empty() && *last == commit) co_return absl::OkStatus();
  co_return co_await member->log->Save(ready);
}

}  // namespace keel::node
