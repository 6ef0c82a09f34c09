#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/base/money.hpp"

namespace gencache::metrics {

// Values read at scrape time rather than counted as they happen.
struct ScrapeSnapshot {
  struct Tier {
    std::string tier;  // "memory", "persistent"
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
  };
  struct Budget {
    std::string scope;    // "daily", "user_daily", "model_daily", "monthly"
    std::string subject;  // user or model; empty for global scopes
    base::Money spent;
    base::Money reserved;
    base::Money limit;
  };
  std::vector<Tier> cache_tiers;
  std::vector<Budget> budgets;
  std::uint64_t inflight_calls = 0;     // upstream calls shared by coalesced requests
  std::uint64_t coalesced_waiters = 0;  // requests waiting on another request's call
  // Re-hosting, counted since start (monotonic).
  struct Rehost {
    std::uint64_t responses = 0;         // responses with output URLs
    std::uint64_t responses_failed = 0;  // ... whose outputs could not be re-hosted
    std::uint64_t downloads = 0;         // attempts, retries included
    std::uint64_t bytes_stored = 0;
    std::uint64_t refused = 0;  // refused by the URL policy (SSRF guard)
  };
  Rehost rehost;
  // The blob store as of its last walk (garbage collection); nullopt before.
  struct Blobs {
    std::string store;  // "local", "s3"
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
  };
  std::optional<Blobs> blobs;
  // The near-duplicate index; nullopt when near-duplicate matching is off.
  struct NearDuplicate {
    std::uint64_t entries = 0;
    std::uint64_t memory_bytes = 0;
  };
  std::optional<NearDuplicate> near_duplicate;
};

// The gateway's Prometheus metrics (names follow Prometheus conventions:
// `gencache_..._total` counters, base units, `_seconds`, `_usd`, `_bytes`).
// Thread-safe; the Record calls are cheap enough for the cache-hit path.
//
// Label values may come from clients (model names), so their number is
// capped: past a cap, new values are counted under "other". Values are cut
// to kMaxLabelBytes and invalid UTF-8 bytes become '?'.
class GatewayMetrics {
 public:
  static constexpr std::size_t kMaxModels = 1000;
  static constexpr std::size_t kMaxProviders = 64;
  static constexpr std::size_t kMaxStatuses = 32;
  static constexpr std::size_t kMaxErrorKinds = 64;
  static constexpr std::size_t kMaxLabelBytes = 128;

  GatewayMetrics();
  ~GatewayMetrics();
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // One generation request ended with `cache_status` (hit, coalesced, miss,
  // bypass, denied, error). `upstream` is zero when no upstream call was
  // made for it; gateway overhead is total - upstream.
  void RecordRequest(std::string_view provider, std::string_view model,
                     std::string_view cache_status, base::Money cost, base::Money saving,
                     std::chrono::microseconds upstream, std::chrono::microseconds total);

  // An error answered to a client, by kind (e.g. "invalid_request",
  // "upstream_unreachable", "upstream_timeout", "budget_exceeded").
  void RecordError(std::string_view kind);

  // Every metric in the Prometheus text exposition format (version 0.0.4),
  // with the snapshot's gauges set first.
  std::string Scrape(const ScrapeSnapshot& snapshot);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gencache::metrics
