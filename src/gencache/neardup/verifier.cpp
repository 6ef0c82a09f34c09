#include "gencache/neardup/verifier.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gencache/neardup/lexicon.hpp"
#include "gencache/neardup/tokens.hpp"

namespace gencache::neardup {
namespace {

// Longer tokens are not words: they must match exactly.
constexpr std::size_t kMaxTypoLength = 48;
// Bounds the pairwise typo search when classifying very different prompts.
constexpr std::size_t kMaxTypoPairs = 4096;

// A token as the verifier compares it.
struct Word {
  std::string text;  // canonical spelling (CanonicalWord, digits for number words)
  bool symbol = false;
  bool entity = false;  // a name by its capitals (IsEntity)
  bool marker = false;  // the boundary between two order-free tags
};

bool HasDigit(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "1,000" and "1,000.5" without their thousands separators.
bool IsGroupedNumber(std::string_view text) {
  std::size_t i = 0;
  std::size_t run = 0;
  bool grouped = false;
  for (; i < text.size() && text[i] != '.'; ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      ++run;
    } else if (c == ',') {
      if (run == 0 || (grouped && run != 3) || (!grouped && run > 3)) return false;
      grouped = true;
      run = 0;
    } else {
      return false;
    }
  }
  if (!grouped || run != 3) return false;
  for (++i; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

std::string Canonical(std::string_view text) {
  if (text.ends_with("n't")) {
    std::string out(text);
    out.erase(out.size() - 2, 1);
    return out;
  }
  if (IsGroupedNumber(text)) {
    std::string out;
    for (char c : text) {
      if (c != ',') out += c;
    }
    return out;
  }
  return std::string(CanonicalWord(text));
}

// Capitals inside a sentence mark a name ("Rutkowski", "vitamin A"), unless
// the word is a common word ("a Portrait of a Woman") or most words are
// capitalised.
bool IsEntity(const TokenizedPrompt& prompt, const Token& token) {
  if (!token.capitalised || token.sentence_initial || prompt.mostly_capitalised) return false;
  return token.text.size() == 1 || !IsDictionaryWord(token.text);
}

Word MakeWord(const TokenizedPrompt& prompt, const Token& token) {
  return Word{
      .text = Canonical(token.text), .symbol = token.symbol, .entity = IsEntity(prompt, token)};
}

void AppendWords(const TokenizedPrompt& prompt, std::size_t begin, std::size_t end,
                 std::vector<Word>& out) {
  for (std::size_t t = begin; t < end; ++t) {
    Word word = MakeWord(prompt, prompt.tokens[t]);
    // "A" in "vitamin A" is a name, not an article.
    if (IsStopWord(word.text) && !word.entity) continue;
    out.push_back(std::move(word));
  }
}

// The words in prompt order, and the words with the tag tail in sorted order
// and a marker before each tag.
struct Views {
  std::vector<Word> in_order;
  std::vector<Word> tags_sorted;
};

Views MakeViews(const TokenizedPrompt& prompt) {
  Views views;
  AppendWords(prompt, 0, prompt.tokens.size(), views.in_order);
  const std::size_t head_end = prompt.tag_tail < prompt.segments.size()
                                   ? prompt.segments[prompt.tag_tail].begin
                                   : prompt.tokens.size();
  AppendWords(prompt, 0, head_end, views.tags_sorted);
  for (std::size_t s : SortedTagSegments(prompt)) {
    views.tags_sorted.push_back(Word{.marker = true});
    AppendWords(prompt, prompt.segments[s].begin, prompt.segments[s].end, views.tags_sorted);
  }
  return views;
}

std::vector<std::int32_t> CodePoints(std::string_view text) {
  std::vector<std::int32_t> cps;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t remaining = static_cast<utf8proc_ssize_t>(text.size());
  while (remaining > 0) {
    std::int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes, remaining, &cp);
    if (n <= 0) break;
    cps.push_back(cp);
    bytes += n;
    remaining -= n;
  }
  return cps;
}

// Optimal string alignment distance (Damerau-Levenshtein without repeated
// edits of one substring): insertions, deletions, substitutions and swaps of
// adjacent characters.
std::size_t OsaDistance(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> two_back(m + 1), previous(m + 1), current(m + 1);
  for (std::size_t j = 0; j <= m; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

// Whether `x` and `y` are one word, one of them misspelt: an edit or two in
// a longer word, and not two real words, names or meaning-bearing words.
bool IsTypo(const Word& x, const Word& y) {
  if (x.symbol || y.symbol || x.marker || y.marker || x.entity || y.entity) return false;
  if (HasDigit(x.text) || HasDigit(y.text)) return false;
  const std::vector<std::int32_t> a = CodePoints(x.text);
  const std::vector<std::int32_t> b = CodePoints(y.text);
  const std::size_t shorter = std::min(a.size(), b.size());
  const std::size_t longer = std::max(a.size(), b.size());
  if (shorter < 4 || longer > kMaxTypoLength) return false;
  const std::size_t limit = shorter >= 8 ? 2 : 1;
  if (longer - shorter > limit) return false;
  if (IsDictionaryWord(x.text) && IsDictionaryWord(y.text)) return false;
  if (IsProperNoun(x.text) || IsProperNoun(y.text)) return false;
  const WordClass cx = ClassifyWord(x.text);
  const WordClass cy = ClassifyWord(y.text);
  if (cx != WordClass::kOther && cy != WordClass::kOther) return false;
  if (IsPluralPair(x.text, y.text)) return false;
  return OsaDistance(a, b) <= limit;
}

bool Matches(const Word& x, const Word& y) {
  if (x.marker || y.marker) return x.marker && y.marker;
  if (x.text == y.text) return x.symbol == y.symbol;
  return IsTypo(x, y);
}

bool SameSequence(const std::vector<Word>& a, const std::vector<Word>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!Matches(a[i], b[i])) return false;
  }
  return true;
}

// Why two word sequences differ: the most specific class among the words
// that one has and the other lacks, or "order" when they have the same
// words.
// The non-marker words of `a` that `b` lacks, counting repeats.
std::vector<const Word*> Missing(const std::vector<Word>& a, const std::vector<Word>& b) {
  absl::flat_hash_map<std::string_view, std::size_t> available;
  for (const Word& word : b) {
    if (!word.marker) ++available[word.text];
  }
  std::vector<const Word*> missing;
  for (const Word& word : a) {
    if (word.marker) continue;
    auto it = available.find(word.text);
    if (it != available.end() && it->second > 0) {
      --it->second;
    } else {
      missing.push_back(&word);
    }
  }
  return missing;
}

std::string Reason(const std::vector<Word>& a, const std::vector<Word>& b) {
  std::vector<const Word*> only_a = Missing(a, b);
  std::vector<const Word*> only_b = Missing(b, a);
  // Typos pair off.
  if (only_a.size() * only_b.size() <= kMaxTypoPairs) {
    std::vector<bool> used(only_b.size(), false);
    std::vector<const Word*> rest_a;
    for (const Word* x : only_a) {
      bool paired = false;
      for (std::size_t j = 0; j < only_b.size() && !paired; ++j) {
        if (!used[j] && IsTypo(*x, *only_b[j])) used[j] = paired = true;
      }
      if (!paired) rest_a.push_back(x);
    }
    std::vector<const Word*> rest_b;
    for (std::size_t j = 0; j < only_b.size(); ++j) {
      if (!used[j]) rest_b.push_back(only_b[j]);
    }
    only_a = std::move(rest_a);
    only_b = std::move(rest_b);
  }
  if (only_a.empty() && only_b.empty()) return "order";

  std::vector<const Word*> differing = only_a;
  differing.insert(differing.end(), only_b.begin(), only_b.end());
  const auto any_class = [&](WordClass word_class) {
    return std::any_of(differing.begin(), differing.end(),
                       [&](const Word* w) { return ClassifyWord(w->text) == word_class; });
  };
  if (any_class(WordClass::kNegation)) return "negation";
  bool plural = false;
  if (only_a.size() * only_b.size() <= kMaxTypoPairs) {
    for (const Word* x : only_a) {
      for (const Word* y : only_b) plural = plural || IsPluralPair(x->text, y->text);
    }
  }
  if (plural || any_class(WordClass::kNumber)) return "number";
  if (any_class(WordClass::kColour)) return "colour";
  if (any_class(WordClass::kSize)) return "size";
  if (any_class(WordClass::kDirection)) return "direction";
  if (std::any_of(differing.begin(), differing.end(),
                  [](const Word* w) { return w->entity || IsProperNoun(w->text); })) {
    return "entity";
  }
  return "word";
}

}  // namespace

Verdict VerifySameMeaning(std::string_view prompt_a, std::string_view prompt_b) {
  TokenizedPrompt a = TokenizePrompt(prompt_a);
  TokenizedPrompt b = TokenizePrompt(prompt_b);
  const std::string normalized_a = NormalizeTokenized(prompt_a, a);
  const std::string normalized_b = NormalizeTokenized(prompt_b, b);
  if (normalized_a == normalized_b) return Verdict{.same_meaning = true};
  // Comparing in one fixed order makes the verdict and its reason symmetric.
  if (normalized_b < normalized_a) std::swap(a, b);
  if (!a.valid_utf8 || !b.valid_utf8) return Verdict{.reason = "encoding"};
  const Views views_a = MakeViews(a);
  const Views views_b = MakeViews(b);
  if (SameSequence(views_a.in_order, views_b.in_order) ||
      SameSequence(views_a.tags_sorted, views_b.tags_sorted)) {
    return Verdict{.same_meaning = true};
  }
  return Verdict{.reason = Reason(views_a.tags_sorted, views_b.tags_sorted)};
}

}  // namespace gencache::neardup
