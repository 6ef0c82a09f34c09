// The gateway over real sockets: GatewayApp (server, pipeline, SQLite, curl)
// in front of the fake provider, both on loopback ports.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "fake_provider/fake_provider.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/http/server.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache {
namespace {

using testing::BodyOf;
using testing::HeaderOf;
using testing::RawConnection;
using testing::StatusOf;

std::string Post(std::string_view path, std::string_view body,
                 std::string_view extra_headers = "") {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n{}Content-Length: "
      "{}\r\n\r\n{}",
      path, extra_headers, body.size(), body);
}

std::string Get(std::string_view path, std::string_view extra_headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: gw\r\n{}\r\n", path, extra_headers);
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("GW_TEST_SKYTELLS_KEY", "sk-test", 1);
    ::setenv("GW_TEST_REPLICATE_KEY", "r8-test", 1);
    ::unsetenv("GW_TEST_UNSET_KEY");
    fake_ = std::make_unique<fake_provider::FakeProvider>(fake_provider::FakeProviderOptions{},
                                                          base::SystemClock::Instance());
    auto server = http::Server::Start({.port = 0, .threads = 2}, *fake_);
    ASSERT_TRUE(server.ok());
    fake_server_ = std::move(*server);
    fake_->SetPublicPort(fake_server_->port());
    data_dir_ = std::filesystem::temp_directory_path() /
                fmt::format("gencache-gw-test-{}-{}", ::getpid(), std::random_device{}());
    StartGateway();
  }

  void TearDown() override {
    gateway_.reset();
    fake_server_->Stop();
    fake_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  std::string Config() const {
    std::uint16_t fp = fake_server_->port();
    return fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: error
server: {{threads: 2, max_body_bytes: 64KiB, header_timeout: 1s}}
upstream: {{request_timeout: {}, poll_initial: 20ms, poll_max: 100ms, wait: {}}}
providers:
  skytells: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: GW_TEST_SKYTELLS_KEY}}
  replicate: {{kind: replicate, base_url: http://127.0.0.1:{}/replicate/v1, api_key_env: GW_TEST_REPLICATE_KEY}}
  openai: {{kind: openai, base_url: http://127.0.0.1:{}/openai/v1, api_key_env: GW_TEST_UNSET_KEY}}
  down: {{kind: skytells, base_url: http://127.0.0.1:1/v1, api_key_env: GW_TEST_SKYTELLS_KEY}}
cache: {{ttl: 7d}}
)",
                       data_dir_.string(), request_timeout_, wait_, fp, fp, fp);
  }

  void StartGateway() {
    auto options = config::ParseConfig(Config());
    ASSERT_TRUE(options.ok()) << options.status();
    auto app = app::GatewayApp::Start(*options);
    ASSERT_TRUE(app.ok()) << app.status();
    gateway_ = std::move(*app);
    port_ = gateway_->port();
  }

  void RestartGateway() {
    gateway_.reset();
    StartGateway();
  }

  std::string Send(std::string_view request) { return testing::RoundTrip(port_, request); }

  std::string FakeControl(std::string_view json) {
    return testing::RoundTrip(fake_server_->port(), Post("/_fake/config", json));
  }

  std::int64_t Creates() const { return fake_->stats().total_creates(); }

  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> fake_server_;
  std::unique_ptr<app::GatewayApp> gateway_;
  std::filesystem::path data_dir_;
  std::string request_timeout_ = "5s";
  std::string wait_ = "10s";
  std::uint16_t port_ = 0;
};

constexpr char kSeeded[] =
    R"({"model":"truefusion-pro","input":{"prompt":"a red fox in the snow","seed":42,"width":512}})";
constexpr char kSeededReordered[] =
    R"({"input":{"width":512.0,"seed":42,"prompt":"a red fox in the snow"},"model":"truefusion-pro"})";

TEST_F(GatewayTest, HealthzAnswers) {
  std::string r = Send(Get("/healthz"));
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), R"({"status":"ok"})");
}

TEST_F(GatewayTest, SeededRepeatIsServedFromCache) {
  std::string first = Send(Post("/skytells/predict", kSeeded));
  ASSERT_EQ(StatusOf(first), 200) << first;
  EXPECT_EQ(HeaderOf(first, "X-Gencache-Status"), "miss");
  std::string key = HeaderOf(first, "X-Gencache-Key");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_NE(BodyOf(first).find("\"succeeded\""), std::string::npos) << first;

  std::string second = Send(Post("/skytells/predict", kSeededReordered));
  EXPECT_EQ(HeaderOf(second, "X-Gencache-Status"), "hit");
  EXPECT_EQ(HeaderOf(second, "X-Gencache-Key"), key);
  EXPECT_EQ(HeaderOf(second, "Content-Type"), "application/json");
  EXPECT_FALSE(HeaderOf(second, "Age").empty());
  EXPECT_EQ(BodyOf(second), BodyOf(first));
  EXPECT_EQ(Creates(), 1);
}

