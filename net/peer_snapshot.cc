// Snapshot sending and receiving (see peer_snapshot.h), and the in-memory
// SnapshotSource.
#include "net/peer_snapshot.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/crc32c.h"
#include "runtime/filesystem.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

// A chunk's size under Buggify(): snapshots cross in many frames.
constexpr size_t kBuggifiedChunkBytes = 1000;

class StringSnapshotSource final : public SnapshotSource {
 public:
  explicit StringSnapshotSource(std::string data) : data_(std::move(data)) {}

  uint64_t size_bytes() const override { return data_.size(); }

  Task<absl::StatusOr<std::string>> ReadChunk(size_t max_bytes) override {
    KEEL_ASSERT(max_bytes > 0);
    const size_t n = std::min(max_bytes, data_.size() - offset_);
    std::string chunk = data_.substr(offset_, n);
    offset_ += n;
    co_return chunk;
  }

 private:
  const std::string data_;
  size_t offset_ = 0;
};

}  // namespace

std::unique_ptr<SnapshotSource> NewStringSnapshotSource(std::string data) {
  return std::make_unique<StringSnapshotSource>(std::move(data));
}

namespace peer {
namespace {

// Removes a snapshot file unless released: a receive that fails, or whose
// frame is destroyed, leaves nothing behind.
class FileGuard {
 public:
  FileGuard(FileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  FileGuard(const FileGuard&) = delete;
  FileGuard& operator=(const FileGuard&) = delete;
  ~FileGuard() {
    if (!path_.empty()) (void)fs_.Remove(path_);
  }
  void Retarget(std::string path) { path_ = std::move(path); }
  void Release() { path_.clear(); }

 private:
  FileSystem& fs_;
  std::string path_;
};

bool HasSuffix(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.substr(text.size() - suffix.size()) == suffix;
}

// Writes the data frames of `source` and returns the crc32c of all of it;
// counts the chunk frames written in *chunks.
Task<absl::StatusOr<uint32_t>> StreamData(PeerContext& context,
                                          Connection& connection,
                                          std::string header_frame,
                                          SnapshotSource& source,
                                          uint64_t* chunks) {
  const uint64_t total = source.size_bytes();
  // Buggify: small chunks, so a snapshot of any size crosses in many
  // frames and the source is read in many pieces.
  const size_t chunk_bytes =
      Buggify() ? std::min<size_t>(context.options().snapshot_chunk_bytes, kBuggifiedChunkBytes)
                : context.options().snapshot_chunk_bytes;
  std::string out = std::move(header_frame);  // goes out with the first chunk
  uint64_t sent = 0;
  uint32_t crc = 0;
  while (true) {
    KEEL_CO_ASSIGN_OR_RETURN(std::string chunk, co_await source.ReadChunk(chunk_bytes));
    if (chunk.empty()) break;
    if (chunk.size() > chunk_bytes || chunk.size() > total - sent) {
      co_return absl::InternalError(
          StrCat("snapshot source returned more than its ", total, " bytes"));
    }
    crc = crc32c::Extend(crc, chunk.data(), chunk.size());
    sent += chunk.size();
    AppendFrame(&out, FrameType::kSnapshotChunk, chunk);
    KEEL_CO_RETURN_IF_ERROR(co_await WriteWithin(context, connection, out));
    out.clear();
    (*chunks)++;
  }
  if (sent != total) {
    co_return absl::InternalError(StrCat("snapshot source ended after ", sent,
                                         " of ", total, " bytes"));
  }
  SnapshotEnd end;
  end.total_bytes = total;
  end.data_crc = crc;
  AppendFrame(&out, FrameType::kSnapshotEnd, EncodeSnapshotEnd(end));
  KEEL_CO_RETURN_IF_ERROR(co_await WriteWithin(context, connection, out));
  co_return crc;
}

}  // namespace

Task<absl::Status> SendSnapshot(PeerContext& context, uint64_t peer_id,
                                std::string address, raftpb::Message message,
                                std::unique_ptr<SnapshotSource> source,
                                uint64_t* chunks_sent) {
  KEEL_ASSERT(message.type() == raftpb::MsgSnap);
  KEEL_ASSERT(source != nullptr);
  const uint64_t total = source->size_bytes();
  if (total > kMaxSnapshotBytes) {
    co_return absl::InvalidArgumentError(
        StrCat("snapshot of ", total, " bytes exceeds ", kMaxSnapshotBytes));
  }
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<PeerLink> link,
      co_await DialPeer(context, peer_id, address, StreamKind::kSnapshot));
  std::string header;
  AppendFrame(&header, FrameType::kSnapshotHeader,
              EncodeSnapshotHeader(total, message));
  uint64_t chunks = 0;
  KEEL_CO_RETURN_IF_ERROR(
      (co_await StreamData(context, *link->connection, std::move(header), *source, &chunks))
          .status());
  if (chunks_sent != nullptr) *chunks_sent = chunks;
  KEEL_CO_ASSIGN_OR_RETURN(
      Frame frame,
      co_await context.Within(context.options().snapshot_result_timeout,
                              "snapshot result", link->reader->ReadFrame()));
  if (frame.type != FrameType::kSnapshotResult) {
    co_return absl::InvalidArgumentError("expected a snapshot result frame");
  }
  KEEL_CO_ASSIGN_OR_RETURN(SnapshotResult result, DecodeSnapshotResult(frame.payload));
  if (!result.ok) {
    co_return absl::AbortedError(StrCat("receiver refused the snapshot: ", result.reason));
  }
  co_return absl::OkStatus();
}

namespace {

// Receives the data into a file, verifies it, makes it durable, and returns
// the snapshot ready for delivery.
Task<absl::StatusOr<ReceivedSnapshot>> ReceiveData(PeerContext& context,
                                                   uint64_t peer_id,
                                                   FrameReader& reader) {
  KEEL_CO_ASSIGN_OR_RETURN(Frame first, co_await ReadFrameWithin(context, reader));
  if (first.type != FrameType::kSnapshotHeader) {
    co_return absl::InvalidArgumentError("snapshot connection did not start with a header");
  }
  KEEL_CO_ASSIGN_OR_RETURN(SnapshotHeader header, DecodeSnapshotHeader(first.payload));
  if (header.message.from() != peer_id || header.message.to() != context.local_id()) {
    co_return absl::InvalidArgumentError("MsgSnap is not from the handshake's sender to us");
  }
  const uint64_t total = header.total_bytes;
  const raftpb::SnapshotMetadata& meta = header.message.snapshot().metadata();
  context.log().Info("receiving database snapshot",
                     {{"local-member-id", context.local_id_text()},
                      {"remote-snapshot-sender-id", IdText(peer_id)},
                      {"incoming-snapshot-index", meta.index()},
                      {"incoming-snapshot-size-bytes", total}});
  FileSystem& fs = context.env().fs();
  const std::string& dir = context.options().snapshot_dir;
  const std::string name =
      absl::StrCat(absl::Hex(meta.index(), absl::kZeroPad16), "-",
                   absl::Hex(meta.term(), absl::kZeroPad16), "-",
                   absl::Hex(context.env().random().Next(), absl::kZeroPad16));
  const std::string path = JoinPath(dir, StrCat(name, kSnapshotFileSuffix));
  const std::string part = JoinPath(dir, StrCat(name, kPartialSnapshotSuffix));
  OpenOptions open_options;
  open_options.create = true;
  open_options.exclusive = true;
  KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(part, open_options));
  FileGuard guard(fs, part);
  uint64_t received = 0;
  uint32_t crc = 0;
  while (true) {
    KEEL_CO_ASSIGN_OR_RETURN(Frame frame, co_await ReadFrameWithin(context, reader));
    if (frame.type == FrameType::kSnapshotChunk) {
      if (frame.payload.size() > total - received) {
        co_return absl::DataLossError("snapshot carries more data than announced");
      }
      crc = crc32c::Extend(crc, frame.payload.data(), frame.payload.size());
      KEEL_CO_RETURN_IF_ERROR(file->Append(frame.payload));
      received += frame.payload.size();
      continue;
    }
    if (frame.type != FrameType::kSnapshotEnd) {
      co_return absl::InvalidArgumentError("unexpected frame in a snapshot");
    }
    KEEL_CO_ASSIGN_OR_RETURN(SnapshotEnd end, DecodeSnapshotEnd(frame.payload));
    if (end.total_bytes != total || received != total) {
      co_return absl::DataLossError(StrCat("snapshot ended after ", received,
                                           " of ", total, " bytes"));
    }
    if (end.data_crc != crc) {
      co_return absl::DataLossError("snapshot data checksum mismatch");
    }
    break;
  }
  KEEL_CO_RETURN_IF_ERROR(co_await file->Sync());
  file.reset();
  KEEL_CO_RETURN_IF_ERROR(fs.Rename(part, path));
  guard.Retarget(path);
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(dir));
  guard.Release();
  ReceivedSnapshot snapshot;
  snapshot.message = std::move(header.message);
  snapshot.path = path;
  snapshot.size_bytes = total;
  co_return snapshot;
}

}  // namespace

