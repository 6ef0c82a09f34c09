#include "gencache/http/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "gencache/http/error_mapping.hpp"
#include "tests/support/raw_http.hpp"

namespace gencache::http {
namespace {

using testing::BodyOf;
using testing::HeaderOf;
using testing::RawConnection;
using testing::RoundTrip;
using testing::StatusOf;

// Echoes method, path, query and body; "/later" answers from another thread.
class EchoHandler : public Handler {
 public:
  void Handle(Request request, Respond respond) override {
    ++handled;
    Response response;
    response.body = request.method + " " + request.path + " " + request.query + " " + request.body;
    if (auto v = request.Header("x-echo")) response.headers.emplace_back("X-Echo", std::string(*v));
    if (request.path == "/later") {
      std::thread([respond = std::move(respond), response = std::move(response)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        respond(std::move(response));
      }).detach();
      return;
    }
    respond(std::move(response));
  }
  Response Reject(std::string_view, const absl::Status& error) override {
    Response response;
    response.status = RequestErrorStatus(error);
    response.body = std::string(error.message());
    return response;
  }
  std::atomic<int> handled{0};
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = Server::Start({.port = 0,
                                 .threads = 2,
                                 .max_body_bytes = 1024,
                                 .header_timeout = std::chrono::milliseconds(300),
                                 .body_timeout = std::chrono::milliseconds(300),
                                 .idle_timeout = std::chrono::milliseconds(2000)},
                                handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    port_ = server_->port();
  }
  void TearDown() override { server_->Stop(); }

