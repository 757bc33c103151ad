// keelutl's inspection commands, which etcd keeps in separate binaries.
//
//   keelutl dump-wal DIR [--start-index N] [--entry-type T1,T2]
//       the WAL's snapshot marker, hard state and entries (type, term,
//       index, decoded request), laid out as etcd-dump-logs does. Entry
//       types: ConfigChange, Normal, InternalRaftRequest, UnknownNormal,
//       and one per request kind (IRRPut, IRRDeleteRange, IRRTxn,
//       IRRCompaction, IRRLeaseGrant, IRRLeaseRevoke, IRRLeaseCheckpoint,
//       IRRLeaseExpire, IRRAlarm, IRRMemberAttributes, IRRAuth).
//   keelutl dump-db list-bucket PATH
//   keelutl dump-db iterate-bucket PATH --bucket NAME [--limit N] [--decode]
//       as etcd-dump-db: PATH is an etcd database or snapshot file, or a
//       keel data directory, whose key space reads as the key, lease and
//       meta buckets etcd would hold for it (store/etcd_export.h). Newest
//       first; --decode prints the key bucket's revisions and KeyValues and
//       the lease bucket's leases.
// Neither writes to a WAL; dump-db opens a keel key space as the member
// would (LevelDB recovers its log).
#include <deque>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "node/snapshot_restore_etcd.h"
#include "proto/internal.pb.h"
#include "proto/raft.pb.h"
#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/bbolt_reader.h"
#include "store/etcd_export.h"
#include "store/etcd_schema.h"
#include "store/etcd_snapshot.h"
#include "store/wal_inspect.h"
#include "tools/flags.h"
#include "tools/keelutl_commands.h"
#include "tools/keelutl_common.h"

