#include "gencache/app/gateway_app.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "gencache/app/blob_backend.hpp"
#include "gencache/base/timer_queue.hpp"
#include "gencache/base/worker_pool.hpp"
#include "gencache/blob/blob_gc.hpp"
#include "gencache/budget/pricing.hpp"
#include "gencache/budget/sqlite_ledger.hpp"
#include "gencache/cache/memory_store.hpp"
#include "gencache/cache/sqlite_store.hpp"
#include "gencache/cache/tiered_cache.hpp"
#include "gencache/coalesce/local_inflight_registry.hpp"
#include "gencache/files/files_handler.hpp"
#include "gencache/http/server.hpp"
#include "gencache/neardup/lexical_embedder.hpp"
#include "gencache/neardup/near_duplicate_finder.hpp"
#include "gencache/neardup/remote_embedder.hpp"
#include "gencache/pipeline/budget_alerts.hpp"
#include "gencache/pipeline/budget_policy.hpp"
#include "gencache/pipeline/identity.hpp"
#include "gencache/rehost/output_fetcher.hpp"
#include "gencache/rehost/rehoster.hpp"
#include "gencache/rehost/url_policy.hpp"
#include "gencache/spend/sqlite_spend_store.hpp"
#include "gencache/upstream/curl_http_client.hpp"

