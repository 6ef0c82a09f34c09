#pragma once

// Test-only helpers for the rehost integration tests: a raw-socket HTTP
// responder for broken transfers, and a fixture with the fake provider on a
// real server and a real local blob store in a temporary directory.

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_provider/fake_provider.hpp"
#include "gencache/base/clock.hpp"
#include "gencache/blob/local_blob_store.hpp"
#include "gencache/http/server.hpp"
#include "gencache/rehost/output_fetcher.hpp"
#include "gencache/rehost/url_policy.hpp"

namespace gencache::rehost::testing {

// Answers each connection on `ip`:0 with the next scripted reply (the last
// one repeats) after reading the request head, then closes the connection,
// or, for a `hold` reply, keeps it open until the server is destroyed. Used
// for what http::Server cannot do on purpose: a Content-Length it does not
// keep, a body cut mid-way, a stall.
class RawServer {
 public:
  struct Reply {
    std::string bytes;
    bool hold = false;
  };

  explicit RawServer(std::vector<Reply> script, const char* ip = "127.0.0.1")
      : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(listen_fd_, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &addr.sin_addr);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(::pipe2(stop_pipe_, O_CLOEXEC), 0);
    thread_ = std::thread([this] { Loop(); });
  }

  ~RawServer() {
    const char byte = 1;
    EXPECT_EQ(::write(stop_pipe_[1], &byte, 1), 1);
    thread_.join();
    for (int fd : held_) ::close(fd);
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void Loop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, 10'000) <= 0) continue;
      if (fds[1].revents != 0) return;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int n = connections_.fetch_add(1);
      const Reply& reply = script_[std::min<std::size_t>(n, script_.size() - 1)];
      ReadHead(fd);
      std::string_view out = reply.bytes;
      while (!out.empty()) {
        const ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (w <= 0) break;
        out.remove_prefix(static_cast<std::size_t>(w));
      }
      if (reply.hold) {
        held_.push_back(fd);
      } else {
        ::close(fd);
      }
    }
  }

  // Reads until the end of the request head, for at most 5 s.
  static void ReadHead(int fd) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5'000) <= 0) return;
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) return;
      head.append(buf, static_cast<std::size_t>(r));
    }
  }

  std::vector<Reply> script_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::vector<int> held_;  // only touched by the loop thread, then the destructor
  std::thread thread_;
};

// `n` bytes of a repeating pattern.
inline std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

inline std::string HttpHead(std::string_view status, std::string_view headers) {
  return fmt::format("HTTP/1.1 {}\r\n{}Connection: close\r\n\r\n", status, headers);
}

// The fake provider on a real http::Server on 127.0.0.1, and a local blob
// store in a fresh temporary directory.
class RehostFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rehost_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    auto store = blob::LocalBlobStore::Create(dir_ / "blobs");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);

    fake_ = std::make_unique<fake_provider::FakeProvider>(fake_provider::FakeProviderOptions{},
                                                          base::SystemClock::Instance());
    http::ServerOptions options;
    options.threads = 2;
    auto server = http::Server::Start(options, *fake_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    fake_->SetPublicPort(server_->port());
    base_ = fmt::format("http://127.0.0.1:{}", server_->port());
  }

  void TearDown() override {
    if (fake_) fake_->Drain();
    if (server_) server_->Stop();
    server_.reset();
    fake_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The policy the tests use: the fake's provider base URLs, loopback
  // 127.0.0.1 allowed explicitly (and nothing else).
  UrlPolicy Policy(std::vector<std::string> allowed = {"127.0.0.1"}) {
    auto policy =
        UrlPolicy::Create({.provider_base_urls = {base_ + "/skytells/v1", base_ + "/replicate/v1",
                                                  base_ + "/openai/v1"},
                           .allowed_hosts = std::move(allowed)});
    EXPECT_TRUE(policy.ok()) << policy.status();
    return *std::move(policy);
  }

  fake_provider::FakeStats Stats() const { return fake_->stats(); }

  // Sends a request to the fake through its handler (no socket needed for
  // control calls) and returns the answer.
  http::Response Call(std::string method, std::string target, std::string body = "",
                      http::HeaderList headers = {}) {
    http::Request request;
    request.method = std::move(method);
    request.target = target;
    const std::size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string::npos ? "" : target.substr(q + 1);
    request.headers = std::move(headers);
    request.body = std::move(body);
    auto promise = std::make_shared<std::promise<http::Response>>();
    auto future = promise->get_future();
    fake_->Handle(std::move(request),
                  [promise](http::Response r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  void Configure(std::string_view json) {
    http::Response r = Call("POST", "/_fake/config", std::string(json));
    ASSERT_EQ(r.status, 200) << r.Body();
  }

  // A Skytells prediction's response body.
  std::string SkytellsPredict(std::string_view input) {
    http::Response r =
        Call("POST", "/skytells/v1/predict",
             fmt::format(R"({{"model":"truefusion","input":{}}})", input), {{"x-api-key", "k"}});
    EXPECT_EQ(r.status, 200) << r.Body();
    return std::string(r.Body());
  }

  std::vector<std::string> OutputsOf(const std::string& body) {
    std::vector<std::string> urls;
    boost::json::value v = boost::json::parse(body);
    for (const auto& u : v.at("output").as_array()) urls.emplace_back(u.as_string());
    return urls;
  }

  std::vector<blob::BlobInfo> StoredBlobs() {
    std::vector<blob::BlobInfo> blobs;
    EXPECT_TRUE(store_->ForEach([&](const blob::BlobInfo& b) { blobs.push_back(b); }).ok());
    return blobs;
  }

  // Files left in the store's spool directory.
  int SpoolFiles() {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ / "blobs/tmp")) {
      ++n;
    }
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<blob::LocalBlobStore> store_;
  std::unique_ptr<fake_provider::FakeProvider> fake_;
  std::unique_ptr<http::Server> server_;
  std::string base_;
};

}  // namespace gencache::rehost::testing
