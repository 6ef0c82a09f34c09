#include "gencache/neardup/vector_index.hpp"

// hnswlib defines non-inline functions and globals in its headers: include it
// in this one translation unit only.
#include <hnswlib/hnswlib.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <new>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "gencache/base/check.hpp"
#include "spdlog/spdlog.h"

namespace gencache::neardup {
namespace {

struct Partition;

// An entry's data besides its cache key (the map key), and where its vector
// lives.
struct Stored {
  std::string normalized_prompt;
  std::string prompt;
  base::SystemTime expires;
  std::uint64_t sequence = 0;  // insertion order: ties in expiry evict FIFO
  Partition* partition = nullptr;
  std::uint32_t slot = 0;
};

// node_hash_map keeps nodes in place, so partitions and the expiry order can
// point at them.
using EntryMap = absl::node_hash_map<std::string, Stored>;
using EntryNode = EntryMap::value_type;

using ExpiryKey = std::tuple<base::SystemTime, std::uint64_t, EntryNode*>;

using Graph = hnswlib::HierarchicalNSW<float>;

struct Partition {
  std::string id;
  // Slot -> entry; nullptr for a free slot. A slot is an HNSW label in graph
  // mode and a row of `flat` in brute-force mode.
  std::vector<EntryNode*> slots;
  std::vector<std::uint32_t> free_slots;
  std::size_t live = 0;
  std::vector<float> flat;       // brute-force mode: slots.size() rows
  std::unique_ptr<Graph> graph;  // graph mode
  // Keys view the entries' own normalized_prompt strings.
  absl::flat_hash_map<std::string_view, EntryNode*> by_normalized;
};

// Top-k by similarity, k small: a sorted vector beats a heap.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) {}
  void Offer(float similarity, const EntryNode* node) {
    if (k_ == 0) return;
    if (hits_.size() == k_ && similarity <= hits_.back().first) return;
    auto it = std::upper_bound(hits_.begin(), hits_.end(), similarity,
                               [](float s, const auto& hit) { return s > hit.first; });
    hits_.insert(it, {similarity, node});
    if (hits_.size() > k_) hits_.pop_back();
  }
  std::vector<SearchHit> Take() const {
    std::vector<SearchHit> out;
    out.reserve(hits_.size());
    for (const auto& [similarity, node] : hits_) {
      out.push_back({.entry = {.cache_key = node->first,
                               .normalized_prompt = node->second.normalized_prompt,
                               .prompt = node->second.prompt,
                               .expires = node->second.expires},
                     .similarity = similarity});
    }
    return out;
  }

 private:
  std::size_t k_;
  std::vector<std::pair<float, const EntryNode*>> hits_;
};

// Debian's Abseil has its own string_view; its maps look std::string keys up
// by it without building a std::string.
absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::size_t HeapBytes(const std::string& s) {
  // libstdc++ keeps up to 15 characters inside the object.
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

// Node and bucket costs of the standard containers, as libstdc++ and Abseil
// lay them out on 64-bit Linux (malloc's own header not included).
constexpr std::size_t kTreeNodeOverhead = 32;      // std::set: colour and three links
constexpr std::size_t kUnorderedNodeOverhead = 8;  // std::unordered_map: next pointer

// Inner-product distance (1 - a.b) for hnswlib, chosen at run time: AVX2+FMA
// where the CPU has it, else SSE (hnswlib's own, which the portable build
// compiles in). hnswlib picks its SIMD at compile time only, so a portable
// binary would otherwise never use AVX. bench/neardup_bench.cpp measures the
// difference (docs/benchmarks.md).
__attribute__((target("avx2,fma"))) float InnerProductDistanceAvx2(const void* a, const void* b,
                                                                   const void* dimension) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = *static_cast<const std::size_t*>(dimension);
  __m256 sum0 = _mm256_setzero_ps();
  __m256 sum1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), sum0);
    sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), sum1);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(sum0, sum1));
  float dot = 0.0f;
  for (float lane : lanes) dot += lane;
  for (; i < n; ++i) dot += x[i] * y[i];
  return 1.0f - dot;
}

class DotProductSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit DotProductSpace(std::size_t dimension) : sse_(dimension), dimension_(dimension) {
    distance_ = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                    ? &InnerProductDistanceAvx2
                    : sse_.get_dist_func();
  }
  std::size_t get_data_size() override { return dimension_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dimension_; }
  bool avx2() const { return distance_ == &InnerProductDistanceAvx2; }

 private:
  hnswlib::InnerProductSpace sse_;
  std::size_t dimension_;
  hnswlib::DISTFUNC<float> distance_;
};

}  // namespace

struct VectorIndex::State {
  explicit State(VectorIndexOptions o) : options(o) {
    GENCACHE_CHECK(options.max_entries > 0);
    GENCACHE_CHECK(options.hnsw_m >= 2);
    if (options.dimension > 0) SetDimension(options.dimension);
  }

  const VectorIndexOptions options;
  mutable absl::Mutex mu;
  std::size_t dimension ABSL_GUARDED_BY(mu) = 0;
  // Shared by every graph of this index (graphs keep pointers into it).
  std::unique_ptr<DotProductSpace> space ABSL_GUARDED_BY(mu);
  hnswlib::DISTFUNC<float> distance ABSL_GUARDED_BY(mu) = nullptr;
  void* distance_param ABSL_GUARDED_BY(mu) = nullptr;
  EntryMap entries ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::unique_ptr<Partition>> partitions ABSL_GUARDED_BY(mu);
  std::set<ExpiryKey> by_expiry ABSL_GUARDED_BY(mu);
  std::uint64_t next_sequence ABSL_GUARDED_BY(mu) = 0;
  std::uint64_t evicted ABSL_GUARDED_BY(mu) = 0;
  std::uint64_t expired ABSL_GUARDED_BY(mu) = 0;

