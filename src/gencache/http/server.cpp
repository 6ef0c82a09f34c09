#include "gencache/http/server.hpp"

#include <errno.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "gencache/http/status_text.hpp"

namespace gencache::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// "Date: ..." for the current second, formatted once per second per thread.
std::string_view DateHeaderLine() {
  thread_local std::time_t cached_second = 0;
  thread_local char line[64];
  thread_local std::size_t line_len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    line_len = std::strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  }
  return {line, line_len};
}

// Serialises everything up to and including the blank line.
void WriteHead(const Response& response, bool keep_alive, std::string& head) {
  head.clear();
  head.append("HTTP/1.1 ");
  char num[24];
  head.append(num, std::to_chars(num, num + sizeof num, response.status).ptr);
  head.push_back(' ');
  head.append(StatusText(response.status));
  head.append("\r\nServer: gencache\r\n");
  head.append(DateHeaderLine());
  if (!response.content_type.empty()) {
    head.append("Content-Type: ").append(response.content_type).append("\r\n");
  }
  // 204 and 304 have no content, and a Content-Length on a 304 would have
  // to be that of the 200 answer (RFC 9110, 8.6): leave it out.
  if (response.status != 204 && response.status != 304) {
    head.append("Content-Length: ")
        .append(num, std::to_chars(num, num + sizeof num, response.BodySize()).ptr)
        .append("\r\n");
  }
  for (const auto& [name, value] : response.headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!keep_alive) head.append("Connection: close\r\n");
  head.append("\r\n");
}

absl::Status ParseErrorStatus(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) {
    return absl::ResourceExhaustedError("request body is larger than the configured limit");
  }
  if (ec == bhttp::error::header_limit) {
    return absl::ResourceExhaustedError("request header is larger than the limit");
  }
  return absl::InvalidArgumentError(fmt::format("malformed HTTP request: {}", ec.message()));
}

// Beast accepts both Content-Length and Transfer-Encoding (the latter wins,
// as RFC 9112 allows), and repeated identical Content-Length values. A proxy
// in front of us may frame such a request differently, which is how request
// smuggling works, so we refuse them outright.
absl::Status CheckFraming(const bhttp::request_parser<bhttp::string_body>::value_type& msg) {
  int content_lengths = 0;
  bool transfer_encoding = false;
  for (const auto& field : msg) {
    if (field.name() == bhttp::field::content_length) ++content_lengths;
    if (field.name() == bhttp::field::transfer_encoding) transfer_encoding = true;
  }
  if (content_lengths > 1) {
    return absl::InvalidArgumentError("request has more than one Content-Length header");
  }
  if (content_lengths == 1 && transfer_encoding) {
    return absl::InvalidArgumentError(
        "request has both Content-Length and Transfer-Encoding headers");
  }
  return absl::OkStatus();
}

// Per-connection state shared with Respond callbacks, which may outlive the
// connection and run on other threads.
struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(tcp::socket socket)
      : stream(std::move(socket)), wake(stream.get_executor()) {}

  void Deliver(Response r) {
    response = std::move(r);
    wake.cancel();
  }

  beast::tcp_stream stream;
  asio::steady_timer wake;
  std::optional<Response> response;
};

// Bounds one read: when the timer fires first it cancels the socket's
// pending operations and remembers that it did. Disarm() is called right
// after the read completes, on the same single-threaded loop, so a timer
// that fires late can no longer touch the next read.
struct DeadlineGuard {
  bool armed = true;
  bool fired = false;
  bool Disarm() {
    armed = false;
    return fired;
  }
};

std::shared_ptr<DeadlineGuard> ArmDeadline(asio::steady_timer& timer,
                                           const std::shared_ptr<Connection>& conn) {
  auto guard = std::make_shared<DeadlineGuard>();
  timer.async_wait([guard, weak = std::weak_ptr<Connection>(conn)](beast::error_code ec) {
    if (ec || !guard->armed) return;
    guard->fired = true;
    if (auto c = weak.lock()) c->stream.socket().cancel();
  });
  return guard;
}

// Largest count one sendfile(2) call takes without truncating it.
constexpr std::uint64_t kMaxSendfileChunk = 0x7ffff000;

