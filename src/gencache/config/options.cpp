#include "gencache/config/options.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "gencache/base/units.hpp"

namespace gencache::config {
namespace {

// Collects every problem so one start-up reports them all.
class Errors {
 public:
  void Add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  absl::Status ToStatus() const {
    std::string text = fmt::format("invalid configuration ({} problem{}):", messages_.size(),
                                   messages_.size() == 1 ? "" : "s");
    for (const auto& m : messages_) text += "\n  - " + m;
    return absl::InvalidArgumentError(text);
  }

 private:
  std::vector<std::string> messages_;
};

void CheckKeys(const YAML::Node& node, const std::string& where,
               std::initializer_list<std::string_view> allowed, Errors& errors) {
  if (!node.IsMap()) return;
  for (const auto& item : node) {
    std::string key = item.first.as<std::string>("");
    bool ok = false;
    for (auto a : allowed) ok = ok || key == a;
    if (!ok) errors.Add(fmt::format("{}: unknown key '{}'", where, key));
  }
}

std::string Scalar(const YAML::Node& node) { return node.IsScalar() ? node.Scalar() : ""; }

template <typename Duration>
void ReadDuration(const YAML::Node& parent, const char* key, const std::string& where,
                  Duration& out, Errors& errors) {
  const YAML::Node node = parent[key];
  if (!node) return;
  auto parsed = base::ParseDuration(Scalar(node));
  if (!parsed.ok()) {
    errors.Add(fmt::format("{}.{}: {}", where, key, std::string(parsed.status().message())));
    return;
  }
  out = std::chrono::duration_cast<Duration>(*parsed);
}

void ReadBytes(const YAML::Node& parent, const char* key, const std::string& where,
               std::uint64_t& out, Errors& errors) {
  const YAML::Node node = parent[key];
  if (!node) return;
  auto parsed = base::ParseBytes(Scalar(node));
  if (!parsed.ok()) {
    errors.Add(fmt::format("{}.{}: {}", where, key, std::string(parsed.status().message())));
    return;
  }
  out = *parsed;
}

void ReadBool(const YAML::Node& parent, const char* key, const std::string& where, bool& out,
              Errors& errors) {
  const YAML::Node node = parent[key];
  if (!node) return;
  std::string text = Scalar(node);
  if (text == "true") {
    out = true;
  } else if (text == "false") {
    out = false;
  } else {
    errors.Add(fmt::format("{}.{}: expected true or false, got '{}'", where, key, text));
  }
}

void ReadString(const YAML::Node& parent, const char* key, const std::string& where,
                std::string& out, Errors& errors) {
  const YAML::Node node = parent[key];
  if (!node) return;
  if (!node.IsScalar()) {
    errors.Add(fmt::format("{}.{}: expected a string", where, key));
    return;
  }
  out = node.Scalar();
}

void ReadPolicyFields(const YAML::Node& node, const std::string& where, CachePolicyOverride& out,
                      Errors& errors);

void ReadOverride(const YAML::Node& node, const std::string& where, CachePolicyOverride& out,
                  Errors& errors) {
  if (!node.IsMap()) {
    errors.Add(fmt::format("{}: expected a mapping", where));
    return;
  }
  CheckKeys(node, where, {"ttl", "cache_unseeded"}, errors);
  ReadPolicyFields(node, where, out, errors);
}

void ReadPolicyFields(const YAML::Node& node, const std::string& where, CachePolicyOverride& out,
                      Errors& errors) {
  if (node["ttl"]) {
    std::chrono::seconds ttl{0};
    ReadDuration(node, "ttl", where, ttl, errors);
    out.ttl = ttl;
  }
  if (node["cache_unseeded"]) {
    bool value = false;
    ReadBool(node, "cache_unseeded", where, value, errors);
    out.cache_unseeded = value;
  }
}

void ReadModels(const YAML::Node& node, const std::string& where,
                std::map<std::string, CachePolicyOverride>& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add(fmt::format("{}: expected a mapping of model names", where));
    return;
  }
  for (const auto& item : node) {
    std::string model = item.first.as<std::string>("");
    ReadOverride(item.second, fmt::format("{}.{}", where, model), out[model], errors);
  }
}

bool ValidMountName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  // Reserved for the gateway's own routes.
  return name != "healthz" && name != "v1" && name != "files" && name != "dashboard" &&
         name != "metrics";
}

