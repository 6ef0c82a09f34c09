#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "gencache/cache/cache_store.hpp"
#include "gencache/cache/cache_test_util.hpp"

namespace gencache::cache {

// The behaviour every CacheStore backend shares. A backend's test binary
// links cache_store_conformance.cpp and instantiates the suite:
//   INSTANTIATE_TEST_SUITE_P(Redis, CacheStoreConformance,
//                            testing::Values(CacheStoreFactory{"Redis", MakeRedis}),
//                            CacheStoreFactory::Name);
struct CacheStoreFactory {
  std::string name;
  // Builds an empty store; `dir` is a fresh directory the store may use.
  std::function<std::unique_ptr<CacheStore>(const std::string& dir)> make;

  static std::string Name(const testing::TestParamInfo<CacheStoreFactory>& info) {
    return info.param.name;
  }
};

class CacheStoreConformance : public testing::TestWithParam<CacheStoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  TestTempDir dir_;
  std::unique_ptr<CacheStore> store_;
};

}  // namespace gencache::cache
