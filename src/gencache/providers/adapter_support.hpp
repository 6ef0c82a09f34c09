#pragma once

// Pieces shared by the adapters. Internal to providers/: nothing outside this
// folder includes it, so it may expose Boost.JSON.

#include <boost/json.hpp>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::providers {

// One factory per adapter file; MakeAdapter picks among them.
std::unique_ptr<ProviderAdapter> MakeSkytellsAdapter();
std::unique_ptr<ProviderAdapter> MakeReplicateAdapter();
std::unique_ptr<ProviderAdapter> MakeOpenAIAdapter();

// Parses an untrusted body as a JSON object (keying::ParseJson: exact numbers,
// at most kDefaultMaxJsonDepth levels deep). Never throws; the error is an
// InvalidArgument worded for the API client.
absl::StatusOr<boost::json::object> ParseBodyObject(std::string_view body);

// The member `key` of `object` when it is a string.
std::optional<std::string_view> StringMember(const boost::json::object& object,
                                             std::string_view key);

// Validates a model name taken from a request: a non-empty string without
// control characters (the key's canonical form is line-based).
absl::StatusOr<std::string> ModelFromValue(const boost::json::value& value, std::string_view field);

// True when `seed` fixes the output: a JSON number with an exact integer value
// >= 0. -1 (commonly "random"), null, strings and fractions are unseeded.
bool IsExplicitSeed(const boost::json::value* seed);

// Skytells and Replicate carry every output-affecting parameter in `input`.
// Takes it from `body` (absent counts as {}; anything but an object is an
// InvalidArgument) and fills route, model, prompt, seeded and
// canonical_params {"input": ...}.
// Adds ClientError's extra members to `object`.
void AddExtraFields(const ClientError& error, boost::json::object& object);

// Fills GenerationRequest::output_count and duration_seconds from the
// fields of `fields` (an `input` object, or OpenAI's top level).
void ReadPricingInputs(const boost::json::object& fields, GenerationRequest& request);

absl::StatusOr<GenerationRequest> RequestFromInput(ProviderKind kind, std::string route,
                                                   std::string model, boost::json::object& body);

struct StatusWord {
  std::string_view word;
  UpstreamState::Phase phase;
};

// Reads `id` and `status` from a prediction object. A non-2xx answer, a body
// that is not a JSON object, and a status word not in `words` are kFailed:
// only a known good state may lead to caching or polling.
UpstreamState InspectPrediction(int http_status, std::string_view body,
                                std::initializer_list<StatusWord> words);

// "predictions/{id}" with every byte outside [A-Za-z0-9_-] percent-encoded,
// so an id from an upstream body can never leave the predictions/ prefix.
std::string PredictionPath(std::string_view id);

// For "GET predictions/{id}" with an id of [A-Za-z0-9_-] only: the id.
std::optional<std::string> PredictionIdFromPredictionPath(std::string_view method,
                                                          std::string_view path);

}  // namespace gencache::providers
