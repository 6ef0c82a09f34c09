#include "gencache/pipeline/request_policy.hpp"

#include <gtest/gtest.h>

namespace gencache::pipeline {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class PlanCachingTest : public ::testing::Test {
 protected:
  PlanCachingTest() {
    provider_.name = "sk";
    generation_.model = "truefusion-pro";
    generation_.seeded = true;
  }
  CachePlan Plan(const http::HeaderList& headers = {}) {
    auto directives = ParseClientDirectives(headers);
    EXPECT_TRUE(directives.ok());
    return PlanCaching(options_, provider_, generation_, *directives);
  }
  config::Options options_;
  config::ProviderOptions provider_;
  providers::GenerationRequest generation_;
};

TEST_F(PlanCachingTest, SeededIsCacheableWithDefaultTtl) {
  CachePlan plan = Plan();
  EXPECT_TRUE(plan.cacheable);
  EXPECT_TRUE(plan.lookup);
  EXPECT_TRUE(plan.store);
  EXPECT_EQ(plan.ttl, hours(24 * 7));
  EXPECT_EQ(plan.cache_namespace, "default");
}

TEST_F(PlanCachingTest, UnseededIsNotCacheableUnlessConfigured) {
  generation_.seeded = false;
  EXPECT_FALSE(Plan().cacheable);
  EXPECT_FALSE(Plan().lookup);
  provider_.models["truefusion-pro"].cache_unseeded = true;
  EXPECT_TRUE(Plan().cacheable);
  provider_.models.clear();
  options_.cache.cache_unseeded = true;
  EXPECT_TRUE(Plan().cacheable);
  provider_.cache.cache_unseeded = false;  // the provider is more specific than the default
  EXPECT_FALSE(Plan().cacheable);
}

TEST_F(PlanCachingTest, EventStreamsAreNeverCacheable) {
  generation_.event_stream = true;
  EXPECT_FALSE(Plan().cacheable);
}

TEST_F(PlanCachingTest, TtlPrecedence) {
  options_.cache.models["truefusion-pro"].ttl = hours(3);
  EXPECT_EQ(Plan().ttl, hours(3));
  provider_.cache.ttl = hours(2);
  EXPECT_EQ(Plan().ttl, hours(2));
  provider_.models["truefusion-pro"].ttl = hours(1);
  EXPECT_EQ(Plan().ttl, hours(1));
  EXPECT_EQ(Plan({{"X-Gencache-TTL", "60"}}).ttl, seconds(60));
  EXPECT_EQ(Plan({{"X-Gencache-TTL", "30d"}}).ttl, hours(1));  // clients may only shorten
}

TEST_F(PlanCachingTest, ClientDirectives) {
  CachePlan no_cache = Plan({{"Cache-Control", "no-cache"}});
  EXPECT_FALSE(no_cache.lookup);
  EXPECT_TRUE(no_cache.store);
  CachePlan no_store = Plan({{"cache-control", "No-Store"}});
  EXPECT_TRUE(no_store.lookup);
  EXPECT_FALSE(no_store.store);
  CachePlan both = Plan({{"Cache-Control", "no-cache, max-age=30, no-store"}});
  EXPECT_FALSE(both.lookup);
  EXPECT_FALSE(both.store);
  EXPECT_EQ(both.max_age, seconds(30));
  EXPECT_EQ(Plan({{"Cache-Control", "max-age=abc"}}).max_age, seconds(0));
  EXPECT_EQ(Plan({{"X-Gencache-Namespace", "team-a"}}).cache_namespace, "team-a");
}

TEST_F(PlanCachingTest, SharedNamespaceIgnoresTheHeader) {
  options_.cache.shared_namespace = true;
  EXPECT_EQ(Plan({{"X-Gencache-Namespace", "team-a"}}).cache_namespace, "shared");
}

TEST(ParseClientDirectives, RejectsBadValues) {
  EXPECT_FALSE(ParseClientDirectives({{"X-Gencache-Namespace", "a/b"}}).ok());
  EXPECT_FALSE(ParseClientDirectives({{"X-Gencache-Namespace", "a\nb"}}).ok());
  EXPECT_FALSE(ParseClientDirectives({{"X-Gencache-Namespace", std::string(65, 'a')}}).ok());
  EXPECT_FALSE(ParseClientDirectives({{"X-Gencache-TTL", "soon"}}).ok());
}

}  // namespace
}  // namespace gencache::pipeline
