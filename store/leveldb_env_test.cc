// Tests of LevelDB on keel's FileSystem through LevelDbEnv: basic use and
// reopen on the simulated disk, crashes that keep a random part of the
// unsynced writes (what comes back is always a prefix of the writes, and
// holds every synced one: the google/leveldb#193 check), a long random
// workload in queue mode that never reaches a foreground wait, a kill that
// writes nothing more, and the production mode with a real background
// thread on real files.
#include "store/leveldb_db.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

#include "gtest/gtest.h"
#include "runtime/posix_env.h"
#include "runtime/crc32c.h"
#include "sim/sim_testing.h"
#include "store/leveldb_env_log_scan.h"

namespace keel::store {
namespace {

using sim::SimHarness;

LevelDbOptions SimOptions(Env& env) {
  return {.path = "db",
          .fs = &env.fs(),
          .clock = &env.clock(),
          .log = &env.log(),
          .background = LevelDbBackground::kQueue,
          .write_buffer_bytes = 64 << 10,
          .table_file_bytes = 64 << 10};
}

std::unique_ptr<LevelDb> OpenOrDie(const LevelDbOptions& options) {
  auto db = LevelDb::Open(options);
  KEEL_ASSERT_MSG(db.ok(), db.status().ToString().c_str());
  return std::move(*db);
}

std::string Key(uint64_t i) { return "key-" + std::to_string(i); }

TEST(LevelDbEnvTest, PutGetAndReopen) {
  SimHarness h(1);
  {
    std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
    for (int i = 0; i < 3000; i++) {
      ASSERT_TRUE(db->Put(Key(i), std::string(100, 'a' + i % 26), false).ok());
    }
    ASSERT_TRUE(db->Delete(Key(7), false).ok());
    EXPECT_EQ(*db->Get(Key(5)), std::string(100, 'f'));
    EXPECT_FALSE(db->Get(Key(7))->has_value());
    EXPECT_GT(db->env().stats().ran, 0u);  // memtable flushes ran
    EXPECT_GT(db->env().stats().logs_synced_on_close, 0u);
    db->Close();
  }
  std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
  EXPECT_EQ(*db->Get(Key(2999)), std::string(100, 'a' + 2999 % 26));
  EXPECT_FALSE(db->Get(Key(7))->has_value());
  int count = 0;
  auto it = db->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) count++;
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(count, 2999);
}

TEST(LevelDbEnvTest, SecondOpenOfALockedDbFails) {
  SimHarness h(2);
  std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
  auto second = LevelDb::Open(SimOptions(h.env()));
  EXPECT_FALSE(second.ok());
}

TEST(LevelDbEnvTest, DestroyingWithoutCloseWritesNothingMore) {
  SimHarness h(3);
  std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
  for (int i = 0; i < 500; i++) {
    ASSERT_TRUE(db->Put(Key(i), std::string(300, 'z'), false).ok());
  }
  const uint64_t before = h.disk().StateHash();
  db.reset();  // what a kill does
  EXPECT_EQ(h.disk().StateHash(), before);
}

// The writes of a crash test: write j puts key (j % 40) = j and "last" = j
// in one batch, so the recovered "last" names the prefix that survived.
struct Model {
  std::map<std::string, std::string> state;  // after `applied` writes
  uint64_t applied = 0;

