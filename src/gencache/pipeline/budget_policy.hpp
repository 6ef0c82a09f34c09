#pragma once

#include <string_view>
#include <vector>

#include "gencache/base/clock.hpp"
#include "gencache/budget/budget_ledger.hpp"
#include "gencache/config/options.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::pipeline {

// Every limit that applies to one request of `user` for `model`, in the
// order a denial names them: global day, user day, model day, month.
std::vector<budget::ScopeLimit> ScopesFor(const config::BudgetSection& budgets,
                                          std::string_view user, std::string_view model);

// The 429 a denied request gets, in any provider's shape: type
// "budget_exceeded", the scope, spent, limit and reset time, and the message
// "Daily budget exceeded ($X / $Y). Service paused until midnight UTC." (or
// the scope's equivalent).
providers::ClientError DenialError(const budget::Denial& denial);

// Seconds until the denying scope resets, at least 1 (for Retry-After).
long long RetryAfterSeconds(const budget::Denial& denial, base::SystemTime now);

}  // namespace gencache::pipeline
