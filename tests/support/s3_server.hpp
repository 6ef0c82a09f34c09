#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gencache::testing {

struct S3ServerOptions {
  std::string bucket = "gencache-test";
  // The only credentials the server accepts (s3rver's defaults).
  std::string access_key = "S3RVER";
  std::string secret_key = "S3RVER";
  std::string region = "us-east-1";
  // How long to wait for the server to listen.
  std::chrono::milliseconds start_timeout{20'000};
};

// A real S3-compatible server for tests: s3rver 3.7.1 (installed by `npm ci`
// in tests/e2e) run by node behind tests/support/s3rver_sigv4.js, which
// verifies every request's AWS Signature V4 (s3rver alone only checks the
// access key id). It listens on 127.0.0.1 on a port the OS picks, keeps its
// objects in a fresh directory under /tmp, and is stopped by its pid (SIGTERM,
// then SIGKILL) on Stop() or destruction; it also dies with the test process.
// Not thread-safe.
class S3Server {
 public:
  // Errors: FailedPrecondition when node or s3rver is missing (the message
  // says how to install it); Unavailable when it does not start in time.
  static absl::StatusOr<std::unique_ptr<S3Server>> Start(S3ServerOptions options = {});

  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // "http://127.0.0.1:PORT".
  std::string endpoint() const;
  std::uint16_t port() const { return port_; }
  const S3ServerOptions& options() const { return options_; }
  pid_t pid() const { return pid_; }

  // Stops the server and removes its data. Idempotent.
  void Stop();

 private:
  S3Server(S3ServerOptions options, pid_t pid, int stdout_fd, std::string data_dir,
           std::uint16_t port);

  S3ServerOptions options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string data_dir_;
  std::uint16_t port_ = 0;
};

}  // namespace gencache::testing
