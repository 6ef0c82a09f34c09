#include "fake_provider/fake_provider.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gencache/base/sha256.hpp"

namespace gencache::fake_provider {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

const http::HeaderList kSkytellsAuth = {{"x-api-key", "sk-test"}};
const http::HeaderList kBearer = {{"Authorization", "Bearer r8-test"}};

http::Request MakeRequest(std::string method, std::string target, std::string body,
                          http::HeaderList headers) {
  http::Request request;
  request.method = std::move(method);
  request.target = target;
  const std::size_t q = target.find('?');
  request.path = target.substr(0, q);
  request.query = q == std::string::npos ? "" : target.substr(q + 1);
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

// Sends a request and returns a future for the single answer.
std::future<http::Response> Send(FakeProvider& fake, std::string method, std::string target,
                                 std::string body = "", http::HeaderList headers = {}) {
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto future = promise->get_future();
  fake.Handle(
      MakeRequest(std::move(method), std::move(target), std::move(body), std::move(headers)),
      [promise](http::Response r) { promise->set_value(std::move(r)); });
  return future;
}

http::Response Await(std::future<http::Response> future,
                     std::chrono::milliseconds timeout = 5000ms) {
  if (future.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << timeout.count() << " ms";
    http::Response none;
    none.status = 0;
    return none;
  }
  return future.get();
}

http::Response Call(FakeProvider& fake, std::string method, std::string target,
                    std::string body = "", http::HeaderList headers = {}) {
  return Await(
      Send(fake, std::move(method), std::move(target), std::move(body), std::move(headers)));
}

json::object Object(const http::Response& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.Body(), ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << r.Body();
    return {};
  }
  return v.as_object();
}

std::string Str(const json::value& v) { return std::string(v.as_string()); }

// The path and query of an output URL, for a request to the handler.
std::string TargetOf(const std::string& url) {
  const std::size_t scheme = url.find("://");
  return url.substr(url.find('/', scheme + 3));
}

std::vector<std::string> Outputs(const json::object& prediction) {
  std::vector<std::string> urls;
  for (const json::value& v : prediction.at("output").as_array()) urls.push_back(Str(v));
  return urls;
}

class FakeProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<FakeProvider> Make(FakeProviderOptions options = {}) {
    options.public_port = 8080;
    return std::make_unique<FakeProvider>(std::move(options), clock_);
  }

  std::string FileBytes(FakeProvider& fake, const std::string& url) {
    http::Response r = Call(fake, "GET", TargetOf(url));
    EXPECT_EQ(r.status, 200) << url << " " << r.Body();
    EXPECT_EQ(r.content_type, "image/png");
    return std::string(r.Body());
  }

  json::object ReplicateRun(FakeProvider& fake, std::string_view input, int expected = 201) {
    http::Response r = Call(fake, "POST", "/replicate/v1/models/acme/painter/predictions",
                            fmt::format(R"({{"input":{}}})", input), kBearer);
    EXPECT_EQ(r.status, expected) << r.Body();
    return Object(r);
  }

  json::object SkytellsPredict(FakeProvider& fake, std::string_view body, int expected = 200) {
    http::Response r = Call(fake, "POST", "/skytells/v1/predict", std::string(body), kSkytellsAuth);
    EXPECT_EQ(r.status, expected) << r.Body();
    EXPECT_EQ(r.content_type, "application/json");
    return Object(r);
  }

  base::FakeClock clock_;
};

TEST_F(FakeProviderTest, SeededOutputsDependOnlyOnModelPromptAndSeed) {
  auto fake = Make();
  json::object a = ReplicateRun(*fake, R"({"prompt":"a red fox","seed":42,"width":512})");
  json::object b = ReplicateRun(*fake, R"({"prompt":"a red fox","seed":42,"width":1024})");
  json::object c = ReplicateRun(*fake, R"({"prompt":"a red fox","seed":43})");
  ASSERT_EQ(Str(a.at("status")), "succeeded");
  const std::string url_a = Outputs(a).at(0);
  const std::string url_b = Outputs(b).at(0);
  EXPECT_NE(url_a, url_b) << "every prediction gets its own URL";
  EXPECT_EQ(url_a.rfind("http://127.0.0.1:8080/files/", 0), 0u) << url_a;
  EXPECT_NE(url_a.find(".png?expires="), std::string::npos) << url_a;

  const std::string bytes_a = FileBytes(*fake, url_a);
  EXPECT_EQ(bytes_a.substr(0, 8), kPngSignature);
  EXPECT_GE(bytes_a.size(), 1024u);
  EXPECT_EQ(bytes_a, FileBytes(*fake, url_b));
  EXPECT_NE(bytes_a, FileBytes(*fake, Outputs(c).at(0)));

  // Another provider, same (model, prompt, seed): same bytes.
  json::object s = SkytellsPredict(
      *fake, R"({"model":"acme/painter","input":{"prompt":"a red fox","seed":42}})");
  EXPECT_EQ(bytes_a, FileBytes(*fake, Outputs(s).at(0)));
}

