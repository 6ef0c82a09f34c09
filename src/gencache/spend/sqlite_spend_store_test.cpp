#include "gencache/spend/sqlite_spend_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gencache::spend {
namespace {

namespace json = boost::json;
using std::chrono::sys_days;
using namespace std::chrono_literals;

const base::SystemTime kDay1 = sys_days{std::chrono::year{2026} / 11 / 25};
const base::SystemTime kDay2 = kDay1 + 24h;
const base::SystemTime kForever = base::SystemTime::max();

// A fresh directory under /tmp for one test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/gencache-spend-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<SqliteSpendStore> OpenOrDie(const std::string& path,
                                            SqliteSpendStore::Options options = {}) {
  auto store = SqliteSpendStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

SpendEvent Event(base::SystemTime ts, std::string model, std::string user, std::string status,
                 std::int64_t cost_micros, std::int64_t saving_micros = 0) {
  static std::atomic<int> next_id{0};
  const int id = ++next_id;
  return SpendEvent{.ts = ts,
                    .request_id = "req-" + std::to_string(id),
                    .provider = "skytells",
                    .model = std::move(model),
                    .user = std::move(user),
                    .cost = base::Money::FromMicros(cost_micros),
                    .saving = base::Money::FromMicros(saving_micros),
                    .cache_status = std::move(status),
                    .prediction_id = "pred-" + std::to_string(id),
                    .upstream_latency = 1500us,
                    .total_latency = 2001us};
}

std::int64_t CountAll(SqliteSpendStore& store) {
  absl::StatusOr<Summary> summary = store.Summarize(GroupBy::kModel, base::SystemTime{}, kForever);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return summary.ok() ? summary->total.requests : -1;
}

// Polls `done` for up to 10 s; the writer thread makes progress on its own.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A second connection that holds the database's write lock while it lives,
// so the store's writer waits (or fails, with a short busy_timeout).
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
  }
  ~WriteLockHolder() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteSpendStoreTest, ConcurrentRecordsAreAllWrittenInBatches) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("spend.db"), {.batch_size = 64});
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        store->Record(Event(kDay1 + std::chrono::milliseconds{i}, "model-" + std::to_string(t),
                            "user", "miss", 10));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->lost(), 0u);
  EXPECT_EQ(store->queued(), 0u);

  absl::StatusOr<Summary> summary = store->Summarize(GroupBy::kModel, kDay1, kDay2);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->total.requests, kThreads * kPerThread);
  EXPECT_EQ(summary->total.cost.micros, kThreads * kPerThread * 10);
  ASSERT_EQ(summary->rows.size(), static_cast<std::size_t>(kThreads));
  for (const SummaryRow& row : summary->rows) EXPECT_EQ(row.requests, kPerThread) << row.key;
}

TEST(SqliteSpendStoreTest, FlushWithNothingQueuedReturnsAtOnce) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("spend.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Flush().ok());
  EXPECT_EQ(CountAll(*store), 0);
}

TEST(SqliteSpendStoreTest, TheIntervalWritesAPartialBatchWithoutAFlush) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("spend.db"), {.batch_size = 1000, .flush_interval = 10ms});
  ASSERT_NE(store, nullptr);
  store->Record(Event(kDay1, "m", "u", "miss", 1));
  EXPECT_TRUE(WaitFor([&] { return CountAll(*store) == 1; }));
}

