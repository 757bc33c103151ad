// Tests of the peer protocol's byte layouts and of FrameReader: handshakes
// and replies round-trip and refuse a flipped bit or a wrong magic; frames
// round-trip through a reader that gets the bytes in pieces of every size;
// a corrupt payload, an unknown type, an oversized length (refused before
// the payload is read) and a stream cut inside a frame are errors of the
// documented kinds. The reader runs over a scripted Connection inside a
// SimHarness, which only supplies the executor.
#include "net/peer_frame.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/peer_format.h"
#include "sim/sim_testing.h"

namespace keel::net::peer {
namespace {

// A connection whose reads return `data` in pieces of the given sizes
// (cycled), then end of stream.
class ScriptedConnection final : public Connection {
 public:
  ScriptedConnection(std::string data, std::vector<size_t> pieces)
      : data_(std::move(data)), pieces_(std::move(pieces)) {}

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override {
    reads_++;
    if (offset_ == data_.size()) co_return size_t{0};
    size_t n = pieces_[piece_++ % pieces_.size()];
    n = std::min({n, buffer.size(), data_.size() - offset_});
    std::copy_n(data_.data() + offset_, n, buffer.data());
    offset_ += n;
    co_return n;
  }
  Task<absl::Status> Write(std::string_view data) override {
    written_.append(data);
    co_return absl::OkStatus();
  }
  void Close() override {}
  std::string local_address() const override { return "local:1"; }
  std::string peer_address() const override { return "peer:1"; }

  size_t consumed() const { return offset_; }

 private:
  std::string data_;
  std::vector<size_t> pieces_;
  size_t piece_ = 0;
  size_t offset_ = 0;
  size_t reads_ = 0;
  std::string written_;
};

raftpb::Message AppendWith(uint64_t index, size_t bytes) {
  raftpb::Message message;
  message.set_type(raftpb::MsgApp);
  message.set_from(1);
  message.set_to(2);
  message.set_term(3);
  message.set_index(index);
  message.set_commit(index);
  if (bytes > 0) {
    raftpb::Entry* entry = message.add_entries();
    entry->set_index(index + 1);
    entry->set_term(3);
    entry->set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  }
  return message;
}

// Reads every frame until the stream ends; returns the statuses and frames.
struct ReadOutcome {
  std::vector<raftpb::Message> messages;
  std::vector<FrameType> types;
  absl::Status end;
};

Task<ReadOutcome> ReadAllFrames(Connection* connection) {
  ReadOutcome outcome;
  FrameReader reader(connection);
  while (true) {
    absl::StatusOr<Frame> frame = co_await reader.ReadFrame();
    if (!frame.ok()) {
      outcome.end = frame.status();
      co_return outcome;
    }
    outcome.types.push_back(frame->type);
    if (frame->type == FrameType::kMessage) {
      absl::StatusOr<raftpb::Message> message = ParseMessagePayload(frame->payload);
      if (!message.ok()) {
        outcome.end = message.status();
        co_return outcome;
      }
      outcome.messages.push_back(*std::move(message));
    }
  }
}

class PeerFrameTest : public ::testing::Test {
 protected:
  ReadOutcome ReadAll(std::string bytes, std::vector<size_t> pieces) {
    ScriptedConnection connection(std::move(bytes), std::move(pieces));
    return harness_.Run(ReadAllFrames(&connection));
  }

