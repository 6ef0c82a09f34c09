#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/http/message.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::providers {

enum class ProviderKind { kSkytells, kReplicate, kOpenAI };

std::optional<ProviderKind> ParseProviderKind(std::string_view text);
std::string_view ToString(ProviderKind kind);

// How long the client is willing to wait for a terminal answer.
struct ClientWait {
  enum class Mode {
    kDefault,  // no preference: the gateway waits up to its own sync_wait
    kWait,     // Prefer: wait[=N] or Skytells `await: true`
  };
  Mode mode = Mode::kDefault;
  // For kWait: the client's bound (Prefer: wait=N), if it gave one.
  std::optional<std::chrono::seconds> max;
};

// A generation request as the pipeline needs it, independent of provider.
struct GenerationRequest {
  ProviderKind kind = ProviderKind::kSkytells;
  // Route class shared by routes that produce the same response shape:
  // "predict" and "predictions" (Skytells), "predictions" (Replicate, both
  // create routes), "images/generations" (OpenAI).
  std::string route;
  // Model name ("truefusion-pro", "owner/name") or "version:<id>".
  std::string model;
  // The text prompt when the input has one; empty otherwise.
  std::string prompt;
  // True when the request fixes the seed explicitly (a non-negative integer
  // `seed`), so the same request gives the same output.
  bool seeded = false;
  // Canonical JSON (keying::CanonicalJson) of the output-affecting fields,
  // model excluded. Hashed with the namespace into the cache key.
  std::string canonical_params;
  ClientWait wait;
  // What pricing multiplies by: the outputs requested (`num_outputs`, `n`,
  // `num_images`, `batch_size`; 1 when absent or invalid) and a duration in
  // seconds (`duration`, `duration_seconds`, `seconds`) when the input has one.
  std::int64_t output_count = 1;
  std::optional<double> duration_seconds;
  // The answer will be server-sent events (OpenAI `stream: true`), not one
  // JSON body: the pipeline must neither cache nor coalesce it. `stream` is
  // not part of the key, so this flag is the only place it shows.
  bool event_stream = false;
};

// The state of a prediction as read from an upstream response body.
struct UpstreamState {
  enum class Phase { kPending, kSucceeded, kFailed };
  Phase phase = Phase::kFailed;
  std::string id;      // provider prediction id, may be empty (OpenAI)
  std::string status;  // provider's status word, e.g. "processing"
  // What the provider says it charged, in its credits (Skytells
  // `metadata.billing.credits_used`), when the body reports it.
  std::optional<double> credits_used;
};

// An error to report to a client in the shape its provider's SDK parses.
struct ClientError {
  int http_status = 500;
  std::string code;     // stable machine code, e.g. "invalid_json"
  std::string type;     // error class, e.g. "invalid_request_error"
  std::string message;  // human text, never containing secrets
  // Extra members of the error object (budget denials: scope, spent, limit,
  // reset time), in order.
  std::vector<std::pair<std::string, std::string>> text_fields;
  std::vector<std::pair<std::string, double>> number_fields;
};

// Everything the gateway knows about one provider's wire protocol. Stateless
// and thread-safe; no I/O. Paths are what follows the mount, without a
// leading slash or query: "/replicate/models/o/n/predictions?x=1" on the mount
// "replicate" is "models/o/n/predictions" (and goes upstream to
// base_url + "/models/o/n/predictions").
class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;

  virtual ProviderKind kind() const = 0;

  // True for the routes that go through the pipeline (cache, coalescing).
  virtual bool IsGenerationRoute(std::string_view method, std::string_view path) const = 0;

  // Parses a generation body. Malformed JSON or a body that is not an object
  // gives InvalidArgument with a message fit for the client.
  virtual absl::StatusOr<GenerationRequest> ParseGeneration(
      std::string_view path, std::string_view body, const http::HeaderList& headers) const = 0;

  // For "GET predictions/{id}": the id. Otherwise nullopt.
  virtual std::optional<std::string> PredictionIdFromPath(std::string_view method,
                                                          std::string_view path) const = 0;

  // Reads the state of a prediction from an upstream answer.
  virtual UpstreamState Inspect(int http_status, std::string_view body) const = 0;

  // Path (relative to base_url) to poll a pending prediction.
  virtual std::string PollPath(const UpstreamState& state) const = 0;

  // The body to hand a client whose wait ran out while the prediction is
  // still pending. Replicate-style SDKs only poll after `starting`, so
  // Replicate bodies report `starting` whatever the upstream said.
  virtual std::string PendingBodyForClient(std::string_view upstream_body) const = 0;

  // Error body in the provider SDK's shape (JSON).
  virtual std::string ErrorBody(const ClientError& error) const = 0;

  // The header the provider expects its credential in, and its value.
  virtual std::pair<std::string, std::string> CredentialHeader(std::string_view secret) const = 0;
};

std::unique_ptr<ProviderAdapter> MakeAdapter(ProviderKind kind);

// The exact-cache key of `request` in `cache_namespace` (keying::ComputeCacheKey
// over kind, route, namespace, model and canonical_params).
// REQUIRES: cache_namespace contains no LF.
keying::CacheKey CacheKeyFor(const GenerationRequest& request, std::string_view cache_namespace);

// The near-duplicate partition of `request`: a key over everything CacheKeyFor
// covers except the prompt text, so two requests share a partition exactly
// when they differ in nothing but the prompt. Never equal to a cache key.
// nullopt when the request has no string prompt to vary.
// REQUIRES: cache_namespace contains no LF.
std::optional<keying::CacheKey> PromptPartitionFor(const GenerationRequest& request,
                                                   std::string_view cache_namespace);

}  // namespace gencache::providers
