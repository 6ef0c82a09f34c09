#include "gencache/pipeline/budget_policy.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace gencache::pipeline {

std::vector<budget::ScopeLimit> ScopesFor(const config::BudgetSection& budgets,
                                          std::string_view user, std::string_view model) {
  std::vector<budget::ScopeLimit> scopes;
  if (budgets.daily) {
    scopes.push_back(
        {.kind = budget::ScopeKind::kGlobalDay, .subject = "", .limit = *budgets.daily});
  }
  if (budgets.per_user_daily) {
    scopes.push_back({.kind = budget::ScopeKind::kUserDay,
                      .subject = std::string(user),
                      .limit = *budgets.per_user_daily});
  }
  if (auto it = budgets.per_model_daily.find(std::string(model));
      it != budgets.per_model_daily.end()) {
    scopes.push_back(
        {.kind = budget::ScopeKind::kModelDay, .subject = std::string(model), .limit = it->second});
  }
  if (budgets.monthly) {
    scopes.push_back(
        {.kind = budget::ScopeKind::kGlobalMonth, .subject = "", .limit = *budgets.monthly});
  }
  return scopes;
}

providers::ClientError DenialError(const budget::Denial& denial) {
  const budget::ScopeBalance& s = denial.scope;
  std::string what;
  std::string until = "midnight UTC";
  switch (s.kind) {
    case budget::ScopeKind::kGlobalDay:
      what = "Daily budget";
      break;
    case budget::ScopeKind::kUserDay:
      what = fmt::format("Daily budget of user {}", s.subject);
      break;
    case budget::ScopeKind::kModelDay:
      what = fmt::format("Daily budget of model {}", s.subject);
      break;
    case budget::ScopeKind::kGlobalMonth:
      what = "Monthly budget";
      until = "the first of next month (UTC)";
      break;
  }
  // Spent here includes what is reserved by calls still running: that money
  // is committed as far as the limit is concerned.
  base::Money committed = s.spent + s.reserved;
  providers::ClientError error{
      .http_status = 429,
      .code = "budget_exceeded",
      .type = "budget_exceeded",
      .message = fmt::format("{} exceeded ({} / {}). Service paused until {}.", what,
                             base::FormatUsdCents(committed), base::FormatUsdCents(s.limit), until),
  };
  error.text_fields = {
      {"scope", std::string(budget::ToString(s.kind))},
      {"resets_at",
       fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(s.resets_at))},
  };
  if (!s.subject.empty()) error.text_fields.emplace_back("subject", s.subject);
  error.number_fields = {
      {"spent_usd", s.spent.Usd()},
      {"reserved_usd", s.reserved.Usd()},
      {"limit_usd", s.limit.Usd()},
      {"requested_usd", denial.requested.Usd()},
  };
  return error;
}

long long RetryAfterSeconds(const budget::Denial& denial, base::SystemTime now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(denial.scope.resets_at - now);
  return std::max<long long>(1, left.count());
}

}  // namespace gencache::pipeline