std::vector<std::string> ReadStringList(const YAML::Node& node, const std::string& where,
                                        Errors& errors);

void ReadProviders(const YAML::Node& node, Options& options, Errors& errors) {
  if (!node) {
    errors.Add("providers: at least one provider is required");
    return;
  }
  if (!node.IsMap()) {
    errors.Add("providers: expected a mapping of provider names");
    return;
  }
  for (const auto& item : node) {
    ProviderOptions p;
    p.name = item.first.as<std::string>("");
    std::string where = "providers." + p.name;
    const YAML::Node& body = item.second;
    if (!ValidMountName(p.name)) {
      errors.Add(
          fmt::format("{}: a provider name must be 1-64 of [A-Za-z0-9._-] and not a reserved path "
                      "(healthz, v1, files, dashboard, metrics)",
                      where));
    }
    if (!body.IsMap()) {
      errors.Add(fmt::format("{}: expected a mapping", where));
      continue;
    }
    CheckKeys(body, where,
              {"kind", "base_url", "api_key_env", "ttl", "cache_unseeded", "models",
               "output_url_ttl", "output_hosts"},
              errors);
    std::string kind;
    ReadString(body, "kind", where, kind, errors);
    if (auto k = providers::ParseProviderKind(kind)) {
      p.kind = *k;
    } else {
      errors.Add(
          fmt::format("{}.kind: must be skytells, replicate or openai (got '{}')", where, kind));
    }
    ReadString(body, "base_url", where, p.base_url, errors);
    while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
    if (!p.base_url.starts_with("http://") && !p.base_url.starts_with("https://")) {
      errors.Add(fmt::format("{}.base_url: must be an http:// or https:// URL (got '{}')", where,
                             p.base_url));
    }
    p.output_url_ttl = p.kind == providers::ProviderKind::kSkytells ? std::chrono::minutes(5)
                                                                    : std::chrono::hours(1);
    ReadDuration(body, "output_url_ttl", where, p.output_url_ttl, errors);
    switch (p.kind) {
      case providers::ProviderKind::kSkytells:
        p.output_hosts = {"*.skytells.ai"};
        break;
      case providers::ProviderKind::kReplicate:
        p.output_hosts = {"replicate.delivery", "*.replicate.delivery"};
        break;
      case providers::ProviderKind::kOpenAI:
        p.output_hosts = {"oaidalleapiprodscus.blob.core.windows.net"};
        break;
    }
    if (body["output_hosts"]) {
      p.output_hosts = ReadStringList(body["output_hosts"], where + ".output_hosts", errors);
    }
    ReadString(body, "api_key_env", where, p.api_key_env, errors);
    ReadPolicyFields(body, where, p.cache, errors);
    ReadModels(body["models"], where + ".models", p.models, errors);
    for (const auto& existing : options.providers) {
      if (existing.name == p.name) errors.Add(fmt::format("{}: defined twice", where));
    }
    options.providers.push_back(std::move(p));
  }
}

std::optional<base::Money> ReadUsd(const YAML::Node& parent, const char* key,
                                   const std::string& where, Errors& errors) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) return std::nullopt;
  std::string text = Scalar(node);
  if (text == "none" || text == "off") return std::nullopt;
  auto usd = budget::ParseUsd(text);
  if (!usd.ok()) {
    errors.Add(fmt::format("{}.{}: {}", where, key, std::string(usd.status().message())));
    return std::nullopt;
  }
  return *usd;
}

