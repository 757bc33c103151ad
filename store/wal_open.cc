// Wal creation and recovery: listing and checking segments, cutting a torn
// tail, refusing damage, and replaying records into raft's state.
#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/wal.h"
#include "store/wal_coding.h"
#include "store/wal_inspect.h"
#include "store/wal_record.h"

namespace keel::store {
namespace {

std::string ParentDir(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.substr(text.size() - suffix.size()) == suffix;
}

std::string Hex(uint64_t id) { return absl::StrFormat("%x", id); }

// Removes `dir` and the files in it (a Create that did not finish).
absl::Status RemoveTree(FileSystem& fs, const std::string& dir) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(dir));
  for (const std::string& name : names) {
    KEEL_RETURN_IF_ERROR(fs.Remove(JoinPath(dir, name)));
  }
  return fs.RemoveDir(dir);
}

absl::StatusOr<std::string> ReadWhole(const File& file) {
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  std::string data;
  data.reserve(size);
  while (data.size() < size) {
    KEEL_ASSIGN_OR_RETURN(
        std::string piece,
        file.ReadAt(data.size(), std::min<uint64_t>(size - data.size(), 16 << 20)));
    if (piece.empty()) break;
    data += piece;
  }
  return data;
}

}  // namespace

bool Wal::Exists(FileSystem& fs, std::string_view dir) {
  auto info = fs.Stat(dir);
  return info.ok() && info->is_directory;
}

Task<absl::StatusOr<std::unique_ptr<Wal>>> Wal::Create(
    Env& env, WalOptions options, WalIdentity identity,
    raftpb::ConfState initial) {
  FileSystem& fs = env.fs();
  if (fs.Stat(options.dir).ok()) {
    co_return absl::AlreadyExistsError(StrCat("wal: ", options.dir, " exists"));
  }
  const std::string temp = StrCat(options.dir, kWalTempSuffix);
  if (fs.Stat(temp).ok()) KEEL_CO_RETURN_IF_ERROR(RemoveTree(fs, temp));
  KEEL_CO_RETURN_IF_ERROR(CreateDirs(fs, temp));

  std::unique_ptr<Wal> wal(new Wal(env, options, identity));
  *wal->snapshot_.mutable_conf_state() = std::move(initial);
  const std::string name = WalSegmentName(0, 1);
  const std::string prologue = wal->SegmentPrologue(0, 1);
  {
    KEEL_CO_ASSIGN_OR_RETURN(
        std::unique_ptr<File> file,
        fs.Open(JoinPath(temp, name), {.create = true, .exclusive = true}));
    KEEL_CO_RETURN_IF_ERROR(file->WriteAt(0, prologue));
    KEEL_CO_RETURN_IF_ERROR(co_await file->Sync());
  }
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(temp));
  KEEL_CO_RETURN_IF_ERROR(fs.Rename(temp, options.dir));
  // Every ancestor, top down: CreateDirs may have made any of them, and a
  // directory whose entry a crash can take away takes the WAL with it.
  std::vector<std::string> ancestors;
  for (std::string dir = ParentDir(options.dir);; dir = ParentDir(dir)) {
    ancestors.push_back(dir);
    if (dir == "." || dir == "/") break;
  }
  for (auto it = ancestors.rbegin(); it != ancestors.rend(); ++it) {
    KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(*it));
  }

  KEEL_CO_ASSIGN_OR_RETURN(wal->file_, fs.Open(wal->PathOf(name), {}));
  wal->segments_.push_back({.seq = 0, .first_index = 1, .name = name});
  wal->offset_ = prologue.size();
  wal->synced_offset_ = prologue.size();
  env.log().Info("created WAL", {{"dir", options.dir},
                                 {"member-id", Hex(identity.member_id)},
                                 {"cluster-id", Hex(identity.cluster_id)}});
  co_return wal;
}

Task<absl::StatusOr<std::unique_ptr<Wal>>> Wal::Open(
    Env& env, WalOptions options, WalIdentity expected, WalState* state,
    WalRecoveryReport* report) {
  KEEL_ASSERT(state != nullptr);
  FileSystem& fs = env.fs();
  auto names = fs.List(options.dir);
  if (!names.ok()) {
    if (absl::IsNotFound(names.status())) {
      co_return absl::NotFoundError(StrCat("wal: no WAL in ", options.dir));
    }
    co_return names.status();
  }
  std::vector<Segment> segments;
  for (const std::string& name : *names) {
    Segment segment{.seq = 0, .first_index = 0, .name = name};
    if (ParseWalSegmentName(name, &segment.seq, &segment.first_index)) {
      segments.push_back(std::move(segment));
    } else if (EndsWith(name, kWalTempSuffix)) {
      // A segment whose creation a crash interrupted: it never held a
      // record anyone relied on.
      KEEL_CO_RETURN_IF_ERROR(fs.Remove(JoinPath(options.dir, name)));
    }
  }
  // The directory as listed may not be durable: the last process may have
  // been killed between renaming a new segment into place and syncing the
  // directory. Appends are about to go into that segment, so make its name
  // durable first (and the removals above with it).
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(options.dir));
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.seq < b.seq; });
  if (segments.empty()) {
    co_return absl::DataLossError(
        StrCat("wal: ", options.dir, " holds no WAL segment"));
  }
  // Only the sequence numbers are checked: a segment's first index may be
  // below its predecessor's when raft truncated the uncommitted tail past
  // the predecessor's first index before the cut (the truncating entries
  // are in the predecessor).
  for (size_t i = 1; i < segments.size(); i++) {
    if (segments[i].seq != segments[i - 1].seq + 1) {
      co_return absl::DataLossError(
          StrCat("wal: ", options.dir, ": segments out of sequence between ",
                 segments[i - 1].name, " and ", segments[i].name));
    }
  }
  std::unique_ptr<Wal> wal(new Wal(env, options, expected));
  WalRecoveryReport local_report;
  if (report == nullptr) report = &local_report;
  *report = WalRecoveryReport{};
  KEEL_CO_RETURN_IF_ERROR(co_await Recover(wal.get(), std::move(segments),
                                           expected, state, report));
  co_return wal;
}

