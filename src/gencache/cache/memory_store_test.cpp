#include "gencache/cache/memory_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gencache/base/sha256.hpp"
#include "gencache/cache/cache_test_util.hpp"

namespace gencache::cache {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

keying::CacheKey Key(int i) { return keying::CacheKey{base::Sha256Hex(std::to_string(i))}; }

// Every body in a test has this size, so every entry has the same charge.
std::string Body(char fill) { return std::string(100, fill); }
const std::size_t kCharge = MakeResponse(Body('x'))->ApproxBytes();

TEST(MemoryStoreTest, HitReturnsTheStoredObject) {
  MemoryStore store({});
  CachedResponsePtr value = MakeResponse(Body('a'));
  ASSERT_TRUE(store.Put(Key(1), value).ok());
  EXPECT_EQ(store.Get(Key(1), kTestStart), value) << "values are shared, never copied";
}

TEST(MemoryStoreTest, EvictsLeastRecentlyUsedFirst) {
  MemoryStore store({.max_bytes = 3 * kCharge, .shards = 1});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('1'))).ok());
  ASSERT_TRUE(store.Put(Key(2), MakeResponse(Body('2'))).ok());
  ASSERT_TRUE(store.Put(Key(3), MakeResponse(Body('3'))).ok());
  ASSERT_NE(store.Get(Key(1), kTestStart), nullptr);  // 2 is now the oldest

  ASSERT_TRUE(store.Put(Key(4), MakeResponse(Body('4'))).ok());
  EXPECT_EQ(store.Get(Key(2), kTestStart), nullptr);
  EXPECT_NE(store.Get(Key(1), kTestStart), nullptr);
  EXPECT_NE(store.Get(Key(3), kTestStart), nullptr);
  EXPECT_NE(store.Get(Key(4), kTestStart), nullptr);

  // Order now (newest first): 4 3 1.
  ASSERT_TRUE(store.Put(Key(5), MakeResponse(Body('5'))).ok());
  EXPECT_EQ(store.Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(store.Stats().entries, 3u);
}

TEST(MemoryStoreTest, OverwriteCountsAsUse) {
  MemoryStore store({.max_bytes = 2 * kCharge, .shards = 1});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('1'))).ok());
  ASSERT_TRUE(store.Put(Key(2), MakeResponse(Body('2'))).ok());
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('a'))).ok());
  ASSERT_TRUE(store.Put(Key(3), MakeResponse(Body('3'))).ok());
  EXPECT_EQ(store.Get(Key(2), kTestStart), nullptr);
  ASSERT_NE(store.Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(*store.Get(Key(1), kTestStart)->body, Body('a'));
}

TEST(MemoryStoreTest, BytesAreTheSumOfCharges) {
  MemoryStore store({.max_bytes = 1 << 20, .shards = 4});
  CachedResponsePtr small = MakeResponse("s");
  CachedResponsePtr large = MakeResponse(std::string(5000, 'l'));
  ASSERT_TRUE(store.Put(Key(1), small).ok());
  ASSERT_TRUE(store.Put(Key(2), large).ok());
  EXPECT_EQ(store.Stats().bytes, small->ApproxBytes() + large->ApproxBytes());

  ASSERT_TRUE(store.Put(Key(1), large).ok());
  EXPECT_EQ(store.Stats().bytes, 2 * large->ApproxBytes());

  ASSERT_TRUE(store.Erase(Key(2)).ok());
  EXPECT_EQ(store.Stats().bytes, large->ApproxBytes());

  ASSERT_TRUE(store.Put(Key(3), MakeResponse("e", seconds(5))).ok());
  EXPECT_EQ(store.Get(Key(3), kTestStart + seconds(5)), nullptr);
  EXPECT_EQ(store.Stats().bytes, large->ApproxBytes()) << "an expired Get drops the entry";
  EXPECT_EQ(store.Stats().entries, 1u);
}

TEST(MemoryStoreTest, OversizeEntryIsNotKept) {
  MemoryStore store({.max_bytes = 2 * kCharge, .shards = 1});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('1'))).ok());
  ASSERT_TRUE(store.Put(Key(2), MakeResponse(std::string(3 * kCharge, 'x'))).ok());
  EXPECT_EQ(store.Get(Key(2), kTestStart), nullptr);
  EXPECT_NE(store.Get(Key(1), kTestStart), nullptr) << "an oversize Put evicts nothing";

  // Replacing a value with an oversize one leaves the key absent, not stale.
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(std::string(3 * kCharge, 'x'))).ok());
  EXPECT_EQ(store.Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(store.Stats().entries, 0u);
  EXPECT_EQ(store.Stats().bytes, 0u);
}

