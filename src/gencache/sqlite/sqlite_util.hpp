#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gencache::sqlite {

// What the embedded stores (cache, budget ledger, spend events) share about
// SQLite: error mapping, schema migration and statement hygiene. Each store
// names itself in messages with `store` ("sqlite cache", ...).

// Maps a SQLite result code to a status: corruption or a file that is not a
// database is DataLoss; a busy, locked, unopenable, full or read-only file is
// Unavailable; anything else Internal. The message names the store, the
// path, what was being done, and SQLite's own text.
absl::Status Error(sqlite3* db, int rc, std::string_view store, std::string_view path,
                   std::string_view what);

// Runs SQL that returns no rows.
absl::Status Exec(sqlite3* db, const char* sql, std::string_view store, std::string_view path,
                  std::string_view what);

// Brings the file to schema version migrations.size(): migrations[v] takes
// version v to v + 1 (PRAGMA user_version). Each step runs in its own write
// transaction and re-reads the version inside it, so two processes opening a
// fresh file at once migrate it once. FailedPrecondition for a file written
// by a newer schema.
absl::Status Migrate(sqlite3* db, std::span<const char* const> migrations, std::string_view store,
                     std::string_view path);

// Resets the statement and drops its bindings when a call is done with it, so
// bound views never outlive the call and read locks are released.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedReset();
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds `text` without copying (SQLITE_STATIC). REQUIRES: the bytes outlive
// the statement's use (see ScopedReset).
int BindText(sqlite3_stmt* stmt, int index, std::string_view text);

// The column as a string; NULL reads as empty.
std::string ColumnText(sqlite3_stmt* stmt, int column);

}  // namespace gencache::sqlite
