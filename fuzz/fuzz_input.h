// FuzzInput: reads a fuzzer's bytes as a stream of small decisions.
//
// Every read succeeds: past the end, bytes read as zero and strings as
// empty, so a harness never has to check lengths and a truncated input is
// just a shorter run. Shared by the fuzz targets and the corpus generator
// (which writes the same encoding with FuzzOutput).
#ifndef KEEL_FUZZ_FUZZ_INPUT_H_
#define KEEL_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace keel::fuzz {

// KEEL_FUZZ_VERBOSE=1 makes targets say what each input did (to check that
// seeds reach what they are meant to).
inline bool Verbose() {
  static const bool verbose = std::getenv("KEEL_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}
  explicit FuzzInput(std::string_view data) : data_(data) {}

  bool empty() const { return position_ >= data_.size(); }
  size_t remaining() const { return data_.size() - position_; }

  uint8_t Byte() {
    if (empty()) return 0;
    return static_cast<uint8_t>(data_[position_++]);
  }
  // Little-endian, `bytes` of them (at most 8).
  uint64_t Number(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++) value |= uint64_t{Byte()} << (8 * i);
    return value;
  }
  // A length-prefixed string: one length byte (two if the first is 255).
  std::string_view String() {
    size_t length = Byte();
    if (length == 255) length = Number(2);
    return Take(length);
  }
  std::string_view Take(size_t length) {
    if (length > remaining()) length = remaining();
    std::string_view out = data_.substr(position_, length);
    position_ += length;
    return out;
  }
  std::string_view Rest() { return Take(remaining()); }

 private:
  std::string_view data_;
  size_t position_ = 0;
};

// The writer of FuzzInput's encoding, for the corpus generator.
class FuzzOutput {
 public:
  FuzzOutput& Byte(uint8_t value) {
    out_.push_back(static_cast<char>(value));
    return *this;
  }
  FuzzOutput& Number(uint64_t value, int bytes) {
    for (int i = 0; i < bytes; i++) Byte(static_cast<uint8_t>(value >> (8 * i)));
    return *this;
  }
  FuzzOutput& String(std::string_view value) {
    if (value.size() < 255) {
      Byte(static_cast<uint8_t>(value.size()));
    } else {
      Byte(255).Number(value.size(), 2);
    }
    out_.append(value.substr(0, 0xffff));
    return *this;
  }
  FuzzOutput& Raw(std::string_view value) {
    out_.append(value);
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace keel::fuzz

#endif  // KEEL_FUZZ_FUZZ_INPUT_H_
