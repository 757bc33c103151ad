// SimDisk's data path: writes, reads, syncs, crashes and injected faults.
#include <algorithm>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/sim_fs.h"
#include "sim/sim_fs_internal.h"
#include "sim/sim_world.h"

namespace keel::sim {

void ApplyWrite(std::string& content, uint64_t offset, std::string_view bytes) {
  if (content.size() < offset + bytes.size()) {
    content.resize(offset + bytes.size(), '\0');
  }
  std::copy(bytes.begin(), bytes.end(), content.begin() + offset);
}

void ApplyPending(std::string& content, const SimInode::PendingWrite& op) {
  if (op.truncate) {
    content.resize(op.offset, '\0');
  } else {
    ApplyWrite(content, op.offset, op.bytes);
  }
}

namespace {

// Keep modes of SettlePending.
constexpr int kKeepNone = 0;
constexpr int kKeepAll = 1;
constexpr int kKeepPrefix = 2;
constexpr int kKeepSubset = 3;

// A pending write cut at sector boundaries, or a whole truncate: the units a
// crash keeps or loses.
struct Piece {
  size_t op;
  uint64_t begin;  // offset into the op's bytes
  uint64_t end;
};

std::vector<Piece> Pieces(const std::vector<SimInode::PendingWrite>& ops) {
  std::vector<Piece> pieces;
  for (size_t i = 0; i < ops.size(); i++) {
    const SimInode::PendingWrite& op = ops[i];
    if (op.truncate || op.bytes.empty()) {
      pieces.push_back({i, 0, 0});
      continue;
    }
    uint64_t pos = 0;
    while (pos < op.bytes.size()) {
      const uint64_t absolute = op.offset + pos;
      const uint64_t boundary = (absolute / kSectorBytes + 1) * kSectorBytes;
      const uint64_t end = std::min<uint64_t>(op.bytes.size(),
                                              pos + (boundary - absolute));
      pieces.push_back({i, pos, end});
      pos = end;
    }
  }
  return pieces;
}

}  // namespace

void SimDisk::SettlePending(SimInode& inode, int keep_mode) {
  if (inode.pending.empty()) return;
  if (keep_mode < 0) keep_mode = static_cast<int>(random_.Uniform(4));
  const std::vector<Piece> pieces = Pieces(inode.pending);
  const size_t cut = random_.Uniform(pieces.size() + 1);
  std::string result = inode.durable;
  for (size_t i = 0; i < pieces.size(); i++) {
    bool keep = false;
    switch (keep_mode) {
      case kKeepNone:
        keep = false;
        break;
      case kKeepAll:
        keep = true;
        break;
      case kKeepPrefix:
        keep = i < cut;
        break;
      default:
        keep = random_.OneIn(2);
    }
    if (!keep) continue;
    const Piece& piece = pieces[i];
    const SimInode::PendingWrite& op = inode.pending[piece.op];
    if (op.truncate) {
      result.resize(op.offset, '\0');
    } else {
      ApplyWrite(result, op.offset + piece.begin,
                 std::string_view(op.bytes).substr(piece.begin,
                                                   piece.end - piece.begin));
    }
  }
  inode.durable = std::move(result);
  inode.pending.clear();
}

void SimDisk::Crash() {
  stats_.crashes++;
  // Every inode reachable by a cached or a durable entry, in id order, held
  // so that reverting a directory does not free an inode still to visit.
  std::map<uint64_t, std::shared_ptr<SimInode>> inodes;
  std::vector<std::shared_ptr<SimInode>> stack = {root_};
  while (!stack.empty()) {
    std::shared_ptr<SimInode> node = std::move(stack.back());
    stack.pop_back();
    if (!inodes.emplace(node->id, node).second) continue;
    if (!node->is_dir) continue;
    for (const auto& [name, child] : node->entries) stack.push_back(child);
    for (const auto& [name, child] : node->durable_entries) {
      stack.push_back(child);
    }
  }
  for (const auto& [id, node] : inodes) {
    if (node->is_dir) {
      // A directory comes back as of its last SyncDir, or (the journal got
      // that far) as it was.
      if (node->entries != node->durable_entries && random_.OneIn(2)) {
        node->durable_entries = node->entries;
      }
      node->entries = node->durable_entries;
    } else {
      SettlePending(*node, /*keep_mode=*/-1);
      node->data = node->durable;
    }
  }
  locks_.clear();
  world_.trace().Record(TraceKind::kDiskCrash, id_, 0, StateHash());
}

void SimDisk::FailNextWrites(absl::StatusCode code, int n) {
  KEEL_ASSERT(code == absl::StatusCode::kInternal ||
              code == absl::StatusCode::kResourceExhausted);
  fail_writes_ += n;
  fail_write_code_ = code;
}

void SimDisk::SlowSyncsUntil(TimePoint until, Duration min, Duration max) {
  KEEL_ASSERT(min <= max);
  slow_until_ = until;
  slow_min_ = min;
  slow_max_ = max;
}

void SimDisk::set_fault_rates(DiskFaultRates rates) {
  // Normalise the prefix the way paths are ("a/b", no leading slash).
  while (!rates.path_prefix.empty() && rates.path_prefix.front() == '/') {
    rates.path_prefix.erase(0, 1);
  }
  rates_ = std::move(rates);
}

bool SimDisk::Matches(const std::string& path) const {
  return path.compare(0, rates_.path_prefix.size(), rates_.path_prefix) == 0;
}

bool SimDisk::TakeSyncFault(const std::string& path) {
  if (fail_syncs_ > 0) {
    fail_syncs_--;
    return true;
  }
  return rates_.sync_error > 0 && Matches(path) &&
         random_.Bernoulli(rates_.sync_error);
}

SimDisk::WriteFault SimDisk::TakeWriteFault(const std::string& path) {
  if (fail_writes_ > 0) {
    fail_writes_--;
    return fail_write_code_ == absl::StatusCode::kInternal ? WriteFault::kIoError
                                                           : WriteFault::kNoSpace;
  }
  if (misdirect_writes_ > 0) {
    misdirect_writes_--;
    return WriteFault::kMisdirected;
  }
  if (!Matches(path)) return WriteFault::kNone;
  if (rates_.write_io_error > 0 && random_.Bernoulli(rates_.write_io_error)) {
    return WriteFault::kIoError;
  }
  if (rates_.write_no_space > 0 && random_.Bernoulli(rates_.write_no_space)) {
    return WriteFault::kNoSpace;
  }
  if (rates_.misdirected_write > 0 &&
      path.find(rates_.destructive_path_contains) != std::string::npos &&
      random_.Bernoulli(rates_.misdirected_write)) {
    return WriteFault::kMisdirected;
  }
  return WriteFault::kNone;
}

Duration SimDisk::SyncLatency() {
  if (world_.now() < slow_until_) {
    return Duration(random_.UniformRange(slow_min_.count(), slow_max_.count()));
  }
  return Duration(random_.UniformRange(options_.sync_latency_min.count(),
                                       options_.sync_latency_max.count()));
}

absl::Status SimDisk::Write(SimInode& inode, const std::string& path,
                            std::optional<uint64_t> offset,
                            std::string_view data) {
  KEEL_ASSERT(!inode.is_dir);
  uint64_t at = offset.value_or(inode.data.size());
  const WriteFault fault = TakeWriteFault(path);
  if (fault == WriteFault::kIoError || fault == WriteFault::kNoSpace) {
    // Some prefix made it before the error.
    data = data.substr(0, data.empty() ? 0 : random_.Uniform(data.size()));
    stats_.write_failures++;
    world_.trace().Record(TraceKind::kDiskFault, id_,
                          fault == WriteFault::kIoError ? 1 : 2, data.size());
  } else if (fault == WriteFault::kMisdirected && !data.empty()) {
    const uint64_t shift = (1 + random_.Uniform(8)) * kSectorBytes;
    at = (random_.OneIn(2) || at < shift) ? at + shift : at - shift;
    stats_.misdirected_writes++;
    damage_count_++;
    world_.trace().Record(TraceKind::kDiskFault, id_, 3, at);
  }
  if (!data.empty()) {
    ApplyWrite(inode.data, at, data);
    inode.pending.push_back({inode.next_seq++, false, at, std::string(data)});
    stats_.writes++;
    world_.trace().RecordBytes(TraceKind::kDiskWrite, (id_ << 32) | inode.id,
                               at, data);
  }
  if (fault == WriteFault::kIoError) {
    return absl::InternalError(StrCat("write ", path, ": input/output error"));
  }
  if (fault == WriteFault::kNoSpace) {
    return absl::ResourceExhaustedError(
        StrCat("write ", path, ": no space left on device"));
  }
  return absl::OkStatus();
}

absl::Status SimDisk::Truncate(SimInode& inode, uint64_t size) {
  KEEL_ASSERT(!inode.is_dir);
  inode.data.resize(size, '\0');
  inode.pending.push_back({inode.next_seq++, true, size, {}});
  world_.trace().Record(TraceKind::kDiskWrite, (id_ << 32) | inode.id, size,
                        UINT64_MAX);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SimDisk::Read(const SimInode& inode,
                                          const std::string& path,
                                          uint64_t offset, size_t n) {
  KEEL_ASSERT(!inode.is_dir);
  if (offset >= inode.data.size()) return std::string();
  std::string out = inode.data.substr(offset, n);
  bool flip = false;
  if (flip_reads_ > 0) {
    flip_reads_--;
    flip = true;
  } else if (rates_.read_bit_flip > 0 && Matches(path)) {
    flip = random_.Bernoulli(rates_.read_bit_flip);
  }
  if (flip && !out.empty()) {
    const uint64_t byte = random_.Uniform(out.size());
    const int bit = static_cast<int>(random_.Uniform(8));
    out[byte] = static_cast<char>(out[byte] ^ (1 << bit));
    stats_.read_bit_flips++;
    world_.trace().Record(TraceKind::kDiskFault, id_, 4, offset + byte);
  }
  return out;
}

Task<absl::Status> SimDisk::SyncFile(std::shared_ptr<SimInode> inode,
                                     std::string path) {
  // What a sync persists is what was written before it was issued.
  const uint64_t upto = inode->next_seq - 1;
  const uint64_t failures = inode->sync_failures;
  co_await world_.clock().Sleep(SyncLatency());
  co_return FinishSync(*inode, path, upto, failures);
}

absl::Status SimDisk::FinishSync(SimInode& inode, const std::string& path,
                                 uint64_t upto_seq,
                                 uint64_t failures_at_start) {
  stats_.syncs++;
  if (TakeSyncFault(path)) {
    // fsyncgate: the pages are marked clean and nothing says which reached
    // the platter. Reads still see them; a crash keeps a seeded subset.
    stats_.sync_failures++;
    inode.sync_failures++;
    SettlePending(inode, random_.OneIn(2) ? kKeepPrefix : kKeepSubset);
    world_.trace().Record(TraceKind::kDiskSync, (id_ << 32) | inode.id, 1);
    return absl::InternalError(StrCat("fsync ", path, ": input/output error"));
  }
  if (inode.sync_failures != failures_at_start) {
    // Another sync failed while this one ran: the error is reported to every
    // syncer whose writes it may have lost.
    world_.trace().Record(TraceKind::kDiskSync, (id_ << 32) | inode.id, 2);
    return absl::InternalError(StrCat("fsync ", path, ": input/output error"));
  }
  size_t done = 0;
  while (done < inode.pending.size() && inode.pending[done].seq <= upto_seq) {
    ApplyPending(inode.durable, inode.pending[done]);
    done++;
  }
  inode.pending.erase(inode.pending.begin(), inode.pending.begin() + done);
  world_.trace().Record(TraceKind::kDiskSync, (id_ << 32) | inode.id, 0, done);
  return absl::OkStatus();
}

Task<absl::Status> SimDisk::SyncDirectory(std::string path) {
  KEEL_CO_ASSIGN_OR_RETURN(std::vector<std::string> parts, Split(path));
  std::shared_ptr<SimInode> dir = Lookup(parts);
  if (dir == nullptr || !dir->is_dir) {
    co_return absl::NotFoundError(StrCat(path, ": no such directory"));
  }
  SimInode::Entries snapshot = dir->entries;
  co_await world_.clock().Sleep(SyncLatency());
  co_return FinishSyncDir(*dir, path, std::move(snapshot));
}

absl::Status SimDisk::FinishSyncDir(SimInode& dir, const std::string& path,
                                    SimInode::Entries snapshot) {
  stats_.syncs++;
  if (TakeSyncFault(path)) {
    stats_.sync_failures++;
    // Whether the journal committed the entries is unknown.
    if (random_.OneIn(2)) dir.durable_entries = std::move(snapshot);
    world_.trace().Record(TraceKind::kDiskSync, (id_ << 32) | dir.id, 1);
    return absl::InternalError(StrCat("fsync ", path, ": input/output error"));
  }
  dir.durable_entries = std::move(snapshot);
  world_.trace().Record(TraceKind::kDiskSync, (id_ << 32) | dir.id, 0);
  return absl::OkStatus();
}

// --- SimFile ---

absl::Status SimFile::CheckWritable() const {
  if (read_only_) {
    return absl::FailedPreconditionError(StrCat(path_, " is open read-only"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SimFile::Size() const { return inode_->data.size(); }

absl::Status SimFile::Append(std::string_view data) {
  KEEL_RETURN_IF_ERROR(CheckWritable());
  return disk_->Write(*inode_, path_, std::nullopt, data);
}

absl::Status SimFile::WriteAt(uint64_t offset, std::string_view data) {
  KEEL_RETURN_IF_ERROR(CheckWritable());
  return disk_->Write(*inode_, path_, offset, data);
}

absl::StatusOr<std::string> SimFile::ReadAt(uint64_t offset, size_t n) const {
  return disk_->Read(*inode_, path_, offset, n);
}

absl::Status SimFile::Truncate(uint64_t size) {
  KEEL_RETURN_IF_ERROR(CheckWritable());
  return disk_->Truncate(*inode_, size);
}

Task<absl::Status> SimFile::Sync() { return disk_->SyncFile(inode_, path_); }

absl::Status SimFile::SyncNow() {
  return disk_->FinishSync(*inode_, path_, inode_->next_seq - 1,
                           inode_->sync_failures);
}

}  // namespace keel::sim
