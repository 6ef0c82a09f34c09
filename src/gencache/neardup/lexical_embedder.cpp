#include "gencache/neardup/lexical_embedder.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fmt/format.h"
#include "gencache/base/check.hpp"

namespace gencache::neardup {
namespace {

// Family tags, folded into the hash so "cat" the word and "cat" the 3-gram
// land in unrelated buckets.
constexpr std::uint64_t kCharGramFamily = 0x43686172'4772616dULL;
constexpr std::uint64_t kWordFamily = 0x576f7264'00000001ULL;
constexpr std::uint64_t kBigramFamily = 0x42696772'616d0002ULL;

// 64-bit FNV-1a, then the splitmix64 finaliser: FNV alone leaves the low bits
// (the bucket) poorly mixed for short inputs.
std::uint64_t Mix(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::uint64_t Fnv1a(std::string_view bytes, std::uint64_t family) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ family;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Word separators: ASCII whitespace and punctuation. Other bytes (letters,
// digits, any non-ASCII code point) belong to words.
bool IsSeparator(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return false;
  if (u <= ' ' || u == 0x7f) return true;
  return !((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z'));
}

bool IsArticle(std::string_view word) {
  auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); };
  auto is = [&](std::string_view article) {
    if (word.size() != article.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (lower(word[i]) != article[i]) return false;
    }
    return true;
  };
  return is("a") || is("an") || is("the");
}

class Accumulator {
 public:
  explicit Accumulator(std::span<float> out) : out_(out) {}
  void Add(std::uint64_t hash, float weight) {
    const std::uint64_t h = Mix(hash);
    const auto bucket = static_cast<std::size_t>(h % out_.size());
    out_[bucket] += (h >> 63) != 0 ? -weight : weight;
  }

 private:
  std::span<float> out_;
};

// Calls `fn(word)` for each maximal run of non-separator bytes.
template <typename Fn>
void ForEachWord(std::string_view text, Fn&& fn) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSeparator(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !IsSeparator(text[i])) ++i;
    if (i > start) fn(text.substr(start, i - start));
  }
}

}  // namespace

LexicalEmbedder::LexicalEmbedder(LexicalEmbedderOptions options)
    : options_(options), name_(fmt::format("lexical-{}", options.dimension)) {
  GENCACHE_CHECK(options_.dimension > 0);
  GENCACHE_CHECK(options_.char_ngram_min >= 1 &&
                 options_.char_ngram_min <= options_.char_ngram_max &&
                 options_.char_ngram_max <= kMaxCharNgram);
}

absl::StatusOr<std::vector<float>> LexicalEmbedder::Embed(std::string_view text) {
  std::vector<float> out(options_.dimension, 0.0f);
  EmbedInto(text, out);
  return out;
}

void LexicalEmbedder::EmbedInto(std::string_view text, std::span<float> out) const {
  GENCACHE_CHECK(out.size() == options_.dimension);
  std::fill(out.begin(), out.end(), 0.0f);

  // The words, articles dropped: "a cat in a hat", "the cat in the hat" and
  // "cat in hat" say the same (the verifier lets articles differ), and in
  // short prompts articles would otherwise carry a large share of the grams.
  thread_local std::vector<std::string_view> words;
  words.clear();
  ForEachWord(text, [&](std::string_view word) {
    if (!IsArticle(word)) words.push_back(word);
  });

  // Character n-grams run by code point over the words joined by single
  // spaces, with a space at either end: " cat in hat ". Punctuation and
  // spacing are gone, so only letters, digits and word boundaries count.
  thread_local std::string joined;
  joined.clear();
  joined.push_back(' ');
  for (std::string_view word : words) {
    joined.append(word);
    joined.push_back(' ');
  }

  std::size_t code_points = 0;
  for (char c : joined) code_points += IsContinuationByte(c) ? 0 : 1;
  std::size_t char_grams = 0;
  for (std::size_t n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
    char_grams += code_points >= n ? code_points - n + 1 : 0;
  }
  const std::size_t bigrams = words.empty() ? 0 : words.size() - 1;
  auto weight = [](float family_weight, std::size_t count) {
    return count == 0 ? 0.0f : family_weight / std::sqrt(static_cast<float>(count));
  };
  const float char_weight = weight(options_.char_ngram_weight, char_grams);
  const float word_weight = weight(options_.word_weight, words.size());
  const float bigram_weight = weight(options_.word_bigram_weight, bigrams);

  Accumulator acc(out);

  // Byte offsets of the last code-point starts, newest last: the n-gram
  // ending here starts at starts[size - n].
  std::array<std::size_t, kMaxCharNgram> starts{};
  std::size_t seen = 0;
  auto on_boundary = [&](std::size_t offset) {
    for (std::size_t n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
      if (seen >= n) {
        const std::size_t begin = starts[starts.size() - n];
        acc.Add(Fnv1a(std::string_view(joined).substr(begin, offset - begin), kCharGramFamily),
                char_weight);
      }
    }
    for (std::size_t j = 0; j + 1 < starts.size(); ++j) starts[j] = starts[j + 1];
    starts.back() = offset;
    ++seen;
  };
  if (!words.empty()) {
    for (std::size_t i = 0; i < joined.size(); ++i) {
      if (!IsContinuationByte(joined[i])) on_boundary(i);
    }
    on_boundary(joined.size());
  }

  std::uint64_t previous_word = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::uint64_t h = Fnv1a(words[i], kWordFamily);
    acc.Add(h, word_weight);
    if (i > 0) acc.Add(Mix(previous_word) ^ (h + kBigramFamily), bigram_weight);
    previous_word = h;
  }

  double norm = 0.0;
  for (float x : out) norm += static_cast<double>(x) * x;
  if (norm > 0.0) {
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : out) x *= scale;
  }
}

}  // namespace gencache::neardup