namespace gencache::app {

// Declaration order is construction order; Stop() tears down explicitly.
struct GatewayApp::Parts {
  config::Options options;
  const base::Clock* clock = nullptr;
  std::unique_ptr<cache::MemoryStore> memory;
  std::unique_ptr<cache::SqliteStore> sqlite;
  std::unique_ptr<cache::TieredCache> tiered;
  std::unique_ptr<coalesce::LocalInflightRegistry> inflight;
  std::unique_ptr<budget::PriceTable> prices;
  std::unique_ptr<budget::SqliteLedger> ledger;
  std::unique_ptr<spend::SqliteSpendStore> spend;
  std::unique_ptr<pipeline::Authenticator> auth;
  std::unique_ptr<pipeline::BudgetAlerts> alerts;
  std::unique_ptr<metrics::GatewayMetrics> metrics;
  std::unique_ptr<blob::BlobStore> blobs;
  std::optional<rehost::UrlPolicy> url_policy;
  std::unique_ptr<rehost::OutputFetcher> fetcher;
  std::unique_ptr<rehost::Rehoster> rehoster;  // null: rehost.enabled is off
  std::unique_ptr<base::WorkerPool> blocking;
  std::unique_ptr<base::WorkerPool> rehost_pool;
  // The start-up rebuild of the near-duplicate index: its own thread, so it
  // never holds a blocking-pool thread for its whole duration.
  std::unique_ptr<base::WorkerPool> index_pool;
  std::unique_ptr<base::TimerQueue> timers;
  std::unique_ptr<upstream::HttpClient> http;
  std::unique_ptr<files::FilesHandler> files;
  std::unique_ptr<neardup::Embedder> embedder;
  std::unique_ptr<neardup::NearDuplicateFinder> near_duplicates;  // null: off everywhere
  std::unique_ptr<pipeline::Gateway> gateway;
  std::unique_ptr<http::Server> server;
  std::atomic<bool> stopped{false};
  std::atomic<bool> stopping{false};  // tells the index rebuild to give up
};

namespace {

constexpr auto kEvictionInterval = std::chrono::minutes(10);

void ScheduleEviction(GatewayApp::Parts* parts) {
  parts->timers->RunAfter(kEvictionInterval, [parts] {
    parts->blocking->Post([parts] {
      const base::SystemTime now = parts->clock->Now();
      auto evicted = parts->tiered->EvictExpired(now);
      if (evicted.memory + evicted.persistent > 0) {
        spdlog::info("evicted expired entries: {} from memory, {} from disk", evicted.memory,
                     evicted.persistent);
      }
      if (parts->near_duplicates) parts->near_duplicates->ExpireBefore(now);
    });
    ScheduleEviction(parts);
  });
}

// Deletes blobs no live entry references, then again every gc_interval.
void ScheduleBlobGc(GatewayApp::Parts* parts, std::chrono::seconds delay) {
  parts->timers->RunAfter(delay, [parts] {
    parts->blocking->Post([parts] {
      const base::SystemTime now = parts->clock->Now();
      auto references = [parts, now](const std::function<void(std::string_view)>& visit) {
        return parts->tiered->ForEachLive(now, [&](const cache::EntrySummary& entry) {
          for (const auto& sha : entry.blobs) visit(sha);
        });
      };
      auto report =
          blob::CollectGarbage(*parts->blobs, references, now, parts->options.rehost.gc_grace);
      if (!report.ok()) {
        spdlog::warn("blob gc: {}", report.status().ToString());
        return;
      }
      parts->gateway->RecordBlobUsage(std::string(parts->blobs->kind()),
                                      report->blobs - report->deleted, report->kept_bytes);
      if (report->deleted > 0 || report->errors > 0) {
        spdlog::info("blob gc: deleted {} blobs ({} bytes), kept {}, {} errors", report->deleted,
                     report->deleted_bytes, report->blobs - report->deleted, report->errors);
      }
    });
    ScheduleBlobGc(parts, parts->options.rehost.gc_interval);
  });
}

// Feeds the near-duplicate index from the persistent tier, off the start-up
// path: until it is done, lookups simply find fewer matches.
void RebuildNearDuplicateIndex(GatewayApp::Parts* parts) {
  parts->index_pool->Post([parts] {
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t added = 0;
    std::uint64_t failed = 0;
    const config::NearDuplicateSection& near = parts->options.near_duplicate;
    absl::Status walked = parts->tiered->ForEachLivePersistent(
        parts->clock->Now(), [&](const cache::EntrySummary& entry) {
          if (parts->stopping.load(std::memory_order_relaxed) || entry.prompt_partition.empty() ||
              !near.EnabledFor(entry.provider, entry.model)) {
            return;
          }
          absl::Status s = parts->near_duplicates->Add(entry.prompt_partition, entry.key.hex,
                                                       entry.prompt, entry.expires);
          (s.ok() ? added : failed)++;
        });
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    if (!walked.ok()) spdlog::warn("near-duplicate index rebuild: {}", walked.ToString());
    spdlog::info("near-duplicate index rebuilt: {} prompts in {} ms ({} failed)", added, ms,
                 failed);
  });
}

std::vector<std::string> ProviderBaseUrls(const config::Options& o) {
  std::vector<std::string> urls;
  for (const auto& p : o.providers) urls.push_back(p.base_url);
  return urls;
}

std::vector<std::string> ProviderOutputHosts(const config::Options& o) {
  std::vector<std::string> hosts;
  for (const auto& p : o.providers)
    hosts.insert(hosts.end(), p.output_hosts.begin(), p.output_hosts.end());
  return hosts;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::Start(config::Options options,
                                                              const base::Clock& clock) {
  auto parts = std::make_unique<Parts>();
  parts->clock = &clock;
  parts->options = std::move(options);
  const config::Options& o = parts->options;
  spdlog::set_level(spdlog::level::from_str(o.log_level));

  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        fmt::format("cannot create data_dir '{}': {}", o.data_dir, ec.message()));
  }
  parts->memory = std::make_unique<cache::MemoryStore>(
      cache::MemoryStore::Options{.max_bytes = o.cache.memory_bytes});
  auto sqlite =
      cache::SqliteStore::Open((std::filesystem::path(o.data_dir) / "cache.db").string(), {});
  if (!sqlite.ok()) return sqlite.status();
  parts->sqlite = std::move(*sqlite);
  parts->tiered = std::make_unique<cache::TieredCache>(*parts->memory, *parts->sqlite);
  parts->inflight = std::make_unique<coalesce::LocalInflightRegistry>();
  auto auth = pipeline::Authenticator::Create(o.auth);
  if (!auth.ok()) return auth.status();
  parts->auth = std::make_unique<pipeline::Authenticator>(*std::move(auth));
  parts->prices = std::make_unique<budget::PriceTable>(o.pricing);
  auto ledger =
      budget::SqliteLedger::Open((std::filesystem::path(o.data_dir) / "ledger.db").string());
  if (!ledger.ok()) return ledger.status();
  parts->ledger = std::move(*ledger);
  // Reservations left open by a process that died: their calls may have
  // been charged, so they count as spent.
  auto orphans = parts->ledger->SettleOrphans();
  if (!orphans.ok()) return orphans.status();
  if (*orphans > 0) {
    spdlog::warn("budget: {} reservation(s) left open by an earlier run were booked as spent",
                 *orphans);
  }
  auto spend =
      spend::SqliteSpendStore::Open((std::filesystem::path(o.data_dir) / "spend.db").string(),
                                    {.echo_json_lines = o.spend.stdout_events});
  if (!spend.ok()) return spend.status();
  parts->spend = std::move(*spend);
  auto blobs = OpenBlobStore(o);
  if (!blobs.ok()) return blobs.status();
  parts->blobs = std::move(*blobs);
  if (o.rehost.enabled) {
    auto policy = rehost::UrlPolicy::Create({.provider_base_urls = ProviderBaseUrls(o),
                                             .provider_output_hosts = ProviderOutputHosts(o),
                                             .allowed_hosts = o.rehost.allowed_hosts});
    if (!policy.ok()) return policy.status();
    parts->url_policy.emplace(*std::move(policy));
    parts->fetcher = std::make_unique<rehost::OutputFetcher>(
        *parts->url_policy, rehost::FetchOptions{.max_bytes = o.rehost.max_bytes,
                                                 .connect_timeout = o.rehost.connect_timeout,
                                                 .timeout = o.rehost.timeout});
    parts->rehoster = std::make_unique<rehost::Rehoster>(*parts->blobs, *parts->fetcher);
  }
  parts->blocking = std::make_unique<base::WorkerPool>(2);
  parts->rehost_pool = std::make_unique<base::WorkerPool>(o.rehost.concurrency);
  parts->timers = std::make_unique<base::TimerQueue>();
  parts->http = upstream::MakeCurlHttpClient();
  parts->files = std::make_unique<files::FilesHandler>(*parts->blobs, *parts->blocking);
  if (o.near_duplicate.enabled || !o.near_duplicate.providers.empty() ||
      !o.near_duplicate.models.empty()) {
    if (o.near_duplicate.remote) {
      const config::RemoteEmbedderSection& r = *o.near_duplicate.remote;
      const char* key = r.api_key_env.empty() ? nullptr : std::getenv(r.api_key_env.c_str());
      parts->embedder = std::make_unique<neardup::RemoteEmbedder>(
          neardup::RemoteEmbedderOptions{
              .url = r.url, .model = r.model, .api_key = key != nullptr ? key : ""},
          *parts->http);
    } else {
      parts->embedder = std::make_unique<neardup::LexicalEmbedder>();
    }
    parts->near_duplicates = std::make_unique<neardup::NearDuplicateFinder>(
        *parts->embedder,
        neardup::NearDuplicateFinderOptions{
            .index = {.max_entries = static_cast<std::size_t>(o.near_duplicate.max_entries)}});
  }
  parts->alerts = std::make_unique<pipeline::BudgetAlerts>(o.budgets, *parts->ledger, *parts->http,
                                                           *parts->timers);
  {
    std::vector<budget::ScopeLimit> scopes = pipeline::ScopesFor(o.budgets, "", "");
    std::erase_if(scopes, [](const auto& s) { return s.kind == budget::ScopeKind::kUserDay; });
    for (const auto& [model, limit] : o.budgets.per_model_daily) {
      scopes.push_back({.kind = budget::ScopeKind::kModelDay, .subject = model, .limit = limit});
    }
    parts->alerts->Prime(scopes, clock.Now());
  }
  parts->metrics = std::make_unique<metrics::GatewayMetrics>();
  parts->gateway = std::make_unique<pipeline::Gateway>(pipeline::GatewayDeps{
      .options = o,
      .cache = *parts->tiered,
      .inflight = *parts->inflight,
      .http = *parts->http,
      .timers = *parts->timers,
      .blocking = *parts->blocking,
      .clock = clock,
      .prices = *parts->prices,
      .ledger = *parts->ledger,
      .spend_sink = *parts->spend,
      .spend_store = *parts->spend,
      .auth = *parts->auth,
      .alerts = *parts->alerts,
      .metrics = *parts->metrics,
      .rehoster = parts->rehoster.get(),
      .rehost_pool = parts->rehost_pool.get(),
      .files = parts->files.get(),
      .near_duplicates = parts->near_duplicates.get(),
  });
  auto server = http::Server::Start(
      {
          .host = o.listen_host,
          .port = o.listen_port,
          .threads = o.server.threads,
          .max_body_bytes = o.server.max_body_bytes,
          .header_timeout = o.server.header_timeout,
          .body_timeout = o.server.body_timeout,
          .idle_timeout = o.server.idle_timeout,
      },
      *parts->gateway);
  if (!server.ok()) return server.status();
  parts->server = std::move(*server);
  ScheduleEviction(parts.get());
  if (parts->options.rehost.gc_interval.count() > 0) {
    // The first walk soon after start also fills the blob store gauges.
    ScheduleBlobGc(parts.get(), std::min<std::chrono::seconds>(std::chrono::minutes(1),
                                                               parts->options.rehost.gc_interval));
  }
  if (parts->near_duplicates) {
    parts->index_pool = std::make_unique<base::WorkerPool>(1);
    RebuildNearDuplicateIndex(parts.get());
  }
  return std::unique_ptr<GatewayApp>(new GatewayApp(std::move(parts)));
}

GatewayApp::GatewayApp(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

GatewayApp::~GatewayApp() { Stop(); }

std::uint16_t GatewayApp::port() const { return parts_->server->port(); }

const pipeline::GatewayCounters& GatewayApp::counters() const {
  return parts_->gateway->counters();
}

void GatewayApp::Stop(std::chrono::milliseconds grace) {
  if (parts_->stopped.exchange(true)) return;
  Parts& p = *parts_;
  p.stopping = true;
  p.server->Stop();
  // Let flights that are under way finish and store what they fetched.
  auto deadline = std::chrono::steady_clock::now() + grace;
  while ((p.inflight->InflightCount() > 0 || p.blocking->pending() > 0 ||
          p.rehost_pool->pending() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // After these, Sends fail at once and timers never fire, so the pool can
  // drain without anything reaching a stopped part.
  p.http->Shutdown();
  p.timers->Shutdown();
  p.index_pool.reset();   // the rebuild stops at its next entry
  p.rehost_pool.reset();  // finishes downloads under way (bounded by rehost.timeout)
  p.blocking.reset();     // runs every queued write
  p.gateway.reset();
  p.files.reset();
  p.near_duplicates.reset();
  p.embedder.reset();
  p.alerts.reset();
  p.spend.reset();  // writes every queued event
  p.ledger.reset();
  p.http.reset();
  p.timers.reset();
  p.inflight.reset();
  p.rehoster.reset();
  p.fetcher.reset();
  p.blobs.reset();
  p.tiered.reset();
  p.sqlite.reset();
  p.memory.reset();
}

}  // namespace gencache::app