TEST_F(FakeProviderTest, UnseededOutputsDifferPerPrediction) {
  auto fake = Make();
  json::object a = ReplicateRun(*fake, R"({"prompt":"a red fox"})");
  json::object b = ReplicateRun(*fake, R"({"prompt":"a red fox"})");
  json::object c = ReplicateRun(*fake, R"({"prompt":"a red fox","seed":-1})");
  const std::string bytes_a = FileBytes(*fake, Outputs(a).at(0));
  EXPECT_EQ(bytes_a.substr(0, 8), kPngSignature);
  EXPECT_NE(bytes_a, FileBytes(*fake, Outputs(b).at(0)));
  EXPECT_NE(bytes_a, FileBytes(*fake, Outputs(c).at(0)));
}

TEST_F(FakeProviderTest, NumOutputsGivesSeveralDistinctImages) {
  auto fake = Make();
  json::object p = ReplicateRun(*fake, R"({"prompt":"x","seed":1,"num_outputs":3})");
  std::vector<std::string> urls = Outputs(p);
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_NE(FileBytes(*fake, urls[0]), FileBytes(*fake, urls[1]));
}

TEST_F(FakeProviderTest, ReplicatePredictionHasTheWireFields) {
  auto fake = Make();
  json::object p = ReplicateRun(*fake, R"({"prompt":"p","seed":5})");
  for (const char* key : {"id", "model", "version", "input", "output", "status", "error", "logs",
                          "metrics", "created_at", "started_at", "completed_at", "urls"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }
  EXPECT_EQ(Str(p.at("model")), "acme/painter");
  EXPECT_EQ(p.at("input").at("seed").as_int64(), 5);
  EXPECT_TRUE(p.at("error").is_null());
  const std::string get = Str(p.at("urls").at("get"));
  EXPECT_EQ(get, "http://127.0.0.1:8080/replicate/v1/predictions/" + Str(p.at("id")));
  EXPECT_EQ(Str(p.at("urls").at("cancel")), get + "/cancel");

  // The same by version, and through POST /predictions with a model.
  http::Response r = Call(*fake, "POST", "/replicate/v1/predictions",
                          R"({"version":"acme/painter:abc123","input":{"prompt":"p"}})", kBearer);
  EXPECT_EQ(r.status, 201) << r.Body();
  EXPECT_EQ(Str(Object(r).at("version")), "abc123");
  EXPECT_EQ(Str(Object(r).at("model")), "acme/painter");
}

TEST_F(FakeProviderTest, SkytellsPredictionHasTheWireFields) {
  auto fake = Make();
  json::object p =
      SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p","seed":1}})");
  EXPECT_EQ(Str(p.at("status")), "succeeded");
  EXPECT_EQ(Str(p.at("model").at("name")), "truefusion");
  EXPECT_EQ(p.at("metrics").at("image_count").to_number<int>(), 1);
  EXPECT_DOUBLE_EQ(p.at("metadata").at("billing").at("credits_used").to_number<double>(), 0.02);
  const std::string get = Str(p.at("urls").at("get"));
  EXPECT_EQ(get, "http://127.0.0.1:8080/skytells/v1/predictions/" + Str(p.at("id")));
  EXPECT_EQ(Str(p.at("urls").at("delete")), get + "/delete");
  EXPECT_EQ(Str(p.at("id")).size(), 36u) << "a UUID";

  // POST /predictions is an alias of POST /predict.
  http::Response r = Call(*fake, "POST", "/skytells/v1/predictions",
                          R"({"model":"truefusion","input":{"prompt":"p"}})", kSkytellsAuth);
  EXPECT_EQ(r.status, 200) << r.Body();
}

