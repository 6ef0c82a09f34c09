#include "gencache/cache/cache_store_conformance.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gencache/base/clock.hpp"
#include "gencache/cache/cache_test_util.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::cache {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

keying::CacheKey Key(char fill) { return keying::CacheKey{std::string(64, fill)}; }

// Only backends that link this file instantiate the suite.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CacheStoreConformance);

TEST_P(CacheStoreConformance, MissingKeyIsNull) {
  EXPECT_EQ(store_->Get(Key('a'), kTestStart), nullptr);
  EXPECT_EQ(store_->Stats().entries, 0u);
}

TEST_P(CacheStoreConformance, RoundTripKeepsEveryField) {
  base::FakeClock clock;
  auto in = std::make_shared<CachedResponse>();
  in->http_status = 201;
  in->content_type = "application/json; charset=utf-8";
  // Binary bytes, an embedded NUL and high bytes included.
  in->body = std::make_shared<const std::string>(std::string("{\"x\":\0\xff\x01}", 10));
  in->provider = "skytells";
  in->model = "truefusion-pro";
  in->prediction_id = "pred-123";
  in->created = clock.Now();
  in->expires = clock.Now() + hours(24 * 7);
  in->blobs = {std::string(64, 'b'), std::string(64, 'c')};
  in->prompt = "a red fox in the snow";
  in->prompt_partition = std::string(64, 'p');
  ASSERT_TRUE(store_->Put(Key('a'), in).ok());

  CachedResponsePtr out = store_->Get(Key('a'), clock.Now());
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->http_status, 201);
  EXPECT_EQ(out->content_type, in->content_type);
  ASSERT_NE(out->body, nullptr);
  EXPECT_EQ(*out->body, *in->body);
  EXPECT_EQ(out->body->size(), 10u);
  EXPECT_EQ(out->provider, "skytells");
  EXPECT_EQ(out->model, "truefusion-pro");
  EXPECT_EQ(out->prediction_id, "pred-123");
  EXPECT_EQ(out->created, in->created);
  EXPECT_EQ(out->expires, in->expires);
  EXPECT_EQ(out->blobs, in->blobs);
  EXPECT_EQ(out->prompt, in->prompt);
  EXPECT_EQ(out->prompt_partition, in->prompt_partition);
  EXPECT_EQ(store_->Stats().entries, 1u);
}

TEST_P(CacheStoreConformance, ForEachLiveVisitsLiveEntriesWithoutBodies) {
  auto with_blobs = std::const_pointer_cast<CachedResponse>(MakeResponse("a", hours(2)));
  with_blobs->blobs = {std::string(64, '1')};
  with_blobs->prompt = "two cats";
  with_blobs->prompt_partition = "part";
  ASSERT_TRUE(store_->Put(Key('a'), with_blobs).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("b", hours(1))).ok());
  ASSERT_TRUE(store_->Put(Key('c'), MakeResponse("c", seconds(1))).ok());

  std::map<std::string, EntrySummary> seen;
  ASSERT_TRUE(store_
                  ->ForEachLive(kTestStart + seconds(5),
                                [&](const EntrySummary& s) { seen[s.key.hex] = s; })
                  .ok());
  ASSERT_EQ(seen.size(), 2u);  // 'c' has expired
  const EntrySummary& a = seen.at(Key('a').hex);
  EXPECT_EQ(a.blobs, std::vector<std::string>{std::string(64, '1')});
  EXPECT_EQ(a.prompt, "two cats");
  EXPECT_EQ(a.prompt_partition, "part");
  EXPECT_EQ(a.provider, "skytells");
  EXPECT_EQ(a.model, "truefusion");
  EXPECT_EQ(a.expires, kTestStart + hours(2));
  EXPECT_TRUE(seen.at(Key('b').hex).blobs.empty());
}

TEST_P(CacheStoreConformance, EmptyBodyRoundTrips) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("")).ok());
  CachedResponsePtr out = store_->Get(Key('a'), kTestStart);
  ASSERT_NE(out, nullptr);
  ASSERT_NE(out->body, nullptr);
  EXPECT_EQ(*out->body, "");
}

TEST_P(CacheStoreConformance, PutOverwrites) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("first")).ok());
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("second")).ok());
  CachedResponsePtr out = store_->Get(Key('a'), kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "second");
  EXPECT_EQ(store_->Stats().entries, 1u);
}

TEST_P(CacheStoreConformance, KeysAreIndependent) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A")).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("B")).ok());
  EXPECT_EQ(*store_->Get(Key('a'), kTestStart)->body, "A");
  EXPECT_EQ(*store_->Get(Key('b'), kTestStart)->body, "B");
  EXPECT_EQ(store_->Stats().entries, 2u);
}

