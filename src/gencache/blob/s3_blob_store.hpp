#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gencache/blob/blob_store.hpp"

namespace gencache::blob {

// Where an S3-compatible bucket is and how to sign for it. Built by the
// caller from `rehost.s3` (credentials already read from the environment).
struct S3BlobStoreOptions {
  // Scheme, host and optional port, nothing else:
  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4568". Objects
  // are addressed path-style: endpoint/bucket/key_prefix<sha256>.
  std::string endpoint;
  std::string bucket;
  // The SigV4 signing region ("us-east-1" for most S3-compatible servers).
  std::string region;
  std::string access_key;
  std::string secret_key;
  // Set for temporary credentials (sent, signed, as x-amz-security-token).
  std::string session_token;
  // Prepended to every blob's name to form its key. ForEach lists only under
  // it, so several stores can share a bucket.
  std::string key_prefix = "blobs/";
  // A local directory for spooled writes and for the private copies Open
  // returns; created when missing. Its files are unlinked as soon as they are
  // created, so nothing is left behind, even by a crash.
  std::string spool_dir;
  // TCP and TLS handshake.
  std::chrono::milliseconds connect_timeout{5'000};
  // The whole of a small request (HEAD, DELETE, one list page); for an
  // upload, download or server-side copy, the longest it may go without
  // progress.
  std::chrono::milliseconds request_timeout{30'000};
  // The whole of an upload, download or server-side copy.
  std::chrono::milliseconds transfer_timeout{600'000};
  // Keys per ListObjectsV2 page (1..1000).
  int list_page_size = 1000;
  // CA bundle for https; empty uses libcurl's default (the system store).
  std::string ca_file;
};

// MakeS3BlobStore returns a BlobStore on an S3-compatible bucket (AWS S3,
// MinIO, R2, Ceph RGW, ...), one object per blob under `key_prefix`.
// Requests are signed with AWS Signature V4 by libcurl; every payload hash is
// sent in x-amz-content-sha256 (PUT bodies are content-addressed, so their
// hash is known before sending).
//
// Writers spool to an unlinked file in `spool_dir` while hashing; Commit
// HEADs the key and, when the object is there, copies it onto itself
// (x-amz-metadata-directive: REPLACE) so its Last-Modified, which is its
// last_used, restarts garbage collection's grace period; otherwise it PUTs
// the spooled file (S3 PUTs are atomic, so no partial object is ever
// visible). An existing object of the right size is trusted; one of another
// size is replaced. Open downloads into a private unlinked file, checks the
// bytes against their name and returns it: a reader never depends on the
// bucket staying reachable, nor on the object staying put.
//
// Thread-safe; every call blocks on the network (run them on a worker pool).
// Each call borrows an idle libcurl handle (keeping its connection alive for
// the next call) or makes one.
//
// Errors: NotFound for a missing blob (HTTP 404; a HEAD answer has no
// body, so Stat and Delete cannot tell a missing bucket from a missing blob,
// while Commit, Open and ForEach can); PermissionDenied for 401 and 403 (bad
// credentials, signature mismatch), with S3's error code in the message;
// Unavailable when the endpoint cannot be reached, times out, answers 5xx or
// 429; FailedPrecondition for other answers (a missing bucket, a wrong
// region or endpoint); DataLoss when downloaded bytes do not match their
// name; Internal for local I/O errors. Messages never carry credentials.
//
// last_used is S3's Last-Modified, in whole seconds.
//
// The factory validates `options` (InvalidArgument names the field), creates
// the spool directory (Internal when it cannot be made or written) and makes
// no request: an unreachable endpoint shows up on first use.
absl::StatusOr<std::unique_ptr<BlobStore>> MakeS3BlobStore(S3BlobStoreOptions options);

}  // namespace gencache::blob