  void Apply(uint64_t j) {
    state[Key(j % 40)] = std::to_string(j) + std::string(j % 300, '.');
    state["last"] = std::to_string(j);
    applied = j;
  }
};

// Each open installs a new MANIFEST by renaming a temporary file over
// CURRENT and syncing the directory. When that directory sync fails the
// rename has already happened; LevelDB, told the rename failed, deletes
// the new MANIFEST, so the Env must not let it (found by keel-sim
// --scenario cluster --seed 8: a member whose disk failed one fsync could
// never start again, "CURRENT points to a non-existent file"). Opens under
// failing syncs may fail, but never leave a DB that cannot be opened, with
// or without a power loss after them.
TEST(LevelDbEnvTest, FailedSyncsWhileOpeningNeverLeaveCurrentDangling) {
  for (uint64_t seed = 1; seed <= 6; seed++) {
    SimHarness h(100 + seed);
    {
      std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
      for (int i = 0; i < 100; i++) ASSERT_TRUE(db->Put(Key(i), "v", true).ok());
      db->Close();
    }
    int failed_opens = 0;
    for (int attempt = 0; attempt < 40; attempt++) {
      h.disk().set_fault_rates({.sync_error = 0.3});
      auto db = LevelDb::Open(SimOptions(h.env()));
      h.disk().set_fault_rates({});
      if (!db.ok()) {
        failed_opens++;
        if (attempt % 3 == 2) h.CrashAndRestart();
        continue;
      }
      db->reset();
      if (attempt % 5 == 4) h.CrashAndRestart();
    }
    EXPECT_GT(failed_opens, 0);
    auto db = LevelDb::Open(SimOptions(h.env()));
    ASSERT_TRUE(db.ok()) << "seed " << seed << ": " << db.status();
    EXPECT_EQ(*(*db)->Get(Key(99)), "v");
  }
}

// Rounds of writes, each ended by a kill and a power loss, on the disk of
// `seed`; after each, what survived must be a prefix of the writes holding
// every synced one. Half of the rounds end right after the write that
// switched memtables, its flush still queued (a background thread would
// not have run it yet), so the old log's unsynced tail and the new log's
// synced write are both at the crash's mercy: the google/leveldb#193
// window. Returns what went wrong, or "" if every round recovered a
// prefix. `sync_logs_on_close` false turns the Env's fix off.
std::string CrashRounds(uint64_t seed, bool sync_logs_on_close) {
  SimHarness h(seed);
  Random random{seed * 31 + 5};
  uint64_t written = 0;
  uint64_t synced = 0;
  for (int round = 0; round < 8; round++) {
    const std::string where = "seed " + std::to_string(seed) + " round " +
                              std::to_string(round) + ": ";
    std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
    if (!sync_logs_on_close) db->env().DisableLogSyncOnCloseForTesting();
    // What survived names its prefix; it must hold every synced write and
    // equal the state after exactly that many writes.
    auto last = db->Get("last");
    if (!last.ok()) return where + last.status().ToString();
    uint64_t prefix = 0;
    if (last->has_value() && !ParseInt(**last, &prefix)) return where + "bad \"last\"";
    if (prefix < synced) {
      return where + "a synced write was lost (" + std::to_string(prefix) + " < " +
             std::to_string(synced) + ")";
    }
    if (prefix > written) return where + "a write never made came back";
    Model model;
    for (uint64_t j = 1; j <= prefix; j++) model.Apply(j);
    std::map<std::string, std::string> recovered;
    auto it = db->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      recovered.emplace(std::string(it->key()), std::string(it->value()));
    }
    if (!it->status().ok()) return where + it->status().ToString();
    it.reset();
    if (recovered != model.state) {
      return where + "not the state after " + std::to_string(prefix) +
             " writes (not a prefix of the writes)";
    }
    written = prefix;
    synced = prefix;
    auto batch_of = [&model](uint64_t j) {
      model.Apply(j);
      leveldb::WriteBatch batch;
      const std::string key = Key(j % 40);
      batch.Put(key, model.state[key]);
      batch.Put("last", model.state["last"]);
      return batch;
    };
    const int n = static_cast<int>(random.UniformRange(50, 1500));
    for (int i = 0; i < n; i++) {
      leveldb::WriteBatch batch = batch_of(++written);
      const bool sync = random.OneIn(25);
      if (!db->Write(&batch, sync).ok()) return where + "a write failed";
      if (sync) synced = written;
    }
    if (random.OneIn(2)) {
      // Through the raw handle, which leaves queued work queued, up to the
      // write that switches memtables (it queues the flush).
      while (db->env().pending() == 0) {
        leveldb::WriteBatch batch = batch_of(++written);
        leveldb::WriteOptions options;
        options.sync = random.OneIn(2);
        if (!db->db()->Write(options, &batch).ok()) return where + "a write failed";
        if (options.sync) synced = written;
      }
    }
    db.reset();
    h.CrashAndRestart();
  }
  return "";
}

class LevelDbCrashTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(LevelDbCrashTest, CrashRecoversAPrefixHoldingEverySyncedWrite) {
  EXPECT_EQ(CrashRounds(GetParam(), /*sync_logs_on_close=*/true), "");
}

INSTANTIATE_TEST_SUITE_P(Seeds, LevelDbCrashTest, ::testing::Range<uint64_t>(1, 13));

// The negative control: without the sync of a closed log, the check above
// fails within a few seeds.
TEST(LevelDbEnvTest, WithoutTheSyncOnCloseACrashRecoversANonPrefix) {
  int failed = 0;
  std::string failure;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    const std::string result = CrashRounds(seed, /*sync_logs_on_close=*/false);
    if (result.empty()) continue;
    failed++;
    failure = result;
  }
  EXPECT_GE(failed, 2) << "the crash test cannot tell the fix is missing";
  EXPECT_NE(failure.find("not a prefix"), std::string::npos) << failure;
}