void ReadPricing(const YAML::Node& node, budget::PricingOptions& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add("pricing: expected a mapping");
    return;
  }
  CheckKeys(node, "pricing", {"default_usd", "unknown_model", "credit_usd", "models"}, errors);
  if (auto usd = ReadUsd(node, "default_usd", "pricing", errors)) out.default_usd = *usd;
  if (auto usd = ReadUsd(node, "credit_usd", "pricing", errors)) out.credit_usd = *usd;
  if (node["unknown_model"]) {
    std::string policy = Scalar(node["unknown_model"]);
    if (policy == "reject") {
      out.reject_unknown_models = true;
    } else if (policy == "default") {
      out.reject_unknown_models = false;
    } else {
      errors.Add(
          fmt::format("pricing.unknown_model: must be default or reject (got '{}')", policy));
    }
  }
  const YAML::Node models = node["models"];
  if (!models) return;
  if (!models.IsMap()) {
    errors.Add("pricing.models: expected a mapping of model names");
    return;
  }
  for (const auto& item : models) {
    std::string model = item.first.as<std::string>("");
    std::string where = "pricing.models." + model;
    budget::ModelPrice price;
    const YAML::Node& entry = item.second;
    if (entry.IsScalar()) {  // `model: 0.04`
      auto usd = budget::ParseUsd(entry.Scalar());
      if (!usd.ok()) {
        errors.Add(fmt::format("{}: {}", where, std::string(usd.status().message())));
        continue;
      }
      price.usd = *usd;
      out.models[model] = price;
      continue;
    }
    if (!entry.IsMap()) {
      errors.Add(fmt::format("{}: expected a price or {{usd, per}}", where));
      continue;
    }
    CheckKeys(entry, where, {"usd", "per", "default_seconds"}, errors);
    auto usd = ReadUsd(entry, "usd", where, errors);
    if (!usd) {
      errors.Add(fmt::format("{}.usd: required", where));
      continue;
    }
    price.usd = *usd;
    std::string per = entry["per"] ? Scalar(entry["per"]) : "prediction";
    if (per == "prediction") {
      price.per = budget::PriceUnit::kPrediction;
    } else if (per == "output") {
      price.per = budget::PriceUnit::kOutput;
    } else if (per == "second") {
      price.per = budget::PriceUnit::kSecond;
    } else {
      errors.Add(
          fmt::format("{}.per: must be prediction, output or second (got '{}')", where, per));
    }
    if (entry["default_seconds"]) {
      try {
        price.default_seconds = entry["default_seconds"].as<double>();
      } catch (const YAML::Exception&) {
        errors.Add(fmt::format("{}.default_seconds: expected a number", where));
      }
    }
    out.models[model] = price;
  }
}

void ReadBudgets(const YAML::Node& node, BudgetSection& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add("budgets: expected a mapping");
    return;
  }
  CheckKeys(node, "budgets",
            {"daily_usd", "per_user_daily_usd", "per_model_daily_usd", "monthly_usd",
             "alert_thresholds", "alert_webhook"},
            errors);
  if (node["daily_usd"]) out.daily = ReadUsd(node, "daily_usd", "budgets", errors);
  out.per_user_daily = ReadUsd(node, "per_user_daily_usd", "budgets", errors);
  out.monthly = ReadUsd(node, "monthly_usd", "budgets", errors);
  if (const YAML::Node models = node["per_model_daily_usd"]) {
    if (!models.IsMap()) {
      errors.Add("budgets.per_model_daily_usd: expected a mapping of model names to USD");
    } else {
      for (const auto& item : models) {
        std::string model = item.first.as<std::string>("");
        auto usd = budget::ParseUsd(Scalar(item.second));
        if (!usd.ok()) {
          errors.Add(fmt::format("budgets.per_model_daily_usd.{}: {}", model,
                                 std::string(usd.status().message())));
        } else {
          out.per_model_daily[model] = *usd;
        }
      }
    }
  }
  if (const YAML::Node thresholds = node["alert_thresholds"]) {
    out.alert_thresholds.clear();
    if (!thresholds.IsSequence()) {
      errors.Add("budgets.alert_thresholds: expected a list of fractions, e.g. [0.5, 0.8, 1.0]");
    } else {
      for (const auto& t : thresholds) {
        try {
          double v = t.as<double>();
          if (v <= 0 || v > 10) throw YAML::Exception(YAML::Mark::null_mark(), "range");
          out.alert_thresholds.push_back(v);
        } catch (const YAML::Exception&) {
          errors.Add(fmt::format("budgets.alert_thresholds: '{}' is not a fraction in (0, 10]",
                                 Scalar(t)));
        }
      }
    }
  }
  ReadString(node, "alert_webhook", "budgets", out.alert_webhook, errors);
  if (!out.alert_webhook.empty() && !out.alert_webhook.starts_with("http://") &&
      !out.alert_webhook.starts_with("https://")) {
    errors.Add("budgets.alert_webhook: must be an http:// or https:// URL");
  }
}

