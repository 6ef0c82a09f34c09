// Micro-benchmarks of GatewayMetrics' hot path (RecordRequest sits on the
// cache-hit path). Run: build/<dir>/src/gencache/metrics/metrics_bench
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "gencache/metrics/gateway_metrics.hpp"

namespace gencache::metrics {
namespace {

using std::chrono::microseconds;

// One label set repeated: the cache-hit steady state. With Threads(2) the
// threads share the series, as two event loops serving one model do.
void BM_RecordRequestRepeated(benchmark::State& state) {
  static GatewayMetrics shared;
  GatewayMetrics* metrics = &shared;
  const std::string provider = "skytells";
  const std::string model = "flux-1.1-pro";
  const std::string status = "hit";
  for (auto _ : state) {
    metrics->RecordRequest(provider, model, status, base::Money::FromMicros(0),
                           base::Money::FromMicros(40'000), microseconds(0), microseconds(35));
  }
}
BENCHMARK(BM_RecordRequestRepeated)->Threads(1)->Threads(2)->UseRealTime();

// A miss with an upstream call: adds the per-provider histogram.
void BM_RecordRequestWithUpstream(benchmark::State& state) {
  GatewayMetrics metrics;
  for (auto _ : state) {
    metrics.RecordRequest("skytells", "flux-1.1-pro", "miss", base::Money::FromMicros(40'000),
                          base::Money::FromMicros(0), microseconds(800'000), microseconds(800'120));
  }
}
BENCHMARK(BM_RecordRequestWithUpstream);

// Rotating over many known label sets (cache bigger than L1).
void BM_RecordRequestManyModels(benchmark::State& state) {
  GatewayMetrics metrics;
  std::vector<std::string> models;
  for (int i = 0; i < state.range(0); ++i) models.push_back(fmt::format("owner/model-{}", i));
  std::size_t i = 0;
  for (auto _ : state) {
    metrics.RecordRequest("replicate", models[i], "hit", base::Money::FromMicros(0),
                          base::Money::FromMicros(1), microseconds(0), microseconds(30));
    if (++i == models.size()) i = 0;
  }
}
BENCHMARK(BM_RecordRequestManyModels)->Arg(8)->Arg(1000);

// Models past the cap: every call folds to "other" without caching the raw
// value (the path a client inventing model names takes).
void BM_RecordRequestPastModelCap(benchmark::State& state) {
  GatewayMetrics metrics;
  for (std::size_t k = 0; k < GatewayMetrics::kMaxModels; ++k) {
    metrics.RecordRequest("p", fmt::format("m{}", k), "hit", {}, {}, microseconds(0),
                          microseconds(1));
  }
  std::uint64_t n = 0;
  std::vector<std::string> names;
  for (int k = 0; k < 4096; ++k) names.push_back(fmt::format("invented-{}", k));
  for (auto _ : state) {
    metrics.RecordRequest("p", names[n++ % names.size()], "hit", {}, {}, microseconds(0),
                          microseconds(1));
  }
}
BENCHMARK(BM_RecordRequestPastModelCap);

void BM_RecordError(benchmark::State& state) {
  GatewayMetrics metrics;
  for (auto _ : state) metrics.RecordError("upstream_timeout");
}
BENCHMARK(BM_RecordError);

void BM_Scrape(benchmark::State& state) {
  GatewayMetrics metrics;
  for (int i = 0; i < state.range(0); ++i) {
    metrics.RecordRequest("replicate", fmt::format("owner/model-{}", i), "hit", {}, {},
                          microseconds(100), microseconds(130));
  }
  ScrapeSnapshot snapshot;
  snapshot.cache_tiers = {{.tier = "memory", .entries = 1000, .bytes = 1 << 20}};
  snapshot.budgets = {{.scope = "daily", .limit = base::Money::FromMicros(100'000'000)}};
  for (auto _ : state) benchmark::DoNotOptimize(metrics.Scrape(snapshot));
}
BENCHMARK(BM_Scrape)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gencache::metrics

BENCHMARK_MAIN();
