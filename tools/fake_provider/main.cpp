// fake_provider: serves the Skytells, Replicate and OpenAI image APIs on a
// loopback port for tests and the demo. See docs/fake-provider.md.

#include <fmt/format.h>
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "fake_provider/fake_provider.hpp"
#include "gencache/base/clock.hpp"
#include "gencache/base/units.hpp"
#include "gencache/http/server.hpp"

namespace {

using gencache::fake_provider::FakeProvider;
using gencache::fake_provider::FakeProviderOptions;

bool ParseListen(const std::string& listen, std::string& host, std::uint16_t& port) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = listen.substr(0, colon);
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return false;
  unsigned long value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

int Run(int argc, char** argv) {
  CLI::App app{"Fake Skytells / Replicate / OpenAI provider for gencache tests"};
  std::string listen = "127.0.0.1:0";
  std::string latency = "0ms";
  bool async = false;
  int async_steps = 2;
  std::string url_ttl = "1h";
  std::string public_host;
  int threads = 2;
  std::uint64_t output_bytes = 4096;
  app.add_option("--listen", listen, "host:port to bind (port 0 picks a free port)");
  app.add_option("--latency", latency, "time from create to a finished prediction, e.g. 300ms");
  app.add_flag("--async", async, "creates answer starting/pending; clients poll");
  app.add_option("--async-steps", async_steps, "phases of an async prediction (>= 1)")
      ->check(CLI::Range(1, 100));
  app.add_option("--url-ttl", url_ttl, "lifetime of output URLs, e.g. 1h");
  app.add_option("--public-host", public_host, "host written into URLs (default: listen host)");
  app.add_option("--threads", threads, "server event loops")->check(CLI::Range(1, 64));
  app.add_option("--output-bytes", output_bytes, "size of each output file in bytes")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::string host;
  std::uint16_t port = 0;
  if (!ParseListen(listen, host, port)) {
    fmt::print(stderr, "fake_provider: --listen must be host:port, got '{}'\n", listen);
    return 2;
  }
  auto latency_ms = gencache::base::ParseDuration(latency);
  auto url_ttl_ms = gencache::base::ParseDuration(url_ttl);
  if (!latency_ms.ok() || !url_ttl_ms.ok()) {
    fmt::print(
        stderr, "fake_provider: bad duration: {}\n",
        std::string((latency_ms.ok() ? url_ttl_ms.status() : latency_ms.status()).message()));
    return 2;
  }

  // Block the stop signals in every thread (the server's loops inherit the
  // mask) so that sigwait below is the only place they are delivered. A
  // shell starts background jobs with SIGINT ignored, and an ignored signal
  // is discarded rather than left pending, so restore the default first.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FakeProviderOptions options;
  options.latency = *latency_ms;
  options.async = async;
  options.async_steps = async_steps;
  options.url_ttl = *url_ttl_ms;
  options.public_host = public_host.empty() ? host : public_host;
  options.output_bytes = output_bytes;
  FakeProvider provider(std::move(options), gencache::base::SystemClock::Instance());

  gencache::http::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.threads = threads;
  auto server = gencache::http::Server::Start(server_options, provider);
  if (!server.ok()) {
    fmt::print(stderr, "fake_provider: cannot listen on {}: {}\n", listen,
               std::string(server.status().message()));
    return 1;
  }
  provider.SetPublicPort((*server)->port());
  fmt::print("fake-provider listening on {}:{}\n", host, (*server)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  provider.Drain();
  (*server)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