  void SetDimension(std::size_t d) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    dimension = d;
    space = std::make_unique<DotProductSpace>(d);
    distance = space->get_dist_func();
    distance_param = space->get_dist_func_param();
  }

  float Similarity(const float* a, const float* b) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return 1.0f - distance(a, b, distance_param);
  }

  const float* VectorOf(const Partition& p, std::uint32_t slot) const
      ABSL_SHARED_LOCKS_REQUIRED(mu) {
    if (p.graph == nullptr) return p.flat.data() + std::size_t{slot} * dimension;
    const auto internal = p.graph->label_lookup_.at(slot);
    return reinterpret_cast<const float*>(p.graph->getDataByInternalId(internal));
  }

  // Puts `vector` under label `slot` of the graph. A slot that held a
  // removed entry re-uses that entry's graph element: hnswlib's updatePoint
  // moves it and links it anew (what hnswlib 0.7's replace_deleted does).
  // Throws what hnswlib throws (std::bad_alloc, std::runtime_error).
  void GraphInsert(Partition& p, std::uint32_t slot, const float* vector)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Graph& g = *p.graph;
    auto found = g.label_lookup_.find(slot);
    if (found == g.label_lookup_.end()) {
      if (g.cur_element_count >= g.max_elements_) {
        g.resizeIndex(std::max<std::size_t>(2 * g.max_elements_, 64));
      }
      g.addPoint(vector, slot);
      return;
    }
    // Unmarked first, as hnswlib 0.7 does: updatePoint links a deleted entry
    // point in as a neighbour, which would be the element itself.
    const hnswlib::tableint id = found->second;
    if (g.isMarkedDeleted(id)) g.unmarkDeletedInternal(id);
    try {
      g.updatePoint(vector, id, options.hnsw_reuse_relink_probability);
    } catch (...) {
      g.markDeletedInternal(id);
      throw;
    }
  }

  std::unique_ptr<Graph> NewGraph(std::size_t capacity) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto g = std::make_unique<Graph>(space.get(), capacity, options.hnsw_m,
                                     options.hnsw_ef_construction, options.hnsw_seed);
    g->setEf(options.hnsw_ef_search);
    return g;
  }

  // Brute force -> graph, once a partition reaches hnsw_min_entries. On
  // allocation failure the partition stays brute force.
  void ConvertToGraph(Partition& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    try {
      auto graph = NewGraph(std::max<std::size_t>(2 * p.slots.size(), 64));
      for (std::uint32_t slot = 0; slot < p.slots.size(); ++slot) {
        if (p.slots[slot] != nullptr) {
          graph->addPoint(p.flat.data() + std::size_t{slot} * dimension, slot);
        }
      }
      p.graph = std::move(graph);
      std::vector<float>().swap(p.flat);
    } catch (const std::exception& e) {
      spdlog::warn("neardup: partition stays brute force, graph build failed: {}", e.what());
    }
  }

  // Graph -> brute force, once a partition shrinks under half of
  // hnsw_min_entries: compacts the slots, so a partition that was large once
  // gives its memory back.
  void ConvertToFlat(Partition& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<EntryNode*> slots;
    std::vector<float> flat;
    slots.reserve(p.live);
    flat.reserve(p.live * dimension);
    for (std::uint32_t slot = 0; slot < p.slots.size(); ++slot) {
      EntryNode* node = p.slots[slot];
      if (node == nullptr) continue;
      const float* v = VectorOf(p, slot);
      flat.insert(flat.end(), v, v + dimension);
      node->second.slot = static_cast<std::uint32_t>(slots.size());
      slots.push_back(node);
    }
    p.slots = std::move(slots);
    p.free_slots.clear();
    p.flat = std::move(flat);
    p.graph.reset();
  }

  Partition& PartitionFor(std::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (auto it = partitions.find(Key(id)); it != partitions.end()) return *it->second;
    auto partition = std::make_unique<Partition>();
    partition->id = std::string(id);
    Partition& p = *partition;
    partitions.emplace(p.id, std::move(partition));
    return p;
  }

  void RemoveNode(EntryNode* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Stored& s = node->second;
    Partition& p = *s.partition;
    if (p.graph != nullptr) {
      p.graph->markDelete(s.slot);
    } else {
      std::fill_n(p.flat.begin() + static_cast<std::ptrdiff_t>(std::size_t{s.slot} * dimension),
                  dimension, 0.0f);
    }
    p.slots[s.slot] = nullptr;
    p.free_slots.push_back(s.slot);
    --p.live;
    auto by_norm = p.by_normalized.find(std::string_view(s.normalized_prompt));
    if (by_norm != p.by_normalized.end() && by_norm->second == node) p.by_normalized.erase(by_norm);
    by_expiry.erase({s.expires, s.sequence, node});
    entries.erase(entries.find(node->first));
    if (p.live == 0) {
      const std::string id = p.id;
      partitions.erase(id);
    } else if (p.graph != nullptr && p.live < options.hnsw_min_entries / 2) {
      ConvertToFlat(p);
    }
  }

  absl::Status AddLocked(std::string_view partition_id, IndexEntry entry,
                         std::span<const float> vector) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (dimension == 0) SetDimension(vector.size());
    if (vector.size() != dimension) {
      return absl::InvalidArgumentError(
          fmt::format("vector has {} dimensions, the index {}", vector.size(), dimension));
    }
    if (auto it = entries.find(entry.cache_key); it != entries.end()) RemoveNode(&*it);
    while (entries.size() >= options.max_entries) {
      RemoveNode(std::get<2>(*by_expiry.begin()));
      ++evicted;
    }
    Partition& p = PartitionFor(partition_id);
    std::uint32_t slot;
    bool new_slot = p.free_slots.empty();
    if (new_slot) {
      slot = static_cast<std::uint32_t>(p.slots.size());
    } else {
      slot = p.free_slots.back();
    }
    try {
      if (p.graph != nullptr) {
        GraphInsert(p, slot, vector.data());
      } else if (new_slot) {
        p.flat.insert(p.flat.end(), vector.begin(), vector.end());
      } else {
        std::copy(vector.begin(), vector.end(),
                  p.flat.begin() + static_cast<std::ptrdiff_t>(std::size_t{slot} * dimension));
      }
    } catch (const std::exception& e) {
      if (p.live == 0) {
        const std::string id = p.id;
        partitions.erase(id);
      }
      if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
        return absl::ResourceExhaustedError("near-duplicate index cannot grow: out of memory");
      }
      return absl::InternalError(fmt::format("hnswlib refused the vector: {}", e.what()));
    }
    if (new_slot) {
      p.slots.push_back(nullptr);
    } else {
      p.free_slots.pop_back();
    }
    auto [it, inserted] = entries.try_emplace(std::move(entry.cache_key));
    GENCACHE_CHECK(inserted);
    EntryNode* node = &*it;
    Stored& s = node->second;
    s.normalized_prompt = std::move(entry.normalized_prompt);
    s.prompt = std::move(entry.prompt);
    s.expires = entry.expires;
    s.sequence = next_sequence++;
    s.partition = &p;
    s.slot = slot;
    p.slots[slot] = node;
    ++p.live;
    p.by_normalized[std::string_view(s.normalized_prompt)] = node;
    by_expiry.emplace(s.expires, s.sequence, node);
    if (p.graph == nullptr && p.live >= options.hnsw_min_entries) ConvertToGraph(p);
    return absl::OkStatus();
  }

  // What a graph has touched, not what it reserved: hnswlib mallocs room for
  // `max_elements_` (doubled as the partition grows) but the pages of unused
  // elements are never written, so they cost address space, not memory.
  static std::size_t GraphBytes(const Graph& g) {
    const std::size_t used = g.cur_element_count;
    const std::size_t reserved = g.max_elements_;
    std::size_t bytes = used * (g.size_data_per_element_ + sizeof(void*));
    // Constructed (so written) for every reserved element.
    bytes += reserved * (sizeof(std::mutex) + sizeof(int));
    bytes += g.link_list_update_locks_.size() * sizeof(std::mutex);
    // One visited list per concurrent search; cleared, so written, in full.
    bytes += reserved * sizeof(hnswlib::vl_type);
    for (std::size_t i = 0; i < used; ++i) {
      if (g.element_levels_[i] > 0) {
        bytes += g.size_links_per_element_ * static_cast<std::size_t>(g.element_levels_[i]) + 1;
      }
    }
    bytes += g.label_lookup_.bucket_count() * sizeof(void*) +
             g.label_lookup_.size() * (sizeof(std::pair<hnswlib::labeltype, hnswlib::tableint>) +
                                       kUnorderedNodeOverhead);
    return bytes;
  }

  std::size_t MemoryBytes() const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    std::size_t bytes = entries.size() * (sizeof(EntryNode) + sizeof(void*)) +
                        entries.bucket_count() * (sizeof(void*) + 1);
    for (const auto& [key, s] : entries) {
      bytes += HeapBytes(key) + HeapBytes(s.normalized_prompt) + HeapBytes(s.prompt);
    }
    bytes += by_expiry.size() * (sizeof(ExpiryKey) + kTreeNodeOverhead);
    for (const auto& [id, p] : partitions) {
      bytes += sizeof(Partition) + HeapBytes(id) * 2;
      bytes += p->slots.capacity() * sizeof(EntryNode*) +
               p->free_slots.capacity() * sizeof(std::uint32_t) +
               p->flat.capacity() * sizeof(float);
      bytes += p->by_normalized.capacity() * (sizeof(std::pair<std::string_view, EntryNode*>) + 1);
      if (p->graph != nullptr) bytes += GraphBytes(*p->graph);
    }
    return bytes;
  }
};

