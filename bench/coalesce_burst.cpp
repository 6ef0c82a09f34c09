// coalesce_burst: measures request coalescing under a burst. It opens N
// connections to the gateway, parks one thread per connection on a barrier,
// releases them together so N identical requests arrive at once, and records
// for each request the time from the release to the last byte of its
// response and the X-Gencache-Status it got (miss / coalesced / hit). With a
// working coalescer exactly one request is a miss, the provider sees one
// create, and every request finishes about one provider latency after the
// release. bench/coalesce.sh runs it against the fake provider and checks
// the provider's create count.
//
// Output: one line "BURST key=value ..." (times in microseconds) and, with
// --verbose, one line per request. Exit status 0 when every request got a
// complete 2xx response in time, 1 otherwise, 2 on bad arguments.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <barrier>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  int http_status = 0;
  std::string gencache_status;  // empty when the header was absent
  std::string error;            // empty on a complete response
  Clock::time_point send_start;
  Clock::time_point done;
};

// A connected loopback socket with TCP_NODELAY, or -1 with `error` set.
int Connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
            std::string& error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    error = fmt::format("'{}' is not an IPv4 address", host);
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = fmt::format("socket: {}", std::strerror(errno));
    return -1;
  }
  // Bounds connect(2) and every later send(2).
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error = fmt::format("connect: {}", std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data, std::string& error) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("send: {}", std::strerror(errno));
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads one HTTP/1.1 response (Content-Length framed, or until EOF since we
// sent Connection: close) before `deadline`, filling `outcome`.
void ReadResponse(int fd, Clock::time_point deadline, Outcome& outcome) {
  std::string buffer;
  std::optional<std::size_t> head_end;
  std::optional<std::size_t> content_length;
  char chunk[16384];
  for (;;) {
    if (head_end) {
      std::size_t have = buffer.size() - *head_end;
      if (content_length && have >= *content_length) break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      outcome.error = "timed out";
      return;
    }
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      outcome.error = fmt::format("recv: {}", std::strerror(errno));
      return;
    }
    if (n == 0) {
      if (head_end && !content_length) break;  // EOF ends an unframed body
      outcome.error = "connection closed before the response was complete";
      return;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    if (!head_end) {
      std::size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head_end = end + 4;
      std::string_view head(buffer.data(), end);
      std::size_t line_end = head.find("\r\n");
      std::string_view status_line = head.substr(0, line_end);
      if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) {
        outcome.error = fmt::format("bad status line '{}'", status_line);
        return;
      }
      outcome.http_status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
      while (line_end != std::string_view::npos) {
        std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        std::string_view line = head.substr(
            start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = Trim(line.substr(colon + 1));
        if (EqualsIgnoreCase(name, "content-length")) {
          content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
        } else if (EqualsIgnoreCase(name, "x-gencache-status")) {
          outcome.gencache_status = std::string(value);
        }
      }
    }
  }
  outcome.done = Clock::now();
}

// Nearest-rank percentile of sorted values.
std::int64_t Percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

int Run(int argc, char** argv) {
  CLI::App app{"Fire N identical requests at once and report latency and cache status"};
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/replicate/predictions";
  std::string body;
  std::string body_file;
  std::vector<std::string> headers;
  int requests = 200;
  int timeout_ms = 10'000;
  bool verbose = false;
  app.add_option("--host", host, "gateway IPv4 address");
  app.add_option("--port", port, "gateway port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--path", path, "request target");
  app.add_option("--body", body, "request body (JSON)");
  app.add_option("--body-file", body_file, "read the request body from this file");
  app.add_option("--header", headers, "extra header 'Name: value' (repeatable)");
  app.add_option("--requests", requests, "concurrent requests")->check(CLI::Range(1, 10'000));
  app.add_option("--timeout-ms", timeout_ms, "bound on connecting and on the whole burst")
      ->check(CLI::Range(1, 600'000));
  app.add_flag("--verbose", verbose, "print one line per request");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!body_file.empty()) {
    std::ifstream in(body_file, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "coalesce_burst: cannot read {}\n", body_file);
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    body = text.str();
  }
  if (body.empty()) {
    fmt::print(stderr, "coalesce_burst: give --body or --body-file\n");
    return 2;
  }

  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n",
      path, host, port, body.size());
  for (const auto& h : headers) request += h + "\r\n";
  request += "\r\n" + body;

  const auto timeout = std::chrono::milliseconds(timeout_ms);
  const auto n = static_cast<std::size_t>(requests);
  std::vector<int> fds(n, -1);
  auto close_all = [&fds] {
    for (int& fd : fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  };
  const auto connect_start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    std::string error;
    fds[i] = Connect(host, static_cast<std::uint16_t>(port), timeout, error);
    if (fds[i] < 0) {
      fmt::print(stderr, "coalesce_burst: connection {}: {}\n", i, error);
      close_all();
      return 1;
    }
  }
  const auto connect_time = Clock::now() - connect_start;

  // Every worker and this thread arrive; the completion step stamps the
  // release time once, before any worker proceeds.
  Clock::time_point release;
  std::barrier start(static_cast<std::ptrdiff_t>(n + 1),
                     [&release]() noexcept { release = Clock::now(); });
  std::vector<Outcome> outcomes(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Outcome& out = outcomes[i];
      out.send_start = Clock::now();
      if (!SendAll(fds[i], request, out.error)) return;
      ReadResponse(fds[i], release + timeout, out);
    });
  }
  start.arrive_and_wait();
  for (auto& t : threads) t.join();
  close_all();

  std::vector<std::int64_t> latencies;
  std::map<std::string, int> by_status;
  int failed = 0;
  std::int64_t release_spread = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Outcome& o = outcomes[i];
    release_spread = std::max(release_spread, Micros(o.send_start - release));
    const bool ok = o.error.empty() && o.http_status >= 200 && o.http_status < 300;
    if (verbose) {
      fmt::print("request {} http={} gencache={} latency_us={} error='{}'\n", i, o.http_status,
                 o.gencache_status.empty() ? "-" : o.gencache_status,
                 o.error.empty() ? Micros(o.done - release) : -1, o.error);
    }
    if (!ok) {
      if (failed == 0) {
        fmt::print(stderr, "coalesce_burst: request {} failed: http {} {}\n", i, o.http_status,
                   o.error);
      }
      ++failed;
      continue;
    }
    latencies.push_back(Micros(o.done - release));
    ++by_status[o.gencache_status.empty() ? "none" : o.gencache_status];
  }
  std::sort(latencies.begin(), latencies.end());
  auto count = [&by_status](const char* word) {
    auto it = by_status.find(word);
    return it == by_status.end() ? 0 : it->second;
  };
  const int other =
      static_cast<int>(latencies.size()) - count("miss") - count("coalesced") - count("hit");
  fmt::print(
      "BURST requests={} ok={} failed={} miss={} coalesced={} hit={} other={} min_us={} "
      "p50_us={} p99_us={} max_us={} release_spread_us={} connect_us={}\n",
      n, latencies.size(), failed, count("miss"), count("coalesced"), count("hit"), other,
      latencies.empty() ? 0 : latencies.front(), Percentile(latencies, 50),
      Percentile(latencies, 99), latencies.empty() ? 0 : latencies.back(), release_spread,
      Micros(connect_time));
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
