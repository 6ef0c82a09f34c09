#include "gencache/spend/sqlite_spend_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "gencache/spend/report_format.hpp"
#include "gencache/sqlite/sqlite_util.hpp"

namespace gencache::spend {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// kMigrations[v] takes a file from schema version v to v + 1.
constexpr std::array<const char*, SqliteSpendStore::kSchemaVersion> kMigrations = {
    R"sql(
      CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        ts_ms         INTEGER NOT NULL,
        request_id    TEXT NOT NULL,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL,
        user          TEXT NOT NULL,
        cost_micros   INTEGER NOT NULL,
        saving_micros INTEGER NOT NULL,
        cache_status  TEXT NOT NULL,
        prediction_id TEXT NOT NULL,
        upstream_us   INTEGER NOT NULL,
        total_us      INTEGER NOT NULL
      );
      -- One index: every query is bounded by time. Per-model and per-user
      -- indexes would each add a b-tree insert to every event, and a cache
      -- hit writes an event (bench/hit_path.sh measured the writer at 13%
      -- of the gateway's CPU with three indexes).
      CREATE INDEX events_by_ts ON events (ts_ms);
    )sql",
    R"sql(
      ALTER TABLE events ADD COLUMN rehosted INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE events ADD COLUMN rehosted_bytes INTEGER NOT NULL DEFAULT 0;
    )sql",
};

constexpr std::string_view kStore = "sqlite spend store";

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

constexpr char kEventColumns[] =
    "ts_ms, request_id, provider, model, user, cost_micros, saving_micros, cache_status, "
    "prediction_id, upstream_us, total_us, rehosted, rehosted_bytes";

// A batch the database refuses is tried this many times before its events
// are counted as lost.
constexpr int kWriteAttempts = 3;
constexpr std::chrono::milliseconds kRetryBackoff{100};
constexpr std::size_t kFailuresKept = 16;
constexpr std::chrono::seconds kOverflowWarningInterval{1};

std::int64_t ToMillis(base::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

base::SystemTime FromMillis(std::int64_t ms) {
  return base::SystemTime{
      std::chrono::duration_cast<base::SystemTime::duration>(std::chrono::milliseconds{ms})};
}

std::string_view GroupKeyExpression(GroupBy group_by) {
  switch (group_by) {
    case GroupBy::kModel:
      return "model";
    case GroupBy::kUser:
      return "user";
    case GroupBy::kDay:
      // The UTC date; integer division is exact for every time after 1970.
      return "date(ts_ms / 1000, 'unixepoch')";
  }
  return "model";
}

}  // namespace

void SqliteSpendStore::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void SqliteSpendStore::StatementFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

absl::StatusOr<std::unique_ptr<SqliteSpendStore>> SqliteSpendStore::Open(std::string path,
                                                                         Options options) {
  if (options.queue_capacity == 0 || options.batch_size == 0 ||
      options.flush_interval <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError(fmt::format(
        "sqlite spend store '{}': queue_capacity, batch_size and flush_interval must be positive",
        path));
  }

  const auto open = [&](std::string_view role) -> absl::StatusOr<Db> {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);  // sqlite3_open_v2 may allocate a handle even when it fails
    if (rc != SQLITE_OK) {
      return SqliteError(db.get(), rc, path, fmt::format("cannot open ({})", role));
    }
    sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));
    // The first statement reads the header: a file that is not a database
    // fails here with SQLITE_NOTADB.
    if (absl::Status s = Exec(db.get(), "PRAGMA journal_mode = WAL", path, "enabling WAL");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Exec(db.get(), "PRAGMA synchronous = NORMAL", path, "setting synchronous");
        !s.ok()) {
      return s;
    }
    return db;
  };

  absl::StatusOr<Db> writer_db = open("writer");
  if (!writer_db.ok()) return writer_db.status();
  if (absl::Status s = Migrate(writer_db->get(), path); !s.ok()) return s;

  sqlite3_stmt* raw_insert = nullptr;
  const std::string insert_sql = fmt::format(
      "INSERT INTO events ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
      kEventColumns);
  const int rc = sqlite3_prepare_v3(writer_db->get(), insert_sql.c_str(), -1,
                                    SQLITE_PREPARE_PERSISTENT, &raw_insert, nullptr);
  Statement insert(raw_insert);
  if (rc != SQLITE_OK) return SqliteError(writer_db->get(), rc, path, "preparing the insert");

  absl::StatusOr<Db> reader_db = open("reader");
  if (!reader_db.ok()) return reader_db.status();
  if (absl::Status s = Exec(reader_db->get(), "PRAGMA query_only = 1", path, "setting query_only");
      !s.ok()) {
    return s;
  }

  return std::unique_ptr<SqliteSpendStore>(new SqliteSpendStore(
      std::move(path), options, *std::move(writer_db), std::move(insert), *std::move(reader_db)));
}