namespace keel::tools {
namespace {

using store::KeyValue;
using store::LeaseRecord;

std::string Id(uint64_t id) { return absl::StrFormat("%x", id); }

// ---- dump-wal ----

const std::set<std::string>& KnownEntryTypes() {
  static const std::set<std::string> types = {
      "ConfigChange", "Normal", "Request", "InternalRaftRequest", "UnknownNormal",
      "IRRRange", "IRRPut", "IRRDeleteRange", "IRRTxn", "IRRCompaction", "IRRLeaseGrant",
      "IRRLeaseRevoke", "IRRLeaseCheckpoint", "IRRLeaseExpire", "IRRAlarm",
      "IRRMemberAttributes", "IRRAuth"};
  return types;
}

// The request kind's filter name.
std::string IrrType(const internal::InternalRaftRequest& request) {
  using R = internal::InternalRaftRequest;
  switch (request.request_case()) {
    case R::kPut: return "IRRPut";
    case R::kDeleteRange: return "IRRDeleteRange";
    case R::kTxn: return "IRRTxn";
    case R::kCompaction: return "IRRCompaction";
    case R::kLeaseGrant: return "IRRLeaseGrant";
    case R::kLeaseRevoke: return "IRRLeaseRevoke";
    case R::kLeaseCheckpoint: return "IRRLeaseCheckpoint";
    case R::kLeaseExpire: return "IRRLeaseExpire";
    case R::kAlarm: return "IRRAlarm";
    case R::kMemberAttributes: return "IRRMemberAttributes";
    case R::REQUEST_NOT_SET: return "";
    default: return "IRRAuth";
  }
}

// The entry's line after term and index, if it passes the filter.
std::optional<std::string> Describe(const raftpb::Entry& entry,
                                    const std::set<std::string>& filter) {
  const bool all = filter.empty();
  if (entry.type() != raftpb::EntryNormal) {
    if (!all && !filter.contains("ConfigChange")) return std::nullopt;
    if (entry.type() == raftpb::EntryConfChange) {
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(entry.data())) return "conf\t???";
      return StrCat("conf\tmethod=", raftpb::ConfChangeType_Name(cc.type()), " id=",
                    Id(cc.node_id()));
    }
    raftpb::ConfChangeV2 cc;
    if (!cc.ParseFromString(entry.data())) return "conf\t???";
    return StrCat("conf\t", cc.ShortDebugString());
  }
  internal::InternalRaftRequest request;
  if (!request.ParseFromString(entry.data())) {
    if (!all && !filter.contains("Normal") && !filter.contains("UnknownNormal")) {
      return std::nullopt;
    }
    return "norm\t???";
  }
  if (!all && !filter.contains("Normal") && !filter.contains("InternalRaftRequest") &&
      !filter.contains(IrrType(request))) {
    return std::nullopt;
  }
  return StrCat("norm\t", request.ShortDebugString());
}

absl::Status DumpWal(FileSystem& fs, const MemberDirs& dirs, uint64_t start_index,
                     const std::string& entry_type) {
  KEEL_ASSIGN_OR_RETURN(store::WalInspection wal, store::InspectWal(fs, dirs.wal));
  std::set<std::string> filter;
  if (!entry_type.empty()) {
    for (absl::string_view type : absl::StrSplit(entry_type, ',')) {
      if (!KnownEntryTypes().contains(std::string(type))) {
        (void)WriteStderr(StrCat("[", type, "] is not a valid entry-type, ignored.\n",
                                 "Please set entry-type to one or more of: ",
                                 absl::StrJoin(KnownEntryTypes(), ", "), "\n"));
        continue;
      }
      filter.emplace(type);
    }
  }
  std::string out;
  const raftpb::SnapshotMetadata& snap = wal.state.snapshot;
  if (start_index > 0) {
    StrAppend(&out, "Start dumping log entries from index ", start_index, ".\n");
  } else {
    out += "Snapshot:\n";
    if (snap.index() == 0) {
      out += "empty\n";
    } else {
      std::vector<std::string> nodes;
      for (uint64_t id : snap.conf_state().voters()) nodes.push_back(Id(id));
      StrAppend(&out, "term=", snap.term(), " index=", snap.index(), " nodes=[",
                absl::StrJoin(nodes, " "), "]\n");
    }
    out += "Start dumping log entries from snapshot.\n";
  }
  const raftpb::HardState& hs = wal.state.hard_state;
  StrAppend(&out, "WAL metadata:\nnodeID=", Id(wal.identity.member_id),
            " clusterID=", Id(wal.identity.cluster_id), " term=", hs.term(),
            " commitIndex=", hs.commit(), " vote=", Id(hs.vote()), "\n");
  out += "WAL entries:\n";
  StrAppend(&out, "lastIndex=", snap.index() + wal.state.entries.size(), "\n");
  out += absl::StrFormat("%4s\t%10s\ttype\tdata\n", "term", "index");
  (void)WriteStdout(out);
  uint64_t count = 0;
  for (const raftpb::Entry& entry : wal.state.entries) {
    if (entry.index() < start_index) continue;
    std::optional<std::string> line = Describe(entry, filter);
    if (!line) continue;
    count++;
    (void)WriteStdout(absl::StrFormat("%4d\t%10d\t%s\n", entry.term(), entry.index(), *line));
  }
  (void)WriteStdout(StrCat("\nEntry types (", entry_type, ") count is : ", count, "\n"));
  return absl::OkStatus();
}

// ---- dump-db ----

// Go's %q of a byte string: printable ASCII as is, the rest escaped.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<uint8_t>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (u >= 0x20 && u < 0x7f) {
          out.push_back(c);
        } else {
          out += absl::StrFormat("\\x%02x", u);
        }
    }
  }
  return out + "\"";
}

std::string KeyLine(const store::Revision& rev, const KeyValue& kv) {
  return absl::StrFormat("rev={main:%d sub:%d}, value=[key %s | val %s | created %d | mod %d | ver %d]",
                         rev.main, rev.sub, Quote(kv.key), Quote(kv.value), kv.create_revision,
                         kv.mod_revision, kv.version);
}

