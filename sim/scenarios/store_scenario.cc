// Scenario `store`: a member's storage (the WAL behind raft's log, and the
// Mvcc on LevelDB through LevelDbEnv) under crashes, kills and disk faults.
//
// Each machine runs the storage half of a member, without a network: it
// appends raft entries (each a put or delete derived from its index and
// term alone, so the checker can tell any entry's true content), sometimes
// overwrites the uncommitted tail with a higher term as a follower does,
// advances the commit index, persists every batch with WalRaftStorage::Save
// (one fsync), applies committed entries to the Mvcc unsynced, and now and
// then makes the Mvcc durable (SyncBarrier) and compacts the WAL, which
// releases covered segments. The nemesis kills, crashes (power loss: a
// seeded subset of unsynced sectors survives), pauses and injects disk
// faults (failing fsyncs and writes, bit flips on read, slow syncs) on the
// part of the data dir the seed draws: the WAL, the Mvcc's LevelDB files,
// or both; with `corrupt`, the scenario itself rots a bit of a synced WAL
// record now and then. A member whose WAL or Mvcc fails stops and is
// restarted.
//
// Checks at every start:
//  - the WAL hands back only true entries (each one's data is what its
//    index and term imply), every entry synced before the crash (with the
//    synced hard state), and nothing that was never written;
//  - the WAL refuses to start (DataLoss) only if the WAL was damaged or
//    misread, and always when a synced record it still holds has rotted;
//    a member that keeps refusing is wiped and starts over, as an operator
//    would;
//  - the Mvcc refuses to open (DataLoss) only if a LevelDB file was misread
//    while it opened (nothing rots them for good, so the next start must
//    open);
//  - the Mvcc's recovered state is exactly the state after its recovered
//    applied index (a prefix of the applies: google/leveldb#193), never
//    ahead of the durable commit index, never behind the WAL's snapshot nor
//    the last SyncBarrier that returned (or the last open: recovery leaves
//    LevelDB durable), whatever the disk faults did;
//  - after replaying the committed entries from the WAL, the Mvcc's Hash
//    equals a model's that applied every committed entry in order.
// The run ends with every fault healed and a power loss of every machine.
// --inject-bug records a batch as synced before its fsync returns, which
// the first check catches when a crash lands in that window.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "node/wal_raft_storage.h"
#include "runtime/env.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"
#include "store/leveldb_env.h"
#include "store/mvcc.h"
#include "store/mvcc_model.h"
#include "store/wal_record.h"

namespace keel::sim {
namespace {

using node::WalRaftStorage;

constexpr char kWalDir[] = "wal";
constexpr char kMvccDir[] = "mvcc";
constexpr char kWipeMarker[] = "WIPING";
constexpr Duration kRestartAfterExit = Milliseconds(200);
constexpr int kRefusalsBeforeWipe = 3;
constexpr uint64_t kKeys = 48;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The operation of the entry at (index, term): a put of a key, or (one in
// eight) its delete.
struct Op {
  bool put = true;
  std::string key;
  std::string value;
};

Op OpFor(uint64_t index, uint64_t term) {
  const uint64_t h = Mix(index * 1'000'003 + term);
  Op op;
  op.put = h % 8 != 0;
  op.key = StrCat("key/", (h >> 8) % kKeys);
  if (op.put) op.value = StrCat(index, ".", term, std::string((h >> 20) % 200, 'v'));
  return op;
}

std::string EntryData(uint64_t index, uint64_t term) {
  const Op op = OpFor(index, term);
  return StrCat(op.put ? "P " : "D ", op.key, " ", op.value);
}

raftpb::Entry MakeEntry(uint64_t index, uint64_t term) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(EntryData(index, term));
  return entry;
}

class StoreScenario {
 public:
  explicit StoreScenario(const ScenarioOptions& options);
  ScenarioResult Run();

