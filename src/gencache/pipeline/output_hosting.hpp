#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/base/clock.hpp"
#include "gencache/config/options.hpp"
#include "gencache/http/message.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::rehost {
class Rehoster;
}

namespace gencache::pipeline {

// Stands for "this gateway's /files" in stored bodies when no
// rehost.public_base_url is configured: each answer then names the Host its
// client used (ExpandFileUrls), so a client-chosen Host header is never
// stored and handed to other clients.
inline constexpr std::string_view kFilesPlaceholder = "gencache-files:";

// What a successful generation's answer becomes before it is cached.
struct HostedOutputs {
  // The body with permanent URLs; empty when the original body stays.
  std::string body;
  // Blobs the body points at (empty: the body holds the provider's URLs).
  std::vector<std::string> blobs;
  std::uint64_t bytes = 0;  // their size
  // When the entry must expire: the planned expiry, capped below the
  // provider URLs' remaining lifetime when they were kept.
  base::SystemTime expires{};
  // False when the answer must not be cached at all: the URLs' lifetime is
  // (nearly) over, or a provider URL broke mid-download (a link that just
  // failed to deliver its bytes is not one to hand out again).
  bool cacheable = true;
};

// Re-hosts the outputs of `body` (a successful generation of `provider`) when
// `rehoster` is set (rehost.enabled), into URLs under `files_base`
// (rehost.public_base_url, else kFilesPlaceholder). When re-hosting is off or
// fails, the provider URLs stay and `expires` is capped at their earliest
// expiry (the URL's own expiry parameter, else created + output_url_ttl)
// minus rehost.url_safety_margin. Blocking when `rehoster` is set (downloads).
HostedOutputs HostOutputs(rehost::Rehoster* rehoster, const config::RehostSection& rehost,
                          const config::ProviderOptions& provider, std::string_view body,
                          base::SystemTime created, base::SystemTime expires);

// The base of this gateway's /files URLs for a client: rehost.public_base_url
// when configured, else "http(s)://<Host>/files" from the request (https when
// X-Forwarded-Proto says so). A Host header that is not a plain host[:port]
// gives `fallback_host` instead.
std::string FilesBaseFor(const config::RehostSection& rehost, const http::HeaderList& headers,
                         std::string_view fallback_host);

// `body` with every kFilesPlaceholder replaced by `files_base`.
std::string ExpandFileUrls(std::string_view body, std::string_view files_base);

}  // namespace gencache::pipeline
