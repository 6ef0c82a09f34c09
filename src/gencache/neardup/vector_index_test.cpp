#include "gencache/neardup/vector_index.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gencache/neardup/embedder.hpp"

namespace gencache::neardup {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const base::SystemTime kNow{std::chrono::seconds{1'700'000'000}};

std::vector<float> RandomUnit(std::mt19937& rng, std::size_t dimension) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dimension);
  for (float& x : v) x = normal(rng);
  NormalizeL2(v);
  return v;
}

std::vector<float> Axis(std::size_t dimension, std::size_t i, float noise_axis = -1) {
  std::vector<float> v(dimension, 0.0f);
  v[i] = 1.0f;
  if (noise_axis >= 0) v[static_cast<std::size_t>(noise_axis)] = 0.1f;
  NormalizeL2(v);
  return v;
}

IndexEntry Entry(std::string key, base::SystemTime expires = kNow + hours(1)) {
  return {.cache_key = key,
          .normalized_prompt = "norm " + key,
          .prompt = "Prompt " + key,
          .expires = expires};
}

// Options for an index that only ever uses brute force: the reference.
VectorIndexOptions BruteForce(std::size_t dimension) {
  return {.dimension = dimension, .hnsw_min_entries = std::numeric_limits<std::size_t>::max()};
}

// Options that switch to a graph early, so small tests cover it. With ef over
// the partition sizes and re-used elements fully relinked, the graph search
// reaches every element and is exact, so results can be compared with brute
// force one for one. (The default relink of 0 keeps re-use cheap at some
// cost in recall far from the query: VectorIndexChurnTest.)
VectorIndexOptions SmallGraph(std::size_t dimension) {
  return {.dimension = dimension,
          .hnsw_min_entries = 16,
          .hnsw_ef_search = 256,
          .hnsw_reuse_relink_probability = 1.0f};
}

class VectorIndexTest : public ::testing::TestWithParam<bool> {
 protected:
  VectorIndexOptions Options(std::size_t dimension) const {
    return GetParam() ? SmallGraph(dimension) : BruteForce(dimension);
  }
  // Adds `n` random entries to `partition`, so that in graph mode it has
  // switched to a graph. They stay clear of the first four axes, which the
  // tests query.
  void Pad(VectorIndex& index, std::string_view partition, std::size_t n, std::size_t dimension) {
    std::mt19937 rng(7);
    for (std::size_t i = 0; i < n; ++i) {
      auto v = RandomUnit(rng, dimension);
      for (std::size_t d = 0; d < 4; ++d) v[d] = 0.0f;
      NormalizeL2(v);
      ASSERT_TRUE(index.Add(partition, Entry("pad" + std::to_string(i)), v).ok());
    }
  }
};

TEST_P(VectorIndexTest, FindsTheNearestInItsPartitionOnly) {
  VectorIndex index(Options(32));
  Pad(index, "p1", 40, 32);
  ASSERT_TRUE(index.Add("p1", Entry("k0"), Axis(32, 0)).ok());
  ASSERT_TRUE(index.Add("p1", Entry("k1"), Axis(32, 1)).ok());
  ASSERT_TRUE(index.Add("p2", Entry("k2"), Axis(32, 0)).ok());

  auto hits = index.Search("p1", Axis(32, 0, 1), 2, kNow);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].entry.cache_key, "k0");
  EXPECT_EQ((*hits)[0].entry.prompt, "Prompt k0");
  EXPECT_EQ((*hits)[0].entry.normalized_prompt, "norm k0");
  EXPECT_NEAR((*hits)[0].similarity, 1.0f / std::sqrt(1.01f), 1e-5);
  EXPECT_EQ((*hits)[1].entry.cache_key, "k1");
  EXPECT_GT((*hits)[0].similarity, (*hits)[1].similarity);

  auto other = index.Search("p2", Axis(32, 1), 4, kNow);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].entry.cache_key, "k2");

  auto none = index.Search("p3", Axis(32, 0), 4, kNow);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(index.PartitionSize("p1"), 42u);
  EXPECT_EQ(index.PartitionSize("p3"), 0u);
  EXPECT_EQ(index.stats().hnsw_partitions, GetParam() ? 1u : 0u);
}

