#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gencache/spend/spend_event.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gencache::spend {

// The embedded spend backend: a SpendSink and a SpendStore over one SQLite
// file in WAL mode (synchronous=NORMAL: a power loss may drop the last
// commits, never corrupt the file).
//
// Writing: Record appends to a bounded in-memory queue and returns; it never
// touches the disk. One writer thread owned by the store inserts the queue in
// batches of up to `batch_size` events, one transaction per batch, as soon as
// a batch is full, `flush_interval` after the oldest queued event arrived, or
// when Flush or the destructor asks. An event that finds the queue full is
// counted in lost() and logged (at most one warning per second, with the
// count); a batch the database refuses after a few attempts is counted and
// logged the same way. Nothing is dropped without being counted.
//
// Reading: Summarize and Events use their own connection, so reports do not
// wait for the writer (WAL readers see the last committed batch).
//
// Times are stored as milliseconds since the Unix epoch (an event read back is
// truncated to the millisecond), latencies as microseconds, money as micros.
// The schema version lives in `PRAGMA user_version`, so the store needs a
// file of its own: Open migrates older files forward and refuses files from a
// newer gencache.
//
// Thread-safe. Record is cheap (a mutex and a queue push); Flush, Summarize
// and Events block on disk: never call them from an event loop.
// Destruction stops the writer after it has written everything queued, so a
// clean shutdown loses nothing. REQUIRES: no call is in progress or starts
// once destruction has begun.
class SqliteSpendStore final : public SpendSink, public SpendStore {
 public:
  struct Options {
    // Events held in memory while the writer is behind.
    std::size_t queue_capacity = 100'000;
    // Events per transaction.
    std::size_t batch_size = 512;
    // The longest an event waits in the queue when no batch fills up.
    std::chrono::milliseconds flush_interval{200};
    // One JSON line per event (see FormatEventJsonLine), written by the writer
    // thread before the batch is stored, for log shippers.
    bool echo_json_lines = false;
    // Where echoed lines go; nullptr means std::cout. Must outlive the store.
    std::ostream* echo_stream = nullptr;
    // How long a statement waits for another connection's write lock.
    std::chrono::milliseconds busy_timeout{5000};
  };

  // The most events one Events call returns; larger limits are capped.
  static constexpr std::int64_t kMaxEventsLimit = 1000;
  // The schema version Open migrates to.
  static constexpr int kSchemaVersion = 2;

  // Opens or creates the spend file at `path` and starts the writer.
  // Errors: InvalidArgument for a zero capacity, batch size or interval,
  // DataLoss when the file is not a SQLite database (or is corrupt),
  // FailedPrecondition when it was written by a newer schema, Unavailable
  // when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteSpendStore>> Open(std::string path, Options options);

  ~SqliteSpendStore() override;
  SqliteSpendStore(const SqliteSpendStore&) = delete;
  SqliteSpendStore& operator=(const SqliteSpendStore&) = delete;

  // SpendSink.
  void Record(SpendEvent event) override;
  // Returns once every event recorded before the call is written, or the
  // error of a batch among them that could not be written (those events are
  // counted in lost()).
  absl::Status Flush() override;
  std::uint64_t lost() const override;

  // Events waiting for the writer (for metrics).
  std::size_t queued() const;

  // SpendStore. Windows are from <= ts < to.
  absl::StatusOr<Summary> Summarize(GroupBy group_by, base::SystemTime from,
                                    base::SystemTime to) override;
  // InvalidArgument for limit < 1 or offset < 0; a limit above
  // kMaxEventsLimit is capped.
  absl::StatusOr<std::vector<SeriesRow>> Timeseries(Bucket bucket, base::SystemTime from,
                                                    base::SystemTime to) override;
  absl::StatusOr<std::vector<SpendEvent>> Events(const EventFilter& filter) override;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Db = std::unique_ptr<sqlite3, DbCloser>;
  using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

  struct Queued {
    SpendEvent event;
    std::chrono::steady_clock::time_point queued_at;
  };
  // A batch that could not be written: sequence numbers (begin, end].
  struct Failure {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    absl::Status status;
  };

  SqliteSpendStore(std::string path, Options options, Db writer_db, Statement insert, Db reader_db);

  void WriterLoop();
  // Takes the next batch, waiting until one is due. Empty when stopping with
  // nothing left to write.
  std::vector<SpendEvent> NextBatch();
  absl::Status WriteBatch(const std::vector<SpendEvent>& batch);
  absl::Status TryWriteBatch(const std::vector<SpendEvent>& batch);
  void EchoBatch(const std::vector<SpendEvent>& batch);

  const std::string path_;
  const Options options_;

  // Used only by the writer thread (and by the constructor before it starts).
  Db writer_db_;
  Statement insert_;

  absl::Mutex reader_mu_;
  Db reader_db_ ABSL_GUARDED_BY(reader_mu_);

  // How many overflow losses to warn about now (0: stay quiet), at most one
  // warning per second.
  std::uint64_t TakeOverflowReport(std::chrono::steady_clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // the writer waits on it
  absl::CondVar done_cv_;  // Flush waits on it
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  // Events ever accepted into the queue, and ever taken out and finished
  // (written or counted lost). FIFO order makes them sequence numbers.
  std::uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t finished_ ABSL_GUARDED_BY(mu_) = 0;
  // The most recent failed batches, for Flush to report (bounded: old ones
  // have no waiter left to care).
  std::deque<Failure> failures_ ABSL_GUARDED_BY(mu_);
  int flush_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Overflow losses not yet reported in a warning, and when the last one was.
  std::uint64_t unreported_overflow_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_overflow_warning_ ABSL_GUARDED_BY(mu_);

  std::atomic<std::uint64_t> lost_{0};
  std::thread writer_;
};

}  // namespace gencache::spend