// Sends `head` and then the file region: the head with MSG_MORE so it leaves
// in the same segment as the first file bytes, the region with sendfile(2)
// (no copy through user space; bench/files.sh). Each wait for the socket to
// drain is bounded by `timeout`, so a client that stops reading is dropped
// but a slow one may take as long as it keeps making progress. Returns false
// when the connection must be closed (error, timeout, or the file ended
// short of the promised length).
asio::awaitable<bool> SendFileResponse(std::shared_ptr<Connection> conn, std::string_view head,
                                       const FileBody& file,
                                       asio::io_context::executor_type executor,
                                       std::chrono::milliseconds timeout) {
  tcp::socket& socket = conn->stream.socket();
  beast::error_code ec;
  socket.native_non_blocking(true, ec);
  if (ec) co_return false;
  const int out = socket.native_handle();

  auto wait_writable = [&]() -> asio::awaitable<bool> {
    asio::steady_timer deadline(executor, timeout);
    auto guard = ArmDeadline(deadline, conn);
    auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, kNoThrow);
    const bool timed_out = guard->Disarm();
    deadline.cancel();
    co_return !wait_ec && !timed_out;
  };

  const int more = file.length > 0 ? MSG_MORE : 0;
  while (!head.empty()) {
    const ssize_t n = ::send(out, head.data(), head.size(), MSG_NOSIGNAL | more);
    if (n >= 0) {
      head.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!co_await wait_writable()) co_return false;
    } else if (errno != EINTR) {
      co_return false;
    }
  }

  off_t offset = static_cast<off_t>(file.offset);
  std::uint64_t left = file.length;
  while (left > 0) {
    const ssize_t n = ::sendfile(out, file.fd.get(), &offset, std::min(left, kMaxSendfileChunk));
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
    } else if (n == 0) {
      spdlog::warn("file body ended {} bytes short of its length; closing the connection", left);
      co_return false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!co_await wait_writable()) co_return false;
    } else if (errno != EINTR) {
      if (errno != EPIPE && errno != ECONNRESET) {
        spdlog::warn("sendfile failed: {}", std::strerror(errno));
      }
      co_return false;
    }
  }
  co_return true;
}

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, Handler& handler)
      : options_(std::move(options)), handler_(handler) {}
  ~ServerImpl() override { Stop(); }

  absl::Status Bind();
  void Run();
  std::uint16_t port() const override { return port_; }
  void Stop() override;

 private:
  struct LoopState {
    asio::io_context ioc{1};
    std::unique_ptr<tcp::acceptor> acceptor;
    std::thread thread;
  };

  asio::awaitable<void> Accept(std::shared_ptr<LoopState> loop);
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn, std::weak_ptr<LoopState> loop,
                              asio::io_context::executor_type executor);

  ServerOptions options_;
  Handler& handler_;
  // Shared with the Respond callbacks, which may run on any thread after
  // Stop() or even after the server is gone: they reach the loop only while
  // it exists.
  std::vector<std::shared_ptr<LoopState>> loops_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

absl::Status ServerImpl::Bind() {
  int threads = options_.threads > 0
                    ? options_.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return absl::InvalidArgumentError(fmt::format("bad listen host '{}'", options_.host));
  std::uint16_t port = options_.port;
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_shared<LoopState>();
    auto acceptor = std::make_unique<tcp::acceptor>(loop->ioc);
    tcp::endpoint endpoint(address, port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
          0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot listen on {}:{}: {}", options_.host, port, ec.message()));
    }
    port = acceptor->local_endpoint().port();
    loop->acceptor = std::move(acceptor);
    loops_.push_back(std::move(loop));
  }
  port_ = port;
  return absl::OkStatus();
}

void ServerImpl::Run() {
  for (auto& loop : loops_) {
    asio::co_spawn(loop->ioc, Accept(loop), asio::detached);
    loop->thread = std::thread([&ioc = loop->ioc] {
      // sendfile(2) has no MSG_NOSIGNAL: a client that hangs up mid-file
      // would raise SIGPIPE. Blocked here it stays pending on this thread
      // and sendfile reports EPIPE instead, without touching the process's
      // signal dispositions.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      ioc.run();
    });
  }
}

void ServerImpl::Stop() {
  if (stopped_.exchange(true)) return;
  for (auto& loop : loops_) loop->ioc.stop();
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  loops_.clear();
}