SqliteSpendStore::SqliteSpendStore(std::string path, Options options, Db writer_db,
                                   Statement insert, Db reader_db)
    : path_(std::move(path)),
      options_(options),
      writer_db_(std::move(writer_db)),
      insert_(std::move(insert)),
      reader_db_(std::move(reader_db)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

SqliteSpendStore::~SqliteSpendStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_cv_.Signal();
  }
  writer_.join();
  const std::uint64_t lost = lost_.load(std::memory_order_relaxed);
  if (lost > 0) {
    spdlog::warn("sqlite spend store '{}': {} spend events were lost since it was opened", path_,
                 lost);
  }
}

void SqliteSpendStore::Record(SpendEvent event) {
  const SteadyTime now = std::chrono::steady_clock::now();
  std::uint64_t overflow_to_report = 0;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= options_.queue_capacity) {
      lost_.fetch_add(1, std::memory_order_relaxed);
      ++unreported_overflow_;
      overflow_to_report = TakeOverflowReport(now);
    } else {
      queue_.push_back(Queued{std::move(event), now});
      ++accepted_;
      // The writer sleeps until the queue becomes non-empty (to start the
      // flush_interval timer) or a batch fills; nothing else concerns it.
      if (queue_.size() == 1 || queue_.size() == options_.batch_size) work_cv_.Signal();
    }
  }
  if (overflow_to_report > 0) {
    spdlog::warn(
        "sqlite spend store '{}': write queue full ({} events), {} spend events lost "
        "({} in total)",
        path_, options_.queue_capacity, overflow_to_report, lost_.load(std::memory_order_relaxed));
  }
}

std::uint64_t SqliteSpendStore::TakeOverflowReport(SteadyTime now) {
  if (unreported_overflow_ == 0) return 0;
  if (last_overflow_warning_ != SteadyTime{} &&
      now - last_overflow_warning_ < kOverflowWarningInterval) {
    return 0;
  }
  last_overflow_warning_ = now;
  return std::exchange(unreported_overflow_, 0);
}

absl::Status SqliteSpendStore::Flush() {
  absl::MutexLock lock(&mu_);
  const std::uint64_t start = finished_;
  const std::uint64_t target = accepted_;
  if (start >= target) return absl::OkStatus();
  ++flush_waiters_;
  work_cv_.Signal();
  while (finished_ < target) done_cv_.Wait(&mu_);
  --flush_waiters_;
  for (const Failure& failure : failures_) {
    if (failure.end > start && failure.begin < target) return failure.status;
  }
  return absl::OkStatus();
}

std::uint64_t SqliteSpendStore::lost() const { return lost_.load(std::memory_order_relaxed); }

std::size_t SqliteSpendStore::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void SqliteSpendStore::WriterLoop() {
  for (;;) {
    std::vector<SpendEvent> batch = NextBatch();
    if (batch.empty()) return;
    if (options_.echo_json_lines) EchoBatch(batch);
    absl::Status status = WriteBatch(batch);
    std::uint64_t overflow_to_report = 0;
    {
      absl::MutexLock lock(&mu_);
      const std::uint64_t begin = finished_;
      finished_ += batch.size();
      if (!status.ok()) {
        lost_.fetch_add(batch.size(), std::memory_order_relaxed);
        failures_.push_back(Failure{begin, finished_, status});
        if (failures_.size() > kFailuresKept) failures_.pop_front();
      }
      // Overflow that stopped right after a warning is reported here, once
      // the interval has passed.
      overflow_to_report = TakeOverflowReport(std::chrono::steady_clock::now());
      done_cv_.SignalAll();
    }
    if (!status.ok()) {
      spdlog::error("sqlite spend store '{}': {} spend events lost: {}", path_, batch.size(),
                    status.ToString());
    }
    if (overflow_to_report > 0) {
      spdlog::warn("sqlite spend store '{}': write queue full, {} more spend events lost", path_,
                   overflow_to_report);
    }
  }
}

