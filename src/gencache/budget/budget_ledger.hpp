#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/money.hpp"

namespace gencache::budget {

// What a limit applies to. Day scopes roll over at 00:00 UTC, the month
// scope on the first of the month at 00:00 UTC. The window is part of every
// balance's identity, so there is no reset job to race with.
enum class ScopeKind {
  kGlobalDay,    // all spend today
  kUserDay,      // one user's spend today (subject = user id)
  kModelDay,     // one model's spend today (subject = model)
  kGlobalMonth,  // all spend this month
};

std::string_view ToString(ScopeKind kind);

struct ScopeLimit {
  ScopeKind kind = ScopeKind::kGlobalDay;
  std::string subject;  // user id or model; empty for global scopes
  base::Money limit;
};

// One scope in the window containing `now`.
struct ScopeBalance {
  ScopeKind kind = ScopeKind::kGlobalDay;
  std::string subject;
  std::string window;  // "2026-11-26" (day) or "2026-11" (month)
  base::Money spent;
  base::Money reserved;
  base::Money limit;
  base::SystemTime resets_at{};
};

// Why a reservation was refused: the first scope (in the order given) that
// the amount would push past its limit.
struct Denial {
  ScopeBalance scope;
  base::Money requested;
};

using ReservationId = std::int64_t;

// The budget ledger: hard limits that concurrent requests, and with a shared
// backend concurrent processes, can never overspend.
//
// Reserve is one atomic step over every scope given: either each scope's
// spent + reserved + amount stays within its limit and the amount is
// reserved in all of them, or nothing changes and the Denial says which
// scope refused. Settle moves a reservation from reserved to spent at its
// actual cost (which may differ from the estimate); Release drops it.
// Reservations are durable: after a crash their outcome is unknown (the
// provider may have charged), so SettleOrphans books them as spent.
//
// Thread-safe. Blocking (disk, network): call off the event loops.
// Failure policy: a backend error is an error status, and callers deny the
// request (the budget fails closed).
class BudgetLedger {
 public:
  virtual ~BudgetLedger() = default;

  // REQUIRES: amount >= 0; scopes name each (kind, subject) at most once.
  virtual absl::StatusOr<std::variant<ReservationId, Denial>> Reserve(
      std::span<const ScopeLimit> scopes, base::Money amount, base::SystemTime now) = 0;

  // Books `actual` as spent in the windows the reservation was made in and
  // drops the hold. NotFound if the id is unknown or already closed.
  virtual absl::Status Settle(ReservationId id, base::Money actual) = 0;

  // Drops the hold without spending. NotFound if unknown or already closed.
  virtual absl::Status Release(ReservationId id) = 0;

  // Balances of `scopes` in the windows containing `now`.
  virtual absl::StatusOr<std::vector<ScopeBalance>> Balances(std::span<const ScopeLimit> scopes,
                                                             base::SystemTime now) = 0;

  // Settles every open reservation at its reserved amount; returns how many.
  // Called once at start-up, before any Reserve.
  virtual absl::StatusOr<std::int64_t> SettleOrphans() = 0;
};

// The window of `kind` containing `now`, and when it ends.
std::string WindowOf(ScopeKind kind, base::SystemTime now);
base::SystemTime WindowEnd(ScopeKind kind, base::SystemTime now);

}  // namespace gencache::budget
