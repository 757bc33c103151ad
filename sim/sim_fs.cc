// SimDisk's namespace: paths, directories, opening, renaming, locks, and the
// FileSystem view a process gets. File data, syncs, crashes and faults are in
// sim_disk.cc.
#include "sim/sim_fs.h"

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "sim/sim_fs_internal.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

std::string Leaf(const std::vector<std::string>& parts) { return parts.back(); }

}  // namespace

SimDisk::SimDisk(SimWorld& world, uint64_t id, std::string name,
                 DiskOptions options, uint64_t seed)
    : world_(world),
      id_(id),
      name_(std::move(name)),
      options_(options),
      random_(seed) {
  KEEL_ASSERT(options_.sync_latency_min <= options_.sync_latency_max);
  root_ = NewInode(/*is_dir=*/true);
}

SimDisk::~SimDisk() = default;

std::shared_ptr<SimInode> SimDisk::NewInode(bool is_dir) {
  return std::make_shared<SimInode>(next_inode_id_++, is_dir);
}

std::unique_ptr<FileSystem> SimDisk::NewView(uint64_t owner) {
  return std::make_unique<SimFileSystem>(this, owner);
}

void SimDisk::ReleaseOwner(uint64_t owner) {
  for (auto it = locks_.begin(); it != locks_.end();) {
    it = it->second.owner == owner ? locks_.erase(it) : std::next(it);
  }
}

void SimDisk::Wipe() {
  root_ = NewInode(/*is_dir=*/true);
  locks_.clear();
  damage_count_ = 0;
  world_.trace().Record(TraceKind::kDiskCrash, id_, 1);
}

absl::StatusOr<std::vector<std::string>> SimDisk::Split(
    std::string_view path) const {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      return absl::InvalidArgumentError(
          StrCat("path ", path, ": '..' is not supported"));
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::shared_ptr<SimInode> SimDisk::Lookup(
    const std::vector<std::string>& parts) const {
  std::shared_ptr<SimInode> node = root_;
  for (const std::string& part : parts) {
    if (!node->is_dir) return nullptr;
    auto it = node->entries.find(part);
    if (it == node->entries.end()) return nullptr;
    node = it->second;
  }
  return node;
}

absl::StatusOr<std::shared_ptr<SimInode>> SimDisk::Parent(
    const std::vector<std::string>& parts) const {
  KEEL_ASSERT(!parts.empty());
  std::shared_ptr<SimInode> node = root_;
  for (size_t i = 0; i + 1 < parts.size(); i++) {
    auto it = node->entries.find(parts[i]);
    if (it == node->entries.end()) {
      return absl::NotFoundError(StrCat(JoinParts(parts), ": no such directory"));
    }
    node = it->second;
    if (!node->is_dir) {
      return absl::FailedPreconditionError(
          StrCat(JoinParts(parts), ": a parent is not a directory"));
    }
  }
  return node;
}

absl::StatusOr<std::string> SimDisk::DurableContents(
    std::string_view path) const {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, Split(path));
  std::shared_ptr<SimInode> node = root_;
  for (const std::string& part : parts) {
    auto it = node->durable_entries.find(part);
    if (!node->is_dir || it == node->durable_entries.end()) {
      return absl::NotFoundError(StrCat(path, ": not durable"));
    }
    node = it->second;
  }
  if (node->is_dir) return absl::FailedPreconditionError("is a directory");
  return node->durable;
}

uint64_t SimDisk::StateHash() const {
  uint64_t hash = 0;
  // Walks the cached tree, folding in names, cached and durable bytes.
  std::vector<std::pair<std::string, const SimInode*>> stack = {{"", root_.get()}};
  while (!stack.empty()) {
    auto [path, node] = stack.back();
    stack.pop_back();
    hash = Mix64(hash ^ HashBytes(path));
    if (!node->is_dir) {
      hash = Mix64(hash ^ HashBytes(node->data));
      hash = Mix64(hash ^ HashBytes(node->durable));
      continue;
    }
    hash = Mix64(hash ^ node->durable_entries.size());
    for (const auto& [name, child] : node->entries) {
      stack.emplace_back(path + "/" + name, child.get());
    }
  }
  return hash;
}

