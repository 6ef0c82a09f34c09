#include "gencache/config/options.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

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
    CheckKeys(body, where, {"kind", "base_url", "api_key_env", "ttl", "cache_unseeded", "models"},
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
    ReadString(body, "api_key_env", where, p.api_key_env, errors);
    ReadPolicyFields(body, where, p.cache, errors);
    ReadModels(body["models"], where + ".models", p.models, errors);
    for (const auto& existing : options.providers) {
      if (existing.name == p.name) errors.Add(fmt::format("{}: defined twice", where));
    }
    options.providers.push_back(std::move(p));
  }
}

}  // namespace

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
    CheckKeys(root, "config",
              {"listen", "data_dir", "log_level", "server", "upstream", "cache", "providers"},
              errors);
    if (root["listen"]) {
      absl::Status s =
          ParseListen(Scalar(root["listen"]), options.listen_host, options.listen_port);
      if (!s.ok()) errors.Add(std::string(s.message()));
    }
    ReadString(root, "data_dir", "config", options.data_dir, errors);
    ReadString(root, "log_level", "config", options.log_level, errors);
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