TEST_P(CacheStoreConformance, Erase) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A")).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("B")).ok());
  ASSERT_TRUE(store_->Erase(Key('a')).ok());
  EXPECT_EQ(store_->Get(Key('a'), kTestStart), nullptr);
  EXPECT_NE(store_->Get(Key('b'), kTestStart), nullptr);
  EXPECT_TRUE(store_->Erase(Key('z')).ok()) << "erasing a missing key is not an error";
  EXPECT_EQ(store_->Stats().entries, 1u);
}

TEST_P(CacheStoreConformance, ExpiresAtItsDeadline) {
  base::FakeClock clock(kTestStart);
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A", seconds(10))).ok());
  clock.Advance(seconds(9));
  EXPECT_NE(store_->Get(Key('a'), clock.Now()), nullptr);
  clock.Advance(milliseconds(999));
  EXPECT_NE(store_->Get(Key('a'), clock.Now()), nullptr);
  clock.Advance(milliseconds(1));
  EXPECT_EQ(store_->Get(Key('a'), clock.Now()), nullptr) << "expires is exclusive";
  clock.Advance(hours(1));
  EXPECT_EQ(store_->Get(Key('a'), clock.Now()), nullptr);
}

TEST_P(CacheStoreConformance, GetByPrediction) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A", hours(1), "pred-1")).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("B", hours(1), "pred-2")).ok());
  ASSERT_TRUE(store_->Put(Key('c'), MakeResponse("C", hours(1), "pred-1", "replicate")).ok());
  ASSERT_TRUE(store_->Put(Key('d'), MakeResponse("D", hours(1), "")).ok());

  CachedResponsePtr out = store_->GetByPrediction("skytells", "pred-1", kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "A");
  out = store_->GetByPrediction("replicate", "pred-1", kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "C");
  EXPECT_EQ(*store_->GetByPrediction("skytells", "pred-2", kTestStart)->body, "B");
  EXPECT_EQ(store_->GetByPrediction("replicate", "pred-2", kTestStart), nullptr);
  EXPECT_EQ(store_->GetByPrediction("skytells", "pred-3", kTestStart), nullptr);
  EXPECT_EQ(store_->GetByPrediction("skytells", "", kTestStart), nullptr)
      << "an empty id never matches entries without one";
}

TEST_P(CacheStoreConformance, GetByPredictionSkipsExpiredAndErased) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A", seconds(10), "pred-1")).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("B", hours(1), "pred-2")).ok());
  EXPECT_EQ(store_->GetByPrediction("skytells", "pred-1", kTestStart + seconds(10)), nullptr);
  ASSERT_TRUE(store_->Erase(Key('b')).ok());
  EXPECT_EQ(store_->GetByPrediction("skytells", "pred-2", kTestStart), nullptr);
}

TEST_P(CacheStoreConformance, GetByPredictionFollowsOverwrite) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A", hours(1), "pred-1")).ok());
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A2", hours(1), "pred-9")).ok());
  EXPECT_EQ(store_->GetByPrediction("skytells", "pred-1", kTestStart), nullptr);
  CachedResponsePtr out = store_->GetByPrediction("skytells", "pred-9", kTestStart);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out->body, "A2");
}

TEST_P(CacheStoreConformance, EvictExpiredCountsWhatWent) {
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse("A", seconds(10))).ok());
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse("B", seconds(20))).ok());
  ASSERT_TRUE(store_->Put(Key('c'), MakeResponse("C", seconds(30))).ok());
  EXPECT_EQ(store_->EvictExpired(kTestStart), 0u);
  EXPECT_EQ(store_->EvictExpired(kTestStart + seconds(20)), 2u);
  EXPECT_EQ(store_->Stats().entries, 1u);
  EXPECT_EQ(store_->EvictExpired(kTestStart + seconds(20)), 0u);
  EXPECT_NE(store_->Get(Key('c'), kTestStart + seconds(20)), nullptr);
  EXPECT_EQ(store_->EvictExpired(kTestStart + hours(1)), 1u);
  EXPECT_EQ(store_->Stats().entries, 0u);
}

TEST_P(CacheStoreConformance, StatsBytesFollowContent) {
  EXPECT_EQ(store_->Stats().bytes, 0u);
  ASSERT_TRUE(store_->Put(Key('a'), MakeResponse(std::string(1000, 'x'))).ok());
  const std::uint64_t one = store_->Stats().bytes;
  EXPECT_GE(one, 1000u);
  ASSERT_TRUE(store_->Put(Key('b'), MakeResponse(std::string(1000, 'y'))).ok());
  EXPECT_EQ(store_->Stats().bytes, 2 * one);
  ASSERT_TRUE(store_->Erase(Key('a')).ok());
  EXPECT_EQ(store_->Stats().bytes, one);
}

}  // namespace
}  // namespace gencache::cache