  EchoHandler handler_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, AnswersAndKeepsAlive) {
  RawConnection conn(port_);
  ASSERT_TRUE(
      conn.Send("POST /a/b?x=1 HTTP/1.1\r\nHost: t\r\nX-Echo: hi\r\nContent-Length: 3\r\n\r\nabc"));
  std::string r1 = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r1), 200);
  EXPECT_EQ(BodyOf(r1), "POST /a/b x=1 abc");
  EXPECT_EQ(HeaderOf(r1, "x-echo"), "hi");
  EXPECT_EQ(HeaderOf(r1, "Content-Type"), "application/json");
  ASSERT_TRUE(conn.Send("GET /c HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string r2 = conn.ReadResponse();
  EXPECT_EQ(BodyOf(r2), "GET /c  ");
}

TEST_F(ServerTest, PipelinedRequestsAnswerInOrder) {
  RawConnection conn(port_);
  ASSERT_TRUE(
      conn.Send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /later HTTP/1.1\r\nHost: t\r\n\r\n"
                "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(BodyOf(conn.ReadResponse()), "GET /1  ");
  EXPECT_EQ(BodyOf(conn.ReadResponse()), "GET /later  ");
  EXPECT_EQ(BodyOf(conn.ReadResponse()), "GET /3  ");
}

TEST_F(ServerTest, AsyncResponseFromAnotherThread) {
  std::string r = RoundTrip(port_, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), "GET /later  ");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  RawConnection conn(port_);
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string r = conn.ReadResponse();
  EXPECT_EQ(HeaderOf(r, "Connection"), "close");
  EXPECT_TRUE(conn.WaitClosed());
}

TEST_F(ServerTest, RefusesDuplicateContentLength) {
  std::string r = RoundTrip(
      port_, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(StatusOf(r), 400);
  std::string r2 = RoundTrip(
      port_, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(StatusOf(r2), 400);
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(ServerTest, RefusesContentLengthWithTransferEncoding) {
  std::string r = RoundTrip(port_,
                            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 400);
  EXPECT_EQ(handler_.handled.load(), 0);
}

TEST_F(ServerTest, AcceptsChunkedBody) {
  std::string r = RoundTrip(port_,
                            "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), "POST /c  abcde");
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  std::string body(2000, 'x');
  std::string r =
      RoundTrip(port_, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + body);
  EXPECT_EQ(StatusOf(r), 413);
}

TEST_F(ServerTest, SlowHeaderTimesOutWith408) {
  RawConnection conn(port_);
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: t\r\n"));  // never finishes the head
  std::string r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 408);
  EXPECT_TRUE(conn.WaitClosed());
}

TEST_F(ServerTest, HalfSentBodyTimesOutWith408) {
  RawConnection conn(port_);
  ASSERT_TRUE(conn.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  std::string r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 408);
}

TEST_F(ServerTest, GarbageIs400AndServerStaysUp) {
  std::string r = RoundTrip(port_, "\x01\x02 garbage\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 400);
  EXPECT_EQ(StatusOf(RoundTrip(port_, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")), 200);
}

TEST_F(ServerTest, ManyConcurrentConnections) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        if (StatusOf(RoundTrip(port_, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n")) == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 32 * 20);
}

}  // namespace
}  // namespace gencache::http

namespace gencache::http {
namespace {

// Holds every Respond it gets, to answer after the server has stopped.
class HoldingHandler : public Handler {
 public:
  void Handle(Request, Respond respond) override {
    std::lock_guard lock(mu);
    held.push_back(std::move(respond));
  }
  Response Reject(std::string_view, const absl::Status&) override { return {}; }
  std::mutex mu;
  std::vector<Respond> held;
};

TEST(ServerLifetime, RespondAfterStopAndAfterDestructionIsHarmless) {
  HoldingHandler handler;
  auto server = Server::Start({.port = 0, .threads = 1}, handler);
  ASSERT_TRUE(server.ok());
  testing::RawConnection conn((*server)->port());
  ASSERT_TRUE(conn.Send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(handler.mu);
      if (!handler.held.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*server)->Stop();
  std::vector<Respond> held;
  {
    std::lock_guard lock(handler.mu);
    held.swap(handler.held);
  }
  ASSERT_FALSE(held.empty());
  held[0](Response{});  // after Stop
  server->reset();
  for (std::size_t i = 1; i < held.size(); ++i) held[i](Response{});
  Respond copy = held[0];
  copy(Response{});  // after destruction
}

}  // namespace
}  // namespace gencache::http

namespace gencache::http {
namespace {

TEST(ServerIdle, IdleKeepAliveConnectionIsClosed) {
  class Ok : public Handler {
   public:
    void Handle(Request, Respond respond) override { respond(Response{}); }
    Response Reject(std::string_view, const absl::Status&) override { return {}; }
  } handler;
  auto server = Server::Start(
      {.port = 0, .threads = 1, .idle_timeout = std::chrono::milliseconds(200)}, handler);
  ASSERT_TRUE(server.ok());
  testing::RawConnection conn((*server)->port(), std::chrono::seconds(3));
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(testing::StatusOf(conn.ReadResponse()), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(conn.WaitClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace gencache::http

namespace gencache::http {
namespace {

TEST(ServerHead, HeadGetsTheHeaderWithoutTheBody) {
  class Body : public Handler {
   public:
    void Handle(Request, Respond respond) override {
      Response r;
      r.body = "0123456789";
      respond(std::move(r));
    }
    Response Reject(std::string_view, const absl::Status&) override { return {}; }
  } handler;
  auto server = Server::Start({.port = 0, .threads = 1}, handler);
  ASSERT_TRUE(server.ok());
  testing::RawConnection conn((*server)->port());
  ASSERT_TRUE(conn.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  // The reader trusts Content-Length, so read the HEAD answer's head only.
  std::string both;
  for (int i = 0; i < 50 && both.find("0123456789") == std::string::npos; ++i) {
    std::string part = conn.ReadResponse();
    if (part.empty()) break;
    both += part;
  }
  EXPECT_EQ(both.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(both.find("Content-Length: 10"), std::string::npos);
  // The GET answer follows the HEAD answer's blank line directly.
  auto second = both.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << both;
  EXPECT_EQ(both.substr(second - 4, 4), "\r\n\r\n");
}

}  // namespace
}  // namespace gencache::http

namespace gencache::http {
namespace {

// A file of `size` patterned bytes in a fresh temp dir, removed afterwards.
class TempFile {
 public:
  explicit TempFile(std::size_t size) {
    std::string pattern = "/tmp/gencache-server-file-XXXXXX";
    base::UniqueFd fd(::mkstemp(pattern.data()));
    path_ = pattern;
    bytes_.resize(size);
    for (std::size_t i = 0; i < size; ++i) bytes_[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::write(fd.get(), bytes_.data(), bytes_.size()), static_cast<ssize_t>(size));
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string path_;
  std::string bytes_;
};

// Serves regions of one file: /region (a slice), /whole, /short (promises
// more bytes than the file has); anything else gets a string body.
class FileHandler : public Handler {
 public:
  explicit FileHandler(const TempFile& file) : file_(file) {}
  void Handle(Request request, Respond respond) override {
    ++handled;
    Response r;
    r.content_type = "application/octet-stream";
    auto body = std::make_shared<FileBody>();
    body->fd = base::UniqueFd(::open(file_.path().c_str(), O_RDONLY | O_CLOEXEC));
    const std::uint64_t size = file_.bytes().size();
    if (request.path == "/region") {
      body->offset = 1000;
      body->length = 300'000;
    } else if (request.path == "/whole") {
      body->length = size;
    } else if (request.path == "/short") {
      body->offset = size - 10;
      body->length = 5000;
    } else {
      r.content_type = "text/plain";
      r.body = "after";
      respond(std::move(r));
      return;
    }
    r.file = std::move(body);
    respond(std::move(r));
  }
  Response Reject(std::string_view, const absl::Status&) override { return {}; }
  std::atomic<int> handled{0};

 private:
  const TempFile& file_;
};

class ServerFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = Server::Start({.port = 0, .threads = 2}, handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override { server_->Stop(); }

  TempFile file_{16u << 20};
  FileHandler handler_{file_};
  std::unique_ptr<Server> server_;
};

TEST_F(ServerFileTest, SendsAFileRegionThenKeepsAlive) {
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("GET /region HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string r = conn.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(HeaderOf(r, "Content-Length"), "300000");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/octet-stream");
  EXPECT_TRUE(BodyOf(r) == file_.bytes().substr(1000, 300'000)) << "region bytes differ";
  ASSERT_TRUE(conn.Send("GET /text HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(BodyOf(conn.ReadResponse()), "after");
}

TEST_F(ServerFileTest, SendsALargeFileWhole) {
  // 16 MB overruns the socket buffers, so the sender waits for the reader.
  RawConnection conn(server_->port(), std::chrono::seconds(20));
  ASSERT_TRUE(
      conn.Send("GET /whole HTTP/1.1\r\nHost: t\r\n\r\nGET /whole HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {
    std::string r = conn.ReadResponse();
    ASSERT_EQ(StatusOf(r), 200) << "response " << i;
    EXPECT_EQ(HeaderOf(r, "Content-Length"), std::to_string(file_.bytes().size()));
    EXPECT_TRUE(BodyOf(r) == file_.bytes()) << "file bytes differ in response " << i;
  }
}

TEST_F(ServerFileTest, HeadSendsTheLengthButNoBytes) {
  // RawConnection trusts Content-Length, so read the bytes ourselves.
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request =
      "HEAD /region HTTP/1.1\r\nHost: t\r\n\r\nGET /text HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string both;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (both.find("after") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    both.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(both.find("HTTP/1.1 200"), 0u) << both;
  EXPECT_NE(both.find("Content-Length: 300000"), std::string::npos) << both;
  const auto second = both.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << both;
  EXPECT_EQ(both.substr(second - 4, 4), "\r\n\r\n") << "no body bytes after the HEAD answer";
  EXPECT_EQ(both.size(), both.find("after") + 5);
}

TEST_F(ServerFileTest, FileEndingEarlyClosesTheConnection) {
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("GET /short HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(conn.ReadResponse(), "") << "the response must not look complete";
  EXPECT_TRUE(conn.WaitClosed());
  EXPECT_EQ(BodyOf(RoundTrip(server_->port(), "GET /text HTTP/1.1\r\nHost: t\r\n\r\n")), "after");
}

TEST(ServerFileHangUp, ClientHangingUpMidFileLeavesTheServerUp) {
  // A sparse 256 MB file: far more than the socket buffers hold, so the
  // server is still sending when the client resets the connection, and must
  // give up on that one response only.
  TempFile file(0);
  ASSERT_EQ(::truncate(file.path().c_str(), 256 << 20), 0);
  class Big : public Handler {
   public:
    explicit Big(std::string path) : path_(std::move(path)) {}
    void Handle(Request request, Respond respond) override {
      Response r;
      if (request.path == "/big") {
        auto body = std::make_shared<FileBody>();
        body->fd = base::UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
        body->length = 256u << 20;
        r.file = std::move(body);
        ++started;
      } else {
        r.body = "alive";
      }
      respond(std::move(r));
    }
    Response Reject(std::string_view, const absl::Status&) override { return {}; }
    std::atomic<int> started{0};

   private:
    std::string path_;
  } handler(file.path());
  auto server = Server::Start({.port = 0, .threads = 1}, handler);
  ASSERT_TRUE(server.ok());
  for (int attempt = 0; attempt < 3; ++attempt) {
    RawConnection conn((*server)->port());
    ASSERT_TRUE(conn.Send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
    for (int i = 0; i < 500 && handler.started.load() <= attempt; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // Closing with unread bytes resets the connection.
  }
  EXPECT_EQ(handler.started.load(), 3);
  EXPECT_EQ(BodyOf(RoundTrip((*server)->port(), "GET /x HTTP/1.1\r\nHost: t\r\n\r\n")), "alive");
}

}  // namespace
}  // namespace gencache::http