VectorIndex::VectorIndex(VectorIndexOptions options) : state_(std::make_unique<State>(options)) {}

VectorIndex::~VectorIndex() = default;

absl::Status VectorIndex::Add(std::string_view partition, IndexEntry entry,
                              std::span<const float> vector) {
  if (vector.empty()) return absl::InvalidArgumentError("empty vector");
  for (float x : vector) {
    if (!std::isfinite(x)) return absl::InvalidArgumentError("vector holds a non-finite value");
  }
  absl::MutexLock lock(&state_->mu);
  return state_->AddLocked(partition, std::move(entry), vector);
}

std::optional<IndexEntry> VectorIndex::FindNormalized(std::string_view partition,
                                                      std::string_view normalized_prompt,
                                                      base::SystemTime now) const {
  absl::ReaderMutexLock lock(&state_->mu);
  auto p = state_->partitions.find(Key(partition));
  if (p == state_->partitions.end()) return std::nullopt;
  auto it = p->second->by_normalized.find(normalized_prompt);
  if (it == p->second->by_normalized.end()) return std::nullopt;
  const EntryNode& node = *it->second;
  if (node.second.expires <= now) return std::nullopt;
  return IndexEntry{.cache_key = node.first,
                    .normalized_prompt = node.second.normalized_prompt,
                    .prompt = node.second.prompt,
                    .expires = node.second.expires};
}

