#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "gencache/config/options.hpp"
#include "gencache/http/message.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::pipeline {

// What the client asked of the cache for this one request.
struct ClientDirectives {
  bool no_cache = false;  // Cache-Control: no-cache — skip lookup and flights, still store
  bool no_store = false;  // Cache-Control: no-store — never store this answer
  std::optional<std::chrono::seconds> max_age;  // Cache-Control: max-age=N
  std::optional<std::chrono::seconds> ttl;      // X-Gencache-TTL
  std::optional<std::string> cache_namespace;   // X-Gencache-Namespace
};

// Reads the directives. Malformed values (a namespace with characters outside
// [A-Za-z0-9._-] or over 64 bytes, an unparsable TTL) are InvalidArgument;
// unknown Cache-Control directives are ignored, as HTTP caches do.
absl::StatusOr<ClientDirectives> ParseClientDirectives(const http::HeaderList& headers);

// How the pipeline treats one generation request.
struct CachePlan {
  bool cacheable = false;  // reproducible: may be looked up, coalesced and stored
  bool lookup = false;     // consult the cache and join flights
  bool store = false;      // store a successful terminal answer
  std::chrono::seconds ttl{0};
  std::optional<std::chrono::seconds> max_age;
  std::string cache_namespace;
};

// Applies configuration (per-model over per-provider over global) and the
// client's directives. A request is cacheable when it is seeded, or when
// cache_unseeded is on for its model or provider.
CachePlan PlanCaching(const config::Options& options, const config::ProviderOptions& provider,
                      const providers::GenerationRequest& request,
                      const ClientDirectives& directives);

}  // namespace gencache::pipeline
