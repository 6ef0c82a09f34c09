#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/neardup/embedder.hpp"
#include "gencache/upstream/http_client.hpp"

namespace gencache::neardup {

struct RemoteEmbedderOptions {
  // Base URL of an OpenAI-compatible API; requests go to {url}/embeddings.
  std::string url;
  std::string model;
  // Sent as "Authorization: Bearer {api_key}"; empty sends no Authorization.
  // The config layer reads it from the variable named by api_key_env.
  std::string api_key;
  // Expected vector length; 0 = whatever the first answer has. Either way,
  // once known, an answer of another length is an error.
  std::size_t dimension = 0;
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{10'000};
  // Answers kept (LRU, keyed by the text embedded): the pipeline embeds a
  // prompt at lookup and again when it adds the new entry, and repeats are
  // the point of a cache. 4096 entries of 1536 floats: about 25 MB.
  std::size_t cache_entries = 4096;
};

struct RemoteEmbedderStats {
  std::uint64_t requests = 0;    // sent to the endpoint
  std::uint64_t cache_hits = 0;  // answered from the LRU
  std::uint64_t failures = 0;    // requests that ended in an error
};

// An Embedder backed by an OpenAI-compatible POST /embeddings endpoint:
// sends {"model": model, "input": text}, reads data[0].embedding and
// L2-normalises it (the index relies on unit vectors; OpenAI's are already,
// other servers' may not be). Answers are cached in a bounded LRU.
//
// Embed blocks the calling thread until the answer or the timeout: call it
// on a worker thread, never on an event loop or on `client`'s own callback
// thread (it would wait for itself).
//
// Errors: Unavailable when the endpoint cannot be reached, answers with a
// non-2xx status or with JSON without a usable embedding; DeadlineExceeded
// after `timeout`; FailedPrecondition when the vector length differs from
// the dimension in use. The API key never appears in an error or a log.
//
// Thread-safety: thread-safe; `client` must outlive the embedder.
class RemoteEmbedder final : public Embedder {
 public:
  RemoteEmbedder(RemoteEmbedderOptions options, upstream::HttpClient& client);
  ~RemoteEmbedder() override;

  absl::StatusOr<std::vector<float>> Embed(std::string_view text) override;
  std::size_t dimension() const override;
  std::string_view name() const override { return name_; }

  RemoteEmbedderStats stats() const;

 private:
  struct Cache;
  absl::StatusOr<std::vector<float>> Fetch(std::string_view text);

  const RemoteEmbedderOptions options_;
  const std::string name_;
  const std::string endpoint_;
  upstream::HttpClient& client_;
  std::unique_ptr<Cache> cache_;
};

// Parses an OpenAI embeddings response body into data[0].embedding (not
// normalised). Exposed for tests and the fuzzer: the body is untrusted.
absl::StatusOr<std::vector<float>> ParseEmbeddingsResponse(std::string_view body);

}  // namespace gencache::neardup
