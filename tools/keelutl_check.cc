// Checking a stopped member's files; see keelutl_check.h.
#include "tools/keelutl_check.h"

#include "absl/strings/match.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/leveldb_env_log_scan.h"
#include "store/leveldb_table_check.h"
#include "store/snapshot_file.h"
#include "store/wal_inspect.h"

namespace keel::tools {
namespace {

absl::StatusOr<std::string> ReadWhole(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, {.read_only = true}));
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  KEEL_ASSIGN_OR_RETURN(std::string data, file->ReadAt(0, size));
  if (data.size() != size) return absl::DataLossError("short read");
  return data;
}

void CheckWal(FileSystem& fs, const MemberDirs& dirs, DataDirCheck& out) {
  absl::StatusOr<store::WalInspection> wal = store::InspectWal(fs, dirs.wal);
  if (!wal.ok()) {
    out.problems.push_back(absl::IsNotFound(wal.status())
                               ? StrCat(dirs.wal, ": no WAL")
                               : std::string(wal.status().message()));
    return;
  }
  const uint64_t first = wal->state.snapshot.index() + 1;
  const uint64_t last = wal->state.snapshot.index() + wal->state.entries.size();
  out.checked.push_back(StrCat(dirs.wal, ": ", wal->segments.size(), " segments, ",
                               wal->records, " records, entries ", first, "..", last,
                               ", commit ", wal->state.hard_state.commit()));
  if (wal->torn_bytes > 0) {
    out.notes.push_back(StrCat(JoinPath(dirs.wal, wal->segments.back()), ": torn write of ",
                               wal->torn_bytes, " bytes at offset ", wal->torn_offset, " (",
                               wal->torn_problem, "); the member's recovery cuts it"));
  }
  for (const std::string& name : wal->ignored) {
    out.notes.push_back(StrCat(JoinPath(dirs.wal, name), ": not a WAL segment, ignored"));
  }
}

void CheckSnapshots(FileSystem& fs, const MemberDirs& dirs, DataDirCheck& out) {
  absl::StatusOr<std::vector<std::string>> names = fs.List(dirs.snap);
  if (!names.ok()) return;  // no snapshot received yet
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dirs.snap, name);
    // "incoming" holds snapshots still being received, never installed.
    if (auto info = fs.Stat(path); info.ok() && info->is_directory) continue;
    if (!absl::EndsWith(name, ".snap")) {
      out.notes.push_back(StrCat(path, ": not a snapshot, ignored"));
      continue;
    }
    absl::StatusOr<std::unique_ptr<store::SnapshotFileReader>> reader =
        store::SnapshotFileReader::Open(fs, path);
    if (!reader.ok()) {
      out.problems.push_back(StrCat(path, ": ", reader.status().message()));
      continue;
    }
    out.checked.push_back(StrCat(path, ": ", (*reader)->summary().records, " records in ",
                                 (*reader)->summary().chunks, " chunks, hash verified"));
  }
}

void CheckKeySpaceFile(FileSystem& fs, const std::string& dir, const std::string& name,
                       DataDirCheck& out) {
  const std::string path = JoinPath(dir, name);
  if (name == "LOCK" || name == "LOG" || name == "LOG.old") return;  // no data
  absl::StatusOr<std::string> data = ReadWhole(fs, path);
  if (!data.ok()) {
    out.problems.push_back(StrCat(path, ": ", data.status().message()));
    return;
  }
  if (name == "CURRENT") {
    const bool well_formed = absl::StartsWith(*data, "MANIFEST-") && data->size() > 10 &&
                             data->back() == '\n' &&
                             data->find_first_not_of("0123456789", 9) == data->size() - 1;
    if (!well_formed) {
      out.problems.push_back(StrCat(path, ": does not name a MANIFEST"));
    } else if (!fs.Stat(JoinPath(dir, data->substr(0, data->size() - 1))).ok()) {
      out.problems.push_back(StrCat(path, ": names ", data->substr(0, data->size() - 1),
                                    ", which is missing"));
    } else {
      out.checked.push_back(StrCat(path, ": names ", data->substr(0, data->size() - 1)));
    }
    return;
  }
  if (store::IsLevelDbLogFormatFile(name)) {
    const store::LevelDbLogScan scan = store::ScanLevelDbLog(*data);
    if (scan.corrupt) {
      out.problems.push_back(
          StrCat(path, ": damaged at offset ", scan.bad_offset, ": ", scan.problem));
      return;
    }
    out.checked.push_back(StrCat(path, ": ", scan.valid_bytes, " bytes of records"));
    if (scan.torn) {
      out.notes.push_back(StrCat(path, ": torn write after offset ", scan.valid_bytes,
                                 "; LevelDB's recovery drops it"));
    }
    return;
  }
  if (absl::EndsWith(name, ".ldb") || absl::EndsWith(name, ".sst")) {
    const store::LevelDbTableCheck table = store::CheckLevelDbTable(*data);
    if (!table.ok) {
      out.problems.push_back(
          StrCat(path, ": damaged at offset ", table.bad_offset, ": ", table.problem));
    } else {
      out.checked.push_back(StrCat(path, ": ", table.blocks, " blocks"));
    }
    return;
  }
  out.notes.push_back(StrCat(path, ": not a LevelDB file, ignored"));
}

}  // namespace

absl::StatusOr<DataDirCheck> CheckDataDir(FileSystem& fs, const MemberDirs& dirs) {
  DataDirCheck out;
  CheckWal(fs, dirs, out);
  CheckSnapshots(fs, dirs, out);
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(dirs.kv));
  for (const std::string& name : names) CheckKeySpaceFile(fs, dirs.kv, name, out);
  for (const char* leftover : {".restore", ".old"}) {
    if (fs.Stat(dirs.kv + leftover).ok()) {
      out.notes.push_back(StrCat(dirs.kv, leftover,
                                 ": an interrupted snapshot install; the member's start "
                                 "finishes or removes it"));
    }
  }
  return out;
}

}  // namespace keel::tools
