// Scenario `disk`: acknowledged records survive every crash pattern, and a
// damaged record is detected, never returned as good.
//
// N machines each run a RecordLog server and a client per peer. A client
// sends records (payloads derived from their ids, so anything read back can
// be checked); the receiving server appends each to its log, syncs, and
// acknowledges it; the client reports the acknowledgement to the checker.
// Meanwhile the nemesis partitions, clogs, kills, crashes, pauses and
// injects disk faults (failing fsyncs and writes, read bit flips, slow
// syncs, misdirected writes, rotted bits). Each server scrubs its log now
// and then and stops itself if it finds damage; a stopped or fsync-failed
// server is restarted and recovers. The run ends with the faults healed and
// then a power loss of every machine at once, in the middle of traffic.
//
// Checks, at every recovery and every scrub:
//  - every record the log returns has exactly the payload its id implies
//    (a corrupted record is never returned as good);
//  - every acknowledged record is present, unless the disk was damaged
//    (misdirected write, bit rot) since the incarnation that acknowledged it
//    started, and the log saw that damage (a scan stopped at a bad record
//    while it was there);
//  - a live log reports damage only if its disk was damaged.
// --inject-bug acknowledges records before syncing them, which the first
// check catches when a crash loses an acknowledged record.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/str_format.h"
#include "runtime/buggify.h"
#include "runtime/env.h"
#include "runtime/strings.h"
#include "runtime/sync.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/record_log.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

constexpr uint16_t kPort = 7000;
constexpr size_t kRequestHeaderBytes = 20;  // length, origin, incarnation, seq
constexpr size_t kAckBytes = 13;            // status, incarnation, seq
constexpr Duration kRestartAfterExit = Milliseconds(300);

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads exactly n bytes. Unavailable at end of stream.
Task<absl::Status> ReadFull(Connection& conn, char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    absl::StatusOr<size_t> read =
        co_await conn.Read(std::span<char>(out + got, n - got));
    if (!read.ok()) co_return read.status();
    if (*read == 0) co_return absl::UnavailableError("end of stream");
    got += *read;
  }
  co_return absl::OkStatus();
}

class DiskScenario {
 public:
  explicit DiskScenario(const ScenarioOptions& options);
  ScenarioResult Run();

 private:
  // One incarnation's server state, owned by its boot frame (the oldest
  // root, so it outlives every task spawned from it).
  struct Node {
    Env& env;
    size_t self;
    uint64_t incarnation;
    std::unique_ptr<RecordLog> log;
    Event fatal;  // set to stop the process
  };

  struct Ledger {
    // Acknowledged records, with the receiver incarnation that acked them.
    absl::btree_map<RecordId, uint64_t> acked;
    // The disk's damage count when each incarnation started.
    std::map<uint64_t, uint64_t> damage_at_boot;
    // The damage count at the latest check whose scan stopped at a bad
    // record: damage up to this count has been noticed by the log. (An
    // acknowledgement can arrive after the check that noticed its loss.)
    uint64_t noticed_damage = 0;
  };

  Task<void> Boot(Env& env, size_t self);
  Task<void> AcceptLoop(Node* node, std::unique_ptr<Listener> listener);
  Task<void> Handle(Node* node, std::unique_ptr<Connection> conn);
  Task<void> Client(Node* node, size_t peer);
  Task<void> Scrub(Node* node);

  void Check(const Node& node, const ScanReport& report, std::string_view when);
  void Fail(std::string message);
  std::string Summary() const;

  ScenarioOptions options_;
  SimWorld world_;
  std::vector<SimMachine*> machines_;
  std::vector<Ledger> ledgers_;
  std::vector<uint64_t> recoveries_;
  absl::Status verdict_;
  uint64_t acked_ = 0;
  uint64_t nacked_ = 0;
  uint64_t lost_to_damage_ = 0;
  uint64_t damage_reports_ = 0;
  uint64_t fsync_stops_ = 0;
};

