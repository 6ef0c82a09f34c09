// Near-duplicate matching through the whole gateway (GatewayApp over real
// sockets, the fake provider in process): a reworded prompt is served the
// earlier answer without an upstream call; a look-alike that means something
// else is not; the index comes back after a restart.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "fake_provider/fake_provider.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/http/server.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache {
namespace {

namespace fs = std::filesystem;
using testing::BodyOf;
using testing::HeaderOf;
using testing::StatusOf;

class NearDuplicateGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("ND_TEST_KEY", "sk-test", 1);
    fake_ = std::make_unique<fake_provider::FakeProvider>(fake_provider::FakeProviderOptions{},
                                                          base::SystemClock::Instance());
    auto server = http::Server::Start({.port = 0, .threads = 2}, *fake_);
    ASSERT_TRUE(server.ok());
    fake_server_ = std::move(*server);
    fake_->SetPublicPort(fake_server_->port());
    dir_ = fs::temp_directory_path() /
           fmt::format("gencache-neardup-test-{}-{}", ::getpid(), std::random_device{}());
    Start();
  }

  void TearDown() override {
    gateway_.reset();
    fake_server_->Stop();
    fake_.reset();
    fs::remove_all(dir_);
  }

  void Start() {
    auto options =
        config::ParseConfig(fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: error
providers:
  skytells: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: ND_TEST_KEY}}
  other: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: ND_TEST_KEY}}
rehost: {{allowed_hosts: [127.0.0.1]}}
near_duplicate:
  enabled: true
  providers: {{other: {{enabled: false}}}}
)",
                                        dir_.string(), fake_server_->port(), fake_server_->port()));
    ASSERT_TRUE(options.ok()) << options.status();
    auto app = app::GatewayApp::Start(*options);
    ASSERT_TRUE(app.ok()) << app.status();
    gateway_ = std::move(*app);
  }

  std::string Generate(std::string_view prompt, int seed, std::string_view mount = "skytells",
                       std::string_view extra = "") {
    const std::string body =
        fmt::format(R"({{"model":"truefusion","input":{{"prompt":"{}","seed":{},"width":512}}}})",
                    prompt, seed);
    return testing::RoundTrip(
        gateway_->port(),
        fmt::format("POST /{}/predict HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                    "{}Content-Length: {}\r\n\r\n{}",
                    mount, extra, body.size(), body));
  }

  // Waits (bounded) until the index holds `n` prompts: entries are indexed
  // just after they are answered.
  void WaitForIndex(int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    const std::string want = fmt::format("\"near_duplicate_entries\":{}", n);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string stats =
          testing::RoundTrip(gateway_->port(), "GET /v1/stats HTTP/1.1\r\nHost: gw\r\n\r\n");
      if (BodyOf(stats).find(want) != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "the index never reached " << n << " prompts";
  }

  std::int64_t Creates() const { return fake_->stats().total_creates(); }

  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> fake_server_;
  std::unique_ptr<app::GatewayApp> gateway_;
  fs::path dir_;
};

TEST_F(NearDuplicateGatewayTest, ARewordedPromptIsServedTheEarlierAnswer) {
  std::string first = Generate("A red fox in the snow", 1);
  ASSERT_EQ(StatusOf(first), 200) << first;
  EXPECT_EQ(HeaderOf(first, "X-Gencache-Status"), "miss");
  const std::string key = HeaderOf(first, "X-Gencache-Key");
  WaitForIndex(1);

  for (const char* variant : {"a red fox in the snow.", "a red fox in the snwo", "red fox in snow",
                              "A  RED fox in the snow!"}) {
    SCOPED_TRACE(variant);
    std::string near = Generate(variant, 1);
    ASSERT_EQ(StatusOf(near), 200) << near;
    EXPECT_EQ(HeaderOf(near, "X-Gencache-Status"), "near-hit");
    EXPECT_EQ(HeaderOf(near, "X-Gencache-Matched-Key"), key);
    EXPECT_NE(HeaderOf(near, "X-Gencache-Key"), key);  // its own exact key differs
    EXPECT_FALSE(HeaderOf(near, "X-Gencache-Similarity").empty());
    EXPECT_EQ(BodyOf(near), BodyOf(first));
  }
  EXPECT_EQ(Creates(), 1);
  std::string stats =
      testing::RoundTrip(gateway_->port(), "GET /v1/stats HTTP/1.1\r\nHost: gw\r\n\r\n");
  EXPECT_NE(BodyOf(stats).find("\"near_hits\":4"), std::string::npos) << BodyOf(stats);
}

TEST_F(NearDuplicateGatewayTest, LookAlikesThatMeanSomethingElseAreNotMerged) {
  ASSERT_EQ(StatusOf(Generate("a red fox in the snow", 1)), 200);
  WaitForIndex(1);
  int expected_creates = 1;
  for (const char* different :
       {"a blue fox in the snow", "two red foxes in the snow", "a red fox without snow",
        "a red dog in the snow", "a snow in the red fox", "a large red fox in the snow"}) {
    SCOPED_TRACE(different);
    std::string r = Generate(different, 1);
    ASSERT_EQ(StatusOf(r), 200) << r;
    EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "miss");
    EXPECT_EQ(Creates(), ++expected_creates);
  }
}

TEST_F(NearDuplicateGatewayTest, OnlyRequestsIdenticalButForThePromptAreCandidates) {
  ASSERT_EQ(StatusOf(Generate("a red fox in the snow", 1)), 200);
  WaitForIndex(1);
  // Another seed, another mount with matching off, the client opting out,
  // and no-cache: all miss (or bypass) and call the provider.
  EXPECT_EQ(HeaderOf(Generate("a red fox in the snow.", 2), "X-Gencache-Status"), "miss");
  EXPECT_EQ(HeaderOf(Generate("a red fox in the snow.", 1, "other"), "X-Gencache-Status"), "miss");
  EXPECT_EQ(HeaderOf(Generate("a red fox in the snow!", 1, "skytells",
                              "X-Gencache-Near-Duplicate: off\r\n"),
                     "X-Gencache-Status"),
            "miss");
  EXPECT_EQ(
      HeaderOf(Generate("a red fox in the snow?", 1, "skytells", "Cache-Control: no-cache\r\n"),
               "X-Gencache-Status"),
      "bypass");
  EXPECT_EQ(Creates(), 5);
}

TEST_F(NearDuplicateGatewayTest, TheIndexIsRebuiltFromTheStoreAtStartUp) {
  ASSERT_EQ(StatusOf(Generate("a lighthouse at dusk", 3)), 200);
  WaitForIndex(1);
  gateway_.reset();
  Start();
  WaitForIndex(1);
  std::string near = Generate("a lighthouse at dusk.", 3);
  EXPECT_EQ(HeaderOf(near, "X-Gencache-Status"), "near-hit");
  EXPECT_EQ(Creates(), 1);
}

}  // namespace
}  // namespace gencache
