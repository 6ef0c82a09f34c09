#include "gencache/budget/sqlite_ledger.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <tuple>
#include <utility>

#include "gencache/base/check.hpp"
#include "gencache/budget/ledger_checks.hpp"
#include "gencache/sqlite/sqlite_util.hpp"

namespace gencache::budget {
namespace {

constexpr std::chrono::milliseconds kBusyTimeout{5000};

// kMigrations[v] takes a file from schema version v to v + 1.
//
// reservations.id is never reused: closed rows are kept, so the largest id
// is never deleted. The partial index keeps SettleOrphans' scan to the open
// rows however long the history grows.
constexpr std::array<const char*, SqliteLedger::kSchemaVersion> kMigrations = {
    R"sql(
      CREATE TABLE balances (
        kind            TEXT NOT NULL,
        subject         TEXT NOT NULL,
        window          TEXT NOT NULL,
        spent_micros    INTEGER NOT NULL,
        reserved_micros INTEGER NOT NULL,
        PRIMARY KEY (kind, subject, window)
      ) WITHOUT ROWID;
      CREATE TABLE reservations (
        id            INTEGER PRIMARY KEY,
        amount_micros INTEGER NOT NULL,
        created_ms    INTEGER NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('open', 'settled', 'released')),
        actual_micros INTEGER
      );
      CREATE INDEX reservations_open ON reservations (id) WHERE state = 'open';
      CREATE TABLE reservation_scopes (
        reservation_id INTEGER NOT NULL,
        kind           TEXT NOT NULL,
        subject        TEXT NOT NULL,
        window         TEXT NOT NULL,
        PRIMARY KEY (reservation_id, kind, subject)
      ) WITHOUT ROWID;
    )sql",
};

constexpr std::string_view kStore = "sqlite budget ledger";

absl::Status SqliteError(sqlite3* db, int rc, std::string_view path, std::string_view what) {
  return sqlite::Error(db, rc, kStore, path, what);
}

absl::Status ExecSql(sqlite3* db, const char* sql, std::string_view path, std::string_view what) {
  return sqlite::Exec(db, sql, kStore, path, what);
}

absl::Status Migrate(sqlite3* db, std::string_view path) {
  return sqlite::Migrate(db, kMigrations, kStore, path);
}

using sqlite::BindText;
using sqlite::ColumnText;
using sqlite::ScopedReset;

// The stored spelling of a ScopeKind. Kept apart from ToString (which names
// scopes to clients) so a display change cannot orphan stored balances.
std::string_view KindCode(ScopeKind kind) {
  switch (kind) {
    case ScopeKind::kGlobalDay:
      return "global_day";
    case ScopeKind::kUserDay:
      return "user_day";
    case ScopeKind::kModelDay:
      return "model_day";
    case ScopeKind::kGlobalMonth:
      return "global_month";
  }
  GENCACHE_CHECK(false && "unknown ScopeKind");
  return "";
}

std::int64_t ToMillis(base::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Rolls back the connection's open transaction unless it was committed, so
// every early return (a denial, an error) leaves no writes behind.
class RollbackUnlessCommitted {
 public:
  RollbackUnlessCommitted(sqlite3* db, sqlite3_stmt* rollback) : db_(db), rollback_(rollback) {}
  ~RollbackUnlessCommitted() {
    // A failed COMMIT may already have rolled back (autocommit is then on).
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_step(rollback_);
      sqlite3_reset(rollback_);
    }
  }
  RollbackUnlessCommitted(const RollbackUnlessCommitted&) = delete;
  RollbackUnlessCommitted& operator=(const RollbackUnlessCommitted&) = delete;

 private:
  sqlite3* db_;
  sqlite3_stmt* rollback_;
};

}  // namespace

void SqliteLedger::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void SqliteLedger::StatementFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

