#include "gencache/metrics/gateway_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace gencache::metrics {
namespace {

// Seconds buckets from 100 µs to 60 s in 1-2.5-5 steps, readable as `le`
// values on a dashboard. Gateway overhead on a cache hit is usually well
// under 100 µs, so its histogram starts three buckets lower.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  return kBuckets;
}

const prometheus::Histogram::BucketBoundaries& OverheadBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = [] {
    prometheus::Histogram::BucketBoundaries b = {0.00001, 0.000025, 0.00005};
    b.insert(b.end(), LatencyBuckets().begin(), LatencyBuckets().end());
    return b;
  }();
  return kBuckets;
}

double Seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Bytes of the UTF-8 sequence starting at s[i], or 0 when it is not a valid
// (shortest-form, non-surrogate) sequence.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// Label values come from clients: Prometheus requires UTF-8, and a long
// value would bloat every scrape. Invalid bytes become '?', and the value is
// cut at a character boundary.
std::string SanitizeLabel(std::string_view raw) {
  std::string out;
  out.reserve(std::min(raw.size(), GatewayMetrics::kMaxLabelBytes));
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t n = Utf8SequenceLength(raw, i);
    const std::size_t take = n == 0 ? 1 : n;
    if (out.size() + take > GatewayMetrics::kMaxLabelBytes) break;
    if (n == 0) {
      out.push_back('?');
    } else {
      out.append(raw.substr(i, n));
    }
    i += take;
  }
  return out;
}

bool IsCleanLabel(std::string_view raw, const std::string& label) { return raw == label; }

// Raw (provider, model, cache_status) as passed to RecordRequest; owned form
// and borrowed form hash and compare alike so lookups do not allocate.
struct SeriesKey {
  std::string provider;
  std::string model;
  std::string status;
};
struct SeriesKeyView {
  std::string_view provider;
  std::string_view model;
  std::string_view status;
};
SeriesKeyView View(const SeriesKey& k) { return {k.provider, k.model, k.status}; }
SeriesKeyView View(const SeriesKeyView& k) { return k; }

struct SeriesKeyHash {
  using is_transparent = void;
  template <typename K>
  std::size_t operator()(const K& key) const {
    const SeriesKeyView k = View(key);
    return absl::HashOf(AbslView(k.provider), AbslView(k.model), AbslView(k.status));
  }
};
struct SeriesKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    const SeriesKeyView x = View(a);
    const SeriesKeyView y = View(b);
    return x.provider == y.provider && x.model == y.model && x.status == y.status;
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(AbslView(s));
  }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// Spend and saving are summed as integer micro-dollars, so the exported USD
// totals are exact decimals that match the ledger, not a drifting double sum.
struct ModelSlot {
  explicit ModelSlot(std::string l) : label(std::move(l)) {}
  const std::string label;
  std::atomic<std::int64_t> spend_micros{0};
  std::atomic<std::int64_t> saving_micros{0};
};

// Everything one RecordRequest touches, resolved once per label set.
struct Series {
  prometheus::Counter* requests = nullptr;
  ModelSlot* model = nullptr;
  prometheus::Histogram* upstream = nullptr;
};

// Labels after folding (sanitized, or "other" past a cap).
struct FoldedLabels {
  std::string provider;
  std::string status;
  ModelSlot* model = nullptr;
  prometheus::Histogram* upstream = nullptr;
};

struct BudgetGauges {
  prometheus::Gauge* spent = nullptr;
  prometheus::Gauge* reserved = nullptr;
  prometheus::Gauge* limit = nullptr;
};

struct TierGauges {
  prometheus::Gauge* entries = nullptr;
  prometheus::Gauge* bytes = nullptr;
};

std::string UsdHelp(const char* what) {
  return std::string(what) + " in US dollars, summed from integer micro-dollars";
}

prometheus::MetricFamily MoneyFamily(const std::string& name, const std::string& help) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Counter;
  return family;
}

using SeriesMap = absl::flat_hash_map<SeriesKey, Series, SeriesKeyHash, SeriesKeyEq>;

// Each thread's copy of the series it has used, for one GatewayMetrics at a
// time (`owner`, a never-reused instance id): pointers cached for a destroyed
// instance are dropped, never followed. A thread switching between instances
// only refills its cache.
struct LocalSeriesCache {
  std::uint64_t owner = 0;
  SeriesMap series;
};