absl::Status SimDisk::CorruptBit(std::string_view path, uint64_t offset,
                                 int bit) {
  KEEL_ASSERT(bit >= 0 && bit < 8);
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, Split(path));
  std::shared_ptr<SimInode> inode = Lookup(parts);
  if (inode == nullptr || inode->is_dir) {
    return absl::NotFoundError(StrCat(path, ": no such file"));
  }
  if (offset >= inode->data.size()) {
    return absl::OutOfRangeError(StrCat(path, ": offset past the end"));
  }
  inode->data[offset] = static_cast<char>(inode->data[offset] ^ (1 << bit));
  if (offset < inode->durable.size()) {
    inode->durable[offset] =
        static_cast<char>(inode->durable[offset] ^ (1 << bit));
  }
  stats_.corrupted_bits++;
  damage_count_++;
  world_.trace().Record(TraceKind::kDiskFault, id_, 5, offset);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SimDisk::RotRandomBit(std::string_view path_contains) {
  std::vector<std::pair<std::string, uint64_t>> candidates;
  std::vector<std::pair<std::string, const SimInode*>> stack = {{"", root_.get()}};
  while (!stack.empty()) {
    auto [path, node] = stack.back();
    stack.pop_back();
    if (!node->is_dir) {
      const uint64_t size = std::min(node->durable.size(), node->data.size());
      if (size > 0 && path.find(path_contains) != std::string::npos) {
        candidates.emplace_back(path, size);
      }
      continue;
    }
    for (const auto& [name, child] : node->entries) {
      stack.emplace_back(path.empty() ? name : path + "/" + name, child.get());
    }
  }
  if (candidates.empty()) return absl::NotFoundError("no durable bytes to rot");
  const auto& [path, size] = candidates[random_.Uniform(candidates.size())];
  const uint64_t offset = random_.Uniform(size);
  KEEL_RETURN_IF_ERROR(
      CorruptBit(path, offset, static_cast<int>(random_.Uniform(8))));
  return StrCat(path, "@", offset);
}

// --- The view a process sees. ---

absl::StatusOr<std::unique_ptr<File>> SimFileSystem::Open(
    std::string_view path, OpenOptions options) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  if (parts.empty()) return absl::FailedPreconditionError("/ is a directory");
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> parent, disk_->Parent(parts));
  std::shared_ptr<SimInode> inode;
  auto it = parent->entries.find(Leaf(parts));
  if (it != parent->entries.end()) {
    inode = it->second;
    if (inode->is_dir) {
      return absl::FailedPreconditionError(StrCat(path, " is a directory"));
    }
    if (options.create && options.exclusive) {
      return absl::AlreadyExistsError(StrCat(path, " exists"));
    }
    if (options.truncate && !options.read_only) {
      KEEL_RETURN_IF_ERROR(disk_->Truncate(*inode, 0));
    }
  } else {
    if (!options.create || options.read_only) {
      return absl::NotFoundError(StrCat(path, ": no such file"));
    }
    inode = disk_->NewInode(/*is_dir=*/false);
    parent->entries[Leaf(parts)] = inode;
  }
  return std::make_unique<SimFile>(disk_, std::move(inode), JoinParts(parts),
                                   options.read_only);
}

absl::Status SimFileSystem::Rename(std::string_view from, std::string_view to) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> source, disk_->Split(from));
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> target, disk_->Split(to));
  if (source.empty() || target.empty()) {
    return absl::InvalidArgumentError("cannot rename the root");
  }
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> source_dir,
                        disk_->Parent(source));
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> target_dir,
                        disk_->Parent(target));
  auto it = source_dir->entries.find(Leaf(source));
  if (it == source_dir->entries.end()) {
    return absl::NotFoundError(StrCat(from, ": no such file"));
  }
  std::shared_ptr<SimInode> inode = it->second;
  if (source == target) return absl::OkStatus();
  if (inode->is_dir && target.size() > source.size() &&
      std::equal(source.begin(), source.end(), target.begin())) {
    return absl::InvalidArgumentError(
        StrCat("rename ", from, " into itself"));
  }
  auto existing = target_dir->entries.find(Leaf(target));
  if (existing != target_dir->entries.end()) {
    const SimInode& victim = *existing->second;
    if (victim.is_dir != inode->is_dir) {
      return absl::FailedPreconditionError(
          StrCat("rename ", from, " over ", to, ": not the same kind"));
    }
    if (victim.is_dir && !victim.entries.empty()) {
      return absl::FailedPreconditionError(
          StrCat("rename over ", to, ": directory not empty"));
    }
  }
  source_dir->entries.erase(Leaf(source));
  target_dir->entries[Leaf(target)] = std::move(inode);
  return absl::OkStatus();
}

