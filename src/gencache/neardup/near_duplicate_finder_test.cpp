#include "gencache/neardup/near_duplicate_finder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gencache/neardup/lexical_embedder.hpp"
#include "gencache/neardup/normalize.hpp"

namespace gencache::neardup {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const base::SystemTime kNow{std::chrono::seconds{1'700'000'000}};
const base::SystemTime kLater = kNow + hours(1);

// An embedder whose vectors the test chooses (by normalised text), and which
// can be made to fail.
class ScriptedEmbedder : public Embedder {
 public:
  absl::StatusOr<std::vector<float>> Embed(std::string_view text) override {
    ++calls;
    if (!fail.ok()) return fail;
    auto it = vectors.find(std::string(text));
    if (it == vectors.end()) return std::vector<float>{0, 0, 0, 1};
    return it->second;
  }
  std::size_t dimension() const override { return 4; }
  std::string_view name() const override { return "scripted"; }

  absl::flat_hash_map<std::string, std::vector<float>> vectors;
  absl::Status fail;
  int calls = 0;
};

class NearDuplicateFinderTest : public ::testing::Test {
 protected:
  LexicalEmbedder embedder_;
  NearDuplicateFinder finder_{embedder_};
};

TEST_F(NearDuplicateFinderTest, EqualNormalisedPromptsMatchAtSimilarityOne) {
  ASSERT_TRUE(finder_.Add("p", "key1", "A red car parked in the rain", kLater).ok());
  auto match = finder_.Lookup("p", "a  red car parked in the RAIN.", 0.99f, kNow);
  ASSERT_TRUE(match.ok()) << match.status();
  ASSERT_TRUE(match->has_value());
  EXPECT_EQ((*match)->cache_key, "key1");
  EXPECT_EQ((*match)->similarity, 1.0f);
  EXPECT_EQ((*match)->matched_prompt, "A red car parked in the rain");
  EXPECT_EQ((*match)->stage, NearDuplicateMatch::Stage::kNormalized);
  EXPECT_EQ(finder_.stats().normalized_hits, 1u);
}

TEST_F(NearDuplicateFinderTest, ATypoMatchesThroughTheVerifier) {
  ASSERT_TRUE(finder_.Add("p", "key1", "a majestic lion resting on a rock at sunset", kLater).ok());
  auto match = finder_.Lookup("p", "a majestic lion restng on a rock at sunset", 0.8f, kNow);
  ASSERT_TRUE(match.ok());
  ASSERT_TRUE(match->has_value());
  EXPECT_EQ((*match)->cache_key, "key1");
  EXPECT_EQ((*match)->stage, NearDuplicateMatch::Stage::kSimilar);
  EXPECT_GT((*match)->similarity, 0.8f);
  EXPECT_LT((*match)->similarity, 1.0f);
}

TEST_F(NearDuplicateFinderTest, LookAlikesThatMeanSomethingElseNeverMatch) {
  ASSERT_TRUE(finder_.Add("p", "red", "a red car parked in the rain", kLater).ok());
  ASSERT_TRUE(finder_.Add("p", "two", "two cats sleeping on a sofa", kLater).ok());
  ASSERT_TRUE(finder_.Add("p", "with", "a burger with cheese", kLater).ok());
  for (const char* prompt : {"a blue car parked in the rain", "three cats sleeping on a sofa",
                             "a burger without cheese"}) {
    auto match = finder_.Lookup("p", prompt, 0.5f, kNow);
    ASSERT_TRUE(match.ok());
    EXPECT_FALSE(match->has_value()) << prompt << " matched " << (*match)->matched_prompt;
  }
  EXPECT_GE(finder_.stats().verifier_rejections, 3u);
}

TEST_F(NearDuplicateFinderTest, OnlyTheSamePartitionMatches) {
  ASSERT_TRUE(finder_.Add("seed=1", "key1", "a red car", kLater).ok());
  auto match = finder_.Lookup("seed=2", "a red car", 0.5f, kNow);
  ASSERT_TRUE(match.ok());
  EXPECT_FALSE(match->has_value());
}

TEST_F(NearDuplicateFinderTest, ExpiredAndRemovedEntriesDoNotMatch) {
  ASSERT_TRUE(finder_.Add("p", "soon", "a red car", kNow + seconds(10)).ok());
  ASSERT_TRUE(finder_.Add("p", "gone", "a green tractor in a field", kLater).ok());
  EXPECT_FALSE(finder_.Lookup("p", "a red car", 0.5f, kNow + seconds(10))->has_value());
  EXPECT_FALSE(finder_.Lookup("p", "a red car!", 0.5f, kNow + seconds(10))->has_value());
  EXPECT_TRUE(finder_.Lookup("p", "a red car", 0.5f, kNow)->has_value());
  EXPECT_TRUE(finder_.Remove("gone"));
  EXPECT_FALSE(finder_.Lookup("p", "a green tractor in a field", 0.5f, kNow)->has_value());
  EXPECT_EQ(finder_.ExpireBefore(kNow + seconds(10)), 1u);
  EXPECT_EQ(finder_.size(), 0u);
  EXPECT_EQ(finder_.memory_bytes(), finder_.index().memory_bytes());
}

TEST(NearDuplicateFinderScriptedTest, ChecksTheNextCandidateWhenTheNearestIsRejected) {
  ScriptedEmbedder embedder;
  NearDuplicateFinder finder(embedder, {.candidates = 4});
  // The query is nearest to "three cats ..." (a different count), then to a
  // true paraphrase with a typo.
  const std::string query = "two cats sleeping on a sofa";
  const std::string lookalike = "three cats sleeping on a sofa";
  const std::string typo = "two cats sleping on a sofa";
  std::vector<float> q{1, 0, 0, 0};
  std::vector<float> near{0.99f, 0.141f, 0, 0};
  std::vector<float> next{0.95f, 0, 0.312f, 0};
  NormalizeL2(near);
  NormalizeL2(next);
  embedder.vectors[NormalizePrompt(query)] = q;
  embedder.vectors[NormalizePrompt(lookalike)] = near;
  embedder.vectors[NormalizePrompt(typo)] = next;
  ASSERT_TRUE(finder.Add("p", "three", lookalike, kLater).ok());
  ASSERT_TRUE(finder.Add("p", "typo", typo, kLater).ok());
  auto match = finder.Lookup("p", query, 0.9f, kNow);
  ASSERT_TRUE(match.ok());
  ASSERT_TRUE(match->has_value());
  EXPECT_EQ((*match)->cache_key, "typo");
  EXPECT_NEAR((*match)->similarity, 0.95f, 1e-3);
  EXPECT_EQ(finder.stats().verifier_rejections, 1u);
  // Under the threshold, the typo is not even verified.
  match = finder.Lookup("p", query, 0.96f, kNow);
  ASSERT_TRUE(match.ok());
  EXPECT_FALSE(match->has_value());
}

TEST(NearDuplicateFinderScriptedTest, EmbedderFailureFailsOpenAfterStageOne) {
  ScriptedEmbedder embedder;
  NearDuplicateFinder finder(embedder);
  ASSERT_TRUE(finder.Add("p", "key1", "a red car", kLater).ok());
  embedder.fail = absl::UnavailableError("embeddings endpoint answered HTTP 503");
  // Stage 1 needs no embedding.
  auto same = finder.Lookup("p", "A red car.", 0.9f, kNow);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->has_value());
  EXPECT_EQ(finder.Lookup("p", "a red cat", 0.9f, kNow).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(finder.Add("p", "key2", "a blue car", kLater).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(finder.size(), 1u);
  EXPECT_EQ(finder.stats().embed_failures, 2u);
}

TEST(NearDuplicateFinderScriptedTest, AnEmptyPartitionSkipsEmbedding) {
  ScriptedEmbedder embedder;
  NearDuplicateFinder finder(embedder);
  auto match = finder.Lookup("p", "anything", 0.9f, kNow);
  ASSERT_TRUE(match.ok());
  EXPECT_FALSE(match->has_value());
  EXPECT_EQ(embedder.calls, 0);
}

}  // namespace
}  // namespace gencache::neardup
