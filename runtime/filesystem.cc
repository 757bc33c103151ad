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

}  // namespace keel
