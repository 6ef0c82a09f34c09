// Feeds arbitrary bytes, as a request body and as an upstream answer, through
// every provider adapter, and checks what the cache relies on: parsing never
// crashes, an accepted request has canonical params that are canonical JSON
// (canonicalising them again changes nothing), a model fit for the line-based
// key form, and a key; poll paths never leave predictions/.
// Also built into fuzz_corpus_replay_test, which replays the seed corpus.

#include <array>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <system_error>

#include "gencache/keying/canonical.hpp"
#include "gencache/keying/json_parse.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace {

using gencache::providers::ProviderAdapter;
using gencache::providers::ProviderKind;

void Require(bool condition) {
  if (!condition) std::abort();
}

struct Route {
  ProviderKind kind;
  std::string_view path;
};

constexpr std::array<Route, 5> kRoutes = {{
    {ProviderKind::kSkytells, "predict"},
    {ProviderKind::kSkytells, "predictions"},
    {ProviderKind::kReplicate, "predictions"},
    {ProviderKind::kReplicate, "models/owner/name/predictions"},
    {ProviderKind::kOpenAI, "images/generations"},
}};

const ProviderAdapter& AdapterFor(ProviderKind kind) {
  static const std::array<std::unique_ptr<ProviderAdapter>, 3> adapters = {
      gencache::providers::MakeAdapter(ProviderKind::kSkytells),
      gencache::providers::MakeAdapter(ProviderKind::kReplicate),
      gencache::providers::MakeAdapter(ProviderKind::kOpenAI),
  };
  return *adapters[static_cast<std::size_t>(kind)];
}

void CheckCanonical(const std::string& canonical) {
  std::error_code ec;
  boost::json::value value = gencache::keying::ParseJson(canonical, ec, 1024);
  Require(!ec);
  Require(gencache::keying::CanonicalJson(value) == canonical);
}

void CheckPollPath(const std::string& path) {
  constexpr std::string_view kPrefix = "predictions/";
  Require(path.starts_with(kPrefix));
  Require(path.find('/', kPrefix.size()) == std::string::npos);
  Require(path.find('.') == std::string::npos && path.find('?') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const gencache::http::HeaderList headers = {{"Prefer", "wait=5"}};
  for (const Route& route : kRoutes) {
    const ProviderAdapter& adapter = AdapterFor(route.kind);
    auto request = adapter.ParseGeneration(route.path, bytes, headers);
    if (request.ok()) {
      Require(!request->model.empty() && request->model.find('\n') == std::string::npos);
      CheckCanonical(request->canonical_params);
      Require(gencache::providers::CacheKeyFor(*request, "fuzz").hex.size() == 64);
    }
    auto state = adapter.Inspect(200, bytes);
    if (route.kind != ProviderKind::kOpenAI) CheckPollPath(adapter.PollPath(state));
    adapter.PendingBodyForClient(bytes);
    // The bytes as a path, too: route matching and id extraction see
    // client-controlled paths.
    adapter.IsGenerationRoute("POST", bytes);
    if (auto id = adapter.PredictionIdFromPath("GET", bytes)) {
      gencache::providers::UpstreamState from_path;
      from_path.id = *id;
      Require(adapter.PollPath(from_path) == bytes);
    }
  }
  return 0;
}
