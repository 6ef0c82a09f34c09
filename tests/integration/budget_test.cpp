// Budgets, gateway keys and the spend API over real sockets: GatewayApp in
// front of the fake provider, both on loopback ports.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <latch>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "fake_provider/fake_provider.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/cli/commands.hpp"
#include "gencache/http/server.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache {
namespace {

namespace json = boost::json;
using testing::BodyOf;
using testing::HeaderOf;
using testing::StatusOf;

std::string Post(std::string_view path, std::string_view body, std::string_view headers = "") {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n{}Content-Length: "
      "{}\r\n\r\n{}",
      path, headers, body.size(), body);
}

std::string Get(std::string_view path, std::string_view headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: gw\r\n{}\r\n", path, headers);
}

std::string Seeded(int seed, std::string_view model = "truefusion-pro") {
  return fmt::format(R"({{"model":"{}","input":{{"prompt":"budget test","seed":{}}}}})", model,
                     seed);
}

class BudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("BUDGET_TEST_SKYTELLS_KEY", "sk", 1);
    ::setenv("BUDGET_TEST_KEY_A", "gw-key-a", 1);
    ::setenv("BUDGET_TEST_KEY_B", "gw-key-b", 1);
    ::setenv("BUDGET_TEST_ADMIN", "gw-admin", 1);
    fake_ = std::make_unique<fake_provider::FakeProvider>(fake_provider::FakeProviderOptions{},
                                                          base::SystemClock::Instance());
    auto server = http::Server::Start({.port = 0, .threads = 2}, *fake_);
    ASSERT_TRUE(server.ok());
    fake_server_ = std::move(*server);
    fake_->SetPublicPort(fake_server_->port());
    data_dir_ = std::filesystem::temp_directory_path() /
                fmt::format("gencache-budget-test-{}-{}", ::getpid(), std::random_device{}());
  }

  void TearDown() override {
    gateway_.reset();
    fake_server_->Stop();
    fake_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  void Start(std::string_view extra, const base::Clock& clock = base::SystemClock::Instance()) {
    gateway_.reset();
    auto options =
        config::ParseConfig(fmt::format(R"(
listen: 127.0.0.1:0
data_dir: {}
log_level: error
server: {{threads: 2}}
providers:
  skytells: {{kind: skytells, base_url: http://127.0.0.1:{}/skytells/v1, api_key_env: BUDGET_TEST_SKYTELLS_KEY}}
{}
)",
                                        data_dir_.string(), fake_server_->port(), extra));
    ASSERT_TRUE(options.ok()) << options.status();
    auto app = app::GatewayApp::Start(*options, clock);
    ASSERT_TRUE(app.ok()) << app.status();
    gateway_ = std::move(*app);
  }

  std::string Send(std::string_view request) {
    return testing::RoundTrip(gateway_->port(), request);
  }

  // The admin API's view of the spend, polled until the async writer caught up.
  json::object Summary(std::string_view headers = "", std::int64_t expect_requests = -1) {
    json::object out;
    for (int i = 0; i < 100; ++i) {
      std::string r = Send(Get("/v1/spend/summary?group_by=model", headers));
      EXPECT_EQ(StatusOf(r), 200) << r;
      out = json::parse(BodyOf(r)).as_object();
      if (expect_requests < 0 ||
          out["total"].as_object()["requests"].to_number<std::int64_t>() >= expect_requests) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return out;
  }

  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> fake_server_;
  std::unique_ptr<app::GatewayApp> gateway_;
  std::filesystem::path data_dir_;
};

TEST_F(BudgetTest, ConcurrentRequestsNeverOverspend) {
  Start("budgets: {daily_usd: 1.00}");
  testing::RoundTrip(fake_server_->port(), Post("/_fake/config", R"({"latency_ms":50})"));
  constexpr int kRequests = 1000;
  std::vector<std::string> answers(kRequests);
  std::latch go(kRequests);
  std::vector<std::thread> threads;
  threads.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      answers[i] = Send(Post("/skytells/predict", Seeded(i)));
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  int denied = 0;
  for (const std::string& r : answers) {
    if (StatusOf(r) == 200) {
      ++ok;
      continue;
    }
    ASSERT_EQ(StatusOf(r), 429) << r;
    ++denied;
    EXPECT_EQ(HeaderOf(r, "x-should-retry"), "false");
    EXPECT_GE(std::stoll(HeaderOf(r, "Retry-After")), 1);
    EXPECT_EQ(HeaderOf(r, "X-Gencache-Status"), "denied");
    json::object error = json::parse(BodyOf(r)).as_object()["error"].as_object();
    EXPECT_EQ(error["scope"].as_string(), "daily");
    EXPECT_EQ(error["limit_usd"].to_number<double>(), 1.0);
    EXPECT_NE(std::string(error["message"].as_string()).find("Daily budget exceeded ("),
              std::string::npos);
  }
  EXPECT_EQ(ok, 25);
  EXPECT_EQ(denied, kRequests - 25);
  EXPECT_EQ(fake_->stats().total_creates(), 25);

  json::object summary = Summary("", kRequests);
  json::object total = summary["total"].as_object();
  EXPECT_EQ(total["requests"].to_number<std::int64_t>(), kRequests);
  EXPECT_DOUBLE_EQ(total["cost_usd"].to_number<double>(), 1.0);

  // A cached answer is still served with the budget exhausted, and costs nothing.
  int served = 0;
  while (StatusOf(answers[served]) != 200) ++served;
  std::string hit = Send(Post("/skytells/predict", Seeded(served)));
  EXPECT_EQ(StatusOf(hit), 200) << hit;
  EXPECT_EQ(HeaderOf(hit, "X-Gencache-Status"), "hit") << hit;
  // The spend survives a restart: still exhausted.
  Start("budgets: {daily_usd: 1.00}");
  std::string after = Send(Post("/skytells/predict", Seeded(5000)));
  EXPECT_EQ(StatusOf(after), 429) << after;
  std::string budgets = Send(Get("/v1/budgets"));
  json::object scope = json::parse(BodyOf(budgets)).as_object()["scopes"].as_array()[0].as_object();
  EXPECT_DOUBLE_EQ(scope["spent_usd"].to_number<double>(), 1.0);
  EXPECT_DOUBLE_EQ(scope["reserved_usd"].to_number<double>(), 0.0);
}

TEST_F(BudgetTest, UserLimitDeniesWhileGlobalHasRoom) {
  Start(R"(budgets: {daily_usd: 100, per_user_daily_usd: 0.08}
auth: {trust_user_header: true})");
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(1), "X-Gencache-User: ann\r\n"))), 200);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(2), "X-Gencache-User: ann\r\n"))), 200);
  std::string third = Send(Post("/skytells/predict", Seeded(3), "X-Gencache-User: ann\r\n"));
  EXPECT_EQ(StatusOf(third), 429) << third;
  json::object error = json::parse(BodyOf(third)).as_object()["error"].as_object();
  EXPECT_EQ(error["scope"].as_string(), "user_daily");
  EXPECT_EQ(error["subject"].as_string(), "ann");
  // Another user still has budget.
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(3), "X-Gencache-User: ben\r\n"))), 200);
  EXPECT_EQ(fake_->stats().total_creates(), 3);
}

