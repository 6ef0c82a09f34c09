#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gencache::testing {

// A blocking loopback TCP client for tests that need byte-level control over
// what is sent (malformed framing, slow senders). Every call is bounded by
// `timeout`.
class RawConnection {
 public:
  RawConnection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view bytes);
  // Reads one HTTP/1.1 response (head plus Content-Length body). Returns ""
  // on timeout or close before a complete response.
  std::string ReadResponse();
  // True once the peer has closed (reads 0 bytes) within the timeout.
  bool WaitClosed();

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string pending_;
};

// Status code of a raw response ("HTTP/1.1 404 ..." -> 404), or 0.
int StatusOf(std::string_view response);
// Value of header `name` (case-insensitive) in a raw response, or "".
std::string HeaderOf(std::string_view response, std::string_view name);
// Body of a raw response.
std::string BodyOf(std::string_view response);

// One request on a fresh connection.
std::string RoundTrip(std::uint16_t port, std::string_view request);

}  // namespace gencache::testing
