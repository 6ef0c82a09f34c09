#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/unique_fd.hpp"

namespace gencache::blob {

// A stored blob. Blobs are content-addressed: `sha256` (64 lowercase hex
// digits) is the SHA-256 of the bytes and the blob's only name.
struct BlobInfo {
  std::string sha256;
  std::uint64_t size = 0;
  // Last time the blob was written or re-committed (Commit of bytes already
  // stored refreshes it). Garbage collection keeps blobs younger than its
  // grace period, which protects a blob between its Commit and the cache
  // entry that will point at it.
  base::SystemTime last_used{};
};

// A blob opened for reading: a local file whose bytes [0, size) are the
// blob's. For a remote store the file is a private spooled copy (already
// unlinked), so the reader never depends on the remote staying reachable.
// The bytes stay readable after the blob is deleted (GC may run while a
// response is being sent). Read with pread(2): the file offset is
// unspecified.
struct OpenBlob {
  base::UniqueFd fd;
  std::uint64_t size = 0;
};

// Bytes on their way into a store. They are spooled to a temporary file and
// hashed as they arrive, so memory stays bounded whatever the size. Not
// thread-safe: one writer belongs to one download.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // an uncommitted writer discards its bytes

  virtual absl::Status Append(std::string_view bytes) = 0;
  virtual std::uint64_t size() const = 0;

  // Makes the bytes durable under their SHA-256 and returns the blob. If the
  // same bytes are already stored they are kept (stored once) and their
  // last_used is refreshed. Never leaves a partial blob under a final name:
  // a crash at any point leaves either the whole blob or none. The writer is
  // spent afterwards: Append and Commit then return FailedPrecondition, as
  // they do after a failed Commit.
  virtual absl::StatusOr<BlobInfo> Commit() = 0;
};

// Content-addressed blob storage: a local directory (the embedded default) or
// an S3-compatible bucket. Thread-safe. Every call may block on disk or
// network I/O: call it off the event loops (the one exception is
// OpenIsCheap() stores, whose Open is a local open(2) and fstat(2)).
//
// Errors: NotFound for an unknown blob; InvalidArgument for a name that is
// not 64 lowercase hex digits; Unavailable when the backend cannot be
// reached; Internal for local I/O errors.
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // "local" or "s3", for logs and metrics.
  virtual std::string_view kind() const = 0;

  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() = 0;

  virtual absl::StatusOr<BlobInfo> Stat(std::string_view sha256) = 0;

  virtual absl::StatusOr<OpenBlob> Open(std::string_view sha256) = 0;

  // True when Open needs no network (a local directory).
  virtual bool OpenIsCheap() const = 0;

  // Deletes the blob; NotFound when there is none.
  virtual absl::Status Delete(std::string_view sha256) = 0;

  // Calls `visit` for every stored blob, in no particular order. Blobs
  // committed or deleted during the walk may or may not be visited.
  virtual absl::Status ForEach(const std::function<void(const BlobInfo&)>& visit) = 0;
};

// True when `name` is 64 lowercase hex digits.
bool IsBlobName(std::string_view name);

}  // namespace gencache::blob