LocalSeriesCache& LocalCache() {
  thread_local LocalSeriesCache cache;
  return cache;
}

std::uint64_t NextInstanceId() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

struct GatewayMetrics::Impl {
  Impl()
      : registry(std::make_shared<prometheus::Registry>()),
        requests(prometheus::BuildCounter()
                     .Name("gencache_requests_total")
                     .Help("Generation requests by provider, model and cache status")
                     .Register(*registry)),
        errors(prometheus::BuildCounter()
                   .Name("gencache_errors_total")
                   .Help("Errors answered to clients, by kind")
                   .Register(*registry)),
        upstream_latency(prometheus::BuildHistogram()
                             .Name("gencache_upstream_latency_seconds")
                             .Help("Upstream provider call latency, for requests that made one")
                             .Register(*registry)),
        overhead(prometheus::BuildHistogram()
                     .Name("gencache_gateway_overhead_seconds")
                     .Help("Request time spent in the gateway itself: total minus upstream")
                     .Register(*registry)),
        budget_spent(prometheus::BuildGauge()
                         .Name("gencache_budget_spent_usd")
                         .Help("Spend counted against a budget scope in its current window")
                         .Register(*registry)),
        budget_reserved(prometheus::BuildGauge()
                            .Name("gencache_budget_reserved_usd")
                            .Help("Spend reserved by in-flight requests against a budget scope")
                            .Register(*registry)),
        budget_limit(prometheus::BuildGauge()
                         .Name("gencache_budget_limit_usd")
                         .Help("Configured limit of a budget scope")
                         .Register(*registry)),
        cache_entries(prometheus::BuildGauge()
                          .Name("gencache_cache_entries")
                          .Help("Entries held by a cache tier")
                          .Register(*registry)),
        cache_bytes(prometheus::BuildGauge()
                        .Name("gencache_cache_bytes")
                        .Help("Bytes held by a cache tier")
                        .Register(*registry)),
        inflight_calls(prometheus::BuildGauge()
                           .Name("gencache_inflight_calls")
                           .Help("Upstream calls in flight that coalesced requests share")
                           .Register(*registry)
                           .Add({})),
        coalesced_waiters(prometheus::BuildGauge()
                              .Name("gencache_coalesced_waiters")
                              .Help("Requests waiting on another request's upstream call")
                              .Register(*registry)
                              .Add({})),
        overhead_all(overhead.Add({}, OverheadBuckets())),
        rehost_responses(prometheus::BuildCounter()
                             .Name("gencache_rehost_responses_total")
                             .Help("Successful generations whose output URLs were re-hosted, by "
                                   "result (ok, failed)")
                             .Register(*registry)),
        rehost_ok(rehost_responses.Add({{"result", "ok"}})),
        rehost_failed(rehost_responses.Add({{"result", "failed"}})),
        rehost_downloads(prometheus::BuildCounter()
                             .Name("gencache_rehost_downloads_total")
                             .Help("Output downloads attempted, retries included")
                             .Register(*registry)
                             .Add({})),
        rehost_bytes(prometheus::BuildCounter()
                         .Name("gencache_rehost_bytes_total")
                         .Help("Bytes of outputs written to the blob store")
                         .Register(*registry)
                         .Add({})),
        rehost_refused(prometheus::BuildCounter()
                           .Name("gencache_rehost_refused_total")
                           .Help("Output URLs refused by the re-hosting URL policy (SSRF guard)")
                           .Register(*registry)
                           .Add({})),
        blob_count(prometheus::BuildGauge()
                       .Name("gencache_blob_store_blobs")
                       .Help("Blobs in the blob store at its last walk (garbage collection)")
                       .Register(*registry)),
        blob_bytes(prometheus::BuildGauge()
                       .Name("gencache_blob_store_bytes")
                       .Help("Bytes in the blob store at its last walk (garbage collection)")
                       .Register(*registry)),
        near_duplicate_entries(prometheus::BuildGauge()
                                   .Name("gencache_near_duplicate_index_entries")
                                   .Help("Prompts in the near-duplicate index")
                                   .Register(*registry)),
        near_duplicate_bytes(prometheus::BuildGauge()
                                 .Name("gencache_near_duplicate_index_bytes")
                                 .Help("Memory held by the near-duplicate index")
                                 .Register(*registry)) {}

