// Re-hosting through the whole gateway (GatewayApp over real sockets, the
// fake provider in process): permanent /files URLs, what happens when a
// download is refused or cut, coalesced waiters, ranges, and blob garbage
// collection keeping what a live entry still references.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "fake_provider/fake_provider.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/base/sha256.hpp"
#include "gencache/blob/s3_blob_store.hpp"
#include "gencache/cli/commands.hpp"
#include "gencache/http/server.hpp"
#include "gencache/rehost/rehost_test_util.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/s3_server.hpp"

namespace gencache {
namespace {

namespace fs = std::filesystem;
using testing::BodyOf;
using testing::HeaderOf;
using testing::StatusOf;

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: gw.test:8080\r\nContent-Type: application/json\r\n{}"
      "Content-Length: {}\r\n\r\n{}",
      path, extra, body.size(), body);
}

std::string Get(std::string_view target, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: gw.test:8080\r\n{}\r\n", target, extra);
}

// The output URLs in a Skytells answer body.
std::vector<std::string> Outputs(const std::string& body) {
  std::vector<std::string> urls;
  static const std::regex kUrl(R"re("(https?://[^"]+)")re");
  const std::size_t at = body.find("\"output\"");
  if (at == std::string::npos) return urls;
  const std::size_t end = body.find(']', at);
  std::string list = body.substr(at, end - at);
  for (std::sregex_iterator it(list.begin(), list.end(), kUrl), last; it != last; ++it) {
    urls.push_back((*it)[1]);
  }
  return urls;
}

// "/files/<sha>.png" of a gateway URL on host gw.test:8080.
std::string PathOf(const std::string& url) {
  const std::string prefix = "http://gw.test:8080";
  EXPECT_EQ(url.rfind(prefix, 0), 0u) << url;
  return url.substr(prefix.size());
}

class RehostGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("RH_TEST_KEY", "sk-test", 1);
    fake_ = std::make_unique<fake_provider::FakeProvider>(
        fake_provider::FakeProviderOptions{.url_ttl = std::chrono::seconds(2)},
        base::SystemClock::Instance());
    auto server = http::Server::Start({.port = 0, .threads = 2}, *fake_);
    ASSERT_TRUE(server.ok());
    fake_server_ = std::move(*server);
    fake_->SetPublicPort(fake_server_->port());
    dir_ = fs::temp_directory_path() /
           fmt::format("gencache-rehost-test-{}-{}", ::getpid(), std::random_device{}());
    fs::create_directories(dir_);
  }

  void TearDown() override {
    gateway_.reset();
    fake_server_->Stop();
    fake_.reset();
    fs::remove_all(dir_);
  }

  std::string Config(std::string_view rehost) const {
    return fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: error
upstream: {{poll_initial: 20ms, poll_max: 100ms}}
providers:
  skytells: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: RH_TEST_KEY, output_url_ttl: 10m}}
cache: {{ttl: 7d}}
rehost: {}
)",
                       (dir_ / "data").string(), fake_server_->port(), rehost);
  }

  void Start(std::string_view rehost = "{allowed_hosts: [127.0.0.1]}") {
    config_text_ = Config(rehost);
    auto options = config::ParseConfig(config_text_);
    ASSERT_TRUE(options.ok()) << options.status();
    auto app = app::GatewayApp::Start(*options);
    ASSERT_TRUE(app.ok()) << app.status();
    gateway_ = std::move(*app);
  }

  std::string Send(std::string_view request) {
    return testing::RoundTrip(gateway_->port(), request);
  }

  std::string Generate(std::string_view prompt, int seed, std::string_view extra = "") {
    return Send(Post("/skytells/predict",
                     fmt::format(R"({{"model":"truefusion","input":{{"prompt":"{}","seed":{}}}}})",
                                 prompt, seed),
                     extra));
  }

  std::string FakeControl(std::string_view json) {
    return testing::RoundTrip(fake_server_->port(),
                              fmt::format("POST /_fake/config HTTP/1.1\r\nHost: f\r\nContent-Type: "
                                          "application/json\r\nContent-Length: {}\r\n\r\n{}",
                                          json.size(), json));
  }

  std::size_t BlobCount() const {
    std::size_t n = 0;
    const fs::path blobs = dir_ / "data" / "blobs";
    if (!fs::exists(blobs)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(blobs)) {
      if (e.is_regular_file() && e.path().parent_path().filename() != "tmp") ++n;
    }
    return n;
  }

  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> fake_server_;
  std::unique_ptr<app::GatewayApp> gateway_;
  fs::path dir_;
  std::string config_text_;
};

