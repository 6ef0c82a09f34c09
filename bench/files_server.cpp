// files_server: the /files/ handler alone behind gencache's HTTP server, for
// bench/files.sh. It stores the files named by --import in a LocalBlobStore
// under --dir (printing "blob <sha256> <size>" for each), then serves
// GET/HEAD /files/<sha256>[.<ext>] with files::FilesHandler exactly as the
// gateway does, until SIGTERM or SIGINT. Every other path is 404.
//
// Output: the "blob" lines, then "listening on <host>:<port>" on stdout.
// Exit status 0 after a clean stop, 1 on errors, 2 on bad arguments.

#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/base/worker_pool.hpp"
#include "gencache/blob/local_blob_store.hpp"
#include "gencache/files/files_handler.hpp"
#include "gencache/http/error_mapping.hpp"
#include "gencache/http/server.hpp"

namespace {

namespace blob = gencache::blob;
namespace files = gencache::files;
namespace http = gencache::http;

class FilesRoute final : public http::Handler {
 public:
  explicit FilesRoute(const files::FilesHandler& files) : files_(files) {}

  void Handle(http::Request request, http::Respond respond) override {
    constexpr std::string_view kPrefix = "/files/";
    if (request.path.compare(0, kPrefix.size(), kPrefix) != 0) {
      http::Response r;
      r.status = 404;
      r.body = R"({"error":{"code":"not_found","message":"no such route"}})";
      respond(std::move(r));
      return;
    }
    const std::string name = request.path.substr(kPrefix.size());
    files_.Handle(request, name, std::move(respond));
  }

  http::Response Reject(std::string_view, const absl::Status& error) override {
    http::Response r;
    r.status = http::RequestErrorStatus(error);
    r.body = fmt::format(R"({{"error":{{"code":"{}"}}}})", http::ErrorCodeFor(r.status));
    return r;
  }

 private:
  const files::FilesHandler& files_;
};

int Import(blob::BlobStore& store, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "cannot read {}\n", path);
    return 1;
  }
  auto writer = store.NewWriter();
  if (!writer.ok()) {
    fmt::print(stderr, "{}\n", writer.status().ToString());
    return 1;
  }
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    if (auto s = (*writer)->Append(std::string_view(buffer.data(), n)); !s.ok()) {
      fmt::print(stderr, "{}\n", s.ToString());
      return 1;
    }
  }
  auto info = (*writer)->Commit();
  if (!info.ok()) {
    fmt::print(stderr, "{}\n", info.status().ToString());
    return 1;
  }
  fmt::print("blob {} {}\n", info->sha256, info->size);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serves /files/ from a local blob directory (bench/files.sh)"};
  std::string dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int threads = 2;
  std::vector<std::string> imports;
  app.add_option("--dir", dir, "blob directory")->required();
  app.add_option("--host", host, "listen address");
  app.add_option("--port", port, "listen port (0: any free port)");
  app.add_option("--threads", threads, "event loops")->check(CLI::Range(1, 256));
  app.add_option("--import", imports, "files to store before serving");
  CLI11_PARSE(app, argc, argv);

  // Blocked before any thread starts, so every thread inherits the mask and
  // sigwait below is the only receiver.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto store = blob::LocalBlobStore::Create(dir);
  if (!store.ok()) {
    fmt::print(stderr, "{}\n", store.status().ToString());
    return 1;
  }
  for (const std::string& path : imports) {
    if (Import(**store, path) != 0) return 1;
  }
  gencache::base::WorkerPool pool(1);
  files::FilesHandler files(**store, pool);
  FilesRoute route(files);
  auto server = http::Server::Start({.host = host, .port = port, .threads = threads}, route);
  if (!server.ok()) {
    fmt::print(stderr, "{}\n", server.status().ToString());
    return 1;
  }
  fmt::print("listening on {}:{}\n", host, (*server)->port());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Stop();
  return 0;
}