TEST_F(FakeProviderTest, AsyncReplicateStatusProgressesWithTime) {
  auto fake = Make({.latency = 1000ms, .async = true, .async_steps = 2});
  json::object created = ReplicateRun(*fake, R"({"prompt":"p","seed":3})");
  EXPECT_EQ(Str(created.at("status")), "starting");
  EXPECT_TRUE(created.at("output").is_null());
  const std::string target = "/replicate/v1/predictions/" + Str(created.at("id"));

  auto poll = [&] {
    http::Response r = Call(*fake, "GET", target, "", kBearer);
    EXPECT_EQ(r.status, 200) << r.Body();
    return Object(r);
  };
  EXPECT_EQ(Str(poll().at("status")), "starting");
  clock_.Advance(600ms);
  json::object processing = poll();
  EXPECT_EQ(Str(processing.at("status")), "processing");
  EXPECT_TRUE(processing.at("output").is_null());
  EXPECT_FALSE(processing.at("started_at").is_null());
  clock_.Advance(500ms);
  json::object done = poll();
  EXPECT_EQ(Str(done.at("status")), "succeeded");
  ASSERT_EQ(Outputs(done).size(), 1u);
  EXPECT_FALSE(done.at("completed_at").is_null());
  EXPECT_EQ(fake->stats().polls[static_cast<int>(Provider::kReplicate)], 3);
}

TEST_F(FakeProviderTest, AsyncSkytellsStatusProgressesWithTime) {
  auto fake = Make({.latency = 900ms, .async = true, .async_steps = 3});
  json::object created =
      SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p","seed":3}})");
  EXPECT_EQ(Str(created.at("status")), "pending");
  const std::string target = "/skytells/v1/predictions/" + Str(created.at("id"));
  auto status = [&] {
    return Str(Object(Call(*fake, "GET", target, "", kSkytellsAuth)).at("status"));
  };
  EXPECT_EQ(status(), "pending");
  clock_.Advance(400ms);
  EXPECT_EQ(status(), "processing");
  clock_.Advance(400ms);
  EXPECT_EQ(status(), "processing");
  clock_.Advance(100ms);
  EXPECT_EQ(status(), "succeeded");
}

TEST_F(FakeProviderTest, AsyncCreateAnswersStartingEvenWithZeroLatency) {
  auto fake = Make({.latency = 0ms, .async = true});
  json::object created = ReplicateRun(*fake, R"({"prompt":"p"})");
  EXPECT_EQ(Str(created.at("status")), "starting");
  json::object polled =
      Object(Call(*fake, "GET", "/replicate/v1/predictions/" + Str(created.at("id")), "", kBearer));
  EXPECT_EQ(Str(polled.at("status")), "succeeded");
}

TEST_F(FakeProviderTest, PreferWaitHoldsAnAsyncCreateUntilDone) {
  auto fake = Make({.latency = 150ms, .async = true});
  const auto start = std::chrono::steady_clock::now();
  http::Response r = Call(*fake, "POST", "/replicate/v1/models/acme/painter/predictions",
                          R"({"input":{"prompt":"p","seed":1}})",
                          {{"Authorization", "Bearer k"}, {"Prefer", "wait"}});
  EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
  ASSERT_EQ(r.status, 201) << r.Body();
  json::object p = Object(r);
  EXPECT_EQ(Str(p.at("status")), "succeeded");
  // A poll right after never shows an older state than the held answer did,
  // although the (fake) wall clock has not moved.
  json::object polled =
      Object(Call(*fake, "GET", "/replicate/v1/predictions/" + Str(p.at("id")), "", kBearer));
  EXPECT_EQ(Str(polled.at("status")), "succeeded");
}