  // Counters follow a monotonic source: each scrape adds what it grew by.
  static void Follow(prometheus::Counter& counter, std::uint64_t now, std::uint64_t& last) {
    if (now > last) counter.Increment(static_cast<double>(now - last));
    last = now;
  }

  // Returns the series for a label set. A repeat on the same thread is one
  // lookup in a thread-local map: no lock and no shared write. (absl::Mutex
  // costs 30-90 ns per reader lock with the deadlock detection that Debian's
  // libabsl has on by default; see metrics_bench.)
  Series Resolve(std::string_view provider, std::string_view model, std::string_view status) {
    LocalSeriesCache& local = LocalCache();
    if (local.owner != id) {
      local.series.clear();
      local.owner = id;
    }
    const SeriesKeyView key{provider, model, status};
    if (auto it = local.series.find(key); it != local.series.end()) return it->second;
    const Resolved r = ResolveShared(provider, model, status);
    // Only keys the shared map holds, so the local map is bounded by it.
    if (r.cached) {
      local.series.emplace(
          SeriesKey{std::string(provider), std::string(model), std::string(status)}, r.series);
    }
    return r.series;
  }

  struct Resolved {
    Series series;
    bool cached = false;  // the raw key is in `series`
  };

  Resolved ResolveShared(std::string_view provider, std::string_view model,
                         std::string_view status) {
    const SeriesKeyView key{provider, model, status};
    {
      absl::ReaderMutexLock lock(&mu);
      if (auto it = series.find(key); it != series.end()) return {it->second, true};
      // Not cached: raw values that are not clean labels, values folded past
      // a cap, or a new label set. The first two need no writer lock.
      FoldedLabels labels;
      if (FoldExisting(provider, model, status, labels) &&
          !Cacheable(provider, model, status, labels)) {
        return {MakeSeries(labels), false};
      }
    }
    absl::WriterMutexLock lock(&mu);
    if (auto it = series.find(key); it != series.end()) return {it->second, true};
    FoldedLabels labels = FoldOrAdmit(provider, model, status);
    const Series s = MakeSeries(labels);
    if (!Cacheable(provider, model, status, labels)) return {s, false};
    series.emplace(SeriesKey{std::string(provider), std::string(model), std::string(status)}, s);
    return {s, true};
  }

