#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gencache/base/clock.hpp"
#include "gencache/cache/cache_store.hpp"
#include "gencache/cache/cached_response.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::cache {

// The in-process tier: a byte-bounded LRU over shared, immutable responses.
//
// Keys are spread over `shards` independently locked shards; each shard owns
// `max_bytes / shards` of the budget and evicts its own least recently used
// entries when over it, so LRU order is exact within a shard and approximate
// across the store. An entry is charged CachedResponse::ApproxBytes().
// An entry larger than one shard's budget is not kept: Put returns OK (the
// cache is best effort) and the key is left absent, also dropping any older
// value under it.
//
// Values are shared, never copied: a hit costs a shard lock, a hash lookup
// and a shared_ptr copy, and allocates nothing.
//
// Thread-safe. Never blocks on I/O; a lock is held only for the map and list
// operations of one call.
class MemoryStore final : public CacheStore {
 public:
  struct Options {
    std::size_t max_bytes = std::size_t{256} << 20;
    std::size_t shards = 16;  // rounded up to a power of two; 0 means 1
  };

  explicit MemoryStore(Options options);
  ~MemoryStore() override;

  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // An entry found expired at `now` is dropped on the way.
  CachedResponsePtr Get(const keying::CacheKey& key, base::SystemTime now) override;
  absl::Status Put(const keying::CacheKey& key, CachedResponsePtr value) override;
  absl::Status Erase(const keying::CacheKey& key) override;
  // Looks in every shard; meant for the rare GET /predictions/{id}, not for
  // the hit path. With several live entries for one prediction, any of them.
  CachedResponsePtr GetByPrediction(std::string_view provider, std::string_view prediction_id,
                                    base::SystemTime now) override;
  absl::Status ForEachLive(base::SystemTime now,
                           const std::function<void(const EntrySummary&)>& visit) override;
  std::uint64_t EvictExpired(base::SystemTime now) override;
  // `bytes` is the sum of the charges of the entries held.
  CacheStats Stats() const override;

 private:
  struct Entry {
    keying::CacheKey key;
    CachedResponsePtr value;
    std::size_t charge = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // A key view with its hash, computed once per call: it picks the shard and
  // is the bucket hash, and lets most mismatches skip the string compare.
  struct KeyRef {
    std::string_view hex;
    std::size_t hash = 0;
    explicit KeyRef(std::string_view key);
    bool operator==(const KeyRef& other) const { return hash == other.hash && hex == other.hex; }
  };
  struct KeyRefHash {
    std::size_t operator()(const KeyRef& ref) const noexcept { return ref.hash; }
  };

  struct PredictionRef {
    std::string_view provider;
    std::string_view prediction_id;
    friend bool operator==(const PredictionRef&, const PredictionRef&) = default;
  };
  struct PredictionRefHash {
    std::size_t operator()(const PredictionRef& ref) const noexcept;
  };

  // alignas keeps two shards' mutexes off one cache line.
  struct alignas(64) Shard {
    absl::Mutex mu;
    Lru lru ABSL_GUARDED_BY(mu);
    // Views point into the Entry (key) and its immutable value, which live
    // exactly as long as the list node.
    std::unordered_map<KeyRef, Lru::iterator, KeyRefHash> by_key ABSL_GUARDED_BY(mu);
    std::unordered_map<PredictionRef, Lru::iterator, PredictionRefHash> by_prediction
        ABSL_GUARDED_BY(mu);
    std::size_t bytes ABSL_GUARDED_BY(mu) = 0;

    void Remove(Lru::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  };

  Shard& ShardFor(const KeyRef& key) const;

  const std::size_t shard_mask_;
  const std::size_t shard_budget_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace gencache::cache
