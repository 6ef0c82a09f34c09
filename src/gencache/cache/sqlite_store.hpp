#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gencache/base/clock.hpp"
#include "gencache/cache/cache_store.hpp"
#include "gencache/cache/cached_response.hpp"
#include "gencache/keying/cache_key.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gencache::cache {

// The embedded persistent tier: one SQLite file in WAL mode
// (synchronous=NORMAL: a power loss may drop the last commits, never corrupt
// the file; acceptable for a cache).
//
// Times are stored as milliseconds since the Unix epoch, truncated, so an
// entry read back may expire up to 1 ms earlier than it was Put with.
// The schema version lives in `PRAGMA user_version`; Open migrates older
// files forward and refuses files from a newer gencache.
//
// Thread-safe: one connection whose prepared statements are serialised by a
// mutex. Every call does disk I/O while holding it: never call from an event
// loop. Several processes may open the same file (WAL, busy_timeout).
//
// Failures: Get and GetByPrediction log and report a miss; EvictExpired logs
// and reports 0; Put and Erase return the error.
class SqliteStore final : public CacheStore {
 public:
  struct Options {
    // How long a statement waits for another connection's write lock.
    std::chrono::milliseconds busy_timeout{5000};
  };

  // Opens or creates the cache file at `path`. Errors: DataLoss when the file
  // is not a SQLite database (or is corrupt), FailedPrecondition when it was
  // written by a newer schema, Unavailable when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(std::string path, Options options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  CachedResponsePtr Get(const keying::CacheKey& key, base::SystemTime now) override;
  absl::Status Put(const keying::CacheKey& key, CachedResponsePtr value) override;
  absl::Status Erase(const keying::CacheKey& key) override;
  // The most recently created live entry for the prediction.
  CachedResponsePtr GetByPrediction(std::string_view provider, std::string_view prediction_id,
                                    base::SystemTime now) override;
  absl::Status ForEachLive(base::SystemTime now,
                           const std::function<void(const EntrySummary&)>& visit) override;
  std::uint64_t EvictExpired(base::SystemTime now) override;
  // `bytes` is the sum of the stored body sizes (a full scan: admin use only).
  // Zero counts when the backend fails (logged).
  CacheStats Stats() const override;

  // The schema version Open migrates to.
  static constexpr int kSchemaVersion = 2;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Db = std::unique_ptr<sqlite3, DbCloser>;
  using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

  SqliteStore(std::string path, Db db);
  absl::Status Prepare();
  CachedResponsePtr QueryOne(sqlite3_stmt* stmt, std::string_view what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  // Declared before the statements so it is closed after they are finalised.
  Db db_ ABSL_GUARDED_BY(mu_);
  Statement get_ ABSL_GUARDED_BY(mu_);
  Statement get_by_prediction_ ABSL_GUARDED_BY(mu_);
  Statement put_ ABSL_GUARDED_BY(mu_);
  Statement erase_ ABSL_GUARDED_BY(mu_);
  Statement evict_ ABSL_GUARDED_BY(mu_);
  Statement stats_ ABSL_GUARDED_BY(mu_);
  Statement live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gencache::cache
