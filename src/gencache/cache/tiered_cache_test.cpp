#include "gencache/cache/tiered_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "gencache/base/sha256.hpp"
#include "gencache/cache/cache_test_util.hpp"
#include "gencache/cache/memory_store.hpp"
#include "gencache/cache/sqlite_store.hpp"

namespace gencache::cache {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

keying::CacheKey Key(int i) { return keying::CacheKey{base::Sha256Hex(std::to_string(i))}; }

class TieredCacheTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.File("cache.db"), {});
    ASSERT_TRUE(store.ok()) << store.status();
    persistent_ = *std::move(store);
    tiered_ = std::make_unique<TieredCache>(memory_, *persistent_);
  }

  TestTempDir dir_;
  MemoryStore memory_{{.max_bytes = 1 << 20, .shards = 4}};
  std::unique_ptr<SqliteStore> persistent_;
  std::unique_ptr<TieredCache> tiered_;
};

TEST_F(TieredCacheTest, PutWritesBothTiers) {
  ASSERT_TRUE(tiered_->Put(Key(1), MakeResponse("v")).ok());
  EXPECT_NE(memory_.Get(Key(1), kTestStart), nullptr);
  EXPECT_NE(persistent_->Get(Key(1), kTestStart), nullptr);
  EXPECT_NE(tiered_->GetFromMemory(Key(1), kTestStart), nullptr);
  const TieredStats stats = tiered_->Stats();
  EXPECT_EQ(stats.memory.entries, 1u);
  EXPECT_EQ(stats.persistent.entries, 1u);
}

TEST_F(TieredCacheTest, PersistentHitIsPromoted) {
  ASSERT_TRUE(persistent_->Put(Key(1), MakeResponse("cold")).ok());
  EXPECT_EQ(tiered_->GetFromMemory(Key(1), kTestStart), nullptr);

  CachedResponsePtr out = tiered_->Get(Key(1), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "cold");
  CachedResponsePtr promoted = tiered_->GetFromMemory(Key(1), kTestStart);
  ASSERT_NE(promoted, nullptr);
  EXPECT_EQ(promoted, out);
}

TEST_F(TieredCacheTest, MissInBothTiers) {
  EXPECT_EQ(tiered_->Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(tiered_->Stats().memory.entries, 0u);
}

TEST_F(TieredCacheTest, MemoryHitDoesNotReadPersistent) {
  ASSERT_TRUE(memory_.Put(Key(1), MakeResponse("hot")).ok());
  CachedResponsePtr out = tiered_->Get(Key(1), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "hot");
  EXPECT_EQ(persistent_->Stats().entries, 0u);
}

TEST_F(TieredCacheTest, EraseClearsBothTiers) {
  ASSERT_TRUE(tiered_->Put(Key(1), MakeResponse("v")).ok());
  ASSERT_TRUE(tiered_->Erase(Key(1)).ok());
  EXPECT_EQ(tiered_->Get(Key(1), kTestStart), nullptr);
  EXPECT_EQ(persistent_->Get(Key(1), kTestStart), nullptr);
}

TEST_F(TieredCacheTest, GetByPredictionFallsThroughToPersistent) {
  ASSERT_TRUE(persistent_->Put(Key(1), MakeResponse("p", hours(1), "pred-1")).ok());
  ASSERT_TRUE(memory_.Put(Key(2), MakeResponse("m", hours(1), "pred-2")).ok());
  CachedResponsePtr cold = tiered_->GetByPrediction("skytells", "pred-1", kTestStart);
  ASSERT_NE(cold, nullptr);
  EXPECT_EQ(*cold->body, "p");
  CachedResponsePtr hot = tiered_->GetByPrediction("skytells", "pred-2", kTestStart);
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(*hot->body, "m");
  EXPECT_EQ(tiered_->GetByPrediction("skytells", "pred-3", kTestStart), nullptr);
}

TEST_F(TieredCacheTest, EvictExpiredReportsEachTier) {
  ASSERT_TRUE(tiered_->Put(Key(1), MakeResponse("a", seconds(10))).ok());
  ASSERT_TRUE(persistent_->Put(Key(2), MakeResponse("b", seconds(10))).ok());
  ASSERT_TRUE(tiered_->Put(Key(3), MakeResponse("c", hours(1))).ok());
  const TieredEvictions evicted = tiered_->EvictExpired(kTestStart + seconds(10));
  EXPECT_EQ(evicted.memory, 1u);
  EXPECT_EQ(evicted.persistent, 2u);
  EXPECT_NE(tiered_->GetFromMemory(Key(3), kTestStart + seconds(10)), nullptr);
}

TEST_F(TieredCacheTest, ExpiredPersistentEntryIsNotPromoted) {
  ASSERT_TRUE(persistent_->Put(Key(1), MakeResponse("old", seconds(10))).ok());
  EXPECT_EQ(tiered_->Get(Key(1), kTestStart + seconds(10)), nullptr);
  EXPECT_EQ(memory_.Stats().entries, 0u);
}

}  // namespace
}  // namespace gencache::cache
