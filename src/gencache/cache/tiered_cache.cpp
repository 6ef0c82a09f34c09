#include "gencache/cache/tiered_cache.hpp"

#include <utility>

namespace gencache::cache {

TieredCache::TieredCache(MemoryStore& memory, CacheStore& persistent)
    : memory_(memory), persistent_(persistent) {}

CachedResponsePtr TieredCache::GetFromMemory(const keying::CacheKey& key, base::SystemTime now) {
  return memory_.Get(key, now);
}

CachedResponsePtr TieredCache::Get(const keying::CacheKey& key, base::SystemTime now) {
  if (CachedResponsePtr hit = memory_.Get(key, now)) return hit;
  CachedResponsePtr hit = persistent_.Get(key, now);
  // MemoryStore::Put cannot fail.
  if (hit != nullptr) memory_.Put(key, hit).IgnoreError();
  return hit;
}

absl::Status TieredCache::Put(const keying::CacheKey& key, CachedResponsePtr value) {
  // MemoryStore::Put cannot fail.
  memory_.Put(key, value).IgnoreError();
  return persistent_.Put(key, std::move(value));
}

absl::Status TieredCache::PutMemory(const keying::CacheKey& key, CachedResponsePtr value) {
  return memory_.Put(key, std::move(value));
}

absl::Status TieredCache::PutPersistent(const keying::CacheKey& key, CachedResponsePtr value) {
  return persistent_.Put(key, std::move(value));
}

absl::Status TieredCache::Erase(const keying::CacheKey& key) {
  // MemoryStore::Erase cannot fail.
  memory_.Erase(key).IgnoreError();
  return persistent_.Erase(key);
}

CachedResponsePtr TieredCache::GetByPrediction(std::string_view provider,
                                               std::string_view prediction_id,
                                               base::SystemTime now) {
  if (CachedResponsePtr hit = memory_.GetByPrediction(provider, prediction_id, now)) return hit;
  return persistent_.GetByPrediction(provider, prediction_id, now);
}

absl::Status TieredCache::ForEachLive(base::SystemTime now,
                                      const std::function<void(const EntrySummary&)>& visit) {
  if (absl::Status s = memory_.ForEachLive(now, visit); !s.ok()) return s;
  return persistent_.ForEachLive(now, visit);
}

absl::Status TieredCache::ForEachLivePersistent(
    base::SystemTime now, const std::function<void(const EntrySummary&)>& visit) {
  return persistent_.ForEachLive(now, visit);
}

TieredEvictions TieredCache::EvictExpired(base::SystemTime now) {
  return {.memory = memory_.EvictExpired(now), .persistent = persistent_.EvictExpired(now)};
}

TieredStats TieredCache::Stats() const {
  return {.memory = memory_.Stats(), .persistent = persistent_.Stats()};
}

}  // namespace gencache::cache