absl::StatusOr<std::unique_ptr<SqliteLedger>> SqliteLedger::Open(std::string path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);  // sqlite3_open_v2 may allocate a handle even when it fails
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, path, "cannot open");

  sqlite3_busy_timeout(db.get(), static_cast<int>(kBusyTimeout.count()));
  // The first statement reads the header: a file that is not a database fails
  // here with SQLITE_NOTADB.
  if (absl::Status s = ExecSql(db.get(), "PRAGMA journal_mode = WAL", path, "enabling WAL");
      !s.ok()) {
    return s;
  }
  // FULL, not NORMAL: see the class comment.
  if (absl::Status s = ExecSql(db.get(), "PRAGMA synchronous = FULL", path, "setting synchronous");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Migrate(db.get(), path); !s.ok()) return s;

  std::unique_ptr<SqliteLedger> ledger(new SqliteLedger(std::move(path), std::move(db)));
  if (absl::Status s = ledger->Prepare(); !s.ok()) return s;
  return ledger;
}

SqliteLedger::SqliteLedger(std::string path, Db db) : path_(std::move(path)), db_(std::move(db)) {}

SqliteLedger::~SqliteLedger() = default;

absl::Status SqliteLedger::Prepare() {
  absl::MutexLock lock(&mu_);
  for (auto [out, sql] : {
           std::pair{&begin_immediate_, "BEGIN IMMEDIATE"},
           std::pair{&begin_read_, "BEGIN"},
           std::pair{&commit_, "COMMIT"},
           std::pair{&rollback_, "ROLLBACK"},
           std::pair{&read_balance_,
                     "SELECT spent_micros, reserved_micros FROM balances"
                     " WHERE kind = ?1 AND subject = ?2 AND window = ?3"},
           std::pair{&add_reserved_,
                     "INSERT INTO balances (kind, subject, window, spent_micros, reserved_micros)"
                     " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (kind, subject, window)"
                     " DO UPDATE SET reserved_micros = reserved_micros + excluded.reserved_micros"},
           std::pair{&close_balance_,
                     "UPDATE balances SET spent_micros = spent_micros + ?4,"
                     " reserved_micros = reserved_micros - ?5"
                     " WHERE kind = ?1 AND subject = ?2 AND window = ?3 RETURNING reserved_micros"},
           std::pair{&insert_reservation_,
                     "INSERT INTO reservations (amount_micros, created_ms, state)"
                     " VALUES (?1, ?2, 'open') RETURNING id"},
           std::pair{&insert_scope_,
                     "INSERT INTO reservation_scopes (reservation_id, kind, subject, window)"
                     " VALUES (?1, ?2, ?3, ?4)"},
           std::pair{&read_reservation_,
                     "SELECT amount_micros FROM reservations WHERE id = ?1 AND state = 'open'"},
           std::pair{&read_scopes_,
                     "SELECT kind, subject, window FROM reservation_scopes"
                     " WHERE reservation_id = ?1"},
           std::pair{&delete_scopes_, "DELETE FROM reservation_scopes WHERE reservation_id = ?1"},
           std::pair{&finish_reservation_,
                     "UPDATE reservations SET state = ?2, actual_micros = ?3"
                     " WHERE id = ?1 AND state = 'open'"},
           std::pair{&open_reservations_,
                     "SELECT id FROM reservations WHERE state = 'open' ORDER BY id"},
       }) {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    out->reset(stmt);
    if (rc != SQLITE_OK) return Error(rc, "preparing statements");
  }
  return absl::OkStatus();
}

absl::Status SqliteLedger::Error(int rc, std::string_view what) const {
  return SqliteError(db_.get(), rc, path_, what);
}

absl::Status SqliteLedger::Exec(sqlite3_stmt* stmt, std::string_view what) {
  ScopedReset reset(stmt);
  const int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error(rc, what);
}

absl::StatusOr<SqliteLedger::Totals> SqliteLedger::ReadBalanceLocked(ScopeKind kind,
                                                                     std::string_view subject,
                                                                     std::string_view window) {
  sqlite3_stmt* stmt = read_balance_.get();
  ScopedReset reset(stmt);
  BindText(stmt, 1, KindCode(kind));
  BindText(stmt, 2, subject);
  BindText(stmt, 3, window);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return Totals{};
  if (rc != SQLITE_ROW) return Error(rc, "reading a balance");
  return Totals{.spent = base::Money{sqlite3_column_int64(stmt, 0)},
                .reserved = base::Money{sqlite3_column_int64(stmt, 1)}};
}