TEST_F(GatewayTest, OutputAffectingChangeIsAMiss) {
  Send(Post("/skytells/predict", kSeeded));
  std::string other = Send(Post(
      "/skytells/predict",
      R"({"model":"truefusion-pro","input":{"prompt":"a red fox in the snow","seed":43,"width":512}})"));
  EXPECT_EQ(HeaderOf(other, "X-Gencache-Status"), "miss");
  EXPECT_EQ(Creates(), 2);
}

TEST_F(GatewayTest, UnseededAlwaysReachesTheUpstream) {
  constexpr char kUnseeded[] = R"({"model":"truefusion-pro","input":{"prompt":"a cat"}})";
  for (int i = 0; i < 3; ++i) {
    std::string r = Send(Post("/skytells/predict", kUnseeded));
    EXPECT_EQ(StatusOf(r), 200);
    EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "bypass");
    EXPECT_TRUE(HeaderOf(r, "X-Gencache-Key").empty());
  }
  EXPECT_EQ(Creates(), 3);
}

TEST_F(GatewayTest, ConcurrentIdenticalRequestsMakeOneUpstreamCall) {
  FakeControl(R"({"latency_ms":300})");
  constexpr int kClients = 50;
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < kClients; ++i) {
    answers.push_back(std::async(std::launch::async, [&] {
      return Send(
          Post("/replicate/predictions", R"({"version":"abc","input":{"prompt":"fox","seed":7}})"));
    }));
  }
  std::multiset<std::string> statuses;
  std::set<std::string> bodies;
  for (auto& a : answers) {
    std::string r = a.get();
    EXPECT_EQ(StatusOf(r), 201) << r;
    statuses.insert(HeaderOf(r, "X-Gencache-Status"));
    bodies.insert(BodyOf(r));
  }
  EXPECT_EQ(Creates(), 1);
  EXPECT_EQ(bodies.size(), 1u);
  EXPECT_EQ(statuses.count("miss"), 1u);
  EXPECT_EQ(statuses.count("coalesced") + statuses.count("hit"), kClients - 1u);
}

TEST_F(GatewayTest, AsyncPredictionIsPolledToTheEnd) {
  FakeControl(R"({"async":true,"latency_ms":200})");
  std::string r = Send(
      Post("/replicate/models/acme/painter/predictions", R"({"input":{"prompt":"owl","seed":1}})"));
  ASSERT_EQ(StatusOf(r) / 100, 2) << r;
  EXPECT_NE(BodyOf(r).find("\"succeeded\""), std::string::npos) << r;
  EXPECT_GE(fake_->stats().total_polls(), 1);
  // The same prediction by the other create route is the same key.
  std::string again = Send(Post("/replicate/predictions",
                                R"({"model":"acme/painter","input":{"prompt":"owl","seed":1}})"));
  EXPECT_EQ(HeaderOf(again, "X-Gencache-Status"), "hit");
  EXPECT_EQ(Creates(), 1);
}

