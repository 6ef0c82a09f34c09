#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/blob/blob_store.hpp"

namespace gencache::blob {

// Blobs in a local directory: `dir/<first two hex digits>/<sha256>`, one
// plain file per blob whose mtime is its last_used. Writers spool to
// `dir/tmp/<pid>.<n>.<random>`; Commit fsyncs the file, link(2)s it under its
// final name (which never exists half-written) and fsyncs the directory, so a
// crash leaves either the whole blob or none. When the name exists already
// the spool file is dropped and the existing blob's mtime is set to now.
//
// Thread-safe: the store keeps no state beyond the directory. Several
// processes may share one directory; Create removes spool files whose
// process is gone (or is this one), so a crash leaks nothing past the next
// start. Every call blocks on disk; Open is one open(2) and one fstat(2)
// (OpenIsCheap).
class LocalBlobStore final : public BlobStore {
 public:
  // Creates `dir` and `dir/tmp` when missing and removes stale spool files.
  // Errors: Internal when the directory cannot be made or read.
  static absl::StatusOr<std::unique_ptr<LocalBlobStore>> Create(std::filesystem::path dir);

  std::string_view kind() const override { return "local"; }
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override;
  absl::StatusOr<BlobInfo> Stat(std::string_view sha256) override;
  absl::StatusOr<OpenBlob> Open(std::string_view sha256) override;
  bool OpenIsCheap() const override { return true; }
  absl::Status Delete(std::string_view sha256) override;
  absl::Status ForEach(const std::function<void(const BlobInfo&)>& visit) override;

  const std::filesystem::path& dir() const { return dir_; }
  // Where the blob named `sha256` lives (whether or not it exists).
  // REQUIRES: IsBlobName(sha256).
  std::filesystem::path PathOf(std::string_view sha256) const;

 private:
  explicit LocalBlobStore(std::filesystem::path dir);

  // Spool files left by processes that no longer run (or by an earlier life
  // of this pid). Returns how many were removed.
  absl::StatusOr<int> RemoveStaleSpoolFiles();

  const std::filesystem::path dir_;
  const std::filesystem::path tmp_dir_;
  std::atomic<std::uint64_t> next_spool_{0};
};

}  // namespace gencache::blob
