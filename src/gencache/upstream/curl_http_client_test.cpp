#include "gencache/upstream/curl_http_client.hpp"

#include <gtest/gtest.h>

#include <future>

#include "gencache/http/server.hpp"

namespace gencache::upstream {
namespace {

class TestUpstream : public http::Handler {
 public:
  void Handle(http::Request request, http::Respond respond) override {
    if (request.path == "/hang") {
      hung_.push_back(std::move(respond));  // never answered within the test's timeout
      return;
    }
    http::Response response;
    if (request.path == "/big") {
      response.body.assign(1 << 20, 'b');
    } else {
      response.status = request.path == "/missing" ? 404 : 200;
      response.headers.emplace_back("X-Method", request.method);
      if (auto auth = request.Header("authorization")) {
        response.headers.emplace_back("X-Auth", std::string(*auth));
      }
      response.body = request.body.empty() ? "{}" : request.body;
    }
    respond(std::move(response));
  }
  http::Response Reject(std::string_view, const absl::Status&) override { return {}; }
  std::vector<http::Respond> hung_;
};

class CurlHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = http::Server::Start({.port = 0, .threads = 1}, upstream_);
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  absl::StatusOr<UpstreamResponse> Call(UpstreamRequest request) {
    std::promise<absl::StatusOr<UpstreamResponse>> promise;
    auto future = promise.get_future();
    client_->Send(std::move(request),
                  [&](absl::StatusOr<UpstreamResponse> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  TestUpstream upstream_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<HttpClient> client_ = MakeCurlHttpClient();
  std::string base_;
};

TEST_F(CurlHttpClientTest, PostsBodyAndHeaders) {
  auto r = Call({.method = "POST",
                 .url = base_ + "/echo",
                 .headers = {{"Authorization", "Bearer k"}, {"Content-Type", "application/json"}},
                 .body = R"({"a":1})"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"a":1})");
  EXPECT_EQ(http::FindHeader(r->headers, "x-method"), "POST");
  EXPECT_EQ(http::FindHeader(r->headers, "x-auth"), "Bearer k");
}

TEST_F(CurlHttpClientTest, HttpErrorIsAResponse) {
  auto r = Call({.url = base_ + "/missing"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST_F(CurlHttpClientTest, TimeoutIsDeadlineExceeded) {
  auto r = Call({.url = base_ + "/hang", .timeout = std::chrono::milliseconds(200)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(CurlHttpClientTest, RefusedConnectionIsUnavailable) {
  auto r = Call({.url = "http://127.0.0.1:1/x"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(CurlHttpClientTest, OversizeResponseIsUnavailable) {
  auto r = Call({.url = base_ + "/big", .max_response_bytes = 1000});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("larger than"), std::string::npos);
}

TEST_F(CurlHttpClientTest, ManyConcurrentExchanges) {
  constexpr int kCount = 200;
  std::atomic<int> ok{0};
  std::promise<void> all_done;
  std::atomic<int> remaining{kCount};
  for (int i = 0; i < kCount; ++i) {
    client_->Send({.method = "POST", .url = base_ + "/echo", .body = std::to_string(i)},
                  [&, i](absl::StatusOr<UpstreamResponse> r) {
                    if (r.ok() && r->body == std::to_string(i)) ++ok;
                    if (--remaining == 0) all_done.set_value();
                  });
  }
  all_done.get_future().wait();
  EXPECT_EQ(ok.load(), kCount);
}

TEST_F(CurlHttpClientTest, RejectsNonHttpSchemes) {
  auto r = Call({.url = "file:///etc/passwd"});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace gencache::upstream