TEST_F(GatewayTest, WaitingClientGetsStartingThenTheCachedPrediction) {
  FakeControl(R"({"async":true,"latency_ms":1500})");
  std::string r =
      Send(Post("/replicate/predictions", R"({"version":"v1","input":{"prompt":"slow","seed":5}})",
                "Prefer: wait=1\r\n"));
  ASSERT_EQ(StatusOf(r) / 100, 2) << r;
  std::string body = BodyOf(r);
  // Never `processing`: the Replicate SDK only polls after `starting`.
  EXPECT_NE(body.find("\"status\":\"starting\""), std::string::npos) << body;
  auto id_pos = body.find("\"id\":\"");
  ASSERT_NE(id_pos, std::string::npos);
  std::string id = body.substr(id_pos + 6, body.find('"', id_pos + 6) - id_pos - 6);
  // The flight goes on without the client and stores the result; the
  // client's poll is then answered from the cache.
  std::string polled;
  for (int i = 0; i < 100; ++i) {
    polled = Send(Get("/replicate/predictions/" + id));
    if (HeaderOf(polled, "X-Gencache-Status") == "hit") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(HeaderOf(polled, "X-Gencache-Status"), "hit") << polled;
  EXPECT_NE(BodyOf(polled).find("\"succeeded\""), std::string::npos) << polled;
  std::string hit = Send(
      Post("/replicate/predictions", R"({"version":"v1","input":{"prompt":"slow","seed":5}})"));
  EXPECT_EQ(HeaderOf(hit, "X-Gencache-Status"), "hit");
  EXPECT_EQ(Creates(), 1);
}

TEST_F(GatewayTest, CachedPredictionIsServedAfterTheProviderDeletedIt) {
  std::string r = Send(Post("/skytells/predict", kSeeded));
  std::string body = BodyOf(r);
  auto id_pos = body.find("\"id\":\"");
  ASSERT_NE(id_pos, std::string::npos);
  std::string id = body.substr(id_pos + 6, body.find('"', id_pos + 6) - id_pos - 6);
  testing::RoundTrip(fake_server_->port(),
                     fmt::format("DELETE /skytells/v1/predictions/{}/delete HTTP/1.1\r\nHost: "
                                 "f\r\nx-api-key: k\r\nContent-Length: 0\r\n\r\n",
                                 id));
  std::string got = Send(Get("/skytells/predictions/" + id));
  EXPECT_EQ(StatusOf(got), 200) << got;
  EXPECT_EQ(HeaderOf(got, "X-Gencache-Status"), "hit");
  EXPECT_EQ(BodyOf(got), body);
}

TEST_F(GatewayTest, UpstreamErrorIsRelayedAndNotCached) {
  FakeControl(R"({"fail_next":1,"fail_status":500})");
  std::string r = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(StatusOf(r), 500) << r;
  EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "error");
  EXPECT_NE(BodyOf(r).find("Injected failure"), std::string::npos) << r;
  std::string retry = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(StatusOf(retry), 200);
  EXPECT_EQ(HeaderOf(retry, "X-Gencache-Status"), "miss");
  EXPECT_EQ(Creates(), 2);
}

TEST_F(GatewayTest, FailingFlightReachesEveryWaiter) {
  request_timeout_ = "2s";  // long enough for every client to join under load
  RestartGateway();
  FakeControl(R"({"fail_next":1,"fail_mode":"hang"})");
  constexpr int kClients = 10;
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < kClients; ++i) {
    answers.push_back(
        std::async(std::launch::async, [&] { return Send(Post("/skytells/predict", kSeeded)); }));
  }
  for (auto& a : answers) {
    std::string r = a.get();
    EXPECT_EQ(StatusOf(r), 504) << r;
    EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "error");
  }
  EXPECT_EQ(Creates(), 1);
  testing::RoundTrip(fake_server_->port(), Post("/_fake/reset", "{}"));
  std::string retry = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(StatusOf(retry), 200) << retry;
  EXPECT_EQ(HeaderOf(retry, "X-Gencache-Status"), "miss");
}

TEST_F(GatewayTest, FailedPredictionIsRelayedNotCached) {
  FakeControl(R"({"fail_next":1,"fail_mode":"prediction"})");
  std::string r = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "error");
  EXPECT_NE(BodyOf(r).find("failed"), std::string::npos);
  EXPECT_EQ(HeaderOf(Send(Post("/skytells/predict", kSeeded)), "X-Gencache-Status"), "miss");
}

TEST_F(GatewayTest, UnreachableUpstreamIs502InTheProviderShape) {
  std::string r = Send(Post("/down/predict", kSeeded));
  EXPECT_EQ(StatusOf(r), 502) << r;
  EXPECT_NE(BodyOf(r).find(R"("status":false)"), std::string::npos) << r;
  EXPECT_NE(BodyOf(r).find("error_id"), std::string::npos) << r;
}

TEST_F(GatewayTest, UpstreamTimeoutIs504) {
  request_timeout_ = "300ms";
  RestartGateway();
  FakeControl(R"({"fail_next":1,"fail_mode":"hang"})");
  std::string r = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(StatusOf(r), 504) << r;
  EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "error");
  testing::RoundTrip(fake_server_->port(), Post("/_fake/reset", "{}"));
}