  // Buggify off: the tests count the bytes each read consumes, and
  // Buggify() shortens reads.
  sim::SimHarness harness_{sim::SimWorldOptions{.seed = 1, .buggify = false}};
};

TEST_F(PeerFrameTest, HandshakeRoundTrips) {
  Handshake handshake;
  handshake.kind = StreamKind::kSnapshot;
  handshake.sender_id = 0x8e9e05c52164694dULL;
  handshake.target_id = 2;
  handshake.cluster_id = 0xcdf818194e3a8c32ULL;
  handshake.addresses = {"10.0.0.4:2380", "[::1]:2380"};
  const std::string bytes = EncodeHandshake(handshake);
  absl::StatusOr<Handshake> decoded = DecodeHandshake(bytes.substr(0, kHandshakeBytes));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->version, kProtocolVersion);
  EXPECT_EQ(decoded->kind, StreamKind::kSnapshot);
  EXPECT_EQ(decoded->sender_id, handshake.sender_id);
  EXPECT_EQ(decoded->target_id, 2u);
  EXPECT_EQ(decoded->cluster_id, handshake.cluster_id);
  EXPECT_TRUE(decoded->addresses.empty());
  const std::string_view block = std::string_view(bytes).substr(kHandshakeBytes);
  absl::StatusOr<size_t> remainder =
      HandshakeAddressesRemainder(block.substr(0, kHandshakeAddressesLengthBytes));
  ASSERT_TRUE(remainder.ok()) << remainder.status();
  ASSERT_EQ(kHandshakeAddressesLengthBytes + *remainder, block.size());
  ASSERT_TRUE(DecodeHandshakeAddresses(block, &*decoded).ok());
  EXPECT_EQ(decoded->addresses, handshake.addresses);
}

TEST_F(PeerFrameTest, AHandshakeWithoutAddressesCarriesAnEmptyBlock) {
  const std::string bytes = EncodeHandshake(Handshake{.sender_id = 1, .target_id = 2});
  ASSERT_EQ(bytes.size(), kHandshakeBytes + kHandshakeAddressesLengthBytes + 4);
  Handshake decoded;
  decoded.addresses = {"stale:1"};
  ASSERT_TRUE(DecodeHandshakeAddresses(bytes.substr(kHandshakeBytes), &decoded).ok());
  EXPECT_TRUE(decoded.addresses.empty());
}

TEST_F(PeerFrameTest, HandshakeWithAFlippedBitOrWrongMagicIsDataLoss) {
  Handshake handshake;
  handshake.sender_id = 1;
  handshake.target_id = 2;
  handshake.cluster_id = 3;
  handshake.addresses = {"10.0.0.1:2380"};
  const std::string bytes = EncodeHandshake(handshake);
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string flipped = bytes;
    flipped[i] ^= 0x10;
    if (i < kHandshakeBytes) {
      EXPECT_TRUE(absl::IsDataLoss(DecodeHandshake(flipped.substr(0, kHandshakeBytes)).status()))
          << "byte " << i;
      continue;
    }
    Handshake decoded;
    const std::string block = flipped.substr(kHandshakeBytes);
    absl::StatusOr<size_t> remainder =
        HandshakeAddressesRemainder(std::string_view(block).substr(0, kHandshakeAddressesLengthBytes));
    // A length flipped past the bound is refused at once; any other flip
    // fails the block's length or checksum.
    if (!remainder.ok()) continue;
    EXPECT_TRUE(absl::IsDataLoss(DecodeHandshakeAddresses(block, &decoded))) << "byte " << i;
  }
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  http.resize(kHandshakeBytes, ' ');
  EXPECT_TRUE(absl::IsDataLoss(DecodeHandshake(http).status()));
  std::string too_long(kHandshakeAddressesLengthBytes, '\xff');
  EXPECT_TRUE(absl::IsDataLoss(HandshakeAddressesRemainder(too_long).status()));
}

TEST_F(PeerFrameTest, ReplyRoundTripsAndRefusesAnUnknownStatus) {
  HandshakeReply reply;
  reply.status = HandshakeStatus::kClusterIdMismatch;
  reply.responder_id = 7;
  reply.cluster_id = 9;
  absl::StatusOr<HandshakeReply> decoded = DecodeHandshakeReply(EncodeHandshakeReply(reply));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status, HandshakeStatus::kClusterIdMismatch);
  EXPECT_EQ(decoded->responder_id, 7u);
  EXPECT_EQ(decoded->cluster_id, 9u);
  EXPECT_EQ(HandshakeStatusText(decoded->status), "cluster ID mismatch");

  reply.status = static_cast<HandshakeStatus>(kMaxHandshakeStatus + 1);
  EXPECT_TRUE(absl::IsDataLoss(DecodeHandshakeReply(EncodeHandshakeReply(reply)).status()));
}

