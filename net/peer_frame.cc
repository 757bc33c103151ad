// The peer protocol's byte layouts (doc/peer_protocol.md) and FrameReader.
#include "net/peer_frame.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/crc32c.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net::peer {
namespace {

void PutFixed16(std::string* out, uint16_t v) {
  const char bytes[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(bytes, 2);
}

void PutFixed32(std::string* out, uint32_t v) {
  char bytes[4];
  for (int i = 0; i < 4; i++) bytes[i] = static_cast<char>(v >> (8 * i));
  out->append(bytes, 4);
}

void PutFixed64(std::string* out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; i++) bytes[i] = static_cast<char>(v >> (8 * i));
  out->append(bytes, 8);
}

void StoreFixed32(char* at, uint32_t v) {
  for (int i = 0; i < 4; i++) at[i] = static_cast<char>(v >> (8 * i));
}

uint16_t GetFixed16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) |
                               (static_cast<uint8_t>(p[1]) << 8));
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Appends the masked crc32c of everything in `out` from `start`.
void SealWithCrc(std::string* out, size_t start) {
  const uint32_t crc = crc32c::Value(out->data() + start, out->size() - start);
  PutFixed32(out, crc32c::Mask(crc));
}

// Checks the trailing masked crc32c of a fixed-size record.
bool CrcMatches(std::string_view bytes) {
  KEEL_ASSERT(bytes.size() > 4);
  const size_t body = bytes.size() - 4;
  return crc32c::Unmask(GetFixed32(bytes.data() + body)) ==
         crc32c::Value(bytes.data(), body);
}

uint32_t FrameCrc(FrameType type, std::string_view payload) {
  const char type_byte = static_cast<char>(type);
  return crc32c::Extend(crc32c::Value(&type_byte, 1), payload.data(),
                        payload.size());
}

void AppendFrameHeader(std::string* out, uint32_t length, uint32_t masked_crc,
                       FrameType type) {
  PutFixed32(out, length);
  PutFixed32(out, masked_crc);
  out->push_back(static_cast<char>(type));
}

}  // namespace

std::string EncodeHandshake(const Handshake& handshake) {
  std::string out(kHandshakeMagic);
  PutFixed16(&out, handshake.version);
  out.push_back(static_cast<char>(handshake.kind));
  out.push_back('\0');
  PutFixed64(&out, handshake.sender_id);
  PutFixed64(&out, handshake.target_id);
  PutFixed64(&out, handshake.cluster_id);
  SealWithCrc(&out, 0);
  KEEL_ASSERT(out.size() == kHandshakeBytes);
  std::string addresses;
  for (const std::string& address : handshake.addresses) {
    KEEL_ASSERT(!address.empty());
    KEEL_ASSERT(address.find(',') == std::string::npos);
    StrAppend(&addresses, addresses.empty() ? "" : ",", address);
  }
  KEEL_ASSERT(addresses.size() <= kMaxHandshakeAddressesBytes);
  const size_t block = out.size();
  PutFixed16(&out, static_cast<uint16_t>(addresses.size()));
  out += addresses;
  SealWithCrc(&out, block);
  return out;
}

absl::StatusOr<Handshake> DecodeHandshake(std::string_view bytes) {
  KEEL_ASSERT(bytes.size() == kHandshakeBytes);
  if (bytes.substr(0, kHandshakeMagic.size()) != kHandshakeMagic) {
    return absl::DataLossError("not a keel peer handshake (bad magic)");
  }
  if (!CrcMatches(bytes)) return absl::DataLossError("handshake checksum mismatch");
  const char* p = bytes.data() + kHandshakeMagic.size();
  Handshake handshake;
  handshake.version = GetFixed16(p);
  const uint8_t kind = static_cast<uint8_t>(p[2]);
  if (kind != static_cast<uint8_t>(StreamKind::kMessage) &&
      kind != static_cast<uint8_t>(StreamKind::kSnapshot)) {
    return absl::DataLossError(StrCat("unknown stream kind ", kind));
  }
  handshake.kind = static_cast<StreamKind>(kind);
  handshake.sender_id = GetFixed64(p + 4);
  handshake.target_id = GetFixed64(p + 12);
  handshake.cluster_id = GetFixed64(p + 20);
  return handshake;
}