TEST_F(GatewayTest, BadInputGetsClearErrors) {
  std::string malformed = Send(Post("/skytells/predict", "{not json"));
  EXPECT_EQ(StatusOf(malformed), 400);
  EXPECT_NE(BodyOf(malformed).find(R"("status":false)"), std::string::npos) << malformed;
  std::string openai = Send(Post("/openai/images/generations", "[1,2"));
  EXPECT_EQ(StatusOf(openai), 400);
  EXPECT_NE(BodyOf(openai).find(R"("error":{)"), std::string::npos) << openai;
  std::string unknown = Send(Post("/nope/predict", kSeeded));
  EXPECT_EQ(StatusOf(unknown), 404);
  EXPECT_NE(BodyOf(unknown).find("no provider"), std::string::npos);
  std::string big(70 * 1024, 'x');
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", big))), 413);
  std::string smuggle = Send(
      "POST /skytells/predict HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\nContent-Length: "
      "3\r\n\r\n{}");
  EXPECT_EQ(StatusOf(smuggle), 400);
  EXPECT_EQ(StatusOf(Send(Get("/skytells/../replicate/x"))), 400);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", kSeeded, "X-Gencache-Namespace: a/b\r\n"))),
            400);
  EXPECT_EQ(Creates(), 0);
  EXPECT_EQ(StatusOf(Send(Get("/healthz"))), 200);
}

TEST_F(GatewayTest, EntriesSurviveARestart) {
  std::string first = Send(Post("/skytells/predict", kSeeded));
  ASSERT_EQ(HeaderOf(first, "X-Gencache-Status"), "miss");
  RestartGateway();
  std::string again = Send(Post("/skytells/predict", kSeeded));
  EXPECT_EQ(HeaderOf(again, "X-Gencache-Status"), "hit");
  EXPECT_EQ(BodyOf(again), BodyOf(first));
  EXPECT_EQ(Creates(), 1);
}

// The value of the sample `name{labels}` in a Prometheus text exposition, or
// -1. Also checks every line is a comment or `name{...} value`.
double Sample(const std::string& text, std::string_view series) {
  std::istringstream lines(text);
  std::string line;
  double value = -1;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (line.substr(0, space) == series) value = std::stod(line.substr(space + 1));
  }
  return value;
}

TEST_F(GatewayTest, MetricsCountAKnownWorkload) {
  Send(Post("/skytells/predict", kSeeded));
  Send(Post("/skytells/predict", kSeeded));
  Send(Post("/skytells/predict", kSeeded));
  Send(Post("/skytells/predict", R"({"model":"truefusion-pro","input":{"prompt":"x"}})"));
  Send(Post("/skytells/predict", "{broken"));
  std::string r = Send(Get("/metrics"));
  ASSERT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(HeaderOf(r, "Content-Type").find("text/plain"), std::string::npos);
  std::string text = BodyOf(r);
  EXPECT_EQ(
      Sample(
          text,
          R"(gencache_requests_total{cache_status="hit",model="truefusion-pro",provider="skytells"})"),
      2)
      << text;
  EXPECT_EQ(
      Sample(
          text,
          R"(gencache_requests_total{cache_status="miss",model="truefusion-pro",provider="skytells"})"),
      1);
  EXPECT_EQ(
      Sample(
          text,
          R"(gencache_requests_total{cache_status="bypass",model="truefusion-pro",provider="skytells"})"),
      1);
  EXPECT_DOUBLE_EQ(Sample(text, R"(gencache_spend_usd_total{model="truefusion-pro"})"), 0.08);
  EXPECT_DOUBLE_EQ(Sample(text, R"(gencache_saving_usd_total{model="truefusion-pro"})"), 0.08);
  EXPECT_EQ(Sample(text, R"(gencache_errors_total{kind="invalid_request"})"), 1);
  EXPECT_EQ(Sample(text, R"(gencache_cache_entries{tier="memory"})"), 1);
  EXPECT_EQ(Sample(text, R"(gencache_budget_limit_usd{scope="daily",subject=""})"), 50);
  EXPECT_GE(Sample(text, R"(gencache_upstream_latency_seconds_count{provider="skytells"})"), 2);
}

TEST_F(GatewayTest, MountsOfTheSameKindDoNotShareEntries) {
  Send(Post("/skytells/predict", kSeeded));
  // `down` is another Skytells mount: a cached answer from `skytells` must
  // not be served for it (its upstream is unreachable: 502).
  EXPECT_EQ(StatusOf(Send(Post("/down/predict", kSeeded))), 502);
}