TEST_F(RehostGatewayTest, PermanentUrlsServeTheBytesAfterTheProviderUrlsExpired) {
  Start();
  std::string first = Generate("a lighthouse", 1);
  ASSERT_EQ(StatusOf(first), 200) << first;
  std::vector<std::string> urls = Outputs(BodyOf(first));
  ASSERT_EQ(urls.size(), 1u) << BodyOf(first);
  ASSERT_NE(urls[0].find("/files/"), std::string::npos) << urls[0];
  const std::string path = PathOf(urls[0]);
  const std::string sha = path.substr(7, 64);

  std::this_thread::sleep_for(std::chrono::milliseconds(2300));  // provider URL expired
  std::string file = Send(Get(path));
  ASSERT_EQ(StatusOf(file), 200) << file.substr(0, 300);
  EXPECT_EQ(HeaderOf(file, "Content-Type"), "image/png");
  EXPECT_EQ(HeaderOf(file, "ETag"), fmt::format("\"{}\"", sha));
  EXPECT_EQ(HeaderOf(file, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(base::Sha256Hex(BodyOf(file)), sha);

  // A hit hands out the same permanent URL.
  std::string hit = Generate("a lighthouse", 1);
  EXPECT_EQ(HeaderOf(hit, "X-Gencache-Status"), "hit");
  EXPECT_EQ(Outputs(BodyOf(hit)), urls);
  // Another client's Host names its own address: the stored entry holds none.
  const std::string body = R"({"model":"truefusion","input":{"prompt":"a lighthouse","seed":1}})";
  std::string via_ip = testing::RoundTrip(
      gateway_->port(),
      fmt::format("POST /skytells/predict HTTP/1.1\r\nHost: 10.0.0.9\r\n"
                  "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                  body.size(), body));
  ASSERT_EQ(Outputs(BodyOf(via_ip)).size(), 1u) << via_ip;
  EXPECT_EQ(Outputs(BodyOf(via_ip))[0], "http://10.0.0.9/files/" + path.substr(7));

  // Ranges.
  std::string range = Send(Get(path, "Range: bytes=0-7\r\n"));
  EXPECT_EQ(StatusOf(range), 206);
  EXPECT_EQ(BodyOf(range), BodyOf(file).substr(0, 8));
  EXPECT_EQ(HeaderOf(range, "Content-Range"), fmt::format("bytes 0-7/{}", BodyOf(file).size()));
  // A revalidation costs no body (HEAD is covered by files_http_test).
  std::string revalidated = Send(Get(path, fmt::format("If-None-Match: \"{}\"\r\n", sha)));
  EXPECT_EQ(StatusOf(revalidated), 304);
  EXPECT_EQ(StatusOf(Send(Get("/files/" + std::string(64, 'a') + ".png"))), 404);
  EXPECT_EQ(StatusOf(Send(Get("/files/../cache.db"))), 404);
}

TEST_F(RehostGatewayTest, CoalescedWaitersAllGetThePermanentUrls) {
  Start();
  FakeControl(R"({"latency_ms": 300})");
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < 8; ++i) {
    answers.push_back(std::async(std::launch::async, [this] { return Generate("a crowd", 3); }));
  }
  std::set<std::string> bodies;
  for (auto& a : answers) {
    std::string r = a.get();
    ASSERT_EQ(StatusOf(r), 200) << r;
    ASSERT_EQ(Outputs(BodyOf(r)).size(), 1u);
    EXPECT_NE(Outputs(BodyOf(r))[0].find("http://gw.test:8080/files/"), std::string::npos);
    bodies.insert(Outputs(BodyOf(r))[0]);
  }
  EXPECT_EQ(bodies.size(), 1u);
  EXPECT_EQ(fake_->stats().total_creates(), 1);
}

TEST_F(RehostGatewayTest, RefusedOutputsKeepProviderUrlsAndCapTheEntryTtl) {
  Start("{allowed_hosts: [127.0.0.1], url_safety_margin: 1s}");
  // An output on a host that is no provider's: the SSRF guard refuses it.
  FakeControl(R"({"output_urls": ["http://internal.example:9000/secret.png"]})");
  std::string first = Generate("refused", 4);
  ASSERT_EQ(StatusOf(first), 200) << first;
  EXPECT_EQ(Outputs(BodyOf(first)),
            std::vector<std::string>{"http://internal.example:9000/secret.png"});
  // Kept with its TTL capped by the provider's output_url_ttl (10 m): a hit
  // now, and no blob stored.
  EXPECT_EQ(HeaderOf(Generate("refused", 4), "X-Gencache-Status"), "hit");
  EXPECT_EQ(BlobCount(), 0u);

  // A redirect to another loopback address and a file:// URL: refused too.
  FakeControl(fmt::format(
      R"({{"output_urls": ["http://127.0.0.1:{}/redirect?to=http://127.0.0.2:{}/x.png", "file:///etc/passwd"]}})",
      fake_server_->port(), fake_server_->port()));
  std::string redirected = Generate("redirected", 5);
  ASSERT_EQ(StatusOf(redirected), 200);
  EXPECT_EQ(Outputs(BodyOf(redirected)).size(), 1u);  // file:// is not an http(s) output
  EXPECT_NE(BodyOf(redirected).find("file:///etc/passwd"), std::string::npos);
  EXPECT_EQ(BlobCount(), 0u);
}

TEST_F(RehostGatewayTest, ACutDownloadLeavesNoBlobAndNoEntry) {
  Start();
  // Promises 100000 bytes, sends 1000, closes: twice (the retry too).
  rehost::testing::RawServer cut({{.bytes = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                            "Content-Length: 100000\r\n\r\n" +
                                            std::string(1000, 'x')}});
  FakeControl(fmt::format(R"({{"output_urls": ["http://127.0.0.1:{}/out.png"]}})", cut.port()));
  std::string first = Generate("cut", 6);
  ASSERT_EQ(StatusOf(first), 200) << first;
  EXPECT_EQ(Outputs(BodyOf(first)),
            std::vector<std::string>{fmt::format("http://127.0.0.1:{}/out.png", cut.port())});
  EXPECT_EQ(cut.connections(), 2);  // tried once more
  EXPECT_EQ(BlobCount(), 0u);
  std::size_t spool = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "data" / "blobs" / "tmp")) {
    ++spool;
  }
  EXPECT_EQ(spool, 0u);
  // Not cached: the next identical request calls the provider again.
  EXPECT_EQ(HeaderOf(Generate("cut", 6), "X-Gencache-Status"), "miss");
  EXPECT_EQ(fake_->stats().total_creates(), 2);
}

TEST_F(RehostGatewayTest, ABlobSharedByTwoEntriesSurvivesTheExpiryOfOne) {
  Start();
  // An entry that expires soon with a blob of its own.
  ASSERT_EQ(StatusOf(Generate("orphan", 7, "X-Gencache-TTL: 1s\r\n")), 200);
  // Two different requests whose outputs are the same bytes (one URL).
  std::string provider = testing::RoundTrip(
      fake_server_->port(),
      Post("/skytells/v1/predict", R"({"model":"truefusion","input":{"prompt":"shared","seed":9}})",
           "x-api-key: sk-test\r\n"));
  std::vector<std::string> provider_urls = Outputs(BodyOf(provider));
  ASSERT_EQ(provider_urls.size(), 1u) << provider;
  FakeControl(fmt::format(R"({{"output_urls": ["{}"]}})", provider_urls[0]));
  std::string short_lived = Generate("first", 8, "X-Gencache-TTL: 1s\r\n");
  std::string long_lived = Generate("second", 8);
  ASSERT_EQ(Outputs(BodyOf(short_lived)).size(), 1u) << short_lived;
  ASSERT_EQ(Outputs(BodyOf(short_lived)), Outputs(BodyOf(long_lived)));
  const std::string path = PathOf(Outputs(BodyOf(long_lived))[0]);
  ASSERT_EQ(BlobCount(), 2u);  // the orphan's and the shared one

  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // "orphan", "first" expired
  gateway_.reset();                                              // flushes the persistent tier
  const fs::path config = dir_ / "gencache.yaml";
  {
    std::ofstream out(config);
    out << config_text_;
  }
  std::vector<std::string> args = {"gencache",      "cache",   "gc", "--config",
                                   config.string(), "--grace", "0s"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(cli::Main(static_cast<int>(argv.size()), argv.data()), 0);
  EXPECT_EQ(BlobCount(), 1u);  // the orphan's blob went; "second" still uses the shared one

  Start();
  std::string file = Send(Get(path));
  ASSERT_EQ(StatusOf(file), 200);
  EXPECT_EQ(base::Sha256Hex(BodyOf(file)), path.substr(7, 64));
}

TEST_F(RehostGatewayTest, WithAnS3StoreOutputsGoToTheBucketAndAreServedFromIt) {
  auto s3 = testing::S3Server::Start();
  ASSERT_TRUE(s3.ok()) << s3.status();
  ::setenv("RH_TEST_S3_ACCESS", (*s3)->options().access_key.c_str(), 1);
  ::setenv("RH_TEST_S3_SECRET", (*s3)->options().secret_key.c_str(), 1);
  Start(
      fmt::format("{{allowed_hosts: [127.0.0.1], s3: {{endpoint: \"{}\", bucket: {}, region: {}, "
                  "access_key_env: RH_TEST_S3_ACCESS, secret_key_env: RH_TEST_S3_SECRET}}}}",
                  (*s3)->endpoint(), (*s3)->options().bucket, (*s3)->options().region));
  std::string first = Generate("a harbour", 12);
  ASSERT_EQ(StatusOf(first), 200) << first;
  std::vector<std::string> urls = Outputs(BodyOf(first));
  ASSERT_EQ(urls.size(), 1u);
  const std::string path = PathOf(urls[0]);
  EXPECT_EQ(BlobCount(), 0u);  // nothing in the local directory

  std::this_thread::sleep_for(std::chrono::milliseconds(2300));  // provider URL expired
  std::string file = Send(Get(path));
  ASSERT_EQ(StatusOf(file), 200) << file.substr(0, 300);
  EXPECT_EQ(base::Sha256Hex(BodyOf(file)), path.substr(7, 64));
  std::string range = Send(Get(path, "Range: bytes=-4\r\n"));
  EXPECT_EQ(StatusOf(range), 206);
  EXPECT_EQ(BodyOf(range), BodyOf(file).substr(BodyOf(file).size() - 4));
  // The object is in the bucket under its hash.
  auto bucket = blob::MakeS3BlobStore({.endpoint = (*s3)->endpoint(),
                                       .bucket = (*s3)->options().bucket,
                                       .region = (*s3)->options().region,
                                       .access_key = (*s3)->options().access_key,
                                       .secret_key = (*s3)->options().secret_key,
                                       .spool_dir = (dir_ / "check-spool").string()});
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  auto stat = (*bucket)->Stat(path.substr(7, 64));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->size, BodyOf(file).size());
  gateway_.reset();
}

}  // namespace
}  // namespace gencache
