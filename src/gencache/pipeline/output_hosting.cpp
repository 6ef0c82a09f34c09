#include "gencache/pipeline/output_hosting.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "gencache/base/strings.hpp"
#include "gencache/rehost/output_urls.hpp"
#include "gencache/rehost/rehoster.hpp"
#include "gencache/rehost/url_expiry.hpp"

namespace gencache::pipeline {
namespace {

// The earliest moment any of `urls` may stop working.
base::SystemTime UrlsDeadline(const std::vector<std::string>& urls,
                              const config::ProviderOptions& provider, base::SystemTime created) {
  base::SystemTime deadline = base::SystemTime::max();
  for (const auto& url : urls) {
    std::optional<base::SystemTime> expiry = rehost::UrlExpiry(url);
    deadline = std::min(deadline, expiry ? *expiry : created + provider.output_url_ttl);
  }
  return deadline;
}

bool PlainHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

HostedOutputs HostOutputs(rehost::Rehoster* rehoster, const config::RehostSection& rehost,
                          const config::ProviderOptions& provider, std::string_view body,
                          base::SystemTime created, base::SystemTime expires) {
  HostedOutputs out;
  out.expires = expires;
  if (rehoster != nullptr) {
    const std::string base =
        rehost.public_base_url.empty() ? std::string(kFilesPlaceholder) : rehost.public_base_url;
    rehost::RehostResult result = rehoster->Rehost(provider.kind, body, base);
    if (result.ok()) {
      out.body = std::move(result.body);
      out.blobs = std::move(result.blobs);
      out.bytes = result.bytes;
      return out;
    }
    // The rehoster logged the failure (with the output's host only).
    if (result.status.code() == absl::StatusCode::kDataLoss) {
      out.cacheable = false;
      return out;
    }
  }
  absl::StatusOr<std::vector<std::string>> urls = rehost::FindOutputUrls(provider.kind, body);
  if (!urls.ok() || urls->empty()) return out;
  const base::SystemTime deadline = UrlsDeadline(*urls, provider, created);
  if (deadline != base::SystemTime::max()) {
    out.expires = std::min(out.expires, deadline - rehost.url_safety_margin);
  }
  if (out.expires <= created) out.cacheable = false;
  return out;
}

std::string FilesBaseFor(const config::RehostSection& rehost, const http::HeaderList& headers,
                         std::string_view fallback_host) {
  if (!rehost.public_base_url.empty()) return rehost.public_base_url;
  std::string_view host = http::FindHeader(headers, "host").value_or("");
  if (!PlainHost(host)) host = fallback_host;
  std::string_view proto = http::FindHeader(headers, "x-forwarded-proto").value_or("http");
  return fmt::format("{}://{}/files", base::EqualsIgnoreCase(proto, "https") ? "https" : "http",
                     host);
}

std::string ExpandFileUrls(std::string_view body, std::string_view files_base) {
  std::string out;
  out.reserve(body.size() + 4 * files_base.size());
  for (;;) {
    std::size_t at = body.find(kFilesPlaceholder);
    if (at == std::string_view::npos) break;
    out.append(body.substr(0, at));
    out.append(files_base);
    body.remove_prefix(at + kFilesPlaceholder.size());
  }
  out.append(body);
  return out;
}

}  // namespace gencache::pipeline
