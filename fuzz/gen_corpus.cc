// gen_corpus: writes the seed corpora in fuzz/corpus/<target>/, a few valid,
// meaningful inputs per target in each target's input encoding, made with
// keel's own encoders (so they stay valid when a format changes: rerun
// `build-fuzz/fuzz/gen_corpus fuzz/corpus`). Inputs the fuzzers found
// (crash regressions) live next to them as crash-*; this tool does not
// touch those.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/wal_program.h"
#include "net/grpc_wire.h"
#include "net/peer_frame.h"
#include "net/peer_test_util.h"
#include "proto/raft.pb.h"
#include "proto/rpc.pb.h"
#include "runtime/assert.h"
#include "store/bbolt_writer.h"
#include "store/etcd_schema.h"
#include "store/etcd_snapshot.h"
#include "store/string_file.h"
#include "store/wal_record.h"

namespace keel::fuzz {
namespace {

std::string root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::string path = root + "/" + target + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "cannot write " << path << "\n";
    std::exit(1);
  }
}

raftpb::Entry Entry(uint64_t index, uint64_t term, std::string data) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

raftpb::HardState Hard(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

// fuzz_wal: program mode (byte 0 odd), and the same WAL framed for raw mode.
void Wal() {
  auto record = [](FuzzOutput& out, uint8_t type, const std::string& payload) {
    out.Byte(type).String(payload);
  };
  raftpb::SnapshotMetadata conf;
  for (uint64_t id : {1, 2, 3}) conf.mutable_conf_state()->add_voters(id);
  {  // A fresh WAL as Create leaves it, then three entries and a hard state.
    FuzzOutput out;
    out.Byte(1);
    record(out, 5, conf.SerializeAsString());
    record(out, 3, Hard(0, 0, 0).SerializeAsString());
    for (uint64_t i = 1; i <= 3; i++) record(out, 2, Entry(i, 2, "put k" + std::to_string(i)).SerializeAsString());
    record(out, 3, Hard(2, 1, 2).SerializeAsString());
    Write("wal", "entries", out.bytes());
    // The same records framed by hand for raw mode.
    std::string raw;
    store::AppendWalRecord(&raw, store::WalRecordType::kSegmentHeader,
                           WalSegmentHeaderPayload(kFuzzWalIdentity, 0, 1, store::kWalFormatVersion), 0);
    store::AppendWalRecord(&raw, store::WalRecordType::kCompaction, conf.SerializeAsString(), 0);
    for (uint64_t i = 1; i <= 3; i++) {
      store::AppendWalRecord(&raw, store::WalRecordType::kEntry,
                             Entry(i, 2, "put k" + std::to_string(i)).SerializeAsString(), raw.size());
    }
    store::AppendWalRecord(&raw, store::WalRecordType::kHardState, Hard(2, 1, 2).SerializeAsString(), raw.size());
    Write("wal", "raw-entries", std::string(1, '\0') + raw);
    // A torn tail: the last record cut short.
    Write("wal", "raw-torn", std::string(1, '\0') + raw.substr(0, raw.size() - 5));
  }
  {  // An overwritten tail (a new leader), then a second segment.
    FuzzOutput out;
    out.Byte(1);
    record(out, 5, conf.SerializeAsString());
    for (uint64_t i = 1; i <= 4; i++) record(out, 2, Entry(i, 1, "a").SerializeAsString());
    record(out, 2, Entry(3, 2, "b").SerializeAsString());
    record(out, 3, Hard(2, 2, 3).SerializeAsString());
    out.Byte(0).Byte(1).Byte(4).Byte(0);  // segment seq 1, first index 4
    record(out, 5, conf.SerializeAsString());
    record(out, 3, Hard(2, 2, 3).SerializeAsString());
    record(out, 2, Entry(4, 2, "c").SerializeAsString());
    Write("wal", "overwrite-two-segments", out.bytes());
  }
  {  // A snapshot marker replacing the log, and a compaction.
    raftpb::SnapshotMetadata snapshot = conf;
    snapshot.set_index(10);
    snapshot.set_term(3);
    FuzzOutput out;
    out.Byte(1);
    record(out, 5, conf.SerializeAsString());
    record(out, 2, Entry(1, 1, "x").SerializeAsString());
    record(out, 4, snapshot.SerializeAsString());
    record(out, 3, Hard(3, 1, 10).SerializeAsString());
    record(out, 2, Entry(11, 3, "y").SerializeAsString());
    snapshot.set_index(11);
    record(out, 5, snapshot.SerializeAsString());
    Write("wal", "snapshot-compaction", out.bytes());
  }
}

// fuzz_snapshot_file: round trips (mode 2); raw files come from mutation.
void SnapshotFile() {
  for (int variant = 0; variant < 3; variant++) {
    FuzzOutput out;
    out.Byte(2);
    out.Number(42, 8).Number(7, 2).Number(100, 8).Number(3, 1).Number(0x1111, 8).Number(0x2222, 8);
    out.Byte(variant == 0 ? 255 : 4);  // chunk bytes: 1021 or 17
    out.Byte(variant == 2 ? 1 : 0);    // envelope
    out.Byte(5);
    for (int i = 0; i < 5; i++) out.String("key" + std::to_string(i)).String(std::string(i * 7, 'v'));
    out.Byte(variant == 1 ? 1 : 0);  // byte flips
    if (variant == 1) out.Number(40, 2).Byte(4);
    out.Byte(1);  // no truncation
    Write("snapshot_file", "round-trip-" + std::to_string(variant), out.bytes());
  }
}

// fuzz_bbolt: an etcd database as keel writes one (mode 0), its status
// (mode 1), and round trips (mode 2). A snapshot saved from a real etcd
// 3.4 is checked in beside them (etcd-3.4.23-snapshot-*).
void Bbolt() {
  store::StringFile file;
  store::BboltWriter writer(file);
  KEEL_ASSERT(writer.BeginBucket(store::kEtcdKeyBucket).ok());
  for (int64_t rev = 2; rev < 40; rev++) {
    store::KeyValue kv{.key = "key" + std::to_string(rev % 9), .create_revision = 2,
                       .mod_revision = rev, .version = rev - 1, .value = "value", .lease = 0};
    KEEL_ASSERT(writer.Put(store::EtcdRevisionKey({rev, 0}, false),
                           store::EncodeEtcdKeyValue(kv)).ok());
  }
  KEEL_ASSERT(writer.EndBucket().ok());
  KEEL_ASSERT(writer.BeginBucket(store::kEtcdLeaseBucket).ok());
  KEEL_ASSERT(writer.Put(store::EncodeEtcdUint64(7),
                         store::EncodeEtcdLease({.id = 7, .ttl_seconds = 60,
                                                 .remaining_ttl_seconds = 0})).ok());
  KEEL_ASSERT(writer.EndBucket().ok());
  KEEL_ASSERT(writer.BeginBucket(store::kEtcdMetaBucket).ok());
  KEEL_ASSERT(writer.Put(store::kEtcdConsistentIndexKey, store::EncodeEtcdUint64(50)).ok());
  KEEL_ASSERT(writer.EndBucket().ok());
  KEEL_ASSERT(writer.Finish().ok());
  Write("bbolt", "etcd-schema-db", std::string(1, '\0') + file.data());
  KEEL_ASSERT(store::AppendEtcdSnapshotHash(file, file.data().size()).ok());
  Write("bbolt", "etcd-schema-snapshot", std::string(1, '\1') + file.data());
  for (int variant = 0; variant < 2; variant++) {
    FuzzOutput out;
    out.Byte(2);
    out.Byte(variant);  // page size: 512, 4096
    out.Byte(3);        // plain keys in the root, beside the buckets
    for (int i = 0; i < 3; i++) out.String("r" + std::to_string(i)).String("x").Byte(1);
    out.Byte(0);  // one root bucket
    out.String("bucket");
    out.Byte(40);
    for (int i = 0; i < 40; i++) {
      out.String("k" + std::to_string(i)).String(std::string(i, 'v')).Byte(i == 7 ? 0 : 1);
      if (i == 7) out.Number(6000, 2);
    }
    out.Byte(1).String("nested").Byte(2).String("a").String("b").Byte(1).String("c")
        .String("d").Byte(1).Byte(0);
    out.Byte(variant);  // byte flips
    if (variant == 1) out.Number(5000, 4).Byte(4);
    Write("bbolt", "round-trip-" + std::to_string(variant), out.bytes());
  }
}

// fuzz_raft: schedules for three members.
void Raft() {
  {  // Elect 1, propose twice, deliver everything.
    FuzzOutput out;
    out.Byte(0);
    out.Byte(5).Byte(0);  // campaign at 1
    for (int i = 0; i < 6; i++) out.Byte(9).Byte(0);
    out.Byte(4).Byte(0).String("hello");
    out.Byte(4).Byte(1).String("forwarded");
    for (int i = 0; i < 6; i++) out.Byte(9).Byte(0);
    out.Byte(7).Byte(2).String("read");
    for (int i = 0; i < 4; i++) out.Byte(9).Byte(0);
    Write("raft", "elect-propose", out.bytes());
  }
  {  // Pre-vote and check-quorum, elections by ticks, drops and replays.
    FuzzOutput out;
    out.Byte(3);
    for (int i = 0; i < 25; i++) out.Byte(0).Byte(static_cast<uint8_t>(i % 3));
    for (int i = 0; i < 8; i++) out.Byte(1).Byte(0).Byte(static_cast<uint8_t>(i));
    out.Byte(2).Byte(0).Byte(0);
    out.Byte(3).Byte(0).Number(1, 2);
    out.Byte(4).Byte(0).String("x");
    for (int i = 0; i < 6; i++) out.Byte(9).Byte(0);
    out.Byte(8).Byte(0).Byte(0).Byte(1);  // transfer leadership to 2
    for (int i = 0; i < 6; i++) out.Byte(9).Byte(0);
    Write("raft", "ticks-drops-transfer", out.bytes());
  }
  {  // Injected messages: stale append, non-member vote, forwarded proposal.
    FuzzOutput out;
    out.Byte(0);
    out.Byte(5).Byte(0);
    for (int i = 0; i < 4; i++) out.Byte(9).Byte(0);
    out.Byte(5).Byte(1);
    for (int i = 0; i < 4; i++) out.Byte(9).Byte(0);
    raftpb::Message app;
    app.set_type(raftpb::MsgApp);
    app.set_term(1);
    app.set_index(1);
    app.set_log_term(1);
    app.set_commit(5);
    *app.add_entries() = Entry(2, 1, "stale");
    out.Byte(6).Byte(0).String(app.SerializeAsString()).Byte(0).Byte(2);
    raftpb::Message vote;
    vote.set_type(raftpb::MsgVote);
    vote.set_term(9);
    vote.set_index(100);
    vote.set_log_term(9);
    out.Byte(6).Byte(0).String(vote.SerializeAsString()).Byte(1).Byte(1);
    raftpb::Message prop;
    prop.set_type(raftpb::MsgProp);
    *prop.add_entries() = Entry(0, 0, "via follower");
    out.Byte(6).Byte(0).String(prop.SerializeAsString()).Byte(0).Byte(0);
    raftpb::Message hup;
    hup.set_type(raftpb::MsgHup);
    out.Byte(6).Byte(0).String(hup.SerializeAsString()).Byte(2);
    for (int i = 0; i < 6; i++) out.Byte(9).Byte(0);
    Write("raft", "injected", out.bytes());
  }
}

// fuzz_peer: a message stream and a snapshot stream from member 2.
void Peer() {
  raftpb::Message app;
  app.set_type(raftpb::MsgApp);
  app.set_from(2);
  app.set_to(1);
  app.set_term(3);
  *app.add_entries() = Entry(5, 3, "entry");
  raftpb::Message beat;
  beat.set_type(raftpb::MsgHeartbeat);
  beat.set_from(2);
  beat.set_to(1);
  beat.set_term(3);
  {
    FuzzOutput out;
    out.Byte(1).Byte(2).Byte(0);  // program, 17-byte slices, message stream
    out.Byte(0).String(app.SerializeAsString());
    out.Byte(1);
    out.Byte(0).String(beat.SerializeAsString());
    Write("peer", "messages", out.bytes());
    // The same as raw bytes.
    std::string raw = net::peer::EncodeHandshake({.kind = net::peer::StreamKind::kMessage,
                                                  .sender_id = 2, .target_id = 1,
                                                  .cluster_id = net::testing::kClusterId});
    KEEL_ASSERT(net::peer::AppendMessageFrame(&raw, app).ok());
    net::peer::AppendFrame(&raw, net::peer::FrameType::kLinkHeartbeat, "");
    Write("peer", "raw-messages", std::string("\x00\x00", 2) + raw);
  }
  {
    FuzzOutput out;
    out.Byte(1).Byte(0).Byte(1);  // program, 1-byte slices, snapshot stream
    out.Byte(4).Byte(3).Number(7, 2).Byte(2).Number(12, 2);
    out.Byte(5).String("snapshot-");
    out.Byte(5).String("dat");
    out.Byte(6).Number(12, 2).Byte(1);
    Write("peer", "snapshot", out.bytes());
  }
}

// fuzz_http2: what a gRPC client and an HTTP/1.1 client send.
void Http2() {
  // HTTP/2: the preface, an empty SETTINGS frame, and one unary call on
  // stream 1 (HPACK literal headers without indexing), data END_STREAM.
  auto frame = [](uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
    std::string out;
    out.push_back(static_cast<char>(payload.size() >> 16));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size()));
    out.push_back(static_cast<char>(type));
    out.push_back(static_cast<char>(flags));
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>(stream >> shift));
    return out + payload;
  };
  auto literal = [](const std::string& name, const std::string& value) {
    std::string out(1, '\0');
    out.push_back(static_cast<char>(name.size()));
    out += name;
    out.push_back(static_cast<char>(value.size()));
    return out + value;
  };
  for (const std::string path : {"/test.Echo/Unary", "/test.Echo/Chat", "/test.Echo/Many"}) {
    std::string headers = literal(":method", "POST") + literal(":scheme", "http") +
                          literal(":path", path) + literal(":authority", "10.0.0.1:2379") +
                          literal("content-type", "application/grpc") + literal("te", "trailers") +
                          literal("grpc-timeout", "1S");
    std::string message;
    net::AppendGrpcFrame("hello", &message);
    std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    wire += frame(4, 0, 0, "");                  // SETTINGS
    wire += frame(1, 4, 1, headers);             // HEADERS, END_HEADERS
    wire += frame(0, 0, 1, message);             // DATA
    wire += frame(0, 1, 1, message);             // DATA, END_STREAM
    wire += frame(6, 0, 0, std::string(8, 'p'));  // PING
    Write("http2", "grpc" + path.substr(path.rfind('/') + 1), std::string(1, '\x02') + wire);
  }
  Write("http2", "http1",
        std::string(1, '\x00') +
            "POST /version HTTP/1.1\r\nHost: 10.0.0.1\r\nContent-Length: 4\r\n\r\nbody"
            "GET /version HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n");
}