// Queue mode's promise: with the queue run dry after every call and a
// 64 KiB memtable, no foreground call ever waits for background work (the
// Env aborts on LevelDB's "waiting..." line) or is slowed down, over a long
// random mix of writes, deletes, reads and scans.
TEST(LevelDbEnvTest, LongRandomWorkloadNeverWaitsForBackgroundWork) {
  SimHarness h(11);
  Random random{11};
  std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
  std::map<std::string, std::string> model;
  int max_level0 = 0;
  for (int op = 0; op < 60000; op++) {
    const std::string key = Key(random.Uniform(5000));
    const uint64_t kind = random.Uniform(100);
    if (kind < 55) {
      leveldb::WriteBatch batch;
      for (int i = 0, n = static_cast<int>(random.UniformRange(1, 8)); i < n; i++) {
        const std::string k = Key(random.Uniform(5000));
        const std::string v = random.Bytes(random.UniformRange(10, 400));
        batch.Put(k, v);
        model[k] = v;
      }
      ASSERT_TRUE(db->Write(&batch, random.OneIn(50)).ok());
    } else if (kind < 70) {
      ASSERT_TRUE(db->Delete(key, false).ok());
      model.erase(key);
    } else if (kind < 95) {
      auto got = db->Get(key);
      ASSERT_TRUE(got.ok());
      auto expected = model.find(key);
      ASSERT_EQ(got->has_value(), expected != model.end());
      if (expected != model.end()) {
        ASSERT_EQ(**got, expected->second);
      }
    } else {
      auto it = db->NewIterator();
      auto expected = model.lower_bound(key);
      it->Seek(key);
      for (int i = 0; i < 50 && it->Valid(); i++, it->Next(), ++expected) {
        ASSERT_NE(expected, model.end());
        ASSERT_EQ(it->key(), expected->first);
      }
    }
    ASSERT_EQ(db->env().pending(), 0u);
    if (op % 500 == 0) {
      int level0 = 0;
      ASSERT_TRUE(ParseInt(db->Property("leveldb.num-files-at-level0"), &level0));
      max_level0 = std::max(max_level0, level0);
    }
  }
  EXPECT_EQ(db->env().stats().slowdowns, 0u);
  EXPECT_LT(max_level0, 8);
  EXPECT_GT(db->env().stats().ran, 100u);  // compactions did run, inline
  db->Close();
}

// A LevelDB log of FULL fragments of `bytes` bytes each, all in the first
// 32 KiB block; ends[i] is where record i ends.
std::string LevelDbLog(int records, size_t bytes, std::vector<uint64_t>* ends) {
  std::string log;
  for (int i = 0; i < records; i++) {
    const std::string payload(bytes, static_cast<char>('A' + i % 26));
    const char type = 1;  // FULL
    const uint32_t crc = crc32c::Mask(
        crc32c::Extend(crc32c::Value(&type, 1), payload.data(), payload.size()));
    for (int b = 0; b < 4; b++) log.push_back(static_cast<char>(crc >> (8 * b)));
    log.push_back(static_cast<char>(bytes & 0xff));
    log.push_back(static_cast<char>(bytes >> 8));
    log.push_back(type);
    log += payload;
    ends->push_back(log.size());
  }
  return log;
}

TEST(LevelDbLogScanTest, CleanLogIsWhole) {
  std::vector<uint64_t> ends;
  const std::string log = LevelDbLog(20, 700, &ends);
  const LevelDbLogScan scan = ScanLevelDbLog(log);
  EXPECT_FALSE(scan.torn);
  EXPECT_FALSE(scan.corrupt);
  EXPECT_EQ(scan.valid_bytes, log.size());
}

TEST(LevelDbLogScanTest, HoleInTheUnsyncedTailCutsEverythingAfterIt) {
  std::vector<uint64_t> ends;
  std::string log = LevelDbLog(20, 700, &ends);
  // A sector inside record 10 never reached the disk; records 11.. did.
  const uint64_t sector = (ends[9] / 512 + 1) * 512;
  std::fill(log.begin() + sector, log.begin() + sector + 512, '\0');
  const LevelDbLogScan scan = ScanLevelDbLog(log);
  EXPECT_TRUE(scan.torn);
  EXPECT_FALSE(scan.corrupt);
  EXPECT_LE(scan.valid_bytes, ends[10]);
  EXPECT_GE(scan.valid_bytes, ends[9]);
}