DiskScenario::DiskScenario(const ScenarioOptions& options)
    : options_(options), world_(WorldOptionsFor(options)) {
  KEEL_ASSERT(options_.nodes > 0);
  for (int i = 0; i < options_.nodes; i++) {
    const size_t self = static_cast<size_t>(i);
    machines_.push_back(&world_.AddMachine(
        {.name = StrCat("n", i + 1),
         .boot = [this, self](Env& env) { return Boot(env, self); },
         .restart_after_exit = kRestartAfterExit}));
  }
  ledgers_.resize(machines_.size());
  recoveries_.resize(machines_.size());
}

void DiskScenario::Fail(std::string message) {
  if (!verdict_.ok()) return;
  world_.log().Note("checker", StrCat("FAILED: ", message));
  verdict_ = absl::InternalError(message);
  world_.Stop();
}

void DiskScenario::Check(const Node& node, const ScanReport& report,
                         std::string_view when) {
  const std::string& name = machines_[node.self]->name();
  Ledger& ledger = ledgers_[node.self];
  const uint64_t damage = machines_[node.self]->disk().damage_count();
  std::vector<RecordId> present;
  present.reserve(report.records.size());
  for (const Record& record : report.records) {
    if (!PayloadMatches(record.id, record.payload)) {
      Fail(StrCat(name, " ", when, ": record ", FormatRecordId(record.id),
                  " passed its checksum with the wrong payload"));
      return;
    }
    present.push_back(record.id);
  }
  std::sort(present.begin(), present.end());
  if (auto twice = std::adjacent_find(present.begin(), present.end());
      twice != present.end()) {
    Fail(StrCat(name, " ", when, ": record ", FormatRecordId(*twice),
                " is in the log twice"));
    return;
  }
  if (report.invalid_tail()) ledger.noticed_damage = damage;
  // Both sorted: one merge walk finds the acknowledged records not present.
  std::vector<RecordId> missing;
  auto next = present.begin();
  for (const auto& [id, incarnation] : ledger.acked) {
    next = std::lower_bound(next, present.end(), id);
    if (next != present.end() && *next == id) continue;
    // Excused only if the disk was damaged since the acknowledging
    // incarnation started, and the log noticed that damage.
    const uint64_t at_boot = ledger.damage_at_boot[incarnation];
    const bool damaged_since = damage > at_boot;
    if (!damaged_since || ledger.noticed_damage <= at_boot) {
      Fail(StrCat(name, " ", when, ": acknowledged record ", FormatRecordId(id),
                  " (acked by incarnation ", incarnation, ") is missing; ",
                  damaged_since ? "the log did not notice any damage"
                                : "its disk was not damaged since"));
      return;
    }
    missing.push_back(id);
  }
  for (const RecordId& id : missing) ledger.acked.erase(id);
  lost_to_damage_ += missing.size();
  if (!missing.empty()) {
    world_.log().Note("checker", StrCat(name, " ", when, ": ", missing.size(),
                                        " acknowledged records lost to disk "
                                        "damage, which the log detected"));
  }
}

Task<void> DiskScenario::Boot(Env& env, size_t self) {
  Node node{.env = env,
            .self = self,
            .incarnation = machines_[self]->incarnation()};
  ledgers_[self].damage_at_boot[node.incarnation] =
      machines_[self]->disk().damage_count();
  ScanReport report;
  absl::StatusOr<std::unique_ptr<RecordLog>> log =
      co_await RecordLog::Open(env, "data", &report);
  if (!log.ok()) {
    env.log().Warn("cannot open the record log; stopping",
                   {{"error", log.status().ToString()}});
    // The scan may have run and cut off damage before the error: what it
    // found is what later incarnations will see.
    if (report.scanned) Check(node, report, "failed recovery");
    co_return;
  }
  node.log = std::move(*log);
  recoveries_[self]++;
  env.log().Info("recovered", {{"records", report.records.size()},
                               {"valid_bytes", report.valid_bytes},
                               {"file_bytes", report.file_bytes}});
  Check(node, report, "recovery");
  auto listener =
      env.net().Listen(StrCat(machines_[self]->host(), ":", kPort));
  if (!listener.ok()) {
    Fail(StrCat("listen: ", listener.status().ToString()));
    co_return;
  }
  env.Spawn(AcceptLoop(&node, std::move(*listener)));
  for (size_t peer = 0; peer < machines_.size(); peer++) {
    if (peer != self) env.Spawn(Client(&node, peer));
  }
  env.Spawn(Scrub(&node));
  co_await node.fatal.Wait();
}

