#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/base/money.hpp"
#include "gencache/budget/pricing.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::config {

// Cache policy that a provider or a model can override.
struct CachePolicyOverride {
  std::optional<std::chrono::seconds> ttl;
  std::optional<bool> cache_unseeded;
};

struct ProviderOptions {
  std::string name;  // mount: /NAME/
  providers::ProviderKind kind = providers::ProviderKind::kSkytells;
  std::string base_url;     // without a trailing slash
  std::string api_key_env;  // empty: the client's own credential passes through
  CachePolicyOverride cache;
  std::map<std::string, CachePolicyOverride> models;
  // How long the provider's output URLs stay fetchable when the URL itself
  // does not say (no expiry parameter). Caps the TTL of entries whose
  // outputs were not re-hosted. Default by kind: Skytells 5 minutes (its docs
  // say outputs may be deleted minutes after completion), Replicate and
  // OpenAI 1 hour.
  std::chrono::seconds output_url_ttl{3600};
  // Where the provider serves its outputs (names or "*.domain"), fetched
  // from public addresses only. Default by kind: Skytells *.skytells.ai,
  // Replicate replicate.delivery and *.replicate.delivery, OpenAI
  // oaidalleapiprodscus.blob.core.windows.net.
  std::vector<std::string> output_hosts;
};

struct ServerSection {
  int threads = 0;  // 0 = one per core
  std::uint64_t max_body_bytes = 10ull << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
};

struct UpstreamSection {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{120'000};  // one HTTP exchange
  std::chrono::milliseconds deadline{600'000};         // a generation, polling included
  // Longest a client is held for a terminal answer; under 60 s because the
  // Skytells SDK gives up on a request after 60 s.
  std::chrono::milliseconds wait{50'000};
  std::chrono::milliseconds poll_initial{250};
  std::chrono::milliseconds poll_max{5'000};
  std::uint64_t max_response_bytes = 64ull << 20;
};

struct CacheSection {
  std::chrono::seconds ttl{7 * 24 * 3600};
  std::uint64_t memory_bytes = 256ull << 20;
  bool cache_unseeded = false;
  bool shared_namespace = false;  // true: one namespace for everyone
  std::map<std::string, CachePolicyOverride> models;
};

// Hard spend limits; an absent limit is no limit.
struct BudgetSection {
  std::optional<base::Money> daily = base::Money::FromMicros(50'000'000);
  std::optional<base::Money> per_user_daily;
  std::map<std::string, base::Money> per_model_daily;
  std::optional<base::Money> monthly;
  std::vector<double> alert_thresholds{0.5, 0.8, 1.0};
  std::string alert_webhook;  // empty: alerts go to the log only
};

// A gateway key: the secret comes from `key_env`; requests carrying it are
// `user`'s, and share the cache namespace of `team`.
struct AuthKey {
  std::string key_env;
  std::string user;
  std::string team;
};

struct AuthSection {
  std::vector<AuthKey> keys;       // none: the gateway is open
  std::string admin_key_env;       // guards /v1/spend, /v1/budgets, /v1/stats
  bool trust_user_header = false;  // X-Gencache-User names the user
};

struct SpendSection {
  bool stdout_events = false;  // one JSON line per event on stdout
};

// S3-compatible object storage for re-hosted outputs.
struct S3Section {
  std::string endpoint;  // http(s)://host[:port], path-style requests
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key_env;
  std::string secret_key_env;
  std::string prefix = "blobs/";
};

// Re-hosting of provider outputs into the gateway's own blob store.
struct RehostSection {
  bool enabled = true;
  // Base of the permanent URLs ("https://cdn.example.com/files"); empty: the
  // gateway's own /files/ on the Host the leading request came in by.
  std::string public_base_url;
  // Hosts (names or IP literals) fetched besides the providers' own; the
  // only way to allow loopback and private addresses.
  std::vector<std::string> allowed_hosts;
  std::uint64_t max_bytes = 1ull << 30;  // per output
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{300'000};  // one download
  int concurrency = 4;                         // downloads at once
  // Unreferenced blobs younger than this are kept (protects a blob between
  // its download and the cache entry that will point at it).
  std::chrono::seconds gc_grace{3600};
  std::chrono::seconds gc_interval{3600};  // 0: only `gencache cache gc`
  // An entry holding provider URLs expires this long before the URLs do.
  std::chrono::seconds url_safety_margin{60};
  std::optional<S3Section> s3;  // absent: DATA_DIR/blobs
};

// Near-duplicate matching that a provider or a model can override.
struct NearDuplicateOverride {
  std::optional<bool> enabled;
  std::optional<double> threshold;
};

struct RemoteEmbedderSection {
  std::string url;  // base URL; POST {url}/embeddings
  std::string model;
  std::string api_key_env;
};

struct NearDuplicateSection {
  bool enabled = false;
  // neardup::kDefaultNearDuplicateThreshold: the evaluation sweep's choice
  // (docs/near-duplicate.md).
  double threshold = 0.66;
  std::optional<RemoteEmbedderSection> remote;             // absent: the lexical embedder
  std::uint64_t max_entries = 1'000'000;                   // memory bound of the index
  std::map<std::string, NearDuplicateOverride> providers;  // by mount name
  std::map<std::string, NearDuplicateOverride> models;

  // The effective setting for one request; a model override beats a
  // provider override, which beats the section.
  bool EnabledFor(std::string_view provider, std::string_view model) const;
  double ThresholdFor(std::string_view provider, std::string_view model) const;
};

// The validated, immutable configuration of one gateway process.
struct Options {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./gencache-data";
  std::string log_level = "info";
  std::string log_format = "json";  // or "text"
  bool log_prompts = false;         // include prompts in debug request lines
  ServerSection server;
  UpstreamSection upstream;
  CacheSection cache;
  budget::PricingOptions pricing{.models = budget::DefaultModelPrices()};
  BudgetSection budgets;
  AuthSection auth;
  SpendSection spend;
  RehostSection rehost;
  NearDuplicateSection near_duplicate;
  std::vector<ProviderOptions> providers;

  const ProviderOptions* FindProvider(std::string_view name) const;
};

// Parses and validates YAML text. Every problem found is reported, one per
// line, in one InvalidArgument status.
absl::StatusOr<Options> ParseConfig(const std::string& yaml_text);
absl::StatusOr<Options> LoadConfigFile(const std::string& path);

// "host:port" -> host and port (IPv6 as "[::1]:8080").
absl::Status ParseListen(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace gencache::config
