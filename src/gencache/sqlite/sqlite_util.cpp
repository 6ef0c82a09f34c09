#include "gencache/sqlite/sqlite_util.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace gencache::sqlite {

absl::Status Error(sqlite3* db, int rc, std::string_view store, std::string_view path,
                   std::string_view what) {
  std::string message = fmt::format("{} '{}': {}: {}", store, path, what,
                                    db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::UnavailableError(std::move(message));
    default:
      return absl::InternalError(std::move(message));
  }
}

absl::Status Exec(sqlite3* db, const char* sql, std::string_view store, std::string_view path,
                  std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(db, rc, store, path, what);
}

namespace {

absl::StatusOr<int> UserVersion(sqlite3* db, std::string_view store, std::string_view path) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, store, path, "reading the schema version");
  rc = sqlite3_step(stmt);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Error(db, rc, store, path, "reading the schema version");
  return version;
}

}  // namespace

absl::Status Migrate(sqlite3* db, std::span<const char* const> migrations, std::string_view store,
                     std::string_view path) {
  const int target = static_cast<int>(migrations.size());
  for (;;) {
    if (absl::Status s = Exec(db, "BEGIN IMMEDIATE", store, path, "starting the migration");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<int> version = UserVersion(db, store, path);
    absl::Status status;
    bool done = false;
    if (!version.ok()) {
      status = version.status();
    } else if (*version > target) {
      status = absl::FailedPreconditionError(
          fmt::format("{} '{}': schema version {} is newer than this gencache supports ({})", store,
                      path, *version, target));
    } else if (*version == target) {
      done = true;
    } else {
      const std::string step = fmt::format("migrating to schema version {}", *version + 1);
      status = Exec(db, migrations[static_cast<std::size_t>(*version)], store, path, step);
      if (status.ok()) {
        const std::string bump = fmt::format("PRAGMA user_version = {}", *version + 1);
        status = Exec(db, bump.c_str(), store, path, step);
      }
    }
    if (!status.ok()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return status;
    }
    if (absl::Status s = Exec(db, "COMMIT", store, path, "committing the migration"); !s.ok()) {
      return s;
    }
    if (done) return absl::OkStatus();
  }
}

ScopedReset::~ScopedReset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr
             ? std::string()
             : std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

}  // namespace gencache::sqlite
