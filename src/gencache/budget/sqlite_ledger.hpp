#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gencache/budget/budget_ledger.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gencache::budget {

// The embedded durable BudgetLedger: one SQLite file in WAL mode.
//
// Atomicity: Reserve, Settle, Release and SettleOrphans are each one
// `BEGIN IMMEDIATE` transaction, which takes the file's write lock before
// reading any balance, so the check and the hold cannot interleave with
// another writer, in this process or another one sharing the file. A denial
// rolls back having written nothing.
//
// Durability: synchronous=FULL. In WAL mode NORMAL may lose the last commits
// on power loss; a lost Settle would let a restarted gateway spend money the
// provider already charged, so every commit is synced (the cost is measured
// by ledger_bench).
//
// Schema (version in `PRAGMA user_version`; Open migrates older files and
// refuses newer ones): balances(kind, subject, window) -> spent, reserved;
// reservations(id, amount, created_ms, state open|settled|released, actual);
// reservation_scopes(reservation_id, kind, subject, window), the windows a
// reservation holds, deleted when it closes (the reservations row stays as
// the record of its outcome).
//
// Thread-safe: one connection whose prepared statements are serialised by a
// mutex. Every call does disk I/O and may wait up to the busy timeout for
// another process's write lock: never call from an event loop.
//
// Errors: DataLoss when the file is not a database or is corrupt,
// FailedPrecondition for a newer schema, Unavailable when the file is
// locked, unwritable or full, Internal otherwise. A failed call changed
// nothing (its transaction rolled back).
class SqliteLedger final : public BudgetLedger {
 public:
  // Opens or creates the ledger file at `path`.
  static absl::StatusOr<std::unique_ptr<SqliteLedger>> Open(std::string path);

  ~SqliteLedger() override;
  SqliteLedger(const SqliteLedger&) = delete;
  SqliteLedger& operator=(const SqliteLedger&) = delete;

  absl::StatusOr<std::variant<ReservationId, Denial>> Reserve(std::span<const ScopeLimit> scopes,
                                                              base::Money amount,
                                                              base::SystemTime now) override;
  absl::Status Settle(ReservationId id, base::Money actual) override;
  absl::Status Release(ReservationId id) override;
  // The balances are read in one transaction: a consistent snapshot.
  absl::StatusOr<std::vector<ScopeBalance>> Balances(std::span<const ScopeLimit> scopes,
                                                     base::SystemTime now) override;
  absl::StatusOr<std::int64_t> SettleOrphans() override;

  // The schema version Open migrates to.
  static constexpr int kSchemaVersion = 1;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Db = std::unique_ptr<sqlite3, DbCloser>;
  using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;
  enum class Outcome { kSettled, kReleased };
  struct Totals {
    base::Money spent;
    base::Money reserved;
  };

  SqliteLedger(std::string path, Db db);
  absl::Status Prepare();

  // Each REQUIRES an open transaction.
  absl::StatusOr<Totals> ReadBalanceLocked(ScopeKind kind, std::string_view subject,
                                           std::string_view window)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes an open reservation: books `actual` (its amount when nullopt) in
  // the windows it holds. NotFound when `id` is not open.
  absl::Status CloseLocked(ReservationId id, std::optional<base::Money> actual, Outcome outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Close(ReservationId id, std::optional<base::Money> actual, Outcome outcome);
  absl::Status Exec(sqlite3_stmt* stmt, std::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(int rc, std::string_view what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  Db db_ ABSL_GUARDED_BY(mu_);
  Statement begin_immediate_ ABSL_GUARDED_BY(mu_);
  Statement begin_read_ ABSL_GUARDED_BY(mu_);
  Statement commit_ ABSL_GUARDED_BY(mu_);
  Statement rollback_ ABSL_GUARDED_BY(mu_);
  Statement read_balance_ ABSL_GUARDED_BY(mu_);
  Statement add_reserved_ ABSL_GUARDED_BY(mu_);
  Statement close_balance_ ABSL_GUARDED_BY(mu_);
  Statement insert_reservation_ ABSL_GUARDED_BY(mu_);
  Statement insert_scope_ ABSL_GUARDED_BY(mu_);
  Statement read_reservation_ ABSL_GUARDED_BY(mu_);
  Statement read_scopes_ ABSL_GUARDED_BY(mu_);
  Statement delete_scopes_ ABSL_GUARDED_BY(mu_);
  Statement finish_reservation_ ABSL_GUARDED_BY(mu_);
  Statement open_reservations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gencache::budget