std::vector<SpendEvent> SqliteSpendStore::NextBatch() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return {};
      work_cv_.Wait(&mu_);
      continue;
    }
    if (stopping_ || flush_waiters_ > 0 || queue_.size() >= options_.batch_size) break;
    const SteadyTime due = queue_.front().queued_at + options_.flush_interval;
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now >= due) break;
    work_cv_.WaitWithTimeout(&mu_, absl::FromChrono(due - now));
  }
  const std::size_t n = std::min(queue_.size(), options_.batch_size);
  std::vector<SpendEvent> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front().event));
    queue_.pop_front();
  }
  return batch;
}

absl::Status SqliteSpendStore::WriteBatch(const std::vector<SpendEvent>& batch) {
  absl::Status status;
  for (int attempt = 1; attempt <= kWriteAttempts; ++attempt) {
    status = TryWriteBatch(batch);
    if (status.ok()) return status;
    if (attempt < kWriteAttempts) {
      spdlog::warn("sqlite spend store '{}': writing {} events failed (attempt {} of {}): {}",
                   path_, batch.size(), attempt, kWriteAttempts, status.ToString());
      std::this_thread::sleep_for(kRetryBackoff * attempt);
    }
  }
  return status;
}

absl::Status SqliteSpendStore::TryWriteBatch(const std::vector<SpendEvent>& batch) {
  sqlite3* db = writer_db_.get();
  if (absl::Status s = Exec(db, "BEGIN IMMEDIATE", path_, "starting a batch"); !s.ok()) return s;
  absl::Status status;
  sqlite3_stmt* stmt = insert_.get();
  for (const SpendEvent& e : batch) {
    sqlite3_bind_int64(stmt, 1, ToMillis(e.ts));
    BindText(stmt, 2, e.request_id);
    BindText(stmt, 3, e.provider);
    BindText(stmt, 4, e.model);
    BindText(stmt, 5, e.user);
    sqlite3_bind_int64(stmt, 6, e.cost.micros);
    sqlite3_bind_int64(stmt, 7, e.saving.micros);
    BindText(stmt, 8, e.cache_status);
    BindText(stmt, 9, e.prediction_id);
    sqlite3_bind_int64(stmt, 10, e.upstream_latency.count());
    sqlite3_bind_int64(stmt, 11, e.total_latency.count());
    sqlite3_bind_int(stmt, 12, e.rehosted ? 1 : 0);
    sqlite3_bind_int64(stmt, 13, static_cast<std::int64_t>(e.rehosted_bytes));
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
      status = SqliteError(db, rc, path_, "inserting an event");
      break;
    }
  }
  sqlite3_clear_bindings(stmt);
  if (status.ok()) status = Exec(db, "COMMIT", path_, "committing a batch");
  // A failed COMMIT may leave the transaction open; a failed statement
  // always does.
  if (!status.ok() && sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

void SqliteSpendStore::EchoBatch(const std::vector<SpendEvent>& batch) {
  std::string text;
  for (const SpendEvent& e : batch) {
    text += FormatEventJsonLine(e);
    text += '\n';
  }
  // One write per batch, so lines never interleave with other writers
  // mid-line as long as they also write whole lines.
  std::ostream& out = options_.echo_stream != nullptr ? *options_.echo_stream : std::cout;
  out << text;
  out.flush();
}

absl::StatusOr<Summary> SqliteSpendStore::Summarize(GroupBy group_by, base::SystemTime from,
                                                    base::SystemTime to) {
  Summary summary{.group_by = group_by, .from = from, .to = to};
  summary.total.key = "total";
  const std::string sql = fmt::format(
      "SELECT {} AS k, COUNT(*), SUM(cache_status IN ('miss', 'bypass', 'error')), "
      "SUM(cache_status IN ('hit', 'near-hit')), SUM(cost_micros), SUM(saving_micros) "
      "FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY k "
      "ORDER BY SUM(cost_micros) DESC, k ASC",
      GroupKeyExpression(group_by));

  absl::MutexLock lock(&reader_mu_);
  sqlite3* db = reader_db_.get();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, path_, "preparing the summary");
  sqlite3_bind_int64(raw, 1, ToMillis(from));
  sqlite3_bind_int64(raw, 2, ToMillis(to));
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    SummaryRow row{
        .key = ColumnText(raw, 0),
        .requests = sqlite3_column_int64(raw, 1),
        .upstream_calls = sqlite3_column_int64(raw, 2),
        .hits = sqlite3_column_int64(raw, 3),
        .cost = base::Money::FromMicros(sqlite3_column_int64(raw, 4)),
        .saved = base::Money::FromMicros(sqlite3_column_int64(raw, 5)),
    };
    summary.total.requests += row.requests;
    summary.total.upstream_calls += row.upstream_calls;
    summary.total.hits += row.hits;
    summary.total.cost += row.cost;
    summary.total.saved += row.saved;
    summary.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, path_, "reading the summary");
  return summary;
}