void ReadAuth(const YAML::Node& node, AuthSection& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add("auth: expected a mapping");
    return;
  }
  CheckKeys(node, "auth", {"keys", "admin_key_env", "trust_user_header"}, errors);
  ReadString(node, "admin_key_env", "auth", out.admin_key_env, errors);
  ReadBool(node, "trust_user_header", "auth", out.trust_user_header, errors);
  const YAML::Node keys = node["keys"];
  if (!keys) return;
  if (!keys.IsSequence()) {
    errors.Add("auth.keys: expected a list of {key_env, user, team}");
    return;
  }
  int index = 0;
  for (const auto& entry : keys) {
    std::string where = fmt::format("auth.keys[{}]", index++);
    if (!entry.IsMap()) {
      errors.Add(fmt::format("{}: expected {{key_env, user, team}}", where));
      continue;
    }
    CheckKeys(entry, where, {"key_env", "user", "team"}, errors);
    AuthKey key;
    ReadString(entry, "key_env", where, key.key_env, errors);
    ReadString(entry, "user", where, key.user, errors);
    ReadString(entry, "team", where, key.team, errors);
    if (key.key_env.empty()) errors.Add(fmt::format("{}.key_env: required", where));
    if (key.user.empty()) errors.Add(fmt::format("{}.user: required", where));
    if (key.team.empty()) key.team = key.user;
    out.keys.push_back(std::move(key));
  }
}