TEST_F(PeerFrameTest, FramesRoundTripWhateverTheReadSizes) {
  std::string bytes;
  for (uint64_t i = 0; i < 40; i++) {
    ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(i, i * 997)).ok());
    if (i % 7 == 0) AppendFrame(&bytes, FrameType::kLinkHeartbeat, {});
  }
  // One large message, past the reader's chunk size.
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(40, 300 << 10)).ok());
  for (std::vector<size_t> pieces :
       {std::vector<size_t>{1}, {3, 1, 7}, {9}, {4096}, {1 << 20}}) {
    ReadOutcome outcome = ReadAll(bytes, pieces);
    EXPECT_TRUE(absl::IsOutOfRange(outcome.end)) << outcome.end;
    ASSERT_EQ(outcome.messages.size(), 41u);
    for (uint64_t i = 0; i <= 40; i++) {
      const raftpb::Message expected = AppendWith(i, i == 40 ? 300 << 10 : i * 997);
      EXPECT_EQ(outcome.messages[i].SerializeAsString(), expected.SerializeAsString());
    }
    EXPECT_EQ(std::count(outcome.types.begin(), outcome.types.end(),
                         FrameType::kLinkHeartbeat),
              6);
  }
}

TEST_F(PeerFrameTest, AFlippedPayloadBitIsDataLossAndNothingOfItIsReturned) {
  std::string bytes;
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(1, 100)).ok());
  const size_t second = bytes.size();
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(2, 100)).ok());
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(3, 100)).ok());
  bytes[second + kFrameHeaderBytes + 20] ^= 0x01;
  ReadOutcome outcome = ReadAll(bytes, {5});
  EXPECT_TRUE(absl::IsDataLoss(outcome.end)) << outcome.end;
  ASSERT_EQ(outcome.messages.size(), 1u);
  EXPECT_EQ(outcome.messages[0].index(), 1u);
}

TEST_F(PeerFrameTest, AFlippedTypeByteIsCaughtByTheChecksum) {
  std::string bytes;
  AppendFrame(&bytes, FrameType::kSnapshotChunk, "chunk of data");
  bytes[8] = static_cast<char>(FrameType::kSnapshotEnd);
  ReadOutcome outcome = ReadAll(bytes, {64});
  EXPECT_TRUE(absl::IsDataLoss(outcome.end)) << outcome.end;
}

TEST_F(PeerFrameTest, AnOversizedLengthIsRefusedBeforeThePayloadIsRead) {
  std::string bytes;
  AppendFrame(&bytes, FrameType::kLinkHeartbeat, {});
  // A message frame claiming one byte past the bound, followed by junk.
  const uint32_t length = kMaxMessageFrameBytes + 1;
  for (int i = 0; i < 4; i++) bytes.push_back(static_cast<char>(length >> (8 * i)));
  bytes.append(4, '\0');
  bytes.push_back(static_cast<char>(FrameType::kMessage));
  bytes.append(100, 'x');
  ScriptedConnection connection(bytes, {kFrameHeaderBytes});
  ReadOutcome outcome = harness_.Run(ReadAllFrames(&connection));
  EXPECT_TRUE(absl::IsInvalidArgument(outcome.end)) << outcome.end;
  EXPECT_EQ(connection.consumed(), 2 * kFrameHeaderBytes);

  std::string heartbeat_with_payload;
  heartbeat_with_payload.append("\x01\0\0\0\0\0\0\0", 8);
  heartbeat_with_payload.push_back(static_cast<char>(FrameType::kLinkHeartbeat));
  heartbeat_with_payload.push_back('x');
  EXPECT_TRUE(absl::IsInvalidArgument(ReadAll(heartbeat_with_payload, {64}).end));
}

TEST_F(PeerFrameTest, AnUnknownFrameTypeIsInvalidArgument) {
  std::string bytes(8, '\0');
  bytes.push_back(static_cast<char>(kMaxFrameType + 1));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadAll(bytes, {64}).end));
  bytes[8] = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(ReadAll(bytes, {64}).end));
}

TEST_F(PeerFrameTest, AStreamCutInsideAFrameIsDataLoss) {
  std::string bytes;
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(1, 100)).ok());
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(2, 100)).ok());
  for (size_t cut : {bytes.size() - 1, bytes.size() - 100, bytes.size() / 2 + 3}) {
    ReadOutcome outcome = ReadAll(bytes.substr(0, cut), {7});
    EXPECT_TRUE(absl::IsDataLoss(outcome.end)) << cut << ": " << outcome.end;
    EXPECT_EQ(outcome.messages.size(), 1u);
  }
  EXPECT_TRUE(absl::IsOutOfRange(ReadAll("", {7}).end));
}

