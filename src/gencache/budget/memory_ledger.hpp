#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gencache/budget/budget_ledger.hpp"

namespace gencache::budget {

// The reference BudgetLedger: balances and open reservations in maps under
// one mutex. Nothing survives the process, so it suits tests, the
// model-based check of other backends, and deployments that accept losing
// the day's spend on restart. Closed reservations are forgotten, which is
// what makes a second Settle or Release NotFound.
//
// Thread-safe; never blocks on I/O.
class MemoryLedger final : public BudgetLedger {
 public:
  MemoryLedger() = default;
  MemoryLedger(const MemoryLedger&) = delete;
  MemoryLedger& operator=(const MemoryLedger&) = delete;

  absl::StatusOr<std::variant<ReservationId, Denial>> Reserve(std::span<const ScopeLimit> scopes,
                                                              base::Money amount,
                                                              base::SystemTime now) override;
  absl::Status Settle(ReservationId id, base::Money actual) override;
  absl::Status Release(ReservationId id) override;
  absl::StatusOr<std::vector<ScopeBalance>> Balances(std::span<const ScopeLimit> scopes,
                                                     base::SystemTime now) override;
  absl::StatusOr<std::int64_t> SettleOrphans() override;

 private:
  // (kind, subject, window)
  using BalanceKey = std::tuple<ScopeKind, std::string, std::string>;
  struct Totals {
    base::Money spent;
    base::Money reserved;
  };
  struct Hold {
    base::Money amount;
    std::vector<BalanceKey> keys;  // the windows at reserve time
  };

  // Books `actual` in every window of `hold` and drops its amount.
  void CloseLocked(const Hold& hold, base::Money actual) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<BalanceKey, Totals> balances_ ABSL_GUARDED_BY(mu_);
  std::map<ReservationId, Hold> open_ ABSL_GUARDED_BY(mu_);
  ReservationId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace gencache::budget