  // A raw key is cached only while the cache is under its cap and only when
  // it is its own label: an unbounded or hostile value never grows the map.
  bool Cacheable(std::string_view provider, std::string_view model, std::string_view status,
                 const FoldedLabels& labels) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return series.size() < kMaxCachedSeries && IsCleanLabel(provider, labels.provider) &&
           IsCleanLabel(model, labels.model->label) && IsCleanLabel(status, labels.status);
  }

  // Folds the raw values using only what exists already; false when
  // something must be admitted or created first (needs the writer lock).
  bool FoldExisting(std::string_view provider, std::string_view model, std::string_view status,
                    FoldedLabels& out) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    std::string provider_label = SanitizeLabel(provider);
    if (!providers.contains(provider_label)) {
      if (providers.size() < kMaxProviders) return false;
      provider_label = kOtherLabel;
    }
    auto hist = upstream_by_provider.find(provider_label);
    if (hist == upstream_by_provider.end()) return false;

    std::string status_label = SanitizeLabel(status);
    if (!statuses.contains(status_label)) {
      if (statuses.size() < kMaxStatuses) return false;
      status_label = kOtherLabel;
      if (!statuses.contains(status_label)) return false;
    }

    std::string model_label = SanitizeLabel(model);
    auto slot = models.find(model_label);
    if (slot == models.end()) {
      if (models.size() < kMaxModels) return false;
      slot = models.find(kOtherLabel);
      if (slot == models.end()) return false;
    }
    out = FoldedLabels{.provider = std::move(provider_label),
                       .status = std::move(status_label),
                       .model = slot->second.get(),
                       .upstream = hist->second};
    return true;
  }

  FoldedLabels FoldOrAdmit(std::string_view provider, std::string_view model,
                           std::string_view status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    FoldedLabels out;
    out.provider = Admit(providers, kMaxProviders, SanitizeLabel(provider));
    auto [hist, inserted] = upstream_by_provider.try_emplace(out.provider, nullptr);
    if (inserted)
      hist->second = &upstream_latency.Add({{"provider", out.provider}}, LatencyBuckets());
    out.upstream = hist->second;

    out.status = Admit(statuses, kMaxStatuses, SanitizeLabel(status));

    std::string model_label = SanitizeLabel(model);
    // kMaxModels real models; "other" is the one extra slot past the cap.
    if (!models.contains(model_label) && models.size() >= kMaxModels) model_label = kOtherLabel;
    auto [slot, created] = models.try_emplace(model_label, nullptr);
    if (created) slot->second = std::make_unique<ModelSlot>(model_label);
    out.model = slot->second.get();
    return out;
  }

  // Admits `label` into `set` below `cap`; past it the label is "other",
  // which is always admitted (at most cap + 1 values).
  static std::string Admit(absl::flat_hash_set<std::string, StringHash, StringEq>& set,
                           std::size_t cap, std::string label) {
    if (set.contains(label)) return label;
    if (set.size() >= cap) label = kOtherLabel;
    set.insert(label);
    return label;
  }

  Series MakeSeries(const FoldedLabels& labels) {
    // Family::Add returns the existing counter for a known label set.
    prometheus::Counter& counter = requests.Add({{"provider", labels.provider},
                                                 {"model", labels.model->label},
                                                 {"cache_status", labels.status}});
    return Series{.requests = &counter, .model = labels.model, .upstream = labels.upstream};
  }

  prometheus::Counter* ErrorCounter(std::string_view kind) {
    {
      absl::ReaderMutexLock lock(&mu);
      if (auto it = errors_by_kind.find(kind); it != errors_by_kind.end()) return it->second;
    }
    std::string label = SanitizeLabel(kind);
    absl::WriterMutexLock lock(&mu);
    if (auto it = errors_by_kind.find(kind); it != errors_by_kind.end()) return it->second;
    if (!error_labels.contains(label) && error_labels.size() >= kMaxErrorKinds) label = kOtherLabel;
    auto [slot, created] = error_labels.try_emplace(label, nullptr);
    if (created) slot->second = &errors.Add({{"kind", label}});
    prometheus::Counter* counter = slot->second;
    if (IsCleanLabel(kind, label) && errors_by_kind.size() < kMaxCachedErrorKinds) {
      errors_by_kind.emplace(std::string(kind), counter);
    }
    return counter;
  }

  void SetBudgets(const std::vector<ScrapeSnapshot::Budget>& budgets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scrape_mu) {
    absl::flat_hash_map<std::pair<std::string, std::string>, BudgetGauges> next;
    for (const ScrapeSnapshot::Budget& b : budgets) {
      std::pair<std::string, std::string> key{SanitizeLabel(b.scope), SanitizeLabel(b.subject)};
      BudgetGauges g;
      if (auto it = budget_gauges.find(key); it != budget_gauges.end()) {
        g = it->second;
        budget_gauges.erase(it);
      } else if (auto seen = next.find(key); seen != next.end()) {
        g = seen->second;  // duplicate scope in one snapshot: the last wins
      } else {
        const prometheus::Labels labels{{"scope", key.first}, {"subject", key.second}};
        g = BudgetGauges{.spent = &budget_spent.Add(labels),
                         .reserved = &budget_reserved.Add(labels),
                         .limit = &budget_limit.Add(labels)};
      }
      g.spent->Set(b.spent.Usd());
      g.reserved->Set(b.reserved.Usd());
      g.limit->Set(b.limit.Usd());
      next.insert_or_assign(std::move(key), g);
    }
    // Whatever is left was not in this snapshot: drop it rather than
    // export a stale value.
    for (auto& [key, g] : budget_gauges) {
      budget_spent.Remove(g.spent);
      budget_reserved.Remove(g.reserved);
      budget_limit.Remove(g.limit);
    }
    budget_gauges = std::move(next);
  }

  void SetTiers(const std::vector<ScrapeSnapshot::Tier>& tiers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scrape_mu) {
    absl::flat_hash_map<std::string, TierGauges> next;
    for (const ScrapeSnapshot::Tier& t : tiers) {
      std::string key = SanitizeLabel(t.tier);
      TierGauges g;
      if (auto it = tier_gauges.find(key); it != tier_gauges.end()) {
        g = it->second;
        tier_gauges.erase(it);
      } else if (auto seen = next.find(key); seen != next.end()) {
        g = seen->second;
      } else {
        const prometheus::Labels labels{{"tier", key}};
        g = TierGauges{.entries = &cache_entries.Add(labels), .bytes = &cache_bytes.Add(labels)};
      }
      g.entries->Set(static_cast<double>(t.entries));
      g.bytes->Set(static_cast<double>(t.bytes));
      next.insert_or_assign(std::move(key), g);
    }
    for (auto& [key, g] : tier_gauges) {
      cache_entries.Remove(g.entries);
      cache_bytes.Remove(g.bytes);
    }
    tier_gauges = std::move(next);
  }

  // Spend and saving families, built from the integer sums at scrape time.
  std::pair<prometheus::MetricFamily, prometheus::MetricFamily> MoneyFamilies() const {
    prometheus::MetricFamily spend =
        MoneyFamily("gencache_spend_usd_total", UsdHelp("Upstream spend by model"));
    prometheus::MetricFamily saving = MoneyFamily(
        "gencache_saving_usd_total", UsdHelp("Spend avoided by serving from cache, by model"));
    absl::ReaderMutexLock lock(&mu);
    std::vector<const ModelSlot*> slots;
    slots.reserve(models.size());
    for (const auto& [label, slot] : models) slots.push_back(slot.get());
    // Stable output order makes scrapes diffable.
    std::sort(slots.begin(), slots.end(),
              [](const ModelSlot* a, const ModelSlot* b) { return a->label < b->label; });
    for (const ModelSlot* slot : slots) {
      const auto sample = [&](std::int64_t micros) {
        prometheus::ClientMetric m;
        m.label.push_back({"model", slot->label});
        m.counter.value = static_cast<double>(micros) / 1e6;
        return m;
      };
      spend.metric.push_back(sample(slot->spend_micros.load(std::memory_order_relaxed)));
      saving.metric.push_back(sample(slot->saving_micros.load(std::memory_order_relaxed)));
    }
    return {std::move(spend), std::move(saving)};
  }

  static constexpr const char* kOtherLabel = "other";
  // Raw keys cached for the fast path; beyond this, lookups go through
  // Family::Add (correct, only slower).
  static constexpr std::size_t kMaxCachedSeries = 16384;
  static constexpr std::size_t kMaxCachedErrorKinds = 256;

  const std::uint64_t id = NextInstanceId();
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Histogram>& upstream_latency;
  prometheus::Family<prometheus::Histogram>& overhead;
  prometheus::Family<prometheus::Gauge>& budget_spent;
  prometheus::Family<prometheus::Gauge>& budget_reserved;
  prometheus::Family<prometheus::Gauge>& budget_limit;
  prometheus::Family<prometheus::Gauge>& cache_entries;
  prometheus::Family<prometheus::Gauge>& cache_bytes;
  prometheus::Gauge& inflight_calls;
  prometheus::Gauge& coalesced_waiters;
  prometheus::Histogram& overhead_all;
  prometheus::Family<prometheus::Counter>& rehost_responses;
  prometheus::Counter& rehost_ok;
  prometheus::Counter& rehost_failed;
  prometheus::Counter& rehost_downloads;
  prometheus::Counter& rehost_bytes;
  prometheus::Counter& rehost_refused;
  prometheus::Family<prometheus::Gauge>& blob_count;
  prometheus::Family<prometheus::Gauge>& blob_bytes;
  prometheus::Family<prometheus::Gauge>& near_duplicate_entries;
  prometheus::Family<prometheus::Gauge>& near_duplicate_bytes;

  mutable absl::Mutex mu;
  SeriesMap series ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string, StringHash, StringEq> providers ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string, StringHash, StringEq> statuses ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::unique_ptr<ModelSlot>, StringHash, StringEq> models
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, prometheus::Histogram*, StringHash, StringEq>
      upstream_by_provider ABSL_GUARDED_BY(mu);
  // errors_by_kind caches raw kinds; error_labels holds the admitted labels.
  absl::flat_hash_map<std::string, prometheus::Counter*, StringHash, StringEq> errors_by_kind
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, prometheus::Counter*, StringHash, StringEq> error_labels
      ABSL_GUARDED_BY(mu);

  // Serialises scrapes so gauge updates from two snapshots do not interleave.
  absl::Mutex scrape_mu;
  // What the re-hosting counters had reached at the last scrape.
  ScrapeSnapshot::Rehost rehost_seen ABSL_GUARDED_BY(scrape_mu);
  std::uint64_t rehost_ok_seen ABSL_GUARDED_BY(scrape_mu) = 0;
  absl::flat_hash_map<std::pair<std::string, std::string>, BudgetGauges> budget_gauges
      ABSL_GUARDED_BY(scrape_mu);
  absl::flat_hash_map<std::string, TierGauges> tier_gauges ABSL_GUARDED_BY(scrape_mu);
};

