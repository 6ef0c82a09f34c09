#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"

namespace gencache::neardup {

struct VectorIndexOptions {
  // Vector length; 0 = fixed by the first Add (a remote embedder may not know
  // its dimension before its first answer).
  std::size_t dimension = 0;
  // Memory bound: at most this many entries over all partitions. Adding one
  // more evicts the entry that expires first.
  std::size_t max_entries = 1'000'000;
  // A partition is searched by brute force until it holds this many entries
  // and by an HNSW graph from then on; it goes back to brute force when it
  // shrinks under half of this. At 256 dimensions the graph is faster from
  // about 1,000 vectors on, but each graph costs 2.6 MB of fixed bookkeeping
  // (hnswlib's 65,536 update mutexes) and about 300 B of links per vector;
  // at 4,096 the fixed part is at most 640 B per entry however the entries
  // are spread over partitions, and brute force over 4,096 vectors takes
  // about 150 µs (bench/neardup_bench.cpp, docs/benchmarks.md).
  std::size_t hnsw_min_entries = 4096;
  // HNSW parameters (hnswlib): links per node, candidate list while
  // building, candidate list while searching.
  std::size_t hnsw_m = 16;
  std::size_t hnsw_ef_construction = 100;
  std::size_t hnsw_ef_search = 48;
  std::uint64_t hnsw_seed = 100;
  // When a removed entry's graph element is re-used for a new one, the share
  // of its old neighbours whose links are recomputed (hnswlib updatePoint).
  // 1 is what hnswlib 0.7 does and costs about 15 inserts; 0 costs one
  // insert and leaves the old neighbours one stale link each. After the whole
  // index was replaced three times over, 0 still found the brute-force
  // nearest neighbour of every query whose neighbour was over the threshold
  // (bench/neardup_bench.cpp --churn 3, docs/benchmarks.md).
  float hnsw_reuse_relink_probability = 0.0f;
};

// What the index keeps per cached prompt.
struct IndexEntry {
  std::string cache_key;          // exact-cache key (hex) of the output to serve
  std::string normalized_prompt;  // NormalizePrompt(prompt)
  std::string prompt;             // as the client sent it (for the verifier)
  base::SystemTime expires;       // the cache entry's expiry
};

struct SearchHit {
  IndexEntry entry;
  float similarity = 0.0f;  // cosine of the query and the entry's vector
};

struct VectorIndexStats {
  std::size_t entries = 0;
  std::size_t partitions = 0;
  std::size_t hnsw_partitions = 0;  // partitions searched through a graph
  std::size_t memory_bytes = 0;     // see VectorIndex::memory_bytes
  std::uint64_t evicted = 0;        // dropped by the max_entries bound
  std::uint64_t expired = 0;        // dropped by ExpireBefore
};

// Approximate nearest-neighbour search over prompt embeddings, split into
// partitions: only prompts whose requests agree on everything but the prompt
// (provider, model, seed, size, namespace, ...) may share an output, so the
// caller passes that agreement as a partition id and every operation stays
// inside one partition. Each partition is a flat array searched by brute
// force while small and an hnswlib HNSW graph (inner product on normalised
// vectors) once large; see VectorIndexOptions::hnsw_min_entries.
//
// Entries are keyed by cache key: adding a key again replaces its entry
// (also across partitions). Removed and expired entries leave the graph at
// once (marked deleted) and their slots are re-used by later Adds, so a
// partition's memory follows its peak size, never its history; a partition
// that empties is freed.
//
// Memory bound: at most max_entries entries. When full, Add evicts the entry
// that expires first, not the least recently used: it is the one worth least
// (it would leave soonest anyway), and keeping no recency lets searches run
// under a shared lock without writing anything.
//
// Thread-safety: thread-safe. Searches and lookups run concurrently (shared
// lock); Add, Remove and ExpireBefore take the lock exclusively for their
// duration (an Add into a 100k graph: about 0.4 ms).
class VectorIndex {
 public:
  explicit VectorIndex(VectorIndexOptions options);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Inserts `entry` with its embedding into `partition`, replacing any entry
  // with the same cache key. Errors: InvalidArgument when the vector's length
  // is not the index's dimension or it holds a non-finite value;
  // ResourceExhausted when memory for the graph cannot be allocated (the
  // index is unchanged).
  absl::Status Add(std::string_view partition, IndexEntry entry, std::span<const float> vector);

  // An entry of `partition` whose normalised prompt is `normalized_prompt`
  // and that has not expired at `now` (the one added last), or nullopt.
  std::optional<IndexEntry> FindNormalized(std::string_view partition,
                                           std::string_view normalized_prompt,
                                           base::SystemTime now) const;

  // Up to `k` entries of `partition` nearest to `vector`, most similar
  // first, skipping entries expired at `now`. Exact for brute-force
  // partitions, approximate for graph ones. Errors: InvalidArgument when the
  // vector's length is not the index's dimension.
  absl::StatusOr<std::vector<SearchHit>> Search(std::string_view partition,
                                                std::span<const float> vector, std::size_t k,
                                                base::SystemTime now) const;

  // Entries in `partition` (0 for an unknown one): lets a caller skip
  // embedding a prompt that has nothing to be compared with.
  std::size_t PartitionSize(std::string_view partition) const;

  // Removes the entry of `cache_key`; false when there is none.
  bool Remove(std::string_view cache_key);

  // Removes every entry with expires <= now; returns how many went.
  std::size_t ExpireBefore(base::SystemTime now);

  std::size_t size() const;

  // Bytes held for the entries: vectors, graph links and bookkeeping, strings
  // (counted by capacity), and the hash-map and tree nodes (estimated at
  // their node sizes). Graph room reserved but never written is not counted
  // (it is address space, not memory), nor is allocator overhead; the
  // benchmark compares this with the process's RSS growth. O(entries): for
  // metrics, not for every request.
  std::size_t memory_bytes() const;

  VectorIndexStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gencache::neardup