TEST_F(BudgetTest, ModelLimit) {
  Start("budgets: {per_model_daily_usd: {truefusion-video-pro: 2.00}}");
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(1, "truefusion-video-pro")))), 200);
  std::string second = Send(Post("/skytells/predict", Seeded(2, "truefusion-video-pro")));
  EXPECT_EQ(StatusOf(second), 429) << second;
  EXPECT_NE(BodyOf(second).find("model_daily"), std::string::npos);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(2, "truefusion-pro")))), 200);
}

TEST_F(BudgetTest, FailedCallReleasesItsReservation) {
  Start("budgets: {daily_usd: 0.04}");
  testing::RoundTrip(fake_server_->port(), Post("/_fake/config", R"({"fail_next":1})"));
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(1)))), 500);
  // The hold is gone (released on the blocking pool), so the one call the
  // budget allows still fits.
  std::string ok;
  for (int i = 0; i < 250; ++i) {
    ok = Send(Post("/skytells/predict", Seeded(1)));
    if (StatusOf(ok) != 429) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(StatusOf(ok), 200) << ok;
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(2)))), 429);
}

TEST_F(BudgetTest, UnknownModelsCanBeRejected) {
  Start("pricing: {unknown_model: reject}");
  std::string r = Send(Post("/skytells/predict", Seeded(1, "mystery-model")));
  EXPECT_EQ(StatusOf(r), 400) << r;
  EXPECT_NE(BodyOf(r).find("mystery-model"), std::string::npos);
  EXPECT_EQ(fake_->stats().total_creates(), 0);
}