std::string LeaseLine(const LeaseRecord& lease) {
  return absl::StrFormat("lease ID=%016x, TTL=%ds", lease.id, lease.ttl_seconds);
}

// Keeps the last `limit` lines (all with 0) and prints them newest first.
class ReverseLines {
 public:
  explicit ReverseLines(uint64_t limit) : limit_(limit) {}
  void Add(std::string line) {
    lines_.push_back(std::move(line));
    if (limit_ > 0 && lines_.size() > limit_) lines_.pop_front();
  }
  void Print() {
    std::string out;
    for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) StrAppend(&out, *it, "\n");
    (void)WriteStdout(out);
  }

 private:
  const uint64_t limit_;
  std::deque<std::string> lines_;
};

std::string RawLine(std::string_view key, std::string_view value) {
  return StrCat("key=", Quote(key), ", value=", Quote(value));
}

absl::Status DumpBboltFile(FileSystem& fs, const std::string& path, const std::string& command,
                           const std::string& bucket_name, uint64_t limit, bool decode) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, {.read_only = true}));
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (store::HasEtcdSnapshotHash(size)) size -= Sha256::kDigestBytes;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::BboltReader> db,
                        store::BboltReader::Open(*file, size, path));
  if (command == "list-bucket") {
    std::string out;
    KEEL_RETURN_IF_ERROR(db->ForEach(db->root(), [&](const store::BboltItem& item) {
      StrAppend(&out, item.key, "\n");
      return absl::OkStatus();
    }));
    (void)WriteStdout(out);
    return absl::OkStatus();
  }
  KEEL_ASSIGN_OR_RETURN(std::optional<store::BboltBucket> bucket,
                        db->OpenBucket(db->root(), bucket_name));
  if (!bucket) return absl::NotFoundError(StrCat("got nil bucket for ", bucket_name));
  ReverseLines lines(limit);
  KEEL_RETURN_IF_ERROR(db->ForEach(*bucket, [&](const store::BboltItem& item) -> absl::Status {
    if (decode && bucket_name == store::kEtcdKeyBucket) {
      auto rev = store::ParseEtcdRevisionKey(item.key);
      auto kv = store::DecodeEtcdKeyValue(item.value);
      if (!rev || !kv) return absl::DataLossError("malformed key bucket entry");
      lines.Add(KeyLine(rev->rev, *kv));
    } else if (decode && bucket_name == store::kEtcdLeaseBucket) {
      auto lease = store::DecodeEtcdLease(item.value);
      if (!lease) return absl::DataLossError("malformed lease");
      lines.Add(LeaseLine(*lease));
    } else {
      lines.Add(RawLine(item.key, item.value));
    }
    return absl::OkStatus();
  }));
  lines.Print();
  return absl::OkStatus();
}

// A keel data directory, read as the buckets etcd would hold for it.
absl::Status DumpKeelDataDir(Env& env, const std::string& data_dir, const std::string& command,
                             const std::string& bucket_name, uint64_t limit, bool decode) {
  if (command == "list-bucket") {
    (void)WriteStdout(StrCat(store::kEtcdKeyBucket, "\n", store::kEtcdLeaseBucket, "\n",
                             store::kEtcdMetaBucket, "\n"));
    return absl::OkStatus();
  }
  KEEL_ASSIGN_OR_RETURN(OpenedKeySpace opened, OpenKeySpace(env, MemberDirsOf(data_dir),
                                                            store::LevelDbBackground::kQueue));
  store::Mvcc& mvcc = *opened.mvcc;
  ReverseLines lines(limit);
  if (bucket_name == store::kEtcdKeyBucket) {
    store::EtcdKeyBucketCursor cursor(mvcc.db(), nullptr, mvcc.compact_revision());
    while (true) {
      KEEL_ASSIGN_OR_RETURN(std::optional<store::EtcdKeyBucketEntry> entry, cursor.Next());
      if (!entry) break;
      lines.Add(decode ? KeyLine(entry->rev, entry->kv)
                       : RawLine(store::EtcdRevisionKey(entry->rev, entry->tombstone),
                                 store::EncodeEtcdKeyValue(entry->kv)));
    }
  } else if (bucket_name == store::kEtcdLeaseBucket) {
    KEEL_ASSIGN_OR_RETURN(std::vector<LeaseRecord> leases, mvcc.Leases());
    for (const LeaseRecord& lease : leases) {
      lines.Add(decode ? LeaseLine(lease)
                       : RawLine(store::EncodeEtcdUint64(static_cast<uint64_t>(lease.id)),
                                 store::EncodeEtcdLease(lease)));
    }
  } else if (bucket_name == store::kEtcdMetaBucket) {
    lines.Add(StrCat("consistent_index=", mvcc.applied().index));
    lines.Add(StrCat("term=", mvcc.applied().term));
    lines.Add(StrCat("current_revision=", mvcc.current_revision()));
    lines.Add(StrCat("compact_revision=", mvcc.compact_revision()));
  } else {
    return absl::NotFoundError(StrCat("got nil bucket for ", bucket_name));
  }
  lines.Print();
  return absl::OkStatus();
}

}  // namespace

