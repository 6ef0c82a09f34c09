#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "gencache/base/clock.hpp"
#include "gencache/cache/cache_store.hpp"
#include "gencache/cache/cached_response.hpp"
#include "gencache/cache/memory_store.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::cache {

struct TieredStats {
  CacheStats memory;
  CacheStats persistent;
};

struct TieredEvictions {
  std::uint64_t memory = 0;
  std::uint64_t persistent = 0;
};

// The exact cache: a memory tier in front of a persistent tier (SQLite,
// Redis). The memory tier holds a subset of the persistent one, filled by
// Put and by promoting persistent hits.
//
// Blocking: only GetFromMemory is safe on an event loop. Every other call may
// reach the persistent tier and block on disk or network.
//
// Thread-safe (both tiers are). Does not own the tiers; they must outlive it.
// Failures follow CacheStore: a persistent tier that is down reads as a miss.
class TieredCache {
 public:
  TieredCache(MemoryStore& memory, CacheStore& persistent);

  // Never blocks.
  CachedResponsePtr GetFromMemory(const keying::CacheKey& key, base::SystemTime now);
  // Memory, then persistent; a persistent hit is copied into memory. Blocks.
  CachedResponsePtr Get(const keying::CacheKey& key, base::SystemTime now);
  // Memory first, so the entry is served at once even if the persistent write
  // fails; that failure is returned. Blocks.
  // The two halves of Put, for callers that must make an entry visible to
  // the memory tier at once (never blocks) and write it through to the
  // persistent tier later, off the event loop (may block).
  absl::Status PutMemory(const keying::CacheKey& key, CachedResponsePtr value);
  absl::Status PutPersistent(const keying::CacheKey& key, CachedResponsePtr value);
  absl::Status Put(const keying::CacheKey& key, CachedResponsePtr value);
  // Both tiers; the persistent tier's error is returned. Blocks.
  absl::Status Erase(const keying::CacheKey& key);
  // Memory, then persistent (not promoted: the key is unknown). Blocks.
  CachedResponsePtr GetByPrediction(std::string_view provider, std::string_view prediction_id,
                                    base::SystemTime now);
  // Both tiers: an entry whose persistent write failed lives in memory only.
  // An entry may be visited twice. Blocks.
  absl::Status ForEachLive(base::SystemTime now,
                           const std::function<void(const EntrySummary&)>& visit);
  // The persistent tier only (start-up rebuilds). Blocks.
  absl::Status ForEachLivePersistent(base::SystemTime now,
                                     const std::function<void(const EntrySummary&)>& visit);
  // Blocks.
  TieredEvictions EvictExpired(base::SystemTime now);
  // Blocks (the persistent tier may scan).
  TieredStats Stats() const;

 private:
  MemoryStore& memory_;
  CacheStore& persistent_;
};

}  // namespace gencache::cache