GatewayMetrics::GatewayMetrics() : impl_(std::make_unique<Impl>()) {}
GatewayMetrics::~GatewayMetrics() = default;

void GatewayMetrics::RecordRequest(std::string_view provider, std::string_view model,
                                   std::string_view cache_status, base::Money cost,
                                   base::Money saving, std::chrono::microseconds upstream,
                                   std::chrono::microseconds total) {
  const Series s = impl_->Resolve(provider, model, cache_status);
  s.requests->Increment();
  // Counters only go up: a negative amount (a refund) is not a spend.
  if (cost.micros > 0) s.model->spend_micros.fetch_add(cost.micros, std::memory_order_relaxed);
  if (saving.micros > 0) {
    s.model->saving_micros.fetch_add(saving.micros, std::memory_order_relaxed);
  }
  if (upstream.count() > 0) s.upstream->Observe(Seconds(upstream));
  impl_->overhead_all.Observe(Seconds(std::max(total - upstream, std::chrono::microseconds{0})));
}

void GatewayMetrics::RecordError(std::string_view kind) { impl_->ErrorCounter(kind)->Increment(); }

std::string GatewayMetrics::Scrape(const ScrapeSnapshot& snapshot) {
  absl::MutexLock lock(&impl_->scrape_mu);
  impl_->SetBudgets(snapshot.budgets);
  impl_->SetTiers(snapshot.cache_tiers);
  impl_->inflight_calls.Set(static_cast<double>(snapshot.inflight_calls));
  impl_->coalesced_waiters.Set(static_cast<double>(snapshot.coalesced_waiters));
  {
    auto& seen = impl_->rehost_seen;
    const auto& r = snapshot.rehost;
    Impl::Follow(impl_->rehost_ok, r.responses - std::min(r.responses, r.responses_failed),
                 impl_->rehost_ok_seen);
    Impl::Follow(impl_->rehost_failed, r.responses_failed, seen.responses_failed);
    Impl::Follow(impl_->rehost_downloads, r.downloads, seen.downloads);
    Impl::Follow(impl_->rehost_bytes, r.bytes_stored, seen.bytes_stored);
    Impl::Follow(impl_->rehost_refused, r.refused, seen.refused);
  }
  if (snapshot.blobs) {
    const prometheus::Labels labels{{"store", snapshot.blobs->store}};
    impl_->blob_count.Add(labels).Set(static_cast<double>(snapshot.blobs->count));
    impl_->blob_bytes.Add(labels).Set(static_cast<double>(snapshot.blobs->bytes));
  }
  if (snapshot.near_duplicate) {
    impl_->near_duplicate_entries.Add({}).Set(
        static_cast<double>(snapshot.near_duplicate->entries));
    impl_->near_duplicate_bytes.Add({}).Set(
        static_cast<double>(snapshot.near_duplicate->memory_bytes));
  }

  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  auto [spend, saving] = impl_->MoneyFamilies();
  // Beside the request counters; families with no samples are left out, as
  // the registry does for its own.
  auto pos = std::find_if(families.begin(), families.end(),
                          [](const auto& f) { return f.name == "gencache_requests_total"; });
  pos = pos == families.end() ? pos : pos + 1;
  if (!saving.metric.empty()) pos = families.insert(pos, std::move(saving));
  if (!spend.metric.empty()) families.insert(pos, std::move(spend));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace gencache::metrics
