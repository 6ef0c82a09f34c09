#include "gencache/files/files_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gencache/base/log.hpp"
#include "gencache/files/file_request.hpp"
#include "gencache/http/error_mapping.hpp"

namespace gencache::files {
namespace {

constexpr std::string_view kCacheControl = "public, max-age=31536000, immutable";

http::Response JsonError(int status, std::string_view code, std::string_view message) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = R"({"error":{"code":")";
  base::AppendJsonEscaped(response.body, code);
  response.body += R"(","message":")";
  base::AppendJsonEscaped(response.body, message);
  response.body += R"("}})";
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

http::Response NotFound() { return JsonError(404, "not_found", "no such file"); }

// The parts of a request that decide the answer, copied so a store call on
// the pool does not depend on the request's lifetime.
struct FileQuery {
  std::string sha256;
  std::string_view content_type;  // static storage
  bool head = false;
  std::string etag;  // "\"<sha256>\""
  bool not_modified = false;
  std::optional<std::string> range;  // only for GET, and only when If-Range allows

  // HEAD and 304 answers need the size and existence only: Stat, which
  // spares a remote store the download Open would make.
  bool NeedsBytes() const { return !head && !not_modified; }
};

FileQuery MakeQuery(const http::Request& request, const FileName& name) {
  FileQuery query;
  query.sha256 = std::string(name.sha256);
  query.content_type = name.content_type;
  query.head = request.method == "HEAD";
  query.etag = fmt::format("\"{}\"", name.sha256);
  if (auto inm = request.Header("If-None-Match")) {
    query.not_modified = IfNoneMatchMatches(*inm, query.etag);
  }
  if (!query.head) {
    auto range = request.Header("Range");
    auto if_range = request.Header("If-Range");
    if (range && (!if_range || *if_range == query.etag)) query.range = std::string(*range);
  }
  return query;
}

void AddCachingHeaders(http::Response& response, const FileQuery& query) {
  response.headers.emplace_back("ETag", query.etag);
  response.headers.emplace_back("Cache-Control", std::string(kCacheControl));
}

http::Response StoreError(const absl::Status& status, const FileQuery& query) {
  if (absl::IsNotFound(status)) return NotFound();
  spdlog::warn("files: blob {}: {}", query.sha256, status.ToString());
  const int code = http::HttpStatusFor(status);
  return JsonError(code, http::ErrorCodeFor(code), "the file store failed");
}

// The answer once the store has been asked: `blob` is set for GET answers
// that send bytes, `size` is the blob's size.
http::Response Answer(const FileQuery& query, std::uint64_t size,
                      std::optional<blob::OpenBlob> blob) {
  http::Response response;
  if (query.not_modified) {
    response.status = 304;
    response.content_type.clear();
    AddCachingHeaders(response, query);
    return response;
  }
  RangeDecision range;
  if (query.range) range = DecideRange(*query.range, size);
  if (range.kind == RangeDecision::Kind::kUnsatisfiable) {
    response = JsonError(416, "range_not_satisfiable", fmt::format("the file has {} bytes", size));
    response.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
    return response;
  }
  auto body = std::make_shared<http::FileBody>();
  if (blob) body->fd = std::move(blob->fd);  // HEAD: no bytes are sent, only the length
  if (range.kind == RangeDecision::Kind::kPartial) {
    response.status = 206;
    body->offset = range.offset;
    body->length = range.length;
    response.headers.emplace_back(
        "Content-Range",
        fmt::format("bytes {}-{}/{}", range.offset, range.offset + range.length - 1, size));
  } else {
    body->length = size;
  }
  response.content_type = std::string(query.content_type);
  response.file = std::move(body);
  AddCachingHeaders(response, query);
  response.headers.emplace_back("Accept-Ranges", "bytes");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

http::Response Lookup(blob::BlobStore& store, const FileQuery& query) {
  if (query.NeedsBytes()) {
    absl::StatusOr<blob::OpenBlob> blob = store.Open(query.sha256);
    if (!blob.ok()) return StoreError(blob.status(), query);
    const std::uint64_t size = blob->size;
    return Answer(query, size, std::move(*blob));
  }
  absl::StatusOr<blob::BlobInfo> info = store.Stat(query.sha256);
  if (!info.ok()) return StoreError(info.status(), query);
  return Answer(query, info->size, std::nullopt);
}

}  // namespace

void FilesHandler::Handle(const http::Request& request, std::string_view name,
                          http::Respond respond) const {
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response response =
        JsonError(405, "method_not_allowed", "/files/ answers GET and HEAD only");
    response.headers.emplace_back("Allow", "GET, HEAD");
    respond(std::move(response));
    return;
  }
  const std::optional<FileName> parsed = ParseFileName(name);
  if (!parsed) {
    respond(NotFound());
    return;
  }
  FileQuery query = MakeQuery(request, *parsed);
  if (store_.OpenIsCheap()) {
    respond(Lookup(store_, query));
    return;
  }
  pool_.Post([&store = store_, query = std::move(query), respond = std::move(respond)] {
    respond(Lookup(store, query));
  });
}

}  // namespace gencache::files