TEST_F(FakeProviderTest, PreferWaitGivesUpAfterItsLimit) {
  auto fake = Make({.latency = 60'000ms, .async = true});
  const auto start = std::chrono::steady_clock::now();
  http::Response r =
      Call(*fake, "POST", "/replicate/v1/models/acme/painter/predictions",
           R"({"input":{"prompt":"p"}})", {{"Authorization", "Bearer k"}, {"Prefer", "wait=1"}});
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  EXPECT_EQ(Str(Object(r).at("status")), "starting");
}

TEST_F(FakeProviderTest, SkytellsAwaitHoldsAnAsyncCreateUntilDone) {
  auto fake = Make({.latency = 100ms, .async = true});
  json::object p =
      SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"},"await":true})");
  EXPECT_EQ(Str(p.at("status")), "succeeded");
}

TEST_F(FakeProviderTest, SyncLatencyDelaysManyAnswersWithoutBlocking) {
  auto fake = Make({.latency = 1000ms});
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<http::Response>> answers;
  for (int i = 0; i < 200; ++i) {
    answers.push_back(Send(*fake, "POST", "/replicate/v1/models/acme/painter/predictions",
                           R"({"input":{"prompt":"p","seed":9}})", kBearer));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms) << "Handle must not block";
  for (auto& answer : answers) {
    http::Response r = Await(std::move(answer));
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(Str(Object(r).at("status")), "succeeded");
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 10s) << "answers are delayed together, not one after another";
  EXPECT_EQ(fake->stats().creates[static_cast<int>(Provider::kReplicate)], 200);
}

TEST_F(FakeProviderTest, MissingCredentialsGetEachProvidersErrorShape) {
  auto fake = Make();
  http::Response s = Call(*fake, "POST", "/skytells/v1/predict", R"({"model":"m","input":{}})");
  EXPECT_EQ(s.status, 401);
  EXPECT_EQ(s.content_type, "application/json");
  json::object so = Object(s);
  EXPECT_EQ(so.at("status").as_bool(), false);
  EXPECT_EQ(so.at("error").at("http_status").to_number<int>(), 401);
  EXPECT_EQ(Str(so.at("error").at("error_id")), "UNAUTHORIZED");
  EXPECT_TRUE(so.at("error").as_object().contains("message"));
  EXPECT_TRUE(so.at("error").as_object().contains("details"));
  EXPECT_EQ(Call(*fake, "GET", "/skytells/v1/models", "", {{"x-api-key", ""}}).status, 401);

  http::Response r = Call(*fake, "GET", "/replicate/v1/predictions/abc", "",
                          {{"Authorization", "Basic dXNlcjpwdw=="}});
  EXPECT_EQ(r.status, 401);
  json::object ro = Object(r);
  EXPECT_EQ(Str(ro.at("title")), "Unauthenticated");
  EXPECT_EQ(ro.at("status").to_number<int>(), 401);
  EXPECT_TRUE(ro.contains("detail"));

  http::Response o = Call(*fake, "POST", "/openai/v1/images/generations", R"({"prompt":"p"})",
                          {{"Authorization", "Bearer "}});
  EXPECT_EQ(o.status, 401);
  json::object oo = Object(o);
  EXPECT_EQ(Str(oo.at("error").at("code")), "invalid_api_key");
  EXPECT_TRUE(oo.at("error").as_object().contains("type"));

  EXPECT_EQ(fake->stats().total_creates(), 0) << "refused requests are not creates";
}

TEST_F(FakeProviderTest, StatsCountCreatesAndPollsPerProviderAndResetZeroesThem) {
  auto fake = Make();
  json::object p = ReplicateRun(*fake, R"({"prompt":"p"})");
  ReplicateRun(*fake, R"({"prompt":"p"})");
  SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})");
  Call(*fake, "POST", "/openai/v1/images/generations", R"({"prompt":"p"})", kBearer);
  Call(*fake, "GET", "/replicate/v1/predictions/" + Str(p.at("id")), "", kBearer);

  json::object stats = Object(Call(*fake, "GET", "/_fake/stats"));
  EXPECT_EQ(stats.at("total_creates").to_number<int>(), 4);
  EXPECT_EQ(stats.at("creates").at("replicate").to_number<int>(), 2);
  EXPECT_EQ(stats.at("creates").at("skytells").to_number<int>(), 1);
  EXPECT_EQ(stats.at("creates").at("openai").to_number<int>(), 1);
  EXPECT_EQ(stats.at("polls").at("replicate").to_number<int>(), 1);
  EXPECT_EQ(stats.at("total_polls").to_number<int>(), 1);

  EXPECT_EQ(Call(*fake, "POST", "/_fake/reset").status, 200);
  stats = Object(Call(*fake, "GET", "/_fake/stats"));
  EXPECT_EQ(stats.at("total_creates").to_number<int>(), 0);
  EXPECT_EQ(stats.at("total_polls").to_number<int>(), 0);
}

TEST_F(FakeProviderTest, FailNextFailsExactlyThatManyCreatesInTheProvidersShape) {
  auto fake = Make();
  http::Response config =
      Call(*fake, "POST", "/_fake/config", R"({"fail_next":2,"fail_status":503})");
  ASSERT_EQ(config.status, 200) << config.Body();
  EXPECT_EQ(Object(config).at("fail_next").to_number<int>(), 2);

  http::Response first = Call(*fake, "POST", "/skytells/v1/predict",
                              R"({"model":"truefusion","input":{"prompt":"p"}})", kSkytellsAuth);
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(Object(first).at("error").at("http_status").to_number<int>(), 503);
  http::Response second = Call(*fake, "POST", "/replicate/v1/models/a/b/predictions",
                               R"({"input":{"prompt":"p"}})", kBearer);
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(Object(second).at("status").to_number<int>(), 503);
  SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})", 200);

  json::object stats = Object(Call(*fake, "GET", "/_fake/stats"));
  EXPECT_EQ(stats.at("failures_injected").to_number<int>(), 2);
  EXPECT_EQ(stats.at("total_creates").to_number<int>(), 3) << "failed creates still count";
}

