// StringFile: a File held in a std::string, for tests and fuzz targets
// that read or write a format (bbolt, etcd snapshots) without a disk.
#ifndef KEEL_STORE_STRING_FILE_H_
#define KEEL_STORE_STRING_FILE_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/filesystem.h"

namespace keel::store {

class StringFile final : public File {
 public:
  StringFile() = default;
  explicit StringFile(std::string data) : data_(std::move(data)) {}

  std::string& data() { return data_; }
  const std::string& data() const { return data_; }

  absl::StatusOr<uint64_t> Size() const override { return data_.size(); }
  absl::Status Append(std::string_view data) override {
    data_.append(data);
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    if (data_.size() < offset + data.size()) data_.resize(offset + data.size(), '\0');
    data_.replace(offset, data.size(), data);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadAt(uint64_t offset, size_t n) const override {
    if (offset >= data_.size()) return std::string();
    return data_.substr(offset, std::min<uint64_t>(n, data_.size() - offset));
  }
  absl::Status Truncate(uint64_t size) override {
    data_.resize(size, '\0');
    return absl::OkStatus();
  }
  Task<absl::Status> Sync() override { co_return absl::OkStatus(); }
  absl::Status SyncNow() override { return absl::OkStatus(); }

 private:
  std::string data_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_STRING_FILE_H_