absl::StatusOr<size_t> HandshakeAddressesRemainder(std::string_view length_bytes) {
  KEEL_ASSERT(length_bytes.size() == kHandshakeAddressesLengthBytes);
  const size_t length = GetFixed16(length_bytes.data());
  if (length > kMaxHandshakeAddressesBytes) {
    return absl::DataLossError(StrCat("handshake addresses of ", length, " bytes"));
  }
  return length + 4;
}

absl::Status DecodeHandshakeAddresses(std::string_view block, Handshake* handshake) {
  KEEL_ASSERT(block.size() >= kHandshakeAddressesLengthBytes + 4);
  const size_t length = GetFixed16(block.data());
  if (block.size() != kHandshakeAddressesLengthBytes + length + 4) {
    return absl::DataLossError("handshake addresses length mismatch");
  }
  if (!CrcMatches(block)) return absl::DataLossError("handshake addresses checksum mismatch");
  handshake->addresses.clear();
  std::string_view rest = block.substr(kHandshakeAddressesLengthBytes, length);
  while (!rest.empty()) {
    const size_t comma = std::min(rest.find(','), rest.size());
    if (comma == 0) return absl::DataLossError("empty handshake address");
    handshake->addresses.emplace_back(rest.substr(0, comma));
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  return absl::OkStatus();
}

std::string EncodeHandshakeReply(const HandshakeReply& reply) {
  std::string out(kReplyMagic);
  PutFixed16(&out, reply.version);
  out.push_back(static_cast<char>(reply.status));
  out.push_back('\0');
  PutFixed64(&out, reply.responder_id);
  PutFixed64(&out, reply.cluster_id);
  SealWithCrc(&out, 0);
  KEEL_ASSERT(out.size() == kHandshakeReplyBytes);
  return out;
}

absl::StatusOr<HandshakeReply> DecodeHandshakeReply(std::string_view bytes) {
  KEEL_ASSERT(bytes.size() == kHandshakeReplyBytes);
  if (bytes.substr(0, kReplyMagic.size()) != kReplyMagic) {
    return absl::DataLossError("not a keel peer handshake reply (bad magic)");
  }
  if (!CrcMatches(bytes)) {
    return absl::DataLossError("handshake reply checksum mismatch");
  }
  const char* p = bytes.data() + kReplyMagic.size();
  HandshakeReply reply;
  reply.version = GetFixed16(p);
  const uint8_t status = static_cast<uint8_t>(p[2]);
  if (status > kMaxHandshakeStatus) {
    return absl::DataLossError(StrCat("unknown handshake status ", status));
  }
  reply.status = static_cast<HandshakeStatus>(status);
  reply.responder_id = GetFixed64(p + 4);
  reply.cluster_id = GetFixed64(p + 12);
  return reply;
}

std::string_view HandshakeStatusText(HandshakeStatus status) {
  switch (status) {
    case HandshakeStatus::kAccepted:
      return "accepted";
    case HandshakeStatus::kClusterIdMismatch:
      return "cluster ID mismatch";
    case HandshakeStatus::kRemovedMember:
      return "the member has been permanently removed from the cluster";
    case HandshakeStatus::kUnknownMember:
      return "unknown member";
    case HandshakeStatus::kTargetMismatch:
      return "to field mismatch";
    case HandshakeStatus::kIncompatibleVersion:
      return "incompatible peer protocol version";
    case HandshakeStatus::kTooManySnapshots:
      return "too many snapshots in flight";
  }
  return "unknown status";
}

size_t MaxFramePayloadBytes(FrameType type) {
  switch (type) {
    case FrameType::kMessage:
      return kMaxMessageFrameBytes;
    case FrameType::kLinkHeartbeat:
      return 0;
    case FrameType::kSnapshotChunk:
      return kMaxSnapshotChunkBytes;
    case FrameType::kSnapshotHeader:
    case FrameType::kSnapshotEnd:
    case FrameType::kSnapshotResult:
      return kMaxControlFrameBytes;
  }
  return 0;
}

void AppendFrame(std::string* out, FrameType type, std::string_view payload) {
  KEEL_ASSERT(static_cast<uint8_t>(type) >= 1);
  KEEL_ASSERT(payload.size() <= MaxFramePayloadBytes(type));
  AppendFrameHeader(out, static_cast<uint32_t>(payload.size()),
                    crc32c::Mask(FrameCrc(type, payload)), type);
  out->append(payload.data(), payload.size());
}

absl::Status AppendMessageFrame(std::string* out,
                                const raftpb::Message& message) {
  const size_t size = message.ByteSizeLong();
  if (size > kMaxMessageFrameBytes) {
    return absl::InvalidArgumentError(
        StrCat("raft message of ", size, " bytes exceeds the frame bound of ",
               kMaxMessageFrameBytes));
  }
  const size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  char* payload = out->data() + start + kFrameHeaderBytes;
  // The size was just computed, so the cached sizes are fresh.
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(payload));
  const uint32_t crc =
      FrameCrc(FrameType::kMessage, std::string_view(payload, size));
  char* header = out->data() + start;
  StoreFixed32(header, static_cast<uint32_t>(size));
  StoreFixed32(header + 4, crc32c::Mask(crc));
  header[8] = static_cast<char>(FrameType::kMessage);
  return absl::OkStatus();
}

