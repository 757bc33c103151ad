// The trace's text form, written only when a trace file is attached.
#include "sim/trace.h"

#include <cinttypes>

#include "runtime/crc32c.h"

namespace keel::sim {

std::string_view TraceKindName(TraceKind kind) {
  switch (kind) {
    case TraceKind::kResume:
      return "resume";
    case TraceKind::kTimer:
      return "timer";
    case TraceKind::kNetConnect:
      return "net.connect";
    case TraceKind::kNetDeliver:
      return "net.deliver";
    case TraceKind::kNetClose:
      return "net.close";
    case TraceKind::kNetReset:
      return "net.reset";
    case TraceKind::kNetFault:
      return "net.fault";
    case TraceKind::kDiskWrite:
      return "disk.write";
    case TraceKind::kDiskSync:
      return "disk.sync";
    case TraceKind::kDiskCrash:
      return "disk.crash";
    case TraceKind::kDiskFault:
      return "disk.fault";
    case TraceKind::kProcess:
      return "process";
    case TraceKind::kNemesis:
      return "nemesis";
    case TraceKind::kLog:
      return "log";
    case TraceKind::kNote:
      return "note";
  }
  return "unknown";
}

uint64_t HashBytes(std::string_view bytes) {
  const uint32_t crc = crc32c::Value(bytes);
  return Mix64((static_cast<uint64_t>(crc) << 32) ^ bytes.size());
}

Trace::~Trace() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status Trace::OpenFile(const std::string& path) {
  if (file_ != nullptr) std::fclose(file_);
  file_ = std::fopen(path.c_str(), "w");
  if (file_ == nullptr) {
    return absl::InternalError("cannot create trace file " + path);
  }
  return absl::OkStatus();
}

void Trace::RecordName(TraceKind kind, std::string_view name) {
  std::FILE* file = file_;
  file_ = nullptr;
  Record(kind, HashBytes(name));
  file_ = file;
  if (file_ != nullptr) {
    std::fprintf(file_, "%" PRId64 " %.*s %.*s\n", ToNanoseconds(*now_),
                 static_cast<int>(TraceKindName(kind).size()),
                 TraceKindName(kind).data(), static_cast<int>(name.size()),
                 name.data());
  }
}

void Trace::RecordText(TraceKind kind, std::string_view text) {
  hash_ = Mix64(hash_ ^ (static_cast<uint64_t>(kind) << 56) ^
                static_cast<uint64_t>(ToNanoseconds(*now_)));
  hash_ = Mix64(hash_ ^ HashBytes(text));
  records_++;
  if (file_ != nullptr) {
    std::fprintf(file_, "%" PRId64 " %.*s %.*s\n", ToNanoseconds(*now_),
                 static_cast<int>(TraceKindName(kind).size()),
                 TraceKindName(kind).data(), static_cast<int>(text.size()),
                 text.data());
  }
}

void Trace::WriteLine(TraceKind kind, uint64_t a, uint64_t b, uint64_t c,
                      std::optional<size_t> bytes) {
  const std::string_view name = TraceKindName(kind);
  std::fprintf(file_, "%" PRId64 " %.*s %" PRIu64 " %" PRIu64 " %" PRIx64,
               ToNanoseconds(*now_), static_cast<int>(name.size()),
               name.data(), a, b, c);
  if (bytes.has_value()) std::fprintf(file_, " len=%zu", *bytes);
  std::fputc('\n', file_);
}

}  // namespace keel::sim
