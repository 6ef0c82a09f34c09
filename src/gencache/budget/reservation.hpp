#pragma once

#include <span>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/money.hpp"
#include "gencache/budget/budget_ledger.hpp"

namespace gencache::budget {

// An open hold on a BudgetLedger, owned by the request that made it.
// Destroying one that was neither settled nor released releases it, so no
// error path leaks a hold.
//
// Settle and Release close the object whatever they return. When they fail
// the hold stays in the ledger, still counted against every limit (the
// budget fails closed); a durable ledger's SettleOrphans books it as spent at
// the next start. The destructor never retries a failed Settle as a
// Release: that could free money the provider already charged.
//
// Move-only; a moved-from or closed Reservation does nothing. Not
// thread-safe. The ledger must outlive it. The destructor does the ledger's
// I/O: destroy it off the event loops, like any other ledger call.
class Reservation {
 public:
  // Reserves `amount` in every scope of `scopes` (see BudgetLedger::Reserve).
  static absl::StatusOr<std::variant<Reservation, Denial>> Make(BudgetLedger& ledger,
                                                                std::span<const ScopeLimit> scopes,
                                                                base::Money amount,
                                                                base::SystemTime now);

  // Adopts a reservation already made on `ledger`.
  Reservation(BudgetLedger& ledger, ReservationId id, base::Money amount);
  // A closed reservation.
  Reservation() = default;

  Reservation(Reservation&& other) noexcept;
  // Releases this reservation first if it is still open.
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  // Books `actual` as spent in the windows the reservation was made in.
  // FailedPrecondition when already closed; otherwise the ledger's status.
  absl::Status Settle(base::Money actual);
  // Drops the hold. FailedPrecondition when already closed.
  absl::Status Release();

  bool is_open() const { return ledger_ != nullptr; }
  ReservationId id() const { return id_; }
  base::Money amount() const { return amount_; }

 private:
  void ReleaseIfOpen();

  BudgetLedger* ledger_ = nullptr;  // null when closed
  ReservationId id_ = 0;
  base::Money amount_;
};

}  // namespace gencache::budget
