#pragma once

#include <string>
#include <string_view>

namespace gencache::neardup {

// Stage 3 of near-duplicate matching: whether two prompts that the similarity
// search found close may share an output. It answers "no" at any
// meaning-bearing difference: numbers and quantities, colours, negations
// (added or removed: with/without, no, not), sizes, directions, named
// entities, different words (a typo of one or two characters in a longer word
// is tolerated) and word-order changes that swap roles ("a dog chasing a cat"
// / "a cat chasing a dog"). Deterministic and thread-safe.
//
// How: prompts equal after NormalizePrompt are the same. Otherwise both are
// tokenised as NormalizePrompt does and articles (a, an, the) are dropped,
// unless capitalised as a name ("vitamin A"). Number words become digits
// ("two" = "2", "first" = "1st", "a dozen" = "12"), "1,000" = "1000",
// British spellings become American ("colour" = "color", "grey" = "gray") and
// "don't" = "dont". The prompts are the same when their words match one for
// one, in order, either as written or with the tag tails sorted. Two words
// match when equal, or when one is a typo of the other: optimal string
// alignment distance at most 1 with both words 4 to 7 letters long, at most 2
// with both 8 or longer, no digits, not both real words of the embedded
// English word list (Debian wamerican: "horse" / "house" differ), neither a
// name (in the word list only capitalised, "iraq", or capitalised inside a
// sentence and not a common word, "Rutkowski"), not both meaning-bearing
// (colour, number, size, direction, negation words) and not singular and
// plural of one noun. Anything else is a difference: when unsure, not same.
struct Verdict {
  bool same_meaning = false;
  // Why not, for logs and the evaluation report; empty when same_meaning. The
  // most specific class among the words one prompt has and the other lacks,
  // in this order: "negation", "number" (also singular / plural: "cat" /
  // "cats"), "colour", "size", "direction", "entity", "word"; "order" when
  // both have the same words in a different order; "encoding" when a prompt
  // is not valid UTF-8 (and the two differ).
  std::string reason;
};

// Symmetric: VerifySameMeaning(a, b) == VerifySameMeaning(b, a), reason
// included; VerifySameMeaning(p, p).same_meaning always. The first call
// builds the word list's hash sets (about 100,000 words, under 0.1 s).
Verdict VerifySameMeaning(std::string_view prompt_a, std::string_view prompt_b);

}  // namespace gencache::neardup
