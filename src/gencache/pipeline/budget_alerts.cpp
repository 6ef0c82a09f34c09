#include "gencache/pipeline/budget_alerts.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "gencache/spend/report_format.hpp"

namespace gencache::pipeline {
namespace {

constexpr int kMaxAttempts = 4;

}  // namespace

BudgetAlerts::BudgetAlerts(const config::BudgetSection& budgets, budget::BudgetLedger& ledger,
                           upstream::HttpClient& http, base::TimerQueue& timers)
    : budgets_(budgets), ledger_(ledger), http_(http), timers_(timers) {}

void BudgetAlerts::Prime(std::span<const budget::ScopeLimit> scopes, base::SystemTime now) {
  auto balances = ledger_.Balances(scopes, now);
  if (!balances.ok()) return;
  absl::MutexLock lock(&mu_);
  for (const budget::ScopeBalance& b : *balances) {
    for (double t : budgets_.alert_thresholds) {
      if (b.limit.micros > 0 &&
          static_cast<double>(b.spent.micros) >= t * static_cast<double>(b.limit.micros)) {
        marks_.emplace(b.kind, b.subject, b.window, t);
      }
    }
  }
}

void BudgetAlerts::Check(std::span<const budget::ScopeLimit> scopes, base::SystemTime now) {
  if (budgets_.alert_thresholds.empty() || scopes.empty()) return;
  auto balances = ledger_.Balances(scopes, now);
  if (!balances.ok()) {
    spdlog::warn("budget alerts: cannot read balances: {}",
                 std::string(balances.status().message()));
    return;
  }
  for (const budget::ScopeBalance& b : *balances) {
    if (b.limit.micros <= 0) continue;
    double fraction = static_cast<double>(b.spent.micros) / static_cast<double>(b.limit.micros);
    for (double t : budgets_.alert_thresholds) {
      if (fraction < t) continue;
      {
        absl::MutexLock lock(&mu_);
        if (!marks_.emplace(b.kind, b.subject, b.window, t).second) continue;
      }
      announced_.fetch_add(1);
      std::string scope(budget::ToString(b.kind));
      spdlog::warn("budget alert: {}{}{} reached {:.0f}% of its limit ({} of {}, window {})", scope,
                   b.subject.empty() ? "" : " ", b.subject, t * 100, base::FormatUsdCents(b.spent),
                   base::FormatUsdCents(b.limit), b.window);
      if (budgets_.alert_webhook.empty()) continue;
      boost::json::object event{
          {"event_type", "budget_threshold"},
          {"scope", scope},
          {"subject", b.subject},
          {"window", b.window},
          {"threshold", t},
          {"spent_usd", b.spent.Usd()},
          {"reserved_usd", b.reserved.Usd()},
          {"limit_usd", b.limit.Usd()},
          {"resets_at", spend::FormatIsoTime(b.resets_at)},
          {"ts", spend::FormatIsoTime(now)},
      };
      Deliver(boost::json::serialize(event), 1);
    }
  }
}

void BudgetAlerts::Deliver(std::string body, int attempt) {
  upstream::UpstreamRequest request{
      .method = "POST",
      .url = budgets_.alert_webhook,
      .headers = {{"Content-Type", "application/json"}},
      .body = body,
      .timeout = std::chrono::seconds(10),
      .max_response_bytes = 64 * 1024,
  };
  http_.Send(std::move(request),
             [this, body, attempt](absl::StatusOr<upstream::UpstreamResponse> answer) {
               if (answer.ok() && answer->status >= 200 && answer->status < 300) {
                 sent_.fetch_add(1);
                 return;
               }
               if (answer.status().code() == absl::StatusCode::kCancelled) return;  // shutting down
               std::string why = answer.ok() ? fmt::format("HTTP {}", answer->status)
                                             : std::string(answer.status().message());
               if (attempt >= kMaxAttempts) {
                 spdlog::error("budget alert webhook failed after {} attempts: {}", attempt, why);
                 return;
               }
               spdlog::warn("budget alert webhook attempt {} failed ({}); retrying", attempt, why);
               timers_.RunAfter(std::chrono::seconds(1) * (1 << (attempt - 1)),
                                [this, body, attempt] { Deliver(body, attempt + 1); });
             });
}

}  // namespace gencache::pipeline
