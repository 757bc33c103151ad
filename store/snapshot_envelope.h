// The envelope etcd's clients expect around a `snapshot save` stream.
//
// etcdctl 3.4 accepts a downloaded snapshot only if its size is 32 more
// than a multiple of 512 (bbolt pages plus an appended SHA-256), and
// etcdutl-style restore checks that SHA-256. keel's Maintenance.Snapshot
// therefore streams its own snapshot file (store/snapshot_file.h) wrapped
// as:
//
//   keel snapshot file | zero bytes | file_length u64 LE | SHA-256 (32)
//
// with as many zeros as put the length field's end on a 512-byte boundary,
// and the SHA-256 over everything before it. The reader finds the keel
// file inside by the length field; a bare keel file (no envelope) is read
// as it is.
#ifndef KEEL_STORE_SNAPSHOT_ENVELOPE_H_
#define KEEL_STORE_SNAPSHOT_ENVELOPE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/sha256.h"

namespace keel::store {

inline constexpr uint64_t kEnvelopeAlignBytes = 512;

// The bytes that follow a keel snapshot file of `file_bytes` bytes whose
// running SHA-256 is `hash` (consumed): zeros, the length, the digest.
std::string EnvelopeTail(uint64_t file_bytes, Sha256 hash);

// For a file of `size` bytes: the length of the keel snapshot file inside
// an envelope, or `size` when the file has no envelope. With `verify_hash`,
// an enveloped file whose SHA-256 does not match is DataLoss (etcd's
// "expected sha256 ..." refusal). Reads the whole file when verifying.
absl::StatusOr<uint64_t> UnwrapEnvelope(File& file, uint64_t size, bool verify_hash,
                                        const std::string& path);

}  // namespace keel::store

#endif  // KEEL_STORE_SNAPSHOT_ENVELOPE_H_
