// RaftStateMachine: applying entries, and the state file.
#include "sim/scenarios/raft_state_machine.h"

#include <algorithm>
#include <vector>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/scenarios/raft_checker.h"

namespace keel::sim {
namespace {

constexpr std::string_view kMagic = "keel-raft-state v1";
constexpr std::string_view kCrcPrefix = "crc ";

// `text` cut at each `separator`, empty pieces left out.
std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = std::min(text.find(separator), text.size());
    if (end > 0) out.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

absl::Status Damaged(std::string_view why) {
  return absl::DataLossError(StrCat("raft state file: ", why));
}

}  // namespace

void RaftStateMachine::Apply(const raftpb::Entry& entry) {
  KEEL_ASSERT(entry.index() == applied_index_ + 1);
  KEEL_ASSERT(entry.term() >= applied_term_);
  applied_index_ = entry.index();
  applied_term_ = entry.term();
  previous_hash_ = hash_;
  hash_ = MixRaftState(hash_, entry);
}

void RaftStateMachine::AddMember(uint64_t id, const std::string& address) {
  KEEL_ASSERT(id != 0);
  if (!address.empty()) peers_[id] = address;
}

void RaftStateMachine::RemoveMember(uint64_t id) {
  peers_.erase(id);
  removed_.insert(id);
}

std::string RaftStateMachine::Encode(bool stale) const {
  const uint64_t hash = stale && applied_index_ > 1 ? previous_hash_ : hash_;
  std::string out = StrCat(kMagic, "\napplied ", applied_index_, " ", applied_term_,
                           "\nhash ", hash, "\n");
  for (const auto& [id, address] : peers_) StrAppend(&out, "peer ", id, " ", address, "\n");
  for (uint64_t id : removed_) StrAppend(&out, "removed ", id, "\n");
  StrAppend(&out, kCrcPrefix, crc32c::Mask(crc32c::Value(out)), "\n");
  return out;
}

absl::StatusOr<RaftStateMachine> RaftStateMachine::Decode(std::string_view data) {
  const size_t crc_at = data.rfind(StrCat("\n", kCrcPrefix));
  if (crc_at == std::string_view::npos || data.empty() || data.back() != '\n') {
    return Damaged("no checksum line");
  }
  const std::string_view body = data.substr(0, crc_at + 1);
  uint32_t crc = 0;
  const std::string_view crc_text =
      data.substr(crc_at + 1 + kCrcPrefix.size(), data.size() - crc_at - 2 - kCrcPrefix.size());
  if (!ParseInt(crc_text, &crc) || crc32c::Unmask(crc) != crc32c::Value(body)) {
    return Damaged("checksum mismatch");
  }
  const std::vector<std::string_view> lines = Split(body, '\n');
  if (lines.empty() || lines[0] != kMagic) return Damaged("not a raft state file");
  RaftStateMachine state;
  bool applied = false;
  bool hash = false;
  for (size_t i = 1; i < lines.size(); i++) {
    const std::vector<std::string_view> words = Split(lines[i], ' ');
    uint64_t value = 0;
    if (words.size() < 2 || !ParseInt(words[1], &value)) return Damaged("bad line");
    if (words[0] == "applied" && words.size() == 3 &&
        ParseInt(words[2], &state.applied_term_)) {
      state.applied_index_ = value;
      applied = true;
    } else if (words[0] == "hash" && words.size() == 2) {
      state.hash_ = value;
      state.previous_hash_ = value;
      hash = true;
    } else if (words[0] == "peer" && words.size() == 3) {
      state.peers_[value] = std::string(words[2]);
    } else if (words[0] == "removed" && words.size() == 2) {
      state.removed_.insert(value);
    } else {
      return Damaged(StrCat("unknown line \"", lines[i], "\""));
    }
  }
  if (!applied || !hash) return Damaged("no applied index or hash");
  return state;
}

absl::Status WriteStateFile(FileSystem& fs, const std::string& path, std::string_view data) {
  const std::string temporary = StrCat(path, ".tmp");
  (void)fs.Remove(temporary);
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                          fs.Open(temporary, OpenOptions{.create = true, .truncate = true}));
    KEEL_RETURN_IF_ERROR(file->Append(data));
    KEEL_RETURN_IF_ERROR(file->SyncNow());
  }
  KEEL_RETURN_IF_ERROR(fs.Rename(temporary, path));
  const size_t slash = path.rfind('/');
  KEEL_ASSERT_MSG(slash != std::string::npos, "state files live in a directory");
  return fs.SyncDirNow(path.substr(0, slash));
}

absl::StatusOr<RaftStateMachine> ReadStateFile(FileSystem& fs, const std::string& path) {
  absl::Status last;
  for (int attempt = 0; attempt < kStateFileReadAttempts; attempt++) {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenOptions{}));
    KEEL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    absl::StatusOr<std::string> data = file->ReadAt(0, size);
    if (!data.ok()) return data.status();
    absl::StatusOr<RaftStateMachine> state = RaftStateMachine::Decode(*data);
    if (state.ok()) return state;
    last = state.status();
  }
  return last;
}

}  // namespace keel::sim
