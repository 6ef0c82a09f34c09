#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace gencache::http {

// Header fields in arrival order. Names keep the sender's spelling; lookups
// are case-insensitive.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// First value of header `name` (case-insensitive), or nullopt.
std::optional<std::string_view> FindHeader(const HeaderList& headers, std::string_view name);

// A complete, parsed request. The server has already enforced the body limit
// and the framing rules (no smuggling), so handlers can trust the framing
// but never the content.
struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path plus "?query"
  std::string path;    // target without the query, not percent-decoded
  std::string query;   // without the leading '?', may be empty
  HeaderList headers;
  std::string body;

  std::optional<std::string_view> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  // Extra header fields; Content-Type, Content-Length, Connection and Date
  // are written by the server.
  HeaderList headers;
  // The body is `body`, unless `shared_body` is set: then the bytes are
  // shared with a cache entry and written without a copy.
  std::string body;
  std::shared_ptr<const std::string> shared_body;

  std::string_view Body() const { return shared_body ? std::string_view(*shared_body) : body; }
};

// Completes a request. Call exactly once, from any thread; the server moves
// the write onto the connection's own event loop. Calling it after the client
// has gone away is harmless.
using Respond = std::function<void(Response)>;

// What the server hands requests to. Thread-safe: Handle runs on whichever
// event-loop thread owns the connection and must not block there; slow work
// goes elsewhere and answers later through `respond`.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(Request request, Respond respond) = 0;
  // A response for a request the server refused before it was complete
  // (malformed framing, body over the limit, timeout): `error` says why, with
  // the code error_mapping turns into the HTTP status. `target` is the
  // request target when known, so the error can take the provider's shape.
  virtual Response Reject(std::string_view target, const absl::Status& error) = 0;
};

}  // namespace gencache::http