 private:
  // What the checker knows of one machine's storage.
  struct Ledger {
    // Terms of entries 1.. as of the last Save whose fsync returned.
    std::vector<uint64_t> synced;
    // Batches saved since, not acknowledged (in flight at a kill, or
    // failed): a crash may keep any prefix of each one's records.
    struct Batch {
      uint64_t next;  // index of its first entry (a lower one truncates)
      std::vector<uint64_t> terms;
    };
    std::vector<Batch> pending;
    uint64_t synced_commit = 0;
    std::vector<uint64_t> committed;  // terms of committed entries (fixed)
    uint64_t damage_at_start = 0;     // damage + read flips when last checked
    int refusals = 0;                 // DataLoss refusals in a row
    // The Mvcc's applied index as of its last successful SyncBarrier or
    // open; a recovered Mvcc is never behind it.
    uint64_t mvcc_durable = 0;
    std::string rotted;               // a WAL file the scenario damaged
  };

  // One incarnation's storage, owned by its boot frame. On a kill the
  // LevelDB Env is abandoned before the Mvcc goes, so nothing more is
  // written.
  struct Member {
    ~Member() {
      if (leveldb_env != nullptr) leveldb_env->Abandon();
      mvcc.reset();
      leveldb_env.reset();
    }
    std::unique_ptr<WalRaftStorage> storage;
    std::unique_ptr<store::LevelDbEnv> leveldb_env;
    std::unique_ptr<store::Mvcc> mvcc;
  };

  Task<void> Boot(Env& env, size_t m);
  Task<absl::Status> Work(Env& env, size_t m, Member& member);
  Task<bool> OpenWal(Env& env, size_t m, Member& member);
  // False if the member must not go on: a check failed, or data was lost
  // to disk damage (then the member has been wiped).
  Task<bool> CheckWal(Env& env, size_t m, WalRaftStorage& storage);
  absl::Status OpenMvcc(Env& env, size_t m, Member& member);
  absl::Status ApplyEntry(store::Mvcc& mvcc, const raftpb::Entry& entry);
  // Records that `entry` is committed; false (and a failure) if a
  // committed entry at its index had another term.
  bool Commit(Ledger& ledger, const raftpb::Entry& entry);
  // Erases the member's data (an operator's wipe) and forgets its ledger.
  Task<void> Wipe(Env& env, size_t m);
  uint32_t ModelHash(const Ledger& ledger, uint64_t upto);
  // Damage and misreads that may explain what the WAL, or the Mvcc, finds:
  // the scenario's rots (on the WAL only), and bit flips on read where the
  // nemesis targets disk faults.
  uint64_t Damage(size_t m) const;
  uint64_t MvccDamage(size_t m) const;
  void Rot(Env& env, size_t m, WalRaftStorage& storage);
  void Fail(std::string message);

