#include "gencache/budget/memory_ledger.hpp"

#include <fmt/format.h>

#include <utility>

#include "gencache/base/check.hpp"
#include "gencache/budget/ledger_checks.hpp"

namespace gencache::budget {

absl::StatusOr<std::variant<ReservationId, Denial>> MemoryLedger::Reserve(
    std::span<const ScopeLimit> scopes, base::Money amount, base::SystemTime now) {
  if (absl::Status s = ValidateReserve(scopes, amount); !s.ok()) return s;
  std::vector<BalanceKey> keys;
  keys.reserve(scopes.size());
  for (const ScopeLimit& scope : scopes) {
    keys.emplace_back(scope.kind, scope.subject, WindowOf(scope.kind, now));
  }

  absl::MutexLock lock(&mu_);
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    Totals totals;
    if (auto it = balances_.find(keys[i]); it != balances_.end()) totals = it->second;
    ScopeBalance balance = MakeBalance(scopes[i], now, totals.spent, totals.reserved);
    if (!Fits(balance, amount)) return Denial{.scope = std::move(balance), .requested = amount};
  }
  for (const BalanceKey& key : keys) balances_[key].reserved += amount;
  const ReservationId id = next_id_++;
  open_.emplace(id, Hold{.amount = amount, .keys = std::move(keys)});
  return id;
}

void MemoryLedger::CloseLocked(const Hold& hold, base::Money actual) {
  for (const BalanceKey& key : hold.keys) {
    auto it = balances_.find(key);
    GENCACHE_CHECK(it != balances_.end());
    it->second.reserved -= hold.amount;
    GENCACHE_CHECK(it->second.reserved.micros >= 0);
    it->second.spent += actual;
  }
}

absl::Status MemoryLedger::Settle(ReservationId id, base::Money actual) {
  if (absl::Status s = ValidateActual(actual); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = open_.find(id);
  if (it == open_.end()) {
    return absl::NotFoundError(fmt::format("budget: no open reservation {}", id));
  }
  CloseLocked(it->second, actual);
  open_.erase(it);
  return absl::OkStatus();
}

absl::Status MemoryLedger::Release(ReservationId id) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(id);
  if (it == open_.end()) {
    return absl::NotFoundError(fmt::format("budget: no open reservation {}", id));
  }
  CloseLocked(it->second, base::Money{});
  open_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ScopeBalance>> MemoryLedger::Balances(std::span<const ScopeLimit> scopes,
                                                                 base::SystemTime now) {
  std::vector<ScopeBalance> out;
  out.reserve(scopes.size());
  absl::MutexLock lock(&mu_);
  for (const ScopeLimit& scope : scopes) {
    Totals totals;
    auto it = balances_.find(BalanceKey(scope.kind, scope.subject, WindowOf(scope.kind, now)));
    if (it != balances_.end()) totals = it->second;
    out.push_back(MakeBalance(scope, now, totals.spent, totals.reserved));
  }
  return out;
}

absl::StatusOr<std::int64_t> MemoryLedger::SettleOrphans() {
  absl::MutexLock lock(&mu_);
  const auto settled = static_cast<std::int64_t>(open_.size());
  for (const auto& entry : open_) CloseLocked(entry.second, entry.second.amount);
  open_.clear();
  return settled;
}

}  // namespace gencache::budget