// fuzz_server_requests: a request of each method.
void ServerRequests() {
  // One call per seed, with `hasleader: true`.
  auto call = [](FuzzOutput& out, uint8_t method, const std::vector<std::string>& messages) {
    out.Byte(method).Byte(static_cast<uint8_t>(1 | (messages.size() - 1) << 4));
    for (const std::string& m : messages) out.String(m);
  };
  auto seed = [&call](const std::string& name, uint8_t method,
                      const std::vector<std::string>& messages) {
    FuzzOutput out;
    call(out, method, messages);
    Write("server_requests", name, out.bytes());
  };
  etcdserverpb::PutRequest put;
  put.set_key("foo");
  put.set_value("bar");
  put.set_prev_kv(true);
  seed("put", 1, {put.SerializeAsString()});
  etcdserverpb::RangeRequest range;
  range.set_key("a");
  range.set_range_end(std::string(1, '\0'));
  range.set_limit(10);
  range.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  range.set_sort_target(etcdserverpb::RangeRequest::MOD);
  seed("range", 0, {range.SerializeAsString()});
  etcdserverpb::DeleteRangeRequest del;
  del.set_key("f");
  del.set_range_end("g");
  del.set_prev_kv(true);
  seed("delete", 2, {del.SerializeAsString()});
  etcdserverpb::TxnRequest txn;
  auto* compare = txn.add_compare();
  compare->set_key("foo");
  compare->set_target(etcdserverpb::Compare::VALUE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_value("bar");
  *txn.add_success()->mutable_request_put() = put;
  *txn.add_failure()->mutable_request_range() = range;
  seed("txn", 3, {txn.SerializeAsString()});
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(2);
  seed("compact", 4, {compact.SerializeAsString()});
  seed("status", 5, {""});
  seed("hash", 6, {""});
  etcdserverpb::HashKVRequest hash_kv;
  hash_kv.set_revision(0);
  seed("hashkv", 7, {hash_kv.SerializeAsString()});
  seed("snapshot", 8, {""});
  seed("member-list", 9, {""});
  {  // Two puts, then a range sorted by each target.
    FuzzOutput out;
    etcdserverpb::PutRequest other = put;
    other.set_key("fop");
    call(out, 1, {put.SerializeAsString()});
    call(out, 1, {other.SerializeAsString()});
    for (int target = 0; target <= 4; target++) {
      etcdserverpb::RangeRequest sorted;
      sorted.set_key("f");
      sorted.set_range_end("g");
      sorted.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
      sorted.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(target));
      call(out, 0, {sorted.SerializeAsString()});
    }
    Write("server_requests", "puts-sorted-ranges", out.bytes());
  }
  etcdserverpb::WatchRequest watch;
  watch.mutable_create_request()->set_key("foo");
  watch.mutable_create_request()->set_start_revision(1);
  watch.mutable_create_request()->set_progress_notify(true);
  etcdserverpb::WatchRequest progress;
  progress.mutable_progress_request();
  etcdserverpb::WatchRequest cancel;
  cancel.mutable_cancel_request()->set_watch_id(0);
  seed("watch", 10, {watch.SerializeAsString(), progress.SerializeAsString(),
                     cancel.SerializeAsString()});
}

}  // namespace
}  // namespace keel::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen_corpus CORPUS_DIR (fuzz/corpus)\n";
    return 2;
  }
  keel::fuzz::root = argv[1];
  keel::fuzz::Wal();
  keel::fuzz::SnapshotFile();
  keel::fuzz::Bbolt();
  keel::fuzz::Raft();
  keel::fuzz::Peer();
  keel::fuzz::Http2();
  keel::fuzz::ServerRequests();
  return 0;
}