Task<absl::Status> Wal::Recover(Wal* wal, std::vector<Segment> segments,
                                WalIdentity expected, WalState* state,
                                WalRecoveryReport* report) {
  FileSystem& fs = wal->env_.fs();
  WalReplay replay;
  uint64_t tail_bytes = 0;
  for (size_t i = 0; i < segments.size(); i++) {
    const Segment& segment = segments[i];
    const bool last = i + 1 == segments.size();
    const std::string path = wal->PathOf(segment.name);
    KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, {}));
    KEEL_CO_ASSIGN_OR_RETURN(std::string data, ReadWhole(*file));
    WalSegmentScan scan = ScanWalSegment(data);
    if (scan.end == WalSegmentScan::End::kCorrupt ||
        (scan.end == WalSegmentScan::End::kTorn && !last)) {
      co_return absl::DataLossError(StrCat(
          "wal: ", path, ": damaged record at offset ", scan.bad_offset, ": ",
          scan.problem, last ? "" : " (in a segment synced before the next began)"));
    }
    if (scan.records.empty() ||
        scan.records[0].type != WalRecordType::kSegmentHeader) {
      co_return absl::DataLossError(
          StrCat("wal: ", path, ": the segment does not start with its header"));
    }
    auto header = DecodeWalSegmentHeader(scan.records[0].payload);
    if (!header.ok()) {
      co_return absl::Status(header.status().code(),
                             StrCat("wal: ", path, ": ", header.status().message()));
    }
    if (header->seq != segment.seq || header->first_index != segment.first_index) {
      co_return absl::DataLossError(
          StrCat("wal: ", path, ": the header names another segment"));
    }
    if (i == 0) {
      report->identity = header->identity;
      const bool member_differs = expected.member_id != 0 &&
                                  expected.member_id != header->identity.member_id;
      const bool cluster_differs = expected.cluster_id != 0 &&
                                   expected.cluster_id != header->identity.cluster_id;
      if (member_differs || cluster_differs) {
        co_return absl::FailedPreconditionError(StrCat(
            "wal: ", wal->options_.dir, " belongs to member ",
            Hex(header->identity.member_id), " of cluster ",
            Hex(header->identity.cluster_id), ", not to member ",
            Hex(expected.member_id), " of cluster ", Hex(expected.cluster_id)));
      }
      wal->identity_ = header->identity;
    } else if (!(header->identity == report->identity)) {
      co_return absl::DataLossError(
          StrCat("wal: ", path, ": segment of another member or cluster"));
    }
    for (size_t r = 1; r < scan.records.size(); r++) {
      const WalRecordView& record = scan.records[r];
      absl::Status applied =
          record.type == WalRecordType::kSegmentHeader
              ? absl::DataLossError("a second segment header")
              : replay.Apply(record.type, record.payload);
      if (!applied.ok()) {
        co_return absl::DataLossError(StrCat("wal: ", path, ": record at offset ",
                                             record.offset, ": ", applied.message()));
      }
    }
    report->segments++;
    if (!last) continue;
    tail_bytes = scan.valid_bytes;
    if (scan.end == WalSegmentScan::End::kTorn) {
      // The write a crash interrupted: cut it off, durably, before anything
      // is appended after it.
      report->torn_bytes = scan.file_bytes - scan.valid_bytes;
      report->torn_file = path;
      report->torn_offset = scan.valid_bytes;
      wal->env_.log().Warn("cutting a torn write off the WAL",
                           {{"file", path},
                            {"offset", scan.valid_bytes},
                            {"bytes", report->torn_bytes},
                            {"reason", scan.problem}});
      KEEL_CO_RETURN_IF_ERROR(file->Truncate(scan.valid_bytes));
    }
    // What recovery read of the last segment may not be durable: the last
    // incarnation may have been killed before its fsync, or its fsync may
    // have failed, after which the page cache still returns bytes that
    // will never reach the disk (fsyncgate) and another fsync does not
    // help. raft will treat these entries as stable and acknowledge them,
    // so write them again and sync: then they are durable (and so is a
    // cut) before anything is appended.
    KEEL_CO_RETURN_IF_ERROR(
        file->WriteAt(0, std::string_view(data).substr(0, scan.valid_bytes)));
    KEEL_CO_RETURN_IF_ERROR(co_await file->Sync());
    wal->file_ = std::move(file);
  }
  KEEL_CO_RETURN_IF_ERROR(replay.Finish(state));
  report->records = replay.records();
  wal->segments_ = std::move(segments);
  wal->offset_ = tail_bytes;
  wal->synced_offset_ = tail_bytes;
  wal->hard_state_ = state->hard_state;
  wal->snapshot_ = state->snapshot;
  wal->last_index_ = state->snapshot.index() + state->entries.size();
  co_return absl::OkStatus();
}

}  // namespace keel::store
