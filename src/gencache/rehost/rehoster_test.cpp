#include "gencache/rehost/rehoster.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "gencache/base/sha256.hpp"
#include "gencache/rehost/rehost_test_util.hpp"
#include "gencache/rehost/url_expiry.hpp"

namespace gencache::rehost {
namespace {

namespace json = boost::json;
using providers::ProviderKind;
using testing::HttpHead;
using testing::Pattern;
using testing::RawServer;

constexpr std::string_view kFiles = "https://cdn.example.com/files/";

class RehosterTest : public testing::RehostFixture {
 protected:
  void SetUp() override {
    RehostFixture::SetUp();
    policy_ = std::make_unique<UrlPolicy>(Policy());
    fetcher_ = std::make_unique<OutputFetcher>(*policy_, FetchOptions{});
    rehoster_ = std::make_unique<Rehoster>(*store_, *fetcher_);
  }
  void TearDown() override {
    rehoster_.reset();
    fetcher_.reset();
    policy_.reset();
    RehostFixture::TearDown();
  }

  RehostResult Rehost(ProviderKind kind, std::string_view body) {
    return rehoster_->Rehost(kind, body, kFiles);
  }

  // The bytes the fake serves at `url` (through its handler).
  std::string Served(const std::string& url) {
    http::Response r = Call("GET", url.substr(base_.size()));
    EXPECT_EQ(r.status, 200);
    return std::string(r.Body());
  }

  std::unique_ptr<UrlPolicy> policy_;
  std::unique_ptr<OutputFetcher> fetcher_;
  std::unique_ptr<Rehoster> rehoster_;
};

TEST_F(RehosterTest, RehostsSkytellsOutputsAndRewritesOnlyTheUrls) {
  const std::string body = SkytellsPredict(R"({"prompt":"two foxes","seed":3,"num_outputs":2})");
  const std::vector<std::string> urls = OutputsOf(body);
  ASSERT_EQ(urls.size(), 2u);
  const std::string sha0 = base::Sha256Hex(Served(urls[0]));
  const std::string sha1 = base::Sha256Hex(Served(urls[1]));

  RehostResult result = Rehost(ProviderKind::kSkytells, body);
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.outputs, 2);
  EXPECT_EQ(result.blobs, (std::vector<std::string>{sha0, sha1}));
  EXPECT_EQ(result.bytes, 2 * 4096u);
  EXPECT_EQ(OutputsOf(result.body),
            (std::vector<std::string>{fmt::format("{}{}.png", kFiles, sha0),
                                      fmt::format("{}{}.png", kFiles, sha1)}));
  // Every other byte as the provider sent it.
  std::string expected = body;
  for (std::size_t i = 0; i < 2; ++i) {
    expected.replace(expected.find(urls[i]), urls[i].size(),
                     fmt::format("{}{}.png", kFiles, result.blobs[i]));
  }
  EXPECT_EQ(result.body, expected);
  // The fake's URLs carry ?expires=: the earliest is reported for TTL capping.
  ASSERT_TRUE(result.earliest_expiry);
  EXPECT_EQ(result.earliest_expiry, std::min(*UrlExpiry(urls[0]), *UrlExpiry(urls[1])));
  EXPECT_EQ(StoredBlobs().size(), 2u);
  EXPECT_EQ(SpoolFiles(), 0);
  EXPECT_EQ(rehoster_->stats().outputs_stored, 2u);
}

TEST_F(RehosterTest, IdenticalBytesFromTwoUrlsAreStoredOnce) {
  // Two predictions of the same seeded request: two URLs, identical bytes.
  const std::string a = OutputsOf(SkytellsPredict(R"({"prompt":"fox","seed":9})")).at(0);
  const std::string b = OutputsOf(SkytellsPredict(R"({"prompt":"fox","seed":9})")).at(0);
  ASSERT_NE(a, b);
  Configure(json::serialize(json::object{{"output_urls", json::array{a, b}}}));
  const std::string body = SkytellsPredict(R"({"prompt":"anything"})");

  RehostResult result = Rehost(ProviderKind::kSkytells, body);
  ASSERT_TRUE(result.ok()) << result.status;
  ASSERT_EQ(result.blobs.size(), 1u);
  EXPECT_EQ(result.bytes, 4096u);
  const std::string permanent = fmt::format("{}{}.png", kFiles, result.blobs[0]);
  EXPECT_EQ(OutputsOf(result.body), (std::vector<std::string>{permanent, permanent}));
  EXPECT_EQ(StoredBlobs().size(), 1u);
  EXPECT_EQ(Stats().file_gets, 2) << "two URLs, two downloads";
}

TEST_F(RehosterTest, TheSameUrlIsDownloadedOnce) {
  const std::string a = OutputsOf(SkytellsPredict(R"({"prompt":"fox","seed":9})")).at(0);
  Configure(json::serialize(json::object{{"output_urls", json::array{a, a, a}}}));
  RehostResult result = Rehost(ProviderKind::kSkytells, SkytellsPredict(R"({"prompt":"x"})"));
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.outputs, 1);
  EXPECT_EQ(OutputsOf(result.body).size(), 3u);
  EXPECT_EQ(Stats().file_gets, 1);
}

