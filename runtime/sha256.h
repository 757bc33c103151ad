// SHA-256 (FIPS 180-4), incremental. etcd appends the SHA-256 of a snapshot
// to the `snapshot save` stream and etcdctl checks that it is there, so
// keel's Maintenance.Snapshot ends its stream the same way. Not for
// security decisions.
#ifndef KEEL_RUNTIME_SHA256_H_
#define KEEL_RUNTIME_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel {

class Sha256 {
 public:
  static constexpr size_t kDigestBytes = 32;
  using Digest = std::array<uint8_t, kDigestBytes>;

  Sha256();
  // Adds `data` to the message. Any number of calls, of any sizes.
  void Update(std::string_view data);
  // The digest of everything added; the object is spent afterwards.
  Digest Finish();

  // One-shot convenience.
  static Digest Of(std::string_view data);

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_SHA256_H_