std::vector<std::string> ReadStringList(const YAML::Node& node, const std::string& where,
                                        Errors& errors) {
  std::vector<std::string> out;
  if (!node) return out;
  if (!node.IsSequence()) {
    errors.Add(fmt::format("{}: expected a list of strings", where));
    return out;
  }
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      errors.Add(fmt::format("{}: expected a list of non-empty strings", where));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

bool IsHttpUrl(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

void ReadRehost(const YAML::Node& node, RehostSection& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add("rehost: expected a mapping");
    return;
  }
  CheckKeys(node, "rehost",
            {"enabled", "public_base_url", "allowed_hosts", "max_bytes", "connect_timeout",
             "timeout", "concurrency", "gc_grace", "gc_interval", "url_safety_margin", "s3"},
            errors);
  ReadBool(node, "enabled", "rehost", out.enabled, errors);
  ReadString(node, "public_base_url", "rehost", out.public_base_url, errors);
  while (!out.public_base_url.empty() && out.public_base_url.back() == '/') {
    out.public_base_url.pop_back();
  }
  if (!out.public_base_url.empty() && !IsHttpUrl(out.public_base_url)) {
    errors.Add("rehost.public_base_url: must be an http:// or https:// URL");
  }
  out.allowed_hosts = ReadStringList(node["allowed_hosts"], "rehost.allowed_hosts", errors);
  for (auto& host : out.allowed_hosts) {
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  ReadBytes(node, "max_bytes", "rehost", out.max_bytes, errors);
  ReadDuration(node, "connect_timeout", "rehost", out.connect_timeout, errors);
  ReadDuration(node, "timeout", "rehost", out.timeout, errors);
  ReadDuration(node, "gc_grace", "rehost", out.gc_grace, errors);
  ReadDuration(node, "gc_interval", "rehost", out.gc_interval, errors);
  ReadDuration(node, "url_safety_margin", "rehost", out.url_safety_margin, errors);
  if (node["concurrency"]) {
    std::string text = Scalar(node["concurrency"]);
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 64) {
      errors.Add(fmt::format("rehost.concurrency: expected 1-64 (got '{}')", text));
    } else {
      out.concurrency = value;
    }
  }
  if (out.max_bytes == 0) errors.Add("rehost.max_bytes: must be positive");
  if (const YAML::Node s3 = node["s3"]) {
    if (!s3.IsMap()) {
      errors.Add("rehost.s3: expected {endpoint, bucket, region, access_key_env, secret_key_env}");
      return;
    }
    CheckKeys(s3, "rehost.s3",
              {"endpoint", "bucket", "region", "access_key_env", "secret_key_env", "prefix"},
              errors);
    S3Section section;
    ReadString(s3, "endpoint", "rehost.s3", section.endpoint, errors);
    ReadString(s3, "bucket", "rehost.s3", section.bucket, errors);
    ReadString(s3, "region", "rehost.s3", section.region, errors);
    ReadString(s3, "access_key_env", "rehost.s3", section.access_key_env, errors);
    ReadString(s3, "secret_key_env", "rehost.s3", section.secret_key_env, errors);
    ReadString(s3, "prefix", "rehost.s3", section.prefix, errors);
    while (!section.endpoint.empty() && section.endpoint.back() == '/') section.endpoint.pop_back();
    if (!IsHttpUrl(section.endpoint)) {
      errors.Add("rehost.s3.endpoint: must be an http:// or https:// URL");
    }
    for (const auto& [value, key] :
         {std::pair{&section.bucket, "bucket"}, std::pair{&section.region, "region"},
          std::pair{&section.access_key_env, "access_key_env"},
          std::pair{&section.secret_key_env, "secret_key_env"}}) {
      if (value->empty()) errors.Add(fmt::format("rehost.s3.{}: required", key));
    }
    out.s3 = std::move(section);
  }
}

void ReadThreshold(const YAML::Node& node, const std::string& where, double& out, Errors& errors) {
  try {
    double value = node.as<double>();
    if (!(value > 0.0 && value <= 1.0)) throw YAML::Exception(YAML::Mark::null_mark(), "range");
    out = value;
  } catch (const YAML::Exception&) {
    errors.Add(fmt::format("{}: expected a similarity in (0, 1] (got '{}')", where, Scalar(node)));
  }
}

void ReadNearDuplicateOverrides(const YAML::Node& node, const std::string& where,
                                std::map<std::string, NearDuplicateOverride>& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add(fmt::format("{}: expected a mapping of names to {{enabled, threshold}}", where));
    return;
  }
  for (const auto& item : node) {
    std::string name = item.first.as<std::string>("");
    std::string at = fmt::format("{}.{}", where, name);
    if (!item.second.IsMap()) {
      errors.Add(fmt::format("{}: expected {{enabled, threshold}}", at));
      continue;
    }
    CheckKeys(item.second, at, {"enabled", "threshold"}, errors);
    NearDuplicateOverride& o = out[name];
    if (item.second["enabled"]) {
      bool value = false;
      ReadBool(item.second, "enabled", at, value, errors);
      o.enabled = value;
    }
    if (item.second["threshold"]) {
      double value = 0;
      ReadThreshold(item.second["threshold"], at + ".threshold", value, errors);
      o.threshold = value;
    }
  }
}

