#include "gencache/budget/sqlite_ledger.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gencache/budget/ledger_test_util.hpp"

namespace gencache::budget {
namespace {

const base::SystemTime kNoon = At(2026, 11, 26, 12);

std::unique_ptr<SqliteLedger> MustOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteLedger>> ledger = SqliteLedger::Open(path);
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  return ledger.ok() ? *std::move(ledger) : nullptr;
}

ReservationId MustReserve(BudgetLedger& ledger, const std::vector<ScopeLimit>& scopes,
                          base::Money amount, base::SystemTime now) {
  absl::StatusOr<std::variant<ReservationId, Denial>> result = ledger.Reserve(scopes, amount, now);
  if (!result.ok() || !std::holds_alternative<ReservationId>(*result)) {
    ADD_FAILURE() << "not granted: " << result.status();
    return 0;
  }
  return std::get<ReservationId>(*result);
}

ScopeBalance BalanceOf(BudgetLedger& ledger, const ScopeLimit& scope, base::SystemTime now) {
  absl::StatusOr<std::vector<ScopeBalance>> balances =
      ledger.Balances(std::span<const ScopeLimit>(&scope, 1), now);
  if (!balances.ok() || balances->size() != 1) {
    ADD_FAILURE() << balances.status();
    return {};
  }
  return balances->front();
}

// Runs one SQL statement on the file through a separate connection.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The single integer a query returns, through a separate connection.
std::int64_t RawInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  std::int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST(SqliteLedger, ReservationsSurviveReopening) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(50))};
  ReservationId open_id = 0;
  ReservationId settled_id = 0;
  {
    std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
    ASSERT_NE(ledger, nullptr);
    settled_id = MustReserve(*ledger, scopes, Cents(30), kNoon);
    ASSERT_TRUE(ledger->Settle(settled_id, Cents(25)).ok());
    open_id = MustReserve(*ledger, scopes, Cents(20), kNoon);
  }
  std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(BalanceOf(*ledger, scopes[0], kNoon).spent, Cents(25));
  EXPECT_EQ(BalanceOf(*ledger, scopes[0], kNoon).reserved, Cents(20));
  EXPECT_EQ(BalanceOf(*ledger, scopes[1], kNoon).reserved, Cents(20));

  // A reservation made before the restart can still be settled, and an id
  // closed before it stays closed; new ids do not collide with old ones.
  EXPECT_TRUE(absl::IsNotFound(ledger->Settle(settled_id, Cents(1))));
  const ReservationId fresh = MustReserve(*ledger, scopes, Cents(5), kNoon);
  EXPECT_NE(fresh, open_id);
  EXPECT_NE(fresh, settled_id);
  ASSERT_TRUE(ledger->Settle(open_id, Cents(20)).ok());
  EXPECT_EQ(BalanceOf(*ledger, scopes[1], kNoon).spent, Cents(45));
  EXPECT_EQ(BalanceOf(*ledger, scopes[1], kNoon).reserved, Cents(5));
}

TEST(SqliteLedger, OrphansOfACrashAreBookedAsSpent) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), Model("flux", Cents(100)),
                                          Month(Cents(1000))};
  const base::SystemTime before_midnight = At(2026, 11, 30, 23, 58);
  {
    // The process dies mid-request: reserved, never settled or released.
    std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
    ASSERT_NE(ledger, nullptr);
    MustReserve(*ledger, scopes, Cents(40), before_midnight);
    MustReserve(*ledger, scopes, Cents(4), before_midnight);
    ASSERT_TRUE(ledger->Release(MustReserve(*ledger, scopes, Cents(9), before_midnight)).ok());
  }
  std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
  ASSERT_NE(ledger, nullptr);
  absl::StatusOr<std::int64_t> orphans = ledger->SettleOrphans();
  ASSERT_TRUE(orphans.ok()) << orphans.status();
  EXPECT_EQ(*orphans, 2);
  // Booked in the windows they were reserved in, though settled next month.
  for (const ScopeLimit& scope : scopes) {
    EXPECT_EQ(BalanceOf(*ledger, scope, before_midnight).spent, Cents(44)) << ToString(scope.kind);
    EXPECT_EQ(BalanceOf(*ledger, scope, before_midnight).reserved, Cents(0));
  }
  EXPECT_EQ(RawInt(path,
                   "SELECT COUNT(*) FROM reservations WHERE state = 'settled'"
                   " AND actual_micros = amount_micros"),
            2);
  EXPECT_EQ(RawInt(path, "SELECT COUNT(*) FROM reservations WHERE state = 'released'"), 1);
  EXPECT_EQ(RawInt(path, "SELECT COUNT(*) FROM reservation_scopes"), 0);
}