TEST_F(FakeProviderTest, FailModePredictionAnswersAFailedPrediction) {
  auto fake = Make();
  ASSERT_EQ(
      Call(*fake, "POST", "/_fake/config", R"({"fail_next":2,"fail_mode":"prediction"})").status,
      200);
  json::object r = ReplicateRun(*fake, R"({"prompt":"p","seed":1})");
  EXPECT_EQ(Str(r.at("status")), "failed");
  EXPECT_TRUE(r.at("output").is_null());
  EXPECT_FALSE(r.at("error").is_null());
  json::object s = SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})");
  EXPECT_EQ(Str(s.at("status")), "failed");
}

TEST_F(FakeProviderTest, FailModePredictionInAsyncModeFailsAtTheEnd) {
  auto fake = Make({.latency = 100ms, .async = true});
  Call(*fake, "POST", "/_fake/config", R"({"fail_next":1,"fail_mode":"prediction"})");
  json::object created = ReplicateRun(*fake, R"({"prompt":"p"})");
  EXPECT_EQ(Str(created.at("status")), "starting");
  clock_.Advance(200ms);
  json::object polled =
      Object(Call(*fake, "GET", "/replicate/v1/predictions/" + Str(created.at("id")), "", kBearer));
  EXPECT_EQ(Str(polled.at("status")), "failed");
}

TEST_F(FakeProviderTest, FailModeHangNeverAnswersUntilReset) {
  auto fake = Make();
  ASSERT_EQ(Call(*fake, "POST", "/_fake/config", R"({"fail_next":1,"fail_mode":"hang"})").status,
            200);
  auto hung = Send(*fake, "POST", "/skytells/v1/predict",
                   R"({"model":"truefusion","input":{"prompt":"p"}})", kSkytellsAuth);
  EXPECT_EQ(hung.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(Object(Call(*fake, "GET", "/_fake/stats")).at("hung").to_number<int>(), 1);
  // The next create is not affected.
  SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})", 200);
  Call(*fake, "POST", "/_fake/reset");
  http::Response released = Await(std::move(hung));
  EXPECT_EQ(released.status, 503);
  EXPECT_EQ(Object(released).at("status").as_bool(), false);
}

TEST_F(FakeProviderTest, ConfigRejectsBadInputAtomically) {
  auto fake = Make();
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"latency_ms":5,"bogus":1})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"fail_mode":"close"})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"fail_status":200})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"async":"yes"})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", "[]").status, 400);
  json::object config = Object(Call(*fake, "GET", "/_fake/config"));
  EXPECT_EQ(config.at("latency_ms").to_number<int>(), 0) << "nothing applied from a bad request";

  http::Response ok = Call(*fake, "POST", "/_fake/config",
                           R"({"latency_ms":0,"async":true,"async_steps":3,"url_ttl_ms":1000})");
  ASSERT_EQ(ok.status, 200);
  config = Object(ok);
  EXPECT_EQ(config.at("async").as_bool(), true);
  EXPECT_EQ(config.at("async_steps").to_number<int>(), 3);
  EXPECT_EQ(Str(ReplicateRun(*fake, R"({"prompt":"p"})").at("status")), "starting");
}

TEST_F(FakeProviderTest, OutputUrlsExpireAfterTheirTtl) {
  auto fake = Make({.url_ttl = 1h});
  const std::string url = Outputs(ReplicateRun(*fake, R"({"prompt":"p","seed":1})")).at(0);
  EXPECT_EQ(Call(*fake, "GET", TargetOf(url)).status, 200);
  clock_.Advance(1h - 1s);
  EXPECT_EQ(Call(*fake, "GET", TargetOf(url)).status, 200);
  clock_.Advance(2s);
  http::Response expired = Call(*fake, "GET", TargetOf(url));
  EXPECT_EQ(expired.status, 404);
  EXPECT_EQ(Call(*fake, "GET", "/files/0123456789abcdef.png").status, 404);
  json::object stats = Object(Call(*fake, "GET", "/_fake/stats"));
  EXPECT_EQ(stats.at("file_gets").to_number<int>(), 2);
  EXPECT_EQ(stats.at("file_misses").to_number<int>(), 2);

  // A runtime TTL applies to URLs issued afterwards.
  Call(*fake, "POST", "/_fake/config", R"({"url_ttl_ms":500})");
  const std::string short_url = Outputs(ReplicateRun(*fake, R"({"prompt":"p","seed":1})")).at(0);
  clock_.Advance(501ms);
  EXPECT_EQ(Call(*fake, "GET", TargetOf(short_url)).status, 404);
}

