#include "gencache/cache/sqlite_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <array>
#include <utility>

#include "fmt/format.h"
#include "gencache/base/check.hpp"
#include "gencache/sqlite/sqlite_util.hpp"

namespace gencache::cache {
namespace {

// kMigrations[v] takes a file from schema version v to v + 1.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
    R"sql(
      CREATE TABLE entries (
        key           TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL,
        prediction_id TEXT NOT NULL,
        http_status   INTEGER NOT NULL,
        content_type  TEXT NOT NULL,
        body          BLOB NOT NULL,
        created_ms    INTEGER NOT NULL,
        expires_ms    INTEGER NOT NULL
      );
      CREATE INDEX entries_by_prediction ON entries (provider, prediction_id);
      CREATE INDEX entries_by_expiry ON entries (expires_ms);
    )sql",
    // Re-hosted blobs (space-separated SHA-256 names) and the near-duplicate
    // index's inputs.
    R"sql(
      ALTER TABLE entries ADD COLUMN blobs TEXT NOT NULL DEFAULT '';
      ALTER TABLE entries ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
      ALTER TABLE entries ADD COLUMN prompt_partition TEXT NOT NULL DEFAULT '';
    )sql",
};

constexpr std::string_view kStore = "sqlite cache";

absl::Status SqliteError(sqlite3* db, int rc, std::string_view path, std::string_view what) {
  return sqlite::Error(db, rc, kStore, path, what);
}

absl::Status Exec(sqlite3* db, const char* sql, std::string_view path, std::string_view what) {
  return sqlite::Exec(db, sql, kStore, path, what);
}

absl::Status Migrate(sqlite3* db, std::string_view path) {
  return sqlite::Migrate(db, kMigrations, kStore, path);
}

using sqlite::BindText;
using sqlite::ColumnText;
using sqlite::ScopedReset;

constexpr char kColumns[] =
    "provider, model, prediction_id, http_status, content_type, body, created_ms, expires_ms, "
    "blobs, prompt, prompt_partition";

std::string JoinBlobs(const std::vector<std::string>& blobs) {
  std::string out;
  for (const auto& b : blobs) {
    if (!out.empty()) out += ' ';
    out += b;
  }
  return out;
}

std::vector<std::string> SplitBlobs(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t space = text.find(' ');
    if (space != 0) out.emplace_back(text.substr(0, space));
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return out;
}

std::int64_t ToMillis(base::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

base::SystemTime FromMillis(std::int64_t ms) {
  return base::SystemTime{
      std::chrono::duration_cast<base::SystemTime::duration>(std::chrono::milliseconds{ms})};
}

}  // namespace

void SqliteStore::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void SqliteStore::StatementFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(std::string path, Options options) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);  // sqlite3_open_v2 may allocate a handle even when it fails
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, path, "cannot open");

  sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));
  // The first statement reads the header: a file that is not a database fails
  // here with SQLITE_NOTADB.
  if (absl::Status s = Exec(db.get(), "PRAGMA journal_mode = WAL", path, "enabling WAL"); !s.ok()) {
    return s;
  }
  if (absl::Status s = Exec(db.get(), "PRAGMA synchronous = NORMAL", path, "setting synchronous");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Migrate(db.get(), path); !s.ok()) return s;

  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(path), std::move(db)));
  if (absl::Status s = store->Prepare(); !s.ok()) return s;
  return store;
}

SqliteStore::SqliteStore(std::string path, Db db) : path_(std::move(path)), db_(std::move(db)) {}

SqliteStore::~SqliteStore() = default;

absl::Status SqliteStore::Prepare() {
  absl::MutexLock lock(&mu_);
  const auto prepare = [this](Statement& out, const std::string& sql)
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    out.reset(stmt);
    return rc == SQLITE_OK ? absl::OkStatus()
                           : SqliteError(db_.get(), rc, path_, "preparing statements");
  };
  for (auto [out, sql] : {
           std::pair{&get_, fmt::format("SELECT {} FROM entries WHERE key = ?1 AND expires_ms > ?2",
                                        kColumns)},
           std::pair{&get_by_prediction_,
                     fmt::format("SELECT {} FROM entries WHERE provider = ?1 AND prediction_id = ?2"
                                 " AND expires_ms > ?3 ORDER BY created_ms DESC LIMIT 1",
                                 kColumns)},
           std::pair{&put_, fmt::format("INSERT INTO entries (key, {}) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                                        "ON CONFLICT (key) DO UPDATE SET provider = ?2, "
                                        "model = ?3, prediction_id = ?4, http_status = ?5, "
                                        "content_type = ?6, body = ?7, created_ms = ?8, "
                                        "expires_ms = ?9, blobs = ?10, prompt = ?11, "
                                        "prompt_partition = ?12",
                                        kColumns)},
           std::pair{&erase_, std::string("DELETE FROM entries WHERE key = ?1")},
           std::pair{&evict_, std::string("DELETE FROM entries WHERE expires_ms <= ?1")},
           std::pair{&live_, std::string("SELECT key, expires_ms, blobs, prompt, prompt_partition, "
                                         "provider, model "
                                         "FROM entries WHERE expires_ms > ?1")},
           std::pair{&stats_,
                     std::string("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM entries")},
       }) {
    if (absl::Status s = prepare(*out, sql); !s.ok()) return s;
  }
  return absl::OkStatus();
}

