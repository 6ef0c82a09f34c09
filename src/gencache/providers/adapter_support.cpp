#include "gencache/providers/adapter_support.hpp"

#include <fmt/format.h>

#include <cmath>
#include <system_error>

#include "absl/status/status.h"
#include "gencache/keying/canonical.hpp"
#include "gencache/keying/json_parse.hpp"

namespace gencache::providers {
namespace {

namespace json = boost::json;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

absl::StatusOr<json::object> ParseBodyObject(std::string_view body) {
  std::error_code ec;
  json::value value = keying::ParseJson(body, ec);
  if (ec == std::errc::not_enough_memory) {
    return absl::ResourceExhaustedError("request body is too large to parse");
  }
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("request body is not valid JSON: {}", ec.message()));
  }
  if (!value.is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
  return std::move(value.get_object());
}

std::optional<std::string_view> StringMember(const json::object& object, std::string_view key) {
  const json::value* member = object.if_contains(key);
  if (member == nullptr || !member->is_string()) return std::nullopt;
  return std::string_view(member->get_string());
}

absl::StatusOr<std::string> ModelFromValue(const json::value& value, std::string_view field) {
  if (!value.is_string()) {
    return absl::InvalidArgumentError(fmt::format("`{}` must be a string", field));
  }
  std::string_view text = value.get_string();
  if (text.empty()) return absl::InvalidArgumentError(fmt::format("`{}` must not be empty", field));
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          fmt::format("`{}` must not contain control characters", field));
    }
  }
  return std::string(text);
}

bool IsExplicitSeed(const json::value* seed) {
  if (seed == nullptr) return false;
  switch (seed->kind()) {
    case json::kind::int64:
      return seed->get_int64() >= 0;
    case json::kind::uint64:
      return true;
    case json::kind::double_: {
      double d = seed->get_double();
      return std::isfinite(d) && std::trunc(d) == d && d >= 0;
    }
    default:
      return false;
  }
}

void AddExtraFields(const ClientError& error, json::object& object) {
  for (const auto& [name, value] : error.text_fields) object[name] = value;
  for (const auto& [name, value] : error.number_fields) object[name] = value;
}

void ReadPricingInputs(const json::object& fields, GenerationRequest& request) {
  for (std::string_view name : {"num_outputs", "n", "num_images", "batch_size"}) {
    const json::value* v = fields.if_contains(name);
    if (v == nullptr) continue;
    std::int64_t count = 0;
    if (v->is_int64()) count = v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= 10'000)
      count = static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double() && v->get_double() >= 1 && v->get_double() <= 10'000 &&
        v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double()))) {
      count = static_cast<std::int64_t>(v->get_double());
    }
    // Out-of-range counts are the provider's to refuse; price them as 1
    // rather than trusting an absurd multiplier either way.
    if (count >= 1 && count <= 10'000) request.output_count = count;
    break;
  }
  for (std::string_view name : {"duration", "duration_seconds", "seconds"}) {
    const json::value* v = fields.if_contains(name);
    if (v == nullptr || !v->is_number()) continue;
    double seconds = v->to_number<double>();
    if (seconds > 0 && seconds <= 86'400) request.duration_seconds = seconds;
    break;
  }
}

absl::StatusOr<GenerationRequest> RequestFromInput(ProviderKind kind, std::string route,
                                                   std::string model, json::object& body) {
  json::object input;
  if (json::value* member = body.if_contains("input"); member != nullptr) {
    if (!member->is_object()) return absl::InvalidArgumentError("`input` must be a JSON object");
    input = std::move(member->get_object());
  }
  GenerationRequest request;
  request.kind = kind;
  request.route = std::move(route);
  request.model = std::move(model);
  request.prompt = std::string(StringMember(input, "prompt").value_or(""));
  request.seeded = IsExplicitSeed(input.if_contains("seed"));
  ReadPricingInputs(input, request);
  json::object params;
  params.emplace("input", std::move(input));
  request.canonical_params = keying::CanonicalJson(json::value(std::move(params)));
  return request;
}

UpstreamState InspectPrediction(int http_status, std::string_view body,
                                std::initializer_list<StatusWord> words) {
  UpstreamState state;
  state.phase = UpstreamState::Phase::kFailed;
  absl::StatusOr<json::object> object = ParseBodyObject(body);
  if (!object.ok()) return state;
  state.id = std::string(StringMember(*object, "id").value_or(""));
  state.status = std::string(StringMember(*object, "status").value_or(""));
  if (const json::value* metadata = object->if_contains("metadata");
      metadata != nullptr && metadata->is_object()) {
    const json::value* billing = metadata->get_object().if_contains("billing");
    if (billing != nullptr && billing->is_object()) {
      const json::value* credits = billing->get_object().if_contains("credits_used");
      if (credits != nullptr && credits->is_number() && credits->to_number<double>() >= 0) {
        state.credits_used = credits->to_number<double>();
      }
    }
  }
  if (http_status < 200 || http_status > 299) return state;
  for (const StatusWord& word : words) {
    if (word.word == state.status) state.phase = word.phase;
  }
  return state;
}

std::string PredictionPath(std::string_view id) {
  std::string path = "predictions/";
  for (char c : id) {
    if (IsIdChar(c)) {
      path += c;
    } else {
      fmt::format_to(std::back_inserter(path), "%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return path;
}

std::optional<std::string> PredictionIdFromPredictionPath(std::string_view method,
                                                          std::string_view path) {
  constexpr std::string_view kPrefix = "predictions/";
  if (method != "GET" || !path.starts_with(kPrefix)) return std::nullopt;
  std::string_view id = path.substr(kPrefix.size());
  if (id.empty()) return std::nullopt;
  for (char c : id) {
    if (!IsIdChar(c)) return std::nullopt;
  }
  return std::string(id);
}

}  // namespace gencache::providers