absl::StatusOr<std::variant<ReservationId, Denial>> SqliteLedger::Reserve(
    std::span<const ScopeLimit> scopes, base::Money amount, base::SystemTime now) {
  if (absl::Status s = ValidateReserve(scopes, amount); !s.ok()) return s;
  std::vector<std::string> windows;
  windows.reserve(scopes.size());
  for (const ScopeLimit& scope : scopes) windows.push_back(WindowOf(scope.kind, now));

  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec(begin_immediate_.get(), "starting a reservation"); !s.ok()) return s;
  RollbackUnlessCommitted guard(db_.get(), rollback_.get());

  for (std::size_t i = 0; i < scopes.size(); ++i) {
    absl::StatusOr<Totals> totals =
        ReadBalanceLocked(scopes[i].kind, scopes[i].subject, windows[i]);
    if (!totals.ok()) return totals.status();
    ScopeBalance balance = MakeBalance(scopes[i], now, totals->spent, totals->reserved);
    if (!Fits(balance, amount)) return Denial{.scope = std::move(balance), .requested = amount};
  }

  ReservationId id = 0;
  {
    sqlite3_stmt* stmt = insert_reservation_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, amount.micros);
    sqlite3_bind_int64(stmt, 2, ToMillis(now));
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) return Error(rc, "recording a reservation");
    id = sqlite3_column_int64(stmt, 0);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return Error(rc, "recording a reservation");
  }
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    const std::string_view kind = KindCode(scopes[i].kind);
    {
      sqlite3_stmt* stmt = add_reserved_.get();
      ScopedReset reset(stmt);
      BindText(stmt, 1, kind);
      BindText(stmt, 2, scopes[i].subject);
      BindText(stmt, 3, windows[i]);
      sqlite3_bind_int64(stmt, 4, amount.micros);
      const int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE) return Error(rc, "reserving in a balance");
    }
    sqlite3_stmt* stmt = insert_scope_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, id);
    BindText(stmt, 2, kind);
    BindText(stmt, 3, scopes[i].subject);
    BindText(stmt, 4, windows[i]);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return Error(rc, "recording a reservation's scope");
  }
  if (absl::Status s = Exec(commit_.get(), "committing a reservation"); !s.ok()) return s;
  return id;
}

absl::Status SqliteLedger::CloseLocked(ReservationId id, std::optional<base::Money> actual,
                                       Outcome outcome) {
  base::Money amount;
  {
    sqlite3_stmt* stmt = read_reservation_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, id);
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(fmt::format("budget: no open reservation {}", id));
    }
    if (rc != SQLITE_ROW) return Error(rc, "reading a reservation");
    amount = base::Money{sqlite3_column_int64(stmt, 0)};
  }
  const base::Money booked = actual.value_or(amount);

  std::vector<std::tuple<std::string, std::string, std::string>> held;
  {
    sqlite3_stmt* stmt = read_scopes_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, id);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      held.emplace_back(ColumnText(stmt, 0), ColumnText(stmt, 1), ColumnText(stmt, 2));
    }
    if (rc != SQLITE_DONE) return Error(rc, "reading a reservation's scopes");
  }

  for (const auto& [kind, subject, window] : held) {
    sqlite3_stmt* stmt = close_balance_.get();
    ScopedReset reset(stmt);
    BindText(stmt, 1, kind);
    BindText(stmt, 2, subject);
    BindText(stmt, 3, window);
    sqlite3_bind_int64(stmt, 4, booked.micros);
    sqlite3_bind_int64(stmt, 5, amount.micros);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
      return absl::DataLossError(
          fmt::format("sqlite budget ledger '{}': reservation {} holds {} '{}' in {}, which has "
                      "no balance",
                      path_, id, kind, subject, window));
    }
    if (rc != SQLITE_ROW) return Error(rc, "closing a reservation");
    // Every open reservation's amount is part of each of its balances'
    // reserved total; going below zero means the books no longer add up.
    GENCACHE_CHECK(sqlite3_column_int64(stmt, 0) >= 0);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return Error(rc, "closing a reservation");
  }

  {
    sqlite3_stmt* stmt = delete_scopes_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, id);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return Error(rc, "closing a reservation");
  }
  sqlite3_stmt* stmt = finish_reservation_.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, id);
  BindText(stmt, 2, outcome == Outcome::kSettled ? "settled" : "released");
  sqlite3_bind_int64(stmt, 3, booked.micros);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return Error(rc, "closing a reservation");
  GENCACHE_CHECK(sqlite3_changes64(db_.get()) == 1);
  return absl::OkStatus();
}

