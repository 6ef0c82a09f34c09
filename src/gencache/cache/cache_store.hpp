#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gencache/base/clock.hpp"
#include "gencache/cache/cached_response.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::cache {

struct CacheStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
};

// What an entry refers to, without its body: for garbage collection of
// blobs and for rebuilding the near-duplicate index.
struct EntrySummary {
  keying::CacheKey key;
  std::string provider;  // mount name
  std::string model;
  base::SystemTime expires{};
  std::vector<std::string> blobs;
  std::string prompt;
  std::string prompt_partition;
};

// A tier of the exact cache: CacheKey -> CachedResponse with a per-entry
// expiry. Implementations are thread-safe.
//
// Failure policy: the cache fails open. A backend that cannot answer Get
// reports a miss (and logs it); Put reports its error to the caller, which
// logs it and goes on serving. Nothing here may turn a backend failure into
// a wrong answer: a key only ever returns what was Put under that key.
//
// Blocking: the memory tier never blocks. Persistent tiers (SQLite) may do
// disk I/O in every call: call them off the event loops.
class CacheStore {
 public:
  virtual ~CacheStore() = default;

  // The live entry for `key`, or nullptr (absent, expired at `now`, or
  // backend unavailable).
  virtual CachedResponsePtr Get(const keying::CacheKey& key, base::SystemTime now) = 0;

  // Inserts or replaces the entry for `key`. REQUIRES: value != nullptr.
  virtual absl::Status Put(const keying::CacheKey& key, CachedResponsePtr value) = 0;

  virtual absl::Status Erase(const keying::CacheKey& key) = 0;

  // The live entry holding provider prediction `prediction_id` from mount
  // `provider`, or nullptr. Lets GET /predictions/{id} be answered after the
  // provider has deleted the prediction.
  virtual CachedResponsePtr GetByPrediction(std::string_view provider,
                                            std::string_view prediction_id,
                                            base::SystemTime now) = 0;

  // Calls `visit` for every entry live at `now`, bodies left unread. Entries
  // put or erased during the walk may or may not be visited. An error means
  // the walk is incomplete.
  virtual absl::Status ForEachLive(base::SystemTime now,
                                   const std::function<void(const EntrySummary&)>& visit) = 0;

  // Drops expired entries; returns how many went.
  virtual std::uint64_t EvictExpired(base::SystemTime now) = 0;

  virtual CacheStats Stats() const = 0;
};

}  // namespace gencache::cache