TEST(SqliteSpendStoreTest, DestructionWritesEverythingQueued) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  {
    // Nothing would be written before destruction: no batch fills and the
    // interval is an hour.
    auto store = OpenOrDie(path, {.batch_size = 100'000, .flush_interval = 1h});
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 1000; ++i) store->Record(Event(kDay1, "m", "u", "hit", 0, 40'000));
    EXPECT_EQ(CountAll(*store), 0);
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(CountAll(*store), 1000);
}

TEST(SqliteSpendStoreTest, ReopenKeepsEveryField) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  SpendEvent original = Event(kDay1 + 5h + 123ms, "truefusion-pro", "al\"ice", "miss", 40'000);
  original.upstream_latency = 987'654us;
  original.total_latency = 1'000'001us;
  original.rehosted = true;
  original.rehosted_bytes = 5'000'000'000;  // over 32 bits
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    store->Record(original);
    ASSERT_TRUE(store->Flush().ok());
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<SpendEvent>> events = store->Events({.to = kForever});
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const SpendEvent& e = events->front();
  EXPECT_EQ(e.ts, original.ts);
  EXPECT_EQ(e.request_id, original.request_id);
  EXPECT_EQ(e.provider, original.provider);
  EXPECT_EQ(e.model, original.model);
  EXPECT_EQ(e.user, original.user);
  EXPECT_EQ(e.cost, original.cost);
  EXPECT_EQ(e.saving, original.saving);
  EXPECT_EQ(e.cache_status, original.cache_status);
  EXPECT_EQ(e.prediction_id, original.prediction_id);
  EXPECT_EQ(e.upstream_latency, original.upstream_latency);
  EXPECT_EQ(e.total_latency, original.total_latency);
  EXPECT_TRUE(e.rehosted);
  EXPECT_EQ(e.rehosted_bytes, original.rehosted_bytes);
}

TEST(SqliteSpendStoreTest, TimesAreStoredToTheMillisecond) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("spend.db"));
  ASSERT_NE(store, nullptr);
  store->Record(Event(kDay1 + 7ms + 999us, "m", "u", "miss", 1));
  ASSERT_TRUE(store->Flush().ok());
  absl::StatusOr<std::vector<SpendEvent>> events = store->Events({.to = kForever});
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().ts, kDay1 + 7ms);
}

TEST(SqliteSpendStoreTest, AFullQueueCountsLostEvents) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  auto store = OpenOrDie(path, {.queue_capacity = 3,
                                .batch_size = 1,
                                .flush_interval = 1h,
                                .busy_timeout = std::chrono::minutes{1}});
  ASSERT_NE(store, nullptr);
  {
    WriteLockHolder lock(path);
    // The writer takes the first event and then waits for the lock, so the
    // queue is empty and holds exactly `queue_capacity` more.
    store->Record(Event(kDay1, "m", "u", "miss", 1));
    ASSERT_TRUE(WaitFor([&] { return store->queued() == 0; }));
    for (int i = 0; i < 8; ++i) store->Record(Event(kDay1, "m", "u", "miss", 1));
    EXPECT_EQ(store->queued(), 3u);
    EXPECT_EQ(store->lost(), 5u);
  }
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->lost(), 5u);
  EXPECT_EQ(CountAll(*store), 4);
}

TEST(SqliteSpendStoreTest, AnUnwritableBatchIsCountedAndFlushReportsIt) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  auto store = OpenOrDie(path, {.batch_size = 10, .busy_timeout = 20ms});
  ASSERT_NE(store, nullptr);
  {
    WriteLockHolder lock(path);
    store->Record(Event(kDay1, "m", "u", "miss", 1));
    store->Record(Event(kDay1, "m", "u", "miss", 1));
    const absl::Status status = store->Flush();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_EQ(store->lost(), 2u);
  }
  store->Record(Event(kDay1, "m", "u", "miss", 1));
  EXPECT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->lost(), 2u);
  EXPECT_EQ(CountAll(*store), 1);
}

