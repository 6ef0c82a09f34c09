#pragma once

#include <optional>
#include <string_view>

#include "gencache/base/clock.hpp"

namespace gencache::rehost {

// When a signed or expiring URL stops working, read from its query string:
//   expires / Expires       unix seconds (CloudFront, GCS v2, many CDNs)
//   exp                     unix seconds
//   X-Amz-Date + X-Amz-Expires     S3 SigV4 (YYYYMMDDTHHMMSSZ + seconds)
//   X-Goog-Date + X-Goog-Expires   GCS V4 signing, same shape
//   se                      Azure SAS signed expiry (ISO 8601, UTC)
// Parameter names are matched case-insensitively. When several are present
// the earliest wins. nullopt when the URL has none (or none that parses):
// the caller then falls back to the provider's configured output_url_ttl.
// Never fails on hostile input; pure and thread-safe.
std::optional<base::SystemTime> UrlExpiry(std::string_view url);

}  // namespace gencache::rehost
