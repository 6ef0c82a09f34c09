// Structured logs: one JSON object per line, request ids, and no secrets or
// (unless enabled) prompts in any line, over a workload that exercises the
// error paths.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>
#include <sstream>

#include "fake_provider/fake_provider.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/base/log.hpp"
#include "gencache/http/server.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache {
namespace {

using testing::HeaderOf;
using testing::StatusOf;

constexpr char kProviderSecret[] = "sk-SECRET-provider-1234";
constexpr char kGatewayKey[] = "gw-SECRET-key-5678";
constexpr char kAdminKey[] = "adm-SECRET-9012";
constexpr char kPrompt[] = "PROMPT-MARKER a fox in the snow";

std::string Post(std::string_view path, std::string_view body, std::string_view headers) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: gw\r\n{}Content-Length: {}\r\n\r\n{}", path,
                     headers, body.size(), body);
}

class LoggingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ::setenv("LOG_TEST_PROVIDER_KEY", kProviderSecret, 1);
    ::setenv("LOG_TEST_GATEWAY_KEY", kGatewayKey, 1);
    ::setenv("LOG_TEST_ADMIN_KEY", kAdminKey, 1);
    base::InitLogging("trace", base::LogFormat::kJson, &log_);
    fake_ = std::make_unique<fake_provider::FakeProvider>(fake_provider::FakeProviderOptions{},
                                                          base::SystemClock::Instance());
    auto server = http::Server::Start({.port = 0, .threads = 1}, *fake_);
    ASSERT_TRUE(server.ok());
    fake_server_ = std::move(*server);
    fake_->SetPublicPort(fake_server_->port());
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("gencache-log-test-{}-{}", ::getpid(), std::random_device{}());
    auto options = config::ParseConfig(fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: trace
log_prompts: {}
upstream: {{request_timeout: 2s}}
budgets: {{daily_usd: 0.08}}
auth:
  admin_key_env: LOG_TEST_ADMIN_KEY
  keys: [{{key_env: LOG_TEST_GATEWAY_KEY, user: alice, team: red}}]
providers:
  sk: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: LOG_TEST_PROVIDER_KEY}}
  down: {{kind: skytells, base_url: http://127.0.0.1:1/v1, api_key_env: LOG_TEST_PROVIDER_KEY}}
)",
                                                   dir_.string(), GetParam() ? "true" : "false",
                                                   fake_server_->port()));
    ASSERT_TRUE(options.ok()) << options.status();
    auto app = app::GatewayApp::Start(*options);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = std::move(*app);
  }
  void TearDown() override {
    app_.reset();
    fake_server_->Stop();
    base::InitLogging("info", base::LogFormat::kJson);
    std::filesystem::remove_all(dir_);
  }

  std::string Send(std::string_view request) { return testing::RoundTrip(app_->port(), request); }

  std::ostringstream log_;
  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> fake_server_;
  std::unique_ptr<app::GatewayApp> app_;
  std::filesystem::path dir_;
};

TEST_P(LoggingTest, JsonLinesWithRequestIdsAndNoSecrets) {
  const std::string key = fmt::format("x-api-key: {}\r\n", kGatewayKey);
  const std::string body =
      fmt::format(R"({{"model":"truefusion-pro","input":{{"prompt":"{}","seed":1}}}})", kPrompt);
  std::string ok = Send(Post("/sk/predict", body, key + "X-Request-Id: trace-abc.1\r\n"));
  EXPECT_EQ(StatusOf(ok), 200) << ok;
  EXPECT_EQ(HeaderOf(ok, "X-Request-Id"), "trace-abc.1");
  std::string generated = Send(Post("/sk/predict", body, key + "X-Request-Id: bad id\r\n"));
  EXPECT_FALSE(HeaderOf(generated, "X-Request-Id").empty());
  EXPECT_NE(HeaderOf(generated, "X-Request-Id"), "bad id");
  EXPECT_EQ(StatusOf(Send(Post("/sk/predict", body, "x-api-key: wrong\r\n"))), 401);
  EXPECT_EQ(StatusOf(Send(
                Post("/sk/predict", body, fmt::format("Authorization: Bearer {}\r\n", kAdminKey)))),
            401);
  std::string down = Send(Post("/down/predict", body, key + "X-Request-Id: trace-down-7\r\n"));
  EXPECT_EQ(StatusOf(down), 502);
  testing::RoundTrip(fake_server_->port(), Post("/_fake/config", R"({"fail_next":1})",
                                                "Content-Type: application/json\r\n"));
  Send(Post("/sk/predict", R"({"model":"truefusion-pro","input":{"prompt":"another","seed":2}})",
            key));
  for (int seed = 3; seed < 6; ++seed) {  // runs into the budget
    Send(Post(
        "/sk/predict",
        fmt::format(R"({{"model":"truefusion-pro","input":{{"prompt":"p","seed":{}}}}})", seed),
        key));
  }
  app_.reset();  // flush everything

  std::string text = log_.str();
  ASSERT_FALSE(text.empty());
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  bool saw_down_id = false;
  bool saw_prompt = false;
  while (std::getline(lines, line)) {
    ++count;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const boost::json::object& o = v.as_object();
    EXPECT_TRUE(o.contains("ts") && o.contains("level") && o.contains("msg")) << line;
    EXPECT_EQ(line.find("SECRET"), std::string::npos) << "a secret was logged: " << line;
    if (o.contains("request_id") && o.at("request_id").as_string() == "trace-down-7") {
      saw_down_id = true;
    }
    saw_prompt = saw_prompt || line.find("PROMPT-MARKER") != std::string::npos;
  }
  EXPECT_GT(count, 5);
  EXPECT_TRUE(saw_down_id) << text;
  EXPECT_EQ(saw_prompt, GetParam()) << "prompts are logged only with log_prompts: true";
}

INSTANTIATE_TEST_SUITE_P(Prompts, LoggingTest, ::testing::Bool(), [](const auto& param_info) {
  return param_info.param ? "Logged" : "NotLogged";
});

}  // namespace
}  // namespace gencache