// Two days of known traffic:
//   day 1: pro/alice miss 0.04, pro/alice hit (saved 0.04), edge/bob miss 0.01,
//          edge/bob near-hit (saved 0.01), pro/bob error 0.00 at 23:59:59.999
//   day 2: ultra/alice miss 0.08 at 00:00, pro/carol coalesced (saved 0.04),
//          pro/alice bypass 0.04, edge/carol denied
std::unique_ptr<SqliteSpendStore> StoreWithTwoDays(const TempDir& dir) {
  auto store = OpenOrDie(dir.File("spend.db"));
  if (store == nullptr) return nullptr;
  store->Record(Event(kDay1 + 9h, "truefusion-pro", "alice", "miss", 40'000));
  store->Record(Event(kDay1 + 10h, "truefusion-pro", "alice", "hit", 0, 40'000));
  store->Record(Event(kDay1 + 11h, "truefusion-edge", "bob", "miss", 10'000));
  store->Record(Event(kDay1 + 12h, "truefusion-edge", "bob", "near-hit", 0, 10'000));
  store->Record(Event(kDay2 - 1ms, "truefusion-pro", "bob", "error", 0));
  store->Record(Event(kDay2, "truefusion-ultra", "alice", "miss", 80'000));
  store->Record(Event(kDay2 + 1h, "truefusion-pro", "carol", "coalesced", 0, 40'000));
  store->Record(Event(kDay2 + 2h, "truefusion-pro", "alice", "bypass", 40'000));
  store->Record(Event(kDay2 + 3h, "truefusion-edge", "carol", "denied", 0));
  EXPECT_TRUE(store->Flush().ok());
  return store;
}

void ExpectRow(const SummaryRow& row, const std::string& key, std::int64_t requests,
               std::int64_t upstream_calls, std::int64_t hits, std::int64_t cost,
               std::int64_t saved) {
  EXPECT_EQ(row.key, key);
  EXPECT_EQ(row.requests, requests) << key;
  EXPECT_EQ(row.upstream_calls, upstream_calls) << key;
  EXPECT_EQ(row.hits, hits) << key;
  EXPECT_EQ(row.cost.micros, cost) << key;
  EXPECT_EQ(row.saved.micros, saved) << key;
}

TEST(SqliteSpendStoreTest, SummarizeByModel) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Summary> s = store->Summarize(GroupBy::kModel, kDay1, kDay2 + 24h);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->group_by, GroupBy::kModel);
  EXPECT_EQ(s->from, kDay1);
  EXPECT_EQ(s->to, kDay2 + 24h);
  ASSERT_EQ(s->rows.size(), 3u);
  // pro and ultra both cost 0.08: the tie is broken by key.
  ExpectRow(s->rows[0], "truefusion-pro", 5, 3, 1, 80'000, 80'000);
  ExpectRow(s->rows[1], "truefusion-ultra", 1, 1, 0, 80'000, 0);
  ExpectRow(s->rows[2], "truefusion-edge", 3, 1, 1, 10'000, 10'000);
  ExpectRow(s->total, "total", 9, 5, 2, 170'000, 90'000);
}

TEST(SqliteSpendStoreTest, SummarizeByUser) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Summary> s = store->Summarize(GroupBy::kUser, kDay1, kDay2 + 24h);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->rows.size(), 3u);
  ExpectRow(s->rows[0], "alice", 4, 3, 1, 160'000, 40'000);
  ExpectRow(s->rows[1], "bob", 3, 2, 1, 10'000, 10'000);
  ExpectRow(s->rows[2], "carol", 2, 0, 0, 0, 40'000);
}

TEST(SqliteSpendStoreTest, SummarizeByUtcDay) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Summary> s = store->Summarize(GroupBy::kDay, kDay1, kDay2 + 24h);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->rows.size(), 2u);
  ExpectRow(s->rows[0], "2026-11-26", 4, 2, 0, 120'000, 40'000);
  ExpectRow(s->rows[1], "2026-11-25", 5, 3, 2, 50'000, 50'000);
}

TEST(SqliteSpendStoreTest, SummarizeWindowIncludesFromAndExcludesTo) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  // [day 2, day 2 + 2h): the midnight event is in, the bypass at 02:00 is out.
  absl::StatusOr<Summary> s = store->Summarize(GroupBy::kDay, kDay2, kDay2 + 2h);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->rows.size(), 1u);
  ExpectRow(s->rows[0], "2026-11-26", 2, 1, 0, 80'000, 40'000);
  // [day 1, day 2): the error at 23:59:59.999 is the last one in.
  s = store->Summarize(GroupBy::kModel, kDay1, kDay2);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->total.requests, 5);
  s = store->Summarize(GroupBy::kModel, kDay1, kDay2 - 1ms);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->total.requests, 4);
  // An empty window has no rows and a zero total.
  s = store->Summarize(GroupBy::kUser, kDay2 + 24h, kDay2 + 48h);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->rows.empty());
  ExpectRow(s->total, "total", 0, 0, 0, 0, 0);
}

std::vector<std::string> Statuses(const std::vector<SpendEvent>& events) {
  std::vector<std::string> out;
  for (const SpendEvent& e : events) out.push_back(e.cache_status + "/" + e.user);
  return out;
}

TEST(SqliteSpendStoreTest, EventsAreNewestFirstAndFiltered) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  using V = std::vector<std::string>;

  auto all = store->Events({.to = kForever});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Statuses(*all),
            (V{"denied/carol", "bypass/alice", "coalesced/carol", "miss/alice", "error/bob",
               "near-hit/bob", "miss/bob", "hit/alice", "miss/alice"}));

  auto by_model = store->Events({.to = kForever, .model = "truefusion-edge"});
  ASSERT_TRUE(by_model.ok()) << by_model.status();
  EXPECT_EQ(Statuses(*by_model), (V{"denied/carol", "near-hit/bob", "miss/bob"}));

  auto by_user = store->Events({.to = kForever, .user = "alice"});
  ASSERT_TRUE(by_user.ok()) << by_user.status();
  EXPECT_EQ(Statuses(*by_user), (V{"bypass/alice", "miss/alice", "hit/alice", "miss/alice"}));

  auto by_status = store->Events({.to = kForever, .cache_status = "miss"});
  ASSERT_TRUE(by_status.ok()) << by_status.status();
  EXPECT_EQ(Statuses(*by_status), (V{"miss/alice", "miss/bob", "miss/alice"}));

  auto combined = store->Events(
      {.to = kForever, .model = "truefusion-pro", .user = "alice", .cache_status = "miss"});
  ASSERT_TRUE(combined.ok()) << combined.status();
  EXPECT_EQ(Statuses(*combined), (V{"miss/alice"}));

  auto window = store->Events({.from = kDay1 + 11h, .to = kDay2});
  ASSERT_TRUE(window.ok()) << window.status();
  EXPECT_EQ(Statuses(*window), (V{"error/bob", "near-hit/bob", "miss/bob"}));

  auto none = store->Events({.to = kForever, .user = "nobody"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST(SqliteSpendStoreTest, EventsPaginate) {
  TempDir dir;
  auto store = StoreWithTwoDays(dir);
  ASSERT_NE(store, nullptr);
  using V = std::vector<std::string>;
  auto page1 = store->Events({.to = kForever, .limit = 4});
  auto page2 = store->Events({.to = kForever, .limit = 4, .offset = 4});
  auto page3 = store->Events({.to = kForever, .limit = 4, .offset = 8});
  auto past_end = store->Events({.to = kForever, .limit = 4, .offset = 100});
  ASSERT_TRUE(page1.ok() && page2.ok() && page3.ok() && past_end.ok());
  EXPECT_EQ(Statuses(*page1), (V{"denied/carol", "bypass/alice", "coalesced/carol", "miss/alice"}));
  EXPECT_EQ(Statuses(*page2), (V{"error/bob", "near-hit/bob", "miss/bob", "hit/alice"}));
  EXPECT_EQ(Statuses(*page3), (V{"miss/alice"}));
  EXPECT_TRUE(past_end->empty());

  EXPECT_EQ(store->Events({.to = kForever, .limit = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Events({.to = kForever, .offset = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SqliteSpendStoreTest, EventsLimitIsCapped) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("spend.db"));
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < SqliteSpendStore::kMaxEventsLimit + 5; ++i) {
    store->Record(Event(kDay1 + std::chrono::milliseconds{i}, "m", "u", "miss", 1));
  }
  ASSERT_TRUE(store->Flush().ok());
  auto events = store->Events({.to = kForever, .limit = 1'000'000});
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), static_cast<std::size_t>(SqliteSpendStore::kMaxEventsLimit));
  EXPECT_EQ(events->front().ts,
            kDay1 + std::chrono::milliseconds{SqliteSpendStore::kMaxEventsLimit + 4});
}

TEST(SqliteSpendStoreTest, EchoWritesOneValidJsonLinePerEvent) {
  TempDir dir;
  std::ostringstream out;
  auto store = OpenOrDie(dir.File("spend.db"), {.echo_json_lines = true, .echo_stream = &out});
  ASSERT_NE(store, nullptr);
  store->Record(Event(kDay1 + 1s, "truefusion-pro", "alice", "miss", 40'000));
  store->Record(Event(kDay1 + 2s, "truefusion-pro", "bob\n\"quoted\"", "hit", 0, 40'000));
  ASSERT_TRUE(store->Flush().ok());

  std::istringstream in(out.str());
  std::vector<json::object> lines;
  for (std::string line; std::getline(in, line);) {
    json::value doc;
    ASSERT_NO_THROW(doc = json::parse(line)) << line;
    lines.push_back(doc.as_object());
  }
  ASSERT_EQ(lines.size(), 2u);
  for (const json::object& line : lines) {
    EXPECT_EQ(line.at("event_type").as_string(), "generation_cost");
    for (const char* field :
         {"ts", "request_id", "provider", "model", "user", "cost_usd", "saving_usd", "cache_status",
          "prediction_id", "upstream_ms", "total_ms", "rehosted", "rehosted_bytes"}) {
      EXPECT_TRUE(line.contains(field)) << field;
    }
  }
  EXPECT_EQ(lines[0].at("ts").as_string(), "2026-11-25T00:00:01Z");
  EXPECT_DOUBLE_EQ(lines[0].at("cost_usd").as_double(), 0.04);
  EXPECT_DOUBLE_EQ(lines[0].at("upstream_ms").as_double(), 1.5);
  EXPECT_DOUBLE_EQ(lines[0].at("total_ms").as_double(), 2.001);
  EXPECT_EQ(lines[1].at("user").as_string(), "bob\n\"quoted\"");
  EXPECT_DOUBLE_EQ(lines[1].at("saving_usd").as_double(), 0.04);
  EXPECT_EQ(CountAll(*store), 2);
}

TEST(SqliteSpendStoreTest, NoEchoUnlessAskedFor) {
  TempDir dir;
  std::ostringstream out;
  auto store = OpenOrDie(dir.File("spend.db"), {.echo_stream = &out});
  ASSERT_NE(store, nullptr);
  store->Record(Event(kDay1, "m", "u", "miss", 1));
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(out.str(), "");
}

TEST(SqliteSpendStoreTest, CreatesTheCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  ASSERT_NE(OpenOrDie(path), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), SqliteSpendStore::kSchemaVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteSpendStoreTest, RefusesANewerSchema) {
  TempDir dir;
  const std::string path = dir.File("spend.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteSpendStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST(SqliteSpendStoreTest, OpenErrorsAreClean) {
  TempDir dir;
  const std::string garbage = dir.File("garbage.db");
  {
    std::ofstream out(garbage, std::ios::binary);
    out << std::string(4096, 'g');
  }
  auto not_a_db = SqliteSpendStore::Open(garbage, {});
  ASSERT_FALSE(not_a_db.ok());
  EXPECT_EQ(not_a_db.status().code(), absl::StatusCode::kDataLoss) << not_a_db.status();

  auto missing = SqliteSpendStore::Open(dir.File("missing/dir/spend.db"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable) << missing.status();

  auto bad_options = SqliteSpendStore::Open(dir.File("spend.db"), {.queue_capacity = 0});
  ASSERT_FALSE(bad_options.ok());
  EXPECT_EQ(bad_options.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gencache::spend
