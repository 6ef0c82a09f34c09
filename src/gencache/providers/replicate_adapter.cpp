#include <fmt/format.h>

#include <charconv>
#include <cstdint>

#include "absl/status/status.h"
#include "gencache/providers/adapter_support.hpp"

namespace gencache::providers {
namespace {

namespace json = boost::json;
using Phase = UpstreamState::Phase;

constexpr std::string_view kPredictions = "predictions";

// "owner/name" from "models/{owner}/{name}/predictions", both parts non-empty.
std::optional<std::string> ModelFromModelsPath(std::string_view path) {
  constexpr std::string_view kPrefix = "models/";
  constexpr std::string_view kSuffix = "/predictions";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix)) return std::nullopt;
  if (path.size() < kPrefix.size() + kSuffix.size()) return std::nullopt;
  std::string_view model =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  std::size_t slash = model.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == model.size() ||
      model.find('/', slash + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(model);
}

// The model of a `POST predictions` body. A version ("hash" or
// "owner/name:hash") becomes "version:hash", so both spellings of one version
// share a key; "owner/name" stays as is, so it matches the models/ route.
absl::StatusOr<std::string> ModelFromSelector(std::string_view text, std::string_view field) {
  if (std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (colon + 1 == text.size()) {
      return absl::InvalidArgumentError(fmt::format("`{}` has an empty version id", field));
    }
    return fmt::format("version:{}", text.substr(colon + 1));
  }
  if (text.find('/') != std::string_view::npos) return std::string(text);
  return fmt::format("version:{}", text);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// `Prefer: wait` or `Prefer: wait=N` (RFC 7240; other preferences ignored).
// A malformed N still asks to wait, without a bound.
ClientWait WaitFromPrefer(const http::HeaderList& headers) {
  ClientWait wait;
  std::optional<std::string_view> prefer = http::FindHeader(headers, "Prefer");
  if (!prefer) return wait;
  std::string_view rest = *prefer;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    token = Trim(token.substr(0, token.find(';')));
    std::size_t equals = token.find('=');
    if (!EqualsIgnoreCase(Trim(token.substr(0, equals)), "wait")) continue;
    wait.mode = ClientWait::Mode::kWait;
    if (equals != std::string_view::npos) {
      std::string_view value = Trim(token.substr(equals + 1));
      std::int64_t seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
        wait.max = std::chrono::seconds(seconds);
      }
    }
    return wait;
  }
  return wait;
}

// Replicate-style: `POST predictions` with `version` or `model`, and
// `POST models/{owner}/{name}/predictions`; both are route class
// "predictions" and key on the model and the whole `input`.
class ReplicateAdapter final : public ProviderAdapter {
 public:
  ProviderKind kind() const override { return ProviderKind::kReplicate; }

  bool IsGenerationRoute(std::string_view method, std::string_view path) const override {
    return method == "POST" && (path == kPredictions || ModelFromModelsPath(path).has_value());
  }

  absl::StatusOr<GenerationRequest> ParseGeneration(
      std::string_view path, std::string_view body,
      const http::HeaderList& headers) const override {
    std::optional<std::string> path_model;
    if (path != kPredictions) {
      path_model = ModelFromModelsPath(path);
      if (!path_model) {
        return absl::InvalidArgumentError(
            fmt::format("not a Replicate generation route: {}", path));
      }
    }
    absl::StatusOr<json::object> object = ParseBodyObject(body);
    if (!object.ok()) return object.status();
    std::string model;
    if (path_model) {
      model = *std::move(path_model);
    } else {
      // `version` wins when both are given: it is the more specific selector.
      std::string_view field = object->contains("version") ? "version" : "model";
      const json::value* selector = object->if_contains(field);
      if (selector == nullptr) {
        return absl::InvalidArgumentError("`version` or `model` is required");
      }
      absl::StatusOr<std::string> text = ModelFromValue(*selector, field);
      if (!text.ok()) return text.status();
      absl::StatusOr<std::string> selected = ModelFromSelector(*text, field);
      if (!selected.ok()) return selected.status();
      model = *std::move(selected);
    }
    absl::StatusOr<GenerationRequest> request = RequestFromInput(
        ProviderKind::kReplicate, std::string(kPredictions), std::move(model), *object);
    if (!request.ok()) return request;
    request->wait = WaitFromPrefer(headers);
    return request;
  }

  std::optional<std::string> PredictionIdFromPath(std::string_view method,
                                                  std::string_view path) const override {
    return PredictionIdFromPredictionPath(method, path);
  }

  UpstreamState Inspect(int http_status, std::string_view body) const override {
    return InspectPrediction(http_status, body,
                             {{"starting", Phase::kPending},
                              {"processing", Phase::kPending},
                              {"succeeded", Phase::kSucceeded},
                              {"failed", Phase::kFailed},
                              {"canceled", Phase::kFailed},
                              {"cancelled", Phase::kFailed}});
  }

  std::string PollPath(const UpstreamState& state) const override {
    return PredictionPath(state.id);
  }

  std::string PendingBodyForClient(std::string_view upstream_body) const override {
    absl::StatusOr<json::object> object = ParseBodyObject(upstream_body);
    if (!object.ok()) return std::string(upstream_body);
    (*object)["status"] = "starting";
    return json::serialize(*object);
  }

  std::string ErrorBody(const ClientError& error) const override {
    json::object out;
    out["title"] = error.code;
    out["detail"] = error.message;
    out["status"] = error.http_status;
    if (!error.type.empty()) out["type"] = error.type;
    AddExtraFields(error, out);
    return json::serialize(out);
  }

  std::pair<std::string, std::string> CredentialHeader(std::string_view secret) const override {
    return {"Authorization", fmt::format("Bearer {}", secret)};
  }
};

}  // namespace

std::unique_ptr<ProviderAdapter> MakeReplicateAdapter() {
  return std::make_unique<ReplicateAdapter>();
}

}  // namespace gencache::providers
