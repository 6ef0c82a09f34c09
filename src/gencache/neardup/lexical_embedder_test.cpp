#include "gencache/neardup/lexical_embedder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace gencache::neardup {
namespace {

std::vector<float> EmbedOrDie(LexicalEmbedder& e, std::string_view text) {
  auto v = e.Embed(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return *v;
}

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

// FNV-1a over the vector's bytes: pins every bit of the output.
std::uint64_t Fingerprint(const std::vector<float>& v) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (float x : v) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    for (int i = 0; i < 4; ++i) {
      h ^= (bits >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
  return h;
}

TEST(LexicalEmbedderTest, SameTextSameVectorAcrossInstancesAndThreads) {
  LexicalEmbedder a;
  LexicalEmbedder b;
  const std::string text = "a watercolor painting of a lighthouse at dusk, 4k";
  const std::vector<float> expected = EmbedOrDie(a, text);
  EXPECT_EQ(EmbedOrDie(b, text), expected);
  std::vector<std::thread> threads;
  std::vector<std::vector<float>> got(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) got[t] = *a.Embed(text);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& v : got) EXPECT_EQ(v, expected);
}

// The hash is fixed (not std::hash, not seeded per process): vectors stored
// or compared across builds and machines must agree. A change here means the
// default threshold must be re-derived (docs/near-duplicate.md).
TEST(LexicalEmbedderTest, OutputIsPinned) {
  LexicalEmbedder e;
  EXPECT_EQ(Fingerprint(EmbedOrDie(e, "a red car")), 15436418765859356500ULL);
  EXPECT_EQ(Fingerprint(EmbedOrDie(e, "portrait of an old fisherman, oil on canvas")),
            5427882787824460644ULL);
}

TEST(LexicalEmbedderTest, UnitLengthAndDimension) {
  for (std::size_t dimension : {64u, 256u, 1000u}) {
    LexicalEmbedder e({.dimension = dimension});
    EXPECT_EQ(e.dimension(), dimension);
    EXPECT_EQ(e.name(), "lexical-" + std::to_string(dimension));
    for (const char* text : {"x", "ab", "a red car", "日本の桜の木", "\xff\xfe broken utf-8"}) {
      auto v = EmbedOrDie(e, text);
      ASSERT_EQ(v.size(), dimension);
      EXPECT_NEAR(Norm(v), 1.0, 1e-5) << text;
    }
  }
}

TEST(LexicalEmbedderTest, EmptyTextIsTheZeroVector) {
  LexicalEmbedder e;
  auto v = EmbedOrDie(e, "");
  EXPECT_EQ(v, std::vector<float>(256, 0.0f));
}

TEST(LexicalEmbedderTest, EmbedIntoMatchesEmbed) {
  LexicalEmbedder e;
  std::vector<float> out(256, 42.0f);
  e.EmbedInto("a cat on a mat", out);
  EXPECT_EQ(out, EmbedOrDie(e, "a cat on a mat"));
}

TEST(LexicalEmbedderTest, TyposStayCloseDifferentPromptsDoNot) {
  LexicalEmbedder e;
  const auto base = EmbedOrDie(e, "a majestic lion resting on a rock at sunset");
  const float typo = Cosine(base, EmbedOrDie(e, "a majestic lion restng on a rock at sunset"));
  const float reordered =
      Cosine(base, EmbedOrDie(e, "at sunset a majestic lion resting on a rock"));
  const float other = Cosine(base, EmbedOrDie(e, "a bowl of ramen on a wooden table"));
  EXPECT_GT(typo, 0.85f);
  EXPECT_GT(reordered, 0.7f);
  EXPECT_LT(other, 0.5f);
  EXPECT_GT(std::min(typo, reordered), other + 0.4f);
}

TEST(LexicalEmbedderTest, WordOrderChangesTheVector) {
  LexicalEmbedder e;
  const float swapped =
      Cosine(EmbedOrDie(e, "a dog chasing a cat"), EmbedOrDie(e, "a cat chasing a dog"));
  EXPECT_LT(swapped, 0.99f);
  EXPECT_GT(swapped, 0.5f);
}

TEST(LexicalEmbedderTest, CosineOfNormalisedVectors) {
  std::vector<float> v{3.0f, 4.0f};
  NormalizeL2(v);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  EXPECT_FLOAT_EQ(Cosine(v, v), 1.0f);
  std::vector<float> zero{0.0f, 0.0f};
  NormalizeL2(zero);
  EXPECT_EQ(zero, (std::vector<float>{0.0f, 0.0f}));
}

}  // namespace
}  // namespace gencache::neardup