TEST_F(PeerFrameTest, ReadExactReturnsTheHandshakeAndKeepsWhatFollows) {
  Handshake handshake;
  handshake.sender_id = 5;
  handshake.target_id = 6;
  std::string bytes = EncodeHandshake(handshake);
  ASSERT_TRUE(AppendMessageFrame(&bytes, AppendWith(9, 10)).ok());
  ScriptedConnection connection(bytes, {1 << 16});
  struct Result {
    uint64_t sender = 0;
    uint64_t index = 0;
  };
  Result result = harness_.Run([](Connection* c) -> Task<Result> {
    FrameReader reader(c);
    Result r;
    absl::StatusOr<std::string_view> hello = co_await reader.ReadExact(kHandshakeBytes);
    if (!hello.ok()) co_return r;
    r.sender = DecodeHandshake(*hello)->sender_id;
    // The empty address block.
    if (!(co_await reader.ReadExact(kHandshakeAddressesLengthBytes + 4)).ok()) co_return r;
    absl::StatusOr<Frame> frame = co_await reader.ReadFrame();
    if (frame.ok()) r.index = ParseMessagePayload(frame->payload)->index();
    co_return r;
  }(&connection));
  EXPECT_EQ(result.sender, 5u);
  EXPECT_EQ(result.index, 9u);
}

TEST_F(PeerFrameTest, AMessageTooLargeForAFrameIsRefusedAndNothingIsAppended) {
  std::string bytes = "prefix";
  absl::Status status =
      AppendMessageFrame(&bytes, AppendWith(1, kMaxMessageFrameBytes + 1));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(bytes, "prefix");
}

TEST_F(PeerFrameTest, SnapshotControlPayloadsRoundTripAndAreChecked) {
  raftpb::Message snap;
  snap.set_type(raftpb::MsgSnap);
  snap.set_from(1);
  snap.set_to(2);
  snap.mutable_snapshot()->mutable_metadata()->set_index(100);
  snap.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(1);
  absl::StatusOr<SnapshotHeader> header =
      DecodeSnapshotHeader(EncodeSnapshotHeader(20 << 20, snap));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->total_bytes, 20u << 20);
  EXPECT_EQ(header->message.snapshot().metadata().index(), 100u);

  // A header whose message is not a MsgSnap, or carries data, is refused.
  std::string forged = EncodeSnapshotHeader(1, snap);
  raftpb::Message other = snap;
  other.set_type(raftpb::MsgApp);
  EXPECT_TRUE(absl::IsInvalidArgument(
      DecodeSnapshotHeader(forged.substr(0, 8) + other.SerializeAsString()).status()));
  other = snap;
  other.mutable_snapshot()->set_data("inline");
  EXPECT_TRUE(absl::IsInvalidArgument(
      DecodeSnapshotHeader(forged.substr(0, 8) + other.SerializeAsString()).status()));
  std::string huge = EncodeSnapshotHeader(kMaxSnapshotBytes + 1, snap);
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeSnapshotHeader(huge).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeSnapshotHeader("short").status()));

  SnapshotEnd end;
  end.total_bytes = 12345;
  end.data_crc = 0xdeadbeef;
  absl::StatusOr<SnapshotEnd> decoded_end = DecodeSnapshotEnd(EncodeSnapshotEnd(end));
  ASSERT_TRUE(decoded_end.ok());
  EXPECT_EQ(decoded_end->total_bytes, 12345u);
  EXPECT_EQ(decoded_end->data_crc, 0xdeadbeefu);
  EXPECT_TRUE(absl::IsDataLoss(DecodeSnapshotEnd("12345").status()));

  absl::StatusOr<SnapshotResult> result =
      DecodeSnapshotResult(EncodeSnapshotResult(false, "checksum mismatch"));
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->reason, "checksum mismatch");
  EXPECT_TRUE(DecodeSnapshotResult(EncodeSnapshotResult(true, "")).value().ok);
}

}  // namespace
}  // namespace keel::net::peer
