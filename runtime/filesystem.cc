// Path helpers shared by every FileSystem.
#include "runtime/filesystem.h"

#include "runtime/strings.h"

namespace keel {

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return StrCat(dir, name);
  return StrCat(dir, "/", name);
}

absl::Status CreateDirs(FileSystem& fs, std::string_view path) {
  if (path.empty()) return absl::OkStatus();
  auto info = fs.Stat(path);
  if (info.ok()) {
    if (info->is_directory) return absl::OkStatus();
    return absl::FailedPreconditionError(
        StrCat(path, " exists and is not a directory"));
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  const size_t slash = path.find_last_of('/');
  if (slash != std::string_view::npos && slash > 0) {
    absl::Status parent = CreateDirs(fs, path.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  absl::Status created = fs.CreateDir(path);
  if (absl::IsAlreadyExists(created)) return absl::OkStatus();
  return created;
}

absl::Status RemoveTree(FileSystem& fs, std::string_view path) {
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (absl::IsNotFound(info.status())) return absl::OkStatus();
  if (!info.ok()) return info.status();
  if (!info->is_directory) return fs.Remove(path);
  absl::StatusOr<std::vector<std::string>> names = fs.List(path);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    absl::Status removed = RemoveTree(fs, JoinPath(path, name));
    if (!removed.ok()) return removed;
  }
  return fs.RemoveDir(path);
}

}  // namespace keel