TEST_F(RehosterTest, ReplicateNestedOutputsAndOpenAiData) {
  const std::string url = OutputsOf(SkytellsPredict(R"({"prompt":"fox","seed":1})")).at(0);
  const std::string sha = base::Sha256Hex(Served(url));
  const std::string replicate = json::serialize(json::object{
      {"id", "r1"},
      {"status", "succeeded"},
      {"input", {{"prompt", "fox"}}},
      {"output", {{"frames", json::array{url}}, {"caption", "a fox"}}},
  });
  RehostResult r = Rehost(ProviderKind::kReplicate, replicate);
  ASSERT_TRUE(r.ok()) << r.status;
  json::value v = json::parse(r.body);
  EXPECT_EQ(v.at("output").at("frames").at(0).as_string(), fmt::format("{}{}.png", kFiles, sha));
  EXPECT_EQ(v.at("output").at("caption").as_string(), "a fox");

  http::Response openai =
      Call("POST", "/openai/v1/images/generations", R"({"prompt":"fox","n":2,"seed":4})",
           {{"Authorization", "Bearer k"}});
  ASSERT_EQ(openai.status, 200);
  RehostResult o = Rehost(ProviderKind::kOpenAI, openai.Body());
  ASSERT_TRUE(o.ok()) << o.status;
  EXPECT_EQ(o.blobs.size(), 2u);
  json::value ov = json::parse(o.body);
  EXPECT_EQ(ov.at("data").at(1).at("url").as_string(), fmt::format("{}{}.png", kFiles, o.blobs[1]));
  EXPECT_EQ(ov.at("data").at(1).at("revised_prompt").as_string(), "fox");

  http::Response b64 =
      Call("POST", "/openai/v1/images/generations",
           R"({"prompt":"fox","response_format":"b64_json"})", {{"Authorization", "Bearer k"}});
  RehostResult nothing = Rehost(ProviderKind::kOpenAI, b64.Body());
  EXPECT_TRUE(nothing.ok());
  EXPECT_EQ(nothing.outputs, 0);
  EXPECT_EQ(nothing.body, b64.Body());
}

TEST_F(RehosterTest, AnSsrfOutputFailsTheWholeResponseWithoutRetry) {
  const std::string good = OutputsOf(SkytellsPredict(R"({"prompt":"fox","seed":1})")).at(0);
  for (const std::string& bad :
       {std::string("http://169.254.169.254/latest/meta-data/iam"),
        std::string("http://internal.example/secret.png"), std::string("file:///etc/passwd"),
        fmt::format("{}/redirect?to=http%3A%2F%2F127.0.0.2%2Fx.png", base_)}) {
    Configure(json::serialize(json::object{{"output_urls", json::array{good, bad}}}));
    const std::string body = SkytellsPredict(R"({"prompt":"x"})");
    const RehostStats before = rehoster_->stats();
    RehostResult result = Rehost(ProviderKind::kSkytells, body);
    EXPECT_TRUE(absl::IsPermissionDenied(result.status)) << bad << ": " << result.status;
    EXPECT_EQ(result.body, body) << "all or nothing: the provider's body, untouched";
    EXPECT_TRUE(result.blobs.empty());
    EXPECT_EQ(result.failed_outputs, 1);
    const RehostStats after = rehoster_->stats();
    EXPECT_EQ(after.retries, before.retries) << "policy refusals are not retried";
    EXPECT_EQ(after.refused, before.refused + 1);
    EXPECT_EQ(after.responses_failed, before.responses_failed + 1);
  }
}