absl::StatusOr<std::vector<SearchHit>> VectorIndex::Search(std::string_view partition,
                                                           std::span<const float> vector,
                                                           std::size_t k,
                                                           base::SystemTime now) const {
  absl::ReaderMutexLock lock(&state_->mu);
  const State& s = *state_;
  auto it = s.partitions.find(Key(partition));
  if (it == s.partitions.end()) return std::vector<SearchHit>{};
  if (vector.size() != s.dimension) {
    return absl::InvalidArgumentError(
        fmt::format("query has {} dimensions, the index {}", vector.size(), s.dimension));
  }
  const Partition& p = *it->second;
  TopK top(k);
  if (p.graph == nullptr) {
    for (std::uint32_t slot = 0; slot < p.slots.size(); ++slot) {
      const EntryNode* node = p.slots[slot];
      if (node == nullptr || node->second.expires <= now) continue;
      top.Offer(s.Similarity(vector.data(), p.flat.data() + std::size_t{slot} * s.dimension), node);
    }
    return top.Take();
  }
  // A few more than k, so entries that expired but were not yet removed
  // by ExpireBefore do not crowd out live ones; within ef this costs nothing.
  std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
  try {
    found = p.graph->searchKnn(vector.data(), k + 8);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("hnswlib search failed: {}", e.what()));
  }
  for (; !found.empty(); found.pop()) {
    const auto [distance, label] = found.top();
    const EntryNode* node = p.slots[label];
    if (node == nullptr || node->second.expires <= now) continue;
    top.Offer(1.0f - distance, node);
  }
  return top.Take();
}

std::size_t VectorIndex::PartitionSize(std::string_view partition) const {
  absl::ReaderMutexLock lock(&state_->mu);
  auto it = state_->partitions.find(Key(partition));
  return it == state_->partitions.end() ? 0 : it->second->live;
}

bool VectorIndex::Remove(std::string_view cache_key) {
  absl::MutexLock lock(&state_->mu);
  auto it = state_->entries.find(Key(cache_key));
  if (it == state_->entries.end()) return false;
  state_->RemoveNode(&*it);
  return true;
}

std::size_t VectorIndex::ExpireBefore(base::SystemTime now) {
  absl::MutexLock lock(&state_->mu);
  std::size_t removed = 0;
  while (!state_->by_expiry.empty() && std::get<0>(*state_->by_expiry.begin()) <= now) {
    state_->RemoveNode(std::get<2>(*state_->by_expiry.begin()));
    ++removed;
  }
  state_->expired += removed;
  return removed;
}

std::size_t VectorIndex::size() const {
  absl::ReaderMutexLock lock(&state_->mu);
  return state_->entries.size();
}

std::size_t VectorIndex::memory_bytes() const {
  absl::ReaderMutexLock lock(&state_->mu);
  return state_->MemoryBytes();
}

VectorIndexStats VectorIndex::stats() const {
  absl::ReaderMutexLock lock(&state_->mu);
  VectorIndexStats out;
  out.entries = state_->entries.size();
  out.partitions = state_->partitions.size();
  for (const auto& [id, p] : state_->partitions) out.hnsw_partitions += p->graph != nullptr ? 1 : 0;
  out.memory_bytes = state_->MemoryBytes();
  out.evicted = state_->evicted;
  out.expired = state_->expired;
  return out;
}

}  // namespace gencache::neardup
