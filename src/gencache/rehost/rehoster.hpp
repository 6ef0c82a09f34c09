#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gencache/base/clock.hpp"
#include "gencache/blob/blob_store.hpp"
#include "gencache/providers/provider_adapter.hpp"
#include "gencache/rehost/output_fetcher.hpp"

namespace gencache::rehost {

// The outcome of re-hosting one response. On success `body` is the response
// with permanent URLs; on failure it is the original body, untouched, and the
// caller must cap the cache entry's TTL below the original URLs' lifetime
// (earliest_expiry, else the provider's output_url_ttl).
struct RehostResult {
  // OK when every output URL was re-hosted (also when there was none). Else
  // the first failure: InvalidArgument (the body is not a JSON object or a
  // URL is malformed), PermissionDenied, ResourceExhausted, DataLoss,
  // NotFound, FailedPrecondition, Unavailable, DeadlineExceeded, or a blob
  // store error (see OutputFetcher and BlobStore).
  absl::Status status;
  std::string body;
  // SHA-256 names of the stored outputs, distinct, in order of first
  // appearance. Empty on failure (outputs stored before the failure stay in
  // the store unreferenced; blob garbage collection removes them).
  std::vector<std::string> blobs;
  std::uint64_t bytes = 0;  // total size of `blobs`
  int outputs = 0;          // distinct output URLs in the response
  int failed_outputs = 0;   // 0 or 1: re-hosting stops at the first failure
  // The earliest expiry found in the original output URLs' query strings
  // (see UrlExpiry); nullopt when none carries one.
  std::optional<base::SystemTime> earliest_expiry;

  bool ok() const { return status.ok(); }
};

// Counters since construction, for metrics.
struct RehostStats {
  std::uint64_t responses = 0;         // Rehost calls with at least one output URL
  std::uint64_t responses_failed = 0;  // ... of which failed
  std::uint64_t downloads = 0;         // download attempts, retries included
  std::uint64_t retries = 0;
  std::uint64_t outputs_stored = 0;  // outputs committed to the blob store
  std::uint64_t bytes_stored = 0;    // their bytes (a blob stored twice counts twice)
  std::uint64_t refused = 0;         // PermissionDenied (policy)
  std::uint64_t too_big = 0;         // ResourceExhausted
  std::uint64_t other_failures = 0;  // any other failed download attempt
};

// Re-hosts the outputs of a successful generation: downloads every output URL
// (each distinct URL once) into the blob store, content-addressed, and
// rewrites the response to point at `<files_base_url>/<sha256>.<ext>`.
// All or nothing: if any output cannot be re-hosted, the body is returned
// untouched with the failure. A failed download is retried once, except when
// the policy refused it, it is too big, or the URL is malformed. Failures are
// counted (stats) and logged with the output's host, never the signed URL.
//
// Blocking (downloads, disk): call it on a worker pool. Thread-safe; the
// store and the fetcher must outlive the rehoster.
class Rehoster {
 public:
  Rehoster(blob::BlobStore& store, const OutputFetcher& fetcher);

  // `files_base_url`: where /files is reachable for clients, e.g.
  // "http://gateway:8080/files" or a CDN's base; a trailing '/' is ignored.
  RehostResult Rehost(providers::ProviderKind kind, std::string_view body,
                      std::string_view files_base_url);

  RehostStats stats() const;

 private:
  struct Stored {
    std::string sha256;
    std::uint64_t size = 0;
    std::string extension;  // without the dot, may be empty
  };
  absl::StatusOr<Stored> Store(const std::string& url);
  absl::StatusOr<Stored> StoreOnce(const std::string& url);
  void CountFailure(const absl::Status& error);

  blob::BlobStore& store_;
  const OutputFetcher& fetcher_;

  std::atomic<std::uint64_t> responses_{0};
  std::atomic<std::uint64_t> responses_failed_{0};
  std::atomic<std::uint64_t> downloads_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> outputs_stored_{0};
  std::atomic<std::uint64_t> bytes_stored_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> too_big_{0};
  std::atomic<std::uint64_t> other_failures_{0};
};

// The file extension for a stored output: the URL path's extension when it
// is one /files serves (png jpg jpeg webp gif mp4 webm mov mp3 wav ogg flac
// m4a json txt bin), else one derived from `content_type`, else "" (none).
std::string OutputExtension(std::string_view url_path, std::string_view content_type);

}  // namespace gencache::rehost
