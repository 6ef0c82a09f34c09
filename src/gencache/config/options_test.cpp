#include "gencache/config/options.hpp"

#include <gtest/gtest.h>

namespace gencache::config {
namespace {

constexpr char kIssueExample[] = R"(
listen: 127.0.0.1:8080
data_dir: ./gencache-data
providers:
  skytells: {kind: skytells, base_url: https://api.skytells.ai/v1, api_key_env: SKYTELLS_API_KEY}
  replicate: {kind: replicate, base_url: https://api.replicate.com/v1, api_key_env: REPLICATE_API_TOKEN}
  openai: {kind: openai, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY}
cache:
  ttl: 7d
)";

TEST(ParseConfig, AcceptsTheDocumentedExample) {
  auto options = ParseConfig(kIssueExample);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen_host, "127.0.0.1");
  EXPECT_EQ(options->listen_port, 8080);
  EXPECT_EQ(options->data_dir, "./gencache-data");
  ASSERT_EQ(options->providers.size(), 3u);
  const ProviderOptions* replicate = options->FindProvider("replicate");
  ASSERT_NE(replicate, nullptr);
  EXPECT_EQ(replicate->kind, providers::ProviderKind::kReplicate);
  EXPECT_EQ(replicate->base_url, "https://api.replicate.com/v1");
  EXPECT_EQ(replicate->api_key_env, "REPLICATE_API_TOKEN");
  EXPECT_EQ(options->cache.ttl, std::chrono::hours(24 * 7));
  EXPECT_EQ(options->server.max_body_bytes, 10u << 20);
  EXPECT_EQ(options->server.header_timeout, std::chrono::seconds(10));
}

TEST(ParseConfig, ReadsOverrides) {
  auto options = ParseConfig(R"(
providers:
  sk:
    kind: skytells
    base_url: http://127.0.0.1:9/skytells/v1/
    ttl: 1h
    cache_unseeded: true
    models: {truefusion-pro: {ttl: 2d}}
cache:
  memory_bytes: 64MiB
  models: {flux: {cache_unseeded: true}}
server: {max_body_bytes: 1MiB, header_timeout: 2s, threads: 3}
upstream: {deadline: 5m, poll_initial: 100ms, poll_max: 2s}
)");
  ASSERT_TRUE(options.ok()) << options.status();
  const auto& sk = options->providers.at(0);
  EXPECT_EQ(sk.base_url, "http://127.0.0.1:9/skytells/v1");
  EXPECT_EQ(sk.cache.ttl, std::chrono::hours(1));
  EXPECT_EQ(sk.cache.cache_unseeded, true);
  EXPECT_EQ(sk.models.at("truefusion-pro").ttl, std::chrono::hours(48));
  EXPECT_EQ(options->cache.memory_bytes, 64u << 20);
  EXPECT_EQ(options->cache.models.at("flux").cache_unseeded, true);
  EXPECT_EQ(options->server.threads, 3);
  EXPECT_EQ(options->upstream.poll_initial, std::chrono::milliseconds(100));
}

TEST(ParseConfig, ReportsEveryProblemAtOnce) {
  auto options = ParseConfig(R"(
listen: nonsense
cache: {ttl: 7w, colour: blue}
providers:
  a: {kind: acme, base_url: ftp://x}
  healthz: {kind: openai, base_url: http://x}
)");
  ASSERT_FALSE(options.ok());
  std::string message(options.status().message());
  EXPECT_NE(message.find("listen"), std::string::npos) << message;
  EXPECT_NE(message.find("cache.ttl"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key 'colour'"), std::string::npos) << message;
  EXPECT_NE(message.find("providers.a.kind"), std::string::npos) << message;
  EXPECT_NE(message.find("providers.a.base_url"), std::string::npos) << message;
  EXPECT_NE(message.find("providers.healthz"), std::string::npos) << message;
  EXPECT_NE(message.find("6 problems"), std::string::npos) << message;
}

TEST(ParseConfig, RequiresProviders) {
  auto options = ParseConfig("listen: 127.0.0.1:1\n");
  ASSERT_FALSE(options.ok());
  EXPECT_NE(std::string(options.status().message()).find("providers"), std::string::npos);
}

TEST(ParseConfig, RejectsBrokenYaml) {
  EXPECT_FALSE(ParseConfig("providers: [unclosed").ok());
  EXPECT_FALSE(ParseConfig("- a list").ok());
}

TEST(ParseConfig, RehostDefaultsAndProviderHosts) {
  auto options = ParseConfig(kIssueExample);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->rehost.enabled);
  EXPECT_FALSE(options->rehost.s3);
  EXPECT_EQ(options->FindProvider("skytells")->output_url_ttl, std::chrono::minutes(5));
  EXPECT_EQ(options->FindProvider("replicate")->output_url_ttl, std::chrono::hours(1));
  EXPECT_FALSE(options->near_duplicate.enabled);
  EXPECT_EQ(options->FindProvider("replicate")->output_hosts,
            (std::vector<std::string>{"replicate.delivery", "*.replicate.delivery"}));
}

TEST(ParseConfig, ReadsRehostSection) {
  auto options = ParseConfig(R"(
providers:
  fake: {kind: replicate, base_url: "http://[::1]:9000/v1", output_url_ttl: 90s, output_hosts: [cdn.example.com]}
rehost:
  public_base_url: https://cdn.example.com/files/
  allowed_hosts: [127.0.0.1, Outputs.Example.com]
  max_bytes: 200MiB
  concurrency: 2
  gc_grace: 10m
  s3: {endpoint: "http://127.0.0.1:4568/", bucket: b, access_key_env: AK, secret_key_env: SK}
)");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->providers[0].output_url_ttl, std::chrono::seconds(90));
  EXPECT_EQ(options->providers[0].output_hosts, std::vector<std::string>{"cdn.example.com"});
  EXPECT_EQ(options->rehost.public_base_url, "https://cdn.example.com/files");
  EXPECT_EQ(options->rehost.allowed_hosts,
            (std::vector<std::string>{"127.0.0.1", "outputs.example.com"}));
  EXPECT_EQ(options->rehost.max_bytes, 200u << 20);
  EXPECT_EQ(options->rehost.concurrency, 2);
  EXPECT_EQ(options->rehost.gc_grace, std::chrono::minutes(10));
  ASSERT_TRUE(options->rehost.s3);
  EXPECT_EQ(options->rehost.s3->endpoint, "http://127.0.0.1:4568");
  EXPECT_EQ(options->rehost.s3->region, "us-east-1");
}

TEST(ParseConfig, RejectsBadRehostSettings) {
  auto options = ParseConfig(R"(
providers:
  fake: {kind: replicate, base_url: "http://127.0.0.1:9000"}
rehost:
  public_base_url: ftp://x
  concurrency: 0
  s3: {endpoint: s3.amazonaws.com}
)");
  ASSERT_FALSE(options.ok());
  std::string message(options.status().message());
  EXPECT_NE(message.find("rehost.public_base_url"), std::string::npos) << message;
  EXPECT_NE(message.find("rehost.concurrency"), std::string::npos) << message;
  EXPECT_NE(message.find("rehost.s3.endpoint"), std::string::npos) << message;
  EXPECT_NE(message.find("rehost.s3.bucket: required"), std::string::npos) << message;
}

TEST(ParseConfig, ReadsNearDuplicateSectionWithOverrides) {
  auto options = ParseConfig(R"(
providers:
  skytells: {kind: skytells, base_url: "https://api.skytells.ai/v1"}
  openai: {kind: openai, base_url: "https://api.openai.com/v1"}
near_duplicate:
  enabled: true
  threshold: 0.9
  embedder: {remote: {url: "http://127.0.0.1:7000/v1/", model: text-embedding-3-small, api_key_env: K}}
  providers: {openai: {enabled: false}}
  models: {truefusion-video-pro: {threshold: 0.95}}
)");
  ASSERT_TRUE(options.ok()) << options.status();
  const NearDuplicateSection& nd = options->near_duplicate;
  EXPECT_TRUE(nd.EnabledFor("skytells", "truefusion"));
  EXPECT_FALSE(nd.EnabledFor("openai", "dall-e-3"));
  EXPECT_DOUBLE_EQ(nd.ThresholdFor("skytells", "truefusion"), 0.9);
  EXPECT_DOUBLE_EQ(nd.ThresholdFor("skytells", "truefusion-video-pro"), 0.95);
  ASSERT_TRUE(nd.remote);
  EXPECT_EQ(nd.remote->url, "http://127.0.0.1:7000/v1");

  auto bad = ParseConfig(R"(
providers:
  skytells: {kind: skytells, base_url: "https://api.skytells.ai/v1"}
near_duplicate: {threshold: 1.5, embedder: neural}
)");
  ASSERT_FALSE(bad.ok());
  std::string message(bad.status().message());
  EXPECT_NE(message.find("near_duplicate.threshold"), std::string::npos) << message;
  EXPECT_NE(message.find("near_duplicate.embedder"), std::string::npos) << message;
}

TEST(ParseListen, HostsAndPorts) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(ParseListen("[::1]:9000", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9000);
  EXPECT_FALSE(ParseListen("127.0.0.1:70000", host, port).ok());
  EXPECT_FALSE(ParseListen("127.0.0.1", host, port).ok());
}

}  // namespace
}  // namespace gencache::config