CachedResponsePtr SqliteStore::QueryOne(sqlite3_stmt* stmt, std::string_view what) const {
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return nullptr;
  if (rc != SQLITE_ROW) {
    spdlog::warn("{} (reported as a cache miss)",
                 SqliteError(db_.get(), rc, path_, what).ToString());
    return nullptr;
  }
  auto response = std::make_shared<CachedResponse>();
  response->provider = ColumnText(stmt, 0);
  response->model = ColumnText(stmt, 1);
  response->prediction_id = ColumnText(stmt, 2);
  response->http_status = sqlite3_column_int(stmt, 3);
  response->content_type = ColumnText(stmt, 4);
  const void* body = sqlite3_column_blob(stmt, 5);  // NULL for an empty blob
  response->body = std::make_shared<const std::string>(
      body == nullptr ? std::string()
                      : std::string(static_cast<const char*>(body),
                                    static_cast<std::size_t>(sqlite3_column_bytes(stmt, 5))));
  response->created = FromMillis(sqlite3_column_int64(stmt, 6));
  response->expires = FromMillis(sqlite3_column_int64(stmt, 7));
  response->blobs = SplitBlobs(ColumnText(stmt, 8));
  response->prompt = ColumnText(stmt, 9);
  response->prompt_partition = ColumnText(stmt, 10);
  return response;
}

CachedResponsePtr SqliteStore::Get(const keying::CacheKey& key, base::SystemTime now) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = get_.get();
  ScopedReset reset(stmt);
  BindText(stmt, 1, key.hex);
  sqlite3_bind_int64(stmt, 2, ToMillis(now));
  return QueryOne(stmt, "get");
}

absl::Status SqliteStore::Put(const keying::CacheKey& key, CachedResponsePtr value) {
  GENCACHE_CHECK(value != nullptr);
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = put_.get();
  ScopedReset reset(stmt);
  BindText(stmt, 1, key.hex);
  BindText(stmt, 2, value->provider);
  BindText(stmt, 3, value->model);
  BindText(stmt, 4, value->prediction_id);
  sqlite3_bind_int(stmt, 5, value->http_status);
  BindText(stmt, 6, value->content_type);
  if (value->body != nullptr) {
    sqlite3_bind_blob64(stmt, 7, value->body->data(), value->body->size(), SQLITE_STATIC);
  } else {
    sqlite3_bind_zeroblob(stmt, 7, 0);
  }
  sqlite3_bind_int64(stmt, 8, ToMillis(value->created));
  sqlite3_bind_int64(stmt, 9, ToMillis(value->expires));
  const std::string blobs = JoinBlobs(value->blobs);
  BindText(stmt, 10, blobs);
  BindText(stmt, 11, value->prompt);
  BindText(stmt, 12, value->prompt_partition);
  const int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db_.get(), rc, path_, "put");
}

absl::Status SqliteStore::Erase(const keying::CacheKey& key) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = erase_.get();
  ScopedReset reset(stmt);
  BindText(stmt, 1, key.hex);
  const int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db_.get(), rc, path_, "erase");
}

CachedResponsePtr SqliteStore::GetByPrediction(std::string_view provider,
                                               std::string_view prediction_id,
                                               base::SystemTime now) {
  if (prediction_id.empty()) return nullptr;
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = get_by_prediction_.get();
  ScopedReset reset(stmt);
  BindText(stmt, 1, provider);
  BindText(stmt, 2, prediction_id);
  sqlite3_bind_int64(stmt, 3, ToMillis(now));
  return QueryOne(stmt, "get by prediction");
}

absl::Status SqliteStore::ForEachLive(base::SystemTime now,
                                      const std::function<void(const EntrySummary&)>& visit) {
  // Read in one statement under the lock, visited after it: `visit` may be
  // slow or call back into the store.
  std::vector<EntrySummary> live;
  {
    absl::MutexLock lock(&mu_);
    sqlite3_stmt* stmt = live_.get();
    ScopedReset reset(stmt);
    sqlite3_bind_int64(stmt, 1, ToMillis(now));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      live.push_back({.key = keying::CacheKey{ColumnText(stmt, 0)},
                      .provider = ColumnText(stmt, 5),
                      .model = ColumnText(stmt, 6),
                      .expires = FromMillis(sqlite3_column_int64(stmt, 1)),
                      .blobs = SplitBlobs(ColumnText(stmt, 2)),
                      .prompt = ColumnText(stmt, 3),
                      .prompt_partition = ColumnText(stmt, 4)});
    }
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), rc, path_, "listing live entries");
  }
  for (const EntrySummary& summary : live) visit(summary);
  return absl::OkStatus();
}

std::uint64_t SqliteStore::EvictExpired(base::SystemTime now) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = evict_.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, ToMillis(now));
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    spdlog::warn("{}", SqliteError(db_.get(), rc, path_, "evicting expired entries").ToString());
    return 0;
  }
  return static_cast<std::uint64_t>(sqlite3_changes64(db_.get()));
}

CacheStats SqliteStore::Stats() const {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stats_.get();
  ScopedReset reset(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    spdlog::warn("{}", SqliteError(db_.get(), rc, path_, "stats").ToString());
    return {};
  }
  return CacheStats{.entries = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0)),
                    .bytes = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 1))};
}

}  // namespace gencache::cache
