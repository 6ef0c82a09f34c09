#include "gencache/pipeline/request_policy.hpp"

#include <fmt/format.h>

#include <charconv>

#include "gencache/base/strings.hpp"
#include "gencache/base/units.hpp"

namespace gencache::pipeline {
namespace {

bool ValidNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 64) return false;
  for (char c : ns) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void ParseCacheControl(std::string_view value, ClientDirectives& out) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view token = base::TrimWhitespace(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (base::EqualsIgnoreCase(token, "no-cache")) {
      out.no_cache = true;
    } else if (base::EqualsIgnoreCase(token, "no-store")) {
      out.no_store = true;
    } else if (token.size() > 8 && base::EqualsIgnoreCase(token.substr(0, 8), "max-age=")) {
      std::string_view digits = token.substr(8);
      std::int64_t seconds = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
      // RFC 9111: an invalid max-age is treated as stale, i.e. 0.
      if (ec != std::errc{} || end != digits.data() + digits.size() || seconds < 0) seconds = 0;
      out.max_age = std::chrono::seconds(seconds);
    }
  }
}

std::optional<bool> UnseededOverride(const config::CachePolicyOverride& o) {
  return o.cache_unseeded;
}

}  // namespace

absl::StatusOr<ClientDirectives> ParseClientDirectives(const http::HeaderList& headers) {
  ClientDirectives out;
  for (const auto& [name, value] : headers) {
    if (base::EqualsIgnoreCase(name, "cache-control")) {
      ParseCacheControl(value, out);
    } else if (base::EqualsIgnoreCase(name, "x-gencache-ttl")) {
      auto ttl = base::ParseDuration(base::TrimWhitespace(value));
      if (!ttl.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("X-Gencache-TTL: {}", std::string(ttl.status().message())));
      }
      out.ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
    } else if (base::EqualsIgnoreCase(name, "x-gencache-namespace")) {
      std::string_view ns = base::TrimWhitespace(value);
      if (!ValidNamespace(ns)) {
        return absl::InvalidArgumentError(
            "X-Gencache-Namespace must be 1-64 characters of A-Z a-z 0-9 . _ -");
      }
      out.cache_namespace = std::string(ns);
    }
  }
  return out;
}

CachePlan PlanCaching(const config::Options& options, const config::ProviderOptions& provider,
                      const providers::GenerationRequest& request,
                      const ClientDirectives& directives) {
  // Most specific first: the provider's model entry, the provider, the
  // global model entry, the global default.
  const config::CachePolicyOverride* provider_model = nullptr;
  if (auto it = provider.models.find(request.model); it != provider.models.end()) {
    provider_model = &it->second;
  }
  const config::CachePolicyOverride* global_model = nullptr;
  if (auto it = options.cache.models.find(request.model); it != options.cache.models.end()) {
    global_model = &it->second;
  }
  std::chrono::seconds ttl = options.cache.ttl;
  bool cache_unseeded = options.cache.cache_unseeded;
  for (const config::CachePolicyOverride* o : {global_model, &provider.cache, provider_model}) {
    if (o == nullptr) continue;
    if (o->ttl) ttl = *o->ttl;
    if (auto u = UnseededOverride(*o)) cache_unseeded = *u;
  }

  CachePlan plan;
  plan.cacheable = !request.event_stream && (request.seeded || cache_unseeded);
  plan.lookup = plan.cacheable && !directives.no_cache;
  plan.store = plan.cacheable && !directives.no_store;
  plan.ttl = directives.ttl ? std::min(*directives.ttl, ttl) : ttl;
  if (plan.ttl.count() <= 0) plan.store = false;
  plan.max_age = directives.max_age;
  plan.cache_namespace = options.cache.shared_namespace ? "shared"
                         : directives.cache_namespace   ? *directives.cache_namespace
                                                        : "default";
  return plan;
}

}  // namespace gencache::pipeline
