#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gencache::files {

// Pure parsers for GET /files/<name> requests: the name, the Range header and
// If-None-Match. They see untrusted input (fuzz target `files`), never
// allocate, and never fail loudly: anything malformed has a defined answer.

// What a /files/ name points at: "<64 lowercase hex>" or
// "<64 lowercase hex>.<ext>" with an extension from a fixed table.
struct FileName {
  std::string_view sha256;        // a view into the parsed name
  std::string_view content_type;  // static storage
};

// Parses a /files/ name (the path after "/files/", not percent-decoded).
// Nullopt for anything else: another length, uppercase hex, an unknown or
// uppercase extension, '/', "..", '%', a query. Extensions and their types:
// png jpg jpeg webp gif (images), mp4 webm mov (video), mp3 wav ogg flac m4a
// (audio), json, txt (text/plain; charset=utf-8), bin and none
// (application/octet-stream). No svg or html: a blob is never a document
// that runs scripts on our origin.
std::optional<FileName> ParseFileName(std::string_view name);

// The extension ParseFileName maps back to `content_type` (its media type,
// parameters and case ignored), for building /files/ URLs; nullopt when
// the type is not in the table (then use the bare hash).
std::optional<std::string_view> ExtensionForContentType(std::string_view content_type);

// How to answer a Range header on a body of a known size (RFC 9110, 14).
struct RangeDecision {
  enum class Kind {
    kWhole,          // 200 with the whole body: no, malformed or multiple ranges
    kPartial,        // 206 with [offset, offset + length)
    kUnsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::kWhole;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Decides a single byte range: "bytes=a-b", "bytes=a-", "bytes=-n" (unit
// case-insensitive). The last position is clamped to the body; a suffix
// longer than the body is the whole body (as 206). A first position at or
// past the end (so any "a-" form on an empty body), or a zero suffix, is
// unsatisfiable. A header with several ranges, another unit or bad syntax
// is ignored (kWhole), as RFC 9110 allows; so is a suffix on an empty body.
RangeDecision DecideRange(std::string_view range_header, std::uint64_t size);

// True when an If-None-Match value matches `etag` (a quoted strong tag such
// as "\"abc\""): "*", or a list holding the tag, weak (W/) or not (weak
// comparison, RFC 9110 13.1.2). A malformed list stops matching at the
// first bad element.
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

}  // namespace gencache::files