TEST_P(VectorIndexTest, FindNormalizedSkipsExpiredAndOtherPartitions) {
  VectorIndex index(Options(8));
  ASSERT_TRUE(index.Add("p", Entry("k", kNow + seconds(10)), Axis(8, 0)).ok());
  EXPECT_EQ(index.FindNormalized("p", "norm k", kNow)->cache_key, "k");
  EXPECT_FALSE(index.FindNormalized("q", "norm k", kNow));
  EXPECT_FALSE(index.FindNormalized("p", "norm x", kNow));
  EXPECT_FALSE(index.FindNormalized("p", "norm k", kNow + seconds(10)));
}

TEST_P(VectorIndexTest, AddingAKeyAgainReplacesIt) {
  VectorIndex index(Options(16));
  Pad(index, "p", 20, 16);
  ASSERT_TRUE(index.Add("p", Entry("k"), Axis(16, 0)).ok());
  ASSERT_TRUE(index.Add("p", Entry("k"), Axis(16, 1)).ok());
  EXPECT_EQ(index.size(), 21u);
  auto hits = index.Search("p", Axis(16, 1), 1, kNow);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].entry.cache_key, "k");
  EXPECT_NEAR((*hits)[0].similarity, 1.0f, 1e-5);
  // ...also into another partition.
  ASSERT_TRUE(index.Add("q", Entry("k"), Axis(16, 2)).ok());
  EXPECT_EQ(index.size(), 21u);
  EXPECT_FALSE(index.FindNormalized("p", "norm k", kNow));
  EXPECT_TRUE(index.FindNormalized("q", "norm k", kNow));
}

TEST_P(VectorIndexTest, RemoveAndExpire) {
  VectorIndex index(Options(16));
  Pad(index, "p", 20, 16);
  ASSERT_TRUE(index.Add("p", Entry("soon", kNow + seconds(5)), Axis(16, 0)).ok());
  ASSERT_TRUE(index.Add("p", Entry("later", kNow + seconds(50)), Axis(16, 1)).ok());
  ASSERT_TRUE(index.Add("p", Entry("gone"), Axis(16, 2)).ok());

  EXPECT_TRUE(index.Remove("gone"));
  EXPECT_FALSE(index.Remove("gone"));
  EXPECT_FALSE(index.FindNormalized("p", "norm gone", kNow));
  auto hits = index.Search("p", Axis(16, 2), 1, kNow);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_NE((*hits)[0].entry.cache_key, "gone");

  // Expired but not yet removed: never returned.
  hits = index.Search("p", Axis(16, 0), 1, kNow + seconds(5));
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_NE((*hits)[0].entry.cache_key, "soon");

  EXPECT_EQ(index.ExpireBefore(kNow + seconds(5)), 1u);
  EXPECT_EQ(index.ExpireBefore(kNow + seconds(5)), 0u);
  EXPECT_EQ(index.size(), 21u);
  EXPECT_EQ(index.stats().expired, 1u);
  EXPECT_TRUE(index.FindNormalized("p", "norm later", kNow));
}

TEST_P(VectorIndexTest, AnEmptiedPartitionIsFreed) {
  VectorIndex index(Options(8));
  ASSERT_TRUE(index.Add("p", Entry("a"), Axis(8, 0)).ok());
  ASSERT_TRUE(index.Add("q", Entry("b"), Axis(8, 0)).ok());
  EXPECT_EQ(index.stats().partitions, 2u);
  EXPECT_TRUE(index.Remove("a"));
  EXPECT_EQ(index.stats().partitions, 1u);
  EXPECT_EQ(index.PartitionSize("p"), 0u);
}