void ReadNearDuplicate(const YAML::Node& node, NearDuplicateSection& out, Errors& errors) {
  if (!node) return;
  if (!node.IsMap()) {
    errors.Add("near_duplicate: expected a mapping");
    return;
  }
  CheckKeys(node, "near_duplicate",
            {"enabled", "threshold", "embedder", "max_entries", "providers", "models"}, errors);
  ReadBool(node, "enabled", "near_duplicate", out.enabled, errors);
  if (node["threshold"]) {
    ReadThreshold(node["threshold"], "near_duplicate.threshold", out.threshold, errors);
  }
  if (const YAML::Node e = node["embedder"]) {
    if (e.IsScalar() && e.Scalar() == "lexical") {
      out.remote.reset();
    } else if (e.IsMap() && e["remote"] && e["remote"].IsMap()) {
      CheckKeys(e, "near_duplicate.embedder", {"remote"}, errors);
      const YAML::Node r = e["remote"];
      CheckKeys(r, "near_duplicate.embedder.remote", {"url", "model", "api_key_env"}, errors);
      RemoteEmbedderSection remote;
      ReadString(r, "url", "near_duplicate.embedder.remote", remote.url, errors);
      ReadString(r, "model", "near_duplicate.embedder.remote", remote.model, errors);
      ReadString(r, "api_key_env", "near_duplicate.embedder.remote", remote.api_key_env, errors);
      while (!remote.url.empty() && remote.url.back() == '/') remote.url.pop_back();
      if (!IsHttpUrl(remote.url)) {
        errors.Add("near_duplicate.embedder.remote.url: must be an http:// or https:// URL");
      }
      if (remote.model.empty()) errors.Add("near_duplicate.embedder.remote.model: required");
      out.remote = std::move(remote);
    } else {
      errors.Add("near_duplicate.embedder: must be lexical or {remote: {url, model, api_key_env}}");
    }
  }
  if (node["max_entries"]) {
    try {
      out.max_entries = node["max_entries"].as<std::uint64_t>();
      if (out.max_entries == 0) throw YAML::Exception(YAML::Mark::null_mark(), "zero");
    } catch (const YAML::Exception&) {
      errors.Add(fmt::format("near_duplicate.max_entries: expected a positive count (got '{}')",
                             Scalar(node["max_entries"])));
    }
  }
  ReadNearDuplicateOverrides(node["providers"], "near_duplicate.providers", out.providers, errors);
  ReadNearDuplicateOverrides(node["models"], "near_duplicate.models", out.models, errors);
}

}  // namespace

bool NearDuplicateSection::EnabledFor(std::string_view provider, std::string_view model) const {
  bool on = enabled;
  if (auto it = providers.find(std::string(provider)); it != providers.end() && it->second.enabled)
    on = *it->second.enabled;
  if (auto it = models.find(std::string(model)); it != models.end() && it->second.enabled)
    on = *it->second.enabled;
  return on;
}

double NearDuplicateSection::ThresholdFor(std::string_view provider, std::string_view model) const {
  double t = threshold;
  if (auto it = providers.find(std::string(provider));
      it != providers.end() && it->second.threshold)
    t = *it->second.threshold;
  if (auto it = models.find(std::string(model)); it != models.end() && it->second.threshold)
    t = *it->second.threshold;
  return t;
}

const ProviderOptions* Options::FindProvider(std::string_view name) const {
  for (const auto& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

absl::Status ParseListen(std::string_view text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        fmt::format("listen: expected HOST:PORT, e.g. 127.0.0.1:8080 (got '{}')", text));
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string_view p = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || end != p.data() + p.size() || value > 65535) {
    return absl::InvalidArgumentError(fmt::format("listen: bad port in '{}'", text));
  }
  host = std::string(h);
  port = static_cast<std::uint16_t>(value);
  return absl::OkStatus();
}

