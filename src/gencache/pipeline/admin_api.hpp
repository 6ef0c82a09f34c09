#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/budget/budget_ledger.hpp"
#include "gencache/config/options.hpp"
#include "gencache/http/message.hpp"
#include "gencache/spend/spend_event.hpp"

namespace gencache::pipeline {

// "2026-11-26", "2026-11-26T10:00:00Z" or Unix seconds -> a time point.
absl::StatusOr<base::SystemTime> ParseTimeParam(std::string_view text);

// The value of query parameter `name` (percent-decoded), if present.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

// The read-only admin API over the spend store and the ledger:
//   GET /v1/spend/summary?group_by=model|user|day&from=&to=
//   GET /v1/spend/events?from=&to=&model=&user=&status=&limit=&offset=
//   GET /v1/spend/timeseries?bucket=day|hour&from=&to=
//   GET /v1/budgets[?user=ID]
// Blocking (it reads SQLite): call it off the event loops. Answers 404 for
// other paths and 400 for bad parameters; never throws.
http::Response HandleAdminApi(const http::Request& request, const config::Options& options,
                              spend::SpendStore& spend, budget::BudgetLedger& ledger,
                              base::SystemTime now);

// {"scopes":[{"scope","subject","window","spent_usd","reserved_usd","limit_usd",
// "remaining_usd","resets_at"}]}
std::string FormatBudgetsJson(const std::vector<budget::ScopeBalance>& balances);

}  // namespace gencache::pipeline
