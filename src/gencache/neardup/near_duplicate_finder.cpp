#include "gencache/neardup/near_duplicate_finder.hpp"

#include <utility>

#include "gencache/neardup/normalize.hpp"
#include "gencache/neardup/verifier.hpp"

namespace gencache::neardup {
namespace {

VectorIndexOptions WithDimension(VectorIndexOptions options, const Embedder& embedder) {
  if (options.dimension == 0) options.dimension = embedder.dimension();
  return options;
}

}  // namespace

NearDuplicateFinder::NearDuplicateFinder(Embedder& embedder, NearDuplicateFinderOptions options)
    : embedder_(embedder),
      options_(std::move(options)),
      index_(WithDimension(options_.index, embedder)) {}

absl::StatusOr<std::optional<NearDuplicateMatch>> NearDuplicateFinder::Lookup(
    std::string_view partition, std::string_view prompt, float threshold, base::SystemTime now) {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  // Nothing to compare with: skip normalising and embedding (the common case
  // for a partition's first request).
  if (index_.PartitionSize(partition) == 0) return std::nullopt;

  const std::string normalized = NormalizePrompt(prompt);
  if (auto same = index_.FindNormalized(partition, normalized, now)) {
    normalized_hits_.fetch_add(1, std::memory_order_relaxed);
    return NearDuplicateMatch{.cache_key = std::move(same->cache_key),
                              .similarity = 1.0f,
                              .matched_prompt = std::move(same->prompt),
                              .stage = NearDuplicateMatch::Stage::kNormalized};
  }

  auto vector = embedder_.Embed(normalized);
  if (!vector.ok()) {
    embed_failures_.fetch_add(1, std::memory_order_relaxed);
    return vector.status();
  }
  auto hits = index_.Search(partition, *vector, options_.candidates, now);
  if (!hits.ok()) return hits.status();
  for (SearchHit& hit : *hits) {  // most similar first
    if (hit.similarity < threshold) break;
    if (!VerifySameMeaning(prompt, hit.entry.prompt).same_meaning) {
      verifier_rejections_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    similar_hits_.fetch_add(1, std::memory_order_relaxed);
    return NearDuplicateMatch{.cache_key = std::move(hit.entry.cache_key),
                              .similarity = hit.similarity,
                              .matched_prompt = std::move(hit.entry.prompt),
                              .stage = NearDuplicateMatch::Stage::kSimilar};
  }
  return std::nullopt;
}

absl::Status NearDuplicateFinder::Add(std::string_view partition, std::string_view cache_key,
                                      std::string_view prompt, base::SystemTime expires) {
  std::string normalized = NormalizePrompt(prompt);
  auto vector = embedder_.Embed(normalized);
  if (!vector.ok()) {
    embed_failures_.fetch_add(1, std::memory_order_relaxed);
    return vector.status();
  }
  return index_.Add(partition,
                    IndexEntry{.cache_key = std::string(cache_key),
                               .normalized_prompt = std::move(normalized),
                               .prompt = std::string(prompt),
                               .expires = expires},
                    *vector);
}

bool NearDuplicateFinder::Remove(std::string_view cache_key) { return index_.Remove(cache_key); }

std::size_t NearDuplicateFinder::ExpireBefore(base::SystemTime now) {
  return index_.ExpireBefore(now);
}

std::size_t NearDuplicateFinder::size() const { return index_.size(); }

std::size_t NearDuplicateFinder::memory_bytes() const { return index_.memory_bytes(); }

NearDuplicateStats NearDuplicateFinder::stats() const {
  return {.lookups = lookups_.load(std::memory_order_relaxed),
          .normalized_hits = normalized_hits_.load(std::memory_order_relaxed),
          .similar_hits = similar_hits_.load(std::memory_order_relaxed),
          .verifier_rejections = verifier_rejections_.load(std::memory_order_relaxed),
          .embed_failures = embed_failures_.load(std::memory_order_relaxed)};
}

}  // namespace gencache::neardup
