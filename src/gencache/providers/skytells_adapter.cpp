#include <fmt/format.h>

#include "absl/status/status.h"
#include "gencache/providers/adapter_support.hpp"

namespace gencache::providers {
namespace {

namespace json = boost::json;
using Phase = UpstreamState::Phase;

// Skytells: `POST predict` / `POST predictions` with {model, input, webhook?,
// await?, stream?}; the key takes `model` and the whole `input`, nothing else.
class SkytellsAdapter final : public ProviderAdapter {
 public:
  ProviderKind kind() const override { return ProviderKind::kSkytells; }

  bool IsGenerationRoute(std::string_view method, std::string_view path) const override {
    return method == "POST" && (path == "predict" || path == "predictions");
  }

  absl::StatusOr<GenerationRequest> ParseGeneration(std::string_view path, std::string_view body,
                                                    const http::HeaderList&) const override {
    if (!IsGenerationRoute("POST", path)) {
      return absl::InvalidArgumentError(fmt::format("not a Skytells generation route: {}", path));
    }
    absl::StatusOr<json::object> object = ParseBodyObject(body);
    if (!object.ok()) return object.status();
    const json::value* model_value = object->if_contains("model");
    if (model_value == nullptr) return absl::InvalidArgumentError("`model` is required");
    absl::StatusOr<std::string> model = ModelFromValue(*model_value, "model");
    if (!model.ok()) return model.status();
    absl::StatusOr<GenerationRequest> request =
        RequestFromInput(ProviderKind::kSkytells, std::string(path), *std::move(model), *object);
    if (!request.ok()) return request;
    const json::value* await = object->if_contains("await");
    if (await != nullptr && await->is_bool() && await->get_bool()) {
      request->wait.mode = ClientWait::Mode::kWait;
    }
    return request;
  }

  std::optional<std::string> PredictionIdFromPath(std::string_view method,
                                                  std::string_view path) const override {
    return PredictionIdFromPredictionPath(method, path);
  }

  UpstreamState Inspect(int http_status, std::string_view body) const override {
    return InspectPrediction(http_status, body,
                             {{"pending", Phase::kPending},
                              {"starting", Phase::kPending},
                              {"started", Phase::kPending},
                              {"processing", Phase::kPending},
                              {"succeeded", Phase::kSucceeded},
                              {"failed", Phase::kFailed},
                              {"cancelled", Phase::kFailed}});
  }

  std::string PollPath(const UpstreamState& state) const override {
    return PredictionPath(state.id);
  }

  // Skytells' SDK polls any non-terminal status, so the body stays as it is.
  std::string PendingBodyForClient(std::string_view upstream_body) const override {
    return std::string(upstream_body);
  }

  std::string ErrorBody(const ClientError& error) const override {
    std::string error_id = error.code;
    for (char& c : error_id) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    json::object detail;
    detail["message"] = error.message;
    detail["error_id"] = error_id;
    detail["details"] = error.type;
    detail["http_status"] = error.http_status;
    AddExtraFields(error, detail);
    json::object out;
    out["status"] = false;
    out["error"] = std::move(detail);
    return json::serialize(out);
  }

  std::pair<std::string, std::string> CredentialHeader(std::string_view secret) const override {
    return {"x-api-key", std::string(secret)};
  }
};

}  // namespace

std::unique_ptr<ProviderAdapter> MakeSkytellsAdapter() {
  return std::make_unique<SkytellsAdapter>();
}

}  // namespace gencache::providers
