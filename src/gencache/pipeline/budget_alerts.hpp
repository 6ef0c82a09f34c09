#pragma once

#include <set>
#include <span>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/timer_queue.hpp"
#include "gencache/budget/budget_ledger.hpp"
#include "gencache/config/options.hpp"
#include "gencache/upstream/http_client.hpp"

namespace gencache::pipeline {

// Budget alerts: when a scope's spend crosses one of
// budgets.alert_thresholds (a fraction of its limit), logs a warning and,
// with budgets.alert_webhook set, POSTs a JSON event there, retrying a few
// times with back-off. Once per threshold per scope window: thresholds
// already crossed when the process starts are not announced again.
//
// Check reads the ledger (blocking: call it off the event loops, after the
// request has been answered); the webhook is asynchronous and never delays
// a request. Thread-safe.
class BudgetAlerts {
 public:
  BudgetAlerts(const config::BudgetSection& budgets, budget::BudgetLedger& ledger,
               upstream::HttpClient& http, base::TimerQueue& timers);

  // Marks thresholds that `scopes` have already crossed at `now` as
  // announced. Called at start-up with every configured global scope.
  void Prime(std::span<const budget::ScopeLimit> scopes, base::SystemTime now);

  // Announces every threshold `scopes` crossed since the last check.
  void Check(std::span<const budget::ScopeLimit> scopes, base::SystemTime now);

  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t announced() const { return announced_.load(); }

 private:
  using Mark = std::tuple<budget::ScopeKind, std::string, std::string, double>;
  void Deliver(std::string body, int attempt);

  const config::BudgetSection& budgets_;
  budget::BudgetLedger& ledger_;
  upstream::HttpClient& http_;
  base::TimerQueue& timers_;
  absl::Mutex mu_;
  std::set<Mark> marks_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> announced_{0};
};

}  // namespace gencache::pipeline