Task<void> DiskScenario::AcceptLoop(Node* node,
                                    std::unique_ptr<Listener> listener) {
  while (true) {
    auto conn = co_await listener->Accept();
    if (!conn.ok()) co_return;
    node->env.Spawn(Handle(node, std::move(*conn)));
  }
}

Task<void> DiskScenario::Handle(Node* node, std::unique_ptr<Connection> conn) {
  Env& env = node->env;
  auto ack = [node](bool ok, uint64_t seq) {
    std::string out(1, ok ? '\1' : '\0');
    PutU32(&out, static_cast<uint32_t>(node->incarnation));
    PutU64(&out, seq);
    return out;
  };
  while (!node->log->broken()) {
    char header[kRequestHeaderBytes];
    if (!(co_await ReadFull(*conn, header, sizeof(header))).ok()) co_return;
    const uint32_t length = GetU32(header);
    if (length == 0 || length > kMaxPayloadBytes) co_return;
    Record record{.id = {.origin = GetU32(header + 4),
                         .incarnation = GetU32(header + 8),
                         .seq = GetU64(header + 12)},
                  .payload = std::string(length, '\0')};
    if (!(co_await ReadFull(*conn, record.payload.data(), length)).ok()) {
      co_return;
    }
    if (!node->log->Write(record).ok()) {
      if (!(co_await conn->Write(ack(false, record.id.seq))).ok()) co_return;
      continue;
    }
    if (options_.inject_bug) {
      // The deliberate defect: the record is acknowledged before it is
      // durable.
      if (!(co_await conn->Write(ack(true, record.id.seq))).ok()) co_return;
    }
    if (Buggify()) {
      co_await env.clock().Sleep(Microseconds(env.random().UniformRange(0, 5000)));
    }
    const absl::Status synced = co_await node->log->Sync();
    if (!synced.ok()) {
      if (!node->fatal.is_set()) fsync_stops_++;
      node->fatal.Set();
      co_return;
    }
    if (!options_.inject_bug) {
      if (!(co_await conn->Write(ack(true, record.id.seq))).ok()) co_return;
    }
  }
}

Task<void> DiskScenario::Client(Node* node, size_t peer) {
  Env& env = node->env;
  const std::string address = StrCat(machines_[peer]->host(), ":", kPort);
  std::unique_ptr<Connection> conn;
  uint64_t seq = 0;
  while (true) {
    co_await env.clock().Sleep(
        Microseconds(env.random().UniformRange(5'000, 30'000)));
    if (conn == nullptr) {
      auto connected =
          co_await env.clock().WithTimeout(Seconds(1), env.net().Connect(address));
      if (!connected.has_value() || !connected->ok()) {
        co_await env.clock().Sleep(Milliseconds(200));
        continue;
      }
      conn = std::move(**connected);
    }
    const RecordId id{.origin = static_cast<uint32_t>(node->self),
                      .incarnation = static_cast<uint32_t>(node->incarnation),
                      .seq = ++seq};
    const std::string payload = PayloadFor(id);
    std::string request;
    PutU32(&request, static_cast<uint32_t>(payload.size()));
    PutU32(&request, id.origin);
    PutU32(&request, id.incarnation);
    PutU64(&request, id.seq);
    request += payload;
    if (!(co_await conn->Write(request)).ok()) {
      conn.reset();
      continue;
    }
    char reply[kAckBytes];
    auto got = co_await env.clock().WithTimeout(
        Seconds(3), ReadFull(*conn, reply, sizeof(reply)));
    if (!got.has_value() || !got->ok()) {
      conn.reset();
      continue;
    }
    if (GetU64(reply + 5) != id.seq) {
      Fail(StrCat("protocol: ", FormatRecordId(id), " answered for seq ",
                  GetU64(reply + 5)));
      co_return;
    }
    if (reply[0] != 1) {
      nacked_++;
      continue;
    }
    acked_++;
    ledgers_[peer].acked.emplace(id, GetU32(reply + 1));
  }
}

