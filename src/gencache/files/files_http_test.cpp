// FilesHandler behind the real HTTP server, over a loopback socket: what a
// client sees on the wire (framing of 206, 304 and HEAD answers).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "gencache/base/worker_pool.hpp"
#include "gencache/blob/blob_store_conformance.hpp"
#include "gencache/blob/local_blob_store.hpp"
#include "gencache/files/files_handler.hpp"
#include "gencache/http/error_mapping.hpp"
#include "gencache/http/server.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache::files {
namespace {

using testing::BodyOf;
using testing::HeaderOf;
using testing::RawConnection;
using testing::StatusOf;

class Route final : public http::Handler {
 public:
  explicit Route(const FilesHandler& files) : files_(files) {}
  void Handle(http::Request request, http::Respond respond) override {
    constexpr std::string_view kPrefix = "/files/";
    if (request.path.compare(0, kPrefix.size(), kPrefix) == 0) {
      const std::string name = request.path.substr(kPrefix.size());
      files_.Handle(request, name, std::move(respond));
      return;
    }
    http::Response r;
    r.status = 404;
    respond(std::move(r));
  }
  http::Response Reject(std::string_view, const absl::Status& error) override {
    http::Response r;
    r.status = http::RequestErrorStatus(error);
    return r;
  }

 private:
  const FilesHandler& files_;
};

class FilesHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::LocalBlobStore::Create(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    content_.resize(3u << 20);
    for (std::size_t i = 0; i < content_.size(); ++i) content_[i] = static_cast<char>(i * 13 >> 3);
    auto writer = store_->NewWriter();
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(content_).ok());
    auto info = (*writer)->Commit();
    ASSERT_TRUE(info.ok());
    sha_ = info->sha256;
    files_ = std::make_unique<FilesHandler>(*store_, pool_);
    route_ = std::make_unique<Route>(*files_);
    auto server = http::Server::Start({.port = 0, .threads = 2}, *route_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override { server_->Stop(); }

  std::string Request(std::string_view line, std::string_view headers = "") {
    return fmt::format("{} HTTP/1.1\r\nHost: t\r\n{}\r\n", line, headers);
  }

  blob::BlobTestDir dir_;
  std::unique_ptr<blob::LocalBlobStore> store_;
  base::WorkerPool pool_{1};
  std::unique_ptr<FilesHandler> files_;
  std::unique_ptr<Route> route_;
  std::unique_ptr<http::Server> server_;
  std::string content_;
  std::string sha_;
};

TEST_F(FilesHttpTest, WholeRangeAndNotModifiedOnOneConnection) {
  RawConnection conn(server_->port(), std::chrono::seconds(10));
  ASSERT_TRUE(conn.Send(Request("GET /files/" + sha_ + ".png")));
  std::string r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "image/png");
  EXPECT_EQ(HeaderOf(r, "Content-Length"), std::to_string(content_.size()));
  EXPECT_EQ(HeaderOf(r, "ETag"), "\"" + sha_ + "\"");
  EXPECT_TRUE(BodyOf(r) == content_);

  ASSERT_TRUE(
      conn.Send(Request("GET /files/" + sha_ + ".png", "Range: bytes=1000000-1000009\r\n")));
  r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 206);
  EXPECT_EQ(HeaderOf(r, "Content-Length"), "10");
  EXPECT_EQ(HeaderOf(r, "Content-Range"), fmt::format("bytes 1000000-1000009/{}", content_.size()));
  EXPECT_EQ(BodyOf(r), content_.substr(1'000'000, 10));

  // 304: no Content-Length (it would have to be the 200's) and no body, so
  // the next answer on the connection starts right after the head.
  ASSERT_TRUE(
      conn.Send(Request("GET /files/" + sha_ + ".png", "If-None-Match: \"" + sha_ + "\"\r\n") +
                Request("GET /files/" + sha_ + ".png", "Range: bytes=-3\r\n")));
  r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 304);
  EXPECT_EQ(HeaderOf(r, "Content-Length"), "");
  EXPECT_EQ(BodyOf(r), "");
  r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 206);
  EXPECT_EQ(BodyOf(r), content_.substr(content_.size() - 3));
}

TEST_F(FilesHttpTest, ErrorsOverTheWire) {
  std::string r = testing::RoundTrip(server_->port(), Request("GET /files/../" + sha_));
  EXPECT_EQ(StatusOf(r), 404);
  EXPECT_EQ(BodyOf(r), R"({"error":{"code":"not_found","message":"no such file"}})");
  r = testing::RoundTrip(server_->port(),
                         Request("GET /files/" + sha_, "Range: bytes=999999999-\r\n"));
  EXPECT_EQ(StatusOf(r), 416);
  EXPECT_EQ(HeaderOf(r, "Content-Range"), fmt::format("bytes */{}", content_.size()));
  r = testing::RoundTrip(server_->port(), "DELETE /files/" + sha_ +
                                              " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace gencache::files
