#include "tests/support/s3_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"

#ifndef GENCACHE_S3RVER_JS
#error "GENCACHE_S3RVER_JS must name s3rver's bin/s3rver.js"
#endif
#ifndef GENCACHE_S3RVER_SIGV4_JS
#error "GENCACHE_S3RVER_SIGV4_JS must name tests/support/s3rver_sigv4.js"
#endif
#ifndef GENCACHE_NODE_EXECUTABLE
#define GENCACHE_NODE_EXECUTABLE "node"
#endif

namespace gencache::testing {
namespace {

std::string Errno() { return std::error_code(errno, std::generic_category()).message(); }

// The node binary: the one CMake found, else the first on PATH.
std::string FindNode() {
  const std::string configured = GENCACHE_NODE_EXECUTABLE;
  if (configured.find('/') != std::string::npos && ::access(configured.c_str(), X_OK) == 0) {
    return configured;
  }
  const char* path = ::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const std::string candidate = fmt::format("{}/node", dirs.substr(0, colon));
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

// Ends `pid` (which this process started) and reaps it.
void Terminate(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 500; ++i) {  // up to 5 s
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3Server>> S3Server::Start(S3ServerOptions options) {
  const std::filesystem::path s3rver_js = GENCACHE_S3RVER_JS;
  const std::filesystem::path module_dir = s3rver_js.parent_path().parent_path();
  if (!std::filesystem::exists(s3rver_js)) {
    return absl::FailedPreconditionError(
        fmt::format("s3rver is not installed ({} is missing): run `npm ci` in tests/e2e "
                    "(scripts/install-deps.sh does)",
                    s3rver_js.string()));
  }
  if (!std::filesystem::exists(GENCACHE_S3RVER_SIGV4_JS)) {
    return absl::FailedPreconditionError(fmt::format("{} is missing", GENCACHE_S3RVER_SIGV4_JS));
  }
  const std::string node = FindNode();
  if (node.empty()) {
    return absl::FailedPreconditionError("node is not installed (s3rver needs it)");
  }

  std::string data_dir = "/tmp/gencache-s3rver-XXXXXX";
  if (::mkdtemp(data_dir.data()) == nullptr) {
    return absl::InternalError(fmt::format("mkdtemp: {}", Errno()));
  }
  auto remove_data = [&data_dir] {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir, ignored);
  };

  // s3rver makes its continuation tokens with DES, which node's OpenSSL 3
  // offers only with the legacy provider.
  std::vector<std::string> args = {node,
                                   "--openssl-legacy-provider",
                                   GENCACHE_S3RVER_SIGV4_JS,
                                   "--s3rver-module",
                                   module_dir.string(),
                                   "--directory",
                                   data_dir,
                                   "--address",
                                   "127.0.0.1",
                                   "--port",
                                   "0",
                                   "--bucket",
                                   options.bucket,
                                   "--access-key",
                                   options.access_key,
                                   "--secret-key",
                                   options.secret_key,
                                   "--region",
                                   options.region};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    remove_data();
    return absl::InternalError(fmt::format("pipe: {}", Errno()));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    remove_data();
    return absl::InternalError(fmt::format("fork: {}", Errno()));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(out[1], STDOUT_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);

  // Wait for "listening PORT\n".
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{.fd = out[0], .events = POLLIN, .revents = 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    char buffer[256];
    const ssize_t n = ready > 0 ? ::read(out[0], buffer, sizeof buffer) : -1;
    if (n <= 0) {
      ::close(out[0]);
      Terminate(pid);
      remove_data();
      return absl::UnavailableError(
          n == 0
              ? fmt::format("s3rver exited before listening (see its stderr above)")
              : fmt::format("s3rver did not listen within {} ms", options.start_timeout.count()));
    }
    line.append(buffer, static_cast<std::size_t>(n));
  }
  line.resize(line.find('\n'));
  std::uint32_t port = 0;
  if (!line.starts_with("listening ") || !absl::SimpleAtoi(line.substr(10), &port) || port == 0 ||
      port > 65535) {
    ::close(out[0]);
    Terminate(pid);
    remove_data();
    return absl::UnavailableError(fmt::format("unexpected s3rver output: {}", line));
  }
  return std::unique_ptr<S3Server>(new S3Server(
      std::move(options), pid, out[0], std::move(data_dir), static_cast<std::uint16_t>(port)));
}

S3Server::S3Server(S3ServerOptions options, pid_t pid, int stdout_fd, std::string data_dir,
                   std::uint16_t port)
    : options_(std::move(options)),
      pid_(pid),
      stdout_fd_(stdout_fd),
      data_dir_(std::move(data_dir)),
      port_(port) {}

S3Server::~S3Server() { Stop(); }

std::string S3Server::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

void S3Server::Stop() {
  if (pid_ > 0) {
    Terminate(pid_);
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  if (!data_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
    data_dir_.clear();
  }
}

}  // namespace gencache::testing