absl::Status SqliteLedger::Close(ReservationId id, std::optional<base::Money> actual,
                                 Outcome outcome) {
  absl::MutexLock lock(&mu_);
  // Closing commits without waiting for the disk (synchronous=NORMAL): a
  // close lost to a power cut leaves its reservation open, and the next
  // start books it as spent, which can only overcount. The next FULL commit
  // (a reserve) makes every earlier WAL frame durable too. This halves the
  // fsyncs of a paid miss (bench/miss_path.sh).
  if (absl::Status s = ExecSql(db_.get(), "PRAGMA synchronous = NORMAL", path_, "relaxing sync");
      !s.ok()) {
    return s;
  }
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = Exec(begin_immediate_.get(), "starting to close a reservation"); !s.ok()) {
      return s;
    }
    RollbackUnlessCommitted guard(db_.get(), rollback_.get());
    if (absl::Status s = CloseLocked(id, actual, outcome); !s.ok()) return s;
    return Exec(commit_.get(), "committing a closed reservation");
  }();
  // Money is only ever reserved under FULL.
  absl::Status restored = ExecSql(db_.get(), "PRAGMA synchronous = FULL", path_, "restoring sync");
  GENCACHE_CHECK(restored.ok());
  return status;
}

absl::Status SqliteLedger::Settle(ReservationId id, base::Money actual) {
  if (absl::Status s = ValidateActual(actual); !s.ok()) return s;
  return Close(id, actual, Outcome::kSettled);
}

absl::Status SqliteLedger::Release(ReservationId id) {
  return Close(id, base::Money{}, Outcome::kReleased);
}

absl::StatusOr<std::vector<ScopeBalance>> SqliteLedger::Balances(std::span<const ScopeLimit> scopes,
                                                                 base::SystemTime now) {
  std::vector<ScopeBalance> out;
  out.reserve(scopes.size());
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec(begin_read_.get(), "starting to read balances"); !s.ok()) return s;
  RollbackUnlessCommitted guard(db_.get(), rollback_.get());
  for (const ScopeLimit& scope : scopes) {
    const std::string window = WindowOf(scope.kind, now);
    absl::StatusOr<Totals> totals = ReadBalanceLocked(scope.kind, scope.subject, window);
    if (!totals.ok()) return totals.status();
    out.push_back(MakeBalance(scope, now, totals->spent, totals->reserved));
  }
  if (absl::Status s = Exec(commit_.get(), "finishing reading balances"); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::int64_t> SqliteLedger::SettleOrphans() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec(begin_immediate_.get(), "starting to settle orphans"); !s.ok()) {
    return s;
  }
  RollbackUnlessCommitted guard(db_.get(), rollback_.get());
  std::vector<ReservationId> ids;
  {
    sqlite3_stmt* stmt = open_reservations_.get();
    ScopedReset reset(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(stmt, 0));
    if (rc != SQLITE_DONE) return Error(rc, "listing open reservations");
  }
  for (ReservationId id : ids) {
    if (absl::Status s = CloseLocked(id, std::nullopt, Outcome::kSettled); !s.ok()) return s;
  }
  if (absl::Status s = Exec(commit_.get(), "committing settled orphans"); !s.ok()) return s;
  return static_cast<std::int64_t>(ids.size());
}

}  // namespace gencache::budget
