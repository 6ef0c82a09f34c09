#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/timer_queue.hpp"
#include "gencache/base/worker_pool.hpp"
#include "gencache/budget/budget_ledger.hpp"
#include "gencache/budget/pricing.hpp"
#include "gencache/cache/tiered_cache.hpp"
#include "gencache/coalesce/inflight_registry.hpp"
#include "gencache/config/options.hpp"
#include "gencache/http/message.hpp"
#include "gencache/metrics/gateway_metrics.hpp"
#include "gencache/pipeline/budget_alerts.hpp"
#include "gencache/pipeline/identity.hpp"
#include "gencache/providers/provider_adapter.hpp"
#include "gencache/spend/spend_event.hpp"
#include "gencache/upstream/http_client.hpp"

namespace gencache::rehost {
class Rehoster;
}
namespace gencache::files {
class FilesHandler;
}
namespace gencache::neardup {
class NearDuplicateFinder;
}

namespace gencache::pipeline {

// Counters for the stats endpoint and the demo report. Monotonic.
struct GatewayCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> near_hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> coalesced{0};
  std::atomic<std::uint64_t> bypass{0};
  std::atomic<std::uint64_t> denied{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> upstream_creates{0};  // generation calls made upstream
  std::atomic<std::uint64_t> upstream_polls{0};
  std::atomic<std::uint64_t> passthrough{0};
  std::atomic<std::uint64_t> store_failures{0};
  // Requests now waiting on a call another request leads.
  std::atomic<std::int64_t> waiting_followers{0};
};

// Everything the pipeline uses, owned by the composition root (app/), which
// must keep it alive until the gateway and every callback it started are
// gone: destroy the server first, then the HTTP client and the timers (their
// callbacks reach the gateway), then the pool (it finishes queued writes).
struct GatewayDeps {
  const config::Options& options;
  cache::TieredCache& cache;
  coalesce::InflightRegistry& inflight;
  upstream::HttpClient& http;
  base::TimerQueue& timers;
  base::WorkerPool& blocking;  // SQLite and other blocking calls
  const base::Clock& clock;
  const budget::PriceTable& prices;
  budget::BudgetLedger& ledger;  // blocking: called on `blocking`
  spend::SpendSink& spend_sink;
  spend::SpendStore& spend_store;  // blocking: called on `blocking`
  const Authenticator& auth;
  BudgetAlerts& alerts;  // checked after each settle, on `blocking`
  metrics::GatewayMetrics& metrics;
  // Re-hosting of outputs (nullptr: rehost.enabled is off) and the pool its
  // downloads run on.
  rehost::Rehoster* rehoster = nullptr;
  base::WorkerPool* rehost_pool = nullptr;
  // GET/HEAD /files/... (nullptr: 404).
  const files::FilesHandler* files = nullptr;
  // Near-duplicate matching (nullptr: off for every provider and model).
  neardup::NearDuplicateFinder* near_duplicates = nullptr;
};

// The request pipeline as an http::Handler: routes /NAME/... to its provider,
// sends generation routes through policy -> exact cache -> coalescing ->
// upstream (with polling) -> store, and passes every other route through.
//
// Threads: Handle runs on an event loop and answers a memory-tier hit before
// returning; anything slower continues on the blocking pool, the HTTP
// client's thread or the timer thread, and answers through Respond.
class Gateway final : public http::Handler {
 public:
  explicit Gateway(GatewayDeps deps);
  ~Gateway() override;

  void Handle(http::Request request, http::Respond respond) override;
  http::Response Reject(std::string_view target, const absl::Status& error) override;

  const GatewayCounters& counters() const { return counters_; }

  // What the blob store held at its last walk (garbage collection), for
  // /metrics. Thread-safe.
  void RecordBlobUsage(std::string store, std::uint64_t blobs, std::uint64_t bytes);

  struct Provider;  // a mounted provider: options, adapter, credential
  struct Flight;    // the work behind one coalesced upstream call

 private:
  // What every request handler carries along for the spend event.
  struct RequestContext {
    Identity identity;
    std::string request_id;
    std::chrono::steady_clock::time_point started;
    std::string prompt;  // only with log_prompts: for the debug request line
    // Where this client reaches /files (see FilesBaseFor); empty until
    // needed.
    std::string files_base;
  };

  // The body to answer with: the entry's own bytes, shared, unless they name
  // /files by placeholder (then a copy naming `files_base`).
  void SetBody(http::Response& response, const cache::CachedResponse& entry,
               const std::string& files_base) const;
  std::string FilesBase(const http::HeaderList& headers) const;

  void HandleGeneration(const Provider& provider, std::string rest, http::Request request,
                        http::Respond respond, RequestContext context);
  void HandleAdmin(const http::Request& request, http::Respond respond);
  void HandlePredictionGet(const Provider& provider, std::string id, std::string rest,
                           http::Request request, http::Respond respond);
  void PassThrough(const Provider& provider, const std::string& rest, http::Request request,
                   http::Respond respond);

  // The leader's side of a flight.
  void StartFlight(std::shared_ptr<Flight> flight);
  // Reserves the estimate in every budget scope, then calls; runs on the
  // blocking pool.
  void ReserveAndCall(std::shared_ptr<Flight> flight);
  void CallUpstream(std::shared_ptr<Flight> flight);
  void OnUpstreamAnswer(std::shared_ptr<Flight> flight,
                        absl::StatusOr<upstream::UpstreamResponse> answer);
  void SchedulePoll(std::shared_ptr<Flight> flight, std::string prediction_id);
  // Looks the flight's prompt up in the near-duplicate index; true when it
  // finished the flight with a near-hit. Blocking.
  bool TryNearDuplicate(const std::shared_ptr<Flight>& flight, base::SystemTime now);
  // A successful generation: re-hosts its outputs, stores it, finishes.
  // Blocking when re-hosting is on (runs on the rehost pool).
  void StoreAndFinish(std::shared_ptr<Flight> flight, std::shared_ptr<cache::CachedResponse> entry,
                      base::Money cost);
  void FinishFlight(const std::shared_ptr<Flight>& flight, coalesce::FlightResult result);
  // Ends the flight with `error`, answered with `http_status` (0: the
  // status error_mapping gives the error).
  void FailFlight(const std::shared_ptr<Flight>& flight, const absl::Status& error,
                  int http_status = 0);
  void RecordSpend(const Provider& provider, const RequestContext& context, std::string model,
                   std::string cache_status, base::Money cost, base::Money saving,
                   std::string prediction_id, std::chrono::microseconds upstream_latency,
                   bool rehosted = false, std::uint64_t rehosted_bytes = 0);

  upstream::UpstreamRequest BuildUpstreamRequest(const Provider& provider, std::string method,
                                                 const std::string& rest, const std::string& query,
                                                 const http::HeaderList& client_headers,
                                                 std::string body) const;
  // An error in the provider SDK's shape (a generic OpenAI-style shape when
  // no provider is known).
  http::Response ErrorResponse(const Provider* provider, int http_status,
                               const absl::Status& error) const;
  http::Response HealthResponse() const;
  void RespondStats(http::Respond respond) const;
  void RespondMetrics(http::Respond respond) const;

  GatewayDeps deps_;
  std::vector<std::unique_ptr<Provider>> providers_;
  mutable GatewayCounters counters_;
  mutable absl::Mutex blob_usage_mu_;
  std::optional<metrics::ScrapeSnapshot::Blobs> blob_usage_ ABSL_GUARDED_BY(blob_usage_mu_);
};

}  // namespace gencache::pipeline
