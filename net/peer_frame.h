// Encoding and decoding of the peer protocol (net/peer_format.h,
// doc/peer_protocol.md): handshakes, frames, and the payloads of snapshot
// frames, plus FrameReader, which reads checked frames off a Connection.
//
// Encoders append to a caller's buffer so a writer can batch many frames into
// one Connection::Write. Decoders check everything a hostile or broken peer
// could get wrong (magic, checksums, bounds, lengths) and return a Status;
// they assert only what the local caller controls.
#ifndef KEEL_NET_PEER_FRAME_H_
#define KEEL_NET_PEER_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/peer_format.h"
#include "proto/raft.pb.h"
#include "runtime/network.h"
#include "runtime/task.h"

namespace keel::net::peer {

struct Handshake {
  uint16_t version = kProtocolVersion;
  StreamKind kind = StreamKind::kMessage;
  uint64_t sender_id = 0;   // the dialing member
  uint64_t target_id = 0;   // the member the dialer believes it reached
  uint64_t cluster_id = 0;  // the dialer's cluster
  // Where the dialer accepts peers ("host:port"); may be empty.
  std::vector<std::string> addresses;
};

struct HandshakeReply {
  uint16_t version = kProtocolVersion;
  HandshakeStatus status = HandshakeStatus::kAccepted;
  uint64_t responder_id = 0;  // the accepting member
  uint64_t cluster_id = 0;    // the acceptor's cluster
};

// Returns the fixed kHandshakeBytes followed by the address block. The
// addresses must fit kMaxHandshakeAddressesBytes and hold no comma
// (asserted: the local caller chose them).
std::string EncodeHandshake(const Handshake& handshake);
// Decodes the fixed kHandshakeBytes, leaving `addresses` empty. DataLoss if
// the magic or the checksum is wrong or the kind is unknown. The version is
// returned, not judged.
absl::StatusOr<Handshake> DecodeHandshake(std::string_view bytes);
// The bytes of the address block that follow its kHandshakeAddressesLengthBytes
// `length_bytes` (the addresses and the checksum). DataLoss beyond
// kMaxHandshakeAddressesBytes.
absl::StatusOr<size_t> HandshakeAddressesRemainder(std::string_view length_bytes);
// Decodes the whole address block (length, addresses, checksum) into
// `handshake->addresses`. DataLoss if the checksum is wrong or the length
// disagrees.
absl::Status DecodeHandshakeAddresses(std::string_view block, Handshake* handshake);

// Returns exactly kHandshakeReplyBytes.
std::string EncodeHandshakeReply(const HandshakeReply& reply);
// Decodes kHandshakeReplyBytes. DataLoss if the magic or the checksum is
// wrong or the status is unknown.
absl::StatusOr<HandshakeReply> DecodeHandshakeReply(std::string_view bytes);

// "accepted", "cluster ID mismatch", ... (the text the dialer logs).
std::string_view HandshakeStatusText(HandshakeStatus status);

// The largest payload a receiver accepts for `type`.
size_t MaxFramePayloadBytes(FrameType type);

// Appends one frame. The payload must be within the type's bound (asserted:
// the local caller chose it).
void AppendFrame(std::string* out, FrameType type, std::string_view payload);

// Appends a kMessage frame, serializing `message` straight into `out`.
// InvalidArgument if it is larger than kMaxMessageFrameBytes (nothing is
// appended then).
absl::Status AppendMessageFrame(std::string* out,
                                const raftpb::Message& message);

struct FrameHeader {
  uint32_t length = 0;      // payload bytes
  uint32_t masked_crc = 0;  // of the type byte and the payload
  FrameType type = FrameType::kMessage;
};

// Decodes the first kFrameHeaderBytes of `bytes`. InvalidArgument for an
// unknown type or a length past the type's bound.
absl::StatusOr<FrameHeader> DecodeFrameHeader(std::string_view bytes);

// DataLoss unless `payload` matches the header's checksum.
absl::Status VerifyFramePayload(const FrameHeader& header,
                                std::string_view payload);

// A kMessage payload as a Message. DataLoss if it does not parse.
absl::StatusOr<raftpb::Message> ParseMessagePayload(std::string_view payload);

// Snapshot frames' payloads.
struct SnapshotHeader {
  uint64_t total_bytes = 0;
  raftpb::Message message;  // MsgSnap whose snapshot.data is empty
};
// `message` must be a MsgSnap with empty snapshot data (asserted).
std::string EncodeSnapshotHeader(uint64_t total_bytes,
                                 const raftpb::Message& message);
// DataLoss if short or unparsable; InvalidArgument if not a MsgSnap, if it
// carries data, or if total_bytes exceeds kMaxSnapshotBytes.
absl::StatusOr<SnapshotHeader> DecodeSnapshotHeader(std::string_view payload);

struct SnapshotEnd {
  uint64_t total_bytes = 0;
  uint32_t data_crc = 0;  // crc32c of all the data, unmasked
};
std::string EncodeSnapshotEnd(const SnapshotEnd& end);
// DataLoss unless exactly kSnapshotEndBytes.
absl::StatusOr<SnapshotEnd> DecodeSnapshotEnd(std::string_view payload);

struct SnapshotResult {
  bool ok = false;
  std::string reason;  // why the receiver failed; empty when ok
};
std::string EncodeSnapshotResult(bool ok, std::string_view reason);
// DataLoss if empty.
absl::StatusOr<SnapshotResult> DecodeSnapshotResult(std::string_view payload);

// A frame as FrameReader returns it: the payload points into the reader's
// buffer and is valid until the reader's next call.
struct Frame {
  FrameType type = FrameType::kMessage;
  std::string_view payload;
};

// Reads handshakes and checked frames from a connection through a buffer,
// asking the connection for at least kReadChunkBytes at a time so that many
// small frames cost one Read. Not thread-safe; one reader per connection.
class FrameReader {
 public:
  static constexpr size_t kReadChunkBytes = 64 << 10;
  // A read's size under Buggify(): frames arrive in pieces.
  static constexpr size_t kBuggifiedReadBytes = 5;

  // `connection` must outlive the reader.
  explicit FrameReader(Connection* connection);
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Reads exactly `n` bytes (a handshake). The view is valid until the next
  // call. DataLoss if the stream ends first; Unavailable if it fails.
  // Suspends.
  Task<absl::StatusOr<std::string_view>> ReadExact(size_t n);

  // Waits until `n` bytes are buffered and shows them without consuming
  // them (the listener tells a handshake from an HTTP request). Errors as
  // ReadExact. Suspends.
  Task<absl::StatusOr<std::string_view>> Peek(size_t n);
  // Hands over the bytes read and not consumed: the connection changes
  // hands (to an HTTP server).
  std::string TakeBuffered();

  // Reads the next frame. OutOfRange if the stream ended cleanly between
  // frames; DataLoss if it ended inside a frame or a checksum fails;
  // InvalidArgument for an unknown type or an oversized length (checked
  // before anything is allocated); Unavailable if the connection fails.
  // After an error the reader is unusable. Suspends.
  Task<absl::StatusOr<Frame>> ReadFrame();

  // Bytes read from the connection so far.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Suspends until at least `n` bytes are buffered.
  Task<absl::Status> Fill(size_t n);
  size_t buffered() const { return end_ - begin_; }

  Connection* connection_;
  std::string buffer_;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte read
  uint64_t bytes_read_ = 0;
};

}  // namespace keel::net::peer

#endif  // KEEL_NET_PEER_FRAME_H_
