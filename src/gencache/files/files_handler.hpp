#pragma once

#include <string_view>

#include "gencache/base/worker_pool.hpp"
#include "gencache/blob/blob_store.hpp"
#include "gencache/http/message.hpp"

namespace gencache::files {

// Answers GET and HEAD /files/<name> from a blob store: the permanent URLs
// re-hosted provider outputs are handed out under (see file_request.hpp for
// the name grammar).
//
//   200 / 206  the blob (or one byte range of it), sent from its file
//              (http::FileBody), never loaded into memory; ETag "<sha256>",
//              Cache-Control: public, max-age=31536000, immutable (the bytes
//              behind a name never change), Accept-Ranges: bytes,
//              X-Content-Type-Options: nosniff, Content-Range on 206.
//   304        If-None-Match matches the ETag (and the blob exists).
//   404        malformed name (traversal, '%', uppercase, unknown extension)
//              or no such blob; JSON {"error":{"code":"not_found",...}}.
//   405        any other method, with Allow: GET, HEAD.
//   416        an unsatisfiable range, with Content-Range: bytes */<size>.
//   5xx        the store failed (error_mapping decides the code).
// Range applies to GET only (RFC 9110 14.2) and only when If-Range, if sent,
// is the ETag.
//
// Threading: Handle may run on an event loop. When the store's Open is
// cheap (a local directory: open(2) + fstat(2)) it answers inline;
// otherwise the store call runs on `pool` and `respond` is called from
// there. Thread-safe. The store and the pool must outlive the handler, and
// the pool must be drained (destroyed) before the handler is.
class FilesHandler {
 public:
  FilesHandler(blob::BlobStore& store, base::WorkerPool& pool) : store_(store), pool_(pool) {}

  // `name` is the request path after "/files/", as sent (not decoded).
  void Handle(const http::Request& request, std::string_view name, http::Respond respond) const;

 private:
  blob::BlobStore& store_;
  base::WorkerPool& pool_;
};

}  // namespace gencache::files