// Two connections to one file stand for two gateway processes.
TEST(SqliteLedger, TwoConnectionsNeverOverspend) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  std::unique_ptr<SqliteLedger> first = MustOpen(path);
  std::unique_ptr<SqliteLedger> second = MustOpen(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};
  std::atomic<int> granted{0};
  std::atomic<int> failed{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      SqliteLedger* ledger = t % 2 == 0 ? first.get() : second.get();
      threads.emplace_back([&, ledger] {
        for (int i = 0; i < 125; ++i) {
          absl::StatusOr<std::variant<ReservationId, Denial>> result =
              ledger->Reserve(scopes, Cents(4), kNoon);
          if (!result.ok()) {
            failed.fetch_add(1);
          } else if (std::holds_alternative<ReservationId>(*result)) {
            granted.fetch_add(1);
          }
        }
      });
    }
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(granted.load(), 25);
  EXPECT_EQ(BalanceOf(*first, scopes[0], kNoon).reserved, Cents(100));
  EXPECT_EQ(BalanceOf(*second, scopes[0], kNoon).reserved, Cents(100));
}

TEST(SqliteLedger, WritesTheDocumentedSchema) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
  ASSERT_NE(ledger, nullptr);
  const ReservationId id = MustReserve(*ledger, {User("alice", Cents(100))}, Cents(7), kNoon);
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), SqliteLedger::kSchemaVersion);
  EXPECT_EQ(RawInt(path,
                   "SELECT reserved_micros FROM balances WHERE kind = 'user_day'"
                   " AND subject = 'alice' AND window = '2026-11-26'"),
            70'000);
  EXPECT_EQ(RawInt(path, "SELECT COUNT(*) FROM reservation_scopes WHERE reservation_id = " +
                             std::to_string(id)),
            1);
  ASSERT_TRUE(ledger->Settle(id, Cents(6)).ok());
  EXPECT_EQ(
      RawInt(path, "SELECT actual_micros FROM reservations WHERE state = 'settled' AND id = " +
                       std::to_string(id)),
      60'000);
  EXPECT_EQ(RawInt(path, "SELECT spent_micros FROM balances WHERE subject = 'alice'"), 60'000);
}

TEST(SqliteLedger, RefusesANewerSchema) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  ASSERT_NE(MustOpen(path), nullptr);
  RawExec(path, "PRAGMA user_version = 99");
  absl::StatusOr<std::unique_ptr<SqliteLedger>> ledger = SqliteLedger::Open(path);
  EXPECT_TRUE(absl::IsFailedPrecondition(ledger.status())) << ledger.status();
}

TEST(SqliteLedger, RefusesAFileThatIsNotADatabase) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  std::ofstream(path) << std::string(4096, 'x');
  absl::StatusOr<std::unique_ptr<SqliteLedger>> ledger = SqliteLedger::Open(path);
  EXPECT_TRUE(absl::IsDataLoss(ledger.status())) << ledger.status();
}

TEST(SqliteLedger, ReportsAnUnopenableFileAsUnavailable) {
  TestTempDir dir;
  absl::StatusOr<std::unique_ptr<SqliteLedger>> ledger =
      SqliteLedger::Open(dir.File("missing-dir/budget.db"));
  EXPECT_TRUE(absl::IsUnavailable(ledger.status())) << ledger.status();
}

// A write lock held elsewhere past the busy timeout fails the call closed
// and leaves the ledger usable.
TEST(SqliteLedger, ALockedFileFailsClosed) {
  TestTempDir dir;
  const std::string path = dir.File("budget.db");
  std::unique_ptr<SqliteLedger> ledger = MustOpen(path);
  ASSERT_NE(ledger, nullptr);
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  absl::StatusOr<std::variant<ReservationId, Denial>> result =
      ledger->Reserve(scopes, Cents(4), kNoon);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  MustReserve(*ledger, scopes, Cents(4), kNoon);
  EXPECT_EQ(BalanceOf(*ledger, scopes[0], kNoon).reserved, Cents(4));
}

}  // namespace
}  // namespace gencache::budget
