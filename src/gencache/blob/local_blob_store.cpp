#include "gencache/blob/local_blob_store.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <system_error>
#include <utility>

#include "fmt/format.h"
#include "gencache/base/sha256.hpp"
#include "gencache/base/unique_fd.hpp"
#include "spdlog/spdlog.h"

namespace gencache::blob {
namespace {

// Commit retries when a concurrent Delete removes the name it raced with.
constexpr int kCommitAttempts = 4;

absl::Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

base::SystemTime ToSystemTime(const struct timespec& ts) {
  return base::SystemTime(std::chrono::duration_cast<base::SystemTime::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

BlobInfo InfoOf(std::string sha256, const struct stat& st) {
  return BlobInfo{.sha256 = std::move(sha256),
                  .size = static_cast<std::uint64_t>(st.st_size),
                  .last_used = ToSystemTime(st.st_mtim)};
}

absl::Status FsyncDir(const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open", path, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync", path, errno);
  return absl::OkStatus();
}

// Makes `path` a directory; fsyncs `parent` when it was created, so the
// new entry survives a crash along with the blob linked into it.
absl::Status MakeDir(const std::string& path, const std::string& parent) {
  if (::mkdir(path.c_str(), 0755) == 0) return FsyncDir(parent);
  if (errno == EEXIST) return absl::OkStatus();
  return ErrnoError("mkdir", path, errno);
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

bool IsShardName(std::string_view name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return name.size() == 2 && hex(name[0]) && hex(name[1]);
}

// The pid a spool file name starts with ("<pid>.<n>.<random>"), or 0.
pid_t SpoolOwner(std::string_view name) {
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.') {
    return 0;
  }
  return pid;
}

class LocalBlobWriter final : public BlobWriter {
 public:
  LocalBlobWriter(std::string dir, base::UniqueFd fd, std::string spool_path)
      : dir_(std::move(dir)), fd_(std::move(fd)), spool_path_(std::move(spool_path)) {}
  ~LocalBlobWriter() override { Discard(); }

  absl::Status Append(std::string_view bytes) override {
    if (spent_) return absl::FailedPreconditionError("blob writer already committed");
    absl::Status written = WriteAll(fd_.get(), bytes, spool_path_);
    if (!written.ok()) {
      Discard();
      return written;
    }
    hasher_.Update(bytes);
    size_ += bytes.size();
    return absl::OkStatus();
  }

  std::uint64_t size() const override { return size_; }

  absl::StatusOr<BlobInfo> Commit() override {
    if (spent_) return absl::FailedPreconditionError("blob writer already committed");
    absl::StatusOr<BlobInfo> info = Publish();
    Discard();
    return info;
  }

 private:
  absl::StatusOr<BlobInfo> Publish() {
    spent_ = true;
    if (::fdatasync(fd_.get()) != 0) return ErrnoError("fdatasync", spool_path_, errno);
    std::string sha = hasher_.FinishHex();
    const std::string shard = fmt::format("{}/{}", dir_, std::string_view(sha).substr(0, 2));
    const std::string final_path = fmt::format("{}/{}", shard, sha);
    for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
      if (::link(spool_path_.c_str(), final_path.c_str()) == 0) {
        absl::Status synced = FsyncDir(shard);
        if (!synced.ok()) return synced;
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0) return ErrnoError("fstat", spool_path_, errno);
        return InfoOf(std::move(sha), st);
      }
      if (errno == ENOENT) {
        // No shard directory yet (or a concurrent Delete removed it).
        absl::Status made = MakeDir(shard, dir_);
        if (!made.ok()) return made;
        continue;
      }
      if (errno != EEXIST) return ErrnoError("link", final_path, errno);

      // Stored already: keep the existing file and refresh its last_used.
      struct stat st {};
      if (::stat(final_path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // deleted since link saw it
        return ErrnoError("stat", final_path, errno);
      }
      if (static_cast<std::uint64_t>(st.st_size) != size_) {
        // Same name, other size: the file on disk was damaged outside the
        // store. Replace it with the bytes that match the name.
        spdlog::warn("blob {} on disk has {} bytes, expected {}: replacing it", final_path,
                     st.st_size, size_);
        if (::rename(spool_path_.c_str(), final_path.c_str()) != 0) {
          return ErrnoError("rename", final_path, errno);
        }
        absl::Status synced = FsyncDir(shard);
        if (!synced.ok()) return synced;
        if (::fstat(fd_.get(), &st) != 0) return ErrnoError("fstat", final_path, errno);
        return InfoOf(std::move(sha), st);
      }
      if (::utimensat(AT_FDCWD, final_path.c_str(), nullptr, 0) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError("utimensat", final_path, errno);
      }
      if (::stat(final_path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError("stat", final_path, errno);
      }
      return InfoOf(std::move(sha), st);
    }
    return absl::InternalError(
        fmt::format("commit {}: the name kept changing under concurrent deletes", final_path));
  }

  // Drops the spool file; after a successful link the blob has its own name.
  void Discard() {
    spent_ = true;
    fd_.Reset();
    if (!spool_path_.empty()) {
      if (::unlink(spool_path_.c_str()) != 0 && errno != ENOENT) {
        spdlog::warn("cannot remove spool file {}: {}", spool_path_, std::strerror(errno));
      }
      spool_path_.clear();
    }
  }

  const std::string dir_;
  base::UniqueFd fd_;
  std::string spool_path_;
  base::Sha256Hasher hasher_;
  std::uint64_t size_ = 0;
  bool spent_ = false;
};

}  // namespace

LocalBlobStore::LocalBlobStore(std::filesystem::path dir)
    : dir_(std::move(dir)), tmp_dir_(dir_ / "tmp") {}

absl::StatusOr<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Create(std::filesystem::path dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("create {}: {}", dir.string(), ec.message()));
  auto store = std::unique_ptr<LocalBlobStore>(new LocalBlobStore(std::move(dir)));
  absl::Status made = MakeDir(store->tmp_dir_.string(), store->dir_.string());
  if (!made.ok()) return made;
  absl::StatusOr<int> removed = store->RemoveStaleSpoolFiles();
  if (!removed.ok()) return removed.status();
  if (*removed > 0) {
    spdlog::info("blob store {}: removed {} stale spool files", store->dir_.string(), *removed);
  }
  return store;
}

absl::StatusOr<int> LocalBlobStore::RemoveStaleSpoolFiles() {
  const std::string tmp = tmp_dir_.string();
  DIR* listing = ::opendir(tmp.c_str());
  if (listing == nullptr) return ErrnoError("opendir", tmp, errno);
  int removed = 0;
  const pid_t self = ::getpid();
  while (const struct dirent* entry = ::readdir(listing)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    const pid_t owner = SpoolOwner(name);
    const bool stale = owner <= 0 || owner == self || (::kill(owner, 0) != 0 && errno == ESRCH);
    if (!stale) continue;
    const std::string path = fmt::format("{}/{}", tmp, name);
    if (::unlink(path.c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      spdlog::warn("cannot remove stale spool file {}: {}", path, std::strerror(errno));
    }
  }
  ::closedir(listing);
  return removed;
}

std::filesystem::path LocalBlobStore::PathOf(std::string_view sha256) const {
  return dir_ / sha256.substr(0, 2) / sha256;
}

absl::StatusOr<std::unique_ptr<BlobWriter>> LocalBlobStore::NewWriter() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::string tmp = tmp_dir_.string();
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string path = fmt::format("{}/{}.{}.{:016x}", tmp, ::getpid(),
                                   next_spool_.fetch_add(1, std::memory_order_relaxed), random());
    base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.valid()) {
      return std::make_unique<LocalBlobWriter>(dir_.string(), std::move(fd), std::move(path));
    }
    if (errno != EEXIST) return ErrnoError("create spool file", path, errno);
  }
  return absl::InternalError(fmt::format("no free spool file name in {}", tmp));
}

