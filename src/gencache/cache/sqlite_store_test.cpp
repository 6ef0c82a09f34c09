#include "gencache/cache/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gencache/base/sha256.hpp"
#include "gencache/cache/cache_test_util.hpp"

namespace gencache::cache {
namespace {

using std::chrono::hours;

keying::CacheKey Key(int i) { return keying::CacheKey{base::Sha256Hex(std::to_string(i))}; }

std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path) {
  auto store = SqliteStore::Open(path, {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

TEST(SqliteStoreTest, DataSurvivesReopen) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Key(1), MakeResponse("kept", hours(1), "pred-1")).ok());
    ASSERT_TRUE(store->Put(Key(2), MakeResponse("erased")).ok());
    ASSERT_TRUE(store->Erase(Key(2)).ok());
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  CachedResponsePtr out = store->Get(Key(1), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "kept");
  EXPECT_NE(store->GetByPrediction("skytells", "pred-1", kTestStart), nullptr);
  EXPECT_EQ(store->Get(Key(2), kTestStart), nullptr);
  EXPECT_EQ(store->Stats().entries, 1u);
}

TEST(SqliteStoreTest, NonDatabaseFileIsACleanError) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  WriteFile(path, std::string(4096, 'g') + "this is not a database");
  auto store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find(path), absl::string_view::npos) << store.status();
  EXPECT_NE(store.status().message().find("not a database"), absl::string_view::npos)
      << store.status();
}

TEST(SqliteStoreTest, UnopenablePathIsACleanError) {
  TestTempDir dir;
  auto store = SqliteStore::Open(dir.File("missing/dir/cache.db"), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

TEST(SqliteStoreTest, CreatesTheCurrentSchemaVersion) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  ASSERT_NE(OpenOrDie(path), nullptr);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), SqliteStore::kSchemaVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, UpgradesAVersionOneFileKeepingItsEntries) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  // The schema as version 1 created it, with one entry.
  ASSERT_EQ(sqlite3_exec(db, R"sql(
      CREATE TABLE entries (key TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,
        prediction_id TEXT NOT NULL, http_status INTEGER NOT NULL, content_type TEXT NOT NULL,
        body BLOB NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
      CREATE INDEX entries_by_prediction ON entries (provider, prediction_id);
      CREATE INDEX entries_by_expiry ON entries (expires_ms);
      INSERT INTO entries VALUES ('k', 'skytells', 'm', 'p1', 200, 'application/json', '{}', 0,
                                  9000000000000);
      PRAGMA user_version = 1;)sql",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  CachedResponsePtr entry = store->Get(keying::CacheKey{"k"}, kTestStart);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(*entry->body, "{}");
  EXPECT_EQ(entry->prediction_id, "p1");
  EXPECT_TRUE(entry->blobs.empty());
  EXPECT_TRUE(entry->prompt.empty());
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST(SqliteStoreTest, BackendFailureIsAMissForGetAndAnErrorForPut) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(Key(1), MakeResponse("v", hours(1), "pred-1")).ok());

  // Break the backend under the store: its statements can no longer run.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE entries", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  EXPECT_EQ(store->Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(store->GetByPrediction("skytells", "pred-1", kTestStart), nullptr);
  EXPECT_FALSE(store->Put(Key(2), MakeResponse("w")).ok());
  EXPECT_FALSE(store->Erase(Key(1)).ok());
  EXPECT_EQ(store->EvictExpired(kTestStart), 0u);
}

TEST(SqliteStoreTest, TwoConnectionsShareTheFile) {
  TestTempDir dir;
  const std::string path = dir.File("cache.db");
  auto a = OpenOrDie(path);
  auto b = OpenOrDie(path);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Put(Key(1), MakeResponse("from a")).ok());
  CachedResponsePtr out = b->Get(Key(1), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "from a");
}

TEST(SqliteStoreTest, ConcurrentUseFromThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  TestTempDir dir;
  auto store = OpenOrDie(dir.File("cache.db"));
  ASSERT_NE(store, nullptr);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int k = t * kPerThread + i;
        ASSERT_TRUE(store->Put(Key(k), MakeResponse(std::to_string(k))).ok());
        CachedResponsePtr out = store->Get(Key(k), kTestStart);
        ASSERT_NE(out, nullptr);
        ASSERT_EQ(*out->body, std::to_string(k));
        store->Get(Key(k + 1), kTestStart);  // another thread's key, hit or miss
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(store->Stats().entries, std::uint64_t{kThreads * kPerThread});
  for (int k = 0; k < kThreads * kPerThread; ++k) {
    CachedResponsePtr out = store->Get(Key(k), kTestStart);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(*out->body, std::to_string(k));
  }
}

TEST(SqliteStoreTest, BodyOfAMegabyteRoundTrips) {
  TestTempDir dir;
  auto store = OpenOrDie(dir.File("cache.db"));
  ASSERT_NE(store, nullptr);
  std::string body(1 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(store->Put(Key(1), MakeResponse(body)).ok());
  CachedResponsePtr out = store->Get(Key(1), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, body);
}

}  // namespace
}  // namespace gencache::cache