TEST_F(RehosterTest, ATransientFailureIsRetriedOnce) {
  RawServer raw({{HttpHead("200 OK", "Content-Length: 50000\r\n") + Pattern(1000)},
                 {HttpHead("200 OK", "Content-Length: 50000\r\nContent-Type: image/webp\r\n") +
                  Pattern(50'000)}});
  const std::string url = fmt::format("http://127.0.0.1:{}/pbxt/out-0", raw.port());
  const std::string body = json::serialize(json::object{{"output", json::array{url}}});
  RehostResult result = Rehost(ProviderKind::kReplicate, body);
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(raw.connections(), 2);
  EXPECT_EQ(rehoster_->stats().retries, 1u);
  EXPECT_EQ(result.blobs.at(0), base::Sha256Hex(Pattern(50'000)));
  EXPECT_EQ(OutputsOf(result.body).at(0), fmt::format("{}{}.webp", kFiles, result.blobs[0]))
      << "extension from Content-Type when the path has none";
  EXPECT_EQ(StoredBlobs().size(), 1u) << "the cut first attempt left nothing";
  EXPECT_EQ(SpoolFiles(), 0);
}

TEST_F(RehosterTest, APersistentTruncationFailsAndStoresNothing) {
  RawServer raw({{HttpHead("200 OK", "Content-Length: 50000\r\n") + Pattern(1000)}});
  const std::string url = fmt::format("http://127.0.0.1:{}/out.mp4?expires=1800000000", raw.port());
  const std::string body = json::serialize(json::object{{"output", url}});
  RehostResult result = Rehost(ProviderKind::kSkytells, body);
  EXPECT_TRUE(absl::IsDataLoss(result.status)) << result.status;
  EXPECT_EQ(raw.connections(), 2) << "tried twice";
  EXPECT_EQ(result.body, body);
  EXPECT_EQ(result.earliest_expiry, base::SystemTime(std::chrono::seconds(1'800'000'000)));
  EXPECT_TRUE(StoredBlobs().empty());
  EXPECT_EQ(SpoolFiles(), 0);
}

TEST_F(RehosterTest, TooBigIsNotRetried) {
  FetchOptions small;
  small.max_bytes = 1000;
  OutputFetcher fetcher(*policy_, small);
  Rehoster rehoster(*store_, fetcher);
  const std::string body = SkytellsPredict(R"({"prompt":"fox","seed":1})");
  RehostResult result = rehoster.Rehost(ProviderKind::kSkytells, body, kFiles);
  EXPECT_TRUE(absl::IsResourceExhausted(result.status)) << result.status;
  EXPECT_EQ(rehoster.stats().retries, 0u);
  EXPECT_EQ(rehoster.stats().too_big, 1u);
  EXPECT_EQ(result.body, body);
}

TEST_F(RehosterTest, ExpiredOutputsFailWithTheirExpiry) {
  Configure(R"({"url_ttl_ms":0})");
  const std::string body = SkytellsPredict(R"({"prompt":"fox","seed":1})");
  RehostResult result = Rehost(ProviderKind::kSkytells, body);
  EXPECT_TRUE(absl::IsNotFound(result.status)) << result.status;
  ASSERT_TRUE(result.earliest_expiry);
  EXPECT_LE(*result.earliest_expiry, std::chrono::system_clock::now());
}

TEST_F(RehosterTest, BodiesWithoutOutputsPassThrough) {
  const std::string failed = R"({"id":"x","status":"failed","output":null})";
  RehostResult r = Rehost(ProviderKind::kSkytells, failed);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.body, failed);
  EXPECT_EQ(r.outputs, 0);
  RehostResult bad = Rehost(ProviderKind::kSkytells, "not json");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status));
  EXPECT_EQ(bad.body, "not json");
  EXPECT_EQ(rehoster_->stats().downloads, 0u);
}

TEST_F(RehosterTest, TrailingSlashOfTheFilesBaseIsIgnored) {
  const std::string body = SkytellsPredict(R"({"prompt":"fox","seed":1})");
  RehostResult r = rehoster_->Rehost(ProviderKind::kSkytells, body, "http://gw:8080/files//");
  ASSERT_TRUE(r.ok()) << r.status;
  EXPECT_EQ(OutputsOf(r.body).at(0), fmt::format("http://gw:8080/files/{}.png", r.blobs.at(0)));
}

}  // namespace
}  // namespace gencache::rehost