TEST_F(FakeProviderTest, OpenAiImagesReturnUrlsOrBase64) {
  auto fake = Make();
  http::Response r = Call(*fake, "POST", "/openai/v1/images/generations",
                          R"({"model":"dall-e-3","prompt":"a cat","n":2,"seed":7})", kBearer);
  ASSERT_EQ(r.status, 200) << r.Body();
  json::object o = Object(r);
  EXPECT_TRUE(o.at("created").is_int64());
  ASSERT_EQ(o.at("data").as_array().size(), 2u);
  const std::string first = Str(o.at("data").as_array()[0].at("url"));

  http::Response b = Call(*fake, "POST", "/openai/v1/images/generations",
                          R"({"model":"dall-e-3","prompt":"a cat","seed":7,
                              "response_format":"b64_json"})",
                          kBearer);
  ASSERT_EQ(b.status, 200) << b.Body();
  std::string decoded;
  ASSERT_TRUE(
      absl::Base64Unescape(Str(Object(b).at("data").as_array()[0].at("b64_json")), &decoded));
  EXPECT_EQ(decoded, FileBytes(*fake, first));

  EXPECT_EQ(Call(*fake, "POST", "/openai/v1/images/generations", R"({"n":1})", kBearer).status,
            400);
  EXPECT_EQ(Call(*fake, "POST", "/openai/v1/chat/completions", "{}", kBearer).status, 404);
}

TEST_F(FakeProviderTest, OpenAiLatencyAndInjectedFailures) {
  auto fake = Make({.latency = 100ms});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      Call(*fake, "POST", "/openai/v1/images/generations", R"({"prompt":"p"})", kBearer).status,
      200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  Call(*fake, "POST", "/_fake/config", R"({"fail_next":1,"fail_status":429})");
  http::Response failed =
      Call(*fake, "POST", "/openai/v1/images/generations", R"({"prompt":"p"})", kBearer);
  EXPECT_EQ(failed.status, 429);
  EXPECT_EQ(Str(Object(failed).at("error").at("code")), "rate_limit_exceeded");
}

TEST_F(FakeProviderTest, CancelStopsARunningPrediction) {
  auto fake = Make({.latency = 1000ms, .async = true});
  json::object r = ReplicateRun(*fake, R"({"prompt":"p"})");
  const std::string target = "/replicate/v1/predictions/" + Str(r.at("id"));
  json::object canceled = Object(Call(*fake, "POST", target + "/cancel", "", kBearer));
  EXPECT_EQ(Str(canceled.at("status")), "canceled");
  clock_.Advance(2s);
  EXPECT_EQ(Str(Object(Call(*fake, "GET", target, "", kBearer)).at("status")), "canceled");

  json::object s = SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})");
  const std::string sk = "/skytells/v1/predictions/" + Str(s.at("id"));
  EXPECT_EQ(Str(Object(Call(*fake, "POST", sk + "/cancel", "", kSkytellsAuth)).at("status")),
            "cancelled");
  EXPECT_EQ(fake->stats().cancels, 2);
}

TEST_F(FakeProviderTest, CancelOfAFinishedPredictionChangesNothing) {
  auto fake = Make();
  json::object r = ReplicateRun(*fake, R"({"prompt":"p"})");
  json::object after = Object(
      Call(*fake, "POST", "/replicate/v1/predictions/" + Str(r.at("id")) + "/cancel", "", kBearer));
  EXPECT_EQ(Str(after.at("status")), "succeeded");
}

TEST_F(FakeProviderTest, SkytellsDeleteRemovesThePrediction) {
  auto fake = Make();
  json::object s = SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})");
  const std::string target = "/skytells/v1/predictions/" + Str(s.at("id"));
  EXPECT_EQ(Call(*fake, "DELETE", target + "/delete", "", kSkytellsAuth).status, 200);
  http::Response gone = Call(*fake, "GET", target, "", kSkytellsAuth);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Str(Object(gone).at("error").at("error_id")), "NOT_FOUND");
  EXPECT_EQ(Call(*fake, "DELETE", target + "/delete", "", kSkytellsAuth).status, 404);
}

TEST_F(FakeProviderTest, PredictionsAreNotVisibleThroughTheOtherProvider) {
  auto fake = Make();
  json::object s = SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})");
  EXPECT_EQ(Call(*fake, "GET", "/replicate/v1/predictions/" + Str(s.at("id")), "", kBearer).status,
            404);
}

TEST_F(FakeProviderTest, ReplicateStreamSendsOutputsAsServerSentEvents) {
  auto fake = Make();
  json::object r = ReplicateRun(*fake, R"({"prompt":"p","seed":2})");
  http::Response stream = Call(*fake, "GET", TargetOf(Str(r.at("urls").at("stream"))), "", kBearer);
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(stream.content_type, "text/event-stream");
  const std::string body(stream.Body());
  EXPECT_NE(body.find("event: output\n"), std::string::npos) << body;
  EXPECT_NE(body.find(Outputs(r).at(0)), std::string::npos) << body;
  EXPECT_NE(body.find("event: done\n"), std::string::npos) << body;
}