TEST_P(VectorIndexTest, MaxEntriesEvictsWhatExpiresFirst) {
  VectorIndexOptions options = Options(8);
  options.max_entries = 3;
  VectorIndex index(options);
  ASSERT_TRUE(index.Add("p", Entry("mid", kNow + seconds(20)), Axis(8, 0)).ok());
  ASSERT_TRUE(index.Add("p", Entry("first", kNow + seconds(10)), Axis(8, 1)).ok());
  ASSERT_TRUE(index.Add("q", Entry("last", kNow + seconds(30)), Axis(8, 2)).ok());
  ASSERT_TRUE(index.Add("q", Entry("new", kNow + seconds(25)), Axis(8, 3)).ok());
  EXPECT_EQ(index.size(), 3u);
  EXPECT_FALSE(index.FindNormalized("p", "norm first", kNow));
  EXPECT_TRUE(index.FindNormalized("p", "norm mid", kNow));
  EXPECT_TRUE(index.FindNormalized("q", "norm new", kNow));
  EXPECT_EQ(index.stats().evicted, 1u);
}

TEST_P(VectorIndexTest, RejectsBadVectors) {
  VectorIndex index(Options(4));
  EXPECT_EQ(index.Add("p", Entry("a"), std::vector<float>(3, 0.5f)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add("p", Entry("a"), std::vector<float>{1, 0, 0, std::nanf("")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0u);
  ASSERT_TRUE(index.Add("p", Entry("a"), Axis(4, 0)).ok());
  EXPECT_EQ(index.Search("p", std::vector<float>(5, 0.0f), 1, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(VectorIndexTest, TheFirstVectorFixesAnUnsetDimension) {
  VectorIndexOptions options = Options(0);
  VectorIndex index(options);
  ASSERT_TRUE(index.Add("p", Entry("a"), Axis(6, 0)).ok());
  EXPECT_EQ(index.Add("p", Entry("b"), Axis(7, 0)).code(), absl::StatusCode::kInvalidArgument);
  auto hits = index.Search("p", Axis(6, 0), 1, kNow);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 1u);
}

TEST_P(VectorIndexTest, MemoryFollowsTheEntries) {
  VectorIndex index(Options(64));
  const std::size_t empty = index.memory_bytes();
  std::mt19937 rng(1);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(index.Add("p", Entry("key" + std::to_string(i)), RandomUnit(rng, 64)).ok());
  }
  const std::size_t full = index.memory_bytes();
  // At least the vectors themselves.
  EXPECT_GE(full - empty, 100u * 64u * sizeof(float));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(index.Remove("key" + std::to_string(i)));
  // The partition (vectors, graph) is freed; hash tables keep their buckets.
  EXPECT_LT(index.memory_bytes(), empty + (full - empty) / 4);
}

INSTANTIATE_TEST_SUITE_P(BruteForceAndGraph, VectorIndexTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Graph" : "BruteForce"; });

// The graph against the brute-force reference over random operations: adds,
// replacements, removals, expiry, with partitions growing into graphs and
// shrinking back. With ef far above the partition sizes the graph search is
// exact, so both must answer alike.
TEST(VectorIndexModelTest, GraphAgreesWithBruteForce) {
  constexpr std::size_t kDimension = 24;
  VectorIndex graph(SmallGraph(kDimension));
  VectorIndex reference(BruteForce(kDimension));
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> op(0, 99);
  std::uniform_int_distribution<int> key(0, 299);
  std::uniform_int_distribution<int> partition(0, 2);
  std::uniform_int_distribution<int> ttl(1, 100);
  base::SystemTime now = kNow;
  std::size_t searches = 0;
  for (int step = 0; step < 6000; ++step) {
    const int o = op(rng);
    const std::string p = "p" + std::to_string(partition(rng));
    if (o < 55) {
      const auto v = RandomUnit(rng, kDimension);
      IndexEntry e = Entry("k" + std::to_string(key(rng)), now + seconds(ttl(rng)));
      absl::Status added = graph.Add(p, e, v);
      ASSERT_TRUE(added.ok()) << added << " step " << step;
      ASSERT_TRUE(reference.Add(p, e, v).ok());
    } else if (o < 70) {
      const std::string k = "k" + std::to_string(key(rng));
      ASSERT_EQ(graph.Remove(k), reference.Remove(k));
    } else if (o < 75) {
      now += seconds(3);
      ASSERT_EQ(graph.ExpireBefore(now), reference.ExpireBefore(now));
    } else {
      const auto q = RandomUnit(rng, kDimension);
      auto a = graph.Search(p, q, 3, now);
      auto b = reference.Search(p, q, 3, now);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->size(), b->size()) << "step " << step;
      for (std::size_t i = 0; i < a->size(); ++i) {
        EXPECT_EQ((*a)[i].entry.cache_key, (*b)[i].entry.cache_key) << "step " << step;
        EXPECT_NEAR((*a)[i].similarity, (*b)[i].similarity, 1e-5);
      }
      ++searches;
    }
    ASSERT_EQ(graph.size(), reference.size());
    ASSERT_EQ(graph.PartitionSize(p), reference.PartitionSize(p));
  }
  EXPECT_GT(searches, 1000u);
}

// Many slots re-used through updatePoint: the graph must still find what is
// there (recall@1 against brute force, same vectors).
TEST(VectorIndexChurnTest, RecallHoldsAfterHeavyChurn) {
  constexpr std::size_t kDimension = 32;
  VectorIndex graph({.dimension = kDimension, .hnsw_min_entries = 64, .hnsw_ef_search = 64});
  VectorIndex reference(BruteForce(kDimension));
  std::mt19937 rng(99);
  for (int i = 0; i < 1000; ++i) {
    const auto v = RandomUnit(rng, kDimension);
    IndexEntry e = Entry("k" + std::to_string(i));
    ASSERT_TRUE(graph.Add("p", e, v).ok());
    ASSERT_TRUE(reference.Add("p", e, v).ok());
  }
  // Replace three quarters of the entries by new ones, in rounds, so most
  // graph elements are re-used ones.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 250; ++i) {
      const std::string old_key = "k" + std::to_string(round * 250 + i);
      ASSERT_TRUE(graph.Remove(old_key));
      ASSERT_TRUE(reference.Remove(old_key));
      IndexEntry e = Entry("n" + std::to_string(round * 250 + i));
      const auto v = RandomUnit(rng, kDimension);
      ASSERT_TRUE(graph.Add("p", e, v).ok());
      ASSERT_TRUE(reference.Add("p", e, v).ok());
    }
  }
  ASSERT_EQ(graph.size(), 1000u);
  ASSERT_EQ(graph.stats().hnsw_partitions, 1u);
  int agree = 0;
  constexpr int kQueries = 500;
  for (int i = 0; i < kQueries; ++i) {
    const auto q = RandomUnit(rng, kDimension);
    auto a = graph.Search("p", q, 1, kNow);
    auto b = reference.Search("p", q, 1, kNow);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), 1u);
    agree += (*a)[0].entry.cache_key == (*b)[0].entry.cache_key ? 1 : 0;
  }
  EXPECT_GE(agree, kQueries * 95 / 100);
}

TEST(VectorIndexConcurrencyTest, SearchesRunBesideWrites) {
  constexpr std::size_t kDimension = 32;
  VectorIndex index({.dimension = kDimension, .hnsw_min_entries = 64});
  std::mt19937 rng(5);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(index.Add("p", Entry("k" + std::to_string(i)), RandomUnit(rng, kDimension)).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> found{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 local(static_cast<unsigned>(t));
      while (!stop.load()) {
        auto hits = index.Search("p", RandomUnit(local, kDimension), 4, kNow);
        if (hits.ok() && !hits->empty()) found.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 600; ++i) {
    const std::string k = "k" + std::to_string(i % 700);
    if (i % 3 == 0) {
      index.Remove(k);
    } else {
      ASSERT_TRUE(index.Add("p", Entry(k), RandomUnit(rng, kDimension)).ok());
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(found.load(), 0);
}

}  // namespace
}  // namespace gencache::neardup
