#include "gencache/cache/cache_store_conformance.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gencache/cache/memory_store.hpp"
#include "gencache/cache/sqlite_store.hpp"

namespace gencache::cache {
namespace {

std::unique_ptr<CacheStore> MakeMemory(const std::string& /*dir*/) {
  return std::make_unique<MemoryStore>(MemoryStore::Options{.max_bytes = 1 << 20, .shards = 4});
}

std::unique_ptr<CacheStore> MakeSqlite(const std::string& dir) {
  auto store = SqliteStore::Open(dir + "/cache.db", {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheStoreConformance,
                         testing::Values(CacheStoreFactory{"Memory", MakeMemory},
                                         CacheStoreFactory{"Sqlite", MakeSqlite}),
                         CacheStoreFactory::Name);

}  // namespace
}  // namespace gencache::cache