TEST_F(FakeProviderTest, BadRequestsGetProviderShapedErrors) {
  auto fake = Make();
  EXPECT_EQ(Call(*fake, "POST", "/skytells/v1/predict", "not json", kSkytellsAuth).status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/skytells/v1/predict", R"({"input":{}})", kSkytellsAuth).status,
            400);
  EXPECT_EQ(Call(*fake, "POST", "/replicate/v1/predictions", R"({"input":{}})", kBearer).status,
            422);
  EXPECT_EQ(Call(*fake, "POST", "/replicate/v1/models/a/b/predictions", "{}", kBearer).status, 422);
  EXPECT_EQ(Call(*fake, "GET", "/replicate/v1/nothing", "", kBearer).status, 404);
  EXPECT_EQ(Call(*fake, "GET", "/elsewhere").status, 404);
  EXPECT_EQ(Call(*fake, "GET", "/skytells/v1x/predict", "", kSkytellsAuth).status, 404);
  EXPECT_EQ(fake->stats().total_creates(), 0);
}

TEST_F(FakeProviderTest, ModelRoutes) {
  auto fake = Make();
  http::Response models = Call(*fake, "GET", "/skytells/v1/models", "", kSkytellsAuth);
  ASSERT_EQ(models.status, 200);
  boost::json::value list = boost::json::parse(models.Body());
  ASSERT_TRUE(list.is_array());
  EXPECT_GE(list.as_array().size(), 3u);
  EXPECT_TRUE(list.as_array()[0].as_object().contains("pricing"));

  http::Response model = Call(*fake, "GET", "/replicate/v1/models/acme/painter", "", kBearer);
  ASSERT_EQ(model.status, 200);
  EXPECT_EQ(Str(Object(model).at("owner")), "acme");
  EXPECT_TRUE(Object(model).at("latest_version").as_object().contains("id"));
}

TEST_F(FakeProviderTest, RejectUsesTheProviderShapeOfTheTarget) {
  auto fake = Make();
  http::Response s = fake->Reject("/skytells/v1/predict", absl::InvalidArgumentError("bad frame"));
  EXPECT_EQ(Object(s).at("status").as_bool(), false);
  http::Response r = fake->Reject("/replicate/v1/predictions", absl::InvalidArgumentError("x"));
  EXPECT_TRUE(Object(r).contains("title"));
  http::Response o = fake->Reject("/openai/v1/images/generations", absl::InvalidArgumentError("x"));
  EXPECT_TRUE(Object(o).contains("error"));
  EXPECT_GE(s.status, 400);
}

TEST_F(FakeProviderTest, DestructionAnswersHeldRequests) {
  std::future<http::Response> held;
  {
    auto fake = Make({.latency = 3'600'000ms});
    held = Send(*fake, "POST", "/replicate/v1/models/a/b/predictions",
                R"({"input":{"prompt":"p"}})", kBearer);
    EXPECT_EQ(held.wait_for(50ms), std::future_status::timeout);
  }
  EXPECT_EQ(held.wait_for(0ms), std::future_status::ready);
}

