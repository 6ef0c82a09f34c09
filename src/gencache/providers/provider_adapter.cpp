#include "gencache/providers/provider_adapter.hpp"

#include <boost/json.hpp>

#include "gencache/keying/canonical.hpp"
#include "gencache/keying/json_parse.hpp"
#include "gencache/providers/adapter_support.hpp"

namespace gencache::providers {

std::optional<ProviderKind> ParseProviderKind(std::string_view text) {
  if (text == "skytells") return ProviderKind::kSkytells;
  if (text == "replicate") return ProviderKind::kReplicate;
  if (text == "openai") return ProviderKind::kOpenAI;
  return std::nullopt;
}

std::string_view ToString(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kSkytells:
      return "skytells";
    case ProviderKind::kReplicate:
      return "replicate";
    case ProviderKind::kOpenAI:
      return "openai";
  }
  return "unknown";
}

std::unique_ptr<ProviderAdapter> MakeAdapter(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kSkytells:
      return MakeSkytellsAdapter();
    case ProviderKind::kReplicate:
      return MakeReplicateAdapter();
    case ProviderKind::kOpenAI:
      return MakeOpenAIAdapter();
  }
  return nullptr;
}

keying::CacheKey CacheKeyFor(const GenerationRequest& request, std::string_view cache_namespace) {
  keying::KeyMaterial material;
  material.provider_kind = ToString(request.kind);
  material.route = request.route;
  material.model = request.model;
  material.cache_namespace = cache_namespace;
  material.canonical_params = request.canonical_params;
  return keying::ComputeCacheKey(material);
}

std::optional<keying::CacheKey> PromptPartitionFor(const GenerationRequest& request,
                                                   std::string_view cache_namespace) {
  if (request.prompt.empty()) return std::nullopt;
  std::error_code ec;
  boost::json::value params = keying::ParseJson(request.canonical_params, ec);
  if (ec || !params.is_object()) return std::nullopt;
  // The prompt sits in `input` (Skytells, Replicate) or `params` (OpenAI).
  bool removed = false;
  for (const char* holder : {"input", "params"}) {
    boost::json::value* fields = params.as_object().if_contains(holder);
    if (fields == nullptr || !fields->is_object()) continue;
    const boost::json::value* prompt = fields->as_object().if_contains("prompt");
    if (prompt != nullptr && prompt->is_string()) removed = fields->as_object().erase("prompt") > 0;
  }
  if (!removed) return std::nullopt;
  keying::KeyMaterial material;
  material.provider_kind = ToString(request.kind);
  // A route no request has: a partition can never collide with a cache key.
  const std::string route = request.route + "#prompt-partition";
  material.route = route;
  material.model = request.model;
  material.cache_namespace = cache_namespace;
  const std::string canonical = keying::CanonicalJson(params);
  material.canonical_params = canonical;
  return keying::ComputeCacheKey(material);
}

}  // namespace gencache::providers
