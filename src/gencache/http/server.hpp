#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gencache/http/message.hpp"

namespace gencache::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port; see Server::port()
  int threads = 0;         // event loops; 0 = one per core
  std::uint64_t max_body_bytes = 10ull << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
};

// An HTTP/1.1 server: one event loop per thread, each with its own acceptor
// on the same port (SO_REUSEPORT), keep-alive, and strict framing: requests
// with conflicting or duplicate Content-Length, or with both Content-Length
// and Transfer-Encoding, are refused (no request smuggling); a body over
// max_body_bytes gets 413; a request whose header or body does not arrive in
// time gets 408 and the connection is closed. Refusals are shaped by
// Handler::Reject.
//
// Lifetime: Start binds and runs the loops on background threads; Stop stops
// accepting, closes connections and joins the threads. The handler must
// outlive the server.
class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options, Handler& handler);
  virtual ~Server() = default;

  // The bound port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  // Idempotent; blocks until the loops have stopped.
  virtual void Stop() = 0;
};

}  // namespace gencache::http