TEST_F(FakeProviderTest, DrainAnswersEverythingAndRefusesNewWork) {
  auto fake = Make({.latency = 3'600'000ms});
  auto held = Send(*fake, "POST", "/replicate/v1/models/a/b/predictions",
                   R"({"input":{"prompt":"p"}})", kBearer);
  Call(*fake, "POST", "/_fake/config", R"({"fail_next":1,"fail_mode":"hang"})");
  auto hung = Send(*fake, "POST", "/skytells/v1/predict",
                   R"({"model":"truefusion","input":{"prompt":"p"}})", kSkytellsAuth);
  EXPECT_EQ(held.wait_for(20ms), std::future_status::timeout);
  fake->Drain();
  EXPECT_EQ(held.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(Await(std::move(hung)).status, 503);
  http::Response after = Call(*fake, "POST", "/replicate/v1/models/a/b/predictions",
                              R"({"input":{"prompt":"p"}})", kBearer);
  EXPECT_EQ(after.status, 503);
  EXPECT_EQ(Object(after).at("status").to_number<int>(), 503) << "Replicate's error shape";
}

// The reference definition of OutputBytes, written the slow, obvious way.
std::string ReferenceOutputBytes(std::string_view key, std::size_t size) {
  std::string bytes(kPngSignature.substr(0, std::min<std::size_t>(size, 8)));
  for (std::uint64_t block = 0; bytes.size() < size; ++block) {
    const std::string hex = base::Sha256Hex(fmt::format("{}\n{}", key, block));
    for (std::size_t i = 0; i + 1 < hex.size() && bytes.size() < size; i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
  }
  return bytes;
}

TEST_F(FakeProviderTest, OutputBytesMatchTheReferenceAtEverySize) {
  for (std::size_t size : {1u, 7u, 8u, 9u, 39u, 40u, 41u, 4096u, 100'000u}) {
    EXPECT_EQ(OutputBytes("model\x1fprompt\x1f"
                          "7\x1f"
                          "0",
                          size),
              ReferenceOutputBytes("model\x1fprompt\x1f"
                                   "7\x1f"
                                   "0",
                                   size))
        << size;
  }
  EXPECT_EQ(OutputBytes("k"), ReferenceOutputBytes("k", 4096)) << "the default stays 4 KiB";
}

TEST_F(FakeProviderTest, OutputBytesConfigSizesLaterOutputs) {
  auto fake = Make();
  const std::string small = Outputs(ReplicateRun(*fake, R"({"prompt":"p","seed":5})")).at(0);
  http::Response set = Call(*fake, "POST", "/_fake/config", R"({"output_bytes":3000000})");
  ASSERT_EQ(set.status, 200) << set.Body();
  EXPECT_EQ(Object(set).at("output_bytes").to_number<std::int64_t>(), 3'000'000);
  const std::string big = Outputs(ReplicateRun(*fake, R"({"prompt":"p","seed":5})")).at(0);
  const std::string again = Outputs(ReplicateRun(*fake, R"({"prompt":"p","seed":5})")).at(0);

  const std::string small_bytes = FileBytes(*fake, small);
  EXPECT_EQ(small_bytes.size(), 4096u) << "URLs issued before keep their size";
  const std::string big_bytes = FileBytes(*fake, big);
  ASSERT_EQ(big_bytes.size(), 3'000'000u);
  EXPECT_EQ(big_bytes.substr(0, 4096), small_bytes) << "same key: a longer output extends";
  EXPECT_EQ(FileBytes(*fake, again), big_bytes) << "same seeded request: identical bytes";
  EXPECT_EQ(FileBytes(*fake, big), big_bytes) << "served again from the kept body";

  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_bytes":0})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_bytes":1073741825})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_bytes":"1"})").status, 400);
}

TEST_F(FakeProviderTest, OutputUrlsReplaceTheFakesOwn) {
  auto fake = Make();
  http::Response set = Call(*fake, "POST", "/_fake/config",
                            R"({"output_urls":["http://169.254.169.254/x","file:///etc/passwd"]})");
  ASSERT_EQ(set.status, 200) << set.Body();
  EXPECT_EQ(Object(set).at("output_urls").as_array().size(), 2u);
  const std::vector<std::string> expected = {"http://169.254.169.254/x", "file:///etc/passwd"};
  EXPECT_EQ(Outputs(ReplicateRun(*fake, R"({"prompt":"p","num_outputs":4})")), expected);
  EXPECT_EQ(Outputs(SkytellsPredict(*fake, R"({"model":"truefusion","input":{"prompt":"p"}})")),
            expected);
  http::Response openai =
      Call(*fake, "POST", "/openai/v1/images/generations", R"({"prompt":"p","n":1})", kBearer);
  json::array data = Object(openai).at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(Str(data[1].at("url")), "file:///etc/passwd");

  ASSERT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_urls":[]})").status, 200);
  EXPECT_EQ(Outputs(ReplicateRun(*fake, R"({"prompt":"p"})")).at(0).rfind("http://127.0.0.1", 0),
            0u);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_urls":"http://x"})").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/_fake/config", R"({"output_urls":[1]})").status, 400);
}

TEST_F(FakeProviderTest, RedirectRouteAnswers302) {
  auto fake = Make();
  http::Response r =
      Call(*fake, "GET", "/redirect?to=http%3A%2F%2F127.0.0.2%3A9%2Ffiles%2Fx.png%3Fa%3D1%26b%3D2");
  EXPECT_EQ(r.status, 302);
  auto location = http::FindHeader(r.headers, "location");
  ASSERT_TRUE(location);
  EXPECT_EQ(*location, "http://127.0.0.2:9/files/x.png?a=1&b=2");
  EXPECT_EQ(Call(*fake, "GET", "/redirect").status, 400);
  EXPECT_EQ(Call(*fake, "POST", "/redirect?to=x").status, 400);
  EXPECT_EQ(Object(Call(*fake, "GET", "/_fake/stats")).at("redirects").to_number<int>(), 1);
}

}  // namespace
}  // namespace gencache::fake_provider
