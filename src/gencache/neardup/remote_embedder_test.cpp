#include "gencache/neardup/remote_embedder.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gencache/http/server.hpp"
#include "gencache/upstream/curl_http_client.hpp"

namespace gencache::neardup {
namespace {

namespace json = boost::json;

// An OpenAI-compatible /embeddings endpoint. The embedding of an input is
// [length, 1, 1, ...] (not normalised), so a test can tell inputs apart and
// check the normalisation. Inputs starting with "status:" answer that status;
// "garbage" answers non-JSON; "hang" never answers; "wide" answers one more
// dimension than the others.
class EmbeddingsEndpoint : public http::Handler {
 public:
  static constexpr std::size_t kDimension = 8;

  void Handle(http::Request request, http::Respond respond) override {
    ++requests;
    {
      std::lock_guard lock(mu);
      if (auto auth = request.Header("authorization")) last_authorization = std::string(*auth);
      last_path = request.path;
    }
    http::Response response;
    std::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object() || request.method != "POST") {
      response.status = 400;
      respond(std::move(response));
      return;
    }
    const std::string input(body.at("input").as_string());
    {
      std::lock_guard lock(mu);
      last_model = std::string(body.at("model").as_string());
    }
    if (input == "hang") {
      std::lock_guard lock(mu);
      hung.push_back(std::move(respond));
      return;
    }
    if (input.rfind("status:", 0) == 0) {
      response.status = std::stoi(input.substr(7));
      response.body = R"({"error":{"message":"Incorrect API key provided: sk-te***et"}})";
    } else if (input == "garbage") {
      response.body = "<html>oops</html>";
    } else {
      json::array embedding;
      embedding.push_back(static_cast<double>(input.size()));
      const std::size_t n = input == "wide" ? kDimension + 1 : kDimension;
      for (std::size_t i = 1; i < n; ++i) embedding.push_back(1);
      response.body = json::serialize(json::object{
          {"object", "list"},
          {"data", json::array{json::object{
                       {"object", "embedding"}, {"index", 0}, {"embedding", embedding}}}},
          {"model", "test-embed"}});
    }
    respond(std::move(response));
  }
  http::Response Reject(std::string_view, const absl::Status&) override { return {}; }

  std::atomic<int> requests{0};
  std::mutex mu;
  std::string last_authorization;
  std::string last_path;
  std::string last_model;
  std::vector<http::Respond> hung;
};

class RemoteEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = http::Server::Start({.port = 0, .threads = 1}, endpoint_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    base_url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/";
  }
  void TearDown() override {
    client_->Shutdown();
    server_->Stop();
    // Answer what the "hang" input left waiting, so no connection state
    // outlives the server.
    std::vector<http::Respond> hung;
    {
      std::lock_guard lock(endpoint_.mu);
      hung.swap(endpoint_.hung);
    }
    for (auto& respond : hung) respond(http::Response{.status = 503});
  }

  RemoteEmbedderOptions Options() const {
    return {.url = base_url_,
            .model = "test-embed",
            .api_key = "sk-test-secret",
            .timeout = std::chrono::milliseconds(3000)};
  }

  EmbeddingsEndpoint endpoint_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<upstream::HttpClient> client_ = upstream::MakeCurlHttpClient();
  std::string base_url_;
};

TEST_F(RemoteEmbedderTest, PostsModelAndInputAndNormalisesTheAnswer) {
  RemoteEmbedder embedder(Options(), *client_);
  EXPECT_EQ(embedder.name(), "remote:test-embed");
  EXPECT_EQ(embedder.dimension(), 0u);
  auto v = embedder.Embed("abcd");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), EmbeddingsEndpoint::kDimension);
  EXPECT_EQ(embedder.dimension(), EmbeddingsEndpoint::kDimension);
  // [4, 1 x 7] / sqrt(16 + 7)
  EXPECT_NEAR((*v)[0], 4.0 / std::sqrt(23.0), 1e-6);
  EXPECT_NEAR((*v)[1], 1.0 / std::sqrt(23.0), 1e-6);
  std::lock_guard lock(endpoint_.mu);
  EXPECT_EQ(endpoint_.last_path, "/v1/embeddings");
  EXPECT_EQ(endpoint_.last_authorization, "Bearer sk-test-secret");
  EXPECT_EQ(endpoint_.last_model, "test-embed");
}

