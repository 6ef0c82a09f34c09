#include "gencache/neardup/remote_embedder.hpp"

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <future>
#include <list>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "gencache/keying/json_parse.hpp"

namespace gencache::neardup {
namespace {

namespace json = boost::json;

std::string TrimTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

// A bounded LRU of embeddings by text, plus the dimension in use.
struct RemoteEmbedder::Cache {
  using Item = std::pair<std::string, std::vector<float>>;

  explicit Cache(std::size_t c) : capacity(c) {}

  std::optional<std::vector<float>> Get(std::string_view text) {
    absl::MutexLock lock(&mu);
    auto it = index.find(text);
    if (it == index.end()) return std::nullopt;
    items.splice(items.begin(), items, it->second);
    ++stats.cache_hits;
    return it->second->second;
  }

  void Put(std::string_view text, const std::vector<float>& vector) {
    if (capacity == 0) return;
    absl::MutexLock lock(&mu);
    if (index.contains(text)) return;
    items.emplace_front(std::string(text), vector);
    index.emplace(std::string_view(items.front().first), items.begin());
    while (items.size() > capacity) {
      index.erase(std::string_view(items.back().first));
      items.pop_back();
    }
  }

  const std::size_t capacity;
  std::atomic<std::size_t> dimension{0};
  absl::Mutex mu;
  std::list<Item> items ABSL_GUARDED_BY(mu);  // most recently used first
  // Keys view the strings inside `items`, whose nodes never move.
  absl::flat_hash_map<std::string_view, std::list<Item>::iterator> index ABSL_GUARDED_BY(mu);
  RemoteEmbedderStats stats ABSL_GUARDED_BY(mu);
};

RemoteEmbedder::RemoteEmbedder(RemoteEmbedderOptions options, upstream::HttpClient& client)
    : options_(std::move(options)),
      name_(fmt::format("remote:{}", options_.model)),
      endpoint_(TrimTrailingSlashes(options_.url) + "/embeddings"),
      client_(client),
      cache_(std::make_unique<Cache>(options_.cache_entries)) {
  cache_->dimension = options_.dimension;
}

RemoteEmbedder::~RemoteEmbedder() = default;

std::size_t RemoteEmbedder::dimension() const { return cache_->dimension.load(); }

RemoteEmbedderStats RemoteEmbedder::stats() const {
  absl::MutexLock lock(&cache_->mu);
  return cache_->stats;
}

absl::StatusOr<std::vector<float>> RemoteEmbedder::Embed(std::string_view text) {
  if (auto cached = cache_->Get(text)) return *std::move(cached);
  auto vector = Fetch(text);
  {
    absl::MutexLock lock(&cache_->mu);
    ++cache_->stats.requests;
    if (!vector.ok()) ++cache_->stats.failures;
  }
  if (!vector.ok()) return vector.status();
  std::size_t expected = 0;
  if (!cache_->dimension.compare_exchange_strong(expected, vector->size()) &&
      expected != vector->size()) {
    absl::MutexLock lock(&cache_->mu);
    ++cache_->stats.failures;
    return absl::FailedPreconditionError(fmt::format(
        "embeddings endpoint returned {} dimensions, expected {}", vector->size(), expected));
  }
  NormalizeL2(*vector);
  cache_->Put(text, *vector);
  return vector;
}

absl::StatusOr<std::vector<float>> RemoteEmbedder::Fetch(std::string_view text) {
  upstream::UpstreamRequest request;
  request.method = "POST";
  request.url = endpoint_;
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  if (!options_.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  }
  json::object body;
  body["model"] = options_.model;
  body["input"] = json::string_view(text.data(), text.size());
  request.body = json::serialize(body);
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.timeout;
  request.max_response_bytes = 32ull << 20;

  // Shared, because the client's thread may still be inside set_value when
  // this thread has its answer and returns.
  auto promise = std::make_shared<std::promise<absl::StatusOr<upstream::UpstreamResponse>>>();
  auto answer = promise->get_future();
  client_.Send(std::move(request), [promise](absl::StatusOr<upstream::UpstreamResponse> r) {
    promise->set_value(std::move(r));
  });
  absl::StatusOr<upstream::UpstreamResponse> response = answer.get();
  if (!response.ok()) {
    if (absl::IsDeadlineExceeded(response.status())) return response.status();
    return absl::UnavailableError(
        fmt::format("embeddings endpoint: {}", std::string(response.status().message())));
  }
  if (response->status < 200 || response->status >= 300) {
    // The body is not quoted: some servers echo part of the key in it.
    return absl::UnavailableError(
        fmt::format("embeddings endpoint answered HTTP {}", response->status));
  }
  auto vector = ParseEmbeddingsResponse(response->body);
  if (!vector.ok()) {
    return absl::UnavailableError(
        fmt::format("embeddings endpoint: {}", std::string(vector.status().message())));
  }
  return vector;
}

absl::StatusOr<std::vector<float>> ParseEmbeddingsResponse(std::string_view body) {
  std::error_code ec;
  json::value value = keying::ParseJson(body, ec);
  if (ec) return absl::InvalidArgumentError(fmt::format("response is not JSON: {}", ec.message()));
  const json::object* object = value.if_object();
  const json::value* data = object != nullptr ? object->if_contains("data") : nullptr;
  const json::array* items = data != nullptr ? data->if_array() : nullptr;
  if (items == nullptr || items->empty()) {
    return absl::InvalidArgumentError("response has no `data` array");
  }
  // The one input sent is data[0]; a server may still label it by "index".
  const json::value* embedding = nullptr;
  for (const json::value& item : *items) {
    const json::object* entry = item.if_object();
    if (entry == nullptr) continue;
    const json::value* index = entry->if_contains("index");
    if (index != nullptr && !(index->is_int64() && index->get_int64() == 0) &&
        !(index->is_uint64() && index->get_uint64() == 0)) {
      continue;
    }
    embedding = entry->if_contains("embedding");
    break;
  }
  const json::array* numbers = embedding != nullptr ? embedding->if_array() : nullptr;
  if (numbers == nullptr || numbers->empty()) {
    return absl::InvalidArgumentError("response has no `data[0].embedding` array of numbers");
  }
  std::vector<float> vector;
  vector.reserve(numbers->size());
  for (const json::value& number : *numbers) {
    double x;
    if (number.is_double()) {
      x = number.get_double();
    } else if (number.is_int64()) {
      x = static_cast<double>(number.get_int64());
    } else if (number.is_uint64()) {
      x = static_cast<double>(number.get_uint64());
    } else {
      return absl::InvalidArgumentError("embedding holds a value that is not a number");
    }
    const auto f = static_cast<float>(x);
    if (!std::isfinite(f)) return absl::InvalidArgumentError("embedding value out of range");
    vector.push_back(f);
  }
  return vector;
}

}  // namespace gencache::neardup