TEST_F(GatewayTest, NamespacesAreSeparate) {
  Send(Post("/skytells/predict", kSeeded, "X-Gencache-Namespace: team-a\r\n"));
  std::string b = Send(Post("/skytells/predict", kSeeded, "X-Gencache-Namespace: team-b\r\n"));
  EXPECT_EQ(HeaderOf(b, "X-Gencache-Status"), "miss");
  std::string a = Send(Post("/skytells/predict", kSeeded, "X-Gencache-Namespace: team-a\r\n"));
  EXPECT_EQ(HeaderOf(a, "X-Gencache-Status"), "hit");
  EXPECT_EQ(Creates(), 2);
}

TEST_F(GatewayTest, ClientCacheControl) {
  Send(Post("/skytells/predict", kSeeded));
  std::string fresh = Send(Post("/skytells/predict", kSeeded, "Cache-Control: no-cache\r\n"));
  EXPECT_EQ(HeaderOf(fresh, "X-Gencache-Status"), "bypass");
  EXPECT_EQ(Creates(), 2);
  std::string young = Send(Post("/skytells/predict", kSeeded, "Cache-Control: max-age=3600\r\n"));
  EXPECT_EQ(HeaderOf(young, "X-Gencache-Status"), "hit");

  constexpr char kOther[] = R"({"model":"m","input":{"prompt":"p","seed":9}})";
  Send(Post("/skytells/predict", kOther, "Cache-Control: no-store\r\n"));
  EXPECT_EQ(HeaderOf(Send(Post("/skytells/predict", kOther)), "X-Gencache-Status"), "miss");
}

TEST_F(GatewayTest, OtherRoutesPassThroughWithTheInjectedCredential) {
  std::string models = Send(Get("/skytells/models"));
  EXPECT_EQ(StatusOf(models), 200) << models;
  EXPECT_EQ(HeaderOf(models, "X-Gencache-Status"), "bypass");
  // The openai mount's variable is unset: the client's own key passes.
  std::string without = Send(Post("/openai/images/generations", R"({"prompt":"x"})"));
  EXPECT_EQ(StatusOf(without), 401) << without;
  std::string with = Send(Post("/openai/images/generations", R"({"prompt":"x"})",
                               "Authorization: Bearer client-key\r\n"));
  EXPECT_EQ(StatusOf(with), 200) << with;
}

TEST_F(GatewayTest, SlowClientTimesOut) {
  RawConnection conn(port_);
  ASSERT_TRUE(conn.Send("POST /skytells/predict HTTP/1.1\r\nHost: gw\r\n"));
  std::string r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 408);
}

}  // namespace
}  // namespace gencache

namespace gencache {
namespace {

// An upstream whose first poll fails with 503: the gateway must keep polling.
class FlakyPollUpstream : public http::Handler {
 public:
  void Handle(http::Request request, http::Respond respond) override {
    http::Response response;
    if (request.method == "POST") {
      ++creates;
      response.status = 201;
      response.body = R"({"id":"p1","status":"starting","output":null})";
    } else if (polls.fetch_add(1) == 0) {
      response.status = 503;
      response.body = R"({"detail":"try later"})";
    } else {
      response.body = R"({"id":"p1","status":"succeeded","output":["http://x/y.png"]})";
    }
    respond(std::move(response));
  }
  http::Response Reject(std::string_view, const absl::Status&) override { return {}; }
  std::atomic<int> creates{0};
  std::atomic<int> polls{0};
};

TEST(GatewayPolling, TransientPollFailureIsRetried) {
  FlakyPollUpstream upstream;
  auto server = http::Server::Start({.port = 0, .threads = 1}, upstream);
  ASSERT_TRUE(server.ok());
  auto dir = std::filesystem::temp_directory_path() / fmt::format("gencache-flaky-{}", ::getpid());
  auto options = config::ParseConfig(fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: error
upstream: {{poll_initial: 10ms, poll_max: 20ms}}
providers:
  r: {{kind: replicate, base_url: http://127.0.0.1:{}/v1}}
)",
                                                 dir.string(), (*server)->port()));
  ASSERT_TRUE(options.ok()) << options.status();
  auto app = app::GatewayApp::Start(*options);
  ASSERT_TRUE(app.ok()) << app.status();
  std::string r = testing::RoundTrip((*app)->port(),
                                     Post("/r/predictions", R"({"version":"v","input":{"seed":1}})",
                                          "Authorization: Bearer k\r\n"));
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(BodyOf(r).find("succeeded"), std::string::npos) << r;
  EXPECT_EQ(upstream.creates.load(), 1);
  EXPECT_EQ(upstream.polls.load(), 2);
  app->reset();
  (*server)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gencache
