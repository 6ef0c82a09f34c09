#include <fmt/format.h>

#include <array>

#include "absl/status/status.h"
#include "gencache/keying/canonical.hpp"
#include "gencache/providers/adapter_support.hpp"

namespace gencache::providers {
namespace {

namespace json = boost::json;

constexpr std::string_view kImageGenerations = "images/generations";
// OpenAI's documented default for images/generations.
constexpr std::string_view kDefaultImageModel = "dall-e-2";

// Top-level fields that do not change the image: the model (kept in
// GenerationRequest::model), end-user attribution, and delivery options.
constexpr std::array<std::string_view, 4> kNotInKey = {"model", "user", "stream", "partial_images"};

bool InKey(std::string_view field) {
  for (std::string_view excluded : kNotInKey) {
    if (field == excluded) return false;
  }
  return true;
}

// OpenAI-compatible: `POST images/generations`, answered synchronously. Every
// top-level field except kNotInKey goes into the key.
class OpenAIAdapter final : public ProviderAdapter {
 public:
  ProviderKind kind() const override { return ProviderKind::kOpenAI; }

  bool IsGenerationRoute(std::string_view method, std::string_view path) const override {
    return method == "POST" && path == kImageGenerations;
  }

  absl::StatusOr<GenerationRequest> ParseGeneration(std::string_view path, std::string_view body,
                                                    const http::HeaderList&) const override {
    if (path != kImageGenerations) {
      return absl::InvalidArgumentError(fmt::format("not an OpenAI generation route: {}", path));
    }
    absl::StatusOr<json::object> object = ParseBodyObject(body);
    if (!object.ok()) return object.status();
    GenerationRequest request;
    request.kind = ProviderKind::kOpenAI;
    request.route = std::string(kImageGenerations);
    request.model = std::string(kDefaultImageModel);
    if (const json::value* model = object->if_contains("model"); model != nullptr) {
      absl::StatusOr<std::string> name = ModelFromValue(*model, "model");
      if (!name.ok()) return name.status();
      request.model = *std::move(name);
    }
    request.prompt = std::string(StringMember(*object, "prompt").value_or(""));
    request.seeded = IsExplicitSeed(object->if_contains("seed"));
    ReadPricingInputs(*object, request);
    const json::value* stream = object->if_contains("stream");
    request.event_stream = stream != nullptr && stream->is_bool() && stream->get_bool();
    json::object kept;
    for (json::key_value_pair& member : *object) {
      if (InKey(member.key())) kept.emplace(member.key(), std::move(member.value()));
    }
    json::object params;
    params.emplace("params", std::move(kept));
    request.canonical_params = keying::CanonicalJson(json::value(std::move(params)));
    return request;
  }

  // OpenAI answers synchronously: there is no prediction to fetch.
  std::optional<std::string> PredictionIdFromPath(std::string_view,
                                                  std::string_view) const override {
    return std::nullopt;
  }

  // A 2xx answer with a `data` array succeeded; anything else failed. Never
  // pending, and there is no id.
  UpstreamState Inspect(int http_status, std::string_view body) const override {
    UpstreamState state;
    state.phase = UpstreamState::Phase::kFailed;
    if (http_status < 200 || http_status > 299) return state;
    absl::StatusOr<json::object> object = ParseBodyObject(body);
    if (!object.ok()) return state;
    const json::value* data = object->if_contains("data");
    if (data != nullptr && data->is_array()) state.phase = UpstreamState::Phase::kSucceeded;
    return state;
  }

  // Never called in practice: Inspect never reports kPending.
  std::string PollPath(const UpstreamState&) const override { return std::string(); }

  std::string PendingBodyForClient(std::string_view upstream_body) const override {
    return std::string(upstream_body);
  }

  std::string ErrorBody(const ClientError& error) const override {
    json::object detail;
    detail["message"] = error.message;
    detail["type"] = error.type;
    detail["code"] = error.code;
    detail["param"] = nullptr;
    AddExtraFields(error, detail);
    json::object out;
    out["error"] = std::move(detail);
    return json::serialize(out);
  }

  std::pair<std::string, std::string> CredentialHeader(std::string_view secret) const override {
    return {"Authorization", fmt::format("Bearer {}", secret)};
  }
};

}  // namespace

std::unique_ptr<ProviderAdapter> MakeOpenAIAdapter() { return std::make_unique<OpenAIAdapter>(); }

}  // namespace gencache::providers
