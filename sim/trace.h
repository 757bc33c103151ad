// Trace: the running 64-bit hash of everything a simulated run does.
//
// The simulator's determinism check compares these hashes: two runs of one
// seed must feed the same records in the same order, so any hidden input
// (a real clock, pointer-ordered iteration, an unseeded random) shows up as a
// different hash. Every record carries the virtual time it happened at, a
// kind and a few numbers; byte payloads (network segments, disk writes) are
// folded in by their CRC32C. With a trace file attached, each record is also
// written as one text line, which is how two diverging runs are compared.
#ifndef KEEL_SIM_TRACE_H_
#define KEEL_SIM_TRACE_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/time.h"

namespace keel::sim {

enum class TraceKind : uint8_t {
  kResume = 1,   // a coroutine of a process resumed
  kTimer,        // a timer fired
  kNetConnect,   // a connection was established or refused
  kNetDeliver,   // bytes arrived at a connection's receiver
  kNetClose,     // an end-of-stream arrived
  kNetReset,     // a connection was reset
  kNetFault,     // a partition, clog or heal
  kDiskWrite,    // a write or truncate reached a file
  kDiskSync,     // a sync completed (or failed)
  kDiskCrash,    // a disk lost its unsynced state
  kDiskFault,    // an injected disk fault fired
  kProcess,      // a process started, was killed, paused, resumed or exited
  kNemesis,      // the nemesis began or ended a fault
  kLog,          // a log line was written
  kNote,         // anything else a scenario wants hashed
};

std::string_view TraceKindName(TraceKind kind);

// A strong 64-bit mixer (the MurmurHash3 finaliser). Exposed because seeds
// are derived with it too.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A stable hash of bytes (CRC32C and length), the same in every run and
// every build, unlike absl::Hash.
uint64_t HashBytes(std::string_view bytes);

class Trace {
 public:
  // `now` is the world's virtual time, read at each record.
  explicit Trace(const TimePoint* now) : now_(now) {}
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;
  ~Trace();

  // Folds one record into the hash.
  void Record(TraceKind kind, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
    hash_ = Mix64(hash_ ^ (static_cast<uint64_t>(kind) << 56) ^
                  static_cast<uint64_t>(ToNanoseconds(*now_)));
    hash_ = Mix64(hash_ ^ a);
    hash_ = Mix64(hash_ ^ (b + 0x9e3779b97f4a7c15ULL * c));
    records_++;
    if (file_ != nullptr) WriteLine(kind, a, b, c, {});
  }

  // Like Record, with a byte payload folded in by its hash.
  void RecordBytes(TraceKind kind, uint64_t a, uint64_t b,
                   std::string_view bytes) {
    const uint64_t digest = HashBytes(bytes);
    hash_ = Mix64(hash_ ^ (static_cast<uint64_t>(kind) << 56) ^
                  static_cast<uint64_t>(ToNanoseconds(*now_)));
    hash_ = Mix64(hash_ ^ a);
    hash_ = Mix64(hash_ ^ (b + 0x9e3779b97f4a7c15ULL * digest));
    records_++;
    if (file_ != nullptr) WriteLine(kind, a, b, digest, bytes.size());
  }

  // Like Record(kind, HashBytes(name)); the file shows the name.
  void RecordName(TraceKind kind, std::string_view name);

  // Folds free text in (a log line, a note); the file shows the text.
  void RecordText(TraceKind kind, std::string_view text);

  uint64_t hash() const { return hash_; }
  uint64_t records() const { return records_; }

  // Writes every later record to `path` as a text line. Internal if the file
  // cannot be created.
  absl::Status OpenFile(const std::string& path);

 private:
  void WriteLine(TraceKind kind, uint64_t a, uint64_t b, uint64_t c,
                 std::optional<size_t> bytes);

  const TimePoint* now_;
  uint64_t hash_ = 0x6b65656c73696dULL;  // "keelsim"
  uint64_t records_ = 0;
  std::FILE* file_ = nullptr;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_TRACE_H_