TEST(MemoryStoreTest, BudgetIsSplitOverShards) {
  // Fits the store, not one of its four shards.
  MemoryStore store({.max_bytes = 8 * kCharge, .shards = 4});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(std::string(3 * kCharge, 'x'))).ok());
  EXPECT_EQ(store.Get(Key(1), kTestStart), nullptr);
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('1'))).ok());
  EXPECT_NE(store.Get(Key(1), kTestStart), nullptr);
}

TEST(MemoryStoreTest, NeverExceedsItsBudget) {
  MemoryStore store({.max_bytes = 20 * kCharge, .shards = 4});
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(store.Put(Key(i), MakeResponse(Body('x'))).ok());
  const CacheStats stats = store.Stats();
  EXPECT_LE(stats.bytes, 20 * kCharge);
  EXPECT_EQ(stats.bytes, stats.entries * kCharge);
  EXPECT_GT(stats.entries, 0u);
  EXPECT_NE(store.Get(Key(499), kTestStart), nullptr) << "the newest entry is kept";
}

TEST(MemoryStoreTest, EvictionDropsThePredictionIndex) {
  MemoryStore store({.max_bytes = kCharge + kCharge / 2, .shards = 1});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse(Body('1'), hours(1), "pred-1")).ok());
  ASSERT_NE(store.GetByPrediction("skytells", "pred-1", kTestStart), nullptr);
  ASSERT_TRUE(store.Put(Key(2), MakeResponse(Body('2'), hours(1), "pred-2")).ok());
  EXPECT_EQ(store.GetByPrediction("skytells", "pred-1", kTestStart), nullptr);
  EXPECT_NE(store.GetByPrediction("skytells", "pred-2", kTestStart), nullptr);
}

TEST(MemoryStoreTest, PredictionIndexSurvivesAnotherKeysRemoval) {
  // Two keys share a prediction id; dropping the older must not unindex the newer.
  MemoryStore store({.shards = 1});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse("old", hours(1), "pred-1")).ok());
  ASSERT_TRUE(store.Put(Key(2), MakeResponse("new", hours(1), "pred-1")).ok());
  ASSERT_TRUE(store.Erase(Key(1)).ok());
  CachedResponsePtr out = store.GetByPrediction("skytells", "pred-1", kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "new");
}

TEST(MemoryStoreTest, ZeroShardsMeansOne) {
  MemoryStore store({.max_bytes = 1 << 20, .shards = 0});
  ASSERT_TRUE(store.Put(Key(1), MakeResponse("v")).ok());
  EXPECT_NE(store.Get(Key(1), kTestStart), nullptr);
}

TEST(MemoryStoreTest, ConcurrentGetPutEraseStayConsistent) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 64;
  constexpr int kOps = 5000;
  // Fixed-width ids keep every entry's charge equal.
  const auto id = [](int k) { return std::string(k < 10 ? "0" : "") + std::to_string(k); };
  const std::size_t charge = MakeResponse(Body('x'), hours(1), id(0))->ApproxBytes();
  MemoryStore store({.max_bytes = 24 * charge, .shards = 4});  // forces evictions

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &id, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_int_distribution<int> key_dist(0, kKeys - 1);
      std::uniform_int_distribution<int> op_dist(0, 9);
      for (int i = 0; i < kOps; ++i) {
        const int k = key_dist(rng);
        const int op = op_dist(rng);
        if (op < 6) {
          CachedResponsePtr hit = store.Get(Key(k), kTestStart);
          // A key only ever returns what was Put under it.
          if (hit != nullptr) {
            ASSERT_EQ(hit->prediction_id, id(k));
          }
        } else if (op < 9) {
          ASSERT_TRUE(store.Put(Key(k), MakeResponse(Body('x'), hours(1), id(k))).ok());
        } else {
          ASSERT_TRUE(store.Erase(Key(k)).ok());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const CacheStats stats = store.Stats();
  std::uint64_t live = 0;
  for (int k = 0; k < kKeys; ++k) live += store.Get(Key(k), kTestStart) != nullptr ? 1 : 0;
  EXPECT_EQ(stats.entries, live);
  EXPECT_EQ(stats.bytes, live * charge);
  EXPECT_LE(stats.bytes, 24 * charge);
}

}  // namespace
}  // namespace gencache::cache