absl::StatusOr<std::vector<SeriesRow>> SqliteSpendStore::Timeseries(Bucket bucket,
                                                                    base::SystemTime from,
                                                                    base::SystemTime to) {
  const char* bucket_sql = bucket == Bucket::kDay
                               ? "date(ts_ms / 1000, 'unixepoch')"
                               : "strftime('%Y-%m-%dT%H:00:00Z', ts_ms / 1000, 'unixepoch')";
  const std::string sql = fmt::format(
      "SELECT {} AS t, model, cache_status, COUNT(*), SUM(cost_micros), SUM(saving_micros) "
      "FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY t, model, cache_status "
      "ORDER BY t, model, cache_status",
      bucket_sql);
  absl::MutexLock lock(&reader_mu_);
  sqlite3* db = reader_db_.get();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, path_, "preparing the time series");
  sqlite3_bind_int64(raw, 1, ToMillis(from));
  sqlite3_bind_int64(raw, 2, ToMillis(to));
  std::vector<SeriesRow> rows;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    rows.push_back(SeriesRow{
        .t = ColumnText(raw, 0),
        .model = ColumnText(raw, 1),
        .cache_status = ColumnText(raw, 2),
        .requests = sqlite3_column_int64(raw, 3),
        .cost = base::Money::FromMicros(sqlite3_column_int64(raw, 4)),
        .saved = base::Money::FromMicros(sqlite3_column_int64(raw, 5)),
    });
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, path_, "reading the time series");
  return rows;
}

absl::StatusOr<std::vector<SpendEvent>> SqliteSpendStore::Events(const EventFilter& filter) {
  if (filter.limit < 1 || filter.offset < 0) {
    return absl::InvalidArgumentError(
        fmt::format("events: limit must be at least 1 and offset at least 0 (got {} and {})",
                    filter.limit, filter.offset));
  }
  const std::int64_t limit = std::min(filter.limit, kMaxEventsLimit);

  // Only the filters given become conditions; the time range bounds the
  // scan (events_by_ts).
  std::string sql =
      fmt::format("SELECT {} FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2", kEventColumns);
  int next = 3;
  std::vector<std::pair<int, const std::string*>> text_params;
  for (const auto& [column, value] :
       {std::pair{"model", &filter.model}, std::pair{"user", &filter.user},
        std::pair{"cache_status", &filter.cache_status}}) {
    if (!value->has_value()) continue;
    sql += fmt::format(" AND {} = ?{}", column, next);
    text_params.emplace_back(next, &**value);
    ++next;
  }
  sql += fmt::format(" ORDER BY ts_ms DESC, id DESC LIMIT ?{} OFFSET ?{}", next, next + 1);

  absl::MutexLock lock(&reader_mu_);
  sqlite3* db = reader_db_.get();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, path_, "preparing the event query");
  sqlite3_bind_int64(raw, 1, ToMillis(filter.from));
  sqlite3_bind_int64(raw, 2, ToMillis(filter.to));
  for (const auto& [index, text] : text_params) BindText(raw, index, *text);
  sqlite3_bind_int64(raw, next, limit);
  sqlite3_bind_int64(raw, next + 1, filter.offset);

  std::vector<SpendEvent> events;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    events.push_back(SpendEvent{
        .ts = FromMillis(sqlite3_column_int64(raw, 0)),
        .request_id = ColumnText(raw, 1),
        .provider = ColumnText(raw, 2),
        .model = ColumnText(raw, 3),
        .user = ColumnText(raw, 4),
        .cost = base::Money::FromMicros(sqlite3_column_int64(raw, 5)),
        .saving = base::Money::FromMicros(sqlite3_column_int64(raw, 6)),
        .cache_status = ColumnText(raw, 7),
        .prediction_id = ColumnText(raw, 8),
        .upstream_latency = std::chrono::microseconds{sqlite3_column_int64(raw, 9)},
        .total_latency = std::chrono::microseconds{sqlite3_column_int64(raw, 10)},
        .rehosted = sqlite3_column_int(raw, 11) != 0,
        .rehosted_bytes = static_cast<std::uint64_t>(sqlite3_column_int64(raw, 12)),
    });
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, path_, "reading events");
  return events;
}

}  // namespace gencache::spend
