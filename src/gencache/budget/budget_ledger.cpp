#include "gencache/budget/budget_ledger.hpp"

#include <fmt/format.h>

#include <chrono>

#include "gencache/base/check.hpp"
#include "gencache/budget/ledger_checks.hpp"

namespace gencache::budget {

std::string_view ToString(ScopeKind kind) {
  // Named after the config keys (daily_usd, per_user_daily_usd, ...); these
  // strings reach clients in 429 bodies, so they are part of the API.
  switch (kind) {
    case ScopeKind::kGlobalDay:
      return "daily";
    case ScopeKind::kUserDay:
      return "user_daily";
    case ScopeKind::kModelDay:
      return "model_daily";
    case ScopeKind::kGlobalMonth:
      return "monthly";
  }
  GENCACHE_CHECK(false && "unknown ScopeKind");
  return "";
}

namespace {

bool IsMonthly(ScopeKind kind) { return kind == ScopeKind::kGlobalMonth; }

}  // namespace

std::string WindowOf(ScopeKind kind, base::SystemTime now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  const int year = static_cast<int>(ymd.year());
  const unsigned month = static_cast<unsigned>(ymd.month());
  if (IsMonthly(kind)) return fmt::format("{:04}-{:02}", year, month);
  return fmt::format("{:04}-{:02}-{:02}", year, month, static_cast<unsigned>(ymd.day()));
}

base::SystemTime WindowEnd(ScopeKind kind, base::SystemTime now) {
  const std::chrono::sys_days today = std::chrono::floor<std::chrono::days>(now);
  if (!IsMonthly(kind)) return today + std::chrono::days{1};
  const std::chrono::year_month_day ymd{today};
  const std::chrono::year_month next = ymd.year() / ymd.month() + std::chrono::months{1};
  return std::chrono::sys_days{next / 1};
}

absl::Status ValidateReserve(std::span<const ScopeLimit> scopes, base::Money amount) {
  if (amount.micros < 0) {
    return absl::InvalidArgumentError(
        fmt::format("budget: cannot reserve a negative amount ({} micro-USD)", amount.micros));
  }
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    for (std::size_t j = i + 1; j < scopes.size(); ++j) {
      if (scopes[i].kind == scopes[j].kind && scopes[i].subject == scopes[j].subject) {
        return absl::InvalidArgumentError(fmt::format("budget: scope {} '{}' is given twice",
                                                      ToString(scopes[i].kind), scopes[i].subject));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateActual(base::Money actual) {
  if (actual.micros >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("budget: cannot settle at a negative cost ({} micro-USD)", actual.micros));
}

ScopeBalance MakeBalance(const ScopeLimit& scope, base::SystemTime now, base::Money spent,
                         base::Money reserved) {
  return ScopeBalance{.kind = scope.kind,
                      .subject = scope.subject,
                      .window = WindowOf(scope.kind, now),
                      .spent = spent,
                      .reserved = reserved,
                      .limit = scope.limit,
                      .resets_at = WindowEnd(scope.kind, now)};
}

}  // namespace gencache::budget
