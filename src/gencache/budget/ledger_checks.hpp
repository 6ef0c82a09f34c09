#pragma once

#include <span>

#include "absl/status/status.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/money.hpp"
#include "gencache/budget/budget_ledger.hpp"

namespace gencache::budget {

// Argument checks and helpers every BudgetLedger backend shares, so they
// refuse and report the same way. Internal to the budget folder.

// InvalidArgument when `amount` is negative or a (kind, subject) repeats:
// both would make the all-or-nothing check meaningless.
absl::Status ValidateReserve(std::span<const ScopeLimit> scopes, base::Money amount);

// InvalidArgument when a settled cost is negative.
absl::Status ValidateActual(base::Money actual);

// `scope` in the window containing `now`, with the given totals.
ScopeBalance MakeBalance(const ScopeLimit& scope, base::SystemTime now, base::Money spent,
                         base::Money reserved);

// Whether reserving `amount` more keeps `balance` within its limit.
inline bool Fits(const ScopeBalance& balance, base::Money amount) {
  return balance.spent + balance.reserved + amount <= balance.limit;
}

}  // namespace gencache::budget
