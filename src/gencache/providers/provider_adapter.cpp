#include "gencache/providers/provider_adapter.hpp"

#include "gencache/keying/canonical.hpp"
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

}  // namespace gencache::providers