  ScenarioOptions options_;
  // Where the nemesis's disk faults land: kWalDir, kMvccDir or "" (both).
  std::string disk_target_;
  bool wal_faults_ = false, mvcc_faults_ = false;
  SimWorld world_;
  std::vector<SimMachine*> machines_;
  std::vector<Ledger> ledgers_;
  absl::Status verdict_;
  std::vector<uint64_t> starts_;
  uint64_t entries_ = 0, syncs_ = 0, overwrites_ = 0, applied_ = 0;
  uint64_t barriers_ = 0, torn_cuts_ = 0, refusals_ = 0, wipes_ = 0;
  uint64_t replayed_ = 0, rots_ = 0, stops_ = 0, max_segments_released_ = 0;
  uint64_t mvcc_refusals_ = 0, mvcc_errors_ = 0;
};

StoreScenario::StoreScenario(const ScenarioOptions& options)
    : options_(options), world_(WorldOptionsFor(options)) {
  // Drawn apart from the world's randomness.
  switch (Mix(options_.seed ^ 0x5d15c) % 3) {
    case 0: disk_target_ = kWalDir; break;
    case 1: disk_target_ = kMvccDir; break;
    default: disk_target_ = ""; break;
  }
  const bool disk_faults = options_.faults->has(Fault::kDisk);
  wal_faults_ = disk_faults && disk_target_ != kMvccDir;
  mvcc_faults_ = disk_faults && disk_target_ != kWalDir;
  for (int i = 0; i < options_.nodes; i++) {
    const size_t m = static_cast<size_t>(i);
    machines_.push_back(&world_.AddMachine(
        {.name = StrCat("n", i + 1),
         .boot = [this, m](Env& env) { return Boot(env, m); },
         .restart_after_exit = kRestartAfterExit}));
  }
  ledgers_.resize(machines_.size());
  starts_.resize(machines_.size());
}

void StoreScenario::Fail(std::string message) {
  if (!verdict_.ok()) return;
  world_.log().Note("checker", StrCat("FAILED: ", message));
  verdict_ = absl::InternalError(message);
  world_.Stop();
}

uint64_t StoreScenario::Damage(size_t m) const {
  const SimDisk& disk = machines_[m]->disk();
  return disk.damage_count() + (wal_faults_ ? disk.stats().read_bit_flips : 0);
}

uint64_t StoreScenario::MvccDamage(size_t m) const {
  const SimDisk& disk = machines_[m]->disk();
  return mvcc_faults_ ? disk.stats().read_bit_flips : 0;
}

uint32_t StoreScenario::ModelHash(const Ledger& ledger, uint64_t upto) {
  KEEL_ASSERT(upto <= ledger.committed.size());
  store::MvccModel model;
  for (uint64_t i = 1; i <= upto; i++) {
    const Op op = OpFor(i, ledger.committed[i - 1]);
    if (op.put) {
      KEEL_ASSERT(model.Put({.key = op.key, .value = op.value}).ok());
    } else {
      KEEL_ASSERT(model.DeleteRange({.key = op.key}).ok());
    }
  }
  return model.Hash();
}

Task<void> StoreScenario::Boot(Env& env, size_t m) {
  if (env.fs().Stat(kWipeMarker).ok()) co_await Wipe(env, m);
  if (env.fs().Stat(kWipeMarker).ok()) co_return;  // try again later
  Member member;
  if (!co_await OpenWal(env, m, member)) co_return;
  absl::Status status = OpenMvcc(env, m, member);
  if (status.ok()) {
    starts_[m]++;
    status = co_await Work(env, m, member);
  }
  if (!status.ok()) {
    stops_++;
    env.log().Warn("storage failed; stopping", {{"error", status.ToString()}});
  }
}

Task<bool> StoreScenario::OpenWal(Env& env, size_t m, Member& member) {
  Ledger& ledger = ledgers_[m];
  const store::WalOptions options{
      .dir = kWalDir, .segment_bytes = 16 << 10, .max_segments = 2};
  const store::WalIdentity identity{.member_id = m + 1, .cluster_id = 0xc1};
  auto opened = co_await WalRaftStorage::Open(env, options, identity);
  if (absl::IsNotFound(opened.status())) {
    if (!ledger.synced.empty()) {
      Fail(StrCat(machines_[m]->name(), ": the WAL is gone after ", ledger.synced.size(),
                  " synced entries"));
      co_return false;
    }
    // Named, not temporaries: GCC 12 may destroy a temporary in a co_await
    // operand twice.
    const raftpb::ConfState initial;
    opened = co_await WalRaftStorage::Create(env, options, identity, initial);
  }
  const bool damaged = Damage(m) > ledger.damage_at_start;
  const bool rotted = !ledger.rotted.empty() && env.fs().Stat(ledger.rotted).ok();
  if (opened.ok() && rotted) {
    Fail(StrCat(machines_[m]->name(), ": started although synced WAL file ",
                ledger.rotted, " has a rotted record"));
    co_return false;
  }
  if (absl::IsDataLoss(opened.status())) {
    refusals_++;
    env.log().Error("refusing to start", {{"error", opened.status().ToString()}});
    if (!damaged && !rotted) {
      Fail(StrCat(machines_[m]->name(), " refused to start on an undamaged disk: ",
                  opened.status().ToString()));
      co_return false;
    }
    if (++ledger.refusals >= kRefusalsBeforeWipe || rotted) {
      // The damage is real: wipe the member and start it afresh.
      co_await Wipe(env, m);
    }
    co_return false;
  }
  if (!opened.ok()) co_return false;  // an I/O fault while recovering
  ledger.refusals = 0;
  ledger.rotted.clear();  // released before anyone read it again
  member.storage = std::move(*opened);
  if (member.storage->recovery().torn_bytes > 0) torn_cuts_++;
  env.log().Info("WAL recovered",
                 {{"first", *member.storage->FirstIndex()},
                  {"last", *member.storage->LastIndex()},
                  {"commit", member.storage->hard_state().commit()},
                  {"segments", member.storage->recovery().segments},
                  {"torn_bytes", member.storage->recovery().torn_bytes},
                  {"synced", ledger.synced.size()},
                  {"pending_batches", ledger.pending.size()}});
  if (!co_await CheckWal(env, m, *member.storage)) co_return false;
  ledgers_[m].damage_at_start = Damage(m);
  co_return true;
}

Task<bool> StoreScenario::CheckWal(Env& env, size_t m, WalRaftStorage& storage) {
  Ledger& ledger = ledgers_[m];
  const std::string& name = machines_[m]->name();
  const uint64_t first = *storage.FirstIndex();
  const uint64_t last = *storage.LastIndex();
  const uint64_t commit = storage.hard_state().commit();
  if (first <= last) {
    auto entries = storage.Entries(first, last + 1, raft::kNoLimit);
    KEEL_ASSERT(entries.ok());
    for (const raftpb::Entry& entry : *entries) {
      if (entry.data() != EntryData(entry.index(), entry.term())) {
        Fail(StrCat(name, ": WAL served entry ", entry.index(), " with data it never had"));
        co_return false;
      }
    }
  }
  // The recovered log must be the acknowledged one with some prefix of the
  // unacknowledged batches' records applied (entries below `first` are
  // compacted and not compared).
  auto matches = [&](const std::vector<uint64_t>& candidate) {
    if (candidate.size() != last) return false;
    for (uint64_t i = first; i <= last; i++) {
      if (*storage.Term(i) != candidate[i - 1]) return false;
    }
    return true;
  };
  std::vector<uint64_t> log = ledger.synced;
  bool found = matches(log);
  for (const Ledger::Batch& batch : ledger.pending) {
    log.resize(batch.next - 1);
    for (size_t j = 0; !found && j < batch.terms.size(); j++) {
      log.push_back(batch.terms[j]);
      found = matches(log);
    }
    log.resize(batch.next - 1);
    log.insert(log.end(), batch.terms.begin(), batch.terms.end());
  }
  std::string lost;
  if (!found) {
    lost = StrCat("the recovered log (", first, "..", last,
                  ") is not the synced one (up to ", ledger.synced.size(),
                  ") plus a prefix of later writes");
  } else if (commit < ledger.synced_commit) {
    lost = StrCat("commit index ", commit, " below the synced ", ledger.synced_commit);
  }
  if (!lost.empty()) {
    if (Damage(m) == ledger.damage_at_start) {
      Fail(StrCat(name, ": ", lost));
      co_return false;
    }
    // Damage the WAL could not see took it: a real member would have to
    // be rebuilt from its peers.
    env.log().Warn("synced data lost to disk damage", {{"what", lost}});
    co_await Wipe(env, m);
    co_return false;
  }
  // From here on the recovered log is the truth, and durable (recovery
  // synced it).
  ledger.synced.resize(last);
  for (uint64_t i = first; i <= last; i++) ledger.synced[i - 1] = *storage.Term(i);
  ledger.pending.clear();
  ledger.synced_commit = commit;
  co_return true;
}

absl::Status StoreScenario::OpenMvcc(Env& env, size_t m, Member& member) {
  Ledger& ledger = ledgers_[m];
  const std::string& name = machines_[m]->name();
  member.leveldb_env = std::make_unique<store::LevelDbEnv>(env.fs(), env.clock(), env.log());
  store::LevelDbEnv* leveldb_env = member.leveldb_env.get();
  const uint64_t damage_before = MvccDamage(m);
  auto mvcc = store::Mvcc::Open({.path = kMvccDir,
                                 .env = leveldb_env,
                                 .after_db_call = [leveldb_env] { leveldb_env->RunPending(); },
                                 .write_buffer_bytes = 64 << 10,
                                 .table_file_bytes = 64 << 10});
  if (!mvcc.ok()) {
    if (absl::IsDataLoss(mvcc.status())) {
      mvcc_refusals_++;
      if (MvccDamage(m) == damage_before) {
        Fail(StrCat(name, ": the Mvcc refuses to open although no LevelDB file was "
                    "misread while it opened: ", mvcc.status().ToString()));
        return absl::InternalError("checker");
      }
    }
    return mvcc.status();
  }
  member.mvcc = std::move(*mvcc);
  WalRaftStorage& storage = *member.storage;
  const uint64_t applied = member.mvcc->applied().index;
  const uint64_t commit = storage.hard_state().commit();
  const uint64_t snapshot = storage.Snapshot()->metadata().index();
  if (applied > commit || applied > ledger.committed.size()) {
    Fail(StrCat(name, ": the Mvcc applied ", applied, ", past the durable commit ", commit));
    return absl::InternalError("checker");
  }
  if (applied < snapshot) {
    Fail(StrCat(name, ": the Mvcc applied ", applied, " but the WAL was compacted to ",
                snapshot, ": a SyncBarrier did not hold"));
    return absl::InternalError("checker");
  }
  if (applied < ledger.mvcc_durable) {
    Fail(StrCat(name, ": the Mvcc recovered applied index ", applied,
                " but ", ledger.mvcc_durable, " was durable (a SyncBarrier or open "
                "returned): synced LevelDB writes are lost"));
    return absl::InternalError("checker");
  }
  auto hash = member.mvcc->Hash();
  if (!hash.ok()) return hash.status();
  if (hash->hash != ModelHash(ledger, applied)) {
    Fail(StrCat(name, ": the recovered Mvcc is not the state after its applied index ",
                applied, " (not a prefix of the applies)"));
    return absl::InternalError("checker");
  }
  // Replay what the WAL committed beyond what the Mvcc holds.
  if (applied < commit) {
    auto entries = storage.Entries(applied + 1, commit + 1, raft::kNoLimit);
    KEEL_ASSERT(entries.ok());
    for (const raftpb::Entry& entry : *entries) {
      // Committed before it is applied (see Work).
      if (!Commit(ledger, entry)) return absl::InternalError("checker");
      absl::Status status = ApplyEntry(*member.mvcc, entry);
      if (!status.ok()) return status;
      replayed_++;
    }
  }
  // LevelDB's recovery wrote what it recovered to a synced table.
  ledger.mvcc_durable = applied;
  hash = member.mvcc->Hash();
  if (!hash.ok()) return hash.status();
  if (hash->hash != ModelHash(ledger, commit)) {
    Fail(StrCat(name, ": after replay to ", commit, " the Mvcc differs from the model"));
    return absl::InternalError("checker");
  }
  return absl::OkStatus();
}

bool StoreScenario::Commit(Ledger& ledger, const raftpb::Entry& entry) {
  const uint64_t index = entry.index();
  if (index == ledger.committed.size() + 1) {
    ledger.committed.push_back(entry.term());
    return true;
  }
  KEEL_ASSERT(index <= ledger.committed.size());
  if (ledger.committed[index - 1] == entry.term()) return true;
  Fail(StrCat("committed entry ", index, " changed its term from ",
              ledger.committed[index - 1], " to ", entry.term()));
  return false;
}

Task<void> StoreScenario::Wipe(Env& env, size_t m) {
  // A marker makes the wipe survive a kill or crash halfway: a start that
  // finds it finishes the wipe before opening anything, so the WAL and the
  // Mvcc never come back one without the other.
  // The ledger forgets the data only once the marker is durable: a crash
  // before that (a slow or failing directory sync) brings back the data
  // and the damage that called for the wipe, and the checks must still
  // know of both. A marker found at start may not be durable yet (the
  // last incarnation was killed): it is synced first too.
  FileSystem& fs = env.fs();
  if (!fs.Stat(kWipeMarker).ok()) {
    wipes_++;
    env.log().Warn("wiping the member's data");
    if (!fs.Open(kWipeMarker, {.create = true}).ok()) co_return;
  }
  if (!(co_await fs.SyncDir(".")).ok()) co_return;
  ledgers_[m] = Ledger{};
  ledgers_[m].damage_at_start = Damage(m);
  if (!RemoveTree(fs, kWalDir).ok() || !RemoveTree(fs, kMvccDir).ok()) co_return;
  if (!(co_await fs.SyncDir(".")).ok()) co_return;
  if (!fs.Remove(kWipeMarker).ok()) co_return;
  (void)co_await fs.SyncDir(".");
}

absl::Status StoreScenario::ApplyEntry(store::Mvcc& mvcc, const raftpb::Entry& entry) {
  const store::EntryId id{.index = entry.index(), .term = entry.term()};
  const Op op = OpFor(entry.index(), entry.term());
  if (op.put) return mvcc.Put(id, {.key = op.key, .value = op.value}).status();
  return mvcc.DeleteRange(id, {.key = op.key}).status();
}

void StoreScenario::Rot(Env& env, size_t m, WalRaftStorage& storage) {
  // A bit of a record header in a sealed segment: every header byte is
  // under a checksum, so the next start must refuse.
  const std::vector<std::string> names = storage.wal().segment_names();
  if (names.size() < 2) return;
  const std::string path = JoinPath(kWalDir, names[env.random().Uniform(names.size() - 1)]);
  auto file = env.fs().Open(path, {.read_only = true});
  if (!file.ok()) return;
  auto data = (*file)->ReadAt(0, *(*file)->Size());
  if (!data.ok()) return;
  const store::WalSegmentScan scan = store::ScanWalSegment(*data);
  if (scan.records.empty()) return;
  const uint64_t offset =
      scan.records[env.random().Uniform(scan.records.size())].offset +
      env.random().Uniform(store::kWalHeaderBytes);
  if (machines_[m]->disk().CorruptBit(path, offset, static_cast<int>(env.random().Uniform(8))).ok()) {
    rots_++;
    ledgers_[m].rotted = path;
  }
}

Task<absl::Status> StoreScenario::Work(Env& env, size_t m, Member& member) {
  Ledger& ledger = ledgers_[m];
  WalRaftStorage& storage = *member.storage;
  store::Mvcc& mvcc = *member.mvcc;
  Random& random = env.random();
  uint64_t term = std::max<uint64_t>(storage.hard_state().term(), 1);
  if (const uint64_t last = *storage.LastIndex(); last > 0) {
    term = std::max(term, *storage.Term(last));
  }
  // Entries are applied only once a synced hard state commits them, so the
  // Mvcc's applied index never passes the durable commit index (raft's
  // restart requires applied <= commit).
  uint64_t applied = storage.hard_state().commit();
  uint64_t durable_commit = applied;
  uint64_t since_barrier = 0;
  while (true) {
    co_await env.clock().Sleep(Microseconds(random.UniformRange(500, 20'000)));
    uint64_t commit = storage.hard_state().commit();
    uint64_t next = *storage.LastIndex() + 1;
    if (next - 1 > commit && random.OneIn(8)) {
      // A new leader replaces part of the uncommitted tail.
      next = random.UniformRange(commit + 1, next - 1);
      term++;
      overwrites_++;
    }
    std::vector<raftpb::Entry> entries;
    // A truncation needs an entry to carry it.
    const uint64_t n = random.OneIn(6) && next == *storage.LastIndex() + 1
                           ? 0
                           : random.UniformRange(1, 24);
    for (uint64_t i = 0; i < n; i++) entries.push_back(MakeEntry(next + i, term));
    const uint64_t last = next + n - 1;
    const uint64_t new_commit = static_cast<uint64_t>(
        random.UniformRange(static_cast<int64_t>(commit), static_cast<int64_t>(last)));
    raftpb::HardState hard_state;
    hard_state.set_term(term);
    hard_state.set_vote(m + 1);
    hard_state.set_commit(new_commit);
    Ledger::Batch batch{.next = next, .terms = {}};
    for (const raftpb::Entry& e : entries) batch.terms.push_back(e.term());
    ledger.pending.push_back(std::move(batch));
    auto acknowledge = [&ledger, new_commit] {
      for (const Ledger::Batch& b : ledger.pending) {
        ledger.synced.resize(b.next - 1);
        ledger.synced.insert(ledger.synced.end(), b.terms.begin(), b.terms.end());
      }
      ledger.pending.clear();
      ledger.synced_commit = new_commit;
    };
    if (options_.inject_bug) {
      // The deliberate defect: the batch counts as durable before its
      // fsync has returned.
      acknowledge();
    }
    const bool must_sync = n > 0 || !random.OneIn(3);
    const raftpb::Snapshot no_snapshot;
    KEEL_CO_RETURN_IF_ERROR(co_await storage.Save(hard_state, entries, no_snapshot, must_sync));
    entries_ += n;
    syncs_++;
    if (must_sync) {
      acknowledge();
      durable_commit = new_commit;
    }
    // Apply the durably committed entries, unsynced.
    if (durable_commit > applied) {
      auto committed = storage.Entries(applied + 1, durable_commit + 1, raft::kNoLimit);
      KEEL_ASSERT(committed.ok());
      for (const raftpb::Entry& entry : *committed) {
        // Committed before it is applied: an apply that fails (a synced
        // LevelDB write whose fsync failed) may still have logged it.
        Commit(ledger, entry);
        if (absl::Status status = ApplyEntry(mvcc, entry); !status.ok()) {
          mvcc_errors_++;
          co_return status;
        }
        applied_++;
        since_barrier++;
      }
      applied = durable_commit;
    }
    if (since_barrier >= 40 && random.OneIn(4)) {
      // Make the Mvcc durable, then release the WAL it covers.
      if (absl::Status status = mvcc.SyncBarrier(); !status.ok()) {
        mvcc_errors_++;
        co_return status;
      }
      ledger.mvcc_durable = applied;
      barriers_++;
      since_barrier = 0;
      const size_t before = storage.wal().segment_names().size();
      if (applied > storage.Snapshot()->metadata().index()) {
        raftpb::ConfState conf;
        conf.add_voters(m + 1);
        KEEL_CO_RETURN_IF_ERROR(co_await storage.Compact(applied, conf));
      }
      max_segments_released_ = std::max<uint64_t>(
          max_segments_released_, before - storage.wal().segment_names().size());
    }
    if (options_.faults->has(Fault::kCorrupt) && ledger.rotted.empty() && random.OneIn(1000)) {
      Rot(env, m, storage);
      // Restart at once: the next start must refuse the rotted WAL.
      if (!ledger.rotted.empty()) co_return absl::AbortedError("rotted the WAL");
    }
  }
}

ScenarioResult StoreScenario::Run() {
  Nemesis nemesis(world_, machines_,
                  {.faults = options_.faults->Without(Fault::kCorrupt),
                   .quiet_min = Milliseconds(100),
                   .quiet_max = Milliseconds(1500),
                   .fault_min = Milliseconds(200),
                   .fault_max = Seconds(2),
                   .disk_path_prefix = disk_target_});
  for (SimMachine* machine : machines_) machine->Start();
  if (!options_.faults->Without(Fault::kCorrupt).empty()) nemesis.Start();
  world_.RunFor(options_.duration);
  if (verdict_.ok()) {
    nemesis.StopAndHeal();
    world_.RunFor(Seconds(2));
  }
  if (verdict_.ok()) {
    const std::vector<uint64_t> before = starts_;
    for (SimMachine* machine : machines_) machine->Crash();
    for (SimMachine* machine : machines_) machine->Start();
    world_.RunFor(Seconds(2));
    for (size_t m = 0; verdict_.ok() && m < machines_.size(); m++) {
      if (starts_[m] == before[m]) {
        Fail(StrCat(machines_[m]->name(), " did not start again after the final crash"));
      }
    }
  }
  if (verdict_.ok() && applied_ == 0) Fail("nothing was ever applied");
  ScenarioResult result = Finish(world_, verdict_);
  result.summary = absl::StrFormat(
      "entries=%d syncs=%d overwrites=%d applied=%d replayed=%d barriers=%d "
      "torn_cuts=%d refusals=%d mvcc_refusals=%d wipes=%d rots=%d stops=%d "
      "mvcc_errors=%d disk=%s",
      entries_, syncs_, overwrites_, applied_, replayed_, barriers_, torn_cuts_,
      refusals_, mvcc_refusals_, wipes_, rots_, stops_, mvcc_errors_,
      disk_target_.empty() ? "all" : disk_target_);
  return result;
}

ScenarioResult RunStoreScenario(const ScenarioOptions& options) {
  StoreScenario scenario(options);
  return scenario.Run();
}

}  // namespace

KEEL_SIM_SCENARIO(store, {
    .name = "store",
    .description = "WAL and Mvcc recover every synced write after crashes; "
                   "damage is refused",
    .default_nodes = 2,
    .default_duration = Seconds(15),
    .supported_faults = FaultSet::Of({Fault::kKill, Fault::kCrash, Fault::kPause,
                                      Fault::kDisk, Fault::kCorrupt}),
    .run = RunStoreScenario,
});

}  // namespace keel::sim
