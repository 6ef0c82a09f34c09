#include "gencache/cli/commands.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "gencache/app/gateway_app.hpp"
#include "gencache/config/options.hpp"

namespace gencache::cli {
namespace {

constexpr char kVersion[] = "0.1.0";

struct ConfigFlags {
  std::string config_path;
  std::string listen;
  std::string data_dir;
};

absl::StatusOr<config::Options> LoadWithOverrides(const ConfigFlags& flags) {
  auto options = config::LoadConfigFile(flags.config_path);
  if (!options.ok()) return options.status();
  if (!flags.listen.empty()) {
    absl::Status s = config::ParseListen(flags.listen, options->listen_host, options->listen_port);
    if (!s.ok()) return s;
  }
  if (!flags.data_dir.empty()) options->data_dir = flags.data_dir;
  return options;
}

void ConfigureLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("gencache");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
}

int Serve(const ConfigFlags& flags) {
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto options = LoadWithOverrides(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "gencache: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  ConfigureLogging(options->log_level);
  auto app = app::GatewayApp::Start(*options);
  if (!app.ok()) {
    spdlog::critical("cannot start: {}", std::string(app.status().message()));
    return 1;
  }
  // Printed whatever the log level: scripts wait for this line.
  std::fprintf(stderr, "gencache %s listening on %s:%u (data_dir %s)\n", kVersion,
               options->listen_host.c_str(), (*app)->port(), options->data_dir.c_str());
  std::fflush(stderr);
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
  (*app)->Stop();
  spdlog::info("stopped");
  return 0;
}

int CheckConfig(const ConfigFlags& flags) {
  auto options = LoadWithOverrides(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  std::printf("configuration OK: %zu provider(s), listen %s:%u, data_dir %s\n",
              options->providers.size(), options->listen_host.c_str(), options->listen_port,
              options->data_dir.c_str());
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"gencache: a caching and cost-control gateway for AI generation APIs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);

  ConfigFlags flags;
  auto* serve = app.add_subcommand("serve", "Run the gateway until SIGINT/SIGTERM");
  serve->add_option("--config", flags.config_path, "YAML configuration file")->required();
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (overrides `listen`)");
  serve->add_option("--data-dir", flags.data_dir, "Data directory (overrides `data_dir`)");

  auto* check = app.add_subcommand("check-config", "Validate a configuration file and exit");
  check->add_option("--config", flags.config_path, "YAML configuration file")->required();
  check->add_option("--listen", flags.listen, "HOST:PORT override to validate");
  check->add_option("--data-dir", flags.data_dir, "Data directory override");

  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) return Serve(flags);
  if (check->parsed()) return CheckConfig(flags);
  return 1;
}

}  // namespace gencache::cli
