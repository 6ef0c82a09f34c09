#include "gencache/cache/memory_store.hpp"

#include <bit>
#include <functional>
#include <utility>

#include "gencache/base/check.hpp"

namespace gencache::cache {

std::size_t MemoryStore::PredictionRefHash::operator()(const PredictionRef& ref) const noexcept {
  const std::size_t h = std::hash<std::string_view>{}(ref.provider);
  return h ^ (std::hash<std::string_view>{}(ref.prediction_id) + 0x9e3779b97f4a7c15 + (h << 6) +
              (h >> 2));
}

MemoryStore::KeyRef::KeyRef(std::string_view key)
    : hex(key), hash(std::hash<std::string_view>{}(key)) {}

void MemoryStore::Shard::Remove(Lru::iterator it) {
  const CachedResponse& value = *it->value;
  if (!value.prediction_id.empty()) {
    auto pred = by_prediction.find({value.provider, value.prediction_id});
    // Another key may have taken over this prediction id since.
    if (pred != by_prediction.end() && pred->second == it) by_prediction.erase(pred);
  }
  by_key.erase(KeyRef(it->key.hex));
  bytes -= it->charge;
  lru.erase(it);
}

MemoryStore::MemoryStore(Options options)
    : shard_mask_(std::bit_ceil(options.shards) - 1),
      shard_budget_(options.max_bytes / (shard_mask_ + 1)),
      shards_(std::make_unique<Shard[]>(shard_mask_ + 1)) {}

MemoryStore::~MemoryStore() = default;

MemoryStore::Shard& MemoryStore::ShardFor(const KeyRef& key) const {
  // The high half, so the shard does not decide the bucket within it.
  return shards_[(key.hash >> 32) & shard_mask_];
}

CachedResponsePtr MemoryStore::Get(const keying::CacheKey& key, base::SystemTime now) {
  const KeyRef ref(key.hex);
  Shard& shard = ShardFor(ref);
  absl::MutexLock lock(&shard.mu);
  auto found = shard.by_key.find(ref);
  if (found == shard.by_key.end()) return nullptr;
  Lru::iterator it = found->second;
  if (!it->value->Live(now)) {
    shard.Remove(it);
    return nullptr;
  }
  if (it != shard.lru.begin()) shard.lru.splice(shard.lru.begin(), shard.lru, it);
  return it->value;
}

absl::Status MemoryStore::Put(const keying::CacheKey& key, CachedResponsePtr value) {
  GENCACHE_CHECK(value != nullptr);
  const std::size_t charge = value->ApproxBytes();
  const KeyRef ref(key.hex);
  Shard& shard = ShardFor(ref);
  absl::MutexLock lock(&shard.mu);
  if (auto found = shard.by_key.find(ref); found != shard.by_key.end()) {
    shard.Remove(found->second);
  }
  if (charge > shard_budget_) return absl::OkStatus();

  while (shard.bytes + charge > shard_budget_) shard.Remove(std::prev(shard.lru.end()));

  shard.lru.push_front(Entry{.key = key, .value = std::move(value), .charge = charge});
  auto it = shard.lru.begin();
  shard.by_key.emplace(KeyRef(it->key.hex), it);
  if (!it->value->prediction_id.empty()) {
    // Replace the whole node, not just the mapped iterator: the key's views
    // must point into the entry that now owns the prediction.
    const PredictionRef pred{it->value->provider, it->value->prediction_id};
    shard.by_prediction.erase(pred);
    shard.by_prediction.emplace(pred, it);
  }
  shard.bytes += charge;
  return absl::OkStatus();
}

absl::Status MemoryStore::Erase(const keying::CacheKey& key) {
  const KeyRef ref(key.hex);
  Shard& shard = ShardFor(ref);
  absl::MutexLock lock(&shard.mu);
  if (auto found = shard.by_key.find(ref); found != shard.by_key.end()) {
    shard.Remove(found->second);
  }
  return absl::OkStatus();
}

CachedResponsePtr MemoryStore::GetByPrediction(std::string_view provider,
                                               std::string_view prediction_id,
                                               base::SystemTime now) {
  if (prediction_id.empty()) return nullptr;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    auto found = shard.by_prediction.find({provider, prediction_id});
    if (found == shard.by_prediction.end()) continue;
    Lru::iterator it = found->second;
    if (!it->value->Live(now)) {
      shard.Remove(it);
      continue;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it);
    return it->value;
  }
  return nullptr;
}

absl::Status MemoryStore::ForEachLive(base::SystemTime now,
                                      const std::function<void(const EntrySummary&)>& visit) {
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    // Summaries are collected under the shard lock and visited outside it, so
    // `visit` may take its time (or call back into the store).
    std::vector<EntrySummary> live;
    {
      Shard& shard = shards_[i];
      absl::MutexLock lock(&shard.mu);
      live.reserve(shard.lru.size());
      for (const Entry& entry : shard.lru) {
        if (!entry.value->Live(now)) continue;
        live.push_back({.key = entry.key,
                        .provider = entry.value->provider,
                        .model = entry.value->model,
                        .expires = entry.value->expires,
                        .blobs = entry.value->blobs,
                        .prompt = entry.value->prompt,
                        .prompt_partition = entry.value->prompt_partition});
      }
    }
    for (const EntrySummary& summary : live) visit(summary);
  }
  return absl::OkStatus();
}

std::uint64_t MemoryStore::EvictExpired(base::SystemTime now) {
  std::uint64_t evicted = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      auto next = std::next(it);
      if (!it->value->Live(now)) {
        shard.Remove(it);
        ++evicted;
      }
      it = next;
    }
  }
  return evicted;
}

CacheStats MemoryStore::Stats() const {
  CacheStats stats;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    stats.entries += shard.lru.size();
    stats.bytes += shard.bytes;
  }
  return stats;
}

}  // namespace gencache::cache
