#include "tests/support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace gencache::testing {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

RawConnection::RawConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string RawConnection::ReadResponse() {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto head_end = pending_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = pending_.substr(0, head_end + 4);
      std::size_t length = std::strtoul(HeaderOf(head, "Content-Length").c_str(), nullptr, 10);
      if (pending_.size() >= head.size() + length) {
        std::string response = pending_.substr(0, head.size() + length);
        pending_.erase(0, response.size());
        return response;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return "";
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

bool RawConnection::WaitClosed() {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
}

int StatusOf(std::string_view response) {
  if (response.size() < 12) return 0;
  return std::atoi(std::string(response.substr(9, 3)).c_str());
}

std::string HeaderOf(std::string_view response, std::string_view name) {
  std::size_t pos = response.find("\r\n");
  std::size_t head_end = response.find("\r\n\r\n");
  while (pos != std::string_view::npos && pos < head_end) {
    std::size_t line_start = pos + 2;
    std::size_t line_end = response.find("\r\n", line_start);
    std::string_view line = response.substr(line_start, line_end - line_start);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && IEquals(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    pos = line_end;
  }
  return "";
}

std::string BodyOf(std::string_view response) {
  std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return "";
  return std::string(response.substr(head_end + 4));
}

std::string RoundTrip(std::uint16_t port, std::string_view request) {
  RawConnection conn(port);
  if (!conn.connected() || !conn.Send(request)) return "";
  return conn.ReadResponse();
}

}  // namespace gencache::testing
