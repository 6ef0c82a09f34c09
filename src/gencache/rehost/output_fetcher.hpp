#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gencache/blob/blob_store.hpp"
#include "gencache/rehost/url_policy.hpp"

namespace gencache::rehost {

struct FetchOptions {
  // `rehost.max_bytes`: larger outputs are refused (by Content-Length before
  // the body, or as soon as the running count passes it).
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  // `rehost.connect_timeout`: per connection attempt.
  std::chrono::milliseconds connect_timeout{5'000};
  // `rehost.timeout`: one whole request (one hop of a redirect chain),
  // headers and body.
  std::chrono::milliseconds timeout{300'000};
  // Redirects followed, each target checked by the policy again.
  int max_redirects = 3;
  // CA bundle for https; empty uses libcurl's default (the system store).
  std::string ca_file;
};

// What Fetch learnt about the bytes it wrote.
struct FetchResult {
  std::string content_type;  // the Content-Type of the final response, may be empty
  std::uint64_t size = 0;    // bytes appended to the writer
};

// Downloads one output URL into a BlobWriter with libcurl, blocking the
// calling thread: run it on a worker pool, never on an event loop.
//
// Security: redirects are never followed by libcurl; up to max_redirects are
// followed here and every target goes through UrlPolicy::CheckUrl again. Only
// http and https are spoken, also after redirects. Every address a host
// resolves to is checked with UrlPolicy::AddressAllowed when the socket is
// opened, so a name that resolves (or re-resolves) to an internal address is
// refused. Environment proxies are ignored (a proxy would hide the real
// destination from that check). TLS peers and host names are verified.
// Bodies are never decompressed: the stored bytes are the served bytes.
//
// Memory: the body streams into the writer through libcurl's 64 KiB buffer,
// whatever the size.
//
// Errors (distinct, so the caller can decide whether a retry helps):
//   InvalidArgument    not an absolute URL
//   PermissionDenied   refused by the policy (scheme, host, userinfo, a
//                      redirect elsewhere, an internal address)
//   ResourceExhausted  larger than max_bytes
//   DataLoss           the transfer was cut short (fewer bytes than the
//                      Content-Length, or the connection closed mid-body)
//   NotFound           HTTP 404 or 410 (typically an expired URL)
//   FailedPrecondition any other HTTP 4xx but 408 and 429 (e.g. the 403 of
//                      an expired S3 signature)
//   Unavailable        network errors, HTTP 5xx, 408, 429 and other
//                      unexpected statuses, too many redirects
//   DeadlineExceeded   timeout
//   other              the writer's own Append error
// On any error Fetch leaves the writer uncommitted: the caller must discard
// it (destroying it does), so nothing partial is ever stored. On success the
// caller commits it.
//
// Thread-safe: Fetch may run concurrently on many threads (each call uses its
// own libcurl handle). The policy must outlive the fetcher.
class OutputFetcher {
 public:
  OutputFetcher(const UrlPolicy& policy, FetchOptions options);

  absl::StatusOr<FetchResult> Fetch(std::string_view url, blob::BlobWriter& writer) const;

  const FetchOptions& options() const { return options_; }

 private:
  const UrlPolicy& policy_;
  const FetchOptions options_;
};

}  // namespace gencache::rehost
