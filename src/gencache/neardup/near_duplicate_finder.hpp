#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/neardup/embedder.hpp"
#include "gencache/neardup/vector_index.hpp"

namespace gencache::neardup {

// The cosine threshold used when the config names none, for the lexical
// embedder at its default options. Chosen by the evaluation sweep
// (evaluation.hpp, docs/near-duplicate.md): no threshold merges any
// must-not-merge pair of data/neardup/eval-pairs.tsv or PAWS, so among the
// thresholds whose must-merge recall is within one point of the best
// (99.95% at 0.66) this is the highest: recall 99.05%, and 32% of the
// look-alike pairs are already kept apart by the embedding instead of
// resting on the verifier alone. A remote embedder needs its own sweep.
inline constexpr float kDefaultNearDuplicateThreshold = 0.66f;

struct NearDuplicateFinderOptions {
  // Nearest neighbours checked by the verifier per lookup: the nearest may be
  // a look-alike that means something else ("two cats" for "three cats")
  // while the true duplicate is second.
  std::size_t candidates = 4;
  VectorIndexOptions index;
};

struct NearDuplicateMatch {
  enum class Stage {
    kNormalized,  // the normalised prompts are equal
    kSimilar,     // close embeddings, confirmed by the verifier
  };
  std::string cache_key;       // the earlier entry whose output may be served
  float similarity = 0.0f;     // 1 for kNormalized
  std::string matched_prompt;  // the earlier prompt, as its client sent it
  Stage stage = Stage::kSimilar;
};

struct NearDuplicateStats {
  std::uint64_t lookups = 0;
  std::uint64_t normalized_hits = 0;
  std::uint64_t similar_hits = 0;
  // Candidates at or over the threshold that the verifier turned down: each
  // is a false merge the verifier prevented.
  std::uint64_t verifier_rejections = 0;
  std::uint64_t embed_failures = 0;
};

// Near-duplicate prompt matching: finds an earlier cached prompt that says
// the same thing as a new one, among entries of the same partition (the
// caller's hash of every request parameter except the prompt, so only
// requests identical but for their prompt can match).
//
//   1. normalise (NormalizePrompt); an equal normalised prompt is a match;
//   2. embed the normalised prompt and take the `candidates` nearest entries;
//   3. the most similar candidate with cosine >= threshold that
//      VerifySameMeaning accepts is the match.
//
// Lifetime: the embedder must outlive the finder. Start-up: call Add for
// every live cache entry (measured: 100k Adds with the lexical embedder take
// 37 s, one thread, docs/benchmarks.md). Expiry: Lookup never returns an
// entry expired at `now`; call ExpireBefore periodically to free them.
//
// Thread-safety: thread-safe; lookups run concurrently. Blocking: Lookup and
// Add call the embedder, which may block (remote): run them on a worker
// thread.
//
// Failure policy: fails open. When the embedder fails, Lookup returns its
// error (the pipeline treats it as a miss) after stage 1 has had its chance,
// and Add returns it without adding the entry.
class NearDuplicateFinder {
 public:
  NearDuplicateFinder(Embedder& embedder, NearDuplicateFinderOptions options = {});
  NearDuplicateFinder(const NearDuplicateFinder&) = delete;
  NearDuplicateFinder& operator=(const NearDuplicateFinder&) = delete;

  // The entry of `partition`, unexpired at `now`, whose prompt means the same
  // as `prompt`, or nullopt. `threshold` is the minimum cosine for stage 2
  // (per provider / model in the config). Errors: the embedder's.
  absl::StatusOr<std::optional<NearDuplicateMatch>> Lookup(std::string_view partition,
                                                           std::string_view prompt, float threshold,
                                                           base::SystemTime now);

  // Makes the cache entry `cache_key` (prompt `prompt`, expiring at
  // `expires`) findable in `partition`; replaces an entry with the same key.
  // May evict the entry that expires first (VectorIndexOptions::max_entries).
  // Errors: the embedder's, or the index's (ResourceExhausted).
  absl::Status Add(std::string_view partition, std::string_view cache_key, std::string_view prompt,
                   base::SystemTime expires);

  // Forgets `cache_key` (the exact cache dropped it); false when unknown.
  bool Remove(std::string_view cache_key);

  // Forgets entries with expires <= now; returns how many.
  std::size_t ExpireBefore(base::SystemTime now);

  std::size_t size() const;
  // Bytes held by the index (VectorIndex::memory_bytes).
  std::size_t memory_bytes() const;
  NearDuplicateStats stats() const;
  const VectorIndex& index() const { return index_; }

 private:
  Embedder& embedder_;
  const NearDuplicateFinderOptions options_;
  VectorIndex index_;
  std::atomic<std::uint64_t> lookups_{0};
  std::atomic<std::uint64_t> normalized_hits_{0};
  std::atomic<std::uint64_t> similar_hits_{0};
  std::atomic<std::uint64_t> verifier_rejections_{0};
  std::atomic<std::uint64_t> embed_failures_{0};
};

}  // namespace gencache::neardup
