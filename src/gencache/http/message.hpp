#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gencache/base/unique_fd.hpp"

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

// A response body that is a region of an open file (a re-hosted blob). The
// server sends it straight from the file (sendfile(2)), so a large body is
// never held in memory. The file must not shrink while it is being sent;
// if it does, the connection is closed short of Content-Length. A HEAD
// answer may leave `fd` empty: only `length` is used.
struct FileBody {
  base::UniqueFd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  // Extra header fields; Content-Type, Content-Length, Connection and Date
  // are written by the server.
  HeaderList headers;
  // The body is `body`, unless `shared_body` is set: then the bytes are
  // shared with a cache entry and written without a copy. When `file` is
  // set it is the body instead of both (Content-Length is file->length).
  std::string body;
  std::shared_ptr<const std::string> shared_body;
  std::shared_ptr<const FileBody> file;

  std::string_view Body() const { return shared_body ? std::string_view(*shared_body) : body; }
  std::uint64_t BodySize() const { return file ? file->length : Body().size(); }
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