asio::awaitable<void> ServerImpl::Accept(std::shared_ptr<LoopState> loop_ptr) {
  LoopState& loop = *loop_ptr;
  std::weak_ptr<LoopState> weak_loop = loop_ptr;
  loop_ptr.reset();  // the coroutine must not keep its own loop alive
  for (;;) {
    auto [ec, socket] = co_await loop.acceptor->async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: back off briefly rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(loop.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(
        loop.ioc,
        Serve(std::make_shared<Connection>(std::move(socket)), weak_loop, loop.ioc.get_executor()),
        asio::detached);
  }
}

asio::awaitable<void> ServerImpl::Serve(std::shared_ptr<Connection> conn,
                                        std::weak_ptr<LoopState> loop,
                                        asio::io_context::executor_type executor) {
  beast::flat_buffer buffer;
  std::string head;
  for (;;) {
    // Idle keep-alive connections may wait idle_timeout for their next
    // request; once its first byte is here, the header must follow within
    // header_timeout (no slowloris).
    // Reading the first bytes ourselves (rather than waiting for
    // readability) lets Asio try the read at once: a keep-alive request that
    // has already arrived costs one recv and no epoll re-arm.
    if (buffer.size() == 0) {
      conn->stream.expires_after(options_.idle_timeout);
      auto [ec, n] = co_await conn->stream.async_read_some(buffer.prepare(16 * 1024), kNoThrow);
      if (ec) co_return;  // closed, reset, or idle for idle_timeout
      buffer.commit(n);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options_.max_body_bytes);
    // A timer of our own bounds the header read: tcp_stream's expiry would
    // close the socket before we can answer 408.
    conn->stream.expires_never();
    asio::steady_timer header_deadline(executor, options_.header_timeout);
    auto header_guard = ArmDeadline(header_deadline, conn);
    auto [hec, hn] = co_await bhttp::async_read_header(conn->stream, buffer, parser, kNoThrow);
    const bool header_timed_out = header_guard->Disarm();
    header_deadline.cancel();
    std::optional<absl::Status> refusal;
    if (header_timed_out) {
      refusal = absl::DeadlineExceededError("request header timed out");
    } else if (hec == bhttp::error::end_of_stream || hec == asio::error::connection_reset) {
      co_return;
    } else if (hec) {
      refusal = ParseErrorStatus(hec);
    } else {
      absl::Status framing = CheckFraming(parser.get());
      if (!framing.ok()) refusal = framing;
    }
    if (!refusal && !parser.is_done()) {
      asio::steady_timer body_deadline(executor, options_.body_timeout);
      auto body_guard = ArmDeadline(body_deadline, conn);
      auto [bec, bn] = co_await bhttp::async_read(conn->stream, buffer, parser, kNoThrow);
      const bool body_timed_out = body_guard->Disarm();
      body_deadline.cancel();
      if (body_timed_out) {
        refusal = absl::DeadlineExceededError("request body timed out");
      } else if (bec) {
        refusal = ParseErrorStatus(bec);
      }
    }

    Response response;
    bool keep_alive = false;
    const bool head_request = !refusal && parser.get().method() == bhttp::verb::head;
    if (refusal) {
      std::string target(parser.get().target());
      response = handler_.Reject(target, *refusal);
      keep_alive = false;
    } else {
      auto& msg = parser.get();
      keep_alive = msg.keep_alive();
      Request request;
      request.method = std::string(msg.method_string());
      request.target = std::string(msg.target());
      auto q = request.target.find('?');
      request.path = request.target.substr(0, q);
      if (q != std::string::npos) request.query = request.target.substr(q + 1);
      request.headers.reserve(16);
      for (const auto& field : msg) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(msg.body());

      conn->response.reset();
      std::weak_ptr<Connection> weak = conn;
      handler_.Handle(std::move(request), [weak, loop, executor](Response r) {
        auto alive = loop.lock();
        if (!alive) return;  // the server is gone: nobody to answer
        if (executor.running_in_this_thread()) {
          if (auto c = weak.lock()) c->Deliver(std::move(r));
          return;
        }
        asio::post(executor, [weak, r = std::move(r)]() mutable {
          if (auto c = weak.lock()) c->Deliver(std::move(r));
        });
      });
      if (!conn->response) {
        conn->wake.expires_at(asio::steady_timer::time_point::max());
        co_await conn->wake.async_wait(kNoThrow);
        if (!conn->response) co_return;  // the loop is stopping
      }
      response = std::move(*conn->response);
      conn->response.reset();
    }

    WriteHead(response, keep_alive, head);
    // HEAD gets the header of the GET answer (its Content-Length too), no
    // body; 204 and 304 never have one.
    const bool send_body = !head_request && response.status != 204 && response.status != 304;
    if (response.file && send_body) {
      const bool sent =
          co_await SendFileResponse(conn, head, *response.file, executor, options_.body_timeout);
      if (!sent || !keep_alive) {
        beast::error_code ignored;
        conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      continue;
    }
    std::string_view body = send_body ? response.Body() : std::string_view();
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                              asio::buffer(body.data(), body.size())};
    conn->stream.expires_after(options_.body_timeout);
    auto [wec, wn] = co_await asio::async_write(conn->stream, buffers, kNoThrow);
    if (wec || !keep_alive) {
      beast::error_code ignored;
      conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler& handler) {
  auto server = std::make_unique<ServerImpl>(std::move(options), handler);
  if (absl::Status status = server->Bind(); !status.ok()) return status;
  server->Run();
  return server;
}

}  // namespace gencache::http