TEST_F(BudgetTest, GatewayKeysIdentifyUsersAndSeparateTeams) {
  Start(R"(auth:
  admin_key_env: BUDGET_TEST_ADMIN
  keys:
    - {key_env: BUDGET_TEST_KEY_A, user: alice, team: red}
    - {key_env: BUDGET_TEST_KEY_B, user: bob, team: blue})");
  std::string none = Send(Post("/skytells/predict", Seeded(1)));
  EXPECT_EQ(StatusOf(none), 401) << none;
  EXPECT_NE(BodyOf(none).find(R"("status":false)"), std::string::npos);
  std::string a = Send(Post("/skytells/predict", Seeded(1), "x-api-key: gw-key-a\r\n"));
  EXPECT_EQ(HeaderOf(a, "X-Gencache-Status"), "miss");
  // Another team never sees red's entry.
  std::string b = Send(Post("/skytells/predict", Seeded(1), "x-api-key: gw-key-b\r\n"));
  EXPECT_EQ(HeaderOf(b, "X-Gencache-Status"), "miss");
  std::string a2 = Send(Post("/skytells/predict", Seeded(1), "x-api-key: gw-key-a\r\n"));
  EXPECT_EQ(HeaderOf(a2, "X-Gencache-Status"), "hit");

  EXPECT_EQ(StatusOf(Send(Get("/v1/budgets", "Authorization: Bearer gw-key-a\r\n"))), 401);
  Summary("Authorization: Bearer gw-admin\r\n", 3);  // waits for the writer
  std::string users =
      Send(Get("/v1/spend/summary?group_by=user", "Authorization: Bearer gw-admin\r\n"));
  EXPECT_EQ(StatusOf(users), 200);
  json::array rows = json::parse(BodyOf(users)).as_object()["rows"].as_array();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    const json::object& r = row.as_object();
    if (r.at("key").as_string() == "alice") {
      EXPECT_EQ(r.at("requests").to_number<int>(), 2);
      EXPECT_EQ(r.at("hits").to_number<int>(), 1);
      EXPECT_DOUBLE_EQ(r.at("cost_usd").to_number<double>(), 0.04);
      EXPECT_DOUBLE_EQ(r.at("saved_usd").to_number<double>(), 0.04);
    } else {
      EXPECT_EQ(r.at("key").as_string(), "bob");
    }
  }
  std::string series =
      Send(Get("/v1/spend/timeseries?bucket=day", "Authorization: Bearer gw-admin\r\n"));
  ASSERT_EQ(StatusOf(series), 200) << series;
  json::object ts = json::parse(BodyOf(series)).as_object();
  EXPECT_EQ(ts["bucket"].as_string(), "day");
  std::int64_t misses = 0, hits = 0;
  for (const auto& row : ts["rows"].as_array()) {
    const json::object& r = row.as_object();
    EXPECT_EQ(r.at("model").as_string(), "truefusion-pro");
    if (r.at("cache_status").as_string() == "miss") misses += r.at("requests").to_number<int>();
    if (r.at("cache_status").as_string() == "hit") hits += r.at("requests").to_number<int>();
  }
  EXPECT_EQ(misses, 2);
  EXPECT_EQ(hits, 1);
  std::string events =
      Send(Get("/v1/spend/events?user=alice&limit=1", "Authorization: Bearer gw-admin\r\n"));
  EXPECT_EQ(StatusOf(events), 200) << events;
  EXPECT_EQ(json::parse(BodyOf(events)).as_object()["events"].as_array().size(), 1u);
}