absl::StatusOr<FrameHeader> DecodeFrameHeader(std::string_view bytes) {
  KEEL_ASSERT(bytes.size() >= kFrameHeaderBytes);
  FrameHeader header;
  header.length = GetFixed32(bytes.data());
  header.masked_crc = GetFixed32(bytes.data() + 4);
  const uint8_t type = static_cast<uint8_t>(bytes[8]);
  if (type == 0 || type > kMaxFrameType) {
    return absl::InvalidArgumentError(StrCat("unknown frame type ", type));
  }
  header.type = static_cast<FrameType>(type);
  if (header.length > MaxFramePayloadBytes(header.type)) {
    return absl::InvalidArgumentError(
        StrCat("frame of type ", type, " with ", header.length,
               " bytes exceeds its bound of ",
               MaxFramePayloadBytes(header.type)));
  }
  return header;
}

absl::Status VerifyFramePayload(const FrameHeader& header,
                                std::string_view payload) {
  KEEL_ASSERT(payload.size() == header.length);
  if (crc32c::Unmask(header.masked_crc) != FrameCrc(header.type, payload)) {
    return absl::DataLossError("peer frame checksum mismatch");
  }
  return absl::OkStatus();
}

absl::StatusOr<raftpb::Message> ParseMessagePayload(std::string_view payload) {
  raftpb::Message message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError("peer frame holds no valid raft message");
  }
  return message;
}

std::string EncodeSnapshotHeader(uint64_t total_bytes,
                                 const raftpb::Message& message) {
  KEEL_ASSERT(message.type() == raftpb::MsgSnap);
  KEEL_ASSERT(message.snapshot().data().empty());
  std::string out;
  PutFixed64(&out, total_bytes);
  message.AppendToString(&out);
  KEEL_ASSERT(out.size() <= kMaxControlFrameBytes);
  return out;
}

absl::StatusOr<SnapshotHeader> DecodeSnapshotHeader(std::string_view payload) {
  if (payload.size() < kSnapshotHeaderFixedBytes) {
    return absl::DataLossError("short snapshot header");
  }
  SnapshotHeader header;
  header.total_bytes = GetFixed64(payload.data());
  KEEL_ASSIGN_OR_RETURN(header.message,
                        ParseMessagePayload(payload.substr(kSnapshotHeaderFixedBytes)));
  if (header.message.type() != raftpb::MsgSnap) {
    return absl::InvalidArgumentError("snapshot header does not hold a MsgSnap");
  }
  if (!header.message.snapshot().data().empty()) {
    return absl::InvalidArgumentError("snapshot header carries inline data");
  }
  if (header.total_bytes > kMaxSnapshotBytes) {
    return absl::InvalidArgumentError(
        StrCat("snapshot of ", header.total_bytes, " bytes exceeds the bound of ",
               kMaxSnapshotBytes));
  }
  return header;
}

std::string EncodeSnapshotEnd(const SnapshotEnd& end) {
  std::string out;
  PutFixed64(&out, end.total_bytes);
  PutFixed32(&out, end.data_crc);
  KEEL_ASSERT(out.size() == kSnapshotEndBytes);
  return out;
}