Task<void> DiskScenario::Scrub(Node* node) {
  Env& env = node->env;
  while (!node->log->broken()) {
    co_await env.clock().Sleep(
        Milliseconds(env.random().UniformRange(1000, 3000)));
    if (node->log->broken()) co_return;
    absl::StatusOr<ScanReport> report = node->log->Scan();
    if (!report.ok()) {
      node->fatal.Set();
      co_return;
    }
    Check(*node, *report, "scrub");
    if (!report->invalid_tail()) continue;
    // A live log is written whole records at a time, so anything after the
    // valid prefix is damage: say so and stop.
    damage_reports_++;
    env.log().Error("record log is damaged; stopping",
                    {{"valid_bytes", report->valid_bytes},
                     {"file_bytes", report->file_bytes}});
    const uint64_t damage = machines_[node->self]->disk().damage_count();
    if (damage == ledgers_[node->self].damage_at_boot[node->incarnation]) {
      Fail(StrCat(machines_[node->self]->name(),
                  " reports damage its disk never suffered"));
    }
    node->fatal.Set();
    co_return;
  }
}

std::string DiskScenario::Summary() const {
  return absl::StrFormat(
      "acked=%d nacked=%d lost_to_damage=%d damage_reports=%d "
      "fsync_stops=%d",
      acked_, nacked_, lost_to_damage_, damage_reports_, fsync_stops_);
}

ScenarioResult DiskScenario::Run() {
  Nemesis nemesis(world_, machines_,
                  {.faults = *options_.faults,
                   .quiet_min = Milliseconds(100),
                   .quiet_max = Milliseconds(1500),
                   .fault_min = Milliseconds(200),
                   .fault_max = Seconds(3)});
  for (SimMachine* machine : machines_) machine->Start();
  nemesis.Start();
  world_.RunFor(options_.duration);
  if (verdict_.ok()) {
    nemesis.StopAndHeal();
    world_.RunFor(Seconds(2));
  }
  if (verdict_.ok()) {
    // Power loss everywhere at once, in the middle of traffic.
    const std::vector<uint64_t> before = recoveries_;
    for (SimMachine* machine : machines_) machine->Crash();
    for (SimMachine* machine : machines_) machine->Start();
    world_.RunFor(Seconds(2));
    for (size_t m = 0; verdict_.ok() && m < machines_.size(); m++) {
      if (recoveries_[m] == before[m]) {
        Fail(StrCat(machines_[m]->name(), " did not recover after the final crash"));
      }
    }
  }
  if (verdict_.ok() && acked_ == 0) Fail("no record was ever acknowledged");
  ScenarioResult result = Finish(world_, verdict_);
  result.summary = Summary();
  return result;
}

ScenarioResult RunDiskScenario(const ScenarioOptions& options) {
  DiskScenario scenario(options);
  return scenario.Run();
}

}  // namespace

KEEL_SIM_SCENARIO(disk, {
    .name = "disk",
    .description = "acknowledged records survive crashes; damage is detected",
    .default_nodes = 3,
    .default_duration = Seconds(20),
    .supported_faults = FaultSet::All(),
    .run = RunDiskScenario,
});

}  // namespace keel::sim