absl::StatusOr<BlobInfo> LocalBlobStore::Stat(std::string_view sha256) {
  if (!IsBlobName(sha256)) return absl::InvalidArgumentError("not a blob name");
  const std::string path = PathOf(sha256).string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(fmt::format("no blob {}", sha256));
    return ErrnoError("stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) return absl::InternalError(fmt::format("{} is not a file", path));
  return InfoOf(std::string(sha256), st);
}

absl::StatusOr<OpenBlob> LocalBlobStore::Open(std::string_view sha256) {
  if (!IsBlobName(sha256)) return absl::InvalidArgumentError("not a blob name");
  const std::string path = PathOf(sha256).string();
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return absl::NotFoundError(fmt::format("no blob {}", sha256));
    return ErrnoError("open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) return absl::InternalError(fmt::format("{} is not a file", path));
  return OpenBlob{.fd = std::move(fd), .size = static_cast<std::uint64_t>(st.st_size)};
}

absl::Status LocalBlobStore::Delete(std::string_view sha256) {
  if (!IsBlobName(sha256)) return absl::InvalidArgumentError("not a blob name");
  const std::string path = PathOf(sha256).string();
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(fmt::format("no blob {}", sha256));
    return ErrnoError("unlink", path, errno);
  }
  return absl::OkStatus();
}

absl::Status LocalBlobStore::ForEach(const std::function<void(const BlobInfo&)>& visit) {
  const std::string root = dir_.string();
  DIR* shards = ::opendir(root.c_str());
  if (shards == nullptr) return ErrnoError("opendir", root, errno);
  absl::Status status = absl::OkStatus();
  while (const struct dirent* shard_entry = ::readdir(shards)) {
    const std::string_view shard = shard_entry->d_name;
    if (!IsShardName(shard)) continue;
    const std::string shard_path = fmt::format("{}/{}", root, shard);
    DIR* blobs = ::opendir(shard_path.c_str());
    if (blobs == nullptr) {
      if (errno == ENOENT) continue;
      status = ErrnoError("opendir", shard_path, errno);
      break;
    }
    while (const struct dirent* entry = ::readdir(blobs)) {
      const std::string_view name = entry->d_name;
      if (!IsBlobName(name) || name.substr(0, 2) != shard) continue;
      struct stat st {};
      if (::fstatat(::dirfd(blobs), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // deleted during the walk
        status = ErrnoError("stat", fmt::format("{}/{}", shard_path, name), errno);
        break;
      }
      if (!S_ISREG(st.st_mode)) continue;
      visit(InfoOf(std::string(name), st));
    }
    ::closedir(blobs);
    if (!status.ok()) break;
  }
  ::closedir(shards);
  return status;
}

}  // namespace gencache::blob