absl::StatusOr<SnapshotEnd> DecodeSnapshotEnd(std::string_view payload) {
  if (payload.size() != kSnapshotEndBytes) {
    return absl::DataLossError("malformed snapshot end frame");
  }
  SnapshotEnd end;
  end.total_bytes = GetFixed64(payload.data());
  end.data_crc = GetFixed32(payload.data() + 8);
  return end;
}

std::string EncodeSnapshotResult(bool ok, std::string_view reason) {
  std::string out(1, ok ? '\1' : '\0');
  out.append(reason.substr(0, kMaxControlFrameBytes - 1));
  return out;
}

absl::StatusOr<SnapshotResult> DecodeSnapshotResult(std::string_view payload) {
  if (payload.empty()) return absl::DataLossError("empty snapshot result frame");
  SnapshotResult result;
  result.ok = payload[0] == '\1';
  result.reason = std::string(payload.substr(1));
  return result;
}

FrameReader::FrameReader(Connection* connection) : connection_(connection) {
  KEEL_ASSERT(connection != nullptr);
}

Task<absl::Status> FrameReader::Fill(size_t n) {
  while (buffered() < n) {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      // A huge frame's buffer is not kept for the small ones after it.
      if (buffer_.size() > 4 * kReadChunkBytes && n <= kReadChunkBytes) {
        buffer_ = std::string();
      }
    }
    if (buffer_.size() - begin_ < n) {
      // Slide the partial frame to the front, then make room for all of it.
      std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
      end_ -= begin_;
      begin_ = 0;
    }
    const size_t want = std::max(n - buffered(), kReadChunkBytes);
    if (buffer_.size() < end_ + want) buffer_.resize(end_ + want);
    // Buggify: a read of a few bytes (a stream may deliver any split), so
    // frames and handshakes arrive in pieces.
    const size_t room = buffer_.size() - end_;
    absl::StatusOr<size_t> got = co_await connection_->Read(std::span<char>(
        buffer_.data() + end_, Buggify() ? std::min<size_t>(room, kBuggifiedReadBytes) : room));
    if (!got.ok()) co_return got.status();
    if (*got == 0) {
      if (buffered() == 0) co_return absl::OutOfRangeError("end of stream");
      co_return absl::DataLossError("peer stream ended inside a frame");
    }
    end_ += *got;
    bytes_read_ += *got;
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::string_view>> FrameReader::ReadExact(size_t n) {
  KEEL_ASSERT(n > 0);
  absl::Status filled = co_await Fill(n);
  if (absl::IsOutOfRange(filled)) {
    co_return absl::DataLossError("peer stream ended before the handshake");
  }
  KEEL_CO_RETURN_IF_ERROR(filled);
  std::string_view bytes(buffer_.data() + begin_, n);
  begin_ += n;
  co_return bytes;
}

Task<absl::StatusOr<std::string_view>> FrameReader::Peek(size_t n) {
  KEEL_ASSERT(n > 0);
  absl::Status filled = co_await Fill(n);
  if (absl::IsOutOfRange(filled)) {
    co_return absl::DataLossError("peer stream ended before the handshake");
  }
  KEEL_CO_RETURN_IF_ERROR(filled);
  co_return std::string_view(buffer_.data() + begin_, n);
}

std::string FrameReader::TakeBuffered() {
  std::string bytes(buffer_.data() + begin_, buffered());
  begin_ = end_;
  return bytes;
}

Task<absl::StatusOr<Frame>> FrameReader::ReadFrame() {
  KEEL_CO_RETURN_IF_ERROR(co_await Fill(kFrameHeaderBytes));
  KEEL_CO_ASSIGN_OR_RETURN(
      FrameHeader header,
      DecodeFrameHeader(std::string_view(buffer_.data() + begin_, buffered())));
  const size_t total = kFrameHeaderBytes + header.length;
  absl::Status filled = co_await Fill(total);
  if (absl::IsOutOfRange(filled)) {
    co_return absl::DataLossError("peer stream ended inside a frame");
  }
  KEEL_CO_RETURN_IF_ERROR(filled);
  const std::string_view payload(buffer_.data() + begin_ + kFrameHeaderBytes,
                                 header.length);
  KEEL_CO_RETURN_IF_ERROR(VerifyFramePayload(header, payload));
  begin_ += total;
  KEEL_ASSERT(begin_ <= end_);
  co_return Frame{header.type, payload};
}

}  // namespace keel::net::peer
