#include "gencache/cli/commands.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "gencache/app/blob_backend.hpp"
#include "gencache/app/gateway_app.hpp"
#include "gencache/base/log.hpp"
#include "gencache/base/units.hpp"
#include "gencache/blob/blob_gc.hpp"
#include "gencache/budget/sqlite_ledger.hpp"
#include "gencache/cache/sqlite_store.hpp"
#include "gencache/config/options.hpp"
#include "gencache/neardup/evaluation.hpp"
#include "gencache/neardup/lexical_embedder.hpp"
#include "gencache/neardup/remote_embedder.hpp"
#include "gencache/pipeline/admin_api.hpp"
#include "gencache/pipeline/budget_policy.hpp"
#include "gencache/spend/report_format.hpp"
#include "gencache/spend/sqlite_spend_store.hpp"
#include "gencache/upstream/curl_http_client.hpp"

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

void ConfigureLogging(const config::Options& options) {
  base::InitLogging(options.log_level,
                    options.log_format == "text" ? base::LogFormat::kText : base::LogFormat::kJson);
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
  ConfigureLogging(*options);
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

struct ReportFlags {
  std::string by = "model";
  std::string from;
  std::string to;
  std::string format = "table";
};

// The data dir from --data-dir, else from --config, else the default.
std::string DataDirOf(const ConfigFlags& flags) {
  if (!flags.data_dir.empty()) return flags.data_dir;
  if (!flags.config_path.empty()) {
    if (auto options = config::LoadConfigFile(flags.config_path); options.ok()) {
      return options->data_dir;
    }
  }
  return config::Options{}.data_dir;
}

int Report(const ConfigFlags& flags, const ReportFlags& report) {
  auto group = spend::ParseGroupBy(report.by);
  if (!group.ok()) {
    std::fprintf(stderr, "gencache report: %s\n", std::string(group.status().message()).c_str());
    return 2;
  }
  base::SystemTime now = base::SystemClock::Instance().Now();
  base::SystemTime from = now - std::chrono::days{30};
  base::SystemTime to = now + std::chrono::seconds{1};
  for (auto [text, out] : {std::pair{&report.from, &from}, std::pair{&report.to, &to}}) {
    if (text->empty()) continue;
    auto t = pipeline::ParseTimeParam(*text);
    if (!t.ok()) {
      std::fprintf(stderr, "gencache report: %s\n", std::string(t.status().message()).c_str());
      return 2;
    }
    *out = *t;
  }
  std::filesystem::path path = std::filesystem::path(DataDirOf(flags)) / "spend.db";
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "gencache report: no spend data at %s\n", path.c_str());
    return 1;
  }
  auto store = spend::SqliteSpendStore::Open(path.string(), {});
  if (!store.ok()) {
    std::fprintf(stderr, "gencache report: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  auto summary = (*store)->Summarize(*group, from, to);
  if (!summary.ok()) {
    std::fprintf(stderr, "gencache report: %s\n", std::string(summary.status().message()).c_str());
    return 1;
  }
  if (report.format == "json") {
    std::printf("%s\n", spend::FormatSummaryJson(*summary).c_str());
  } else if (report.format == "csv") {
    std::printf("%s", spend::FormatSummaryCsv(*summary).c_str());
  } else {
    std::printf("%s", spend::FormatSummaryTable(*summary).c_str());
  }
  return 0;
}

int BudgetShow(const ConfigFlags& flags) {
  auto options = LoadWithOverrides(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "gencache: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  std::filesystem::path path = std::filesystem::path(options->data_dir) / "ledger.db";
  auto ledger = budget::SqliteLedger::Open(path.string());
  if (!ledger.ok()) {
    std::fprintf(stderr, "gencache budget: %s\n", std::string(ledger.status().message()).c_str());
    return 1;
  }
  std::vector<budget::ScopeLimit> scopes = pipeline::ScopesFor(options->budgets, "", "");
  std::erase_if(scopes, [](const auto& s) { return s.kind == budget::ScopeKind::kUserDay; });
  for (const auto& [model, limit] : options->budgets.per_model_daily) {
    scopes.push_back({.kind = budget::ScopeKind::kModelDay, .subject = model, .limit = limit});
  }
  auto balances = (*ledger)->Balances(scopes, base::SystemClock::Instance().Now());
  if (!balances.ok()) {
    std::fprintf(stderr, "gencache budget: %s\n", std::string(balances.status().message()).c_str());
    return 1;
  }
  std::printf("%-14s %-22s %-11s %12s %12s %12s  %s\n", "scope", "subject", "window", "spent",
              "reserved", "limit", "resets at");
  for (const auto& b : *balances) {
    std::printf("%-14s %-22s %-11s %12s %12s %12s  %s\n",
                std::string(budget::ToString(b.kind)).c_str(),
                b.subject.empty() ? "-" : b.subject.c_str(), b.window.c_str(),
                base::FormatUsdCents(b.spent).c_str(), base::FormatUsdCents(b.reserved).c_str(),
                base::FormatUsdCents(b.limit).c_str(), spend::FormatIsoTime(b.resets_at).c_str());
  }
  return 0;
}

// Deletes blobs no live entry of the data dir's cache references. Entries held
// only in a running gateway's memory are not visible here; the grace period
// keeps their (recent) blobs.
int CacheGc(const ConfigFlags& flags, const std::string& grace_text) {
  auto options = LoadWithOverrides(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "gencache: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  std::chrono::seconds grace = options->rehost.gc_grace;
  if (!grace_text.empty()) {
    auto parsed = base::ParseDuration(grace_text);
    if (!parsed.ok()) {
      std::fprintf(stderr, "gencache cache gc: --grace: %s\n",
                   std::string(parsed.status().message()).c_str());
      return 2;
    }
    grace = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
  }
  std::filesystem::path cache_path = std::filesystem::path(options->data_dir) / "cache.db";
  auto cache = cache::SqliteStore::Open(cache_path.string(), {});
  if (!cache.ok()) {
    std::fprintf(stderr, "gencache cache gc: %s\n", std::string(cache.status().message()).c_str());
    return 1;
  }
  auto blobs = app::OpenBlobStore(*options);
  if (!blobs.ok()) {
    std::fprintf(stderr, "gencache cache gc: %s\n", std::string(blobs.status().message()).c_str());
    return 1;
  }
  const base::SystemTime now = base::SystemClock::Instance().Now();
  auto references = [&](const std::function<void(std::string_view)>& visit) {
    return (*cache)->ForEachLive(now, [&](const cache::EntrySummary& entry) {
      for (const auto& sha : entry.blobs) visit(sha);
    });
  };
  auto report = blob::CollectGarbage(**blobs, references, now, grace);
  if (!report.ok()) {
    std::fprintf(stderr, "gencache cache gc: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf(
      "blobs: %llu (%s store); deleted %llu (%llu bytes); kept %llu referenced and %llu within "
      "the %llds grace period (%llu bytes); %llu errors\n",
      static_cast<unsigned long long>(report->blobs), std::string((*blobs)->kind()).c_str(),
      static_cast<unsigned long long>(report->deleted),
      static_cast<unsigned long long>(report->deleted_bytes),
      static_cast<unsigned long long>(report->referenced),
      static_cast<unsigned long long>(report->young), static_cast<long long>(grace.count()),
      static_cast<unsigned long long>(report->kept_bytes),
      static_cast<unsigned long long>(report->errors));
  return report->errors == 0 ? 0 : 1;
}

// Precision and recall of near-duplicate matching on the labelled sets, with
// the lexical embedder, or the remote one a --config names.
int NeardupEval(const ConfigFlags& flags, neardup::EvaluationOptions options) {
  std::unique_ptr<upstream::HttpClient> http;
  std::unique_ptr<neardup::Embedder> embedder;
  if (!flags.config_path.empty()) {
    auto config = config::LoadConfigFile(flags.config_path);
    if (!config.ok()) {
      std::fprintf(stderr, "gencache: %s\n", std::string(config.status().message()).c_str());
      return 2;
    }
    if (config->near_duplicate.remote) {
      const config::RemoteEmbedderSection& r = *config->near_duplicate.remote;
      const char* key = r.api_key_env.empty() ? nullptr : std::getenv(r.api_key_env.c_str());
      http = upstream::MakeCurlHttpClient();
      embedder = std::make_unique<neardup::RemoteEmbedder>(
          neardup::RemoteEmbedderOptions{
              .url = r.url, .model = r.model, .api_key = key != nullptr ? key : ""},
          *http);
    }
    if (options.threshold == 0.0f) {
      options.threshold = static_cast<float>(config->near_duplicate.threshold);
    }
  }
  if (embedder == nullptr) embedder = std::make_unique<neardup::LexicalEmbedder>();
  if (options.paws_file.empty() && std::filesystem::exists("data/neardup/paws-wiki-dev.tsv")) {
    options.paws_file = "data/neardup/paws-wiki-dev.tsv";
  }
  absl::Status status = neardup::RunEvaluation(options, *embedder, std::cout);
  if (http) http->Shutdown();
  if (!status.ok()) {
    std::fprintf(stderr, "gencache neardup eval: %s\n", std::string(status.message()).c_str());
    return 1;
  }
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

  ReportFlags report_flags;
  auto* report = app.add_subcommand("report", "Spend and savings from the data dir's spend log");
  report->add_option("--by", report_flags.by, "Group by model, user or day")
      ->check(CLI::IsMember({"model", "user", "day"}));
  report->add_option("--from", report_flags.from, "Start (2026-11-01, ISO time or Unix seconds)");
  report->add_option("--to", report_flags.to, "End, exclusive (default: now)");
  report->add_option("--format", report_flags.format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  report->add_option("--config", flags.config_path, "Read data_dir from this configuration");
  report->add_option("--data-dir", flags.data_dir, "Data directory");

  auto* budget = app.add_subcommand("budget", "Budget ledger commands");
  auto* budget_show = budget->add_subcommand("show", "Spent, reserved and limit of every scope");
  budget_show->add_option("--config", flags.config_path, "YAML configuration file")->required();
  budget_show->add_option("--data-dir", flags.data_dir, "Data directory override");
  budget->require_subcommand(1);

  auto* cache = app.add_subcommand("cache", "Cache maintenance commands");
  auto* cache_gc = cache->add_subcommand(
      "gc", "Delete re-hosted blobs that no live cache entry references (after a grace period)");
  std::string gc_grace;
  cache_gc->add_option("--config", flags.config_path, "YAML configuration file")->required();
  cache_gc->add_option("--data-dir", flags.data_dir, "Data directory override");
  cache_gc->add_option("--grace", gc_grace,
                       "Keep unreferenced blobs younger than this (default: rehost.gc_grace)");
  cache->require_subcommand(1);

  auto* neardup = app.add_subcommand("neardup", "Near-duplicate matching commands");
  auto* neardup_eval = neardup->add_subcommand(
      "eval", "Precision, recall and false merges per category on the labelled prompt pairs");
  neardup::EvaluationOptions eval_options;
  neardup_eval->add_option("--threshold", eval_options.threshold,
                           "Cosine threshold of the per-category tables (default: the "
                           "configured or built-in default)");
  neardup_eval->add_flag("--sweep", eval_options.sweep,
                         "Also sweep thresholds 0.50-1.00 and print the one the rule chooses");
  neardup_eval->add_option("--pairs", eval_options.pairs_file, "Labelled pairs (TSV)")
      ->capture_default_str();
  neardup_eval->add_option("--paws", eval_options.paws_file,
                           "PAWS-Wiki pairs (default: data/neardup/paws-wiki-dev.tsv if present)");
  neardup_eval->add_option("--examples", eval_options.show_examples,
                           "List up to N false and missed merges per set");
  neardup_eval->add_option("--config", flags.config_path,
                           "Take the embedder and threshold from this configuration");
  neardup->require_subcommand(1);

  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) return Serve(flags);
  if (check->parsed()) return CheckConfig(flags);
  if (report->parsed()) return Report(flags, report_flags);
  if (budget_show->parsed()) return BudgetShow(flags);
  if (cache_gc->parsed()) return CacheGc(flags, gc_grace);
  if (neardup_eval->parsed()) return NeardupEval(flags, eval_options);
  return 1;
}

}  // namespace gencache::cli