Task<absl::Status> ReceiveSnapshot(PeerContext& context, uint64_t peer_id,
                                   PeerLink* link) {
  KEEL_ASSERT(link != nullptr);
  KEEL_ASSERT(context.can_deliver_snapshots());
  absl::StatusOr<ReceivedSnapshot> received =
      co_await ReceiveData(context, peer_id, *link->reader);
  absl::Status outcome = received.status();
  if (received.ok()) {
    const std::string path = received->path;
    const uint64_t index = received->message.snapshot().metadata().index();
    const uint64_t size = received->size_bytes;
    outcome = context.DeliverSnapshot(std::move(*received));
    if (outcome.ok()) {
      context.log().Info("received and saved database snapshot",
                         {{"local-member-id", context.local_id_text()},
                          {"remote-snapshot-sender-id", IdText(peer_id)},
                          {"incoming-snapshot-index", index},
                          {"incoming-snapshot-size-bytes", size},
                          {"path", path}});
    } else {
      (void)context.env().fs().Remove(path);
    }
  }
  if (!outcome.ok()) {
    context.log().Warn("failed to receive database snapshot",
                       {{"local-member-id", context.local_id_text()},
                        {"remote-snapshot-sender-id", IdText(peer_id)},
                        {"error", outcome.ToString()}});
  }
  std::string answer;
  AppendFrame(&answer, FrameType::kSnapshotResult,
              EncodeSnapshotResult(outcome.ok(), AsStd(outcome.message())));
  // Best effort: a sender whose connection broke learns from the break.
  (void)co_await WriteWithin(context, *link->connection, answer);
  co_return outcome;
}

absl::Status PrepareSnapshotDir(PeerContext& context) {
  const std::string& dir = context.options().snapshot_dir;
  KEEL_ASSERT(!dir.empty());
  FileSystem& fs = context.env().fs();
  KEEL_RETURN_IF_ERROR(CreateDirs(fs, dir));
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(dir));
  for (const std::string& name : names) {
    if (!HasSuffix(name, kPartialSnapshotSuffix)) continue;
    KEEL_RETURN_IF_ERROR(fs.Remove(JoinPath(dir, name)));
    context.log().Info("removed a partially received snapshot",
                       {{"path", JoinPath(dir, name)}});
  }
  return absl::OkStatus();
}

}  // namespace peer
}  // namespace keel::net
