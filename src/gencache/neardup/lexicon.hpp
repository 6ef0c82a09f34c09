#pragma once

#include <span>
#include <string_view>

namespace gencache::neardup {

// Word lists behind normalisation and the verifier. Every function takes a
// token as NormalizePrompt spells it (NFKC, case-folded) and is thread-safe;
// the dictionary is built on first use (about 100k words, a few MB).

// The meaning-bearing class of a word: a difference in such a word between
// two prompts changes what is depicted.
enum class WordClass {
  kOther,
  kNegation,   // no, not, without, never, none, non, ...n't
  kNumber,     // digits, number words, ordinals, quantity words (pair, few, several)
  kColour,     // colour names and shades (red, teal, dark, pastel)
  kSize,       // small, large, tiny, huge, tall, wide, ...
  kDirection,  // left, right, up, down, above, north, facing, in, on, ...
};

WordClass ClassifyWord(std::string_view word);

// Whether `word` is in the English word list (SCOWL via Debian's wamerican)
// in lower case: a real common word, so a small edit distance to another
// real word is a different word, not a typo ("horse" / "house").
bool IsDictionaryWord(std::string_view word);

// Whether `word` is in the word list only capitalised: a name of a person,
// place or brand ("paris", "monet", "iraq"). Names are never typo-matched.
bool IsProperNoun(std::string_view word);

// Articles: dropping or swapping them does not change an image prompt.
bool IsStopWord(std::string_view word);

// A word that keeps a comma segment from being an order-free style tag:
// determiners and pronouns (a clause, not a tag) and verbs that relate two
// things ("chasing", "holds"), whose argument order carries the roles.
bool IsTagBreaker(std::string_view word);

// A preposition or conjunction: a comma segment made of only this word links
// its neighbours ("dog, on, cat"), so the prompt's segments keep their order.
bool IsConnector(std::string_view word);

// One spelling for words that mean the same: number words as digits ("two"
// -> "2", "first" -> "1st"), thousands separators dropped ("1,000" ->
// "1000"), British spellings as American ("colour" -> "color"), negative
// contractions without the apostrophe ("don't" -> "dont"). Returns `word`
// itself (by view) when it has no other spelling; the result is valid while
// `word` is.
std::string_view CanonicalWord(std::string_view word);

// Whether one word is the plural of the other ("cat" / "cats", "wolf" /
// "wolves", "mouse" / "mice"), in either order.
bool IsPluralPair(std::string_view a, std::string_view b);

// The embedded word list: newline-separated lines of Debian's
// /usr/share/dict/american-english, in chunks (generated at build time by
// embed_word_list.cmake).
std::span<const std::string_view> WordListChunks();

}  // namespace gencache::neardup
