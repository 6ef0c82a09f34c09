#include "gencache/budget/reservation.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace gencache::budget {

absl::StatusOr<std::variant<Reservation, Denial>> Reservation::Make(
    BudgetLedger& ledger, std::span<const ScopeLimit> scopes, base::Money amount,
    base::SystemTime now) {
  absl::StatusOr<std::variant<ReservationId, Denial>> result = ledger.Reserve(scopes, amount, now);
  if (!result.ok()) return result.status();
  if (auto* denial = std::get_if<Denial>(&*result)) return std::move(*denial);
  return Reservation(ledger, std::get<ReservationId>(*result), amount);
}

Reservation::Reservation(BudgetLedger& ledger, ReservationId id, base::Money amount)
    : ledger_(&ledger), id_(id), amount_(amount) {}

Reservation::Reservation(Reservation&& other) noexcept
    : ledger_(std::exchange(other.ledger_, nullptr)), id_(other.id_), amount_(other.amount_) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    ReleaseIfOpen();
    ledger_ = std::exchange(other.ledger_, nullptr);
    id_ = other.id_;
    amount_ = other.amount_;
  }
  return *this;
}

Reservation::~Reservation() { ReleaseIfOpen(); }

absl::Status Reservation::Settle(base::Money actual) {
  if (ledger_ == nullptr) {
    return absl::FailedPreconditionError("budget: settling a closed reservation");
  }
  return std::exchange(ledger_, nullptr)->Settle(id_, actual);
}

absl::Status Reservation::Release() {
  if (ledger_ == nullptr) {
    return absl::FailedPreconditionError("budget: releasing a closed reservation");
  }
  return std::exchange(ledger_, nullptr)->Release(id_);
}

void Reservation::ReleaseIfOpen() {
  if (ledger_ == nullptr) return;
  if (absl::Status s = Release(); !s.ok()) {
    spdlog::error(
        "budget: releasing abandoned reservation {} ({} micro-USD) failed: {}; the hold stays "
        "counted until SettleOrphans books it",
        id_, amount_.micros, s.ToString());
  }
}

}  // namespace gencache::budget