// Receives alert webhooks; the first delivery fails, to exercise the retry.
class WebhookReceiver : public http::Handler {
 public:
  void Handle(http::Request request, http::Respond respond) override {
    http::Response response;
    if (calls_.fetch_add(1) == 0) {
      response.status = 500;
    } else {
      std::lock_guard lock(mu_);
      bodies_.push_back(request.body);
    }
    respond(std::move(response));
  }
  http::Response Reject(std::string_view, const absl::Status&) override { return {}; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

TEST_F(BudgetTest, ThresholdAlertsReachTheWebhookOnce) {
  WebhookReceiver receiver;
  auto hook = http::Server::Start({.port = 0, .threads = 1}, receiver);
  ASSERT_TRUE(hook.ok());
  Start(
      fmt::format("budgets: {{daily_usd: 0.08, alert_thresholds: [0.5, 1.0], alert_webhook: "
                  "http://127.0.0.1:{}/hook}}",
                  (*hook)->port()));
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(1)))), 200);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(2)))), 200);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(3)))), 429);
  std::vector<std::string> bodies;
  for (int i = 0; i < 100 && bodies.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    bodies = receiver.bodies();
  }
  ASSERT_EQ(bodies.size(), 2u);
  std::set<double> thresholds;
  for (const std::string& body : bodies) {
    json::object event = json::parse(body).as_object();
    EXPECT_EQ(event["event_type"].as_string(), "budget_threshold");
    EXPECT_EQ(event["scope"].as_string(), "daily");
    thresholds.insert(event["threshold"].to_number<double>());
  }
  EXPECT_EQ(thresholds, (std::set<double>{0.5, 1.0}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(receiver.bodies().size(), 2u);  // once per threshold per window
  gateway_.reset();
  (*hook)->Stop();
}

TEST_F(BudgetTest, DailyWindowRollsOverAtUtcMidnight) {
  base::FakeClock clock(base::SystemTime{std::chrono::sys_days{std::chrono::year{2026} / 11 / 26}} +
                        std::chrono::hours{23} + std::chrono::minutes{59});
  Start("budgets: {daily_usd: 0.04, monthly_usd: 0.08}", clock);
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(1)))), 200);
  std::string denied = Send(Post("/skytells/predict", Seeded(2)));
  ASSERT_EQ(StatusOf(denied), 429) << denied;
  EXPECT_EQ(HeaderOf(denied, "Retry-After"), "60");  // a minute to midnight
  EXPECT_NE(BodyOf(denied).find("2026-11-27T00:00:00Z"), std::string::npos) << denied;
  clock.Advance(std::chrono::minutes{2});
  EXPECT_EQ(StatusOf(Send(Post("/skytells/predict", Seeded(2)))), 200);
  // A day later the daily scope has room, but the month window did not roll
  // over: its limit binds.
  clock.Advance(std::chrono::hours{24});
  std::string monthly = Send(Post("/skytells/predict", Seeded(3)));
  EXPECT_EQ(StatusOf(monthly), 429) << monthly;
  EXPECT_NE(BodyOf(monthly).find("Monthly budget exceeded"), std::string::npos) << monthly;
}

TEST_F(BudgetTest, ReportCommandReadsTheDataDir) {
  Start("budgets: {daily_usd: 10}");
  Send(Post("/skytells/predict", Seeded(1)));
  Send(Post("/skytells/predict", Seeded(1)));
  gateway_.reset();  // a clean shutdown writes every event
  std::string dir = data_dir_.string();
  std::vector<std::string> args = {"gencache", "report", "--data-dir", dir,
                                   "--by",     "model",  "--format",   "json"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  int rc = cli::Main(static_cast<int>(argv.size()), argv.data());
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << out;
  json::object report = json::parse(out).as_object();
  EXPECT_EQ(report["group_by"].as_string(), "model");
  json::object total = report["total"].as_object();
  EXPECT_EQ(total["requests"].to_number<int>(), 2);
  EXPECT_EQ(total["hits"].to_number<int>(), 1);
  EXPECT_DOUBLE_EQ(total["cost_usd"].to_number<double>(), 0.04);
  EXPECT_DOUBLE_EQ(total["saved_usd"].to_number<double>(), 0.04);

  args[7] = "table";
  argv.clear();
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(cli::Main(static_cast<int>(argv.size()), argv.data()), 0);
  std::string table = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(table.find("truefusion-pro"), std::string::npos) << table;
}

}  // namespace
}  // namespace gencache