int DumpWalCommand(Args args) {
  uint64_t start_index = 0;
  std::string entry_type, wal_dir;
  FlagSet flags("keelutl dump-wal");
  flags.Uint("start-index", &start_index, "The index to start dumping");
  flags.String("entry-type", &entry_type,
               "If set, filters output by entry type (comma-separated: ConfigChange, Normal, "
               "InternalRaftRequest, UnknownNormal, IRRPut, IRRDeleteRange, IRRTxn, "
               "IRRCompaction, IRRLeaseGrant, IRRLeaseRevoke, IRRLeaseCheckpoint, "
               "IRRLeaseExpire, IRRAlarm, IRRMemberAttributes, IRRAuth)");
  flags.String("wal-dir", &wal_dir, "Path to the WAL directory (default <dir>/member/wal)");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  if (flags.args().size() != 1) return Fail("dump-wal requires exactly one data dir", 2);
  PosixEnv env(PosixEnvOptions{});
  absl::Status dumped =
      DumpWal(env.fs(), MemberDirsOf(flags.args()[0], wal_dir), start_index, entry_type);
  if (!dumped.ok()) return Fail(StrCat("failed reading WAL: ", dumped.message()));
  return 0;
}

int DumpDbCommand(Args args) {
  std::string bucket;
  uint64_t limit = 0;
  bool decode = false;
  FlagSet flags("keelutl dump-db");
  flags.String("bucket", &bucket, "bucket name to iterate");
  flags.Uint("limit", &limit, "max number of key-value pairs to iterate (0 to iterate all)");
  flags.Bool("decode", &decode, "true to decode the key and lease buckets' values");
  absl::Status parsed = flags.Parse(args);
  if (!parsed.ok()) return Fail(parsed.message(), 2);
  const Args& rest = flags.args();
  if (rest.size() != 2 || (rest[0] != "list-bucket" && rest[0] != "iterate-bucket")) {
    return Fail("usage: keelutl dump-db list-bucket PATH | iterate-bucket PATH --bucket NAME "
                "[--limit N] [--decode]",
                2);
  }
  if (rest[0] == "iterate-bucket" && bucket.empty()) {
    return Fail("iterate-bucket requires --bucket", 2);
  }
  PosixEnv env(PosixEnvOptions{});
  const std::string& path = rest[1];
  auto info = env.fs().Stat(path);
  if (!info.ok()) return Fail(info.status().message());
  absl::Status dumped;
  if (info->is_directory) {
    dumped = DumpKeelDataDir(env, path, rest[0], bucket, limit, decode);
  } else {
    dumped = DumpBboltFile(env.fs(), path, rest[0], bucket, limit, decode);
  }
  if (!dumped.ok()) return Fail(dumped.message());
  return 0;
}

}  // namespace keel::tools