absl::Status SimFileSystem::Remove(std::string_view path) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  if (parts.empty()) return absl::FailedPreconditionError("/ is a directory");
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> parent, disk_->Parent(parts));
  auto it = parent->entries.find(Leaf(parts));
  if (it == parent->entries.end()) {
    return absl::NotFoundError(StrCat(path, ": no such file"));
  }
  if (it->second->is_dir) {
    return absl::FailedPreconditionError(StrCat(path, " is a directory"));
  }
  parent->entries.erase(it);
  return absl::OkStatus();
}

absl::Status SimFileSystem::CreateDir(std::string_view path) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  if (parts.empty()) return absl::AlreadyExistsError("/ exists");
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> parent, disk_->Parent(parts));
  if (parent->entries.count(Leaf(parts)) > 0) {
    return absl::AlreadyExistsError(StrCat(path, " exists"));
  }
  parent->entries[Leaf(parts)] = disk_->NewInode(/*is_dir=*/true);
  return absl::OkStatus();
}

absl::Status SimFileSystem::RemoveDir(std::string_view path) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  if (parts.empty()) return absl::FailedPreconditionError("cannot remove /");
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<SimInode> parent, disk_->Parent(parts));
  auto it = parent->entries.find(Leaf(parts));
  if (it == parent->entries.end()) {
    return absl::NotFoundError(StrCat(path, ": no such directory"));
  }
  if (!it->second->is_dir) {
    return absl::FailedPreconditionError(StrCat(path, " is not a directory"));
  }
  if (!it->second->entries.empty()) {
    return absl::FailedPreconditionError(StrCat(path, ": directory not empty"));
  }
  parent->entries.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SimFileSystem::List(
    std::string_view dir) const {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(dir));
  std::shared_ptr<SimInode> node = disk_->Lookup(parts);
  if (node == nullptr) return absl::NotFoundError(StrCat(dir, ": not found"));
  if (!node->is_dir) {
    return absl::FailedPreconditionError(StrCat(dir, " is not a directory"));
  }
  std::vector<std::string> names;
  names.reserve(node->entries.size());
  for (const auto& [name, child] : node->entries) names.push_back(name);
  return names;
}

absl::StatusOr<FileInfo> SimFileSystem::Stat(std::string_view path) const {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  std::shared_ptr<SimInode> node = disk_->Lookup(parts);
  if (node == nullptr) return absl::NotFoundError(StrCat(path, ": not found"));
  return FileInfo{.size = node->is_dir ? 0 : node->data.size(),
                  .is_directory = node->is_dir};
}

Task<absl::Status> SimFileSystem::SyncDir(std::string_view dir) {
  return disk_->SyncDirectory(std::string(dir));
}

absl::Status SimFileSystem::SyncDirNow(std::string_view dir) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(dir));
  std::shared_ptr<SimInode> node = disk_->Lookup(parts);
  if (node == nullptr || !node->is_dir) {
    return absl::NotFoundError(StrCat(dir, ": no such directory"));
  }
  return disk_->FinishSyncDir(*node, JoinParts(parts), node->entries);
}

absl::StatusOr<std::unique_ptr<FileLock>> SimFileSystem::Lock(
    std::string_view path) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> parts, disk_->Split(path));
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                        Open(path, OpenOptions{.create = true}));
  const std::string key = JoinParts(parts);
  if (disk_->locks_.count(key) > 0) {
    return absl::UnavailableError(StrCat("lock ", path, ": held by another process"));
  }
  const uint64_t token = disk_->next_lock_token_++;
  disk_->locks_[key] = SimDisk::LockHolder{owner_, token};
  return std::make_unique<SimFileLock>(disk_, key, token);
}

SimFileLock::~SimFileLock() {
  auto it = disk_->locks_.find(path_);
  if (it != disk_->locks_.end() && it->second.token == token_) {
    disk_->locks_.erase(it);
  }
}

}  // namespace keel::sim