TEST(LevelDbLogScanTest, FlippedBitIsDamage) {
  std::vector<uint64_t> ends;
  std::string log = LevelDbLog(20, 700, &ends);
  log[ends[4] + 30] ^= 0x08;
  const LevelDbLogScan scan = ScanLevelDbLog(log);
  EXPECT_TRUE(scan.corrupt);
  EXPECT_EQ(scan.bad_offset, ends[4]);
}

TEST(LevelDbLogScanTest, RecordCutByTheEndIsTorn) {
  std::vector<uint64_t> ends;
  std::string log = LevelDbLog(5, 700, &ends);
  log.resize(ends[3] + 100);
  const LevelDbLogScan scan = ScanLevelDbLog(log);
  EXPECT_TRUE(scan.torn);
  EXPECT_EQ(scan.valid_bytes, ends[3]);
  EXPECT_TRUE(IsLevelDbLogFormatFile("db/000012.log"));
  EXPECT_TRUE(IsLevelDbLogFormatFile("db/MANIFEST-000004"));
  EXPECT_FALSE(IsLevelDbLogFormatFile("db/000013.ldb"));
}

// LevelDB's fragment CRC does not cover the length, so one flipped length
// bit can make a fragment in the middle of a log claim to run past the end
// of the file, as a torn tail does. The fragments that follow prove it is
// not the tail: damage, never a cut that drops them.
TEST(LevelDbLogScanTest, AFlippedLengthBitIsDamageNotATornTail) {
  std::vector<uint64_t> ends;
  const std::string clean = LevelDbLog(20, 700, &ends);
  for (int bit = 0; bit < 16; bit++) {
    std::string log = clean;
    log[ends[4] + 4 + bit / 8] ^= static_cast<char>(1 << (bit % 8));
    const LevelDbLogScan scan = ScanLevelDbLog(log);
    EXPECT_TRUE(scan.corrupt) << "bit " << bit << ": " << scan.problem;
    EXPECT_FALSE(scan.torn) << "bit " << bit;
    EXPECT_EQ(scan.bad_offset, ends[4]) << "bit " << bit;
  }
  // The last fragment's own length is another matter: nothing follows it
  // to tell a flip from a tear.
}

// End to end: a rotted length bit in the first fragment of a synced log
// made the Env show LevelDB an empty log, and every synced write in it was
// silently lost; now the open is refused.
TEST(LevelDbEnvTest, ARottedLogFragmentLengthIsRefusedNotCut) {
  SimHarness h(12);
  {
    std::unique_ptr<LevelDb> db = OpenOrDie(SimOptions(h.env()));
    for (int i = 0; i < 50; i++) ASSERT_TRUE(db->Put(Key(i), "synced", true).ok());
  }  // a kill: the log stays as it is
  auto names = h.env().fs().List("db");
  ASSERT_TRUE(names.ok());
  std::string log;
  for (const std::string& name : *names) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".log") log = "db/" + name;
  }
  ASSERT_FALSE(log.empty());
  // Byte 5 of the first fragment is the high byte of its length.
  ASSERT_TRUE(h.disk().CorruptBit(log, 5, 6).ok());
  auto db = LevelDb::Open(SimOptions(h.env()));
  ASSERT_FALSE(db.ok()) << "opened, and key-0 is "
                        << ((*db)->Get(Key(0))->has_value() ? "there" : "gone");
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss) << db.status();
}

// Production mode: a real background thread, on real files.
TEST(LevelDbEnvTest, ThreadModeOnRealFiles) {
  char dir_template[] = "/tmp/keel-leveldb-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  {
    PosixEnv env({.handle_signals = false});
    LevelDbOptions options{.path = dir + "/db",
                           .fs = &env.fs(),
                           .clock = &env.clock(),
                           .log = &env.log(),
                           .background = LevelDbBackground::kThread,
                           .write_buffer_bytes = 128 << 10};
    {
      std::unique_ptr<LevelDb> db = OpenOrDie(options);
      for (int i = 0; i < 20000; i++) {
        ASSERT_TRUE(db->Put(Key(i), std::string(200, 'p'), i % 1000 == 0).ok());
      }
      EXPECT_GT(db->env().stats().scheduled, 0u);  // flushes ran on the thread
      db->Close();
    }
    std::unique_ptr<LevelDb> db = OpenOrDie(options);
    EXPECT_EQ(*db->Get(Key(12345)), std::string(200, 'p'));
    db->Close();
  }
  ASSERT_EQ(std::system(("rm -rf " + dir).c_str()), 0);
}

}  // namespace
}  // namespace keel::store