absl::StatusOr<Options> ParseConfig(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("invalid configuration: YAML: {}", e.what()));
  }
  Options options;
  Errors errors;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("invalid configuration: the file must be a YAML mapping");
  }
  try {
    CheckKeys(
        root, "config",
        {"listen", "data_dir", "log_level", "log_format", "log_prompts", "server", "upstream",
         "cache", "providers", "pricing", "budgets", "auth", "spend", "rehost", "near_duplicate"},
        errors);
    if (root["listen"]) {
      absl::Status s =
          ParseListen(Scalar(root["listen"]), options.listen_host, options.listen_port);
      if (!s.ok()) errors.Add(std::string(s.message()));
    }
    ReadString(root, "data_dir", "config", options.data_dir, errors);
    ReadString(root, "log_level", "config", options.log_level, errors);
    ReadString(root, "log_format", "config", options.log_format, errors);
    if (options.log_format != "json" && options.log_format != "text") {
      errors.Add(fmt::format("log_format: must be json or text (got '{}')", options.log_format));
    }
    ReadBool(root, "log_prompts", "config", options.log_prompts, errors);
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!kLevels.contains(options.log_level)) {
      errors.Add(
          fmt::format("log_level: must be one of trace, debug, info, warn, error, off (got '{}')",
                      options.log_level));
    }

    if (const YAML::Node s = root["server"]) {
      CheckKeys(s, "server",
                {"threads", "max_body_bytes", "header_timeout", "body_timeout", "idle_timeout"},
                errors);
      if (s["threads"]) {
        std::string text = Scalar(s["threads"]);
        int value = -1;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > 256) {
          errors.Add(fmt::format("server.threads: expected 0-256 (got '{}')", text));
        } else {
          options.server.threads = value;
        }
      }
      ReadBytes(s, "max_body_bytes", "server", options.server.max_body_bytes, errors);
      ReadDuration(s, "header_timeout", "server", options.server.header_timeout, errors);
      ReadDuration(s, "body_timeout", "server", options.server.body_timeout, errors);
      ReadDuration(s, "idle_timeout", "server", options.server.idle_timeout, errors);
    }
    if (const YAML::Node u = root["upstream"]) {
      CheckKeys(u, "upstream",
                {"connect_timeout", "request_timeout", "deadline", "wait", "poll_initial",
                 "poll_max", "max_response_bytes"},
                errors);
      auto& up = options.upstream;
      ReadDuration(u, "connect_timeout", "upstream", up.connect_timeout, errors);
      ReadDuration(u, "request_timeout", "upstream", up.request_timeout, errors);
      ReadDuration(u, "deadline", "upstream", up.deadline, errors);
      ReadDuration(u, "wait", "upstream", up.wait, errors);
      ReadDuration(u, "poll_initial", "upstream", up.poll_initial, errors);
      ReadDuration(u, "poll_max", "upstream", up.poll_max, errors);
      ReadBytes(u, "max_response_bytes", "upstream", up.max_response_bytes, errors);
      if (up.poll_initial.count() <= 0) errors.Add("upstream.poll_initial: must be positive");
      if (up.poll_max < up.poll_initial) {
        errors.Add("upstream.poll_max: must not be less than upstream.poll_initial");
      }
    }
    if (const YAML::Node c = root["cache"]) {
      CheckKeys(c, "cache", {"ttl", "memory_bytes", "cache_unseeded", "shared_namespace", "models"},
                errors);
      ReadDuration(c, "ttl", "cache", options.cache.ttl, errors);
      ReadBytes(c, "memory_bytes", "cache", options.cache.memory_bytes, errors);
      ReadBool(c, "cache_unseeded", "cache", options.cache.cache_unseeded, errors);
      ReadBool(c, "shared_namespace", "cache", options.cache.shared_namespace, errors);
      ReadModels(c["models"], "cache.models", options.cache.models, errors);
    }
    ReadProviders(root["providers"], options, errors);
    ReadPricing(root["pricing"], options.pricing, errors);
    ReadBudgets(root["budgets"], options.budgets, errors);
    ReadAuth(root["auth"], options.auth, errors);
    ReadRehost(root["rehost"], options.rehost, errors);
    ReadNearDuplicate(root["near_duplicate"], options.near_duplicate, errors);
    if (const YAML::Node sp = root["spend"]) {
      CheckKeys(sp, "spend", {"stdout_events"}, errors);
      ReadBool(sp, "stdout_events", "spend", options.spend.stdout_events, errors);
    }
  } catch (const YAML::Exception& e) {
    errors.Add(fmt::format("YAML: {}", e.what()));
  }
  if (!errors.empty()) return errors.ToStatus();
  return options;
}

absl::StatusOr<Options> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("cannot read config file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str());
}

}  // namespace gencache::config