TEST_F(RemoteEmbedderTest, RepeatsComeFromTheCacheWhichIsBounded) {
  RemoteEmbedderOptions options = Options();
  options.cache_entries = 2;
  RemoteEmbedder embedder(options, *client_);
  ASSERT_TRUE(embedder.Embed("a").ok());
  ASSERT_TRUE(embedder.Embed("a").ok());
  EXPECT_EQ(endpoint_.requests.load(), 1);
  ASSERT_TRUE(embedder.Embed("bb").ok());
  ASSERT_TRUE(embedder.Embed("a").ok());    // refreshes "a"
  ASSERT_TRUE(embedder.Embed("ccc").ok());  // evicts "bb"
  EXPECT_EQ(endpoint_.requests.load(), 3);
  ASSERT_TRUE(embedder.Embed("a").ok());
  EXPECT_EQ(endpoint_.requests.load(), 3);
  ASSERT_TRUE(embedder.Embed("bb").ok());
  EXPECT_EQ(endpoint_.requests.load(), 4);
  const RemoteEmbedderStats stats = embedder.stats();
  EXPECT_EQ(stats.requests, 4u);
  EXPECT_EQ(stats.cache_hits, 3u);
  EXPECT_EQ(stats.failures, 0u);
}

TEST_F(RemoteEmbedderTest, ErrorStatusIsUnavailableAndKeepsTheKeyOut) {
  RemoteEmbedder embedder(Options(), *client_);
  auto v = embedder.Embed("status:401");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("401"), std::string::npos);
  EXPECT_EQ(v.status().message().find("sk-"), std::string::npos);
  EXPECT_EQ(embedder.Embed("status:500").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(embedder.stats().failures, 2u);
  // Failures are not cached.
  EXPECT_FALSE(embedder.Embed("status:500").ok());
  EXPECT_EQ(endpoint_.requests.load(), 3);
}

TEST_F(RemoteEmbedderTest, MalformedAnswerIsUnavailable) {
  RemoteEmbedder embedder(Options(), *client_);
  EXPECT_EQ(embedder.Embed("garbage").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RemoteEmbedderTest, ADimensionChangeIsRefused) {
  RemoteEmbedderOptions options = Options();
  options.dimension = EmbeddingsEndpoint::kDimension;
  RemoteEmbedder embedder(options, *client_);
  EXPECT_EQ(embedder.dimension(), EmbeddingsEndpoint::kDimension);
  EXPECT_EQ(embedder.Embed("wide").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(embedder.Embed("narrow").ok());
}

TEST_F(RemoteEmbedderTest, SlowEndpointTimesOut) {
  RemoteEmbedderOptions options = Options();
  options.timeout = std::chrono::milliseconds(200);
  RemoteEmbedder embedder(options, *client_);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(embedder.Embed("hang").status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

// A port that was just free: bound, then closed, so a connect is refused.
std::uint16_t ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(RemoteEmbedderTest, UnreachableEndpointIsUnavailable) {
  RemoteEmbedderOptions options = Options();
  options.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v1";
  RemoteEmbedder embedder(options, *client_);
  auto v = embedder.Embed("x");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable) << v.status();
  EXPECT_EQ(endpoint_.requests.load(), 0);
}

TEST(ParseEmbeddingsResponseTest, ReadsDataZero) {
  auto v = ParseEmbeddingsResponse(
      R"({"data":[{"index":1,"embedding":[9]},{"index":0,"embedding":[0.5,-2,3]}]})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, (std::vector<float>{0.5f, -2.0f, 3.0f}));
  EXPECT_EQ(*ParseEmbeddingsResponse(R"({"data":[{"embedding":[1,2]}]})"),
            (std::vector<float>{1.0f, 2.0f}));
}

TEST(ParseEmbeddingsResponseTest, RejectsWhatIsNotAnEmbedding) {
  for (const char* body :
       {"", "null", "[]", R"({"data":[]})", R"({"data":{}})", R"({"data":[{"embedding":[]}]})",
        R"({"data":[{"embedding":["1"]}]})", R"({"data":[{"embedding":[1e300]}]})",
        R"({"data":[{"index":3,"embedding":[1]}]})", R"({"data":[{"embedding":[1,2)"}) {
    EXPECT_FALSE(ParseEmbeddingsResponse(body).ok()) << body;
  }
}

}  // namespace
}  // namespace gencache::neardup
