#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "gencache/http/message.hpp"

namespace gencache::upstream {

struct UpstreamRequest {
  std::string method = "GET";
  std::string url;  // absolute http(s) URL
  http::HeaderList headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{120'000};  // whole exchange
  std::uint64_t max_response_bytes = 64ull << 20;
};

struct UpstreamResponse {
  int status = 0;
  http::HeaderList headers;
  std::string body;
};

// Runs on the client's own thread: must be short and never block.
using UpstreamCallback = std::function<void(absl::StatusOr<UpstreamResponse>)>;

// An asynchronous HTTP client for provider calls. TLS peers are verified,
// connections are kept and re-used per host, and every exchange is bounded
// by its timeouts. Thread-safe.
//
// Errors: Unavailable when the upstream cannot be reached or breaks the
// exchange (connect refused, DNS, TLS, reset, response over
// max_response_bytes); DeadlineExceeded when a timeout passes. An HTTP error
// status from the upstream is not an error here: it is a response.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Starts the exchange; `done` runs exactly once (also at shutdown, with
  // Cancelled).
  virtual void Send(UpstreamRequest request, UpstreamCallback done) = 0;
  // Cancels every exchange in flight (their callbacks run with Cancelled)
  // and makes later Sends fail at once, on the caller's thread. The object
  // stays usable, so shutdown needs no ordering between its users.
  // Idempotent; blocks until the client's thread has stopped.
  virtual void Shutdown() = 0;
};

}  // namespace gencache::upstream
